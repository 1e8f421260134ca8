"""The training population in a few kilobytes, and a pool's stability against it.

A *population profile* is a JSON-safe summary of the data a model was trained on: for each model
input, the bins that :func:`training.metrics.psi` would use (cut points at the training deciles, a
value that holds a decile's share of the rows in a bin of its own (:func:`bin_edges`), missing values
in a bin of their own; one bin per level for categorical inputs) and the share
of training rows in each, plus 101 quantiles of the training PD and score. Training stores it in the
model bundle's metadata under ``population`` (see :func:`population_profile`), so a report can draw
the training distributions and compute the population stability index (PSI) of a pool without the
training data itself.

PSI reading (the usual convention): below 0.1 stable, 0.1 to 0.25 a moderate shift worth a look,
above 0.25 a material shift.

Pure functions of frames and arrays; imports only ``features``, numpy and pandas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from features.exceptions import ConfigError

__all__ = [
    "PSI_ALERT",
    "PSI_WARN",
    "bin_edges",
    "population_profile",
    "profile_frame",
    "profile_scores",
    "psi_against_profile",
    "psi_level",
]

PSI_WARN = 0.1
PSI_ALERT = 0.25
_FLOOR = 1e-4  # share floor, as in training.metrics.psi
_MISSING = "missing"


def _numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def bin_edges(finite: np.ndarray, n_bins: int = 10) -> np.ndarray:
    """Cut points of numeric values for a stability index: bin ``i`` holds ``edges[i-1] <= v < edges[i]``.

    The values' ``n_bins``-quantiles, and around every value that holds at least ``1 / n_bins`` of the
    rows (a mass point) a bin of its own. Quantiles alone merge a mass point with everything above it:
    a yes/no input that is 5 % yes (new-energy vehicles in a petrol-era book) has nine deciles at 0, so
    one cut point and one bin, and no shift of it could show (30 % yes in a pool read as PSI 0).
    """
    finite = np.asarray(finite, dtype=float)
    if not finite.size:
        return np.empty(0)
    cuts = np.quantile(finite, np.linspace(0, 1, n_bins + 1)[1:-1])
    values, counts = np.unique(finite, return_counts=True)
    mass = values[counts >= finite.size / n_bins]
    above = np.searchsorted(values, mass, side="right")  # the next value up closes the mass point's bin
    return np.unique(np.concatenate([cuts, mass, values[above[above < values.size]]]))


def profile_frame(frame: pd.DataFrame, n_bins: int = 10) -> dict[str, dict[str, Any]]:
    """Bins and shares of every column of ``frame`` (the training population's model inputs).

    Parameters
    ----------
    frame : DataFrame
        One row per training contract, one column per model input.
    n_bins : int
        Quantile bins for numeric columns (fewer when values repeat; a mass point gets its own, :func:`bin_edges`).

    Returns
    -------
    dict
        Column -> ``{"kind": "numeric", "edges": [...], "shares": {bin: share}}`` where bin ``"i"`` holds
        values with ``edges[i-1] <= v < edges[i]`` and ``"missing"`` the empty ones, or
        ``{"kind": "categorical", "shares": {level: share}}``. Shares are fractions summing to 1.
    """
    if frame.empty:
        raise ConfigError("population profile: the training frame has no rows")
    out: dict[str, dict[str, Any]] = {}
    for col in frame.columns:
        s = frame[col]
        if _numeric(s):
            x = s.astype(float)
            finite = x.dropna().to_numpy()
            edges = bin_edges(finite, n_bins).tolist()
            labels = _numeric_labels(x, edges)
            out[str(col)] = {"kind": "numeric", "edges": [float(e) for e in edges],
                             "shares": _shares(labels)}
        else:
            out[str(col)] = {"kind": "categorical", "shares": _shares(_level_labels(s))}
    return out


def profile_scores(pd_: Sequence[float] | np.ndarray, score: Sequence[float] | np.ndarray) -> dict[str, list[float]]:
    """101 quantiles (0 %, 1 %, ..., 100 %) of the training PD (fraction) and score (points), and ``n``."""
    q = np.linspace(0, 1, 101)
    p = np.asarray(pd_, dtype=float)
    s = np.asarray(score, dtype=float)
    return {"n": int(np.isfinite(p).sum()), "pd_quantiles": np.quantile(p[np.isfinite(p)], q).tolist(),
            "score_quantiles": np.quantile(s[np.isfinite(s)], q).tolist()}


def population_profile(inputs: pd.DataFrame, pd_: Sequence[float] | np.ndarray,
                       score: Sequence[float] | np.ndarray) -> dict[str, Any]:
    """The profile a model bundle keeps in ``metadata["population"]``.

    Parameters
    ----------
    inputs : DataFrame
        Model inputs of the training population (``LeaseModel.transform`` of its records).
    pd_ : array-like
        Calibrated PD of the same rows, fractions.
    score : array-like
        Score of the same rows, points.

    Returns
    -------
    dict
        ``{"features": profile_frame(inputs), "scores": profile_scores(pd_, score)}``, JSON-safe.
    """
    return {"features": profile_frame(inputs), "scores": profile_scores(pd_, score)}


def _numeric_labels(x: pd.Series, edges: Sequence[float]) -> pd.Series:
    codes = pd.Series(np.searchsorted(np.asarray(edges, dtype=float), x.to_numpy(), side="right"),
                      index=x.index).astype(str)
    return codes.where(x.notna(), _MISSING)


def _level_labels(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna(), _MISSING).astype(str)


def _shares(labels: pd.Series) -> dict[str, float]:
    counts = labels.value_counts(normalize=True)
    return {str(k): float(v) for k, v in sorted(counts.items())}


def psi_against_profile(profile: Mapping[str, Mapping[str, Any]], frame: pd.DataFrame) -> pd.DataFrame:
    """PSI of each profiled column of ``frame`` (the pool) against the training profile.

    Uses the profile's bins; shares below 1e-4 are raised to it, as :func:`training.metrics.psi` does.

    Returns
    -------
    DataFrame
        One row per column present in both: ``feature``, ``psi``, ``level`` (``stable``, ``watch``
        above :data:`PSI_WARN`, ``shift`` above :data:`PSI_ALERT`), ``largest_bin`` (the bin whose
        share moved most) and its ``train_share`` and ``pool_share``; sorted by PSI, largest first.
    """
    rows = []
    for col, prof in profile.items():
        if col not in frame.columns:
            continue
        s = frame[col]
        if prof.get("kind") == "numeric":
            labels = _numeric_labels(pd.to_numeric(s, errors="coerce").astype(float), prof.get("edges", []))
        else:
            labels = _level_labels(s)
        expected = {str(k): float(v) for k, v in prof["shares"].items()}
        actual = _shares(labels) if len(labels) else {}
        keys = sorted(set(expected) | set(actual))
        e = np.clip(np.array([expected.get(k, 0.0) for k in keys]), _FLOOR, None)
        a = np.clip(np.array([actual.get(k, 0.0) for k in keys]), _FLOOR, None)
        value = float(np.sum((a - e) * np.log(a / e)))
        j = int(np.argmax(np.abs(a - e)))
        rows.append({"feature": col, "psi": value, "level": psi_level(value),
                     "largest_bin": _bin_text(prof, keys[j]), "train_share": expected.get(keys[j], 0.0),
                     "pool_share": actual.get(keys[j], 0.0)})
    table = pd.DataFrame(rows, columns=["feature", "psi", "level", "largest_bin", "train_share", "pool_share"])
    return table.sort_values("psi", ascending=False, kind="stable").reset_index(drop=True)


def psi_level(value: float) -> str:
    """``stable`` (< 0.1), ``watch`` (0.1 to 0.25) or ``shift`` (> 0.25)."""
    if value > PSI_ALERT:
        return "shift"
    if value > PSI_WARN:
        return "watch"
    return "stable"


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def _bin_text(prof: Mapping[str, Any], key: str) -> str:
    """Readable bin: ``[a, b)`` for numeric bins, the level for categorical ones."""
    if prof.get("kind") != "numeric" or key == _MISSING:
        return key
    edges = prof.get("edges", [])
    i = int(key)
    lo = _num(edges[i - 1]) if i > 0 else "-inf"
    hi = _num(edges[i]) if i < len(edges) else "inf"
    return f"[{lo}, {hi})"
