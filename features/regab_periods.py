"""A series of SEC Reg AB II reporting periods as a book and its history, for labels and snapshots.

A trust files one ABS-EE asset-data tape a month. Stacked (several files, or one file holding several
reporting periods), they are what :mod:`features.snapshots` needs to train the forward model: one
origination record per asset and its monthly history. :func:`regab_book` builds both through the
mappings:

* ``records``: one canonical lease record per asset, read through the asset class's mapping
  (``regab-autoloan`` / ``regab-autolease``, :mod:`features.mapping`) from the asset's **first**
  reported period (origination fields, term, the scheduled payment as ``monthly_rent``), with the
  status fields of its **last** one (``cutoff_date`` its period end, ``months_on_book``,
  ``current_dpd``, ``worst_dpd`` over the reported periods, ``instalments_paid`` = amount paid over the
  reported periods / ``monthly_rent``, at most ``months_on_book``, ``outstanding_principal``);
* ``performance``: the canonical history of every reported period
  (:func:`features.regab_performance.regab_performance`: dpd, amounts due and paid, charge-offs,
  status ``current``, ``defaulted``, ``prepaid`` or ``terminated``).

:func:`regab_snapshots` then builds snapshots of that history (:func:`features.snapshots.build_snapshots`,
with its censoring and its leakage guard), and :func:`features.regab_labels.regab_default_labels` the
per-asset default labels of the same periods.

**Left truncation.** A trust's filings start at its cut-off, when its assets are already seasoned,
and hold nothing about the months before. The behaviour at ``s`` is therefore counted from the asset's
first reported period (``first_months_on_book`` in ``records``): worst dpd, months delinquent,
amounts paid and due before it are unknown and not counted. Snapshots are taken only at reported
month-ends, so months on book and remaining term are exact.

A single tape (one reporting period per asset) has no history: :func:`regab_book` refuses it with a
message, and ``poolgate evaluate`` reads such a tape with its target column as before.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.exceptions import TapeError
from features.io import iter_table
from features.mapping import Mapping, apply_mapping, load_mapping
from features.regab import AssetClass, iter_regab_xml
from features.regab_labels import _parse_period, _text
from features.regab_performance import PERFORMANCE_COLUMNS, regab_performance
from features.snapshots import build_snapshots

__all__ = ["RegabBook", "read_regab_book", "regab_book", "regab_snapshots"]


@dataclass(frozen=True)
class RegabBook:
    """A trust's assets and their reported history (see the module docstring).

    Attributes
    ----------
    records : DataFrame
        One canonical record per asset (first reported period's origination fields, last period's
        status fields), plus the mapping's extra features and ``first_months_on_book``.
    performance : DataFrame
        Canonical performance rows, one per asset and reporting period.
    periods : int
        Distinct reporting periods in the series.
    problems : DataFrame
        Cells of the first periods the mapping could not decode (``row``, ``column``, ``value``,
        ``rule``, ``message``), as :class:`features.mapping.MappedTape` reports them.
    """

    records: pd.DataFrame
    performance: pd.DataFrame
    periods: int
    problems: pd.DataFrame


def regab_book(periods: pd.DataFrame, asset_class: AssetClass, *, mapping: Mapping | None = None) -> RegabBook:
    """Reporting-period rows (XSD element names, any row order) -> :class:`RegabBook`.

    Parameters
    ----------
    periods : DataFrame
        One row per asset and reporting period.
    asset_class : ``"autoloan"`` or ``"autolease"``
    mapping : Mapping, optional
        Default: the shipped ``regab-<asset_class>`` mapping.

    Raises
    ------
    TapeError
        If a needed column is missing, a period date is unreadable, an asset is reported twice for the
        same period, or the series holds a single reporting period (no history).
    """
    mapping = mapping or load_mapping(f"regab-{asset_class}")
    period_col = PERFORMANCE_COLUMNS[asset_class]["period"]
    for needed in ("assetNumber", period_col, "originationDate"):
        if needed not in periods.columns:
            raise TapeError(f"{asset_class} reporting periods: column {needed!r} is missing; a history needs "
                            f"assetNumber, {period_col} and originationDate")
    parsed = _parse_period(_text(periods, period_col), period_col)
    end = (parsed.dt.year * 12 + parsed.dt.month - 1).to_numpy(dtype=np.int64)     # month index
    ids = _text(periods, "assetNumber")
    n_periods = len(np.unique(end))
    if n_periods < 2:
        raise TapeError(f"{asset_class} reporting periods: the series holds {n_periods} reporting period; "
                        "snapshots need two or more (a single tape is a snapshot: evaluate it with its target column)")
    twice = pd.DataFrame({"id": ids, "end": end}).duplicated().to_numpy()
    if twice.any():
        row = int(np.flatnonzero(twice)[0])
        raise TapeError(f"{asset_class} reporting periods, row {row + 1}: asset {ids.iloc[row]!r} is reported twice "
                        f"for period {parsed.iloc[row]:%Y-%m} (rule: one row per asset and reporting period)")
    order = np.lexsort((end, ids.fillna("").to_numpy(str)))
    rows = periods.iloc[order].reset_index(drop=True)
    perf = regab_performance(rows, asset_class)
    first = ~perf["contract_id"].duplicated(keep="first").to_numpy()
    last = ~perf["contract_id"].duplicated(keep="last").to_numpy()
    mapped = apply_mapping(rows.loc[first].reset_index(drop=True), mapping, source=f"{asset_class} reporting periods")
    records = mapped.records.copy()
    tail = perf.loc[last].reset_index(drop=True)
    codes = pd.Index(tail["contract_id"]).get_indexer(perf["contract_id"])
    paid = np.bincount(codes, np.nan_to_num(perf["amount_paid"].to_numpy(dtype="float64", na_value=np.nan)),
                       minlength=len(tail))
    worst = pd.Series(perf["dpd"].to_numpy(dtype="float64", na_value=np.nan)).groupby(codes).max()
    rent = pd.to_numeric(records["monthly_rent"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    records["cutoff_date"] = pd.to_datetime(tail["month"]).dt.date.to_numpy()
    records["months_on_book"] = tail["months_on_book"].to_numpy()
    records["first_months_on_book"] = perf.loc[first, "months_on_book"].to_numpy()
    records["current_dpd"] = tail["dpd"].to_numpy()
    records["worst_dpd"] = worst.reindex(range(len(tail))).to_numpy()
    # a payoff is not instalments: at most one a month on book
    records["instalments_paid"] = np.minimum(np.round(paid / np.where(rent > 0, rent, np.nan)),
                                             records["months_on_book"].to_numpy(dtype="float64"))
    records["outstanding_principal"] = tail["outstanding_principal"].to_numpy()
    return RegabBook(records=records, performance=perf, periods=n_periods, problems=mapped.problems)


def read_regab_book(paths: Sequence[str | os.PathLike[str]], *, asset_class: AssetClass,
                    mapping: Mapping | None = None) -> RegabBook:
    """Read ABS-EE tapes (XML, CSV or Parquet; one or several periods each) and return :func:`regab_book`."""
    frames: list[pd.DataFrame] = []
    for path in paths:
        if str(path).lower().endswith(".xml"):
            frames.extend(iter_regab_xml(path))
        else:
            frames.extend(iter_table(path, chunksize=None))
    if not frames:
        raise TapeError("no reporting-period tapes given")
    return regab_book(pd.concat(frames, ignore_index=True), asset_class, mapping=mapping)


def regab_snapshots(book: RegabBook, *, fraction: float = 1.0, seed: int = 0, dpd_threshold: int = 90) -> pd.DataFrame:
    """Snapshots of a trust's history (:func:`features.snapshots.build_snapshots` of ``book``).

    Raises
    ------
    TapeError
        As :func:`features.snapshots.build_snapshots`: an asset without a term or a scheduled payment,
        or a period without an amount due or paid, is named (row and column), not dropped.
    """
    return build_snapshots(book.records, book.performance, dpd_threshold=dpd_threshold, fraction=fraction,
                           seed=seed)
