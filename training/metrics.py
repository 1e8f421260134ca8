"""Model quality measures: pure functions over arrays.

Every function takes the observed outcome ``y`` (1 = defaulted within the horizon, 0 = not) and a
predicted probability of default ``pd_`` (a fraction in [0, 1]) or any score that ranks risk
(higher = riskier), as 1-D arrays of equal length, and returns plain numbers or a small frame.
Nothing here reads files or talks to MLflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score, roc_curve

from models.population import bin_edges
from training.errors import MetricsError

__all__ = [
    "MetricsError",
    "auc",
    "auc_by_group",
    "auc_gap",
    "brier",
    "calibration_error",
    "decile_table",
    "gini",
    "ks",
    "logloss",
    "mean_se",
    "psi",
    "psi_by_feature",
    "summary_metrics",
]


def _arrays(y: Any, score: Any, *, probability: bool = False) -> tuple[np.ndarray, np.ndarray]:
    y_arr = np.asarray(y, dtype=float).ravel()
    s_arr = np.asarray(score, dtype=float).ravel()
    if y_arr.shape != s_arr.shape:
        raise MetricsError(f"outcomes and scores differ in length: {y_arr.size} outcomes, {s_arr.size} scores")
    if y_arr.size == 0:
        raise MetricsError("no rows to measure: outcomes and scores are empty")
    bad_y = ~np.isin(y_arr, (0.0, 1.0))
    if bad_y.any():
        raise MetricsError(f"outcomes must be 0 or 1; row {int(np.argmax(bad_y))} has {float(y_arr[bad_y][0]):g}")
    if not np.isfinite(s_arr).all():
        raise MetricsError(f"scores must be finite; row {int(np.argmax(~np.isfinite(s_arr)))} is not")
    if probability and ((s_arr < 0).any() or (s_arr > 1).any()):
        raise MetricsError(f"probabilities must lie in [0, 1]; got min {s_arr.min():g}, max {s_arr.max():g}")
    return y_arr, s_arr


def _two_classes(y: np.ndarray, what: str) -> None:
    if y.min() == y.max():
        raise MetricsError(f"{what} needs both defaults and non-defaults; all {y.size} outcomes are {y[0]:g}")


def auc(y: Any, score: Any) -> float:
    """Area under the ROC curve (probability that a random default outranks a random non-default).

    Raises
    ------
    MetricsError
        If the lengths differ, an outcome is not 0/1, or only one class is present.
    """
    y_arr, s_arr = _arrays(y, score)
    _two_classes(y_arr, "AUC")
    return float(roc_auc_score(y_arr, s_arr))


def _auc_components(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong's structural components: for each default the share of non-defaults it outranks, for
    each non-default the share of defaults that outrank it (ties count half)."""
    pos, neg = score[y == 1], score[y == 0]
    ranks = rankdata(np.r_[pos, neg])
    v10 = (ranks[:len(pos)] - rankdata(pos)) / len(neg)
    v01 = 1.0 - (ranks[len(pos):] - rankdata(neg)) / len(pos)
    return v10, v01


def auc_gap(y: Any, score_a: Any, score_b: Any) -> tuple[float, float]:
    """AUC of ``score_a`` minus AUC of ``score_b`` on the same rows, and the variance of that difference.

    The variance is DeLong's for two correlated AUCs (DeLong, DeLong and Clarke-Pearson, 1988): both
    scores rank the same defaults against the same non-defaults, so most of their sampling noise cancels
    and the difference is far more precise than either AUC. Its square root is the standard error of the
    gap; gaps measured on disjoint rows (cross-validation folds) add their variances.

    Raises
    ------
    MetricsError
        If the lengths differ, an outcome is not 0/1, a score is not finite, or only one class is present.
    """
    y_arr, a = _arrays(y, score_a)
    _, b = _arrays(y, score_b)
    _two_classes(y_arr, "an AUC gap")
    a10, a01 = _auc_components(y_arr, a)
    b10, b01 = _auc_components(y_arr, b)
    d10, d01 = a10 - b10, a01 - b01
    variance = sum(float(d.var(ddof=1)) / len(d) for d in (d10, d01) if len(d) > 1)
    return float(d10.mean()), variance


