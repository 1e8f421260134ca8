"""Reading the tapes a training run needs: the book, its performance history, the generator truth.

The book is checked against the canonical contract (:func:`features.contract.check_lease_tape`).
A row with a problem in a field the run reads (the model inputs' fields in the feature specification,
``contract_id`` and ``origination_date``) cannot be trained on: it is left out, counted and named in the
log, never dropped silently. Problems in other fields (e.g. the status fields at the cut-off, which
the model does not use) are counted and logged, and the row is kept. Only the four performance columns the labels use are read
(and the three more the forward model's snapshots use), and only ``contract_id`` and ``pd_24m`` of the truth (and the
forward oracle's columns).

The performance history is not read here: it grows with the months as well as the contracts (24 million rows for a
1,000,000-contract book), so the run gets it as :class:`features.io.TapeBatches`, read in batches of
``history_batch_rows`` rows of the needed columns by each stage that uses it (labels, snapshots), never whole.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from features.contract import blank_sentinels, check_lease_tape
from features.exceptions import TapeError
from features.io import TapeBatches, read_table, tape_columns
from features.spec import FeatureSpec, load_spec
from training.errors import TrainingError

__all__ = ["HISTORY_BATCH_ROWS", "PERFORMANCE_COLUMNS", "TRUTH_COLUMNS", "TrainingData", "history_batches",
           "read_training_data"]

log = logging.getLogger(__name__)

PERFORMANCE_COLUMNS = ["contract_id", "months_on_book", "dpd", "status"]
#: Also read when the history has them: the snapshots of the forward model (training.forward) need them.
SNAPSHOT_PERFORMANCE_COLUMNS = ["month", "amount_due", "amount_paid"]
TRUTH_COLUMNS = ["contract_id", "pd_24m"]
#: Also read when the truth has them: the forward oracle and the outcomes after the cut-off.
FORWARD_TRUTH_COLUMNS = ["pd_12m_fwd", "pd_remaining_fwd", "outcome", "default_month"]
#: History rows held at once by a pass over the performance history (about 100 MB as frames).
HISTORY_BATCH_ROWS = 1_000_000


def _read_with_optional(path: str | os.PathLike[str], needed: list[str], optional: list[str]) -> pd.DataFrame:
    """``needed`` columns, plus ``optional`` when the file has every one of them."""
    try:
        return read_table(path, columns=needed + optional)
    except TapeError:
        return read_table(path, columns=needed)


def history_batches(path: str | os.PathLike[str], *, batch_rows: int = HISTORY_BATCH_ROWS) -> TapeBatches:
    """The performance history as batches of the columns a run reads.

    :data:`PERFORMANCE_COLUMNS`, plus :data:`SNAPSHOT_PERFORMANCE_COLUMNS` when the tape has every one
    of them. Only the header (CSV) or the schema (Parquet) is read here.

    Raises
    ------
    TapeError
        If the file cannot be read or lacks a column the labels need.
    """
    names = tape_columns(path)
    missing = [c for c in PERFORMANCE_COLUMNS if c not in names]
    if missing:
        raise TapeError(f"{path}: the performance history lacks column(s) {', '.join(missing)}; the labels need "
                        f"{', '.join(PERFORMANCE_COLUMNS)}")
    optional = SNAPSHOT_PERFORMANCE_COLUMNS if all(c in names for c in SNAPSHOT_PERFORMANCE_COLUMNS) else []
    return TapeBatches(Path(path), tuple(PERFORMANCE_COLUMNS + optional), batch_rows=batch_rows)


@dataclass(frozen=True)
class TrainingData:
    """Typed tables for a training run.

    Attributes
    ----------
    book : DataFrame
        Valid canonical lease records.
    performance : TapeBatches or None
        ``contract_id``, ``months_on_book``, ``dpd``, ``status`` (and ``month``, ``amount_due``,
        ``amount_paid`` when the tape has them) of the monthly history, read in batches by whoever
        iterates over it (None when the labels come from a target column instead).
    truth : DataFrame or None
        ``contract_id`` and ``pd_24m`` (oracle PD over 24 months, a fraction) when given.
    rows_read : int
        Rows in the book tape.
    rows_invalid : int
        Book rows left out because a field the run reads breaks the contract.
    rows_with_other_problems : int
        Book rows kept although a field the run does not read breaks the contract.
    out_of_range_as_missing : dict of str to int
        Sentinel codes in model inputs (:func:`features.contract.sentinel_cells`, e.g. a bureau score
        of 0) read as missing in rows that were kept, counted per field.
    problems : DataFrame
        Every problem found in the book (``row, column, value, rule, message``), the sentinel codes
        read as missing excepted.
    """

    book: pd.DataFrame
    performance: TapeBatches | None
    truth: pd.DataFrame | None
    rows_read: int
    rows_invalid: int
    rows_with_other_problems: int
    problems: pd.DataFrame
    out_of_range_as_missing: dict[str, int] = field(default_factory=dict)


def read_training_data(tape: str | os.PathLike[str], performance: str | os.PathLike[str] | None,
                       truth: str | os.PathLike[str] | None = None, *,
                       spec: FeatureSpec | None = None, source: str | None = None,
                       history_batch_rows: int = HISTORY_BATCH_ROWS) -> TrainingData:
    """Read and check the book, its history and (optionally) the truth.

    ``spec`` (the shipped feature specification by default) decides which fields the run reads.
    ``performance`` may be None when the labels come from elsewhere (a mapping's target).
    ``source`` is what the user gives ``poolgate validate --tape`` to list every problem, when it is
    not ``tape`` itself (a tape read through a mapping: ``"book.csv --mapping m.toml"``).
    ``history_batch_rows`` is the most history rows a pass over the performance history holds at once
    (:func:`history_batches`); the history's header is checked here, its rows are read later.

    Raises
    ------
    TapeError
        If a file cannot be read or lacks a needed column.
    TrainingError
        If no row of the book is valid.
    """
    perf = history_batches(performance, batch_rows=history_batch_rows) if performance is not None else None
    raw = read_table(tape)
    used = {"contract_id", "origination_date", *(spec or load_spec()).required_fields}
    # a sentinel code in a numeric model input (a bureau score of 0) is read as missing before the
    # contract is checked, so no rule sees it and the row is kept
    raw, sentinels, refusals = blank_sentinels(raw, sorted(used & set(raw.columns)))
    for refused in refusals:
        log.warning("%s: %s", source or tape, refused)
    checked = check_lease_tape(raw)
    problems = checked.problems
    in_rows = problems[problems["row"] > 0]   # row 0: a problem of the file as a whole (a column it lacks)
    bad_rows = in_rows.loc[in_rows["column"].isin(used), "row"].unique()
    other_rows = in_rows.loc[~in_rows["column"].isin(used), "row"].unique()
    drop = pd.Series(raw.index + 1).isin(bad_rows).to_numpy()   # problem rows are 1-based
    kept_with_problems = len(set(other_rows.tolist()) - set(bad_rows.tolist()))
    if len(problems):
        by_rule = problems.groupby(["column", "rule"]).size().to_dict()
        whole = len(problems) - len(in_rows)
        log.warning("%s: %d problems in %d rows%s (%s); %d rows left out (a field the model or the split reads "
                    "is bad), %d kept (only fields the run does not read are bad); `poolgate validate --tape %s` "
                    "lists every problem", source or tape, len(in_rows), in_rows["row"].nunique(),
                    f" and {whole} of the file as a whole" if whole else "",
                    ", ".join(f"{c}:{r}={n}" for (c, r), n in by_rule.items()), int(drop.sum()),
                    kept_with_problems, source or tape)
    blanked = {name: int((mask.to_numpy() & ~drop).sum()) for name, mask in sentinels.items()}
    blanked = {name: n for name, n in blanked.items() if n}
    if blanked:
        log.warning("%s: sentinel codes outside the field's allowed range read as missing (rows kept): %s",
                    source or tape, ", ".join(f"{k} x{v}" for k, v in blanked.items()))
    book = checked.records.loc[~drop].reset_index(drop=True)
    if book.empty:
        raise TrainingError(f"{source or tape}: none of its {len(raw)} rows has valid model inputs; nothing to train on")
    truth_frame = _read_with_optional(truth, TRUTH_COLUMNS, FORWARD_TRUTH_COLUMNS) if truth is not None else None
    return TrainingData(book=book, performance=perf, truth=truth_frame, rows_read=len(raw), rows_invalid=int(drop.sum()),
                        rows_with_other_problems=kept_with_problems, problems=problems,
                        out_of_range_as_missing=blanked)
