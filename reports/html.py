"""A small builder for self-contained HTML documents.

Every piece of text that goes into a page passes through :func:`html.escape`; the only markup that
is not escaped is markup this module builds itself. A document carries its own style sheet (screen
and print), and images travel inside it as ``data:`` URIs, so the file opens offline and requests
nothing from the network.

Numbers that a test or a reader may want to check against the run's files are written with
:func:`metric`: the element shows the formatted value and carries the raw value in ``data-value``
under a stable key in ``data-metric``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Document",
    "Section",
    "badge",
    "code",
    "esc",
    "figure",
    "fmt",
    "frame_table",
    "key_values",
    "metric",
    "note",
    "table",
]

Cell = Any  # a value, or Markup for pre-built HTML


@dataclass(frozen=True)
class Markup:
    """HTML built by this module: inserted as it is, never escaped again."""

    text: str

    def __str__(self) -> str:
        return self.text


def esc(value: Any) -> str:
    """Text of ``value`` escaped for HTML element content and quoted attributes; ``Markup`` passes through."""
    if isinstance(value, Markup):
        return value.text
    return html.escape("" if value is None else str(value), quote=True)


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def fmt(value: Any, kind: str = "auto") -> str:
    """Format a value for a reader.

    Parameters
    ----------
    value : Any
        Number, text, date or None / NaN (shown as an en dash).
    kind : str
        ``"int"`` (thousands separated), ``"cny"`` (CNY, no decimals), ``"pct"`` (a fraction shown
        as percent with 2 decimals), ``"pct1"`` (1 decimal), ``"f2"`` / ``"f3"`` / ``"f4"`` (fixed
        decimals), ``"pd"`` (a probability as percent with 2 decimals), or ``"auto"``.
    """
    if _is_missing(value):
        return "\u2013"
    if isinstance(value, (datetime, date, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, float, np.integer, np.floating)):
        x = float(value)
        if math.isinf(x):
            return "\u221e" if x > 0 else "-\u221e"
        if kind == "int":
            return f"{x:,.0f}"
        if kind == "cny":
            return f"{x:,.0f}"
        if kind in ("pct", "pd"):
            return f"{100 * x:.2f}%"
        if kind == "pct1":
            return f"{100 * x:.1f}%"
        if kind in ("f1", "f2", "f3", "f4"):
            return f"{x:.{kind[1]}f}"
        if isinstance(value, (int, np.integer)) or abs(x) >= 1000:
            return f"{x:,.0f}"
        return f"{x:.4g}"
    return str(value)


def _raw(value: Any) -> str:
    """Machine-readable form of a value for ``data-value`` (full precision, no separators)."""
    if _is_missing(value):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value)


def metric(key: str, value: Any, kind: str = "auto", *, title: str | None = None) -> Markup:
    """A checkable number: ``<span data-metric=key data-value=raw>formatted</span>``."""
    tip = f' title="{esc(title)}"' if title else ""
    return Markup(f'<span class="m" data-metric="{esc(key)}" data-value="{esc(_raw(value))}"{tip}>'
                  f"{esc(fmt(value, kind))}</span>")


def _cell(value: Any, kind: str) -> str:
    if isinstance(value, Markup):
        return value.text
    return esc(fmt(value, kind))


def table(rows: Iterable[Sequence[Cell]], columns: Sequence[str], *, kinds: Sequence[str] | None = None,
          caption: str | None = None, numeric: Sequence[bool] | None = None, css: str = "",
          empty: str = "none") -> Markup:
    """A table from rows of cells.

    Parameters
    ----------
    rows : iterable of sequences
        One sequence per row, ``len(columns)`` cells each; a cell is a value (formatted with the
        column's kind) or :class:`Markup`.
    columns : sequence of str
        Header texts.
    kinds : sequence of str, optional
        :func:`fmt` kind per column (default ``"auto"``).
    numeric : sequence of bool, optional
        Right-align these columns (default: columns whose kind is not ``"auto"`` or ``"text"``).
    empty : str, default "none"
        The one cell of a table without rows (in the page's language).
    """
    kinds = list(kinds) if kinds is not None else ["auto"] * len(columns)
    right = list(numeric) if numeric is not None else [k not in ("auto", "text") for k in kinds]
    head = "".join(f'<th class="{"num" if r else ""}">{esc(c)}</th>' for c, r in zip(columns, right))
    body = []
    for row in rows:
        cells = "".join(f'<td class="{"num" if r else ""}">{_cell(v, "auto" if k == "text" else k)}</td>'
                        for v, k, r in zip(row, kinds, right))
        body.append(f"<tr>{cells}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(columns)}" class="empty">{esc(empty)}</td></tr>')
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return Markup(f'<table class="{esc(css)}">{cap}<thead><tr>{head}</tr></thead>'
                  f'<tbody>{"".join(body)}</tbody></table>')


def frame_table(frame: pd.DataFrame, *, kinds: dict[str, str] | None = None, labels: dict[str, str] | None = None,
                caption: str | None = None, max_rows: int | None = None) -> Markup:
    """A table from a frame: columns in frame order, headers renamed by ``labels``, kinds by column."""
    kinds = kinds or {}
    labels = labels or {}
    shown = frame if max_rows is None else frame.head(max_rows)
    cols = [str(c) for c in shown.columns]
    out = table(shown.itertuples(index=False, name=None), [labels.get(c, c) for c in cols],
                kinds=[kinds.get(c, "auto") for c in cols],
                numeric=[kinds.get(c, "auto") != "auto" or pd.api.types.is_numeric_dtype(shown[c])
                         and not pd.api.types.is_bool_dtype(shown[c]) for c in cols],
                caption=caption)
    if max_rows is not None and len(frame) > max_rows:
        return Markup(out.text + note(f"{len(frame) - max_rows:,} more rows not shown.").text)
    return out


def figure(png_base64: str, alt: str, caption: str | None = None, *, width: int | None = None) -> Markup:
    """An inline PNG image (base64 text, no ``data:`` prefix) with alternative text and a caption."""
    w = f' style="max-width:{int(width)}px"' if width else ""
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return Markup(f'<figure><img alt="{esc(alt)}" src="data:image/png;base64,{png_base64}"{w}>{cap}</figure>')


def note(text: str, level: str = "info") -> Markup:
    """A short paragraph: ``level`` is ``info``, ``warn`` or ``bad``."""
    return Markup(f'<p class="note {esc(level)}">{esc(text)}</p>')


def code(text: Any) -> Markup:
    """Monospaced text (ids, hashes, commands); an en dash when empty."""
    value = "" if text is None else str(text)
    return Markup(f"<code>{esc(value)}</code>") if value else Markup("\u2013")


def badge(text: str, level: str = "ok") -> Markup:
    """An inline label: ``level`` is ``ok``, ``warn``, ``bad`` or ``info``."""
    return Markup(f'<span class="badge {esc(level)}">{esc(text)}</span>')


def key_values(pairs: Sequence[tuple[str, Cell]]) -> Markup:
    """A two-column definition grid (label, value) for headers and facts."""
    items = "".join(f"<dt>{esc(k)}</dt><dd>{_cell(v, 'auto')}</dd>" for k, v in pairs)
    return Markup(f'<dl class="kv">{items}</dl>')


@dataclass
class Section:
    """One numbered section of a document: a title, an anchor and its blocks of markup."""

    anchor: str
    title: str
    blocks: list[Markup] = field(default_factory=list)
    intro: str = ""

    def add(self, *blocks: Markup) -> Section:
        """Append blocks; returns the section for chaining."""
        self.blocks.extend(blocks)
        return self


_CSS = """
:root{--ink:#1d2733;--muted:#5b6776;--line:#d8dee6;--band:#f4f6f9;--accent:#1f4e79;
--ok:#1e7b45;--warn:#a76400;--bad:#b3261e}
*{box-sizing:border-box}
html{font-size:14px}
body{margin:0;color:var(--ink);background:#fff;
font-family:"Liberation Sans","DejaVu Sans",Arial,var(--cjk);line-height:1.45}
:root{--cjk:"Noto Sans CJK SC","Source Han Sans SC","Source Han Sans CN","PingFang SC","Hiragino Sans GB",
"Microsoft YaHei","WenQuanYi Micro Hei","WenQuanYi Zen Hei","Noto Sans CJK JP","Droid Sans Fallback",sans-serif}
html:lang(zh) body,.zh{font-family:var(--cjk)}
header.top{background:var(--accent);color:#fff;padding:22px 40px 18px}
header.top h1{margin:0 0 4px;font-size:1.75rem;font-weight:600}
header.top .sub{opacity:.85;font-size:.95rem}
main{max-width:1180px;margin:0 auto;padding:8px 40px 40px}
nav.toc{border-bottom:1px solid var(--line);padding:10px 0 12px;font-size:.9rem;columns:3}
nav.toc a{color:var(--accent);text-decoration:none;display:block}
section{padding-top:6px;border-bottom:1px solid var(--line);padding-bottom:14px}
h2{font-size:1.3rem;color:var(--accent);margin:22px 0 6px}
h3{font-size:1.05rem;margin:16px 0 6px}
p.intro{color:var(--muted);margin:2px 0 10px;max-width:900px}
table{border-collapse:collapse;margin:8px 0 14px;font-size:.9rem;min-width:340px}
caption{text-align:left;font-weight:600;padding:4px 0 6px;color:var(--ink)}
th,td{padding:4px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--band);font-weight:600;border-bottom:2px solid var(--line)}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.empty{color:var(--muted);font-style:italic}
tbody tr:nth-child(even) td{background:#fbfcfd}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:3px 18px;margin:10px 0 14px;font-size:.92rem}
dl.kv dt{color:var(--muted)}
dl.kv dd{margin:0;word-break:break-all}
.grid{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
.grid>*{flex:0 1 auto}
figure{margin:8px 0 14px}
figure img{max-width:100%;height:auto;border:1px solid var(--line)}
figcaption{font-size:.82rem;color:var(--muted);max-width:720px}
.note{padding:6px 10px;border-left:4px solid var(--accent);background:var(--band);max-width:900px;font-size:.9rem}
.note.warn{border-color:var(--warn);background:#fff6e6}
.note.bad{border-color:var(--bad);background:#fdecea}
.badge{display:inline-block;padding:1px 8px;border-radius:9px;font-size:.8rem;font-weight:600;color:#fff}
.badge.ok{background:var(--ok)}.badge.warn{background:var(--warn)}.badge.bad{background:var(--bad)}
.badge.info{background:var(--muted)}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:130px}
.card .v{font-size:1.35rem;font-weight:600}
.card .l{font-size:.8rem;color:var(--muted)}
.zh{color:var(--muted)}
code{font-family:"DejaVu Sans Mono",monospace;font-size:.85rem;background:var(--band);padding:0 3px}
details.asset{border-top:1px solid var(--line);padding:4px 0}
details.asset summary{cursor:pointer;font-weight:600}
footer{color:var(--muted);font-size:.8rem;padding:18px 40px}
@media print{
 html{font-size:11px}
 header.top{background:none;color:var(--ink);border-bottom:2px solid var(--ink);padding:0 0 8px}
 main{max-width:none;padding:0}
 nav.toc{display:none}
 section{break-inside:auto}
 h2{break-after:avoid}
 figure,table{break-inside:avoid}
 details.asset{break-inside:avoid}
 details.asset>*{display:block}
 @page{size:A4;margin:14mm}
}
"""


@dataclass
class Document:
    """A whole report: title, subtitle, sections; rendered to one self-contained HTML text."""

    title: str
    subtitle: str = ""
    lang: str = "en"
    sections: list[Section] = field(default_factory=list)
    footer: str = ""

    def section(self, anchor: str, title: str, intro: str = "") -> Section:
        """Start a new section and return it."""
        sec = Section(anchor=anchor, title=title, intro=intro)
        self.sections.append(sec)
        return sec

    def render(self) -> str:
        """The full HTML text (UTF-8, one file, no external resources)."""
        toc = "".join(f'<a href="#{esc(s.anchor)}">{i}. {esc(s.title)}</a>'
                      for i, s in enumerate(self.sections, start=1))
        body = []
        for i, s in enumerate(self.sections, start=1):
            intro = f'<p class="intro">{esc(s.intro)}</p>' if s.intro else ""
            body.append(f'<section id="{esc(s.anchor)}"><h2>{i}. {esc(s.title)}</h2>{intro}'
                        f'{"".join(b.text for b in s.blocks)}</section>')
        foot = f"<footer>{esc(self.footer)}</footer>" if self.footer else ""
        return (f'<!DOCTYPE html>\n<html lang="{esc(self.lang)}"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f"<title>{esc(self.title)}</title><style>{_CSS}</style></head><body>"
                f'<header class="top"><h1>{esc(self.title)}</h1><div class="sub">{esc(self.subtitle)}</div>'
                f'</header><main><nav class="toc">{toc}</nav>{"".join(body)}</main>{foot}</body></html>\n')
