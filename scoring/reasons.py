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
from collections.abc import Iterable, Mapping, Sequence
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


def _render(policy: Policy, feature: str, display: str, values: Iterable[object], logodds: Iterable[float],
            points: Iterable[float], language: str) -> list[str]:
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


class _Keyed:
    """Exact keys of a model input column, to handle equal values once.

    A key is a category code or the bit pattern of a float (so ``0.0`` and ``-0.0``, which print
    differently, stay apart); other kinds have no keys and are handled cell by cell.
    """

    def __init__(self, column: pd.Series) -> None:
        self.column = column
        self.floats: np.ndarray | None = None
        self.categories: np.ndarray | None = None
        self.keys: np.ndarray | None = None
        if isinstance(column.dtype, pd.CategoricalDtype):
            self.keys = column.cat.codes.to_numpy()
            self.categories = np.asarray(column.cat.categories, dtype=object)
        elif column.dtype == np.float64:
            self.floats = column.to_numpy(dtype=np.float64)
            self.keys = self.floats.view(np.int64)

    def values(self, rows: np.ndarray) -> np.ndarray:
        """The cells at ``rows`` as Python objects, ``None`` where missing (as ``astype(object)`` gives them)."""
        if self.floats is not None:
            x = self.floats[rows]
            out = x.astype(object)
            out[np.isnan(x)] = None
            return out
        if self.categories is not None and self.keys is not None:
            codes = self.keys[rows]
            out = np.full(codes.shape, None, dtype=object)
            out[codes >= 0] = self.categories[codes[codes >= 0]]
            return out
        col = self.column.iloc[rows]
        return col.astype(object).where(col.notna(), None).to_numpy()


def _value_texts(values: np.ndarray, floats: np.ndarray | None) -> np.ndarray:
    """:func:`value_text` of each of ``values``; ``floats`` are the same values as a float array when they are
    floats (then one tight loop over the present ones)."""
    if floats is None:
        return np.array([value_text(v) for v in values], dtype=object)
    out = np.full(floats.shape, "", dtype=object)
    present = ~np.isnan(floats)
    out[present] = [repr(round(v, 6)) for v in floats[present].tolist()]
    return out


def _float_texts(policy: Policy, feature: str, display: str, floats: np.ndarray, language: str) -> np.ndarray:
    """:func:`reason_text` of float values under templates that use only ``{value}`` and ``{display}``."""
    default = policy.reasons.default[language]
    out = np.full(floats.shape, default.format(value=MISSING_TEXT[language], display=display), dtype=object)
    present = ~np.isnan(floats)
    xs = floats[present].tolist()
    fmt = policy.reasons.template(feature, language).format
    try:
        out[present] = [fmt(value=v, display=display) for v in xs]
    except (ValueError, TypeError):  # a value the template cannot take: word each one as reason_text does
        out[present] = _render(policy, feature, display, xs, [np.nan] * len(xs), [np.nan] * len(xs), language)
    return out


def _top_order(c: np.ndarray, top: int) -> np.ndarray:
    """Column indices of the ``top`` largest values of each row, largest first, ties in column order
    (what a stable descending sort gives, found with ``top`` passes of argmax)."""
    if not np.isfinite(c).all():
        return np.argsort(-c, axis=1, kind="stable")[:, :top]
    work = c.copy()
    order = np.empty((c.shape[0], top), dtype=np.intp)
    every = np.arange(c.shape[0])
    for j in range(top):
        order[:, j] = work.argmax(axis=1)
        work[every, order[:, j]] = -np.inf
    return order


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
    order = _top_order(c, top)
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
    columns: dict[int, _Keyed] = {}
    default_only = _value_only(policy.reasons.default[language])
    for j in range(top):
        for f in np.unique(order[keep[:, j], j]):
            rows = np.flatnonzero(keep[:, j] & (order[:, j] == f))
            col = columns.setdefault(int(f), _Keyed(inputs[feature_names[f]]))
            name = str(names[f])
            display = displays.get(name, name)
            lo, pt = logodds[rows, j], points[rows, j]
            if col.keys is None:
                vals = col.values(rows)
                values[rows, j] = vals
                value_texts[rows, j] = [value_text(v) for v in vals]
                texts[rows, j] = _render(policy, name, display, vals, lo, pt, language)
                continue
            _, first, group = np.unique(col.keys[rows], return_index=True, return_inverse=True)
            group = group.reshape(-1)
            distinct = col.values(rows[first])
            floats = col.floats[rows[first]] if col.floats is not None else None
            values[rows, j] = distinct[group]
            value_texts[rows, j] = _value_texts(distinct, floats)[group]
            if default_only and _value_only(policy.reasons.template(name, language)):
                once = (_float_texts(policy, name, display, floats, language) if floats is not None else
                        np.array(_render(policy, name, display, distinct, lo[first], pt[first], language), dtype=object))
                texts[rows, j] = once[group]
            else:
                texts[rows, j] = _render(policy, name, display, values[rows, j], lo, pt, language)
    return ReasonCodes(features=feats, values=values, logodds=logodds, points=points, texts=texts,
                       value_texts=value_texts)
