"""The assessment: from validated judgments (and optionally a run's figures) to one JSON-ready result.

:func:`assess` is pure: it takes :class:`assessment.judgments.Judgments` and the :class:`Figures` of a
screening run and/or a monitoring run, and returns a dict (the content of ``assessment.json``):

- every matrix of every expert and of the group (AIJ): priorities by eigenvector and by row
  geometric mean, lambda_max, CI, RI, CR, the suggested revision when CR > 0.10, each expert's
  compatibility with the group;
- local and global weights of every node by AIJ (the group's weights used for the ranking), by the
  AIJ matrix's geometric-mean priorities, by AIP and by each expert alone;
- each leaf's ratings (by expert, the group's weighted mean), its contribution to the composite score
  (global weight x rating), the measured figure and its rating where the leaf names an indicator,
  and whether expert and measured ratings disagree;
- the principal risk (the criterion with the largest weight and its three largest leaves) with the
  measures the file names against them;
- the composite score and level (experts' ratings; and with measured ratings where there are any),
  the ranking of criteria and leaves, the principal risk and the sensitivity of the top risk to each
  criterion's weight.

Floats are rounded to 10 decimals so the file is byte-identical across runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from assessment.ahp import CR_THRESHOLD, MatrixResult
from assessment.group import METHODS, GroupNode, aggregate, global_weights
from assessment.indicators import Figures, rate
from assessment.judgments import Judgments
from assessment.sensitivity import Stability, stability

__all__ = ["LEVELS", "assess", "level_of"]

LEVELS: Mapping[int, tuple[tuple[str, ...], tuple[str, ...]]] = {
    5: (("very low", "low", "medium", "high", "very high"), ("低", "较低", "中等", "较高", "高")),
    9: (("extremely low", "very low", "low", "moderately low", "medium", "moderately high", "high", "very high",
         "extremely high"), ("极低", "很低", "低", "较低", "中等", "较高", "高", "很高", "极高")),
}
_DIGITS = 10


def _r(x: float) -> float:
    return round(float(x), _DIGITS) + 0.0  # + 0.0 turns -0.0 into 0.0


def _vec(v: np.ndarray) -> list[float]:
    return [_r(x) for x in v]


def level_of(score: float, scale: int) -> int:
    """The level a score falls in: the nearest whole level, halves rounded up, within 1..scale."""
    return int(min(max(np.floor(score + 0.5), 1), scale))


def _matrix_record(node: str, who: str, items: tuple[str, ...], a: np.ndarray, r: MatrixResult,
                   compat: float | None) -> dict[str, Any]:
    rev = None
    if r.revision is not None:
        rv = r.revision
        rev = {"row": items[rv.row], "col": items[rv.col], "current": _r(rv.current), "suggested": _r(rv.suggested),
               "implied": _r(rv.implied), "cr_before": _r(rv.cr_before), "cr_after": _r(rv.cr_after)}
    return {"node": node, "expert": who, "items": list(items), "matrix": [_vec(row) for row in a],
            "priorities": _vec(r.priorities), "priorities_gm": _vec(r.priorities_gm),
            "gm_difference": _r(float(np.abs(r.priorities - r.priorities_gm).max())),
            "lambda_max": _r(r.lambda_max), "ci": _r(r.ci), "ri": r.ri, "cr": _r(r.cr), "consistent": r.consistent,
            "revision": rev, "compatibility": None if compat is None else _r(compat)}


def _matrices(j: Judgments, groups: Mapping[str, GroupNode]) -> list[dict[str, Any]]:
    out = []
    for node, g in groups.items():
        for e in j.experts:
            out.append(_matrix_record(node, e.id, g.items, e.matrices[node], g.experts[e.id], g.compatibility[e.id]))
        out.append(_matrix_record(node, "group", g.items, g.matrix, g.group, None))
    return out


def _stability_records(rows: list[Stability]) -> list[dict[str, Any]]:
    return [{"criterion": s.criterion, "weight": _r(s.weight), "low": _r(s.low), "high": _r(s.high),
             "down": _r(s.down), "up": _r(s.up), "below": s.below, "above": s.above} for s in rows]


def _run_id(f: Figures) -> str | None:
    """The screening run id, or the monitoring run's ``monitor_id``."""
    run = f.data.get("run")
    found = f.data.get("monitor_id") if f.source == "monitor" else None
    if found is None and isinstance(run, Mapping):
        found = run.get("run_id")
    return None if found is None else str(found)


