"""Charts for the reports: matplotlib figures rendered to base64 PNG text.

Figures are built with :class:`matplotlib.figure.Figure` and the Agg canvas directly, never through
``pyplot``, so no global figure state is kept and nothing needs closing; each function returns the
PNG as base64 text ready for :func:`reports.html.figure`. Labels are plain text passed in by the
caller (display names from the feature specification); charts never invent names.

Colours: risk-increasing contributions in red, risk-decreasing in blue; pool in orange, training
population in grey-blue.
"""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from reports.fonts import cjk_fallback

__all__ = [
    "auc_by_vintage_chart",
    "bar_chart",
    "beeswarm",
    "calibration_chart",
    "hist_overlay",
    "ks_chart",
    "roc_chart",
    "to_png",
    "waterfall",
]

UP = "#c0392b"      # pushes risk up
DOWN = "#2e6da4"    # pushes risk down
POOL = "#e08a1e"
TRAIN = "#5b7a99"
INK = "#1d2733"
GRID = "#dfe4ea"
_DPI = 96


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=_DPI)
    FigureCanvasAgg(fig)
    return fig


def _style(ax: object) -> None:
    ax.spines["top"].set_visible(False)  # type: ignore[attr-defined]
    ax.spines["right"].set_visible(False)  # type: ignore[attr-defined]
    ax.grid(True, color=GRID, linewidth=0.7)  # type: ignore[attr-defined]
    ax.set_axisbelow(True)  # type: ignore[attr-defined]
    ax.tick_params(labelsize=8, colors=INK)  # type: ignore[attr-defined]


def to_png(fig: Figure) -> str:
    """Render ``fig`` as PNG and return it as base64 text (no ``data:`` prefix)."""
    buf = io.BytesIO()
    with cjk_fallback(fig):  # Chinese labels in a CJK font found explicitly (reports/fonts.py)
        fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight", facecolor="white",
                    metadata={"Software": None})
    fig.clear()
    return base64.b64encode(buf.getvalue()).decode("ascii")


def bar_chart(labels: Sequence[str], values: Sequence[float], *, title: str = "", xlabel: str = "",
              color: str = DOWN, value_format: str = "{:,.0f}", width: float = 6.4) -> str:
    """Horizontal bars, first label on top, each bar annotated with its value."""
    n = max(len(labels), 1)
    fig = _figure(width, 0.8 + 0.28 * n)
    ax = fig.add_subplot()
    y = np.arange(len(labels))[::-1]
    vals = np.asarray(values, dtype=float)
    ax.barh(y, vals, color=color, height=0.65)
    ax.set_yticks(y, [str(s) for s in labels])
    top = float(np.nanmax(vals)) if vals.size else 1.0
    for yi, v in zip(y, vals):
        ax.text(v + 0.01 * (top or 1.0), yi, value_format.format(v), va="center", fontsize=7.5, color=INK)
    ax.set_xlim(0, (top or 1.0) * 1.15)
    _style(ax)
    ax.grid(False, axis="y")
    ax.set_xlabel(xlabel, fontsize=8.5)
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    return to_png(fig)


def hist_overlay(pool: np.ndarray, reference: np.ndarray | None = None, *, reference_quantiles: Sequence[float] | None = None,
                 reference_count: int | None = None, bins: int = 40, title: str = "", xlabel: str = "",
                 pool_label: str = "pool", reference_label: str = "training population", log_x: bool = False) -> str:
    """Two distributions on shared bins, each as a share of its own count (so sizes do not matter).

    The reference is given either as values (``reference``) or, when only a summary is kept, as
    evenly spaced quantiles (``reference_quantiles``, 0 % to 100 %): its share in each bin is then
    read from the piecewise-linear distribution function through those quantiles.
    """
    p = np.asarray(pool, dtype=float)
    p = p[np.isfinite(p)]
    r = np.asarray(reference if reference is not None else [], dtype=float)
    r = r[np.isfinite(r)]
    q = np.asarray(reference_quantiles if reference_quantiles is not None else [], dtype=float)
    both = np.concatenate([p, r, q]) if p.size + r.size + q.size else np.array([0.0, 1.0])
    if log_x:
        low = max(float(both[both > 0].min()) if (both > 0).any() else 1e-4, 1e-5)
        edges = np.geomspace(low, max(float(both.max()), low * 10), bins + 1)
    else:
        edges = np.histogram_bin_edges(both, bins=bins)
    fig = _figure(6.0, 3.0)
    ax = fig.add_subplot()
    if q.size:
        shares = np.diff(np.interp(edges, q, np.linspace(0, 1, q.size)))
        n_text = f" (n={reference_count:,})" if reference_count else ""
        ax.stairs(shares, edges, fill=True, alpha=0.35, color=TRAIN)
        ax.stairs(shares, edges, linewidth=1.4, color=TRAIN, label=f"{reference_label}{n_text}")
    series = ((r, TRAIN, reference_label), (p, POOL, pool_label)) if r.size else ((p, POOL, pool_label),)
    for data, color, label in series:
        if data.size:
            w = np.full(data.size, 1.0 / data.size)
            shares, _ = np.histogram(data, bins=edges, weights=w)
            ax.stairs(shares, edges, fill=True, alpha=0.35, color=color)
            ax.stairs(shares, edges, linewidth=1.4, color=color, label=f"{label} (n={data.size:,})")
    if log_x:
        ax.set_xscale("log")
    _style(ax)
    ax.set_xlabel(xlabel, fontsize=8.5)
    ax.set_ylabel("share of assets", fontsize=8.5)
    ax.legend(fontsize=8, frameon=False)
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    return to_png(fig)


