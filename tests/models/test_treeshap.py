"""The table TreeSHAP (:mod:`models.treeshap`) gives LightGBM's ``pred_contrib`` values on every shape."""

from __future__ import annotations

import logging
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from models import LeaseModel, fit_lease_model
from models.explain import contributions
from models.linear import LinearScorecard
from models.treeshap import compile_booster, lightgbm_matrix, tree_shap
from tests.models.conftest import Fitted

TOL = 1e-9


def _frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Inputs with NaN, exact zeros, a many-level category (with missing) and a target using them all."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "a": rng.normal(size=n),
        "b": pd.Categorical(rng.choice(list("pqrstuvwxyz"), n), categories=list("pqrstuvwxyz")),
        "c": rng.normal(size=n),
        "d": rng.integers(0, 4, n).astype("float64"),
        "e": rng.normal(size=n),
        "f": rng.exponential(size=n),
    })
    X.loc[rng.random(n) < 0.15, "a"] = np.nan
    X.loc[rng.random(n) < 0.1, "d"] = np.nan
    X.loc[rng.random(n) < 0.2, "c"] = 0.0
    X.loc[rng.random(n) < 0.05, "b"] = np.nan
    logit = (np.nan_to_num(X["a"].to_numpy()) + X["c"] * X["e"] + np.isin(X["b"], list("pst")) - 0.5 * X["f"]
             + 0.3 * np.nan_to_num(X["d"].to_numpy(), nan=2.0))
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    return X, y


def _check(booster: lgb.Booster, X: pd.DataFrame) -> None:
    values, base = tree_shap(booster, X)
    ref = np.asarray(booster.predict(X, pred_contrib=True))
    raw = np.asarray(booster.predict(X, raw_score=True))
    assert np.abs(values - ref[:, :-1]).max() < TOL
    assert np.abs(base - ref[:, -1]).max() < TOL
    assert np.abs(values.sum(axis=1) + base - raw).max() < TOL


@pytest.mark.parametrize("depth", range(3, 13))
def test_equals_pred_contrib_at_every_depth(depth: int) -> None:
    X, y = _frame(2500, seed=depth)
    params = {"objective": "binary", "max_depth": depth, "num_leaves": min(2 ** depth, 255), "min_data_in_leaf": 2,
              "min_data_per_group": 2, "cat_smooth": 1.0, "max_cat_to_onehot": 2 if depth % 2 else 16,
              "learning_rate": 0.3, "verbose": -1, "num_threads": 1, "seed": depth}
    booster = lgb.train(params, lgb.Dataset(X, y), num_boost_round=4)
    if depth >= 8:  # deep enough that some leaves split on a feature twice and paths are long
        assert max(t["num_leaves"] for t in booster.dump_model()["tree_info"]) > 100
    _check(booster, X)


@pytest.mark.parametrize("options", [
    {"zero_as_missing": True},
    {"use_missing": False},
    {"monotone_constraints": [1, 0, -1, 1, 0, -1], "monotone_constraints_method": "advanced"},
    {"min_data_in_leaf": 2000},   # every tree a single leaf: the base value only
], ids=["zero-as-missing", "no-missing", "monotone", "constant-trees"])
def test_equals_pred_contrib_for_missing_value_rules_and_constraints(options: dict[str, object]) -> None:
    X, y = _frame(2000, seed=7)
    params = {"objective": "binary", "num_leaves": 31, "min_data_in_leaf": 5, "verbose": -1, "num_threads": 1,
              "learning_rate": 0.3, **options}
    booster = lgb.train(params, lgb.Dataset(X, y), num_boost_round=5)
    _check(booster, X)


def test_unseen_levels_and_other_frames_decide_as_lightgbm() -> None:
    X, y = _frame(2000, seed=11)
    booster = lgb.train({"objective": "binary", "num_leaves": 15, "verbose": -1, "num_threads": 1,
                         "min_data_per_group": 2, "cat_smooth": 1.0}, lgb.Dataset(X, y), num_boost_round=5)
    other, _ = _frame(300, seed=12)
    other["b"] = other["b"].cat.set_categories(["zz", *reversed(list("pqrstuvwxyz"))])   # reordered + unseen
    other.loc[other.index[:20], "b"] = "zz"
    _check(booster, other)
    codes = lightgbm_matrix(booster, other)[:, 1]
    assert np.isnan(codes[:20]).all()
    _check(booster, X.iloc[:1])            # one row: the path a served request takes


