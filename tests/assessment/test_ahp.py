"""AHP on one matrix: published worked examples, consistent matrices, the suggested revision."""

from __future__ import annotations

import numpy as np
import pytest

from assessment.ahp import (
    RANDOM_INDEX,
    SAATY_SCALE,
    analyse_matrix,
    compatibility,
    consistency_ratio,
    eigen_priorities,
    geometric_priorities,
    scale_text,
    suggest_revision,
)


def reciprocal(upper: list[list[float]]) -> np.ndarray:
    """Full matrix from the upper triangle by rows."""
    n = len(upper) + 1
    a = np.ones((n, n))
    for i, row in enumerate(upper):
        for k, value in enumerate(row):
            a[i, i + 1 + k] = value
            a[i + 1 + k, i] = 1.0 / value
    return a


# T. L. Saaty, "How to make a decision: The Analytic Hierarchy Process", European Journal of Operational
# Research 48 (1990) 9-26, section 3 (choosing a house): the eight criteria (size of house, location to bus
# lines, neighbourhood, age, yard space, modern facilities, general condition, financing available), the
# matrix of Table 1 and its published priorities, lambda_max 9.669, C.I. 0.238, C.R. 0.169.
HOUSE_CRITERIA = reciprocal([
    [5, 3, 7, 6, 6, 1 / 3, 1 / 4],
    [1 / 3, 5, 3, 3, 1 / 5, 1 / 7],
    [6, 3, 4, 6, 1 / 5],
    [1 / 3, 1 / 4, 1 / 7, 1 / 8],
    [1 / 2, 1 / 5, 1 / 6],
    [1 / 5, 1 / 6],
    [1 / 2],
])
HOUSE_CRITERIA_PRIORITIES = [0.173, 0.054, 0.188, 0.018, 0.031, 0.036, 0.167, 0.333]
# Same paper, Table 2: houses A, B, C compared under each criterion -> (upper triangle, published
# eigenvector, lambda_max, C.R.).
HOUSE_ALTERNATIVES: dict[str, tuple[list[list[float]], list[float], float, float]] = {
    "size": ([[6, 8], [4]], [0.754, 0.181, 0.065], 3.136, 0.117),
    "bus": ([[7, 1 / 5], [1 / 8]], [0.233, 0.055, 0.713], 3.247, 0.213),
    "neighbourhood": ([[8, 6], [1 / 4]], [0.754, 0.065, 0.181], 3.136, 0.117),
    "age": ([[1, 1], [1]], [0.333, 0.333, 0.333], 3.0, 0.0),
    "yard": ([[5, 4], [1 / 3]], [0.674, 0.101, 0.226], 3.086, 0.074),
    "modern": ([[8, 6], [1 / 5]], [0.747, 0.060, 0.193], 3.197, 0.170),
    "condition": ([[1 / 2, 1 / 2], [1]], [0.200, 0.400, 0.400], 3.0, 0.0),
    "financing": ([[1 / 7, 1 / 5], [3]], [0.072, 0.650, 0.278], 3.065, 0.056),
}
# Same paper: overall priorities of the houses A, B, C.
HOUSE_OVERALL = [0.396, 0.341, 0.263]

# T. L. Saaty, "Decision making with the analytic hierarchy process", Int. J. Services Sciences 1 (2008)
# 83-98, Table 2: relative consumption of drinks in the US (coffee, wine, tea, beer, sodas, milk, water)
# and the derived priorities.
DRINKS = reciprocal([
    [9, 5, 2, 1, 1, 1 / 2],
    [1 / 3, 1 / 9, 1 / 9, 1 / 9, 1 / 9],
    [1 / 3, 1 / 4, 1 / 3, 1 / 9],
    [1 / 2, 1, 1 / 3],
    [2, 1 / 2],
    [1 / 3],
])
DRINKS_PRIORITIES = [0.177, 0.019, 0.042, 0.116, 0.190, 0.129, 0.327]


def test_saaty_house_criteria_priorities_lambda_ci_cr() -> None:
    r = analyse_matrix(HOUSE_CRITERIA)
    np.testing.assert_allclose(r.priorities, HOUSE_CRITERIA_PRIORITIES, atol=1e-3)
    assert r.lambda_max == pytest.approx(9.669, abs=1e-3)
    assert r.ci == pytest.approx(0.238, abs=1e-3)
    assert r.ri == 1.41
    assert r.cr == pytest.approx(0.169, abs=1e-3)
    assert not r.consistent and r.revision is not None


