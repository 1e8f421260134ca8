"""Evaluation of a fitted model: the monotonicity sweep can fail, a real model passes, runs repeat."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from features.synthetic import Book
from tests.training.conftest import TINY
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


def test_run_repeats_for_a_seed_and_changes_with_another(outcome, small_book: Book, tmp_path) -> None:  # type: ignore[no-untyped-def]
    again = fit_and_evaluate(small_book.contracts, small_book.performance, truth=small_book.truth, seed=0,
                             config=TINY)
    assert again.model.booster.model_to_string() == outcome.model.booster.model_to_string()
    # the same bundle, byte for byte (its digest is the model's identity in screening runs)
    first, second = outcome.model.save(tmp_path / "a"), again.model.save(tmp_path / "b")
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files and files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files), [
        str(f) for f in files if (first / f).read_bytes() != (second / f).read_bytes()]
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


def test_a_small_book_is_chosen_on_rolling_origin_folds(outcome) -> None:  # type: ignore[no-untyped-def]
    """Below cv_below_rows fitting rows the candidates are validated on later vintages, in four blocks."""
    n_fit = len(outcome.split.train) + len(outcome.split.validation)
    assert n_fit < TINY.cv_below_rows
    assert outcome.params["model.selection"] == "rolling_origin"
    assert outcome.params["rows.fit"] == n_fit
    model = outcome.model
    table = model.metadata["selection_table"]
    assert model.metadata["selection"] == "rolling_origin" and table["scheme"]["folds"] == 4
    assert table["winner"] == outcome.params["model.winner"] and model.metadata["n_refit"] == n_fit
    # the tree settings logged are those of the winner's heaviest tree part
    from training.select import TREE_FAMILIES

    trees = {nm: w for nm, w in model.metadata["stack_weights"].items() if nm not in ("linear", "woe")}
    assert trees
    lead = max(trees, key=lambda nm: trees[nm]).removesuffix("+linear")
    family = next(f for f in TREE_FAMILIES if f.name == lead)
    assert model.metadata["params"]["num_leaves"] == family.params["num_leaves"] == outcome.params["model.num_leaves"]
    assert model.blend_weight == model.metadata["blend_weight"] == outcome.params["model.blend_weight"]
    assert model.scorecard is not None
    assert [t.params["name"] for t in outcome.search.trials] == [c["name"] for c in table["candidates"]]
    assert "direction_cost_validation" in outcome.metrics
    assert abs(outcome.metrics["direction_cost_oot"]) < 0.02  # the same price out of time; right directions here
    assert set(outcome.tables["selection"]["name"]) == {c["name"] for c in table["candidates"]}
    records = outcome.split.test.records.iloc[:400]
    e = model.explain(records)
    np.testing.assert_allclose(e.contributions.sum(axis=1).to_numpy() + e.base_value, model.raw_score(records),
                               atol=1e-6, rtol=0)
    assert 0.5 < outcome.metrics["auc_validation"] < 1.0   # validation-fold figures of the validation vintages


def test_from_cv_below_rows_the_validation_vintages_are_the_one_validation_part(small_book: Book) -> None:
    out = fit_and_evaluate(small_book.contracts, small_book.performance, seed=0,
                           config=replace(TINY, cv_below_rows=0, with_scorecard=False))
    assert out.params["model.selection"] == "time_holdout"
    table = out.model.metadata["selection_table"]
    assert table["scheme"]["validation_rows"] == len(out.split.validation)
    # chosen on the validation vintages, then fitted again on training and validation vintages together
    assert out.params["rows.fit"] == len(out.split.train) + len(out.split.validation)
    assert out.model.metadata["n_refit"] == out.params["rows.fit"]
    if out.model.partner != "scorecard" or out.model.partner_weight == 0:
        assert out.model.scorecard is None
    assert out.metrics["monotonicity_violations_oot"] == 0


def test_the_sample_book_trains_without_monotonicity_violations() -> None:
    """The bundled sample (what `make demo` trains): rolling-origin selection, no sweep violation.

    A blend once broke the annual_rate direction through an upside-down scorecard coefficient.
    """
    from pathlib import Path

    from features.contract import check_lease_tape

    samples = Path(__file__).resolve().parents[2] / "data_samples"
    book = check_lease_tape(pd.read_parquet(samples / "contracts.parquet")).records
    out = fit_and_evaluate(book, pd.read_parquet(samples / "performance.parquet"), seed=0,
                           config=replace(TINY, sweep_assets=200))
    assert out.params["model.selection"] == "rolling_origin"
    assert out.metrics["monotonicity_violations_oot"] == 0
    assert set(out.oot.monotonicity["feature"]) >= {"annual_rate", "bureau_score", "ltv"}


def test_when_the_stack_check_fails_the_logistic_regression_alone_trains_saves_and_explains(
        small_book: Book, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The winner of a run may be the logistic regression alone (the stack lost with cross-fitted weights):
    the bundle holds it at weight 1 and no tree, explains it exactly and loads without pickle."""
    import json

    from models.bundle import LeaseModel
    from training import select

    def lost(y, scheme, raws, **kw):  # type: ignore[no-untyped-def]
        return {"stack_auc": 0.5, "baseline": "linear", "baseline_auc": 0.6, "parts": len(scheme.folds),
                "kept": False}

    monkeypatch.setattr(select, "stack_check", lost)
    out = fit_and_evaluate(small_book.contracts, small_book.performance, seed=0, config=TINY)
    model = out.model
    table = model.metadata["selection_table"]
    assert out.params["model.winner"] == table["winner"] == "linear" and table["stack_check"]["kept"] is False
    assert model.metadata["stack_weights"] == {"linear": 1.0}
    records = out.split.test.records.iloc[:300]
    x = model.transform(records)
    assert model.linear is not None
    np.testing.assert_allclose(model.raw_score(records), model.linear.decision_function(x), atol=1e-9)
    e = model.explain(records)
    np.testing.assert_allclose(e.contributions.sum(axis=1).to_numpy() + e.base_value, model.raw_score(records),
                               atol=1e-6, rtol=0)
    assert out.metrics["monotonicity_violations_oot"] == 0
    model.save(tmp_path / "m")
    stored = json.loads((tmp_path / "m" / "bundle.json").read_text())
    assert not list((tmp_path / "m").rglob("*.pkl")) and stored["format"].startswith("poolgate")
    back = LeaseModel.load(tmp_path / "m")
    np.testing.assert_allclose(back.predict_pd(records), model.predict_pd(records), atol=1e-12)


