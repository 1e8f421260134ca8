"""One LightGBM booster whose raw score is a weighted sum of several boosters' raw scores.

The model selection (:mod:`training.select`) may weigh several tree families together (a stack). The
rest of poolgate reads one booster: screening, the exact explanations, the reports, the MLflow pyfunc.
A weighted sum of tree ensembles is itself a tree ensemble: every tree of booster ``i`` with its leaf
values multiplied by ``w_i``. Path-dependent TreeSHAP is linear in the leaf values and additive over
trees, so the combined booster's contributions are exactly ``sum_i w_i x contributions_i`` and its raw
score ``sum_i w_i x raw_i``.

The boosters must come from the same :class:`lightgbm.Dataset` (the same features, bins and pandas
categories); the combination is written in LightGBM's own text format, so it is saved and loaded
like any booster (no pickle).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import lightgbm as lgb

__all__ = ["weighted_booster"]

_TREE = re.compile(r"^Tree=\d+\n", re.MULTILINE)
_END = "end of trees"


def _split(text: str) -> tuple[str, list[str], str]:
    """Header (without ``tree_sizes``), tree blocks (without their ``Tree=k`` line), tail."""
    end = text.index(_END)
    body, tail = text[:end], text[end:]
    parts = _TREE.split(body)
    header = "".join(line for line in parts[0].splitlines(keepends=True) if not line.startswith("tree_sizes="))
    return header, parts[1:], tail


def _scale(block: str, weight: float) -> str:
    """A tree block with its leaf values (and internal values) times ``weight``."""
    out = []
    for line in block.splitlines(keepends=True):
        key, sep, values = line.partition("=")
        if sep and key in ("leaf_value", "internal_value"):
            scaled = " ".join(repr(float(v) * weight) for v in values.split())
            line = f"{key}={scaled}\n"
        out.append(line)
    return "".join(out)


def weighted_booster(parts: Sequence[tuple[lgb.Booster, float]]) -> lgb.Booster:
    """The booster whose raw score is ``sum(w * booster.raw)`` over ``parts``.

    Parameters
    ----------
    parts : sequence of (Booster, float)
        Binary boosters fitted on the same dataset, and their weights (any real number; parts with
        weight 0 are left out).

    Raises
    ------
    ValueError
        If no part has a weight, or the boosters' features differ.
    """
    kept = [(b, float(w)) for b, w in parts if float(w) != 0.0]
    if not kept:
        raise ValueError("weighted_booster: no booster with a non-zero weight")
    if len(kept) == 1 and kept[0][1] == 1.0:
        return kept[0][0]
    names = kept[0][0].feature_name()
    for booster, _ in kept:
        if booster.feature_name() != names:
            raise ValueError(f"weighted_booster: features {booster.feature_name()} differ from {names}")
    split = [(_split(booster.model_to_string()), weight) for booster, weight in kept]
    (header, _, tail), _ = split[0]
    blocks = [_scale(tree, weight) for (_, trees, _), weight in split for tree in trees]
    text = header + "".join(f"Tree={k}\n{block}" for k, block in enumerate(blocks)) + tail
    return lgb.Booster(model_str=text)
