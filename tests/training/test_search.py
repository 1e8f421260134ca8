"""The hyperparameter search on a small seeded data set with a known signal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.errors import TrainingError
from training.search import SearchConfig, search_params

MONO = {"ltv": 1, "income": -1}
SMALL = SearchConfig(n_candidates=3, keep=2, subsample_rows=1_500, max_rounds=200, early_stopping_rounds=10,
                     num_threads=1)


def _data(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({
        "ltv": rng.uniform(0.3, 1.0, n),
        "income": rng.lognormal(9, 0.5, n),
        "tier": pd.Categorical(rng.choice(["1", "2", "3"], n), categories=["1", "2", "3"]),
    })
    logit = -3 + 3 * x["ltv"] - 0.5 * np.log(x["income"] / 8000) + (x["tier"] == "3") * 0.5
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int).to_numpy()
    return x, y


def test_search_is_deterministic_and_learns_the_signal() -> None:
    xt, yt = _data(3_000, 1)
    xv, yv = _data(1_500, 2)
    a = search_params(xt, yt, xv, yv, monotone_constraints=MONO, categorical=["tier"], config=SMALL)
    b = search_params(xt, yt, xv, yv, monotone_constraints=MONO, categorical=["tier"], config=SMALL)
    assert a.params == b.params and a.best_iteration == b.best_iteration
    assert [t.val_auc for t in a.trials] == [t.val_auc for t in b.trials]
    assert max(t.val_auc for t in a.trials) > 0.6
    # rung 0 on the subsample, rung 1 re-fits the best two on every row
    assert [t.rung for t in a.trials] == [0, 0, 0, 1, 1]
    assert {t.rows for t in a.trials if t.rung == 1} == {3_000}
    assert set(a.params) == {"num_leaves", "min_child_samples", "learning_rate", "reg_lambda",
                             "colsample_bytree", "subsample"}
    assert len(a.trials_frame()) == 5


def test_another_seed_draws_other_candidates() -> None:
    xt, yt = _data(3_000, 1)
    xv, yv = _data(1_500, 2)
    a = search_params(xt, yt, xv, yv, monotone_constraints=MONO, config=SMALL)
    b = search_params(xt, yt, xv, yv, monotone_constraints=MONO,
                      config=SearchConfig(**{**SMALL.__dict__, "seed": 7}))
    assert [t.params for t in a.trials][1:] != [t.params for t in b.trials][1:]


def test_no_second_rung_without_a_subsample() -> None:
    xt, yt = _data(1_000, 1)
    xv, yv = _data(500, 2)
    res = search_params(xt, yt, xv, yv, monotone_constraints=MONO, config=SMALL)
    assert {t.rung for t in res.trials} == {0}


def test_bad_inputs_are_named() -> None:
    xt, yt = _data(500, 1)
    with pytest.raises(TrainingError, match="monotone_constraints name features that are not input columns: age"):
        search_params(xt, yt, xt, yt, monotone_constraints={"ltv": 1, "age": -1}, config=SMALL)
    with pytest.raises(TrainingError, match="validation rows need both defaults and non-defaults"):
        search_params(xt, yt, xt, np.zeros(500, dtype=int), monotone_constraints=MONO, config=SMALL)
    with pytest.raises(TrainingError, match="keep must be between 1 and n_candidates \\(2\\); got 3"):
        SearchConfig(n_candidates=2, keep=3)


def test_refitting_the_winner_with_pdclassifier_reproduces_it() -> None:
    from sklearn.metrics import roc_auc_score

    from models.pd_model import PDClassifier

    xt, yt = _data(3_000, 1)
    xv, yv = _data(1_500, 2)
    res = search_params(xt, yt, xv, yv, monotone_constraints=MONO, categorical=["tier"], config=SMALL)
    winner = next(t for t in res.trials if t.rung == 1 and t.params == res.params)
    clf = PDClassifier(**res.params, monotone_constraints=MONO, random_state=SMALL.seed, n_jobs=1,
                       n_estimators=SMALL.max_rounds, early_stopping_rounds=SMALL.early_stopping_rounds)
    clf.fit(xt, yt, eval_set=(xv, yv))
    assert clf.best_iteration_ == res.best_iteration
    assert roc_auc_score(yv, clf.predict_proba(xv)[:, 1]) == pytest.approx(winner.val_auc, abs=1e-9)
