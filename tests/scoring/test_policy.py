"""Policy loading: the shipped default, hashing, and one clear error per kind of mistake."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from features.exceptions import ConfigError
from scoring.policy import PolicyError, default_policy_path, load_policy, parse_policy

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def data() -> dict[str, Any]:
    return tomllib.loads(default_policy_path().read_text(encoding="utf-8"))


def test_default_policy_loads_and_is_identical_to_the_data_sample() -> None:
    policy = load_policy()
    assert policy.version and len(policy.eligibility) >= 10 and policy.reasons.top_n == 3
    assert (ROOT / "data_samples" / "policy.toml").read_bytes() == default_policy_path().read_bytes()
    assert load_policy(ROOT / "data_samples" / "policy.toml").sha256 == policy.sha256


def test_hash_ignores_comments_but_not_values(tmp_path: Path) -> None:
    text = default_policy_path().read_text(encoding="utf-8")
    (tmp_path / "a.toml").write_text("# another comment\n" + text, encoding="utf-8")
    (tmp_path / "b.toml").write_text(text.replace("admit_pd_max = 0.05", "admit_pd_max = 0.04"), encoding="utf-8")
    base = load_policy().sha256
    assert load_policy(tmp_path / "a.toml").sha256 == base
    assert load_policy(tmp_path / "b.toml").sha256 != base


def test_policy_error_is_a_config_error_naming_file_key_value_allowed(data: dict[str, Any]) -> None:
    data["decision"]["admit_pd_max"] = 1.5
    with pytest.raises(ConfigError, match=r"deal.toml: decision.admit_pd_max = 1.5 is invalid; allowed: "
                                          r"a number >= 0 and <= 1") as info:
        parse_policy(data, source="deal.toml")
    assert isinstance(info.value, PolicyError) and info.value.key == "decision.admit_pd_max"


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d["eligibility"][0].update(quantity="shoe_size"),
     r"eligibility\[0\].quantity = 'shoe_size' is invalid; allowed: one of lessee_age, "),
    (lambda d: d["eligibility"][0].update(min=70), r"eligibility\[0\].min = 70.0 is invalid; allowed: <= max \(60\)"),
    (lambda d: d["eligibility"][1].update(code="age_at_origination"),
     r"eligibility\[1\].code = 'age_at_origination' .* not used by another eligibility rule"),
    (lambda d: d["eligibility"][10].update(min=1), r"either allowed or min/max in one rule, not both"),
    (lambda d: d["eligibility"][0].update(en="age {age} is wrong"),
     (r"eligibility\[0\].en = 'age \{age\} is wrong' is invalid; allowed: a template using only the "
      r"placeholders \{allowed\}, \{max\}, \{min\}, \{value\}")),
    (lambda d: d["eligibility"][0].update(if_missing="maybe"), r"if_missing = 'maybe' .* allowed: fail, pass"),
    (lambda d: d["eligibility"][0].update(colour="red"), r"eligibility\[0\].colour = 'red' .* allowed: known keys"),
    (lambda d: d["decision"].update(refer_pd_max=0.01), r"decision.refer_pd_max = 0.01 .* >= admit_pd_max \(0.05\)"),
    (lambda d: d["score"].update(pdo=0), r"score.pdo = 0 .* a number > 0"),
    (lambda d: d["score"].update(bands=[600, 500]), r"score.bands = \[600, 500\] .* strictly ascending"),
    (lambda d: d["loss"].update(lgd="high"), r"loss.lgd = 'high' is invalid; allowed: a number >= 0 and <= 1"),
    (lambda d: d["concentration"][0].update(group="planet"), r"concentration\[0\].group = 'planet' .* one of lessee"),
    (lambda d: d["concentration"][0].update(code="single"), r"concentration\[0\].code = 'single' .* starting with conc_"),
    (lambda d: d["concentration"][0].update(max_share=0), r"max_share = 0 .* a number > 0 and <= 1"),
    (lambda d: d["reasons"].update(top_n=0), r"reasons.top_n = 0 .* a whole number from 1 to 20"),
    (lambda d: d["reasons"]["features"]["ltv"].update(en="{value:.1%"),
     r"reasons.features.ltv.en = .* a format template"),
    (lambda d: d.update(language="fr"), r"language = 'fr' is invalid; allowed: en, zh"),
    (lambda d: d.pop("decision"), r"decision = '\(missing\)' is invalid; allowed: a value \(the key is required\)"),
])
def test_invalid_policies_are_refused_with_the_key(data: dict[str, Any], edit: Any, message: str) -> None:
    d = copy.deepcopy(data)
    edit(d)
    with pytest.raises(PolicyError, match=message):
        parse_policy(d, source="deal.toml")


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"nope.toml: \(file\) = .* allowed: an existing policy TOML file"):
        load_policy(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [unclosed\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=r"bad.toml: \(file\) = .* allowed: valid TOML"):
        load_policy(bad)


def test_every_quantity_and_concentration_group_is_documented() -> None:
    from scoring.policy import CONCENTRATION_GROUPS
    from scoring.quantities import QUANTITIES

    doc = (ROOT / "docs" / "screening.md").read_text(encoding="utf-8")
    for q in QUANTITIES.values():
        assert f"| `{q.name}` | {q.kind} | {q.unit} | {q.description} |" in doc
    for group in CONCENTRATION_GROUPS:
        assert f"`{group}`" in doc
