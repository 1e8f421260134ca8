"""The synthetic book: determinism, validity, defects, calibration, risk directions, the committed sample."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features._synth_pool import DEFECT_KINDS
from features._synth_profiles import EMPLOYMENT, FIRST_YEAR, PROFILES
from features._synth_report import (
    comparison_markdown,
    load_book,
    reference_comparison,
    vintage_defaults,
    vintage_markdown,
)
from features._synth_risk import default_probability, monthly_hazards, risk_components
from features.contract import check_lease_tape
from features.exceptions import ConfigError
from features.labels import default_labels
from features.schema import LEASE_FIELDS, PERFORMANCE_FIELDS
from features.synthetic import Book, generate_book, write_book
from features.validate import validate_tape
from poolgate.cli import main

CUTOFF = dt.date(2025, 6, 30)
SAMPLES = Path(__file__).resolve().parents[2] / "data_samples"


@pytest.fixture(scope="module")
def book() -> Book:
    return generate_book(12_000, seed=3, cutoff=CUTOFF)


@pytest.fixture(scope="module")
def in_book(book: Book) -> pd.DataFrame:
    """Contracts joined with their truth."""
    return book.contracts.merge(book.truth, on="contract_id")


def _months_between(frame: pd.DataFrame) -> pd.Series:
    o, c = frame["origination_date"], frame["cutoff_date"]
    return (c.dt.year - o.dt.year) * 12 + (c.dt.month - o.dt.month)


# --- determinism ---------------------------------------------------------------------------------

def test_same_seed_gives_identical_frames_and_another_seed_does_not(book: Book) -> None:
    again = generate_book(12_000, seed=3, cutoff=CUTOFF)
    for name in ("contracts", "performance", "pool", "truth"):
        pd.testing.assert_frame_equal(getattr(again, name), getattr(book, name))
    other = generate_book(2_000, seed=4, cutoff=CUTOFF)
    assert not other.contracts.equals(book.contracts.head(2_000))


def test_a_smaller_book_is_a_prefix_of_a_bigger_one(book: Book) -> None:
    small = generate_book(3_000, seed=3, cutoff=CUTOFF)
    pd.testing.assert_frame_equal(small.contracts, book.contracts.head(3_000))
    ids = set(small.contracts["contract_id"])
    big_perf = book.performance[book.performance["contract_id"].isin(ids)].reset_index(drop=True)
    pd.testing.assert_frame_equal(small.performance, big_perf)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_written_files_are_byte_identical_across_runs(tmp_path: Path, fmt: str) -> None:
    first = write_book(tmp_path / "a", 1_500, 9, CUTOFF, fmt=fmt)
    second = write_book(tmp_path / "b", 1_500, 9, CUTOFF, fmt=fmt)
    for name, path in first.paths.items():
        assert path.read_bytes() == second.paths[name].read_bytes(), name
    frames = generate_book(1_500, seed=9, cutoff=CUTOFF)
    assert first.rows == {name: len(getattr(frames, name)) for name in first.rows}


# --- the contract ---------------------------------------------------------------------------------

def test_columns_are_exactly_the_canonical_fields(book: Book) -> None:
    assert list(book.contracts.columns) == [f.name for f in LEASE_FIELDS]
    assert list(book.pool.columns) == [f.name for f in LEASE_FIELDS]
    assert list(book.performance.columns) == [f.name for f in PERFORMANCE_FIELDS]


@pytest.mark.parametrize("profile", ["non_captive", "captive"])
def test_written_book_passes_validation(tmp_path: Path, profile: str) -> None:
    files = write_book(tmp_path, 4_000, 5, CUTOFF, fmt="csv", profile=profile)
    perf = validate_tape(files.paths["performance"])
    assert perf.ok, perf.problems.head()
    report = validate_tape(files.paths["contracts"])
    assert report.ok, report.problems.head()
    assert report.n_rows == 4_000


def test_status_fields_are_consistent_with_the_history(book: Book) -> None:
    c = book.contracts
    assert (c["months_on_book"] == np.minimum(_months_between(c), c["term_months"])).all()
    last = book.performance.groupby("contract_id").tail(1).set_index("contract_id")
    joined = c.set_index("contract_id").join(last, suffixes=("", "_perf"), how="inner")
    running = joined["status"] == "current"
    assert (joined.loc[running, "outstanding_principal"] == joined.loc[running, "outstanding_principal_perf"]).all()
    assert (joined.loc[running, "current_dpd"] == joined.loc[running, "dpd"]).all()
    worst = book.performance.groupby("contract_id")["dpd"].max()
    assert (joined["worst_dpd"] >= worst.reindex(joined.index)).all()
    ended = joined["status"].isin(["prepaid", "terminated"])
    assert (joined.loc[ended, "outstanding_principal"] == 0).all()


def test_performance_ends_with_the_contract_and_default_is_absorbing(book: Book) -> None:
    perf = book.performance
    last_mob = perf.groupby("contract_id")["months_on_book"].transform("max")
    ended = perf["status"] != "current"
    assert (perf.loc[ended, "months_on_book"] == last_mob[ended]).all()
    assert (perf.loc[perf["status"] == "defaulted", "dpd"] >= 90).all()
    assert (perf.loc[perf["status"] == "current", "dpd"] < 90).all()
    assert (perf["month"] <= pd.Timestamp(CUTOFF)).all()


# --- the pool -------------------------------------------------------------------------------------

def test_pool_defects_are_caught_and_clean_rows_pass(book: Book) -> None:
    pool = book.pool.reset_index(drop=True)
    result = check_lease_tape(pool)
    defects = book.truth.dropna(subset=["pool_defect"]).set_index("contract_id")["pool_defect"]
    assert set(defects) <= set(DEFECT_KINDS)
    assert 0.005 < len(defects) / len(pool) < 0.03
    flagged = set(pool.loc[result.invalid, "contract_id"])
    assert flagged == set(defects.index)
    # each kind is caught by its own rule (some rows also break a second one)
    rule_of = {"bad_province_code": "category", "bad_lease_type_code": "category", "negative_amount": "range",
               "ltv_implausible": "ltv_max", "dates_out_of_order": "date_order", "duplicated_id": "unique",
               "unparseable_number": "type", "worst_below_current": "worst_dpd_min",
               "missing_value": "not_null", "age_out_of_range": "range"}
    assert set(rule_of) == set(DEFECT_KINDS)
    ids = pool["contract_id"].to_numpy()
    rules_by_id = result.problems.assign(cid=ids[result.problems["row"].to_numpy() - 1]).groupby("cid")["rule"]
    caught = {cid: set(r) for cid, r in rules_by_id}
    missed = {cid: kind for cid, kind in defects.items() if rule_of[kind] not in caught.get(cid, set())}
    assert not missed, missed
    dup = defects[defects == "duplicated_id"].index
    assert (pool["contract_id"].isin(dup).groupby(pool["contract_id"]).sum().reindex(dup) == 2).all()


def test_pool_is_running_recent_contracts(book: Book) -> None:
    pool = book.pool[book.truth.set_index("contract_id").loc[book.pool["contract_id"], "pool_defect"]
                     .isna().to_numpy()]
    assert 0.18 < len(book.pool) / len(book.contracts) < 0.32
    assert 6 <= pool["months_on_book"].median() <= 12
    assert (pool["current_dpd"] <= 30).all()
    assert 0 < (pool["current_dpd"] > 0).sum() < 0.05 * len(pool)
    assert (pool["months_on_book"] < 6).any()   # pipeline contracts: short seasoning
    ended = book.performance[book.performance["status"] != "current"]["contract_id"]
    assert not pool["contract_id"].isin(ended).any()


# --- calibration and risk directions --------------------------------------------------------------

def test_default_rate_by_vintage_within_documented_range(in_book: pd.DataFrame) -> None:
    by_year = in_book.groupby(in_book["origination_date"].dt.year)["pd_24m"].mean()
    assert by_year.between(0.015, 0.04).all(), by_year
    assert by_year.loc[2019] == by_year.max()   # the 2020 epidemic hit the 2019 vintages hardest
    assert 0.02 <= in_book["pd_lifetime"].mean() <= 0.05


def test_true_pd_matches_the_simulated_outcomes(in_book: pd.DataFrame) -> None:
    realised = (in_book["default_month"].fillna(999) <= 24).to_numpy(dtype=float)
    p = in_book["pd_24m"].to_numpy()
    se = np.sqrt((p * (1 - p)).sum()) / len(p)
    assert abs(realised.mean() - p.mean()) < 3.5 * se
    decile = pd.qcut(p, 5, labels=False)
    top, bottom = realised[decile == 4].mean(), realised[decile == 0].mean()
    assert top > 3 * bottom


def test_labels_agree_with_the_simulated_outcome(book: Book) -> None:
    labels = default_labels(book.performance).set_index("contract_id")
    truth = book.truth.set_index("contract_id").loc[labels.index]
    seen = labels["observed"]
    expected = (truth["default_month"].fillna(999) <= 24).astype(int)
    assert (labels.loc[seen, "default"] == expected[seen]).all()
    assert seen.mean() > 0.5


def _rate(frame: pd.DataFrame, mask: pd.Series) -> float:
    return float(frame.loc[mask, "pd_24m"].mean())


def test_known_risk_directions_hold(in_book: pd.DataFrame) -> None:
    b = in_book
    pti = (b["monthly_rent"] + b["existing_debt_payment"]) / b["monthly_income"]
    q = pd.qcut(pti, 5, labels=False)
    realised = b["default_month"].fillna(999) <= 24
    assert realised[q == 4].mean() > realised[q == 0].mean()
    assert _rate(b, q == 4) > 1.5 * _rate(b, q == 0)
    thin = b["bureau_score"].isna()
    assert _rate(b, thin) > _rate(b, ~thin)
    used = b["vehicle_condition"] == "used"
    assert _rate(b, used) > _rate(b, ~used)
    score = pd.qcut(b["bureau_score"], 5, labels=False)
    assert _rate(b, score == 0) > 1.5 * _rate(b, score == 4)
    ltv = b["financed_amount"] / b["vehicle_price"]
    assert _rate(b, ltv > 0.85) > _rate(b, ltv < 0.75)
    assert _rate(b, b["bureau_inquiries_6m"] >= 3) > _rate(b, b["bureau_inquiries_6m"] == 0)
    income = pd.qcut(b["monthly_income"], 4, labels=False)
    down = pd.qcut(b["down_payment"] / b["vehicle_price"], 4, labels=False)
    assert _rate(b, income == 3) < _rate(b, income == 0)
    assert _rate(b, down == 3) < _rate(b, down == 0)


def test_true_pd_is_recomputed_from_the_tape_fields_alone(in_book: pd.DataFrame) -> None:
    """No hidden input: the risk pieces and pd_* follow from the contract's canonical fields."""
    b = in_book
    orig = b["origination_date"]
    a = {name: b[name].to_numpy(dtype=float) for name in (
        "monthly_income", "existing_debt_payment", "financed_amount", "vehicle_price", "lessee_age",
        "bureau_score", "bureau_inquiries_6m", "years_in_job", "term_months", "annual_rate")}
    a.update(thin=b["bureau_score"].isna().to_numpy(), used=(b["vehicle_condition"] == "used").to_numpy(),
             is_nev=b["is_nev"].to_numpy(dtype=bool), has_guarantor=b["has_guarantor"].to_numpy(dtype=bool),
             gps_installed=b["gps_installed"].to_numpy(dtype=bool), city_tier=b["city_tier"].to_numpy(dtype=int),
             employment_type=b["employment_type"].map(EMPLOYMENT.index).to_numpy(dtype=int),
             o=((orig.dt.year - FIRST_YEAR) * 12 + orig.dt.month - 1).to_numpy(dtype=np.int64))
    a["term_months"] = a["term_months"].astype(np.int64)
    profile = PROFILES["non_captive"]
    comps = risk_components(a, b["monthly_rent"].to_numpy(dtype=float), profile)
    assert set(comps) == {c for c in b.columns if c.startswith("c_")}
    for name, values in comps.items():
        np.testing.assert_allclose(values, b[name], atol=1e-4, err_msg=name)
    risk = np.sum(list(comps.values()), axis=0)
    h_def, h_pre = monthly_hazards(risk, a, profile, 63)
    _, (pd12, pd24) = default_probability(h_def, h_pre, (12, 24))
    np.testing.assert_allclose(pd24, b["pd_24m"], atol=1e-6)
    np.testing.assert_allclose(pd12, b["pd_12m"], atol=1e-6)


