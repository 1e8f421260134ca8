"""Sensitivity of the top risk to each criterion's weight.

One criterion's weight ``w_c`` moves to ``t`` while the other criteria keep their proportions
(``w_o -> w_o (1 - t) / (1 - w_c)``), so the weights still sum to 1 and the ranking inside each
criterion does not change. Every leaf's global weight is then linear in ``t``: ``t * L`` for a leaf
under ``c`` (``L`` its weight within ``c``), ``g (1 - t) / (1 - w_c)`` for the others. The top leaf
stays on top on an interval of ``t`` (the intersection of half-lines where it is not overtaken);
the ends of that interval, and the leaf that takes over at each, are exact. The same holds for the
top criterion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Stability", "stability", "weight_lines"]


@dataclass(frozen=True)
class Stability:
    """How far one criterion's weight can move before the top item changes.

    Attributes
    ----------
    criterion : str
    weight : float
        The criterion's weight now.
    low, high : float
        The top item stays on top for weights in ``[low, high]`` (within 0..1).
    below, above : str or None
        The item that takes over below ``low`` / above ``high`` (None when no item does before 0 / 1).
    """

    criterion: str
    weight: float
    low: float
    high: float
    below: str | None
    above: str | None

    @property
    def down(self) -> float:
        """How far the weight can fall: ``weight - low``."""
        return self.weight - self.low

    @property
    def up(self) -> float:
        """How far the weight can rise: ``high - weight``."""
        return self.high - self.weight


def weight_lines(criterion: str, criteria: Mapping[str, float], items: Mapping[str, tuple[str, float]]
                 ) -> dict[str, tuple[float, float]]:
    """Each item's global weight as ``slope * t + intercept`` in the criterion's weight ``t``.

    Parameters
    ----------
    criterion : str
        The criterion whose weight moves.
    criteria : mapping of str to float
        Every criterion's weight now (sums to 1).
    items : mapping of str to (criterion, global weight)
        The items ranked (leaves, or the criteria themselves) with the criterion above them.
    """
    wc = criteria[criterion]
    rest = 1.0 - wc
    lines: dict[str, tuple[float, float]] = {}
    for name, (crit, g) in items.items():
        if crit == criterion:
            lines[name] = (g / wc if wc > 0 else 0.0, 0.0)
        else:
            lines[name] = (-g / rest, g / rest)
    return lines


def stability(criteria: Mapping[str, float], items: Mapping[str, tuple[str, float]],
              order: Sequence[str] | None = None) -> list[Stability]:
    """For every criterion, the range of its weight over which the top item stays on top.

    Parameters
    ----------
    criteria : mapping of str to float
        Criterion weights (sum 1); at least two criteria, each weight strictly between 0 and 1.
    items : mapping of str to (criterion, global weight)
        Items ranked by global weight: the leaves (with the criterion above each) or the criteria
        (each its own criterion).
    order : sequence of str, optional
        Criteria to report, in this order (default: mapping order).
    """
    top = min(items, key=lambda k: (-items[k][1], k))  # the largest global weight; ties by name
    out: list[Stability] = []
    for c in order or list(criteria):
        wc = criteria[c]
        if not 0.0 < wc < 1.0:
            continue
        lines = weight_lines(c, criteria, items)
        a_top, b_top = lines[top]
        low, high, below, above = 0.0, 1.0, None, None
        for name, (a, b) in lines.items():
            if name == top:
                continue
            slope, gap = a_top - a, b_top - b  # top - other = slope * t + gap >= 0
            if abs(slope) < 1e-15:
                continue
            t = -gap / slope
            if slope > 0 and t > low:
                low, below = min(t, wc), name
            elif slope < 0 and t < high:
                high, above = max(t, wc), name
        out.append(Stability(criterion=c, weight=wc, low=float(np.clip(low, 0.0, 1.0)),
                             high=float(np.clip(high, 0.0, 1.0)), below=below if low > 0 else None,
                             above=above if high < 1 else None))
    return out
