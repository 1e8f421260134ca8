"""Terminal helpers shared by the commands: progress bars, JSON output, tables, logging."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import pandas as pd
from tqdm import tqdm

__all__ = [
    "is_terminal",
    "iso_date",
    "name_text",
    "print_json",
    "print_table",
    "progress",
    "seed",
    "setup_logging",
    "whole",
]

T = TypeVar("T")


def iso_date(text: str) -> dt.date:
    """argparse type for ``YYYY-MM-DD`` options (``--cutoff``)."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from None


def whole(low: int, high: int | None = None) -> Callable[[str], int]:
    """argparse type for a whole number in ``[low, high]`` (``--chunksize``, ``--max-waterfalls``)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < low or (high is not None and value > high):
            rule = f">= {low}" if high is None else f"from {low} to {high:,}"
            raise argparse.ArgumentTypeError(f"must be a whole number {rule}; got {value}")
        return value
    return parse


#: argparse type of ``--seed``: what NumPy and scikit-learn accept as a seed.
seed = whole(0, 2**32 - 1)


def name_text(text: str) -> str:
    """argparse type for a name (``--experiment``, ``--model-name``): not empty, no blanks at its ends."""
    if not text.strip() or text != text.strip():
        raise argparse.ArgumentTypeError(f"a name must be text without blanks at either end; got {text!r}")
    return text


def is_terminal() -> bool:
    return sys.stderr.isatty()


def progress(iterable: Iterable[T] | None = None, *, total: int | None = None, desc: str = "",
             unit: str = "rows") -> tqdm[T]:
    """A progress bar on stderr when it is a terminal; silent in pipes and files."""
    return tqdm(iterable, total=total, desc=desc, unit=unit, unit_scale=True, disable=not is_terminal(),
                file=sys.stderr, leave=False, dynamic_ncols=True)


def print_json(obj: Any) -> None:
    """One JSON object on stdout (for programs: nothing else goes to stdout with ``--json``)."""
    sys.stdout.write(json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str) + "\n")


def print_table(frame: pd.DataFrame, *, max_rows: int | None = None, file: Any = None, what: str = "rows") -> None:
    """Plain fixed-width table; past ``max_rows``, a line counts the ``what`` left out."""
    out = file or sys.stdout
    shown = frame if max_rows is None else frame.head(max_rows)
    text = shown.astype(object).where(shown.notna(), "").astype(str)
    widths = {c: max([_width(str(c))] + [_width(v) for v in text[c]]) for c in text.columns}
    out.write("  ".join(_pad(str(c), widths[c]) for c in text.columns).rstrip() + "\n")
    for row in text.itertuples(index=False):
        out.write("  ".join(_pad(v, widths[c]) for c, v in zip(text.columns, row)).rstrip() + "\n")

    if max_rows is not None and len(frame) > max_rows:
        out.write(f"... {len(frame) - max_rows} more {what}\n")


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal: a wide or full-width character (Chinese) takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def setup_logging(verbose: bool = False) -> None:
    """Log records go to stderr; stdout stays for results."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("mlflow", "alembic", "urllib3", "matplotlib", "shap", "git"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
