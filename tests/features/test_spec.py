"""The feature specification: the shipped file, validation messages and the leakage guard."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from features.exceptions import ConfigError, LeakageError
from features.spec import FeatureSpec, load_spec, spec_from_dict


@pytest.fixture(scope="module")
def shipped() -> FeatureSpec:
    return load_spec()


def _data(spec: FeatureSpec) -> dict[str, Any]:
    return copy.deepcopy(spec.to_dict())


def _with(spec: FeatureSpec, target: str, **changes: Any) -> dict[str, Any]:
    data = _data(spec)
    for entry in data["feature"]:
        if entry["name"] == target:
            entry.update(changes)
    return data


def test_shipped_spec_has_the_derived_ratios_and_bilingual_names(shipped: FeatureSpec) -> None:
    for name in ("ltv", "down_payment_ratio", "payment_to_income", "debt_to_income", "residual_ratio",
                 "lessee_age_at_maturity", "vehicle_age_at_maturity", "bureau_score", "thin_file"):
        assert name in shipped.names
    for f in shipped.features:
        assert f.display_en and f.display_zh and f.description
        assert f.display_zh != f.display_en
    assert shipped.feature("ltv").inputs == ("financed_amount", "vehicle_price")
    assert shipped.feature("ltv").direction == 1
    assert shipped.feature("bureau_score").direction == -1


def test_seasoning_is_documented_but_not_a_model_input(shipped: FeatureSpec) -> None:
    seasoning = shipped.feature("seasoning")
    assert seasoning.known_at_cutoff and not seasoning.model_input
    assert "seasoning" not in shipped.names
    assert "months_on_book" not in shipped.required_fields


def test_no_model_input_reads_an_id_or_status_field(shipped: FeatureSpec) -> None:
    assert not {"contract_id", "lessee_id", "dealer_id", "current_dpd", "worst_dpd"} & set(shipped.required_fields)


def test_categorical_features_carry_no_direction(shipped: FeatureSpec) -> None:
    assert set(shipped.categorical) >= {"province", "employment_type", "vehicle_make"}
    assert all(shipped.directions[c] == 0 for c in shipped.categorical)


def test_round_trip_through_dict_keeps_the_digest(shipped: FeatureSpec) -> None:
    again = spec_from_dict(shipped.to_dict())
    assert again.features == shipped.features
    assert again.digest == shipped.digest
    changed = spec_from_dict(_with(shipped, "ltv", direction=0))
    assert changed.digest != shipped.digest


def test_turning_seasoning_on_is_refused_as_leakage(shipped: FeatureSpec) -> None:
    with pytest.raises(LeakageError, match=r"feature 'seasoning' uses field 'months_on_book', whose role is 'status'"):
        spec_from_dict(_with(shipped, "seasoning", model_input=True))


@pytest.mark.parametrize("field", ["current_dpd", "worst_dpd", "outstanding_principal", "instalments_paid"])
def test_status_fields_are_refused(shipped: FeatureSpec, field: str) -> None:
    with pytest.raises(LeakageError, match=rf"feature 'term_months' uses field '{field}'"):
        spec_from_dict(_with(shipped, "term_months", inputs=[field]))


@pytest.mark.parametrize("field", ["dpd", "amount_paid", "defaulted", "default_24m", "pd_true", "label", "status"])
def test_outcome_names_are_refused(shipped: FeatureSpec, field: str) -> None:
    with pytest.raises(LeakageError, match=rf"feature 'annual_rate' uses field '{field}'.*outcome"):
        spec_from_dict(_with(shipped, "annual_rate", inputs=[field]))


def test_an_outcome_named_feature_is_refused(shipped: FeatureSpec) -> None:
    with pytest.raises(LeakageError, match=r"feature 'pd_true' uses field 'pd_true'"):
        spec_from_dict(_with(shipped, "annual_rate", name="pd_true"))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"inputs": ["vehicle_colour", "vehicle_price"]}, r"feature 'ltv' uses unknown fields \['vehicle_colour'\]"),
        ({"direction": 2}, r"'ltv'.*'direction' must be -1, 0 or 1, got 2"),
        ({"transform": "log"}, r"'ltv'.*'transform' must be one of .*got 'log'"),
        ({"inputs": ["financed_amount"]}, r"'ltv'.*transform 'ratio' takes 2 inputs, got 1"),
        ({"kind": "ordinal"}, r"'ltv'.*'kind' must be one of \['numeric', 'categorical'\], got 'ordinal'"),
        ({"kind": "categorical"}, r"'ltv'.*categorical feature needs direction 0 and transform 'identity'"),
        ({"known_at_cutoff": False}, r"'ltv'.*a model input must be known at the cut-off"),
        ({"clip": [3.0, 0.0]}, r"'ltv'.*'clip' must be \[low, high\] numbers with low < high, got \[3.0, 0.0\]"),
        ({"unit": "USD"}, r"'ltv'.*'unit' must be one of .*got 'USD'"),
        ({"colour": "red"}, r"'ltv'.*unknown keys \['colour'\]"),
        ({"name": "LTV"}, r"'name' must be lower-case snake case, got 'LTV'"),
    ],
)
def test_bad_entries_are_named(shipped: FeatureSpec, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        spec_from_dict(_with(shipped, "ltv", **changes))


def test_missing_key_and_duplicate_name(shipped: FeatureSpec) -> None:
    data = _data(shipped)
    del data["feature"][0]["direction"]
    with pytest.raises(ConfigError, match=r"feature #1 'ltv': missing keys \['direction'\]"):
        spec_from_dict(data)
    data = _data(shipped)
    data["feature"].append(copy.deepcopy(data["feature"][0]))
    with pytest.raises(ConfigError, match=r"duplicated feature names \['ltv'\]"):
        spec_from_dict(data)


def test_file_errors_name_the_file(tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: feature specification not found"):
        load_spec(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("version = 1\n[[feature]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML"):
        load_spec(bad)
    empty = tmp_path / "empty.toml"
    empty.write_text("version = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"empty\.toml: expected at least one \[\[feature\]\] table"):
        load_spec(empty)