def mean_se(variances: Any) -> float:
    """Standard error of the mean of estimates made on disjoint rows, from each one's variance: the
    variances add, so the error is the root of their sum over their count (cross-validation folds)."""
    v = np.asarray(variances, dtype="float64")
    return float(np.sqrt(v.sum()) / v.size)


def gini(y: Any, score: Any) -> float:
    """Gini coefficient (accuracy ratio) ``2 * AUC - 1``."""
    return 2.0 * auc(y, score) - 1.0


def ks(y: Any, score: Any) -> float:
    """Kolmogorov-Smirnov statistic: the largest gap between the cumulative score distributions
    of defaults and non-defaults, a fraction in [0, 1]."""
    y_arr, s_arr = _arrays(y, score)
    _two_classes(y_arr, "KS")
    fpr, tpr, _ = roc_curve(y_arr, s_arr)
    return float(np.max(tpr - fpr))


def brier(y: Any, pd_: Any) -> float:
    """Brier score: mean squared difference between PD and outcome (lower is better)."""
    y_arr, p_arr = _arrays(y, pd_, probability=True)
    return float(brier_score_loss(y_arr, p_arr))


def logloss(y: Any, pd_: Any) -> float:
    """Mean negative log-likelihood of the outcomes under the PDs (natural log; lower is better)."""
    y_arr, p_arr = _arrays(y, pd_, probability=True)
    return float(log_loss(y_arr, np.clip(p_arr, 1e-15, 1 - 1e-15), labels=[0, 1]))


