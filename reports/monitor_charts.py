"""Charts of the investor report: time series, stacks and bars, with Chinese labels in a CJK font.

A chart whose labels hold Chinese is drawn with a CJK font first in the family list (Noto Sans CJK,
Source Han Sans, WenQuanYi, ... as installed); glyphs missing from every font would be drawn as empty
boxes ("tofu"), so :func:`cjk_charts` turns matplotlib's missing-glyph warning into an error: a chart
either has all its characters or is not drawn. Without any CJK font installed, :func:`cjk_font`
returns None and the report falls back to English chart labels (``fonts-noto-cjk`` provides one).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import numpy as np

from reports.charts import DOWN, INK, POOL, UP, _figure, _style, to_png
from reports.fonts import cjk_font

__all__ = ["MissingGlyphError", "bars_chart", "cjk_charts", "cjk_font", "line_chart", "stack_chart"]

_COLORS = (DOWN, POOL, UP, "#6a8d3a", "#8e5ea2", "#3e9c9c", "#b08a2e", "#7a7a7a", "#d16ba5", "#2f4858")


class MissingGlyphError(RuntimeError):
    """A chart would show a character as an empty box: no installed font has its glyph."""


@contextmanager
def cjk_charts(language: str) -> Iterator[bool]:
    """Inside the block charts use a CJK font first (for ``zh``) and a missing glyph raises.

    Yields whether labels in ``language`` can be drawn (False for ``zh`` without a CJK font).
    """
    import matplotlib

    family = cjk_font() if language == "zh" else None
    if language == "zh" and family is None:
        yield False
        return
    fonts = [family, "DejaVu Sans"] if family else ["DejaVu Sans"]
    with matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": fonts,
                                "axes.unicode_minus": False}), warnings.catch_warnings():
        warnings.filterwarnings("error", message=r"Glyph .* missing from", category=UserWarning)
        try:
            yield True
        except UserWarning as exc:
            raise MissingGlyphError(f"chart text has a character no installed font can draw ({exc})") from None


def _finish(ax: object, title: str, ylabel: str, percent: bool) -> None:
    from matplotlib.ticker import PercentFormatter

    _style(ax)
    if percent:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))  # type: ignore[attr-defined]  # as the ticks need
    ax.set_ylabel(ylabel, fontsize=8.5)  # type: ignore[attr-defined]
    if title:
        ax.set_title(title, fontsize=10, loc="left")  # type: ignore[attr-defined]


def line_chart(x: Sequence[object], series: Mapping[str, Sequence[float]], *, title: str = "", ylabel: str = "",
               percent: bool = True, dashed: Mapping[str, Sequence[float]] | None = None,
               xlabel: str = "", width: float = 6.6, height: float = 3.0) -> str:
    """Lines over ``x`` (dates or numbers); ``dashed`` series (thresholds) in red dashes. PNG base64."""
    fig = _figure(width, height)
    ax = fig.add_subplot()
    xs = np.asarray(list(x))
    for i, (label, ys) in enumerate(series.items()):
        ax.plot(xs, np.asarray(ys, dtype=float), label=label, color=_COLORS[i % len(_COLORS)], linewidth=1.6)
    for label, ys in (dashed or {}).items():
        ax.plot(xs, np.asarray(ys, dtype=float), label=label, color=UP, linestyle="--", linewidth=1.2)
    _finish(ax, title, ylabel, percent)
    ax.set_xlabel(xlabel, fontsize=8.5)
    if len(series) + len(dashed or {}) > 1:
        ax.legend(fontsize=7.5, frameon=False, ncol=2)
    fig.autofmt_xdate()
    return to_png(fig)


def stack_chart(x: Sequence[object], layers: Mapping[str, Sequence[float]], *, title: str = "", ylabel: str = "",
                percent: bool = True, width: float = 6.6, height: float = 3.0) -> str:
    """Stacked areas over ``x`` (e.g. delinquency buckets as shares of the pool balance). PNG base64."""
    fig = _figure(width, height)
    ax = fig.add_subplot()
    ys = [np.nan_to_num(np.asarray(v, dtype=float)) for v in layers.values()]
    ax.stackplot(np.asarray(list(x)), *ys, labels=list(layers), colors=[POOL, "#e5b22b", UP, "#7b1f1f"][:len(ys)], alpha=0.9)
    _finish(ax, title, ylabel, percent)
    ax.legend(fontsize=7.5, frameon=False, loc="upper left", ncol=len(ys))
    fig.autofmt_xdate()
    return to_png(fig)


def bars_chart(labels: Sequence[str], groups: Mapping[str, Sequence[float]], *, title: str = "", ylabel: str = "",
               width: float = 6.6, height: float = 3.0) -> str:
    """Grouped vertical bars (e.g. observed against expected defaults by PD band). PNG base64."""
    fig = _figure(width, height)
    ax = fig.add_subplot()
    k = max(len(groups), 1)
    pos = np.arange(len(labels))
    for i, (name, vals) in enumerate(groups.items()):
        ax.bar(pos + (i - (k - 1) / 2) * 0.8 / k, np.asarray(vals, dtype=float), width=0.8 / k, label=name,
               color=(DOWN, POOL, UP)[i % 3])
    ax.set_xticks(pos, list(labels))
    _finish(ax, title, ylabel, False)
    ax.tick_params(axis="x", labelsize=7.5, colors=INK)
    ax.legend(fontsize=7.5, frameon=False)
    return to_png(fig)