def test_deep_trees_fall_back_to_pred_contrib_and_say_so(caplog: pytest.LogCaptureFixture) -> None:
    X, y = _frame(2000, seed=5)
    booster = lgb.train({"objective": "binary", "num_leaves": 63, "min_data_in_leaf": 2, "verbose": -1,
                         "num_threads": 1}, lgb.Dataset(X, y), num_boost_round=4)
    narrow = compile_booster(booster, max_path_features=3)
    assert narrow.fallback == ((0, 4),)
    with caplog.at_level(logging.WARNING, logger="models.treeshap"):
        tables = compile_booster(booster, max_tree_entries=int(compile_booster(booster).tables.size // 4))
    assert tables.fallback and "too deep for the tables" in caplog.text
    import models.treeshap as ts
    ts._COMPILED[booster] = (booster.num_trees(), tables)
    _check(booster, X)          # the table trees and the pred_contrib trees together


# -- every model shape poolgate fits ---------------------------------------------------------------
def _reference(model: LeaseModel, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The explanation as LightGBM's pred_contrib and the partner's additive terms give it."""
    w, v = model.blend_weight, model.partner_weight
    values, base = np.zeros(X.shape), np.zeros(len(X))
    if w > 0:
        ref = np.asarray(model.booster.predict(X, pred_contrib=True))
        values, base = values + w * ref[:, :-1], base + w * ref[:, -1]
    parts = [(v, model.linear if model.partner == "linear" else model.scorecard)]
    if hasattr(model, "linear_weight"):  # a stack weighs both additive parts
        parts = [(model.linear_weight, model.linear), (model.scorecard_weight, model.scorecard)]
    for weight, part in parts:
        if weight > 0 and part is not None:
            terms = part.contributions(X).reindex(columns=model.feature_names, fill_value=0.0).to_numpy()
            values, base = values + weight * terms, base + weight * float(part.intercept_)
    return values, base


@pytest.fixture(scope="module")
def shapes(fitted: Fitted) -> dict[str, LeaseModel]:
    m = fitted.model
    X = m.transform(fitted.train)
    linear = LinearScorecard(directions=m.spec.directions).fit(X, fitted.y_train)
    based = fit_lease_model(fitted.train, fitted.y_train, fitted.valid, fitted.y_valid,
                            params={"n_jobs": 1, "n_estimators": 30}, linear_base=True)
    return {
        "trees": m,
        "trees on the logistic regression": based,
        "blend with the scorecard": LeaseModel(m.builder, m.booster, m.calibration, m.scaling, m.scorecard,
                                               blend_weight=0.6),
        "blend with the logistic regression": LeaseModel(m.builder, m.booster, m.calibration, m.scaling,
                                                         linear=linear, partner="linear", blend_weight=0.7),
        "scorecard alone": LeaseModel(m.builder, m.booster, m.calibration, m.scaling, m.scorecard, blend_weight=0.0),
    }


_KINDS = {"trees": "boosted trees", "trees on the logistic regression": "trees boosted on the logistic regression",
          "blend with the scorecard": "blend with the scorecard", "blend with the logistic regression":
          "blend with the linear", "scorecard alone": "scorecard"}


@pytest.mark.parametrize("shape", ["trees", "trees on the logistic regression", "blend with the scorecard",
                                   "blend with the logistic regression", "scorecard alone"])
def test_every_model_shape_explains_as_before(shapes: dict[str, LeaseModel], fitted: Fitted, shape: str) -> None:
    model = shapes[shape]
    assert model.model_kind == _KINDS[shape]
    X = model.transform(fitted.test)
    got = model.explain_inputs(X)
    values, base = _reference(model, X)
    assert np.abs(got.contributions.to_numpy() - values).max() < TOL
    assert np.abs(got.base_value - base).max() < TOL
    assert np.abs(got.raw_score - model.raw_score_inputs(X)).max() < TOL
    assert list(got.contributions.columns) == model.feature_names


def test_contributions_use_the_tables(fitted: Fitted, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default model's explanation does not call pred_contrib at all."""
    booster = fitted.model.booster
    X = fitted.model.transform(fitted.test.iloc[:50])
    calls: list[dict[str, object]] = []
    original = lgb.Booster.predict

    def spy(self: lgb.Booster, data: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(dict(kwargs))
        return original(self, data, *args, **kwargs)

    monkeypatch.setattr(lgb.Booster, "predict", spy)
    out = contributions(booster, X)
    assert not [c for c in calls if c.get("pred_contrib")]
    assert out.contributions.shape == X.shape


# -- the hand-over to shap --------------------------------------------------------------------------
def test_shap_explanation_hands_over_values_names_and_inputs(fitted: Fitted) -> None:
    import matplotlib
    import shap

    model = fitted.model
    records = fitted.test.iloc[:40]
    e = model.shap_explanation(records)
    ours = model.explain(records)
    assert isinstance(e, shap.Explanation)
    np.testing.assert_array_equal(e.values, ours.contributions.to_numpy())
    np.testing.assert_array_equal(e.base_values, ours.base_value)
    assert e.values.sum(axis=1) + e.base_values == pytest.approx(model.raw_score(records), abs=TOL)
    display = {f.name: f.display_en for f in model.spec.features}
    assert list(e.feature_names) == [display.get(n, n) for n in model.feature_names]
    X = model.transform(records)
    numeric = [i for i, c in enumerate(X.columns) if pd.api.types.is_numeric_dtype(X[c])]
    np.testing.assert_array_equal(e.data[:, numeric], X.iloc[:, numeric].to_numpy(dtype=float))
    assert len(e.display_data) == 40
    assert model.shap_explanation(records, language="zh").feature_names[0] == model.spec.features[0].display_zh \
        or model.feature_names[0] not in display
    with pytest.raises(Exception, match="language must be 'en' or 'zh'; got 'fr'"):
        model.shap_explanation(records, language="fr")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shap.plots.waterfall(e[0], show=False)          # the few lines a user writes
    shap.plots.beeswarm(e, show=False)
    plt.close("all")


def test_the_environment_can_send_every_tree_to_pred_contrib(fitted: Fitted, monkeypatch: pytest.MonkeyPatch) -> None:
    X = fitted.model.transform(fitted.test.iloc[:30])
    tables, base = tree_shap(fitted.model.booster, X)
    monkeypatch.setenv("POOLGATE_TREESHAP", "pred_contrib")
    calls: list[bool] = []
    original = lgb.Booster.predict

    def spy(self: lgb.Booster, data: Any, **kwargs: Any) -> Any:
        calls.append(bool(kwargs.get("pred_contrib")))
        return original(self, data, **kwargs)

    monkeypatch.setattr(lgb.Booster, "predict", spy)
    values, base2 = tree_shap(fitted.model.booster, X)
    assert calls and all(calls)
    assert np.abs(values - tables).max() < TOL and np.abs(base2 - base).max() < TOL


def test_without_a_writable_numba_cache_the_kernel_compiles_in_memory(
        fitted: Fitted, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import numba

    import models.treeshap as ts

    real = numba.njit

    def no_cache(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("cache"):
            raise RuntimeError("cannot cache function '_explain_rows': no locator available for file")
        return real(*args, **kwargs)

    monkeypatch.setattr(numba, "njit", no_cache)
    monkeypatch.setattr(ts, "_KERNELS", None)
    X = fitted.model.transform(fitted.test.iloc[:20])
    with caplog.at_level(logging.WARNING, logger="models.treeshap"):
        values, _ = tree_shap(fitted.model.booster, X)
    assert "numba cannot cache explain" in caplog.text and "NUMBA_CACHE_DIR" in caplog.text
    ref = np.asarray(fitted.model.booster.predict(X, pred_contrib=True))
    assert np.abs(values - ref[:, :-1]).max() < TOL


def test_tables_built_a_few_leaves_at_a_time_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    import models.treeshap as ts

    X, y = _frame(1500, seed=21)
    booster = lgb.train({"objective": "binary", "num_leaves": 63, "min_data_in_leaf": 3, "verbose": -1,
                         "num_threads": 1}, lgb.Dataset(X, y), num_boost_round=3)
    whole = compile_booster(booster).tables
    monkeypatch.setattr(ts, "_FILL_ENTRIES", 64)
    np.testing.assert_array_equal(compile_booster(booster).tables, whole)
