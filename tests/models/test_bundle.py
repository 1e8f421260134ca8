"""LeaseModel: behaviour (monotone directions, invariance), explanations, calibration, storage without pickle."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from features.exceptions import ConfigError
from features.pipeline import FeatureBuilder
from models import LeaseModel, fit_lease_model
from tests.models.conftest import Fitted
from tests.models.sweep import monotone_violations


def test_monotone_sweep_finds_no_violation(fitted: Fitted) -> None:
    """Move each constrained input across its training range for 300 assets: PD never moves against it."""
    model = fitted.model
    X = model.transform(fitted.test.iloc[:300])
    violations = monotone_violations(model.predict_pd_inputs, X, model.builder.ranges_, model.spec.directions)
    assert len(violations) >= 10
    assert violations == {name: 0 for name in violations}


def test_constrained_inputs_actually_move_the_pd(fitted: Fitted) -> None:
    model = fitted.model
    X = model.transform(fitted.test.iloc[:300])
    lo, hi = model.builder.ranges_["payment_to_income"]
    low, high = model.predict_pd_inputs(X.assign(payment_to_income=lo)), model.predict_pd_inputs(
        X.assign(payment_to_income=hi))
    assert (high - low).mean() > 0.02


def test_ids_never_change_the_score(fitted: Fitted) -> None:
    records = fitted.test.iloc[:500]
    shuffled = records.assign(contract_id=records["contract_id"].sample(frac=1.0, random_state=0).to_numpy(),
                              lessee_id="SAME", dealer_id="D99")
    np.testing.assert_array_equal(fitted.model.predict_pd(records), fitted.model.predict_pd(shuffled))


def test_row_order_does_not_change_a_row_score(fitted: Fitted) -> None:
    records = fitted.test.iloc[:500]
    p = pd.Series(fitted.model.predict_pd(records), index=records.index)
    reversed_ = records.iloc[::-1]
    q = pd.Series(fitted.model.predict_pd(reversed_), index=reversed_.index)
    pd.testing.assert_series_equal(p, q.loc[p.index])


def test_contributions_add_up_to_the_raw_score(fitted: Fitted) -> None:
    records = fitted.test.iloc[:1000]
    e = fitted.model.explain(records)
    assert list(e.contributions.columns) == fitted.model.feature_names
    assert e.contributions.index.equals(records.index)
    raw = fitted.model.raw_score(records)
    np.testing.assert_allclose(e.contributions.sum(axis=1).to_numpy() + e.base_value, raw, atol=1e-6, rtol=0)
    assert np.ptp(e.base_value) == 0


def test_contribution_points_follow_the_calibration_slope(fitted: Fitted) -> None:
    model = fitted.model
    e = model.explain(fitted.test.iloc[:50])
    pts = model.contribution_points(e)
    expected = -model.calibration.b * e.contributions * model.scaling.pdo / np.log(2)
    pd.testing.assert_frame_equal(pts, expected)
    # the points of all contributions move the score by exactly the raw-score change
    a, b = fitted.test.iloc[[0]], fitted.test.iloc[[1]]
    ea, eb = model.explain(a), model.explain(b)
    delta = model.contribution_points(eb).to_numpy().sum() - model.contribution_points(ea).to_numpy().sum()
    assert delta == pytest.approx(float(model.score(model.predict_pd(b))[0] - model.score(model.predict_pd(a))[0]))


def test_calibrated_pd_matches_the_observed_rate(fitted: Fitted) -> None:
    p = fitted.model.predict_pd(fitted.test)
    assert ((p > 0) & (p < 1)).all()
    assert abs(p.mean() - fitted.y_test.mean()) < 0.025
    assert fitted.model.calibration.b > 0


def test_ranking_is_close_to_the_true_pd(fitted: Fitted) -> None:
    auc = roc_auc_score(fitted.y_test, fitted.model.predict_pd(fitted.test))
    oracle = roc_auc_score(fitted.y_test, fitted.pd_test)
    assert auc > oracle - 0.03


def test_save_load_round_trip_is_identical(fitted: Fitted, tmp_path: Path) -> None:
    fitted.model.metadata["note"] = "round trip"
    folder = fitted.model.save(tmp_path / "m")
    assert sorted(p.name for p in folder.iterdir()) == ["booster.txt", "bundle.json", "scorecard.json"]
    again = LeaseModel.load(folder)
    records = fitted.test.iloc[:1000]
    np.testing.assert_array_equal(again.predict_pd(records), fitted.model.predict_pd(records))
    np.testing.assert_array_equal(again.scorecard_pd(records), fitted.model.scorecard_pd(records))
    pd.testing.assert_frame_equal(again.explain(records).contributions, fitted.model.explain(records).contributions)
    assert again.feature_names == fitted.model.feature_names
    assert again.spec.digest == fitted.model.spec.digest
    assert again.metadata["note"] == "round trip"
    assert again.scaling == fitted.model.scaling


def test_load_works_with_pickle_disabled(fitted: Fitted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = fitted.model.save(tmp_path / "m")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("pickle used while loading a model")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    again = LeaseModel.load(folder)
    records = fitted.test.iloc[:200]
    np.testing.assert_array_equal(again.predict_pd(records), fitted.model.predict_pd(records))
    for path in folder.iterdir():
        assert not path.read_bytes().startswith(b"\x80"), f"{path.name} looks like a pickle"


def test_altered_files_are_refused(fitted: Fitted, tmp_path: Path) -> None:
    folder = fitted.model.save(tmp_path / "m")
    booster = folder / "booster.txt"
    booster.write_text(booster.read_text(encoding="utf-8").replace("shrinkage=", "shrinkage=0", 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"booster\.txt: checksum differs .* changed after the model was saved"):
        LeaseModel.load(folder)
    with pytest.raises(ConfigError, match=r"not a LeaseModel bundle \(no bundle\.json\)"):
        LeaseModel.load(tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "bundle.json").write_text(json.dumps({"format": "x"}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"format 'x', expected one of \('poolgate.LeaseModel/1', 'poolgate.LeaseModel/2', 'poolgate.LeaseModel/3', 'poolgate.LeaseModel/4'\)"):
        LeaseModel.load(tmp_path / "bad")


def test_fit_is_deterministic_for_a_seed(fitted: Fitted) -> None:
    again = fit_lease_model(fitted.train, fitted.y_train, fitted.valid, fitted.y_valid, params={"n_jobs": 1},
                            with_scorecard=True)
    assert again.booster.model_to_string() == fitted.model.booster.model_to_string()
    assert again.calibration == fitted.model.calibration
    assert again.scorecard is not None and fitted.model.scorecard is not None
    assert again.scorecard.to_dict() == fitted.model.scorecard.to_dict()


def test_a_builder_fitted_beforehand_gives_the_same_model(fitted: Fitted) -> None:
    builder = FeatureBuilder(fitted.model.spec).fit(fitted.train)
    again = fit_lease_model(fitted.train, fitted.y_train, fitted.valid, fitted.y_valid, params={"n_jobs": 1},
                            with_scorecard=True, builder=builder)
    assert again.builder is builder
    assert again.booster.model_to_string() == fitted.model.booster.model_to_string()
    assert again.calibration == fitted.model.calibration
    with pytest.raises(NotFittedError, match="the builder given is not fitted"):
        fit_lease_model(fitted.train, fitted.y_train, fitted.valid, fitted.y_valid, params={"n_jobs": 1},
                        builder=FeatureBuilder(fitted.model.spec))


def test_metadata_records_the_fit(fitted: Fitted) -> None:
    meta = fitted.model.metadata
    assert meta["n_train"] == 3000 and meta["n_valid"] == 1500
    assert 0 < meta["best_iteration"] < 1000
    assert meta["monotone_constraints"]["ltv"] == 1
    assert meta["spec_digest"] == fitted.model.spec.digest
    json.dumps(meta)


def test_fit_lease_model_refuses_unknown_or_reserved_params(fitted: Fitted) -> None:
    with pytest.raises(ConfigError, match=r"params \['random_state', 'leaves'\] not allowed; allowed: cat_l2, cat_smooth"):
        fit_lease_model(fitted.train, fitted.y_train, fitted.valid, fitted.y_valid,
                        params={"leaves": 8, "random_state": 3})


def test_scorecard_pd_without_a_scorecard_is_an_error(fitted: Fitted) -> None:
    m = fitted.model
    bare = LeaseModel(m.builder, m.booster, m.calibration)
    with pytest.raises(ConfigError, match=r"this bundle has no scorecard challenger"):
        bare.scorecard_pd(fitted.test.iloc[:5])


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::PendingDeprecationWarning")
def test_contributions_equal_shap_tree_explainer(fitted: Fitted) -> None:
    shap = pytest.importorskip("shap")
    X = fitted.model.transform(fitted.test.iloc[:200])
    ours = fitted.model.explain_inputs(X)
    explainer = shap.TreeExplainer(fitted.model.booster)
    theirs = np.asarray(explainer.shap_values(X))
    np.testing.assert_allclose(theirs, ours.contributions.to_numpy(), atol=1e-9)
    assert float(np.ravel(explainer.expected_value)[0]) == pytest.approx(ours.base_value[0])


def _blended(fitted: Fitted, weight: float) -> LeaseModel:
    m = fitted.model
    return LeaseModel(m.builder, m.booster, m.calibration, m.scaling, m.scorecard, m.metadata, blend_weight=weight)


def test_blended_raw_score_mixes_booster_and_scorecard(fitted: Fitted) -> None:
    X = fitted.model.transform(fitted.test.iloc[:500])
    trees = fitted.model.raw_score_inputs(X)
    card = fitted.model.scorecard.decision_function(X)  # type: ignore[union-attr]
    np.testing.assert_allclose(_blended(fitted, 0.25).raw_score_inputs(X), 0.25 * trees + 0.75 * card, atol=1e-12)
    np.testing.assert_allclose(_blended(fitted, 0.0).raw_score_inputs(X), card, atol=1e-12)


def test_blended_contributions_add_up_to_the_raw_score(fitted: Fitted) -> None:
    model = _blended(fitted, 0.6)
    records = fitted.test.iloc[:1000]
    e = model.explain(records)
    assert list(e.contributions.columns) == model.feature_names
    np.testing.assert_allclose(e.contributions.sum(axis=1).to_numpy() + e.base_value, model.raw_score(records),
                               atol=1e-6, rtol=0)
    tree_part = fitted.model.explain(records)
    card_part = fitted.model.scorecard.contributions(model.transform(records))  # type: ignore[union-attr]
    j = model.feature_names.index("payment_to_income")
    np.testing.assert_allclose(e.contributions.iloc[:, j],
                               0.6 * tree_part.contributions.iloc[:, j] + 0.4 * card_part["payment_to_income"])


def test_blend_weight_is_saved_and_loaded(fitted: Fitted, tmp_path: Path) -> None:
    model = _blended(fitted, 0.75)
    model.save(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "bundle.json").read_text())["blend_weight"] == 0.75
    back = LeaseModel.load(tmp_path / "m")
    assert back.blend_weight == 0.75
    records = fitted.test.iloc[:300]
    np.testing.assert_array_equal(back.predict_pd(records), model.predict_pd(records))


def test_blend_weight_is_checked(fitted: Fitted) -> None:
    m = fitted.model
    with pytest.raises(ConfigError, match=r"blend_weight must be within \[0, 1\]; got 1.5"):
        _blended(fitted, 1.5)
    with pytest.raises(ConfigError, match="blend_weight 0.5 and partner_weight 0.5 need a scorecard"):
        LeaseModel(m.builder, m.booster, m.calibration, m.scaling, None, blend_weight=0.5)
