"""The WoE scorecard challenger: monotone bins, points, JSON round trip, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from features.exceptions import NotFittedError, TapeError
from models import ScoreScaling, WoEScorecard
from tests.models.conftest import Fitted


@pytest.fixture(scope="module")
def card(fitted: Fitted) -> WoEScorecard:
    assert fitted.model.scorecard is not None
    return fitted.model.scorecard


def test_it_ranks_nearly_as_well_as_the_trees(fitted: Fitted) -> None:
    card_auc = roc_auc_score(fitted.y_test, fitted.model.scorecard_pd(fitted.test))
    gbm_auc = roc_auc_score(fitted.y_test, fitted.model.predict_pd(fitted.test))
    assert card_auc > 0.75
    assert card_auc > gbm_auc - 0.05


def test_constrained_numeric_bins_follow_the_spec_direction(fitted: Fitted, card: WoEScorecard) -> None:
    directions = fitted.model.spec.directions
    checked = 0
    for b in card.binnings_:
        d = directions.get(b.name, 0)
        if b.kind == "numeric" and d != 0 and len(b.woe) > 1:
            # WoE is ln(good share / bad share): it falls as risk rises
            assert np.all(np.diff(b.woe) * d <= 0), b.name
            checked += 1
    assert checked >= 5
    ltv = next(b for b in card.binnings_ if b.name == "ltv")
    assert len(ltv.woe) >= 3


def test_points_of_the_bins_add_up_to_the_score(fitted: Fitted, card: WoEScorecard) -> None:
    X = fitted.model.transform(fitted.test.iloc[:200])
    scaling = ScoreScaling()
    table = card.points_table(scaling)
    assert list(table.columns) == ["feature", "bin", "woe", "points"]
    W = card.woe_transform(X)
    total = np.zeros(len(X))
    for name in W.columns:
        rows = table[table["feature"] == name]
        lookup = dict(zip(rows["woe"].round(12), rows["points"], strict=False))
        total += W[name].round(12).map(lookup).to_numpy()
    np.testing.assert_allclose(total, card.points(X, scaling), atol=1e-6)
    np.testing.assert_allclose(card.points(X, scaling), scaling.score(card.predict_pd(X)), atol=1e-6)


def test_unseen_and_missing_values_get_the_missing_bin(fitted: Fitted, card: WoEScorecard) -> None:
    X = fitted.model.transform(fitted.test.iloc[:3])
    X = X.assign(vehicle_make=pd.Categorical([None, None, None], categories=X["vehicle_make"].cat.categories))
    W = card.woe_transform(X)
    make = next(b for b in card.binnings_ if b.name == "vehicle_make")
    assert (W["vehicle_make"] == make.missing_woe).all()
    score = next(b for b in card.binnings_ if b.name == "bureau_score")
    assert score.missing_woe < 0  # thin files default more in the test book


def test_json_round_trip(fitted: Fitted, card: WoEScorecard) -> None:
    again = WoEScorecard.from_dict(json.loads(json.dumps(card.to_dict())))
    X = fitted.model.transform(fitted.test.iloc[:500])
    np.testing.assert_array_equal(again.predict_pd(X), card.predict_pd(X))
    pd.testing.assert_frame_equal(again.points_table(ScoreScaling()), card.points_table(ScoreScaling()))


def test_fit_on_its_own_and_errors(fitted: Fitted) -> None:
    X = fitted.model.transform(fitted.train)
    own = WoEScorecard(max_bins=4).fit(X, fitted.y_train)
    assert max(len(b.woe) for b in own.binnings_ if b.kind == "numeric") <= 4
    with pytest.raises(NotFittedError, match=r"WoEScorecard is not fitted yet"):
        WoEScorecard().predict_pd(X)
    with pytest.raises(TapeError, match=r"need 3000 labels of 0/1 with both classes present"):
        WoEScorecard().fit(X, np.ones(len(X)))
    with pytest.raises(TapeError, match=r"missing model-input columns \['ltv'\]"):
        own.predict_pd(X.drop(columns=["ltv"]))


def test_flat_default_rate_feature_bins_without_warning() -> None:
    import warnings

    import numpy as np
    import pandas as pd

    from models.scorecard import WoEScorecard

    rng = np.random.default_rng(0)
    x = np.repeat(np.arange(10.0), 100)                  # ten equal bins
    y = np.tile(np.r_[1.0, 0.0, 0.0, 0.0], 250)           # exactly 25 % defaults in every bin
    frame = pd.DataFrame({"flat": x, "signal": rng.normal(size=1000) + y})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        card = WoEScorecard(directions={"flat": 0, "signal": 1}).fit(frame, y)
    assert np.all(np.isfinite(card.predict_pd(frame)))


def test_a_positive_coefficient_is_dropped_so_directions_hold() -> None:
    """x2 rides on x1 (correlation 0.9) but lowers the risk given x1: its WoE says "risky", its partial
    effect says the opposite, and a plain logistic fit gives it a positive (upside-down) coefficient."""
    rng = np.random.default_rng(5)
    n = 20_000
    x1 = rng.normal(size=n)
    x2 = 0.9 * x1 + np.sqrt(1 - 0.81) * rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-2.0 + 1.5 * x1 - 0.8 * x2)))).astype(int)
    X = pd.DataFrame({"x1": x1, "x2": x2})
    card = WoEScorecard(directions={"x1": 1, "x2": 1}).fit(X, y)
    assert (card.coef_ <= 0).all()
    assert card.coef_[1] == 0.0 and card.coef_[0] < 0          # x2 dropped, x1 kept
    grid = pd.DataFrame({"x1": np.zeros(50), "x2": np.linspace(-3, 3, 50)})
    assert (np.diff(card.predict_pd(grid)) >= 0).all()        # PD never falls as x2 rises (direction +1)
    contrib = card.contributions(X.iloc[:100])
    np.testing.assert_allclose(contrib.sum(axis=1) + card.intercept_, card.decision_function(X.iloc[:100]))


def test_bins_follow_the_direction_after_smoothing() -> None:
    """Equal default rates (10 % in both bins) of unequal bins differ once smoothed: the bins merge
    instead of stepping the wrong way."""
    x = np.r_[np.zeros(2000), np.ones(1000)]
    y = np.r_[np.ones(200), np.zeros(1800), np.ones(100), np.zeros(900)].astype(int)
    z = np.random.default_rng(0).normal(size=x.size)
    card = WoEScorecard(directions={"x": -1}).fit(pd.DataFrame({"x": x, "z": z}), y)
    woe = np.array(card.binnings_[0].woe)
    assert (np.diff(woe) >= 0).all()        # direction -1: a higher x never has a lower WoE (higher risk)


def test_a_categorical_input_with_no_level_left_is_all_missing() -> None:
    """Every level of an extra category too rare to keep: the input is empty, and the scorecard still works."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=400)
    y = (rng.random(400) < 1 / (1 + np.exp(-x))).astype(int)
    X = pd.DataFrame({"x": x, "branch": pd.Categorical([None] * 400, categories=[])})
    card = WoEScorecard().fit(X, y)
    assert card.binnings_[1].woe == () and card.coef_[1] == 0.0
    assert np.isfinite(card.predict_pd(X)).all()
    assert roc_auc_score(y, card.predict_pd(X)) > 0.6
