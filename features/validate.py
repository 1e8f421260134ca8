"""Validating a whole tape file, streamed in chunks so memory stays flat."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from features.contract import CheckResult, RepeatedIds, check_lease_tape, check_performance, empty_problems
from features.io import iter_table

__all__ = ["TapeReport", "detect_kind", "validate_tape"]


@dataclass
class TapeReport:
    """Outcome of :func:`validate_tape`.

    Attributes
    ----------
    path : Path
    kind : {"lease", "performance"}
    n_rows : int
        Data rows read.
    n_invalid_rows : int
        Rows with at least one problem.
    problems : DataFrame
        Every problem (``row, column, value, rule, message``), in file order.
    extra_columns : list of str
        Columns that are not canonical fields (kept, reported, never silently dropped).
    """

    path: Path
    kind: str
    n_rows: int = 0
    n_invalid_rows: int = 0
    problems: pd.DataFrame = field(default_factory=empty_problems)
    extra_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problems.empty

    def problems_by_rule(self) -> dict[str, int]:
        """Problem counts keyed ``column:rule``."""
        if self.problems.empty:
            return {}
        return {f"{c}:{r}": int(n) for (c, r), n in self.problems.groupby(["column", "rule"]).size().items()}

    def summary(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "kind": self.kind,
            "rows": self.n_rows,
            "invalid_rows": self.n_invalid_rows,
            "problems": len(self.problems),
            "problems_by_rule": self.problems_by_rule(),
            "extra_columns": self.extra_columns,
            "ok": self.ok,
        }


def detect_kind(columns: list[str]) -> str:
    """``"performance"`` when the columns look like monthly history, else ``"lease"``."""
    cols = set(columns)
    return "performance" if {"month", "dpd", "status"} <= cols else "lease"


def validate_tape(
    path: str | os.PathLike[str],
    *,
    kind: str | None = None,
    chunksize: int = 200_000,
    on_chunk: Callable[[int], None] | None = None,
) -> TapeReport:
    """Check every row of a tape file against the canonical contract.

    Parameters
    ----------
    path : path-like
        CSV or Parquet tape.
    kind : {"lease", "performance"}, optional
        Which table; detected from the columns when omitted.
    chunksize : int, default 200_000
        Rows per chunk.
    on_chunk : callable, optional
        Called with the number of rows of each chunk processed (progress bars).

    Raises
    ------
    TapeError
        When the file as a whole cannot be read (missing, empty, not CSV/Parquet, not UTF-8).
    """
    from features.schema import LEASE_FIELDS, PERFORMANCE_FIELDS, PERFORMANCE_LOSS_FIELDS

    report = TapeReport(path=Path(path), kind=kind or "")
    parts: list[pd.DataFrame] = []
    repeated: RepeatedIds | None = None
    key = "contract_id"
    for chunk in iter_table(path, chunksize=chunksize):
        offset = int(chunk.index[0]) if len(chunk) else report.n_rows
        if not report.kind:
            report.kind = detect_kind(list(chunk.columns))
        if report.n_rows == 0:
            known = {f.name for f in (LEASE_FIELDS if report.kind == "lease"
                                      else PERFORMANCE_FIELDS + PERFORMANCE_LOSS_FIELDS)}
            report.extra_columns = [c for c in chunk.columns if c not in known]
        check = check_lease_tape if report.kind == "lease" else check_performance
        result: CheckResult = check(chunk.reset_index(drop=True), row_offset=offset)
        probs = result.problems
        if offset > 0:  # the first chunk reports file-level problems once
            probs = probs[probs["row"] > 0]
        invalid = result.invalid.copy()
        if report.kind == "lease" and key in chunk.columns:
            # every copy of an id the whole tape repeats, whichever chunk it is in, said the same way:
            # the report does not depend on the chunk size
            if repeated is None:
                repeated = RepeatedIds.of_tape(path)
            rows = np.arange(len(chunk)) + offset + 1
            first = repeated.first_rows(chunk[key].reset_index(drop=True)) if repeated is not None else 0 * rows
            probs = probs[~((probs["rule"] == "unique") & (probs["column"] == key))]   # said below, with the first row
            other = first > 0
            if other.any():
                dup = pd.DataFrame({"row": rows[other], "column": key,
                                    "value": chunk[key].astype(str).to_numpy()[other], "rule": "unique",
                                    "message": [RepeatedIds.message(f, r)
                                                for f, r in zip(first[other], rows[other], strict=True)]})
                probs = pd.concat([probs, dup], ignore_index=True)
                invalid |= other
        parts.append(probs)
        report.n_rows += len(chunk)
        report.n_invalid_rows += int(invalid.sum())
        if on_chunk is not None:
            on_chunk(len(chunk))
    nonempty = [p for p in parts if not p.empty]
    if nonempty:
        report.problems = pd.concat(nonempty, ignore_index=True).sort_values(
            ["row", "column"], kind="stable", ignore_index=True)
    return report