def test_captive_profile_is_safer_and_new_car(book: Book) -> None:
    captive = generate_book(4_000, seed=3, cutoff=CUTOFF, profile="captive")
    truth = captive.truth[captive.truth["in_book"]]
    assert 0.002 <= truth["pd_24m"].mean() <= 0.005
    assert (captive.contracts["vehicle_condition"] == "used").mean() < 0.05
    assert captive.contracts["financed_amount"].mean() > 110_000


@pytest.mark.parametrize("kwargs, message", [
    ({"n_contracts": 0}, "n_contracts must be a whole number from 1"),
    ({"profile": "bank"}, "profile must be one of non_captive, captive, got 'bank'"),
    ({"cutoff": dt.date(2018, 3, 31)}, "cutoff must be between"),
    ({"seed": -1}, "seed must be a whole number >= 0"),
])
def test_bad_arguments_are_config_errors(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"n_contracts": 10, "seed": 1, "cutoff": CUTOFF, **kwargs}
    with pytest.raises(ConfigError, match=message):
        generate_book(args.pop("n_contracts"), **args)  # type: ignore[arg-type]


# --- command line ---------------------------------------------------------------------------------

def test_cli_writes_the_four_files_and_reports_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sample", "--contracts", "800", "--seed", "2", "--out", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert sorted(out["files"]) == ["contracts", "performance", "pool", "pool_performance", "truth"]
    assert out["rows"]["contracts"] == 800
    assert all(Path(p).exists() and p.endswith(".parquet") for p in out["files"].values())
    assert not list(tmp_path.glob(".*.tmp"))