def test_a_wrong_direction_is_priced_out_of_time_too(small_book: Book) -> None:
    """A higher bureau score lowers risk in the book; declared the other way, freeing it gains out of time."""
    from features.spec import load_spec

    spec = load_spec()
    assert spec.directions["bureau_score"] == -1
    flipped = tuple(replace(f, direction=1) if f.name == "bureau_score" else f for f in spec.features)
    wrong = replace(spec, features=flipped)
    out = fit_and_evaluate(small_book.contracts, small_book.performance, seed=0, spec=wrong,
                           config=replace(TINY, with_scorecard=False))
    assert out.metrics["direction_cost_oot"] > 0.01 and out.metrics["direction_cost_validation"] > 0.01
    # each with its own noise (DeLong, paired), well below the price of a wrong direction
    assert 0 < out.metrics["direction_cost_oot_se"] < out.metrics["direction_cost_oot"] / 2
    assert 0 < out.metrics["direction_cost_validation_se"] < out.metrics["direction_cost_validation"]
    # the wrong direction binds in the logistic regression, named with its price, and pricing it is timed
    # as a part of the search
    binding = {d["input"]: d for d in out.model.metadata["selection_table"]["directions_binding"]}
    assert binding["bureau_score"]["direction"] == 1 and binding["bureau_score"]["price"] > 0.01
    assert 0.001 < out.seconds["search_directions_binding"] < out.seconds["search"]
    assert out.metrics["monotonicity_violations_oot"] == 0  # still enforced, the wrong way
