"""Figures logged with every training run: ROC, KS, calibration by PD decile, SHAP summary.

Figures are built with matplotlib's object interface (``matplotlib.figure.Figure``), so no global
pyplot state or GUI backend is involved; the caller saves or logs them.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import roc_curve

from reports.fonts import cjk_fallback
from training.metrics import decile_table

__all__ = ["calibration_figure", "ks_figure", "roc_figure", "shap_summary_figure"]


def roc_figure(y: np.ndarray, scores: Mapping[str, np.ndarray], title: str = "ROC, out-of-time") -> Figure:
    """ROC curves of one or more scores on the same outcomes (legend shows each AUC)."""
    from training.metrics import auc

    fig = Figure(figsize=(5.5, 5))
    ax = fig.add_subplot()
    for name, s in scores.items():
        fpr, tpr, _ = roc_curve(y, s)
        ax.plot(fpr, tpr, label=f"{name} (AUC {auc(y, s):.4f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    ax.set(xlabel="false positive rate (non-defaults flagged)", ylabel="true positive rate (defaults caught)",
           title=title, xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def ks_figure(y: np.ndarray, pd_: np.ndarray, title: str = "KS, out-of-time") -> Figure:
    """Cumulative share of defaults and of non-defaults by PD, with the KS gap marked."""
    y = np.asarray(y)
    order = np.argsort(-np.asarray(pd_), kind="stable")
    ys = y[order]
    cum_bad = np.cumsum(ys) / max(ys.sum(), 1)
    cum_good = np.cumsum(1 - ys) / max((1 - ys).sum(), 1)
    share = np.arange(1, ys.size + 1) / ys.size
    k = int(np.argmax(cum_bad - cum_good))
    fig = Figure(figsize=(5.5, 4.5))
    ax = fig.add_subplot()
    ax.plot(share, cum_bad, label="defaults")
    ax.plot(share, cum_good, label="non-defaults")
    ax.vlines(share[k], cum_good[k], cum_bad[k], colors="black", linestyles="--",
              label=f"KS {cum_bad[k] - cum_good[k]:.4f}")
    ax.set(xlabel="share of contracts, highest PD first", ylabel="cumulative share", title=title,
           xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def calibration_figure(y: np.ndarray, pds: Mapping[str, np.ndarray], n_bins: int = 10,
                       title: str = "Expected vs observed default rate by PD decile") -> Figure:
    """Mean PD against observed default rate per PD decile, for one or more PD columns."""
    fig = Figure(figsize=(5.5, 5))
    ax = fig.add_subplot()
    top = 0.0
    for name, p in pds.items():
        table = decile_table(y, p, n_bins)
        ax.plot(table["expected"], table["observed"], marker="o", label=name)
        top = max(top, float(table["expected"].max()), float(table["observed"].max()))
    top = top * 1.05 or 1.0
    ax.plot([0, top], [0, top], color="grey", linestyle=":", linewidth=1)
    ax.set(xlabel="expected default rate (mean PD)", ylabel="observed default rate", title=title,
           xlim=(0, top), ylim=(0, top))
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def shap_summary_figure(contributions: pd.DataFrame, values: pd.DataFrame, *, max_features: int = 15,
                        seed: int = 0, max_points: int = 2000) -> Figure:
    """A SHAP beeswarm drawn by ``shap.plots.beeswarm`` (into this figure's axes, no pyplot state): one
    row per feature (largest mean |contribution| on top), one dot per asset at its contribution
    (log-odds), coloured by the feature's value (blue low, red high, between its 5th and 95th
    percentiles; grey for categories and missing values).

    Parameters
    ----------
    contributions : DataFrame, shape (n, k)
        Per-asset contributions in log-odds (``LeaseModel.explain(...).contributions``).
    values : DataFrame, shape (n, k)
        The model inputs the contributions belong to (same columns).
    seed, max_points : int
        More than ``max_points`` assets are subsampled with ``seed``.
    """
    import shap

    if len(contributions) > max_points:
        take = np.sort(np.random.default_rng(seed).choice(len(contributions), size=max_points, replace=False))
        contributions, values = contributions.iloc[take], values.iloc[take]
    importance = contributions.abs().mean().sort_values(ascending=False)
    names = list(importance.index[:max_features])
    data = np.column_stack([_numbers(values[name]) if name in values.columns else np.full(len(contributions), np.nan)
                            for name in names])
    fig = Figure(figsize=(7, 0.35 * len(names) + 1.5))
    ax = fig.add_subplot()
    explanation = shap.Explanation(values=contributions[names].to_numpy(dtype=float), data=data, feature_names=names)
    state = np.random.get_state()   # shap jitters the dots with NumPy's global generator: seeded, the plot repeats
    np.random.seed(seed)
    with warnings.catch_warnings():  # an all-missing (categorical) column: shap's colour range is NaN
        warnings.filterwarnings("ignore", "All-NaN slice encountered", RuntimeWarning)
        shap.plots.beeswarm(explanation, max_display=len(names), order=np.arange(len(names)), ax=ax, show=False,
                            plot_size=None, s=6, alpha=0.8)
    np.random.set_state(state)
    ax.set(xlabel="contribution to the raw score (log-odds; right = riskier)",
           title="SHAP summary, out-of-time sample")
    with cjk_fallback(fig):   # a mapping's Chinese column names: drawn in a CJK font (reports/fonts.py)
        fig.tight_layout()
    return fig


def _numbers(column: pd.Series) -> np.ndarray:
    """A numeric input as floats; categories and booleans as NaN (drawn grey)."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return pd.to_numeric(column).to_numpy(dtype=float, na_value=np.nan)
    return np.full(len(column), np.nan)
