"""Reason codes: the features that pushed an asset's risk up most, with readable texts.

Reference point: LightGBM's contributions (``pred_contrib=True``, TreeSHAP) explain the raw score
relative to the model's *base value*, its expected raw score over the training data. For every row,
``contributions.sum() + base_value == raw score`` (log-odds before calibration). A positive
contribution raised this lessee's log-odds of default above that average. The reason codes are the
``top_n`` largest positive contributions (above ``min_logodds``); ties keep the model's feature order.

Points: with Platt calibration ``pd = sigmoid(a + b * raw)`` and the policy's scaling
``score = offset + factor * ln((1 - pd) / pd)``, a contribution ``c`` is worth ``-factor * b * c``
score points (negative: it lowered the score).

Speed: a text that depends only on the value (templates using just ``{value}`` and ``{display}``)
is formatted once per distinct value of a feature in a chunk and shared by the rows holding it;
"distinct" means the same category or the same float bit pattern, so every row gets exactly the
text it would get on its own.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.policy import Policy

__all__ = ["MISSING_TEXT", "ReasonCodes", "reason_codes", "reason_text", "value_text"]

MISSING_TEXT = {"en": "missing", "zh": "缺失"}


@dataclass(frozen=True)
class ReasonCodes:
    """Top reasons of each row; empty slots hold ``""`` and ``NaN``.

    Attributes
    ----------
    features : ndarray of object, shape (n, top_n)
        Feature names.
    values : ndarray of object, shape (n, top_n)
        The model input value of that feature for the row (``None`` where missing or empty).
    logodds : ndarray of float, shape (n, top_n)
        Contribution to the raw log-odds of default.
    points : ndarray of float, shape (n, top_n)
        The same contribution in score points (negative lowers the score).
    texts : ndarray of object, shape (n, top_n)
        Readable text from the policy templates.
    value_texts : ndarray of object, shape (n, top_n)
        ``values`` as written in the decision files (:func:`value_text`).
    """

    features: np.ndarray
    values: np.ndarray
    logodds: np.ndarray
    points: np.ndarray
    texts: np.ndarray
    value_texts: np.ndarray


def value_text(value: object) -> str:
    """A model input value as written in the decision files: ``""`` when missing, a float rounded to
    6 decimals (shortest repr), anything else as ``str``."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if np.isnan(value) else repr(round(value, 6))
    return str(value)


def _render(policy: Policy, feature: str, display: str, values: Sequence[object], logodds: Sequence[float],
            points: Sequence[float], language: str) -> list[str]:
    """:func:`reason_text` of many values of one feature (one template lookup for all)."""
    own = policy.reasons.template(feature, language)
    default = policy.reasons.default[language]
    missing_text = MISSING_TEXT[language]
    out: list[str] = []
    for value, lo, pt in zip(values, logodds, points):
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            out.append(default.format(value=missing_text, display=display, logodds=lo, points=pt))
            continue
        try:
            out.append(own.format(value=value, display=display, logodds=lo, points=pt))
        except (ValueError, TypeError):
            out.append(default.format(value=value, display=display, logodds=lo, points=pt))
    return out


def reason_text(policy: Policy, feature: str, value: object, display: str, logodds: float, points: float,
                language: str | None = None) -> str:
    """Render one reason from the policy's template for ``feature`` (or the default template).

    A missing value, or a value the feature's number format cannot take (a category), is shown with
    the default template.
    """
    return _render(policy, feature, display, [value], [logodds], [points], language or policy.language)[0]


def _value_only(template: str) -> bool:
    """True if ``template`` uses no field but ``{value}`` and ``{display}`` (and no nested field)."""
    for _, name, spec, _ in string.Formatter().parse(template):
        if name is not None and (name not in ("value", "display") or "{" in (spec or "")):
            return False
    return True


def _distinct(column: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """Group equal values of ``column``: (a position of each distinct value, the group of every position).

    Only exact keys are used: category codes, or the bit pattern of a float (so ``0.0`` and ``-0.0``,
    which print differently, stay apart). None for other kinds.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        key = column.cat.codes.to_numpy()
    elif column.dtype == np.float64:
        key = column.to_numpy(dtype=np.float64).view(np.int64)
    else:
        return None
    _, first, group = np.unique(key, return_index=True, return_inverse=True)
    return first, group.reshape(-1)


def reason_codes(contributions: np.ndarray, inputs: pd.DataFrame, feature_names: Sequence[str],
                 displays: Mapping[str, str], policy: Policy, points_per_logodds: float) -> ReasonCodes:
    """Pick and word the top reasons of every row.

    Parameters
    ----------
    contributions : ndarray, shape (n, k)
        Log-odds contributions of the ``k`` model inputs (bias column excluded).
    inputs : DataFrame, shape (n, k)
        Model inputs (for the values quoted in the texts); columns ``feature_names``.
    feature_names : sequence of str, length k
    displays : mapping of str to str
        Display name of each feature in the policy's language (the name itself where absent).
    policy : Policy
        ``reasons.top_n``, ``reasons.min_logodds`` and the templates.
    points_per_logodds : float
        Score points per unit of raw log-odds (``-factor * b``).
    """
    c = np.asarray(contributions, dtype="float64")
    n, k = c.shape
    top = min(policy.reasons.top_n, k)
    width = policy.reasons.top_n
    language = policy.language
    order = np.argsort(-c, axis=1, kind="stable")[:, :top]
    picked = np.take_along_axis(c, order, axis=1)
    keep = picked > policy.reasons.min_logodds
    names = np.asarray(feature_names, dtype=object)
    feats = np.full((n, width), "", dtype=object)
    values = np.full((n, width), None, dtype=object)
    logodds = np.full((n, width), np.nan)
    feats[:, :top] = np.where(keep, names[order], "")
    logodds[:, :top] = np.where(keep, picked, np.nan)
    points = logodds * points_per_logodds
    texts = np.full((n, width), "", dtype=object)
    value_texts = np.full((n, width), "", dtype=object)
    columns = [inputs[name] for name in feature_names]
    for j in range(top):
        for f in np.unique(order[keep[:, j], j]):
            rows = np.flatnonzero(keep[:, j] & (order[:, j] == f))
            col = columns[f].iloc[rows]
            vals = col.astype(object).where(col.notna(), None).to_numpy()
            values[rows, j] = vals
            name = str(names[f])
            display = displays.get(name, name)
            lo, pt = logodds[rows, j], points[rows, j]
            groups = _distinct(col)
            if groups is None:
                value_texts[rows, j] = [value_text(v) for v in vals]
                texts[rows, j] = _render(policy, name, display, vals, lo, pt, language)
                continue
            first, group = groups
            value_texts[rows, j] = np.array([value_text(v) for v in vals[first]], dtype=object)[group]
            if _value_only(policy.reasons.template(name, language)) and _value_only(policy.reasons.default[language]):
                texts[rows, j] = np.array(_render(policy, name, display, vals[first], lo[first], pt[first], language),
                                          dtype=object)[group]
            else:
                texts[rows, j] = _render(policy, name, display, vals, lo, pt, language)
    return ReasonCodes(features=feats, values=values, logodds=logodds, points=points, texts=texts,
                       value_texts=value_texts)
