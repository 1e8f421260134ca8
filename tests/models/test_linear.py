"""The additive logistic regression of the small-sample recipe: fit, exact contributions, storage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from features.exceptions import ConfigError, NotFittedError, TapeError
from models import LeaseModel, LinearScorecard
from tests.models.conftest import Fitted
from tests.models.sweep import monotone_violations


def _data(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({
        "rate": rng.normal(0.08, 0.03, n),
        "income": np.where(rng.uniform(size=n) < 0.1, np.nan, rng.normal(10_000, 3_000, n)),
        "region": pd.Categorical(rng.choice(["north", "south", "west", "rare"], n, p=[0.4, 0.3, 0.298, 0.002])),
    })
    logit = (-2.5 + 30 * (x["rate"] - 0.08) - 0.0001 * (x["income"].fillna(10_000) - 10_000)
             + 0.8 * (x["region"] == "south") + 0.6 * x["income"].isna())
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int).to_numpy()
    return x, y


def test_contributions_add_up_and_unseen_levels_count_as_rare() -> None:
    x, y = _data(4_000, 1)
    model = LinearScorecard(directions={"rate": 1, "income": -1}).fit(x, y)
    new = x.iloc[:50].copy()
    new["region"] = new["region"].cat.add_categories(["never seen"])
    new.iloc[0, new.columns.get_loc("region")] = "never seen"
    new.iloc[1, new.columns.get_loc("region")] = np.nan
    c = model.contributions(new)
    assert list(c.columns) == ["rate", "income", "region"]
    np.testing.assert_allclose(c.sum(axis=1) + model.intercept_, model.decision_function(new), atol=1e-12)
    terms = {t["name"]: t for t in model.terms_}
    # a level never seen at fit counts as a rare one (contributions are measured from the training average)
    assert c["region"].iloc[0] == pytest.approx(terms["region"]["other"] - terms["region"]["offset"])
    assert "rare" not in terms["region"]["levels"] and terms["region"]["has_other"]  # 8 rows < 10
    assert terms["region"]["levels"]["south"] > terms["region"]["levels"]["north"]
    assert terms["rate"]["coef"] > 0 and terms["income"]["coef"] < 0 and terms["income"]["missing_coef"] > 0
    xt, yt = _data(4_000, 2)
    assert roc_auc_score(yt, model.predict_pd(xt)) > 0.70


def test_a_coefficient_against_its_risk_direction_is_dropped() -> None:
    x, y = _data(4_000, 3)
    model = LinearScorecard(directions={"rate": -1, "income": -1}).fit(x, y)  # rate really raises the risk
    assert model.dropped_ == ["rate"]
    assert {t["name"]: t for t in model.terms_}["rate"]["coef"] == 0.0
    grid = x.iloc[:100]
    violations = monotone_violations(model.predict_pd, grid, {"rate": [0.0, 0.2], "income": [2_000, 20_000]},
                                     {"rate": -1, "income": -1})
    assert violations == {"rate": 0, "income": 0}



def test_extreme_amounts_are_held_within_the_training_quantiles_and_a_rare_flag_is_kept() -> None:
    rng = np.random.default_rng(7)
    n = 6_000
    util = rng.beta(2, 5, n)
    util[rng.choice(n, 30, replace=False)] = rng.uniform(1_000, 50_000, 30)  # amounts typed into a ratio
    flag = (rng.uniform(size=n) < 0.003).astype(float)  # 0.3 % of the rows: below the clipped share
    logit = -2.5 + 4 * np.minimum(util, 1.0) + 2.0 * flag
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    x = pd.DataFrame({"util": util, "flag": flag})
    model = LinearScorecard(directions={"util": 1, "flag": 1}).fit(x, y)
    terms = {t["name"]: t for t in model.terms_}
    assert terms["util"]["high"] == pytest.approx(np.quantile(util, 0.995)) and terms["util"]["high"] < 1_000
    assert "low" not in terms["flag"] and terms["flag"]["coef"] > 0  # two values: never clipped
    # beyond the bounds the input no longer moves the log-odds, and the contributions still add up
    wide = x.iloc[:3].assign(util=[0.5, terms["util"]["high"], 49_000.0])
    c = model.contributions(wide)
    assert c["util"].iloc[2] == pytest.approx(c["util"].iloc[1]) and c["util"].iloc[1] > c["util"].iloc[0]
    np.testing.assert_allclose(c.sum(axis=1) + model.intercept_, model.decision_function(wide), atol=1e-12)
    xt = pd.DataFrame({"util": rng.beta(2, 5, n), "flag": (rng.uniform(size=n) < 0.003).astype(float)})
    yt = (rng.uniform(size=n) < 1 / (1 + np.exp(-(-2.5 + 4 * xt["util"] + 2.0 * xt["flag"])))).astype(int)
    assert roc_auc_score(yt, model.decision_function(xt)) > 0.65
    # a model stored before the bounds existed is read as it was fitted: unclipped
    stored = model.to_dict()
    stored["terms"] = [{k: v for k, v in t.items() if k not in ("low", "high")} for t in stored["terms"]]
    old = LinearScorecard.from_dict(stored).contributions(wide)
    assert old["util"].iloc[2] > 1_000 * abs(old["util"].iloc[0] - old["util"].iloc[1]) > 0

def test_stored_as_json_and_read_back_exactly() -> None:
    x, y = _data(2_000, 4)
    model = LinearScorecard(directions={"rate": 1}).fit(x, y)
    back = LinearScorecard.from_dict(json.loads(json.dumps(model.to_dict())))
    np.testing.assert_array_equal(back.decision_function(x), model.decision_function(x))
    assert back.C_ == model.C_
    with pytest.raises(ConfigError, match="not a stored LinearScorecard"):
        LinearScorecard.from_dict({"format": "something else"})


def test_bad_input_and_use_before_fit_fail_clearly() -> None:
    x, y = _data(500, 5)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        LinearScorecard().decision_function(x)
    with pytest.raises(TapeError, match="need 500 labels of 0/1 with both classes"):
        LinearScorecard().fit(x, np.zeros(500))
    with pytest.raises(ConfigError, match="C must be > 0"):
        LinearScorecard(C=0).fit(x, y)
    model = LinearScorecard(C=1.0).fit(x, y)
    with pytest.raises(TapeError, match=r"missing model-input columns \['region'\]"):
        model.contributions(x.drop(columns="region"))


def test_bundle_with_the_linear_model_alone_explains_and_round_trips(fitted: Fitted, tmp_path) -> None:
    m = fitted.model
    x_train = m.transform(fitted.train)
    linear = LinearScorecard(directions=m.spec.directions).fit(x_train, fitted.y_train)
    model = LeaseModel(m.builder, m.booster, m.calibration, m.scaling, m.scorecard, m.metadata,
                       blend_weight=0.0, linear=linear, partner="linear")
    records = fitted.test.iloc[:500]
    X = model.transform(records)
    np.testing.assert_allclose(model.raw_score(records), linear.decision_function(X), atol=1e-12)
    e = model.explain(records)
    assert list(e.contributions.columns) == model.feature_names and e.base_value.shape == (len(records),)
    np.testing.assert_allclose(e.contributions.sum(axis=1).to_numpy() + e.base_value, model.raw_score(records),
                               atol=1e-6, rtol=0)
    violations = monotone_violations(model.predict_pd_inputs, X.iloc[:200], m.builder.ranges_, m.spec.directions)
    assert violations == {name: 0 for name in violations}
    model.save(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "bundle.json").read_text())["partner"] == "linear"
    back = LeaseModel.load(tmp_path / "m")
    assert back.partner == "linear" and back.model_kind == "linear"
    np.testing.assert_array_equal(back.predict_pd(records), model.predict_pd(records))
    half = LeaseModel(m.builder, m.booster, m.calibration, linear=linear, partner="linear", blend_weight=0.5)
    e = half.explain(records)
    np.testing.assert_allclose(e.contributions.sum(axis=1).to_numpy() + e.base_value, half.raw_score(records),
                               atol=1e-6, rtol=0)
    with pytest.raises(ConfigError, match="blend_weight 0.5 and partner_weight 0.5 need a linear to blend with"):
        LeaseModel(m.builder, m.booster, m.calibration, partner="linear", blend_weight=0.5)
    with pytest.raises(ConfigError, match="partner must be one of"):
        LeaseModel(m.builder, m.booster, m.calibration, partner="forest")
    with pytest.raises(ConfigError, match="every weight is 0"):
        LeaseModel(m.builder, m.booster, m.calibration, linear=linear, partner="linear", blend_weight=0.0,
                   partner_weight=0.0)


def test_trees_boosted_on_the_linear_model_explain_exactly_and_round_trip(fitted: Fitted, tmp_path) -> None:
    from models import fit_lease_model

    model = fit_lease_model(fitted.train, fitted.y_train, fitted.valid, fitted.y_valid,
                            params={"n_estimators": 300, "early_stopping_rounds": 30, "n_jobs": 1},
                            linear_base=True)
    assert (model.partner, model.blend_weight, model.partner_weight) == ("linear", 1.0, 1.0)
    assert model.model_kind == "trees boosted on the logistic regression" and model.linear is not None
    records = fitted.test.iloc[:800]
    X = model.transform(records)
    np.testing.assert_allclose(model.raw_score(records),
                               model.linear.decision_function(X) + model.booster.predict(X, raw_score=True),
                               atol=1e-12)
    e = model.explain(records)
    np.testing.assert_allclose(e.contributions.sum(axis=1).to_numpy() + e.base_value, model.raw_score(records),
                               atol=1e-6, rtol=0)
    violations = monotone_violations(model.predict_pd_inputs, X.iloc[:200], model.builder.ranges_,
                                     model.spec.directions)
    assert violations == {name: 0 for name in violations}
    assert roc_auc_score(fitted.y_test, model.predict_pd(fitted.test)) > 0.70
    model.save(tmp_path / "m")
    stored = json.loads((tmp_path / "m" / "bundle.json").read_text())
    assert (stored["partner"], stored["partner_weight"], stored["blend_weight"]) == ("linear", 1.0, 1.0)
    assert stored["format"] == "poolgate.LeaseModel/2"  # an older reader refuses it instead of scoring trees alone
    back = LeaseModel.load(tmp_path / "m")
    np.testing.assert_array_equal(back.predict_pd(records), model.predict_pd(records))
    with pytest.raises(ConfigError, match=r"partner_weight must be within \[0, 1\]; got 1.5"):
        LeaseModel(model.builder, model.booster, model.calibration, linear=model.linear, partner="linear",
                   partner_weight=1.5)


def test_a_constant_input_and_the_categorical_reference_are_safe() -> None:
    x, y = _data(3_000, 6)
    x["flat"] = 0.7  # never varies at fit: its rounding "spread" must not become a scale
    model = LinearScorecard(directions={"rate": 1}).fit(x, y)
    new = x.iloc[:20].copy()
    new["flat"] = 0.8
    assert np.abs(model.contributions(new)["flat"]).max() < 1e-6
    assert np.isfinite(model.decision_function(new)).all()
    # every contribution is measured from the training average: each column averages 0 there
    c = model.contributions(x)
    np.testing.assert_allclose(c.mean().to_numpy(), 0.0, atol=1e-9)
    assert model.intercept_ == pytest.approx(float(model.decision_function(x).mean()), abs=1e-9)
    # a level literally written "(other)" or "(missing)" is an ordinary level
    z = x.copy()
    z["region"] = z["region"].cat.rename_categories({"west": "(missing)", "north": "(other)"})
    plain = LinearScorecard(C=model.C_).fit(x, y)
    renamed = LinearScorecard(C=model.C_).fit(z, y)
    np.testing.assert_allclose(renamed.decision_function(z), plain.decision_function(x), atol=1e-9)


def test_refit_keeps_the_chosen_complexity_and_fits_on_all_rows(fitted: Fitted) -> None:
    from models import fit_lease_model

    params = {"n_estimators": 300, "early_stopping_rounds": 30, "n_jobs": 1}
    once = fit_lease_model(fitted.train, fitted.y_train, fitted.valid, fitted.y_valid, params=params,
                           linear_base=True)
    again = fit_lease_model(fitted.train, fitted.y_train, fitted.valid, fitted.y_valid, params=params,
                            linear_base=True, refit=True)
    assert once.linear is not None and again.linear is not None
    # the validation part chose the penalty and the number of trees; the refit keeps both ...
    assert again.linear.C_ == once.linear.C_
    assert again.booster.num_trees() == once.booster.num_trees() == once.metadata["best_iteration"]
    assert again.metadata["n_refit"] == len(fitted.train) + len(fitted.valid) and "n_refit" not in once.metadata
    # ... and the validation PDs reported stay those of the fit that had not seen those rows
    np.testing.assert_allclose(again.validation_pd_, once.predict_pd(fitted.valid), atol=1e-12)
    # the refitted logistic regression is the one fitted on both parts with the penalty kept
    both = pd.concat([fitted.train, fitted.valid], ignore_index=True)
    X_both, y_both = again.transform(both), np.concatenate([fitted.y_train, fitted.y_valid])
    by_hand = LinearScorecard(directions=again.spec.directions, C=once.linear.C_).fit(X_both, y_both)
    np.testing.assert_allclose(again.linear.decision_function(X_both), by_hand.decision_function(X_both),
                               atol=1e-10)
    assert not np.allclose(again.linear.decision_function(X_both), once.linear.decision_function(X_both))
    trees_only = fit_lease_model(fitted.train, fitted.y_train, fitted.valid, fitted.y_valid, params=params,
                                 refit=True, with_scorecard=True)
    assert trees_only.linear is None and trees_only.metadata["n_refit"] == len(both)
    assert trees_only.scorecard is not None
    assert roc_auc_score(fitted.y_test, again.predict_pd(fitted.test)) > 0.70
    e = again.explain(fitted.test.iloc[:300])
    np.testing.assert_allclose(e.contributions.sum(axis=1).to_numpy() + e.base_value,
                               again.raw_score(fitted.test.iloc[:300]), atol=1e-6, rtol=0)


def test_refit_learns_categorical_levels_on_all_rows(fitted: Fitted, tmp_path: Path) -> None:
    from features.pipeline import FeatureBuilder
    from models import fit_lease_model

    train, valid = fitted.train.copy(), fitted.valid.copy()
    train.loc[train.index[:6], "vehicle_make"] = "Rare Make"  # 6 + 6 rows: rare in either part, not in both
    valid.loc[valid.index[:6], "vehicle_make"] = "Rare Make"
    params = {"n_estimators": 200, "early_stopping_rounds": 30, "n_jobs": 1}
    once, again = (fit_lease_model(train, fitted.y_train, valid, fitted.y_valid, params=params, linear_base=True,
                                   min_level_count=10, with_scorecard=True, refit=refit) for refit in (False, True))
    assert "Rare Make" not in once.builder.categories_["vehicle_make"]
    assert "Rare Make" in again.builder.categories_["vehicle_make"]
    assert again.linear is not None and "Rare Make" in again.linear.terms_[
        [t["name"] for t in again.linear.terms_].index("vehicle_make")]["levels"]
    assert again.metadata["refit_levels"] is True and "refit_levels" not in once.metadata
    # the trees were fitted on the refitted builder's columns and levels
    assert again.booster.feature_name() == again.feature_names
    cats = [again.builder.categories_[n] for n in again.spec.categorical]
    assert again.booster.pandas_categorical == cats
    # the calibration and the validation PDs are still those of the first fit
    assert again.calibration == once.calibration
    np.testing.assert_allclose(again.validation_pd_, once.predict_pd(valid), atol=1e-12)
    # train's path: the builder fitted for the search is handed over, and the refit replaces it
    handed = FeatureBuilder(once.spec, min_level_count=10).fit(train)
    same = fit_lease_model(train, fitted.y_train, valid, fitted.y_valid, params=params, linear_base=True,
                           with_scorecard=True, refit=True, builder=handed)
    assert same.builder is not handed and same.builder.categories_ == again.builder.categories_
    assert same.booster.model_to_string() == again.booster.model_to_string()
    # and the bundle reloads with the refitted levels
    again.save(tmp_path / "m")
    loaded = LeaseModel.load(tmp_path / "m")
    rare = pd.concat([valid.iloc[:6], fitted.test.iloc[:200]])
    np.testing.assert_allclose(loaded.predict_pd(rare), again.predict_pd(rare), atol=1e-12)


def test_refit_inputs_are_checked(fitted: Fitted) -> None:
    from models.linear import fit_boosted_trees

    x_fit, x_val = fitted.model.transform(fitted.train), fitted.model.transform(fitted.valid)
    params = {"n_estimators": 20, "n_jobs": 1}
    dirs = fitted.model.spec.directions
    with pytest.raises(ValueError, match="X_refit is only used with refit=True"):
        fit_boosted_trees(params, x_fit, fitted.y_train, x_val, fitted.y_valid, directions=dirs,
                          X_refit=pd.concat([x_fit, x_val], ignore_index=True))
    with pytest.raises(ValueError, match="X_refit must hold the 4500 rows of X_fit and X_valid with their columns"):
        fit_boosted_trees(params, x_fit, fitted.y_train, x_val, fitted.y_valid, directions=dirs, refit=True,
                          X_refit=pd.concat([x_fit, x_val], ignore_index=True).iloc[:, 1:])
