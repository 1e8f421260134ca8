"""poolgate evaluate: the recipe and its challengers on a small seeded tape read through a mapping."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.exceptions import ConfigError
from features.mapping import MappedTape, apply_mapping, mapping_from_dict
from training.evaluate import (
    CHALLENGERS,
    EvaluateConfig,
    MappedInputs,
    evaluate_cv,
    evaluate_holdout,
    fit_recipe,
    labelled,
    out_of_range,
)
from training.metrics import auc, auc_gap

MAPPING = {
    "name": "toy",
    "target": "bad",
    "fields": {"bureau_score": "score", "annual_rate": {"column": "rate_pct", "scale": 0.01}},
    "features": {"pti": {"kind": "numeric", "monotone": 1}, "region code": {"kind": "categorical"}},
}
FAST = EvaluateConfig(folds=3, min_level_count=5, max_rounds=150, early_stopping_rounds=20, num_threads=1)


def _tape_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    score = rng.normal(650, 60, n).clip(300, 900)
    pti = rng.uniform(0.02, 0.5, n)
    rate = rng.uniform(3, 20, n)
    logit = -1.5 + 5 * (pti - 0.25) - 0.015 * (score - 650) + 0.08 * (rate - 10)
    bad = rng.random(n) < 1 / (1 + np.exp(-logit))
    region = rng.choice([f"R{i}" for i in range(40)], n)
    return pd.DataFrame({"score": score.round().astype(int).astype(str), "rate_pct": rate.round(2).astype(str),
                         "pti": pti.round(4).astype(str), "region code": region, "bad": bad.astype(int).astype(str)})


def _tape(n: int = 700, seed: int = 1):
    return apply_mapping(_tape_frame(n, seed), mapping_from_dict(MAPPING, origin="toy"))


def test_inputs_are_the_computable_spec_features_plus_the_extras() -> None:
    tape = _tape(300)
    inputs = MappedInputs(extras=tape.mapping.features, min_level_count=12).fit(tape.records)
    assert inputs.feature_names_out_ == ["bureau_score", "thin_file", "annual_rate", "x_pti", "x_region_code"]
    assert inputs.directions_["x_pti"] == 1 and inputs.directions_["bureau_score"] == -1
    assert inputs.categorical_ == ["x_region_code"]
    x = inputs.transform(tape.records)
    assert isinstance(x["x_region_code"].dtype, pd.CategoricalDtype)
    rare = tape.records["region code"].map(tape.records["region code"].value_counts()) < 12
    assert x.loc[rare.to_numpy(), "x_region_code"].isna().all()  # rare levels become missing


def test_holdout_reports_the_recipe_the_challengers_and_the_selection() -> None:
    out = evaluate_holdout(_tape(700, 1), _tape(400, 2), seed=0, config=FAST)
    for key in ("auc_test", "ks_test", "gini_test", "brier_test", "n_train", "n_test"):
        assert key in out
    assert out["n_train"] == 700 and out["n_test"] == 400
    assert out["auc_test"] > 0.65  # the toy signal is strong
    assert set(out["challengers"]) == set(CHALLENGERS)
    assert all(0.5 < m["auc_test"] <= 1 for m in out["challengers"].values())
    sel = out["selection"]
    assert sel["scheme"]["kind"] == "stratified_kfold"  # no origination dates mapped
    names = {c["name"] for c in sel["candidates"]}
    assert {"linear", "woe", "lightgbm_default"} <= names and sel["winner"] in names  # challengers, directed
    assert all(0.5 < c["auc"] <= 1 and c["log_loss"] > 0 for c in sel["candidates"])
    assert out["direction_cost"] == sel["direction_cost"] and isinstance(out["direction_cost_test"], float)
    for m in out["challengers"].values():  # each challenger against the recipe, paired on the same test rows
        assert m["gap_to_recipe_test"] == pytest.approx(m["auc_test"] - out["auc_test"], abs=2e-6)
        assert 0 < m["gap_to_recipe_se_test"] < 0.05


def test_the_price_of_the_directions_is_measured_on_the_test_rows() -> None:
    # pti raises risk in the toy; declared the other way, freeing the directions must gain on the test rows
    wrong = {**MAPPING, "features": {**MAPPING["features"], "pti": {"kind": "numeric", "monotone": -1}}}
    train = apply_mapping(_tape_frame(900, 11), mapping_from_dict(wrong, origin="toy"))
    test = apply_mapping(_tape_frame(600, 12), mapping_from_dict(wrong, origin="toy"))
    out = evaluate_holdout(train, test, seed=0, config=replace(FAST, challengers=False))
    assert out["direction_cost_test"] > 0.02 and out["direction_cost"] > 0.02
    binding = {d["input"]: d for d in out["selection"]["directions_binding"]}
    assert binding["x_pti"]["direction"] == -1 and binding["x_pti"]["price"] > 0.02  # named, with its price
    assert out["seconds"]["directions_freed"] > 0
    # the same figure by hand: the winner's parts freed, fitted on the training rows, scored on the test rows
    records, y, _ = labelled(train, "train")
    recipe = fit_recipe(records, y, extras=train.mapping.features, seed=0, config=replace(FAST, challengers=False))
    rec_test, y_test, _ = labelled(test, "test")
    freed = recipe.directions_freed(records, y)
    assert freed is not None
    by_hand = auc(y_test, freed(rec_test)) - auc(y_test, recipe.predict_pd(rec_test))
    assert out["direction_cost_test"] == pytest.approx(by_hand, abs=1e-6)
    _, var = auc_gap(y_test, freed(rec_test), recipe.predict_pd(rec_test))
    assert out["direction_cost_test_se"] == pytest.approx(np.sqrt(var), abs=1e-6) and 0 < np.sqrt(var) < 0.02
    assert out["direction_cost_se"] == out["selection"]["direction_cost_se"] > 0
    # freed, the score rises with pti; the recipe keeps the declared direction (wrong here)
    row = rec_test.iloc[[0] * 20].reset_index(drop=True).assign(pti=np.linspace(0.1, 0.6, 20))
    assert freed(row)[-1] > freed(row)[0] and recipe.predict_pd(row)[-1] <= recipe.predict_pd(row)[0] + 1e-12


def test_mapped_origination_dates_make_the_validation_time_ordered() -> None:
    frame = _tape_frame(900, 7)
    frame["opened"] = pd.date_range("2018-01-01", periods=900, freq="D").strftime("%Y-%m-%d")
    mapping = {**MAPPING, "fields": {**MAPPING["fields"], "origination_date": {"column": "opened",
                                                                             "date_format": "%Y-%m-%d"}}}
    tape = apply_mapping(frame, mapping_from_dict(mapping, origin="toy"))
    out = evaluate_holdout(tape, _tape(300, 8), seed=0, config=replace(FAST, challengers=False))
    scheme = out["selection"]["scheme"]
    assert scheme["kind"] == "rolling_origin" and scheme["folds"] == 4
    assert 520 <= scheme["validation_rows"] <= 560  # the latest 60 % of the 900 rows
    big = evaluate_holdout(tape, _tape(300, 8), seed=0, config=replace(FAST, challengers=False, cv_below_rows=0))
    assert big["selection"]["scheme"]["kind"] == "time_holdout" and big["selection"]["scheme"]["folds"] == 1


def test_the_model_learns_levels_on_all_training_rows() -> None:
    frame = _tape_frame(800, 5)
    y = frame["bad"].astype(int).to_numpy()
    frame.loc[:11, "region code"] = "R99"  # 12 rows: enough in all rows, too few in any one fold's fitting part
    tape = apply_mapping(frame, mapping_from_dict(MAPPING, origin="toy"))
    recipe = fit_recipe(tape.records, y, extras=tape.mapping.features, seed=0,
                        config=replace(FAST, min_level_count=10))
    assert recipe.n_fit == 800 and "R99" in recipe.inputs.builder_.categories_["x_region_code"]
    names = [t["name"] for t in recipe.selection.linear.terms_]
    assert "R99" in recipe.selection.linear.terms_[names.index("x_region_code")]["levels"]
    assert recipe.selection.booster.feature_name() == recipe.inputs.feature_names_out_
    with pytest.raises(ConfigError, match="inner_folds must be a whole number >= 2; got 1"):
        EvaluateConfig(inner_folds=1)


def test_cross_validation_nests_the_search_in_each_fold() -> None:
    out = evaluate_cv(_tape(600, 3), seed=0, config=FAST)
    assert len(out["folds"]) == 3 and sum(f["n_test"] for f in out["folds"]) == 600
    assert {"auc_mean", "auc_std", "ks_mean"} <= set(out)
    assert out["auc_mean"] == pytest.approx(np.mean([f["auc"] for f in out["folds"]]), abs=1e-6)
    assert set(out["challengers"]["woe_scorecard"]) >= {"auc_mean", "auc_std", "ks_mean"}
    assert out["seconds"]["recipe"] == pytest.approx(sum(f["seconds"]["recipe"] for f in out["folds"]), abs=0.05)
    assert out["seconds"]["recipe"] > 0 and out["seconds"]["challengers"] > 0
    assert sum(out["selection"]["winners"].values()) == 3 and out["selection"]["scheme"] == "stratified_kfold"
    assert all(f["selection"]["winner"] in out["selection"]["winners"] for f in out["folds"])
    assert "linear" in out["selection"]["candidates_mean_validation_auc"]
    for name, m in out["challengers"].items():  # the folds' gaps to the recipe: their mean, and its error
        fold_gaps = [f["challengers"][name]["gap_to_recipe"] for f in out["folds"]]
        fold_ses = np.array([f["challengers"][name]["gap_to_recipe_se"] for f in out["folds"]])
        assert fold_gaps == pytest.approx([f["challengers"][name]["auc"] - f["auc"] for f in out["folds"]], abs=2e-6)
        assert m["gap_to_recipe_mean"] == pytest.approx(m["auc_mean"] - out["auc_mean"], abs=3e-6)
        assert m["gap_to_recipe_se"] == pytest.approx(np.sqrt(np.sum(fold_ses ** 2)) / 3, abs=2e-6)
        assert m["gap_to_recipe_se"] < fold_ses.max()  # three folds of rows: a third of the variance of one
    assert out["selection"]["directions_binding"] == []  # the toy's directions are right
    costs = [f["direction_cost_test"] for f in out["folds"]]  # the price on each fold's test rows, and its mean
    errors = np.array([f["direction_cost_test_se"] for f in out["folds"]])
    assert out["direction_cost_test_se"] == pytest.approx(np.sqrt(np.sum(errors ** 2)) / 3, abs=2e-6)
    assert out["direction_cost_test"] == pytest.approx(np.mean(costs), abs=1e-6)
    assert out["direction_cost"] == pytest.approx(
        np.mean([f["selection"]["direction_cost"] for f in out["folds"]]), abs=1e-6)
    val_errors = np.array([f["selection"]["direction_cost_se"] for f in out["folds"]])
    assert out["direction_cost_se"] == pytest.approx(val_errors.mean(), abs=1e-6)  # overlapping rows: a bound


def test_the_error_of_a_mean_on_overlapping_rows_is_bounded_by_the_mean_error() -> None:
    from training.evaluate import _overlapping_se

    rng = np.random.default_rng(0)
    common, own = rng.normal(size=(20_000, 1)), rng.normal(size=(20_000, 4))
    for share in (0.0, 0.5, 1.0):  # estimates that share nothing, half, everything
        draws = np.sqrt(share) * common + np.sqrt(1 - share) * own * np.array([1.0, 2.0, 0.5, 1.5])
        bound = _overlapping_se(list(draws.std(axis=0)))
        assert draws.mean(axis=1).std() <= bound + 0.01
    assert _overlapping_se([0.001, 0.003]) == 0.002
    assert _overlapping_se([0.001, None]) is None and _overlapping_se([]) is None


def test_a_gap_is_within_the_price_and_two_errors_and_a_negative_price_counts_as_none() -> None:
    from training.evaluate import within_price_and_noise

    assert within_price_and_noise(0.0048, 0.0012, 0.0032)        # Lending Club: 0.0048 <= 0.0032 + 0.0024
    assert not within_price_and_noise(0.0060, 0.0012, 0.0032)
    assert within_price_and_noise(0.0020, 0.0010, None) and not within_price_and_noise(0.0021, 0.0010, None)
    assert not within_price_and_noise(0.0021, 0.0010, -0.0444)  # directions that gain do not widen the margin


def test_the_folds_directions_that_bind_are_summed_up_by_input() -> None:
    from training.evaluate import _selection_summary

    def table(binding: list[tuple[str, int, float]]) -> dict[str, object]:
        return {"scheme": {"kind": "stratified_kfold"}, "winner": "linear", "direction_cost": 0.001,
                "candidates": [{"name": "linear", "auc": 0.7}],
                "directions_binding": [{"input": i, "direction": d, "price": p} for i, d, p in binding]}

    out = _selection_summary([table([("term", 1, 0.002), ("income", -1, 0.0005)]), table([("term", 1, 0.001)]),
                              table([("util", 1, 0.004)]), table([])])
    assert out["selection"]["directions_binding"] == [  # most folds first, then the dearest
        {"input": "term", "direction": 1, "folds": 2, "price_mean": 0.0015},
        {"input": "util", "direction": 1, "folds": 1, "price_mean": 0.004},
        {"input": "income", "direction": -1, "folds": 1, "price_mean": 0.0005}]


def test_features_left_out_are_logged_once_a_run(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="training.evaluate"):
        evaluate_cv(_tape(600, 3), seed=0, config=replace(FAST, challengers=True))
    said = [r.getMessage() for r in caplog.records if "features not computable" in r.getMessage()]
    assert len(said) == 1  # not once per fold and per challenger
    assert "payment_to_income" in said[0] and "bureau_score" not in said[0].split(": ", 1)[1].split(", ")


def test_unlabelled_rows_are_counted_and_a_missing_target_fails() -> None:
    frame = _tape_frame(300, 4)
    frame.loc[:9, "bad"] = ""
    tape = apply_mapping(frame, mapping_from_dict(MAPPING, origin="toy"))
    out = evaluate_cv(tape, seed=0, config=replace(FAST, challengers=False))
    assert out["n"] == 290 and out["n_unlabelled"] == 10 and "challengers" not in out
    untargeted = mapping_from_dict({k: v for k, v in MAPPING.items() if k != "target"}, origin="toy")
    no_target = apply_mapping(frame, untargeted)
    with pytest.raises(ConfigError, match="^tape: no target; name the default column"):
        evaluate_cv(no_target, config=FAST)
    with pytest.raises(ConfigError, match="^tape book.csv: no target; name the default column"):
        evaluate_cv(apply_mapping(frame, untargeted, source="book.csv"), config=FAST)
    with pytest.raises(ConfigError, match="folds must be a whole number >= 2; got 1"):
        EvaluateConfig(folds=1)


def test_a_fold_that_cannot_be_calibrated_is_named_with_the_tapes_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    import training.evaluate
    from models.calibration import CalibrationError

    def backwards(*args: object, **kwargs: object) -> None:
        raise CalibrationError("calibration: fitted slope b=-4.3 is not positive")

    monkeypatch.setattr(training.evaluate, "fit_recipe", backwards)
    tape = apply_mapping(_tape_frame(300, 4), mapping_from_dict(MAPPING, origin="toy"))
    defaults = int(training.evaluate.labelled(tape, "toy")[1].sum())
    with pytest.raises(CalibrationError) as caught:
        evaluate_cv(tape, seed=0, config=replace(FAST, challengers=False))
    said = str(caught.value)
    assert said.startswith("cross-validation fold 1 of ") and "b=-4.3 is not positive" in said
    assert "labelled rows, too few for the recipe to rank rows it was not fitted on" in said
    assert f"the tape holds {defaults} defaults in 300 labelled rows" in said



def test_a_positive_list_that_matches_no_target_value_names_the_values_the_target_holds() -> None:
    frame = _tape_frame(300, 4)
    frame["bad"] = np.where(frame["bad"] == "1", "Y", "N")
    tape = apply_mapping(frame, mapping_from_dict(MAPPING, origin="toy"))
    assert tape.target_values[0][0] == "n" and {v for v, _ in tape.target_values} == {"n", "y"}
    assert sum(n for _, n in tape.target_values) == 300
    with pytest.raises(ConfigError, match=r"no labelled row is a default: target bad holds 'n' x\d+, 'y' x\d+, "
                                          r"and positive = \[\"1\", \"true\"\] matches none of them"):
        evaluate_cv(tape, config=FAST)
    # the same tape read in chunks counts the values across them
    chunks = [apply_mapping(frame.iloc[i:i + 100], mapping_from_dict(MAPPING, origin="toy"), row_offset=i)
              for i in (0, 100, 200)]
    assert MappedTape.concat(chunks).target_values == tape.target_values
    named = apply_mapping(frame, mapping_from_dict({**MAPPING, "positive": ["Y"]}, origin="toy"))
    assert labelled(named, "tape")[1].sum() == (frame["bad"] == "Y").sum()

def test_sentinel_values_outside_a_fields_range_are_read_as_missing() -> None:
    frame = _tape_frame(600, 5)
    frame.loc[:99, "score"] = "0"  # "no bureau history", as some tapes write it
    frame.loc[100:104, "rate_pct"] = "99"  # 0.99 a year: a field that may not be empty keeps its value
    tape = apply_mapping(frame, mapping_from_dict(MAPPING, origin="toy"))
    records, counts = out_of_range(tape.records)
    assert counts == {"bureau_score": 100}
    assert (records["annual_rate"].iloc[100:105] == 0.99).all()
    assert records["bureau_score"].iloc[:100].isna().all() and records["bureau_score"].iloc[100:].notna().all()
    assert tape.records["bureau_score"].iloc[0] == 0  # the tape itself is left as read
    x = MappedInputs(extras=tape.mapping.features).fit(records).transform(records)
    assert (x["thin_file"].iloc[:100] == 1).all() and (x["thin_file"].iloc[100:] == 0).all()
    same, none = out_of_range(records)
    assert same is records and none == {}
    out = evaluate_cv(tape, seed=0, config=replace(FAST, challengers=False))
    assert out["out_of_range"] == {"bureau_score": 100} and out["n"] == 600
    # scores on a 0-1 scale are a unit problem, not sentinel codes: left as they are
    scaled = tape.records.assign(bureau_score=tape.records["bureau_score"] / 1000)
    assert out_of_range(scaled)[1] == {}


def test_cli_prints_one_json_object(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from poolgate.cli import main

    train, test, mapping = tmp_path / "train.csv", tmp_path / "test.csv", tmp_path / "toy.toml"
    _tape_frame(500, 5).to_csv(train, index=False)
    _tape_frame(300, 6).to_csv(test, index=False)
    mapping.write_text('target = "bad"\n[fields]\nbureau_score = "score"\n'
                       '[features]\npti = { kind = "numeric", monotone = 1 }\n', encoding="utf-8")
    code = main(["evaluate", "--tape", str(train), "--test-tape", str(test), "--mapping", str(mapping),
                 "--threads", "1", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mode"] == "holdout" and out["n_test"] == 300 and "lightgbm_default" in out["challengers"]
    assert main(["evaluate", "--tape", str(train), "--mapping", str(mapping), "--threads", "0"]) == 2
    assert "--threads must be at least 1; got 0" in capsys.readouterr().err
    # the table: each challenger's gap to the recipe and its error, and a challenger above the recipe by
    # more than the price of the directions on the test rows and two standard errors named
    import training.evaluate

    measured = {k: v for k, v in out.items() if k not in ("mode", "tape", "test_tape", "mapping", "seed",
                                                           "decode_problems", "absent_columns")}
    measured["direction_cost_test"] = 0.001
    measured["challengers"]["logistic_tuned"].update(gap_to_recipe_test=0.012, gap_to_recipe_se_test=0.005)
    measured["challengers"]["woe_scorecard"].update(gap_to_recipe_test=0.010, gap_to_recipe_se_test=0.005)
    measured["selection"]["directions_binding"] = [{"input": "x_pti", "direction": 1, "price": 0.0031}]
    monkeypatch.setattr(training.evaluate, "evaluate_holdout", lambda *a, **k: measured)
    assert main(["evaluate", "--tape", str(train), "--test-tape", str(test), "--mapping", str(mapping)]) == 0
    text = capsys.readouterr().out
    assert "declared directions the logistic regression holds against the data (input, direction, validation " \
           "AUC gained by freeing it alone):\n    x_pti                    +1 +0.0031\n" in text
    assert "AUC - recipe (standard error)" in text and "+0.0120 (0.0050)" in text and "+0.0100 (0.0050)" in text
    assert (f"price of the directions: {measured['direction_cost']:+.4f} validation AUC "
            f"({measured['direction_cost_se']:.4f}), +0.0010 test AUC ({measured['direction_cost_test_se']:.4f})") in text
    plain = measured["challengers"]["lightgbm_default"]
    assert f"{plain['gap_to_recipe_test']:+.4f} ({plain['gap_to_recipe_se_test']:.4f})" in text
    named = [line for line in text.splitlines() if "is above the recipe by" in line]
    expected = ("  logistic_tuned is above the recipe by 0.0120, more than the price of the directions on the test "
                "rows (0.0010) and two standard errors (0.0100)")
    assert named == [expected]  # woe_scorecard's 0.0100 is not above 0.001 + 0.01
    # a name longer than the column widens it, and the directions and prices stay in line
    measured["selection"]["directions_binding"] = [
        {"input": "x_msincemostrecenttradeopen", "direction": -1, "price": 0.0004},
        {"input": "x_pti", "direction": 1, "price": 0.0001}]
    assert main(["evaluate", "--tape", str(train), "--test-tape", str(test), "--mapping", str(mapping)]) == 0
    text = capsys.readouterr().out
    assert "\n    x_msincemostrecenttradeopen -1 +0.0004\n    x_pti                       +1 +0.0001\n" in text
    # cross-validation: the mean gap and the error of the mean; the folds each binding direction bound in
    cv = {"n": 500, "auc_mean": 0.7, "ks_mean": 0.3, "gini_mean": 0.4, "brier_mean": 0.1,
          "challengers": {"logistic_tuned": {"auc_mean": 0.71, "ks_mean": 0.3, "gini_mean": 0.42, "brier_mean": 0.1,
                                             "gap_to_recipe_mean": 0.01, "gap_to_recipe_se": 0.004}},
          "selection": {"scheme": "stratified_kfold", "winners": {"stack": 5},
                        "directions_binding": [{"input": "x_pti", "direction": 1, "folds": 4, "price_mean": 0.002}]},
          "direction_cost": 0.001, "direction_cost_se": 0.0011, "direction_cost_test": 0.003,
          "direction_cost_test_se": 0.0008}
    monkeypatch.setattr(training.evaluate, "evaluate_cv", lambda *a, **k: cv)
    assert main(["evaluate", "--tape", str(train), "--mapping", str(mapping)]) == 0
    text = capsys.readouterr().out
    assert "price of the directions: +0.0010 validation AUC (at most 0.0011), +0.0030 test AUC (0.0008)" in text
    assert "0.7100  0.3000  0.4200  0.10000  +0.0100 (0.0040)" in text
    assert "    x_pti                    +1 +0.0020  in 4 of 5 folds" in text
    assert "is above the recipe by" not in text  # 0.0100 is within 0.003 + 2 x 0.004
