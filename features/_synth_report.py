"""How a synthetic book compares with the public reference figures.

:func:`reference_comparison` computes the book's distributions next to the ranges recommended in
``../shared/data/cn_auto_lease_reference.md`` (non-captive profile); ``data_samples/README.md``
shows its Markdown (:func:`comparison_markdown`) and a test checks that the committed table is what
the committed files give. ``python -m features._synth_report DIR`` prints the table for a folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from features.contract import check_lease_tape
from features.io import read_table
from features.labels import default_labels

__all__ = ["comparison_markdown", "load_book", "reference_comparison", "vintage_defaults", "vintage_markdown"]


def _find(folder: Path, name: str) -> Path:
    for suffix in (".parquet", ".csv"):
        if (folder / f"{name}{suffix}").exists():
            return folder / f"{name}{suffix}"
    raise FileNotFoundError(f"{folder}: no {name}.parquet or {name}.csv")


def load_book(folder: str | Path) -> dict[str, pd.DataFrame]:
    """Read ``contracts`` (typed through the contract check), ``performance`` and ``truth`` from a folder."""
    folder = Path(folder)
    contracts = check_lease_tape(read_table(_find(folder, "contracts"))).records
    perf_path = _find(folder, "performance")
    performance = (pd.read_parquet(perf_path) if perf_path.suffix == ".parquet"
                   else pd.read_csv(perf_path, parse_dates=["month"]))
    truth_path = _find(folder, "truth")
    truth = pd.read_parquet(truth_path) if truth_path.suffix == ".parquet" else pd.read_csv(truth_path)
    pool = check_lease_tape(read_table(_find(folder, "pool"))).records
    return {"contracts": contracts, "performance": performance, "truth": truth, "pool": pool}


def vintage_defaults(contracts: pd.DataFrame, performance: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """By vintage year: contracts, mean true ``pd_24m`` and the realised 24-month default rate.

    The realised rate counts only contracts signed at least 24 months before the cut-off (whose whole
    window is observed), with labels from :func:`default_labels`; counting every observed label of
    a young vintage would over-count defaults, which are observed before non-defaults are.
    """
    labels = default_labels(performance, horizon_months=24)
    orig = pd.to_datetime(contracts["origination_date"])
    cut = pd.to_datetime(contracts["cutoff_date"])
    months = (cut.dt.year - orig.dt.year) * 12 + (cut.dt.month - orig.dt.month)
    frame = pd.DataFrame({"contract_id": contracts["contract_id"].astype(str).to_numpy(),
                          "year": orig.dt.year.to_numpy(), "window": (months >= 25).to_numpy()})
    frame = frame.merge(truth[["contract_id", "pd_24m"]].astype({"contract_id": str}), on="contract_id")
    frame = frame.merge(labels, on="contract_id", how="left")
    observed = frame["observed"].fillna(False).astype(bool) & frame["window"]
    frame["realised"] = np.where(observed, frame["default"], np.nan)
    out = frame.groupby("year").agg(contracts=("contract_id", "size"), true_pd_24m=("pd_24m", "mean"),
                                    observed=("realised", "count"), realised_24m=("realised", "mean"))
    return out.reset_index()


def _share(mask: pd.Series | np.ndarray) -> float:
    return float(np.mean(np.asarray(mask, dtype=float)))


def reference_comparison(contracts: pd.DataFrame, performance: pd.DataFrame, truth: pd.DataFrame,
                         pool: pd.DataFrame) -> pd.DataFrame:
    """The book's figures next to the non-captive reference ranges.

    Returns a frame with ``figure``, ``sample`` (number), ``low``, ``high`` (the reference range, same
    unit), ``unit`` and ``within`` (bool).
    """
    c = contracts
    used = c["vehicle_condition"].astype(str) == "used"
    fin = c["financed_amount"].astype(float)
    ltv = fin / c["vehicle_price"].astype(float)
    rate = c["annual_rate"].astype(float)
    age = c["lessee_age"].astype(float)
    term = c["term_months"].astype(float)
    tier = c["city_tier"].astype(float)
    year = pd.to_datetime(c["origination_date"]).dt.year
    prov = c["province"].astype(str).value_counts(normalize=True)
    rows: list[tuple[str, float, float, float, str]] = [
        ("financed amount, mean", fin.mean() / 1e3, 80, 100, "kCNY"),
        ("financed amount, used cars", fin[used].mean() / 1e3, 60, 90, "kCNY"),
        ("financed amount, new cars", fin[~used].mean() / 1e3, 90, 120, "kCNY"),
    ]
    for t, lo, hi in ((12, 2, 5), (24, 15, 25), (36, 60, 75), (48, 3, 8), (60, 0, 3)):
        rows.append((f"term {t} months", 100 * _share(term == t), lo, hi, "%"))
    rows += [
        ("pool seasoning at cut-off, median", float(pool["months_on_book"].astype(float).median()), 6, 12,
         "months"),
        ("loan-to-value, mean", 100 * ltv.mean(), 75, 85, "%"),
        ("loan-to-value, 99th percentile", 100 * ltv.quantile(0.99), 85, 90, "%"),
        ("annual rate, mean", 100 * rate.mean(), 12, 13, "%"),
        ("annual rate, used minus new", 100 * (rate[used].mean() - rate[~used].mean()), 1, 3, "points"),
    ]
    for (lo_age, hi_age), (lo, hi) in zip(((18, 25), (26, 35), (36, 45), (46, 55), (56, 99)),
                                          ((10, 15), (40, 50), (25, 30), (8, 12), (1, 3))):
        label = f"lessee age {lo_age}-{hi_age}" if hi_age < 99 else f"lessee age {lo_age}+"
        rows.append((label, 100 * _share(age.between(lo_age, hi_age)), lo, hi, "%"))
    nev_new = c["is_nev"].astype(bool) & ~used
    rows += [
        ("used cars", 100 * _share(used), 40, 60, "%"),
        ("new-energy share of new cars, all vintages", 100 * nev_new[~used].mean(), 10, 30, "%"),
        ("new-energy share of new cars, 2024 vintages", 100 * nev_new[~used & (year == 2024)].mean(), 45, 55,
         "%"),
        ("city tier 1", 100 * _share(tier == 1), 3, 8, "%"),
        ("city tier 2", 100 * _share(tier == 2), 25, 35, "%"),
        ("city tier 3 and below", 100 * _share(tier >= 3), 60, 70, "%"),
        ("top five provinces together", 100 * prov.head(5).sum(), 35, 45, "%"),
        ("largest province", 100 * prov.iloc[0], 0, 12, "%"),
    ]
    t = truth[truth["in_book"].astype(bool)]
    vint = vintage_defaults(c, performance, t)
    seen = vint["observed"] > 0
    realised = float(np.nansum(vint.loc[seen, "realised_24m"] * vint.loc[seen, "observed"])
                     / vint.loc[seen, "observed"].sum())
    rows += [
        ("cumulative default at month 24, true PD (all vintages)", 100 * t["pd_24m"].mean(), 1.5, 3, "%"),
        ("cumulative default at month 24, realised (contracts with 24 months observed)", 100 * realised, 1.5, 3,
         "%"),
        ("lifetime default, true PD", 100 * t["pd_lifetime"].mean(), 2, 5, "%"),
    ]
    perf = performance
    month = pd.to_datetime(perf["month"])
    last = perf[month == month.max()]
    running = last[last["status"].astype(str) == "current"]
    rows.append(("30+ dpd at the cut-off, share of running contracts",
                 100 * _share(running["dpd"].astype(float) >= 30), 0.5, 2, "%"))
    starts = perf.groupby(month.dt.to_period("M")).agg(
        rows=("status", "size"), prepaid=("status", lambda s: int((s.astype(str) == "prepaid").sum())))
    recent = starts.loc[starts.index >= pd.Period("2021-01", "M")]
    smm = recent["prepaid"] / recent["rows"]
    rows.append(("prepayment CPR (count-based, 2021 onward)", 100 * (1 - (1 - smm.mean()) ** 12), 5, 12, "%"))
    by_moy = smm.groupby(smm.index.month).mean()
    rows.append(("prepayment peak month (1 = January)", float(by_moy.idxmax()), 1, 2, "month"))
    dq = perf.assign(m=month.dt.to_period("M"), late=perf["dpd"].astype(float) >= 30)
    dq = dq[dq["status"].astype(str) == "current"].groupby("m")["late"].mean()
    shock = dq.loc[pd.Period("2020-02", "M"):pd.Period("2020-05", "M")].mean()
    before = dq.loc[pd.Period("2019-07", "M"):pd.Period("2019-12", "M")].mean()
    rows.append(("30+ dpd Feb-May 2020 over Jul-Dec 2019", float(shock / before), 2, 3, "x"))
    rows.append(("pool tape size over book size", 100 * len(pool) / len(c), 20, 30, "%"))
    out = pd.DataFrame(rows, columns=["figure", "sample", "low", "high", "unit"])
    out["sample"] = out["sample"].astype(float).round(2)
    out["within"] = (out["sample"] >= out["low"]) & (out["sample"] <= out["high"])
    return out


def comparison_markdown(table: pd.DataFrame) -> str:
    """Markdown table of :func:`reference_comparison`."""
    lines = ["| figure | sample | reference range | within |", "|---|---:|---|---|"]
    for r in table.itertuples(index=False):
        lines.append(f"| {r.figure} | {r.sample:.2f} {r.unit} | {r.low:g} to {r.high:g} {r.unit} | "
                     f"{'yes' if r.within else 'no'} |")
    return "\n".join(lines) + "\n"


def vintage_markdown(vint: pd.DataFrame) -> str:
    """Markdown table of :func:`vintage_defaults` (rates in percent)."""
    lines = ["| vintage | contracts | true PD 24m | observed 24m | realised 24m default |",
             "|---|---:|---:|---:|---:|"]
    for r in vint.itertuples(index=False):
        real = "" if np.isnan(r.realised_24m) else f"{100 * r.realised_24m:.2f} %"
        lines.append(f"| {r.year} | {r.contracts} | {100 * r.true_pd_24m:.2f} % | {r.observed} | {real} |")
    return "\n".join(lines) + "\n"


def _main(argv: list[str]) -> int:
    book = load_book(argv[0] if argv else "data_samples")
    sys.stdout.write(comparison_markdown(reference_comparison(**book)))
    vint = vintage_defaults(book["contracts"], book["performance"],
                            book["truth"][book["truth"]["in_book"].astype(bool)])
    sys.stdout.write("\n" + vintage_markdown(vint))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
