"""Reason codes: the features that pushed an asset's risk up most, with readable texts.

Reference point: LightGBM's contributions (``pred_contrib=True``, TreeSHAP) explain the raw score
relative to the model's *base value*, its expected raw score over the training data. For every row,
``contributions.sum() + base_value == raw score`` (log-odds before calibration). A positive
contribution raised this lessee's log-odds of default above that average. The reason codes are the
``top_n`` largest positive contributions (above ``min_logodds``); ties keep the model's feature order.

Points: with Platt calibration ``pd = sigmoid(a + b * raw)`` and the policy's scaling
``score = offset + factor * ln((1 - pd) / pd)``, a contribution ``c`` is worth ``-factor * b * c``
score points (negative: it lowered the score).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.policy import Policy

__all__ = ["MISSING_TEXT", "ReasonCodes", "reason_codes", "reason_text"]

MISSING_TEXT = {"en": "missing", "zh": "缺失"}


@dataclass(frozen=True)
class ReasonCodes:
    """Top reasons of each row; empty slots hold ``""`` and ``NaN``.

    Attributes
    ----------
    features : ndarray of object, shape (n, top_n)
        Feature names.
    values : ndarray of object, shape (n, top_n)
        The model input value of that feature for the row.
    logodds : ndarray of float, shape (n, top_n)
        Contribution to the raw log-odds of default.
    points : ndarray of float, shape (n, top_n)
        The same contribution in score points (negative lowers the score).
    texts : ndarray of object, shape (n, top_n)
        Readable text from the policy templates.
    """

    features: np.ndarray
    values: np.ndarray
    logodds: np.ndarray
    points: np.ndarray
    texts: np.ndarray


def reason_text(policy: Policy, feature: str, value: object, display: str, logodds: float, points: float,
                language: str | None = None) -> str:
    """Render one reason from the policy's template for ``feature`` (or the default template).

    A missing value, or a value the feature's number format cannot take (a category), is shown with
    the default template.
    """
    lang = language or policy.language
    missing = value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))
    fields = {"display": display, "logodds": logodds, "points": points}
    if not missing:
        try:
            return policy.reasons.template(feature, lang).format(value=value, **fields)
        except (ValueError, TypeError):
            pass
    shown = MISSING_TEXT[lang] if missing else value
    return policy.reasons.default[lang].format(value=shown, **fields)


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
    columns = [inputs[name] for name in feature_names]
    for j in range(top):
        for f in np.unique(order[keep[:, j], j]):
            rows = np.flatnonzero(keep[:, j] & (order[:, j] == f))
            col = columns[f].iloc[rows]
            vals = col.astype(object).where(col.notna(), None).to_numpy()
            values[rows, j] = vals
            name = str(names[f])
            display = displays.get(name, name)
            texts[rows, j] = [reason_text(policy, name, v, display, lo, pt)
                              for v, lo, pt in zip(vals, logodds[rows, j], points[rows, j])]
    return ReasonCodes(features=feats, values=values, logodds=logodds, points=points, texts=texts)
