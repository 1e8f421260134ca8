"""Group aggregation, global weights, sensitivity and the whole assessment on the bundled example."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assessment import (
    JudgmentsError,
    aggregate_matrices,
    aggregate_priorities,
    analyse_matrix,
    assess,
    level_of,
    load_figures,
    load_judgments,
    parse_judgments,
    stability,
    weights_frame,
    write_assessment,
)
from assessment.sensitivity import weight_lines
from tests.assessment.figures import MONITOR_FIXTURE, write_screen_run
from tests.assessment.test_ahp import HOUSE_ALTERNATIVES, HOUSE_CRITERIA, HOUSE_OVERALL

SAMPLE = Path(__file__).resolve().parents[2] / "data_samples" / "risk_assessment.toml"
HOUSE_KEYS = ("size", "bus", "neighbourhood", "age", "yard", "modern", "condition", "financing")


def consistent(w: list[float]) -> np.ndarray:
    v = np.asarray(w, dtype=float)
    return v[:, None] / v[None, :]


def test_aij_of_consistent_matrices_is_the_weighted_geometric_mean_and_equals_aip() -> None:
    w1, w2 = np.array([0.5, 0.3, 0.2]), np.array([0.2, 0.2, 0.6])
    g = aggregate_matrices([consistent(list(w1)), consistent(list(w2))], [3, 1])
    expected = w1 ** 0.75 * w2 ** 0.25
    expected /= expected.sum()
    r = analyse_matrix(g)
    np.testing.assert_allclose(r.priorities, expected, atol=1e-12)
    np.testing.assert_allclose(aggregate_priorities([w1, w2], [3, 1]), expected, atol=1e-12)
    np.testing.assert_allclose(g * g.T, np.ones((3, 3)), atol=1e-12)  # still reciprocal
    assert r.cr == pytest.approx(0.0, abs=1e-12)


def test_aij_of_one_expert_is_that_expert() -> None:
    np.testing.assert_allclose(aggregate_matrices([HOUSE_CRITERIA], [1.0]), HOUSE_CRITERIA, atol=1e-12)


def _house_judgments() -> dict[str, Any]:
    """Saaty's house example as a tree: each criterion has the three houses as its own leaves."""
    leaves = [f"{k}_{h}" for k in HOUSE_KEYS for h in "ABC"]
    upper = [[HOUSE_CRITERIA[i, j] for j in range(i + 1, 8)] for i in range(7)]
    comparisons: dict[str, Any] = {"house": upper}
    comparisons.update({k: HOUSE_ALTERNATIVES[k][0] for k in HOUSE_KEYS})
    return {"version": "1990", "scale": 5, "goal": "house",
            "node": [{"name": "house", "children": list(HOUSE_KEYS)},
                     *({"name": k, "children": [f"{k}_{h}" for h in "ABC"]} for k in HOUSE_KEYS),
                     *({"name": leaf} for leaf in leaves)],
            "expert": [{"id": "saaty", "comparisons": comparisons, "ratings": {leaf: 3 for leaf in leaves}}]}


def test_saaty_house_overall_priorities_through_the_hierarchy() -> None:
    j = parse_judgments(_house_judgments(), source="house.toml")
    r = assess(j)
    g = r["weights"]["aij"]["global"]
    overall = [sum(g[f"{k}_{h}"] for k in HOUSE_KEYS) for h in "ABC"]
    np.testing.assert_allclose(overall, HOUSE_OVERALL, atol=1e-3)
    top = next(m for m in r["matrices"] if m["node"] == "house" and m["expert"] == "saaty")
    assert top["cr"] == pytest.approx(0.169, abs=1e-3) and top["revision"] is not None


def test_sensitivity_interval_matches_a_scan() -> None:
    criteria = {"x": 0.5, "y": 0.3, "z": 0.2}
    items = {"x1": ("x", 0.30), "x2": ("x", 0.20), "y1": ("y", 0.25), "y2": ("y", 0.05), "z1": ("z", 0.20)}
    rows = {s.criterion: s for s in stability(criteria, items)}
    for c, s in rows.items():
        lines = weight_lines(c, criteria, items)
        for t in np.linspace(0.0, 1.0, 2001):
            values = {k: a * t + b for k, (a, b) in lines.items()}
            on_top = max(values, key=lambda k: values[k]) == "x1"
            inside = s.low - 1e-9 <= t <= s.high + 1e-9
            if abs(t - s.low) > 1e-3 and abs(t - s.high) > 1e-3:
                assert on_top == inside, (c, t, s)
    assert rows["x"].below == "y1" and rows["x"].above is None and rows["x"].high == 1.0
    # x1 = t * 0.6 and y1 = 0.25 (1 - t) / 0.5: equal at t = 0.5 / 1.1
    assert rows["x"].low == pytest.approx(0.5 / 1.1)
    # y: x1 = 0.3 (1 - t) / 0.7 and y1 = t * 0.25 / 0.3: equal at t = (0.3 / 0.7) / (0.3 / 0.7 + 0.25 / 0.3)
    assert rows["y"].above == "y1" and rows["y"].below is None
    assert rows["y"].high == pytest.approx((0.3 / 0.7) / (0.3 / 0.7 + 0.25 / 0.3))


