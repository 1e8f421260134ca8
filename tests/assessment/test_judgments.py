"""The judgments file: the bundled example loads; every kind of bad input is one message naming
file, expert, node and value."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assessment.errors import JudgmentsError
from assessment.judgments import load_judgments, parse_judgments
from features.exceptions import PoolgateError

SAMPLE = Path(__file__).resolve().parents[2] / "data_samples" / "risk_assessment.toml"


def small() -> dict[str, Any]:
    """goal -> a (leaves a1, a2, a3), b (leaf b1); two experts."""
    return {
        "version": "1", "scale": 5, "goal": "g",
        "node": [
            {"name": "g", "children": ["a", "b"]},
            {"name": "a", "children": ["a1", "a2", "a3"], "en": "A", "zh": "甲"},
            {"name": "a1", "indicator": "expected_loss_share", "thresholds": [0.005, 0.01, 0.02, 0.04]},
            {"name": "a2"}, {"name": "a3"},
            {"name": "b", "children": ["b1"]},
            {"name": "b1"},
        ],
        "expert": [
            {"id": "E1", "weight": 2, "comparisons": {"g": [[3]], "a": [[2, 4], [2]]},
             "ratings": {"a1": 4, "a2": 3, "a3": 2, "b1": 1}},
            {"id": "E2", "weight": 1, "comparisons": {"g": [["1/2"]], "a": [[1, 1, 1], [1, 1, 1], [1, 1, 1]]},
             "ratings": {"a1": 5}},
        ],
    }


def fails(data: dict[str, Any], *parts: str) -> JudgmentsError:
    with pytest.raises(JudgmentsError) as info:
        parse_judgments(data, source="j.toml")
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith("j.toml")
    for p in parts:
        assert p in msg, msg
    return info.value


def test_small_file_parses() -> None:
    j = parse_judgments(small(), source="j.toml")
    assert list(j.nodes) == ["g", "a", "a1", "a2", "a3", "b", "b1"]
    assert j.leaves == ["a1", "a2", "a3", "b1"]
    assert j.criteria == ("a", "b")
    assert j.compared() == ["g", "a"]
    assert [e.weight for e in j.experts] == pytest.approx([2 / 3, 1 / 3])
    a = j.experts[0].matrices["a"]
    np.testing.assert_allclose(a, np.array([[1, 2, 4], [1 / 2, 1, 2], [1 / 4, 1 / 2, 1]]))
    assert j.experts[1].matrices["g"][0, 1] == 0.5
    assert j.nodes["a"].zh == "甲" and j.nodes["a2"].en == "a2"
    assert j.criterion_of("a3") == "a" and j.nodes["a3"].depth == 2


def test_bundled_example_loads_and_says_judgments_are_invented() -> None:
    j = load_judgments(SAMPLE)
    assert len(j.experts) == 5
    assert j.criteria == ("operational", "credit", "other")
    assert set(j.nodes["credit"].children) == {"lessee_breach", "overdue", "prepayment", "concentration",
                                               "residual_value"}
    assert "INVENTED" in SAMPLE.read_text(encoding="utf-8")
    assert len(j.sha256) == 64


def test_hash_ignores_layout_but_not_content(tmp_path: Path) -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    other = tmp_path / "j.toml"
    other.write_text("# another comment\n" + text.replace("scale = 5", "scale   =   5"), encoding="utf-8")
    assert load_judgments(other).sha256 == load_judgments(SAMPLE).sha256
    other.write_text(text.replace("servicer_collection = 3", "servicer_collection = 4", 1), encoding="utf-8")
    assert load_judgments(other).sha256 != load_judgments(SAMPLE).sha256


def test_errors_are_poolgate_errors() -> None:
    assert issubclass(JudgmentsError, PoolgateError) and issubclass(JudgmentsError, ValueError)


def test_matrix_not_square() -> None:
    d = small()
    d["expert"][0]["comparisons"]["a"] = [[2, 4], [2, 3]]
    fails(d, "expert E1", "node a", "[2, 2]", "upper triangle")


def test_full_matrix_not_square() -> None:
    d = small()
    d["expert"][1]["comparisons"]["a"] = [[1, 1, 1], [1, 1], [1, 1, 1]]
    fails(d, "expert E2", "node a", "[3, 2, 3]")


def test_judgment_not_positive() -> None:
    d = small()
    d["expert"][0]["comparisons"]["a"] = [[2, -4], [2]]
    fails(d, "expert E1", "node a", "a[a1, a3] = -4", "positive")


def test_judgment_outside_the_scale() -> None:
    d = small()
    d["expert"][0]["comparisons"]["a"] = [[2, 12], [2]]
    fails(d, "expert E1", "node a", "a[a1, a3] = 12", "between 1/9 and 9")
    d["expert"][0]["comparisons"]["a"] = [[2, "1/10"], [2]]
    fails(d, "a[a1, a3] = '1/10'")


def test_judgment_not_a_number() -> None:
    d = small()
    d["expert"][0]["comparisons"]["g"] = [["three"]]
    fails(d, "expert E1", "node g", "a[a, b] = 'three'")


def test_full_matrix_not_reciprocal() -> None:
    d = small()
    d["expert"][1]["comparisons"]["a"] = [[1, 2, 1], [2, 1, 1], [1, 1, 1]]
    fails(d, "expert E2", "node a", "a[a2, a1] = 2", "reciprocal")


def test_missing_comparison() -> None:
    d = small()
    del d["expert"][1]["comparisons"]["a"]
    fails(d, "expert E2", "node a", "(missing)", "a1, a2, a3")


def test_comparison_of_unknown_node_or_single_child() -> None:
    d = small()
    d["expert"][0]["comparisons"]["zz"] = [[2]]
    fails(d, "expert E1", "node zz", "'zz'")
    d = small()
    d["expert"][0]["comparisons"]["b"] = [[2]]
    fails(d, "expert E1", "node b", "two or more children")


def test_leaf_no_expert_rated() -> None:
    d = small()
    del d["expert"][0]["ratings"]["a2"]
    fails(d, "node a2", "(no expert rated it)")


def test_rating_outside_the_scale() -> None:
    d = small()
    d["expert"][1]["ratings"]["a1"] = 6
    fails(d, "expert E2", "node a1", "rating = 6", "1..5")


def test_rating_of_a_non_leaf() -> None:
    d = small()
    d["expert"][1]["ratings"]["a"] = 3
    fails(d, "expert E2", "node a", "leaf risks only")


def test_unknown_indicator() -> None:
    d = small()
    d["node"][2]["indicator"] = "loss_given_hope"
    err = fails(d, "node a1", "indicator = 'loss_given_hope'", "expected_loss_share", "[indicators.NAME]")
    assert err.node == "a1" and err.value == "loss_given_hope"


def test_custom_indicator_is_accepted() -> None:
    d = small()
    d["indicators"] = {"cnl": {"source": "monitor", "path": "periods[-1].cnl"}}
    d["node"][2]["indicator"] = "cnl"
    j = parse_judgments(d, source="j.toml")
    assert j.indicators["cnl"].source == "monitor"
    d["indicators"]["cnl"]["source"] = "weather"
    fails(d, "indicators.cnl.source = 'weather'")


def test_thresholds_must_fit_the_scale_and_be_monotone() -> None:
    d = small()
    d["node"][2]["thresholds"] = [0.01, 0.02]
    fails(d, "node a1", "thresholds = [0.01, 0.02]", "4 numbers")
    d["node"][2]["thresholds"] = [0.01, 0.03, 0.02, 0.04]
    fails(d, "node a1", "strictly ascending")
    d["node"][2]["thresholds"] = [0.04, 0.02, 0.01, 0.005]
    parse_judgments(d, source="j.toml")  # descending is fine


def test_measures_against_a_risk() -> None:
    d = small()
    d["node"][1]["measures_en"] = "limits"
    j = parse_judgments(d, source="j.toml")
    assert (j.nodes["a"].measures_en, j.nodes["a"].measures_zh, j.nodes["b"].measures_en) == ("limits", "limits", "")
    d["node"][1]["measures_zh"] = ""
    fails(d, "node a", "measures_zh = ''", "non-empty")


def test_indicator_on_a_node_with_children() -> None:
    d = small()
    d["node"][1]["indicator"] = "wa_pd"
    fails(d, "node a", "indicator = 'wa_pd'", "leaf risk only")


def test_cycle() -> None:
    d = small()
    d["node"].append({"name": "c", "children": ["d"]})
    d["node"].append({"name": "d", "children": ["c"]})
    fails(d, "node c", "cycle", "c -> d -> c")
    d["node"][4]["children"] = ["c"]  # the cycle hung under a3: c then has two parents
    fails(d, "node d", "children = 'c'", "also under a3")


def test_node_off_the_tree() -> None:
    d = small()
    d["node"].append({"name": "stray"})
    fails(d, "node stray", "not under the goal")


def test_cycle_through_the_goal() -> None:
    d = small()
    d["node"][6]["children"] = ["g"]
    fails(d, "node b1", "children = 'g'", "cycle")


def test_duplicate_node_name() -> None:
    d = small()
    d["node"].append({"name": "a2"})
    fails(d, "node a2", "name = 'a2'", "duplicate")


def test_node_under_two_parents() -> None:
    d = small()
    d["node"][5]["children"] = ["b1", "a2"]
    fails(d, "node b", "children = 'a2'", "also under a")


def test_duplicate_expert_and_partial_weights() -> None:
    d = small()
    d["expert"][1]["id"] = "E1"
    fails(d, "expert E1", "duplicate")
    d = small()
    del d["expert"][1]["weight"]
    fails(d, "expert E2", "weight = '(missing)'", "every expert or for none")


def test_unknown_keys_are_named() -> None:
    d = small()
    d["expert"][0]["ratingz"] = {}
    fails(d, "expert E1", "ratingz")
    d = small()
    d["node"][0]["childs"] = []
    fails(d, "node g", "childs")


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(JudgmentsError, match=re.escape(str(tmp_path / "none.toml"))):
        load_judgments(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("scale = [", encoding="utf-8")
    with pytest.raises(JudgmentsError, match="bad.toml.*valid TOML"):
        load_judgments(bad)


def test_parse_does_not_change_its_input() -> None:
    d = small()
    before = copy.deepcopy(d)
    parse_judgments(d, source="j.toml")
    assert d == before