def _equal_count_bins(values: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin index 0..n_bins-1 for each value: sorted by value (ties in row order), cut into equal counts."""
    if n_bins < 1:
        raise MetricsError(f"n_bins must be >= 1, got {n_bins}")
    order = np.argsort(values, kind="stable")
    ranks = np.empty(values.size, dtype=np.int64)
    ranks[order] = np.arange(values.size)
    return (ranks * n_bins // values.size).astype(np.int64)


def decile_table(y: Any, pd_: Any, n_bins: int = 10) -> pd.DataFrame:
    """Expected against observed default rate by PD bin (deciles by default).

    Rows are sorted by PD and cut into ``n_bins`` groups of equal count (ties broken by row order).

    Returns
    -------
    DataFrame
        One row per bin: ``bin`` (0 = lowest PD), ``n``, ``defaults``, ``pd_min``, ``pd_max``,
        ``expected`` (mean PD, a fraction) and ``observed`` (default rate, a fraction).
    """
    y_arr, p_arr = _arrays(y, pd_, probability=True)
    bins = _equal_count_bins(p_arr, n_bins)
    frame = pd.DataFrame({"bin": bins, "y": y_arr, "pd": p_arr})
    table = frame.groupby("bin").agg(n=("y", "size"), defaults=("y", "sum"), pd_min=("pd", "min"),
                                     pd_max=("pd", "max"), expected=("pd", "mean"), observed=("y", "mean"))
    table["defaults"] = table["defaults"].astype(np.int64)
    return table.reset_index()


def calibration_error(y: Any, pd_: Any, n_bins: int = 10) -> float:
    """Mean absolute gap between expected and observed default rate over PD bins (a fraction)."""
    table = decile_table(y, pd_, n_bins)
    return float(np.mean(np.abs(table["expected"] - table["observed"])))


def auc_by_group(y: Any, score: Any, groups: Any) -> dict[str, float]:
    """AUC within each group (e.g. origination vintage); NaN for a group with one class only.

    Returns
    -------
    dict
        Group label (as text, sorted) -> AUC.
    """
    y_arr, s_arr = _arrays(y, score)
    g_arr = np.asarray(groups).ravel()
    if g_arr.size != y_arr.size:
        raise MetricsError(f"groups differ in length from outcomes: {g_arr.size} groups, {y_arr.size} outcomes")
    out: dict[str, float] = {}
    for label in sorted({str(v) for v in g_arr}):
        mask = g_arr.astype(str) == label
        ys = y_arr[mask]
        out[label] = float(roc_auc_score(ys, s_arr[mask])) if ys.min() != ys.max() else float("nan")
    return out


def psi(expected: Any, actual: Any, n_bins: int = 10, *, floor: float = 1e-4) -> float:
    """Population stability index of ``actual`` against ``expected`` (e.g. train -> test).

    Numeric values are cut at the quantiles of ``expected``, a value that holds a bin's share of them
    in a bin of its own (:func:`models.population.bin_edges`; missing values form a bin of their own); anything else (text, categories, booleans) uses one bin per level. Bin shares below
    ``floor`` are raised to it so that an empty bin gives a large but finite index.

    Returns
    -------
    float
        ``sum((a - e) * ln(a / e))`` over bins; below 0.1 is usually read as stable, above 0.25 as
        a material shift.
    """
    e = pd.Series(np.asarray(expected).ravel())
    a = pd.Series(np.asarray(actual).ravel())
    if e.empty or a.empty:
        raise MetricsError(f"PSI needs rows on both sides; got {e.size} expected and {a.size} actual")
    numeric = pd.api.types.is_numeric_dtype(e) and not pd.api.types.is_bool_dtype(e)
    if numeric:
        e_num, a_num = e.astype(float), pd.to_numeric(a, errors="coerce").astype(float)
        finite = e_num.dropna().to_numpy()
        edges = bin_edges(finite, n_bins)

        def labels(s: pd.Series) -> pd.Series:
            values = s.to_numpy()
            codes = np.searchsorted(edges, values, side="right")
            return pd.Series(np.where(np.isnan(values), -1, codes))   # -1: the missing-value bin

        e_lab, a_lab = labels(e_num), labels(a_num)
    else:
        e_lab, a_lab = e.astype(str).fillna("missing"), a.astype(str).fillna("missing")
    e_counts, a_counts = e_lab.value_counts(normalize=True), a_lab.value_counts(normalize=True)
    keys = e_counts.index.union(a_counts.index)   # vectorised: no per-element loop over large frames
    e_share = e_counts.reindex(keys, fill_value=0.0).clip(lower=floor).to_numpy()
    a_share = a_counts.reindex(keys, fill_value=0.0).clip(lower=floor).to_numpy()
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))


def psi_by_feature(train: pd.DataFrame, test: pd.DataFrame, n_bins: int = 10) -> dict[str, float]:
    """PSI train -> test for every column of ``train`` (``test`` must have the same columns)."""
    missing = [c for c in train.columns if c not in test.columns]
    if missing:
        raise MetricsError(f"test frame lacks columns present in train: {', '.join(map(str, missing))}")
    return {str(c): psi(train[c], test[c], n_bins) for c in train.columns}


def summary_metrics(y: Any, pd_: Any, n_bins: int = 10) -> dict[str, float]:
    """The scalar measures of one model on one sample.

    Returns
    -------
    dict
        ``auc``, ``gini``, ``ks``, ``brier``, ``log_loss``, ``calibration_error`` (over ``n_bins``
        PD bins), ``default_rate`` (observed), ``mean_pd`` (expected) and ``n`` (rows).
    """
    y_arr, p_arr = _arrays(y, pd_, probability=True)
    a = auc(y_arr, p_arr)
    out: Mapping[str, float] = {
        "auc": a,
        "gini": 2.0 * a - 1.0,
        "ks": ks(y_arr, p_arr),
        "brier": brier(y_arr, p_arr),
        "log_loss": logloss(y_arr, p_arr),
        "calibration_error": calibration_error(y_arr, p_arr, n_bins),
        "default_rate": float(y_arr.mean()),
        "mean_pd": float(p_arr.mean()),
        "n": float(y_arr.size),
    }
    return dict(out)