def beeswarm(contributions: np.ndarray, values: np.ndarray, labels: Sequence[str], *, max_points: int = 2000,
             seed: int = 0, title: str = "") -> str:
    """SHAP summary drawn by ``shap.plots.beeswarm``: one row per feature (in ``labels`` order, top
    first), one dot per asset at its contribution (log-odds), coloured by the asset's feature value
    (blue low, red high, between the 5th and 95th percentiles; grey when missing or categorical).

    shap draws into this module's Agg figure (its ``ax``), so no pyplot state is used.

    Parameters
    ----------
    contributions : ndarray (n, k)
        Contributions in log-odds of the raw score, features in ``labels`` order (top first).
    values : ndarray (n, k)
        Feature values as floats (NaN for missing or categorical), same shape.
    max_points : int
        Assets drawn; a larger pool is subsampled with ``seed`` (the plot says so).
    """
    import shap

    c = np.asarray(contributions, dtype=float)
    v = np.asarray(values, dtype=float)
    n, k = c.shape
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(n, size=max_points, replace=False)) if n > max_points else np.arange(n)
    fig = _figure(6.8, 0.9 + 0.42 * k)
    ax = fig.add_subplot()
    explanation = shap.Explanation(values=c[idx], data=v[idx], feature_names=[str(s) for s in labels])
    with warnings.catch_warnings():  # an all-missing (categorical) column: shap's colour range is NaN
        warnings.filterwarnings("ignore", "All-NaN slice encountered", RuntimeWarning)
        shap.plots.beeswarm(explanation, max_display=k, order=np.arange(k), ax=ax, show=False, plot_size=None,
                            color=_risk_cmap(), s=6, alpha=0.8)
    shown = f"{len(idx):,} of {n:,} assets" if n > max_points else f"{n:,} assets"
    ax.set_xlabel(f"contribution to risk (log-odds); {shown}; colour: feature value low (blue) to high (red)",
                  fontsize=8)
    ax.tick_params(labelsize=8, colors=INK)
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    return to_png(fig)


def _risk_cmap():  # type: ignore[no-untyped-def]
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("lowhigh", [DOWN, "#b9a3c7", UP])


def waterfall(base_value: float, contributions: Mapping[str, float], *, final_label: str = "raw score",
              max_features: int = 10, title: str = "", value_texts: Mapping[str, str] | None = None) -> str:
    """One asset's path from the base value to its raw score (log-odds), largest contributions first.

    Contributions beyond ``max_features`` are summed into one "other features" bar, so the last bar
    still ends at ``base_value + sum(contributions)``. ``value_texts`` adds the asset's value to each
    label (e.g. ``"payment-to-income = 0.62"``).
    """
    items = sorted(contributions.items(), key=lambda kv: -abs(kv[1]))
    shown, rest = items[:max_features], items[max_features:]
    if rest:
        shown.append((f"{len(rest)} other features", float(sum(v for _, v in rest))))
    texts = value_texts or {}
    labels = [f"{name} = {texts[name]}" if name in texts else name for name, _ in shown]
    rows = len(shown)
    fig = _figure(6.6, 1.2 + 0.3 * rows)
    ax = fig.add_subplot()
    steps = base_value + np.concatenate([[0.0], np.cumsum([v for _, v in shown])])
    final = float(steps[-1])
    span = float(steps.max() - steps.min()) or 1.0
    for i, (_, val) in enumerate(shown):
        y = rows - 1 - i
        left = float(steps[i])
        ax.barh(y, val, left=left, color=UP if val > 0 else DOWN, height=0.62)
        end = left + val
        ax.text(end + (0.012 * span if val >= 0 else -0.012 * span), y, f"{val:+.3f}", va="center",
                ha="left" if val >= 0 else "right", fontsize=7.5, color=INK)
        if i + 1 < rows:
            ax.plot([end, end], [y - 0.31, y - 0.69], color="#9aa5b1", linewidth=0.6)
    ax.axvline(base_value, color="#9aa5b1", linestyle="--", linewidth=0.9)
    ax.axvline(final, color=INK, linewidth=1.0)
    ax.text(base_value, rows - 0.35, f"base value {base_value:+.3f}", ha="center", va="bottom", fontsize=7.5,
            color="#5b6776")
    ax.text(final, -0.75, f"{final_label} {final:+.3f}", ha="center", va="top", fontsize=7.5, color=INK,
            fontweight="bold")
    ax.set_yticks(np.arange(rows)[::-1], labels)
    ax.set_ylim(-1.2, rows + 0.1)
    ax.set_xlim(float(steps.min()) - 0.22 * span, float(steps.max()) + 0.22 * span)
    _style(ax)
    ax.grid(False, axis="y")
    ax.set_xlabel("log-odds of default; red raises the risk, blue lowers it", fontsize=8)
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    return to_png(fig)


