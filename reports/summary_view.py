"""Render a JSON pool summary as tables, every number tagged with its path in the file.

The screening summary (``DIR/summary.json``) is nested JSON: scalars (count, balance, weighted
averages), and breakdowns (by province, by score band, ...) as objects of objects or lists of
objects. This module walks it without knowing its keys, so that a field added to the summary shows
up in the report without a code change, and tags each number with ``data-metric="summary.<path>"``
(``summary.by_province.Anhui.balance``) so a test can compare the page with the file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reports.html import Markup, esc, metric, table

__all__ = ["flatten_numbers", "label_of", "summary_blocks"]

_KINDS = (("share", "pct"), ("pct", "pct"), ("rate", "pct"), ("pd", "pct"), ("ltv", "pct"),
          ("loan_to_value", "pct"), ("lgd", "pct"), ("balance", "cny"), ("principal", "cny"), ("amount", "cny"), ("cny", "cny"),
          ("loss", "cny"), ("count", "int"), ("n_", "int"))


_WORDS = {"wa": "weighted average", "pd": "PD", "ltv": "LTV", "lgd": "LGD", "nev": "new-energy",
          "cny": "CNY", "id": "ID"}


def label_of(key: str) -> str:
    """``wa_pd`` -> ``Weighted average PD``; ``new_used`` -> ``New used``."""
    words = [_WORDS.get(w.lower(), w) for w in str(key).split("_") if w]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _kind(key: str) -> str:
    k = str(key).lower()
    for part, kind in _KINDS:
        if part in k:
            return kind
    return "auto"


def _is_scalar(v: Any) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))


def flatten_numbers(obj: Any, prefix: str = "summary") -> dict[str, float]:
    """Every number in ``obj`` by its dotted path (list items by index, or by their first text field)."""
    out: dict[str, float] = {}
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            out.update(flatten_numbers(v, f"{prefix}.{k}"))
    elif isinstance(obj, Sequence) and not isinstance(obj, str):
        for i, item in enumerate(obj):
            out.update(flatten_numbers(item, f"{prefix}.{_item_key(item, i)}"))
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        out[prefix] = float(obj)
    return out


def _item_key(item: Any, index: int) -> str:
    if isinstance(item, Mapping):
        for v in item.values():
            if isinstance(v, str):
                return v
    return str(index)


def _records_table(path: str, title: str, records: list[tuple[str, Mapping[str, Any]]]) -> Markup:
    cols: list[str] = []
    for _, rec in records:
        for k, v in rec.items():
            if k not in cols and _is_scalar(v):
                cols.append(k)
    label_col = next((c for c in cols if all(isinstance(r.get(c), str) for _, r in records)), None)
    value_cols = [c for c in cols if c != label_col]
    rows = []
    for key, rec in records:
        first = rec.get(label_col, key) if label_col else key
        cells: list[Any] = [first]
        for c in value_cols:
            v = rec.get(c)
            cells.append(metric(f"{path}.{key}.{c}", v, _kind(c))
                         if isinstance(v, (int, float)) and not isinstance(v, bool) else v)
        rows.append(cells)
    head = [label_of(label_col) if label_col else ""] + [label_of(c) for c in value_cols]
    return table(rows, head, kinds=["text"] + ["text"] * len(value_cols),
                 numeric=[False] + [True] * len(value_cols), caption=title)


def summary_blocks(summary: Mapping[str, Any], *, skip: Sequence[str] = (), path: str = "summary",
                   title: str = "Pool totals", first: Sequence[str] = ("pool", "counts")) -> list[Markup]:
    """Tables for a summary object: one for its scalars, one per breakdown, recursively.

    Parameters
    ----------
    summary : mapping
        The parsed ``summary.json`` (or any part of it).
    skip : sequence of str
        Top-level keys to leave out (shown elsewhere in the report).
    first : sequence of str
        Keys drawn before the others (the rest keep the file's order).
    """
    summary = {**{k: summary[k] for k in first if k in summary},
               **{k: v for k, v in summary.items() if k not in first}}
    scalars = [(k, v) for k, v in summary.items() if _is_scalar(v) and k not in skip]
    blocks: list[Markup] = []
    if scalars:
        rows = [[label_of(k), metric(f"{path}.{k}", v, _kind(k))
                 if isinstance(v, (int, float)) and not isinstance(v, bool) else v] for k, v in scalars]
        blocks.append(table(rows, ["", "value"], kinds=["text", "text"], numeric=[False, True], caption=title))
    for k, v in summary.items():
        if k in skip or _is_scalar(v):
            continue
        sub = f"{path}.{k}"
        if isinstance(v, Mapping) and v and all(isinstance(x, Mapping) for x in v.values()):
            if all(all(_is_scalar(y) for y in x.values()) for x in v.values()):
                blocks.append(_records_table(sub, label_of(k), [(str(a), b) for a, b in v.items()]))
            else:
                blocks.extend(summary_blocks(v, path=sub, title=label_of(k)))
        elif isinstance(v, Mapping):
            blocks.extend(summary_blocks(v, path=sub, title=label_of(k)))
        elif isinstance(v, Sequence) and v and all(isinstance(x, Mapping) for x in v):
            blocks.append(_records_table(sub, label_of(k), [(_item_key(x, i), x) for i, x in enumerate(v)]))
        elif isinstance(v, Sequence):
            blocks.append(Markup(f"<p><b>{esc(label_of(k))}</b>: {esc(', '.join(map(str, v)))}</p>"))
    return [Markup('<div class="grid">' + "".join(b.text for b in blocks) + "</div>")] if blocks else []
