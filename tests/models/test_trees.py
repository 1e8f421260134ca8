"""Several boosters as one (models.trees) and the stacked bundle: exact scores, exact explanations, storage."""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from features.exceptions import ConfigError
from models import LeaseModel, LinearScorecard
from models.trees import weighted_booster
from tests.models.conftest import Fitted


def _boosters() -> tuple[pd.DataFrame, list[lgb.Booster]]:
    rng = np.random.default_rng(3)
    n = 2_000
    x = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                      "c": pd.Categorical(rng.choice(list("pqrstu"), n))})
    x.loc[rng.uniform(size=n) < 0.1, "a"] = np.nan
    logit = x["a"].fillna(1.0) + (x["c"] == "p") - x["b"] ** 2
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    data = lgb.Dataset(x, y, params={"verbosity": -1}, free_raw_data=False).construct()
    quiet = {"objective": "binary", "verbosity": -1, "num_threads": 1}
    stumps = lgb.train({**quiet, "num_leaves": 2}, data, 40)
    deep = lgb.train({**quiet, "num_leaves": 31, "monotone_constraints": [1, 0, 0]}, data, 25)
    on_base = lgb.Dataset(x, y, init_score=np.full(n, 0.3), params={"verbosity": -1}, free_raw_data=False)
    based = lgb.train({**quiet, "num_leaves": 8}, on_base, 15)
    return x, [stumps, deep, based]


def test_weighted_boosters_score_and_explain_as_the_weighted_sum() -> None:
    x, boosters = _boosters()
    weights = [0.3, 0.55, 0.15]
    merged = weighted_booster(list(zip(boosters, weights, strict=True)))
    assert merged.num_trees() == sum(b.num_trees() for b in boosters)
    raw = sum(w * b.predict(x, raw_score=True) for b, w in zip(boosters, weights, strict=True))
    contrib = sum(w * b.predict(x, pred_contrib=True) for b, w in zip(boosters, weights, strict=True))
    np.testing.assert_allclose(merged.predict(x, raw_score=True), raw, rtol=0, atol=1e-12)
    np.testing.assert_allclose(merged.predict(x, pred_contrib=True), contrib, rtol=0, atol=1e-12)
    again = lgb.Booster(model_str=merged.model_to_string())  # LightGBM text, read back as it is
    np.testing.assert_array_equal(again.predict(x, raw_score=True), merged.predict(x, raw_score=True))
    assert weighted_booster([(boosters[0], 1.0), (boosters[1], 0.0)]) is boosters[0]
    with pytest.raises(ValueError, match="no booster with a non-zero weight"):
        weighted_booster([(boosters[0], 0.0)])


def test_a_stacked_bundle_explains_exactly_and_round_trips(fitted: Fitted, tmp_path: Path) -> None:
    m = fitted.model
    x_train = m.transform(fitted.train)
    linear = LinearScorecard(directions=m.spec.directions).fit(x_train, fitted.y_train)
    assert m.scorecard is not None
    model = LeaseModel(m.builder, weighted_booster([(m.booster, 0.6)]), m.calibration, m.scaling, m.scorecard,
                       m.metadata, linear=linear, linear_weight=0.25, scorecard_weight=0.3)
    records = fitted.test.iloc[:400]
    X = model.transform(records)
    expected = (0.6 * m.booster.predict(X, raw_score=True) + 0.25 * linear.decision_function(X)
                + 0.3 * m.scorecard.decision_function(X))
    np.testing.assert_allclose(model.raw_score(records), expected, rtol=0, atol=1e-9)
    e = model.explain(records)
    np.testing.assert_allclose(e.contributions.sum(axis=1).to_numpy() + e.base_value, expected, rtol=0, atol=1e-6)
    assert model.model_kind == "stack of trees, logistic regression and scorecard"
    model.save(tmp_path / "m")
    saved = json.loads((tmp_path / "m" / "bundle.json").read_text())
    assert saved["format"] == "poolgate.LeaseModel/4"  # an older poolgate refuses it rather than read one part
    assert (saved["linear_weight"], saved["scorecard_weight"]) == (0.25, 0.3) and "partner" not in saved
    back = LeaseModel.load(tmp_path / "m")
    np.testing.assert_array_equal(back.predict_pd(records), model.predict_pd(records))
    with pytest.raises(ConfigError, match="need a linear to blend with"):
        LeaseModel(m.builder, m.booster, m.calibration, scorecard=m.scorecard, linear_weight=0.5, scorecard_weight=0.5)
    with pytest.raises(ConfigError, match="must be >= 0"):
        LeaseModel(m.builder, m.booster, m.calibration, linear=linear, linear_weight=-0.1)
    with pytest.raises(ConfigError, match="not both"):
        LeaseModel(m.builder, m.booster, m.calibration, linear=linear, partner_weight=0.5, linear_weight=0.5)