def roc_chart(curves: Mapping[str, tuple[np.ndarray, np.ndarray, float]], *, title: str = "ROC curve") -> str:
    """ROC curves: name -> (false positive rate, true positive rate, AUC)."""
    fig = _figure(4.2, 4.0)
    ax = fig.add_subplot()
    for (name, (fpr, tpr, a)), color in zip(curves.items(), (UP, TRAIN, POOL, DOWN)):
        ax.plot(fpr, tpr, color=color, linewidth=1.6, label=f"{name} (AUC {a:.3f})")
    ax.plot([0, 1], [0, 1], color="#9aa5b1", linestyle="--", linewidth=0.8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    _style(ax)
    ax.set_xlabel("false positive rate (non-defaults flagged)", fontsize=8.5)
    ax.set_ylabel("true positive rate (defaults flagged)", fontsize=8.5)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    ax.set_title(title, fontsize=10, loc="left")
    return to_png(fig)


def ks_chart(y: np.ndarray, pd_: np.ndarray, *, title: str = "KS: cumulative distributions") -> str:
    """Cumulative share of defaults and non-defaults by PD, with the largest gap (KS) marked."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(pd_, dtype=float)
    order = np.argsort(-p, kind="stable")
    ys = y[order]
    cum_bad = np.concatenate([[0.0], np.cumsum(ys) / max(ys.sum(), 1.0)])
    cum_good = np.concatenate([[0.0], np.cumsum(1 - ys) / max((1 - ys).sum(), 1.0)])
    share = np.linspace(0, 1, ys.size + 1)
    gap = cum_bad - cum_good
    i = int(np.argmax(gap))
    fig = _figure(4.2, 4.0)
    ax = fig.add_subplot()
    ax.plot(share, cum_bad, color=UP, linewidth=1.6, label="defaults")
    ax.plot(share, cum_good, color=DOWN, linewidth=1.6, label="non-defaults")
    ax.vlines(share[i], cum_good[i], cum_bad[i], color=INK, linewidth=1.2)
    ax.text(share[i] + 0.02, (cum_good[i] + cum_bad[i]) / 2, f"KS = {gap[i]:.3f}", fontsize=8.5)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    _style(ax)
    ax.set_xlabel("share of assets, riskiest first", fontsize=8.5)
    ax.set_ylabel("cumulative share", fontsize=8.5)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    ax.set_title(title, fontsize=10, loc="left")
    return to_png(fig)


def calibration_chart(expected: Sequence[float], observed: Sequence[float], *,
                      title: str = "Calibration by PD decile") -> str:
    """Observed default rate against mean predicted PD per bin, with the diagonal."""
    e = np.asarray(expected, dtype=float)
    o = np.asarray(observed, dtype=float)
    hi = float(max(e.max(initial=0.0), o.max(initial=0.0))) * 1.1 or 1.0
    fig = _figure(4.2, 4.0)
    ax = fig.add_subplot()
    ax.plot([0, hi], [0, hi], color="#9aa5b1", linestyle="--", linewidth=0.8, label="perfect calibration")
    ax.plot(e, o, marker="o", color=UP, linewidth=1.4, markersize=4, label="PD bins")
    ax.set_xlim(0, hi)
    ax.set_ylim(0, hi)
    _style(ax)
    ax.set_xlabel("mean predicted PD", fontsize=8.5)
    ax.set_ylabel("observed default rate", fontsize=8.5)
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    ax.set_title(title, fontsize=10, loc="left")
    return to_png(fig)


def auc_by_vintage_chart(series: Mapping[str, Mapping[str, float]], *, title: str = "AUC by vintage") -> str:
    """AUC per vintage for one or more models: model name -> {vintage: AUC}."""
    vintages = sorted({v for s in series.values() for v in s})
    x = np.arange(len(vintages))
    fig = _figure(6.0, 3.0)
    ax = fig.add_subplot()
    for (name, s), color in zip(series.items(), (UP, TRAIN, POOL, DOWN)):
        ax.plot(x, [s.get(v, np.nan) for v in vintages], marker="o", color=color, linewidth=1.4,
                markersize=4, label=name)
    ax.set_xticks(x, vintages, rotation=45 if len(vintages) > 8 else 0, ha="right" if len(vintages) > 8 else "center")
    _style(ax)
    ax.set_ylabel("AUC", fontsize=8.5)
    ax.set_xlabel("origination vintage", fontsize=8.5)
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(title, fontsize=10, loc="left")
    return to_png(fig)
