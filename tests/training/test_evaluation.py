"""Evaluation of a fitted model: the monotonicity sweep can fail, a real model passes, runs repeat."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from features.synthetic import Book
from tests.training.conftest import TINY
from training.cv_search import SMALL_CANDIDATES
from training.evaluation import evaluate_model, monotonicity_sweep
from training.run import fit_and_evaluate


class _BumpyModel:
    """A stand-in model whose raw score falls then rises in ``x`` although the spec says +1."""

    spec = SimpleNamespace(directions={"x": 1, "z": -1, "c": 0})

    def transform(self, records: pd.DataFrame) -> pd.DataFrame:
        return records[["x", "z", "c"]]

    def raw_score_inputs(self, x: pd.DataFrame) -> np.ndarray:
        return np.asarray((x["x"] - 5.0) ** 2 - x["z"], dtype=float)


def test_sweep_counts_wrong_way_steps() -> None:
    records = pd.DataFrame({"x": np.arange(10.0), "z": np.linspace(0, 1, 10), "c": ["a"] * 10})
    sweep = monotonicity_sweep(_BumpyModel(), records, n_assets=10, grid_points=10)  # type: ignore[arg-type]
    by = sweep.set_index("feature")
    assert list(by.index) == ["x", "z"]                 # unconstrained features are not swept
    assert by.loc["x", "violations"] == 10 * 5          # 5 falling steps (0..5) for each of 10 assets
    assert by.loc["z", "violations"] == 0
    assert by.loc["x", "checks"] == 10 * 9


@pytest.fixture(scope="module")
def outcome(small_book: Book):  # type: ignore[no-untyped-def]
    return fit_and_evaluate(small_book.contracts, small_book.performance, truth=small_book.truth, seed=0,
                            config=TINY)


def test_real_model_has_no_monotonicity_violation(outcome, small_book: Book) -> None:  # type: ignore[no-untyped-def]
    test = outcome.split.test
    ev = evaluate_model(outcome.model, test.records, test.y, test.vintage, sweep_assets=300)
    assert ev.metrics["monotonicity_violations"] == 0
    assert (ev.monotonicity["checks"] > 0).all() and len(ev.monotonicity) >= 5
    assert set(ev.auc_by_vintage) == set(test.vintages)


def test_run_repeats_for_a_seed_and_changes_with_another(outcome, small_book: Book) -> None:  # type: ignore[no-untyped-def]
    again = fit_and_evaluate(small_book.contracts, small_book.performance, truth=small_book.truth, seed=0,
                             config=TINY)
    assert again.model.booster.model_to_string() == outcome.model.booster.model_to_string()
    assert again.metrics == outcome.metrics
    assert again.search.params == outcome.search.params
    other = fit_and_evaluate(small_book.contracts, small_book.performance, seed=1,
                             config=replace(TINY, with_scorecard=False))
    assert other.model.booster.model_to_string() != outcome.model.booster.model_to_string()


def test_outcome_tables_and_figures(outcome) -> None:  # type: ignore[no-untyped-def]
    assert {"roc", "ks", "calibration", "shap_summary"} == set(outcome.figures)
    assert len(outcome.tables["deciles_oot"]) == 10
    assert outcome.metrics["calibration_error_oot"] == pytest.approx(
        float(np.mean(np.abs(outcome.tables["deciles_oot"]["expected"] - outcome.tables["deciles_oot"]["observed"]))))
    frame = outcome.oot_frame()
    assert {"default", "vintage"} <= set(frame.columns) and len(frame) == len(outcome.split.test)


def test_a_small_book_is_chosen_by_inner_cross_validation(outcome) -> None:  # type: ignore[no-untyped-def]
    """Below cv_below_rows fitting rows the recipe pools train and validation and runs the inner CV."""
    n_fit = len(outcome.split.train) + len(outcome.split.validation)
    assert n_fit < TINY.cv_below_rows
    assert outcome.params["model.selection"] == "inner_cv"
    assert outcome.params["rows.fit"] == n_fit
    model = outcome.model
    assert model.metadata["selection"] == "inner_cv" and model.metadata["n_train"] == n_fit
    assert model.blend_weight == model.metadata["blend_weight"] == outcome.params["model.blend_weight"]
    assert model.scorecard is not None
    assert [t.candidate for t in outcome.search.trials] == list(range(len(SMALL_CANDIDATES)))
    records = outcome.split.test.records.iloc[:400]
    e = model.explain(records)
    np.testing.assert_allclose(e.contributions.sum(axis=1).to_numpy() + e.base_value, model.raw_score(records),
                               atol=1e-6, rtol=0)
    assert 0.5 < outcome.metrics["auc_validation"] < 1.0   # out-of-fold figures of the validation rows


def test_cv_below_rows_zero_keeps_the_validation_split(small_book: Book) -> None:
    out = fit_and_evaluate(small_book.contracts, small_book.performance, seed=0,
                           config=replace(TINY, cv_below_rows=0, with_scorecard=False))
    assert out.params["model.selection"] == "validation_split"
    assert out.model.blend_weight == 1.0 and out.model.scorecard is None
    assert len(out.search.trials) == TINY.search.n_candidates   # the search's candidates, one rung
    # chosen on the validation vintages, then fitted again on training and validation vintages together
    assert out.params["rows.fit"] == len(out.split.train) + len(out.split.validation)
    assert out.model.metadata["n_refit"] == out.params["rows.fit"]
    once = fit_and_evaluate(small_book.contracts, small_book.performance, seed=0,
                            config=replace(TINY, cv_below_rows=0, with_scorecard=False, refit=False))
    assert once.params["rows.fit"] == len(once.split.train) and "n_refit" not in once.model.metadata
    # the validation figures stay those of the fit that had not seen the validation vintages
    assert out.metrics["auc_validation"] == pytest.approx(once.metrics["auc_validation"], abs=1e-12)
    assert out.metrics["auc_oot"] != once.metrics["auc_oot"]


def test_the_sample_book_trains_a_blend_without_monotonicity_violations() -> None:
    """The bundled sample (what `make demo` trains): inner CV, a blend with the scorecard, no sweep violation.

    The blend once broke the annual_rate direction through an upside-down scorecard coefficient.
    """
    from pathlib import Path

    from features.contract import check_lease_tape

    samples = Path(__file__).resolve().parents[2] / "data_samples"
    book = check_lease_tape(pd.read_parquet(samples / "contracts.parquet")).records
    out = fit_and_evaluate(book, pd.read_parquet(samples / "performance.parquet"), seed=0,
                           config=replace(TINY, sweep_assets=200))
    assert out.params["model.selection"] == "inner_cv" and out.model.blend_weight < 1.0
    assert out.metrics["monotonicity_violations_oot"] == 0
    assert set(out.oot.monotonicity["feature"]) >= {"annual_rate", "bureau_score", "ltv"}
