"""``poolgate train`` on a series of SEC Reg AB II reporting periods.

A trust files one ABS-EE asset-data tape a month. Given several (``--tape`` repeated, or one file that
holds several reporting periods) through a built-in Reg AB mapping, ``poolgate train`` does not need a
target column or a canonical history: :func:`features.regab_periods.read_regab_book` turns the series
into one canonical record per asset (origination fields from its first reported period, status
fields from its last) and its monthly history, and the run goes on as on a canonical book: labels
from the history (:func:`features.labels.default_labels`), the out-of-time split, the selection, and
the forward model of the PD at the cut-off from snapshots of the same history
(:mod:`training.forward`).

The filings start at the trust's cut-off, with seasoned assets, so the origination label (default
within the horizon after origination) only sees the assets that survived to the first filing: it
understates the PD of an asset from origination. The forward model conditions on survival to each
snapshot and has no such bias; screening uses it by default (``docs/training.md``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from features.canonical import canonical_text
from features.io import read_table, tape_columns, tape_format, write_table
from features.mapping import MappedTape, Mapping, load_mapping
from features.regab import AssetClass
from features.regab_performance import PERFORMANCE_COLUMNS

__all__ = ["SERIES_MAPPINGS", "SeriesCopy", "holds_a_series", "series_copy"]

#: The mappings whose tapes can be read as a series of reporting periods, and their asset class.
SERIES_MAPPINGS: dict[str, AssetClass] = {"regab-autoloan": "autoloan", "regab-autolease": "autolease"}


@dataclass(frozen=True)
class SeriesCopy:
    """A series of reporting periods written as a canonical book and its history.

    Attributes
    ----------
    book, performance : Path
        Canonical Parquet files (one record per asset; one history row per asset and period).
    mapping : Mapping
        The mapping as applied (the extra features the tapes lack left out).
    filled : set of str
        Canonical fields and extra inputs with at least one value (what the model may use).
    assets, periods : int
        Assets and distinct reporting periods in the series.
    """

    book: Path
    performance: Path
    mapping: Mapping
    filled: set[str]
    assets: int
    periods: int


def holds_a_series(paths: Sequence[str | os.PathLike[str]], mapping_name: str) -> bool:
    """True when ``paths`` read through ``mapping_name`` hold two or more reporting periods.

    Only the built-in Reg AB mappings (:data:`SERIES_MAPPINGS`) read series. Several files always count
    (the series reader then checks them); one CSV or Parquet file counts when its period column holds
    two or more dates. One ABS-EE XML file is one filing.
    """
    asset_class = SERIES_MAPPINGS.get(mapping_name)
    if asset_class is None:
        return False
    if len(paths) > 1:
        return True
    path = paths[0]
    if tape_format(path) not in ("csv", "parquet"):
        return False
    column = PERFORMANCE_COLUMNS[asset_class]["period"]
    if column not in tape_columns(path):
        return False
    periods = read_table(path, columns=[column])[column].astype("string").str.strip().replace("", pd.NA)
    return periods.dropna().nunique() > 1


def series_copy(paths: Sequence[str | os.PathLike[str]], mapping_name: str, folder: str | os.PathLike[str]) -> SeriesCopy:
    """Read the series through ``mapping_name`` and write its book and history into ``folder``.

    Raises
    ------
    TapeError
        As :func:`features.regab_periods.read_regab_book`: a needed column missing, a period date
        unreadable, an asset reported twice for one period, a single reporting period.
    """
    from features.regab_periods import read_regab_book

    mapping = load_mapping(mapping_name)
    regab = read_regab_book(paths, asset_class=SERIES_MAPPINGS[mapping_name], mapping=mapping)
    records = regab.records
    applied = replace(mapping, features=tuple(f for f in mapping.features if f.column in records.columns))
    book = canonical_text(MappedTape(records=records, target=None, problems=regab.problems, mapping=applied))
    folder = Path(folder)
    write_table(book, folder / "book.parquet")
    write_table(regab.performance, folder / "performance.parquet")
    filled = {c for c in book.columns if book[c].notna().any()}
    assets, periods = len(book), regab.periods
    names = ", ".join(str(p) for p in paths)
    print(f"{names}: a series of {periods} reporting periods read through mapping {mapping_name} -> {assets} assets, "
          f"{len(regab.performance)} history rows (labels and snapshots from the history)", file=sys.stderr)
    return SeriesCopy(book=folder / "book.parquet", performance=folder / "performance.parquet", mapping=applied,
                      filled=filled, assets=assets, periods=periods)
