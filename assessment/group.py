"""Group judgments: aggregation across experts, group consistency and global weights of the hierarchy.

Two aggregations, both weighted geometric means with the experts' weights ``lambda_k`` (sum 1), as
Forman and Peniwati (1998) recommend for a group:

- **AIJ** (aggregation of individual judgments): ``g_ij = prod_k a_ij(k) ** lambda_k`` builds one
  group matrix per node; it is reciprocal, and its eigenvector gives the group's priorities and its
  CR the group's consistency.
- **AIP** (aggregation of individual priorities): the weighted geometric mean of the experts'
  eigenvector priorities, normalised.

Each expert's compatibility with the group (Saaty's index of the expert's matrix against the AIJ
priorities, acceptable up to 1.1) says whose judgments the group result does not represent.

Global weights are products of local weights along the path from the goal: for every method (AIJ by
eigenvector, AIJ by row geometric mean, AIP, and each expert alone) the leaves' global weights sum
to 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from assessment.ahp import CR_THRESHOLD, MatrixResult, analyse_matrix, compatibility, scale_text
from assessment.errors import JudgmentsError
from assessment.judgments import Judgments

__all__ = ["METHODS", "GroupNode", "aggregate", "aggregate_matrices", "aggregate_priorities", "global_weights"]

METHODS = ("aij", "aij_gm", "aip")


@dataclass(frozen=True)
class GroupNode:
    """One compared node: every expert's analysis, the AIJ group matrix and its analysis, AIP priorities.

    Attributes
    ----------
    node : str
    items : tuple of str
        The node's children, in matrix order.
    experts : mapping of str to MatrixResult
        Each expert's analysis of their own matrix.
    matrix : ndarray (n, n)
        The AIJ group matrix.
    group : MatrixResult
        Analysis of the group matrix (``priorities`` is AIJ, ``cr`` the group's consistency).
    aip : ndarray (n,)
        AIP priorities.
    compatibility : mapping of str to float
        Saaty's compatibility index of each expert's matrix with the AIJ priorities.
    """

    node: str
    items: tuple[str, ...]
    experts: Mapping[str, MatrixResult]
    matrix: np.ndarray
    group: MatrixResult
    aip: np.ndarray
    compatibility: Mapping[str, float]


def aggregate_matrices(matrices: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """AIJ: the element-wise weighted geometric mean of comparison matrices (weights sum to 1)."""
    logs = np.stack([np.log(np.asarray(m, dtype="float64")) for m in matrices])
    w = np.asarray(weights, dtype="float64")
    return np.exp(np.tensordot(w / w.sum(), logs, axes=1))


def aggregate_priorities(priorities: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """AIP: the weighted geometric mean of priority vectors, normalised to sum 1."""
    logs = np.stack([np.log(np.asarray(p, dtype="float64")) for p in priorities])
    w = np.asarray(weights, dtype="float64")
    g = np.exp(np.tensordot(w / w.sum(), logs, axes=1))
    return g / g.sum()


def aggregate(judgments: Judgments, *, strict: bool = False) -> dict[str, GroupNode]:
    """Analyse every expert's matrices and aggregate them node by node.

    Parameters
    ----------
    judgments : Judgments
    strict : bool
        Refuse to aggregate when any expert's matrix has CR above 0.10.

    Raises
    ------
    JudgmentsError
        With ``strict``, naming the first inconsistent matrix (file, expert, node, CR), its suggested
        revision and how many other matrices are inconsistent.
    """
    weights = [e.weight for e in judgments.experts]
    out: dict[str, GroupNode] = {}
    bad: list[tuple[str, str, MatrixResult]] = []
    for node in judgments.compared():
        items = judgments.nodes[node].children
        per = {e.id: analyse_matrix(e.matrices[node]) for e in judgments.experts}
        bad.extend((e, node, r) for e, r in per.items() if not r.consistent)
        g = aggregate_matrices([e.matrices[node] for e in judgments.experts], weights)
        group = analyse_matrix(g)
        aip = aggregate_priorities([per[e.id].priorities for e in judgments.experts], weights)
        compat = {e.id: compatibility(e.matrices[node], group.priorities) for e in judgments.experts}
        out[node] = GroupNode(node=node, items=items, experts=per, matrix=g, group=group, aip=aip,
                              compatibility=compat)
    if strict and bad:
        expert, node, r = bad[0]
        items = judgments.nodes[node].children
        hint = ""
        if r.revision is not None:
            rv = r.revision
            hint = (f"; suggested revision a[{items[rv.row]}, {items[rv.col]}] {scale_text(rv.current)} -> "
                    f"{scale_text(rv.suggested)} gives CR {rv.cr_after:.3f}")
        more = f"; {len(bad) - 1} more matrices above {CR_THRESHOLD:.2f}" if len(bad) > 1 else ""
        raise JudgmentsError(judgments.source, "CR", round(r.cr, 4),
                             f"at most {CR_THRESHOLD:.2f} with --strict{hint}{more}", expert=expert, node=node)
    return out


def _local(judgments: Judgments, vectors: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Local weight of every node but the goal from each compared node's priority vector."""
    local: dict[str, float] = {}
    for name, node in judgments.nodes.items():
        if len(node.children) == 1:
            local[node.children[0]] = 1.0
        elif node.children:
            for child, w in zip(node.children, vectors[name]):
                local[child] = float(w)
    return local


def global_weights(judgments: Judgments, groups: Mapping[str, GroupNode]) -> dict[str, dict[str, dict[str, float]]]:
    """Local and global weights of every node (goal excluded) by every method.

    Returns
    -------
    dict
        ``{method: {"local": {node: w}, "global": {node: w}}}`` for the methods ``aij``, ``aij_gm``,
        ``aip`` and ``expert:ID`` for each expert. Global weights of the leaves sum to 1.
    """
    vectors: dict[str, dict[str, np.ndarray]] = {
        "aij": {n: g.group.priorities for n, g in groups.items()},
        "aij_gm": {n: g.group.priorities_gm for n, g in groups.items()},
        "aip": {n: g.aip for n, g in groups.items()},
    }
    for e in judgments.experts:
        vectors[f"expert:{e.id}"] = {n: g.experts[e.id].priorities for n, g in groups.items()}
    out: dict[str, dict[str, dict[str, float]]] = {}
    for method, vecs in vectors.items():
        local = _local(judgments, vecs)
        glob: dict[str, float] = {}
        for name, node in judgments.nodes.items():  # hierarchy order: a parent before its children
            if node.parent is None:
                continue
            glob[name] = local[name] * (glob[node.parent] if node.parent != judgments.goal else 1.0)
        out[method] = {"local": local, "global": glob}
    return out
