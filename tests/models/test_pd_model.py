"""PDClassifier: sklearn habits, monotone constraints, early stopping, determinism and errors."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from features.exceptions import ConfigError, NotFittedError, TapeError
from models import PDClassifier
from tests.models.conftest import Fitted
from tests.models.sweep import monotone_violations


@pytest.fixture(scope="module")
def data(fitted: Fitted) -> tuple:
    b = fitted.model.builder
    return b.transform(fitted.train), fitted.y_train, b.transform(fitted.valid), fitted.y_valid


def test_constraints_hold_and_the_sweep_would_catch_their_absence(fitted: Fitted, data: tuple) -> None:
    X, y, Xv, _ = data
    directions = fitted.model.spec.directions
    ranges = fitted.model.builder.ranges_
    probe = Xv.iloc[:200]
    free = PDClassifier(n_estimators=150, min_child_samples=20, n_jobs=1).fit(X, y)
    tied = PDClassifier(n_estimators=150, min_child_samples=20, n_jobs=1, monotone_constraints=directions).fit(X, y)
    assert sum(monotone_violations(free.raw_score, probe, ranges, directions).values()) > 0
    assert sum(monotone_violations(tied.raw_score, probe, ranges, directions).values()) == 0


def test_early_stopping_keeps_the_best_trees(data: tuple) -> None:
    X, y, Xv, yv = data
    clf = PDClassifier(n_estimators=2000, learning_rate=0.3, early_stopping_rounds=10, n_jobs=1).fit(
        X, y, eval_set=(Xv, yv))
    assert clf.best_iteration_ < 2000
    assert clf.booster_.num_trees() == clf.best_iteration_
    assert "valid" in clf.evals_result_


def test_same_seed_same_trees_other_seed_other_trees(data: tuple) -> None:
    X, y, _, _ = data
    a = PDClassifier(n_estimators=40, n_jobs=1, random_state=7).fit(X, y)
    b = PDClassifier(n_estimators=40, n_jobs=1, random_state=7).fit(X, y)
    c = PDClassifier(n_estimators=40, n_jobs=1, random_state=8).fit(X, y)
    assert a.booster_.model_to_string() == b.booster_.model_to_string()
    assert not np.array_equal(a.raw_score(X), c.raw_score(X))


def test_sklearn_clone_and_probabilities(data: tuple) -> None:
    X, y, _, _ = data
    clf = PDClassifier(n_estimators=30, num_leaves=7, n_jobs=1)
    fresh = clone(clf)
    assert fresh.get_params() == clf.get_params()
    fresh.fit(X, y)
    proba = fresh.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(fresh.predict(X), (proba[:, 1] > 0.5).astype(int))
    assert not hasattr(clone(fresh), "booster_")


def test_errors_name_the_problem(data: tuple) -> None:
    X, y, _, _ = data
    with pytest.raises(NotFittedError, match=r"PDClassifier.raw_score: not fitted yet"):
        PDClassifier().raw_score(X)
    with pytest.raises(ConfigError, match=r"learning_rate must be in \(0, 1\], got 0"):
        PDClassifier(learning_rate=0).fit(X, y)
    with pytest.raises(ConfigError, match=r"categorical feature 'province' cannot carry monotone constraint 1"):
        PDClassifier(monotone_constraints={"province": 1}).fit(X, y)
    with pytest.raises(ConfigError, match=r"monotone_constraints name features \['colour'\]"):
        PDClassifier(monotone_constraints={"colour": 1}).fit(X, y)
    with pytest.raises(TapeError, match=r"labels must be 0/1 with both classes present"):
        PDClassifier().fit(X, np.zeros(len(X)))
    with pytest.raises(TapeError, match=r"columns \['province'\] are neither numeric nor category"):
        PDClassifier().fit(X.assign(province=X["province"].astype(str)), y)
    fitted = PDClassifier(n_estimators=5, n_jobs=1).fit(X, y)
    with pytest.raises(TapeError, match=r"differ from the columns seen at fit"):
        fitted.raw_score(X.drop(columns=["ltv"]))
