"""Default labels from the monthly performance history.

A contract is a **default** within the horizon when, at a month-end no later than ``horizon_months``
after origination, it is at least ``dpd_threshold`` days past due (90+ dpd by default) or its status
is ``defaulted`` (charged off). A contract is **observed** when its label can be trusted: it
defaulted within the horizon, or the history reaches the horizon, or the contract ended earlier
(prepaid, defaulted or terminated at maturity). A contract that is still running at the cut-off
and has not reached the horizon is not observed: it may yet default, so it must not be used as a
negative (training drops it).

The labels are per-contract aggregates (any default month-end, any ending, the last months on book),
so :func:`default_labels` also takes the history as an iterable of frames (e.g.
:class:`features.io.TapeBatches`): each batch is reduced to one row per contract and the reductions
are combined, and the whole history is never held at once. A contract's rows may be spread over
batches and come in any order.

A bad cell in a column the labels read refuses the whole history (:class:`TapeError`), never a row:
a label is an aggregate over all of a contract's months, so leaving one month out would change it
without a trace (a ``defaulted`` month left out turns a default into a good contract, a ``prepaid``
one an ended contract into an unobserved one). A ``months_on_book`` or ``dpd`` that is not a number, or
is below 0, stops at the first such row; a ``status`` outside :data:`features.schema.PERFORMANCE_STATUSES`
(compared exactly, as ``poolgate validate`` does) is counted over the whole pass first, so that the
message gives every bad value with its count and first row.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from features.exceptions import ConfigError, TapeError
from features.schema import PERFORMANCE_STATUSES

__all__ = ["ENDED_STATUSES", "LABEL_COLUMNS", "default_labels"]

LABEL_COLUMNS = ["contract_id", "default", "observed", "months_observed"]
ENDED_STATUSES = ("prepaid", "defaulted", "terminated")
_NEEDED = ("contract_id", "months_on_book", "dpd", "status")
#: How the per-contract reductions of two batches combine.
_COMBINE = {"hit": "any", "ended": "any", "mob": "max", "last": "max"}


#: Distinct bad ``status`` values counted one by one in the message; further ones are counted together.
_LISTED_VALUES = 10


def _where(source: str | None) -> str:
    return f"{source}: performance history" if source else "performance history"


def _cell(value: object) -> str:
    return "an empty value" if pd.isna(value) else f"value {value!r}"


def _numbers(frame: pd.DataFrame, column: str, first_row: int, source: str | None) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    if np.isnan(values).any():
        row = int(np.flatnonzero(np.isnan(values))[0])
        raise TapeError(f"{_where(source)}, row {first_row + row + 1}, column {column!r}: "
                        f"{_cell(frame[column].iloc[row])} is not a number (labels need every {column})")
    if (values < 0).any():   # days past due and months on book count up from 0 (as poolgate validate's range)
        row = int(np.flatnonzero(values < 0)[0])
        cell = frame[column].iloc[row]
        raise TapeError(f"{_where(source)}, row {first_row + row + 1}, column {column!r}: "
                        f"{_cell(cell.item() if isinstance(cell, np.generic) else cell)} is below 0 (rule range; labels need every {column} >= 0)")
    return values


class _BadStatuses:
    """``status`` cells outside :data:`PERFORMANCE_STATUSES`, counted over a pass: per value (the first
    :data:`_LISTED_VALUES` distinct ones) the count and the first row (1-based data row of the file)."""

    def __init__(self) -> None:
        self.rows = 0
        self.values: dict[object, list[int]] = {}   # value -> [count, first row]
        self.others = 0

    def add(self, raw: pd.Series, wrong: np.ndarray, first_row: int) -> None:
        at = np.flatnonzero(wrong)
        self.rows += len(at)
        cells = raw.iloc[at]
        keys = cells.where(cells.notna(), None).tolist()
        for key, row in zip(keys, (at + first_row + 1).tolist()):
            if key in self.values:
                self.values[key][0] += 1
            elif len(self.values) < _LISTED_VALUES:
                self.values[key] = [1, row]
            else:
                self.others += 1

    def error(self, source: str | None) -> TapeError:
        (value, (_, row)), *_ = sorted(self.values.items(), key=lambda kv: kv[1][1])
        allowed = ", ".join(PERFORMANCE_STATUSES)
        listed = ", ".join(f"{'empty' if v is None else repr(v)} x{n:,} (first row {r})"
                           for v, (n, r) in sorted(self.values.items(), key=lambda kv: kv[1][1]))
        if self.others:
            listed += f", {self.others:,} more rows with other values"
        counted = f"; {self.rows:,} rows in all: {listed}" if self.rows > 1 else "; the only such row"
        hint = f"; `poolgate validate --tape {source}` lists every problem" if source else ""
        return TapeError(f"{_where(source)}, row {row}, column 'status': {_cell(value)} is not one of {allowed} "
                         f"(the labels read every status){counted}{hint}")


def _statuses(batch: pd.DataFrame) -> np.ndarray:
    return batch["status"].astype("string").str.strip().fillna("").to_numpy(dtype=object)


def _per_contract(batch: pd.DataFrame, mob: np.ndarray, dpd: np.ndarray, status: np.ndarray, horizon_months: int,
                  dpd_threshold: int) -> pd.DataFrame:
    """One row per contract of ``batch`` (indexed by ``contract_id``): ``hit``, ``ended``, ``mob``, ``last``.

    ``mob``, ``dpd`` and ``status`` are the batch's checked ``months_on_book``, ``dpd`` and stripped ``status``.
    """
    within = mob <= horizon_months
    hit = within & ((dpd >= dpd_threshold) | (status == "defaulted"))
    ended = within & np.isin(status, ENDED_STATUSES)
    rows = pd.DataFrame({
        "contract_id": batch["contract_id"].astype(str).to_numpy(),
        "hit": hit,
        "ended": ended,
        "mob": np.where(within, mob, horizon_months),
        "last": mob,
    })
    return rows.groupby("contract_id", sort=False).agg(_COMBINE)


def _combine(parts: list[pd.DataFrame]) -> pd.DataFrame:
    if len(parts) == 1:
        return parts[0]
    return pd.concat(parts).groupby(level=0, sort=False).agg(_COMBINE)


def default_labels(performance: pd.DataFrame | Iterable[pd.DataFrame], *, horizon_months: int = 24,
                   dpd_threshold: int = 90) -> pd.DataFrame:
    """One default label per contract from its monthly history.

    Parameters
    ----------
    performance : DataFrame or iterable of DataFrames
        Monthly performance rows (``PERFORMANCE_FIELDS``), whole or in consecutive batches (e.g.
        :class:`features.io.TapeBatches`); only ``contract_id``, ``months_on_book`` (months), ``dpd``
        (days) and ``status`` are used. Rows may come in any order, a contract's rows in several
        batches; CSV text is accepted. Row numbers in errors count from the first row of the first batch.
    horizon_months : int, default 24
        Months after origination within which a default counts.
    dpd_threshold : int, default 90
        Days past due at which a contract counts as defaulted (``dpd >= dpd_threshold``).

    Returns
    -------
    DataFrame
        One row per contract, sorted by ``contract_id``: ``contract_id`` (str), ``default`` (int 0/1),
        ``observed`` (bool), ``months_observed`` (int, months of history up to the horizon).

    Raises
    ------
    ConfigError
        If ``horizon_months`` or ``dpd_threshold`` is below 1.
    TapeError
        If a needed column is missing, ``months_on_book`` / ``dpd`` hold something other than numbers,
        or a ``status`` is not one of ``current``, ``prepaid``, ``defaulted``, ``terminated``
        (:data:`features.schema.PERFORMANCE_STATUSES`, compared exactly after stripping blanks). The
        message names the file (when the history is a :class:`features.io.TapeBatches`), the first bad
        row, the column and the value; for ``status``, every bad value with its count and first row.
    """
    if int(horizon_months) < 1:
        raise ConfigError(f"horizon_months must be >= 1 month, got {horizon_months!r}")
    if int(dpd_threshold) < 1:
        raise ConfigError(f"dpd_threshold must be >= 1 day, got {dpd_threshold!r}")
    batches = [performance] if isinstance(performance, pd.DataFrame) else performance
    path = getattr(performance, "path", None)
    source = str(path) if isinstance(path, (str, Path)) else None
    merged: pd.DataFrame | None = None
    pending: list[pd.DataFrame] = []
    bad = _BadStatuses()
    first_row = 0
    for batch in batches:
        missing = [c for c in _NEEDED if c not in batch.columns]
        if missing:
            raise TapeError(f"{_where(source)} lacks column(s) {', '.join(missing)}; "
                            f"labels need {', '.join(_NEEDED)}")
        if len(batch):
            mob = _numbers(batch, "months_on_book", first_row, source)
            dpd = _numbers(batch, "dpd", first_row, source)
            status = _statuses(batch)
            wrong = ~np.isin(status, PERFORMANCE_STATUSES)
            if wrong.any():
                bad.add(batch["status"], wrong, first_row)
            if not bad.rows:   # after a bad status the pass only checks and counts
                pending.append(_per_contract(batch, mob, dpd, status, horizon_months, dpd_threshold))
        first_row += len(batch)
        # combined once the pending reductions outgrow the combined one: each contract is combined
        # a few times, and at most about twice the contracts are held
        if sum(len(p) for p in pending) >= (0 if merged is None else len(merged)) and pending:
            merged = _combine(pending if merged is None else [merged, *pending])
            pending = []
    if bad.rows:
        raise bad.error(source)
    if pending:
        merged = _combine(pending if merged is None else [merged, *pending])
    if merged is None:
        return pd.DataFrame({"contract_id": pd.Series(dtype=str), "default": pd.Series(dtype="int64"),
                             "observed": pd.Series(dtype=bool), "months_observed": pd.Series(dtype="int64")})
    per = merged.sort_index()
    reached = per["last"].to_numpy() >= horizon_months
    out = pd.DataFrame({
        "contract_id": per.index.astype(str),
        "default": per["hit"].to_numpy().astype("int64"),
        "observed": per["hit"].to_numpy() | per["ended"].to_numpy() | reached,
        "months_observed": np.minimum(per["mob"].to_numpy(), horizon_months).astype("int64"),
    })
    return out.reset_index(drop=True)