def test_cli_rejects_a_bad_date(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sample", "--cutoff", "2025-13-01", "--out", "x"])
    assert "not a date YYYY-MM-DD: '2025-13-01'" in capsys.readouterr().err


# --- the committed sample -------------------------------------------------------------------------

def _section(text: str, name: str) -> str:
    found = re.search(rf"<!-- {name}:start -->\n(.*?)<!-- {name}:end -->", text, re.DOTALL)
    assert found, f"data_samples/README.md lacks the {name} section"
    return found.group(1)


@pytest.mark.skipif(not (SAMPLES / "contracts.parquet").exists(), reason="data_samples not generated")
def test_committed_sample_readme_figures_match_the_files() -> None:
    sample = load_book(SAMPLES)
    table = reference_comparison(**sample)
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    assert _section(readme, "comparison") == comparison_markdown(table)
    truth = sample["truth"][sample["truth"]["in_book"].astype(bool)]
    assert _section(readme, "vintages") == vintage_markdown(
        vintage_defaults(sample["contracts"], sample["performance"], truth))
    outside = table[~table["within"]]
    assert outside.empty, outside


def test_a_failed_write_leaves_no_files(tmp_path: Path) -> None:
    def stop(done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_book(tmp_path, 500, 1, CUTOFF, on_progress=stop)
    assert list(tmp_path.iterdir()) == []


def test_mid_month_cutoff_reports_only_month_ends_before_it() -> None:
    cutoff = dt.date(2023, 3, 15)
    small = generate_book(2_000, seed=8, cutoff=cutoff)
    assert small.contracts["origination_date"].max() < pd.Timestamp("2023-03-01")
    assert (small.performance["month"] <= pd.Timestamp(cutoff)).all()
    assert check_lease_tape(small.contracts).ok
    assert small.pool["months_on_book"].min() >= 1