@pytest.mark.parametrize("name", sorted(HOUSE_ALTERNATIVES))
def test_saaty_house_alternatives(name: str) -> None:
    upper, published, lam, cr = HOUSE_ALTERNATIVES[name]
    r = analyse_matrix(reciprocal(upper))
    np.testing.assert_allclose(r.priorities, published, atol=1e-3)
    assert r.lambda_max == pytest.approx(lam, abs=1e-3)
    assert r.cr == pytest.approx(cr, abs=1e-3)


def test_saaty_house_overall_priorities() -> None:
    crit = analyse_matrix(HOUSE_CRITERIA).priorities
    alts = np.array([analyse_matrix(reciprocal(HOUSE_ALTERNATIVES[k][0])).priorities for k in
                     ("size", "bus", "neighbourhood", "age", "yard", "modern", "condition", "financing")])
    np.testing.assert_allclose(alts.T @ crit, HOUSE_OVERALL, atol=1e-3)


def test_saaty_drinks_priorities() -> None:
    r = analyse_matrix(DRINKS)
    np.testing.assert_allclose(r.priorities, DRINKS_PRIORITIES, atol=1e-3)
    assert r.consistent


@pytest.mark.parametrize("n", range(2, 16))
def test_consistent_matrix_gives_back_its_weights_and_cr_zero(n: int) -> None:
    rng = np.random.default_rng(n)
    w = rng.uniform(0.2, 5.0, n)
    w /= w.sum()
    a = w[:, None] / w[None, :]
    r = analyse_matrix(a)
    np.testing.assert_allclose(r.priorities, w, rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.priorities_gm, w, rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.priorities, r.priorities_gm, rtol=0, atol=1e-9)
    assert r.lambda_max == pytest.approx(n, abs=1e-9)
    assert abs(r.cr) < 1e-9 and abs(r.ci) < 1e-9
    assert r.revision is None
    assert compatibility(a, w) == pytest.approx(1.0, abs=1e-12)


def test_eigenvector_and_geometric_mean_differ_on_inconsistent_matrices() -> None:
    w, _ = eigen_priorities(HOUSE_CRITERIA)
    assert np.abs(w - geometric_priorities(HOUSE_CRITERIA)).max() > 1e-3


def test_revision_finds_the_one_broken_judgment() -> None:
    w = np.array([8.0, 4.0, 2.0, 1.0]) / 15.0
    a = w[:, None] / w[None, :]  # every ratio is on the 1-9 scale
    a[0, 3], a[3, 0] = 1 / 2, 2.0  # was 8
    r = analyse_matrix(a)
    assert r.cr > 0.10
    rv = r.revision
    assert rv is not None
    assert (rv.row, rv.col, rv.suggested) == (0, 3, 8.0)
    assert rv.current == 0.5 and rv.cr_before == pytest.approx(r.cr)
    assert rv.cr_after == pytest.approx(0.0, abs=1e-9)
    # brute force agrees: no other single change gets lower
    for i in range(4):
        for j in range(i + 1, 4):
            for v in SAATY_SCALE:
                t = a.copy()
                t[i, j], t[j, i] = v, 1 / v
                assert consistency_ratio(t) >= rv.cr_after - 1e-12


def test_revision_lowers_saaty_house_cr() -> None:
    rv = suggest_revision(HOUSE_CRITERIA)
    assert rv is not None and rv.cr_after < rv.cr_before
    t = HOUSE_CRITERIA.copy()
    t[rv.row, rv.col], t[rv.col, rv.row] = rv.suggested, 1 / rv.suggested
    assert consistency_ratio(t) == pytest.approx(rv.cr_after, abs=1e-9)


def test_small_matrices_are_always_consistent() -> None:
    assert analyse_matrix(np.array([[1.0]])).cr == 0.0
    r = analyse_matrix(np.array([[1.0, 9.0], [1 / 9, 1.0]]))
    assert r.cr == 0.0 and r.priorities == pytest.approx([0.9, 0.1])
    assert suggest_revision(np.array([[1.0, 9.0], [1 / 9, 1.0]])) is None


def test_random_index_is_saatys() -> None:
    assert [RANDOM_INDEX[n] for n in range(3, 11)] == [0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49]


def test_scale_text() -> None:
    assert [scale_text(x) for x in (3.0, 1 / 5, 1.0, 2.5, 0.4)] == ["3", "1/5", "1", "2.5", "0.4"]