@pytest.fixture(scope="module")
def sample_result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    run = write_screen_run(tmp_path_factory.mktemp("run"))
    return assess(load_judgments(SAMPLE), screen=load_figures("screen", run),
                  monitor=load_figures("monitor", MONITOR_FIXTURE))


def test_sample_weights_sum_to_one_for_every_method(sample_result: dict[str, Any]) -> None:
    leaves = [x["name"] for x in sample_result["leaves"]]
    assert len(leaves) == 14
    for method, w in sample_result["weights"].items():
        assert sum(w["global"][k] for k in leaves) == pytest.approx(1.0, abs=1e-9), method
        assert sum(w["global"][c] for c in ("operational", "credit", "other")) == pytest.approx(1.0, abs=1e-9)
    assert [e["id"] for e in sample_result["experts"]] == ["E1", "E2", "E3", "E4", "E5"]


def test_sample_principal_risk_is_credit(sample_result: dict[str, Any]) -> None:
    p = sample_result["principal_risk"]
    assert p["criterion"] == "credit" and p["top_leaf"] == "lessee_breach"
    assert sample_result["ranking"]["criteria"][0] == "credit"
    assert p["measures"] == ["credit", "lessee_breach", "overdue", "prepayment"]


def test_sample_flags_the_inconsistent_matrix_with_its_revision(sample_result: dict[str, Any]) -> None:
    bad = [m for m in sample_result["matrices"] if not m["consistent"]]
    assert [(m["node"], m["expert"]) for m in bad] == [("credit", "E3")]
    rv = bad[0]["revision"]
    assert rv["cr_after"] < 0.10 < rv["cr_before"]
    assert sample_result["consistency"]["group_inconsistent"] == 0


def test_sample_measured_ratings_and_disagreements(sample_result: dict[str, Any]) -> None:
    by = {x["name"]: x for x in sample_result["leaves"]}
    # expected loss share 2.52 % (remaining-term PD x LGD) -> level 4 (2 % < x <= 4 %); the experts say 3.6
    assert by["lessee_breach"]["measured"] == pytest.approx(0.0252)
    assert by["lessee_breach"]["measured_rating"] == 4
    assert by["lessee_breach"]["disagree"] is False
    # 60+ delinquency 0.42 % -> level 3; largest lessee 30 % -> level 5 where the experts said 1
    assert by["overdue"]["measured_rating"] == 3
    assert by["single_lessee"]["measured_rating"] == 5 and by["single_lessee"]["rating"] == 1.0
    assert by["single_lessee"]["disagree"] is True
    assert "single_lessee" in sample_result["composite"]["disagreements"]
    assert by["servicer_collection"]["measured_rating"] is None and by["servicer_collection"]["disagree"] is None
    assert sample_result["composite"]["measured_leaves"] == 7  # every leaf that names an indicator


def test_group_rating_is_the_weighted_mean_of_those_who_rated(sample_result: dict[str, Any]) -> None:
    j = load_judgments(SAMPLE)
    by = {x["name"]: x for x in sample_result["leaves"]}
    # E4 did not rate single_lessee: the others' weights are renormalised
    raters = [e for e in j.experts if "single_lessee" in e.ratings]
    assert [e.id for e in raters] == ["E1", "E2", "E3", "E5"]
    want = sum(e.weight * e.ratings["lessee_breach"] for e in j.experts)
    assert by["lessee_breach"]["rating"] == pytest.approx(want)
    score = sum(x["global_weight"] * x["rating"] for x in sample_result["leaves"])
    assert sample_result["composite"]["score"] == pytest.approx(score, abs=1e-8)
    assert sample_result["composite"]["level"] == level_of(score, 5)


def test_level_of() -> None:
    assert [level_of(x, 5) for x in (0.2, 1.0, 1.49, 1.5, 2.5, 4.6, 7.0)] == [1, 1, 1, 2, 3, 5, 5]


def test_strict_refuses_inconsistent_matrices() -> None:
    with pytest.raises(JudgmentsError, match=r"risk_assessment.toml, expert E3, node credit: CR = 0.12\d+ is "
                                             r"invalid; allowed: at most 0.10 with --strict; suggested revision "
                                             r"a\[prepayment, residual_value\] 1/5 -> 1"):
        assess(load_judgments(SAMPLE), strict=True)


def test_without_figures_nothing_is_measured() -> None:
    r = assess(load_judgments(SAMPLE))
    by = {x["name"]: x for x in r["leaves"]}
    assert by["lessee_breach"]["measured_note"] == "not measured: no --run given"
    assert by["overdue"]["measured_note"] == "not measured: no --monitor given"
    assert r["composite"]["score_with_measured"] == r["composite"]["score"]


def test_outputs_are_deterministic(tmp_path: Path, sample_result: dict[str, Any]) -> None:
    a = write_assessment(sample_result, tmp_path / "a")
    b = write_assessment(json.loads(json.dumps(sample_result)), tmp_path / "b")
    assert a["json"].read_bytes() == b["json"].read_bytes()
    assert a["weights"].read_bytes() == b["weights"].read_bytes()
    frame = weights_frame(sample_result)
    assert len(frame) == len(sample_result["nodes"]) - 1
    assert frame.loc[frame["leaf"], "global_aij"].sum() == pytest.approx(1.0)
    assert {"local_E1", "global_E5", "global_aip", "global_aij_gm", "measured_rating"} <= set(frame.columns)
    assert not list(tmp_path.glob("*/.*.tmp"))