def _measured(j: Judgments, leaf: str, figures: Mapping[str, Figures | None]) -> tuple[float | None, int | None, str]:
    node = j.nodes[leaf]
    if node.indicator is None or node.thresholds is None:
        return None, None, ""
    ind = j.indicators[node.indicator]
    got = figures.get(ind.source)
    if got is None:
        option = "--run" if ind.source == "screen" else "--monitor"
        return None, None, f"not measured: no {option} given"
    value = got.value(ind)
    if value is None:
        return None, None, f"not measured: {ind.path} is null in {got.path}"
    return value, rate(value, node.thresholds), ""


def assess(judgments: Judgments, *, screen: Figures | None = None, monitor: Figures | None = None,
           strict: bool = False) -> dict[str, Any]:
    """Run the whole assessment (see the module text for what the result holds).

    Parameters
    ----------
    judgments : Judgments
        A validated judgments file.
    screen, monitor : Figures, optional
        ``summary.json`` of a screening run / a monitoring run, for the leaves' indicators.
    strict : bool
        Refuse to aggregate when any expert's matrix has CR above 0.10.

    Raises
    ------
    JudgmentsError
        With ``strict`` and an inconsistent matrix.
    IndicatorError
        If an indicator's figure is missing from the file given for its source.
    """
    j = judgments
    groups = aggregate(j, strict=strict)
    weights = global_weights(j, groups)
    aij = weights["aij"]["global"]
    levels_en, levels_zh = LEVELS[j.scale]
    figures = {"screen": screen, "monitor": monitor}
    experts = {e.id: e for e in j.experts}

    leaves: list[dict[str, Any]] = []
    for leaf in j.leaves:
        given = {e.id: e.ratings[leaf] for e in j.experts if leaf in e.ratings}
        wsum = sum(experts[k].weight for k in given)
        rating = sum(experts[k].weight * v for k, v in given.items()) / wsum
        value, measured, note = _measured(j, leaf, figures)
        node = j.nodes[leaf]
        leaves.append({
            "name": leaf, "criterion": j.criterion_of(leaf), "global_weight": _r(aij[leaf]),
            "ratings": given, "rating": _r(rating), "level": level_of(rating, j.scale),
            "contribution": _r(aij[leaf] * rating), "indicator": node.indicator,
            "thresholds": list(node.thresholds) if node.thresholds else None,
            "measured": None if value is None else _r(value), "measured_rating": measured, "measured_note": note,
            "difference": None if measured is None else _r(measured - rating),
            "disagree": None if measured is None else bool(abs(measured - rating) >= j.disagreement - 1e-12),
        })
    by_weight = sorted(leaves, key=lambda x: (-x["global_weight"], x["name"]))
    for rank, x in enumerate(by_weight, start=1):
        x["rank"] = rank
    by_contribution = sorted(leaves, key=lambda x: (-x["contribution"], x["name"]))
    for rank, x in enumerate(by_contribution, start=1):
        x["contribution_rank"] = rank

    criteria_w = {c: aij[c] for c in j.criteria}
    criteria: list[dict[str, Any]] = []
    for c in j.criteria:
        mine = [x for x in leaves if x["criterion"] == c]
        score = sum(aij[x["name"]] * x["rating"] for x in mine) / aij[c]
        criteria.append({"name": c, "weight": _r(aij[c]), "weight_aip": _r(weights["aip"]["global"][c]),
                         "score": _r(score), "level": level_of(score, j.scale)})
    for rank, x in enumerate(sorted(criteria, key=lambda x: (-x["weight"], x["name"])), start=1):
        x["rank"] = rank

    score = sum(aij[x["name"]] * x["rating"] for x in leaves)
    measured_n = sum(1 for x in leaves if x["measured_rating"] is not None)
    mscore = sum(aij[x["name"]] * (x["measured_rating"] if x["measured_rating"] is not None else x["rating"])
                 for x in leaves)
    top_criterion = min(criteria, key=lambda x: x["rank"])["name"]
    under = [x for x in by_weight if x["criterion"] == top_criterion]

    leaf_items = {x["name"]: (x["criterion"], aij[x["name"]]) for x in leaves}
    crit_items = {c: (c, w) for c, w in criteria_w.items()}
    several = len(j.criteria) >= 2

    matrices = _matrices(j, groups)
    individual_bad = [m for m in matrices if m["expert"] != "group" and not m["consistent"]]
    group_bad = [m for m in matrices if m["expert"] == "group" and not m["consistent"]]
    used = {x["indicator"]: j.indicators[x["indicator"]] for x in leaves if x["indicator"]}
    return {
        "judgments": {"file": j.source, "sha256": j.sha256, "title": j.title, "version": j.version,
                      "scale": j.scale, "levels_en": list(levels_en), "levels_zh": list(levels_zh), "goal": j.goal,
                      "disagreement": j.disagreement, "cr_threshold": CR_THRESHOLD, "strict": strict},
        "sources": {k: None if f is None else {"path": f.path, "sha256": f.sha256, "run_id": _run_id(f)}
                    for k, f in figures.items()},
        "experts": [{"id": e.id, "name": e.name, "weight": _r(e.weight)} for e in j.experts],
        "nodes": [{"name": n.name, "en": n.en, "zh": n.zh, "parent": n.parent, "depth": n.depth,
                   "children": list(n.children), "leaf": n.is_leaf,
                   "criterion": None if n.parent is None else j.criterion_of(n.name),
                   "indicator": n.indicator, "measures_en": n.measures_en, "measures_zh": n.measures_zh}
                  for n in j.nodes.values()],
        "indicators": {k: {"source": i.source, "path": i.path, "en": i.en, "zh": i.zh, "unit": i.unit}
                       for k, i in used.items()},
        "matrices": matrices,
        "consistency": {"individual_inconsistent": len(individual_bad), "group_inconsistent": len(group_bad),
                        "matrices": sum(1 for m in matrices if m["expert"] != "group"),
                        "max_gm_difference": _r(max((m["gm_difference"] for m in matrices), default=0.0))},
        "weights": {m: {"local": {k: _r(v) for k, v in w["local"].items()},
                        "global": {k: _r(v) for k, v in w["global"].items()}} for m, w in weights.items()},
        "methods": list(METHODS),
        "criteria": criteria,
        "leaves": leaves,
        "ranking": {"criteria": [x["name"] for x in sorted(criteria, key=lambda x: x["rank"])],
                    "leaves": [x["name"] for x in by_weight],
                    "leaves_by_contribution": [x["name"] for x in by_contribution]},
        "composite": {"score": _r(score), "level": level_of(score, j.scale),
                      "measured_leaves": measured_n, "score_with_measured": _r(mscore),
                      "level_with_measured": level_of(mscore, j.scale),
                      "disagreements": [x["name"] for x in leaves if x["disagree"]]},
        "principal_risk": {"criterion": top_criterion, "weight": _r(criteria_w[top_criterion]),
                           "leaves": [x["name"] for x in under[:3]], "top_leaf": by_weight[0]["name"],
                           "top_contribution": by_contribution[0]["name"],
                           "measures": [n for n in [top_criterion, *(x["name"] for x in under[:3])]
                                        if j.nodes[n].measures_en]},
        "sensitivity": {
            "top_leaf": by_weight[0]["name"], "top_criterion": top_criterion,
            "leaves": _stability_records(stability(criteria_w, leaf_items, j.criteria)) if several else [],
            "criteria": _stability_records(stability(criteria_w, crit_items, j.criteria)) if several else [],
        },
    }
