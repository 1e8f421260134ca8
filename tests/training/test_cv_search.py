"""Small-sample selection by inner cross-validation on a seeded additive data set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.cv_search import BLEND_WEIGHTS, LINEAR_MARGIN, SMALL_CANDIDATES, search_cv
from training.errors import TrainingError
from training.metrics import auc

MONO = {"ltv": 1, "income": -1}
FAST = {"max_rounds": 300, "early_stopping_rounds": 30, "num_threads": 1}


def _logit(x: pd.DataFrame) -> pd.Series:
    return -2.5 + 3 * x["ltv"] - 0.8 * np.log(x["income"] / 8000) + (x["tier"] == "3") * 0.7


def _data(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({
        "ltv": rng.uniform(0.3, 1.0, n),
        "income": rng.lognormal(9, 0.5, n),
        "tier": pd.Categorical(rng.choice(["1", "2", "3"], n), categories=["1", "2", "3"]),
    })
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-_logit(x)))).astype(int).to_numpy()
    return x, y


def test_selection_is_repeatable_refits_scaled_trees_and_ranks_new_rows() -> None:
    x, y = _data(1_200, 1)
    a = search_cv(x, y, monotone_constraints=MONO, directions=MONO, categorical=["tier"], seed=3, **FAST)
    b = search_cv(x, y, monotone_constraints=MONO, directions=MONO, categorical=["tier"], seed=3, **FAST)
    assert len(a.candidates) == len(SMALL_CANDIDATES) and a.weight in BLEND_WEIGHTS
    assert (a.params, a.trees, a.weight) == (b.params, b.trees, b.weight)
    winner = next(c for c in a.candidates if c.params == a.params)
    assert a.trees == max(1, round(winner.best_iteration * 5 / 4))
    assert a.booster.num_trees() == a.trees
    assert (a.partner, a.linear_oof_auc) == (b.partner, b.linear_oof_auc)
    best_blend = max(a.oof_auc.values())
    if a.partner == "linear":  # chosen only when its out-of-fold AUC is higher by the margin
        assert a.weight == 0.0 and a.linear_oof_auc > best_blend + LINEAR_MARGIN
        np.testing.assert_allclose(a.raw_score(x), a.linear.decision_function(x))
    else:
        assert a.oof_auc[a.weight] == best_blend and a.linear_oof_auc <= best_blend + LINEAR_MARGIN
    xt, yt = _data(3_000, 2)
    pd_new = a.predict_pd(xt)
    # close to the true model's ranking; on these 1,200 rows the linear model (raw income, where the
    # truth is linear in log income) wins the inner folds and ranks new rows 0.021 below the truth
    assert auc(yt, pd_new) > auc(yt, _logit(xt).to_numpy()) - 0.025
    true_pd = 1 / (1 + np.exp(-_logit(xt).to_numpy()))
    assert abs(pd_new.mean() - true_pd.mean()) < 0.03  # calibrated on out-of-fold scores


def test_weight_one_is_the_boosted_model_alone() -> None:
    x, y = _data(800, 4)
    sel = search_cv(x, y, monotone_constraints=MONO, directions=MONO, categorical=["tier"], blend_weights=(1.0,),
                    candidates=SMALL_CANDIDATES[:1], with_linear=False, **FAST)
    assert sel.weight == 1.0
    np.testing.assert_allclose(sel.raw_score(x), sel.booster.predict(x, raw_score=True))


def test_too_few_defaults_for_the_inner_folds_fail() -> None:
    x, y = _data(200, 5)
    y = np.zeros(len(y), dtype=int)
    y[:3] = 1
    with pytest.raises(TrainingError, match="inner 5-fold cross-validation needs at least 5 defaults"):
        search_cv(x, y, monotone_constraints=MONO, directions=MONO, categorical=["tier"], **FAST)


def test_the_linear_model_replaces_the_blend_where_risk_is_linear_and_not_where_it_is_a_step() -> None:
    # log-odds linear in two inputs: the logistic regression is the better model
    rng = np.random.default_rng(7)
    n = 3_000
    lin = pd.DataFrame({"ltv": rng.normal(0, 1, n), "income": rng.normal(0, 1, n)})
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(-2.5 + 1.2 * lin["ltv"] - 0.8 * lin["income"])))).astype(int)
    sel = search_cv(lin, y.to_numpy(), monotone_constraints=MONO, directions=MONO, **FAST)
    assert sel.partner == "linear" and sel.weight == 0.0
    # risk high at both ends of the age range: a line cannot rank it, the trees stay
    ends = pd.DataFrame({"age": rng.uniform(20, 70, n), "income": rng.normal(0, 1, n)})
    y = (rng.uniform(size=n) < np.where((ends["age"] < 28) | (ends["age"] > 62), 0.3, 0.04)).astype(int)
    sel = search_cv(ends, y, monotone_constraints=MONO, directions=MONO, **FAST)
    assert sel.partner == "scorecard" and sel.weight > 0.0
