"""Checking a tape against the canonical contract.

:func:`check_table` turns a raw frame (text cells from CSV, or typed Parquet columns) into a
typed frame and a table of every problem found, one row per bad cell: ``row`` (1-based data
row in the file, the header not counted; 0 for a problem with the whole file), ``column``,
``value``, ``rule`` and ``message``. Nothing stops at the first problem and no row is dropped:
the caller decides what an invalid row means (``validate`` reports it, ``screen`` marks the
asset ``invalid`` with these reasons).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.schema import (
    LEASE_FIELDS,
    MAX_LOAN_TO_VALUE,
    PERFORMANCE_FIELDS,
    PERFORMANCE_LOSS_FIELDS,
    Field,
    lease_field,
    out_of_range_reads_as_missing,
)

__all__ = [
    "PROBLEM_COLUMNS",
    "CheckResult",
    "FirstRows",
    "RepeatedIds",
    "blank_sentinels",
    "check_lease_tape",
    "check_performance",
    "check_table",
    "coerce_column",
    "empty_problems",
    "parse_dates",
    "sentinel_cells",
]

PROBLEM_COLUMNS = ["row", "column", "value", "rule", "message"]


def empty_problems() -> pd.DataFrame:
    """A problems table with no row (columns :data:`PROBLEM_COLUMNS`, ``row`` as int64)."""
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else object) for c in PROBLEM_COLUMNS})
_TRUE = {"true", "1", "yes", "y", "t", "1.0"}
_FALSE = {"false", "0", "no", "n", "f", "0.0"}
_NS_RANGE = (pd.Timestamp("1678-01-01"), pd.Timestamp("2261-12-31"))


@dataclass(frozen=True)
class CheckResult:
    """Typed records plus every problem found.

    Attributes
    ----------
    records : DataFrame
        Same rows and index as the input; canonical columns converted to their kinds (bad cells
        become missing), other columns passed through unchanged.
    problems : DataFrame
        Columns ``row, column, value, rule, message``; empty when the tape is clean.
    invalid : ndarray of bool, shape (n_rows,)
        True for each row with at least one problem.
    """

    records: pd.DataFrame
    problems: pd.DataFrame
    invalid: np.ndarray

    @property
    def ok(self) -> bool:
        return self.problems.empty


def _id_hashes(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of contract ids as text (trimmed) and whether each is present (not empty)."""
    text = ids.astype("string").str.strip().reset_index(drop=True).fillna("")
    return pd.util.hash_pandas_object(text, index=False).to_numpy(), (text != "").to_numpy(dtype=bool)


def _look_up(keys: np.ndarray, values: np.ndarray, hashes: np.ndarray, present: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``hashes`` (where ``present``), whether it is among the sorted ``keys``, and the value
    ``values`` holds for it there (0 where it is not)."""
    out = np.zeros(len(hashes), dtype="int64")
    if not keys.size:
        return np.zeros(len(hashes), dtype=bool), out
    pos = np.searchsorted(keys, hashes).clip(max=keys.size - 1)
    hit = present & (keys[pos] == hashes)
    out[hit] = values[pos[hit]]
    return hit, out


class FirstRows:
    """Contract ids met in earlier chunks of a tape, with the row each was first met on.

    Ids are kept as sorted 64-bit hashes with their first row numbers (16 bytes an id, not a Python
    string), so tracking a tape of millions of contracts stays small and vectorised. Repeats *within*
    one chunk are :func:`check_lease_tape`'s ``unique`` rule; this covers repeats across chunks.
    """

    def __init__(self) -> None:
        self._hashes = np.empty(0, dtype="uint64")
        self._rows = np.empty(0, dtype="int64")

    def earlier(self, ids: pd.Series, rows: np.ndarray) -> np.ndarray:
        """Return, for each id, the row it was first met on in an earlier call (0 where new or missing),
        then record this chunk's new ids with their first row in ``rows`` (1-based file rows)."""
        hashes, present = _id_hashes(ids)
        found, first = _look_up(self._hashes, self._rows, hashes, present)
        new = present & ~found
        new_hashes, at = np.unique(hashes[new], return_index=True)  # first occurrence within this chunk
        merged = np.concatenate([self._hashes, new_hashes])
        order = np.argsort(merged, kind="stable")
        self._hashes = merged[order]
        self._rows = np.concatenate([self._rows, np.asarray(rows, dtype="int64")[new][at]])[order]
        return first


class RepeatedIds:
    """The contract ids a whole tape holds more than once, with the row each first occurs on.

    Built from every id of the tape in file order (one column, read before the chunks are checked), so
    that every copy of a repeated id is found whichever chunk it falls in: what a chunked reader decides
    does not depend on the chunk size. Ids are kept as sorted 64-bit hashes (16 bytes a repeated id).
    """

    def __init__(self, ids: pd.Series) -> None:
        self._build(*_id_hashes(ids))

    @classmethod
    def of_tape(cls, path: str | os.PathLike[str], *, chunksize: int = 1_000_000) -> RepeatedIds | None:
        """The repeated ids of a CSV or Parquet tape's ``contract_id`` column, read a chunk at a time
        (hashes only are kept); None when the tape has no such column."""
        from features.io import iter_table, tape_columns

        if "contract_id" not in tape_columns(path):
            return None
        parts = [_id_hashes(chunk["contract_id"])
                 for chunk in iter_table(path, chunksize=chunksize, columns=["contract_id"])]
        out = cls.__new__(cls)
        out._build(np.concatenate([h for h, _ in parts]), np.concatenate([p for _, p in parts]))
        return out

    def _build(self, hashes: np.ndarray, present: np.ndarray) -> None:
        rows = np.flatnonzero(present) + 1   # 1-based data rows
        uniq, first, counts = np.unique(hashes[present], return_index=True, return_counts=True)
        self._hashes = uniq[counts > 1]
        self._first = rows[first[counts > 1]]

    def __len__(self) -> int:
        return int(self._hashes.size)

    def first_rows(self, ids: pd.Series) -> np.ndarray:
        """For each id, the 1-based row of its first occurrence in the tape when the tape repeats it, else 0."""
        return _look_up(self._hashes, self._first, *_id_hashes(ids))[1]

    @staticmethod
    def message(first: int, row: int) -> str:
        """The ``unique`` problem's text for the copy at 1-based ``row`` of an id first met on ``first``."""
        return ("contract_id appears more than once in the tape ("
                + ("again later" if first == row else f"first at row {first}") + ")")


class _Collector:
    def __init__(self, row_numbers: np.ndarray) -> None:
        self.row_numbers = row_numbers
        self.parts: list[pd.DataFrame] = []
        self.invalid = np.zeros(len(row_numbers), dtype=bool)

    def add(self, mask: np.ndarray, column: str, values: pd.Series, rule: str, message: str) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        self.invalid |= mask
        shown = values[mask].astype(object).where(values[mask].notna(), "")
        self.parts.append(pd.DataFrame({
            "row": self.row_numbers[mask],
            "column": column,
            "value": shown.astype(str).to_numpy(),
            "rule": rule,
            "message": message,
        }))

    def add_file(self, column: str, rule: str, message: str) -> None:
        self.parts.append(pd.DataFrame(
            {"row": [0], "column": [column], "value": [""], "rule": [rule], "message": [message]}))

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return empty_problems()
        out = pd.concat(self.parts, ignore_index=True)
        return out.sort_values(["row", "column"], kind="stable", ignore_index=True)


def coerce_column(values: pd.Series, field: Field) -> tuple[pd.Series, np.ndarray]:
    """Convert ``values`` to ``field``'s kind.

    Returns
    -------
    converted : Series
        Typed values; cells that could not be converted are missing.
    bad_type : ndarray of bool
        True where a non-empty cell could not be converted.
    """
    if field.kind == "date" and values.dtype == object:
        dates = _date_objects(values)
        if dates is not None:
            return dates, np.zeros(len(values), dtype=bool)
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        # an empty or blank text cell is a missing value, whatever the source (CSV, JSON request, Parquet text)
        values = values.where(~values.astype("string").str.strip().eq("").fillna(False))
    present = values.notna().to_numpy()
    if field.kind in ("int", "float"):
        if pd.api.types.is_bool_dtype(values):
            values = values.astype(float)
        num = pd.to_numeric(values, errors="coerce").astype("float64")
        num = num.where(np.isfinite(num.to_numpy()))  # "inf", or 400 digits that overflow a float: not a number
        bad = present & num.isna().to_numpy()
        if field.kind == "int":
            v = num.to_numpy()
            # a fraction, or a whole number no 64-bit integer holds (1e19): not a count
            wrong = num.notna().to_numpy() & ((np.abs(v - np.round(v)) > 1e-9) | ~(np.abs(v) < 2.0**63))
            bad |= wrong
            num = num.where(~wrong)
            return num.round().astype("Int64"), bad
        return num, bad
    if field.kind == "bool":
        if pd.api.types.is_bool_dtype(values):
            return values.astype("boolean"), np.zeros(len(values), dtype=bool)
        text = values.astype(str).str.strip().str.lower()
        out = pd.Series(pd.NA, index=values.index, dtype="boolean")
        out[text.isin(_TRUE).to_numpy() & present] = True
        out[text.isin(_FALSE).to_numpy() & present] = False
        return out, present & out.isna().to_numpy()
    if field.kind == "date":
        if pd.api.types.is_datetime64_any_dtype(values):
            parsed = _in_ns_range(values)
        else:
            parsed = parse_dates(values.astype(str).str.strip().where(values.notna()), "%Y-%m-%d")
        return parsed, present & parsed.isna().to_numpy()
    # string and category: keep the text, trimmed (vectorised; numbers in a text column become their text)
    return values.astype("string").str.strip(), np.zeros(len(values), dtype=bool)


def parse_dates(text: pd.Series, fmt: str) -> pd.Series:
    """Text cells parsed with the strptime format ``fmt``, as ``datetime64[ns]``; unparseable cells,
    and dates nanoseconds cannot hold, become NaT."""
    return _in_ns_range(pd.to_datetime(text, format=fmt, errors="coerce"))


def _in_ns_range(parsed: pd.Series) -> pd.Series:
    # a date pandas cannot hold in nanoseconds (before 1677 or after 2262) is not a date a lease has
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):   # a zoned timestamp: its date where it was written
        parsed = parsed.dt.tz_localize(None)
    return parsed.where((parsed >= _NS_RANGE[0]) & (parsed <= _NS_RANGE[1])).astype("datetime64[ns]")


def _date_objects(values: pd.Series) -> pd.Series | None:
    """``values`` as datetime64[ns] if every cell is a ``datetime.date`` or missing (a Parquet date
    column) and within the datetime64[ns] range; None otherwise (the text path decides)."""
    if pd.api.types.infer_dtype(values, skipna=True) != "date":
        return None
    parsed = pd.to_datetime(values, errors="coerce")
    present = parsed.dropna()
    if len(present) and (present.min() < _NS_RANGE[0] or present.max() > _NS_RANGE[1]):
        return None
    return parsed.astype("datetime64[ns]")


def _check_fields(frame: pd.DataFrame, fields: Sequence[Field], out: _Collector,
                  required: Sequence[str]) -> dict[str, pd.Series]:
    typed: dict[str, pd.Series] = {}
    for field in fields:
        if field.name not in frame.columns:
            if field.name in required:
                out.add_file(field.name, "required_column",
                             f"required column {field.name!r} is missing ({field.description})")
            continue
        raw = frame[field.name]
        values, bad_type = coerce_column(raw, field)
        typed[field.name] = values
        kind_text = {"int": "a whole number", "float": "a number", "bool": "true or false",
                     "date": "a date YYYY-MM-DD from 1678 to 2261"}.get(field.kind, field.kind)
        out.add(bad_type, field.name, raw, "type", f"{field.name} must be {kind_text}")
        missing = values.isna().to_numpy() & ~bad_type
        if not field.nullable:
            out.add(missing, field.name, raw, "not_null", f"{field.name} may not be empty")
        if field.categories is not None:
            unknown = values.notna().to_numpy() & ~values.isin(field.categories).fillna(False).to_numpy()
            out.add(unknown, field.name, raw, "category", f"{field.name} must be {field.range_text}")
        if field.kind in ("int", "float"):
            num = values.astype("float64").to_numpy(na_value=np.nan)
            with np.errstate(invalid="ignore"):
                low = (num < field.minimum) if field.minimum is not None else np.zeros(len(num), bool)
                high = (num > field.maximum) if field.maximum is not None else np.zeros(len(num), bool)
            out.add(low | high, field.name, raw, "range",
                    f"{field.name} ({field.unit or 'value'}) must be {field.range_text}")
    return typed


def _rule(out: _Collector, typed: dict[str, pd.Series], raw: pd.DataFrame, column: str,
          needs: Sequence[str], test: Callable[..., pd.Series], rule: str, message: str) -> None:
    if not all(n in typed for n in needs):
        return
    with np.errstate(invalid="ignore"):
        broken = test(*(typed[n] for n in needs))
    mask = broken.fillna(False).to_numpy(dtype=bool)
    out.add(mask, column, raw[column], rule, message)


def _num(s: pd.Series) -> pd.Series:
    return s.astype("float64")


def _months_between(start: pd.Series, end: pd.Series) -> pd.Series:
    return (end.dt.year - start.dt.year) * 12 + (end.dt.month - start.dt.month)


def check_table(frame: pd.DataFrame, fields: Sequence[Field], *, row_offset: int = 0,
                required: Sequence[str] | None = None) -> tuple[dict[str, pd.Series], _Collector]:
    """Field-level checks shared by both tables (kinds, emptiness, categories, ranges)."""
    rows = np.arange(len(frame), dtype="int64") + row_offset + 1
    out = _Collector(rows)
    need = [f.name for f in fields] if required is None else list(required)
    typed = _check_fields(frame, fields, out, need)
    return typed, out


def _assemble(frame: pd.DataFrame, typed: dict[str, pd.Series], out: _Collector) -> CheckResult:
    records = frame.copy(deep=False)  # copy-on-write: the caller's frame is never changed
    for name, values in typed.items():
        records[name] = values.to_numpy() if isinstance(values.dtype, np.dtype) else values.array
    return CheckResult(records=records, problems=out.frame(), invalid=out.invalid)


def check_lease_tape(frame: pd.DataFrame, *, row_offset: int = 0,
                     required: Sequence[str] | None = None) -> CheckResult:
    """Check a frame of canonical lease records.

    Parameters
    ----------
    frame : DataFrame
        Raw tape rows; CSV text or typed values.
    row_offset : int, default 0
        Data rows before this frame in the file (for chunked reads), so ``row`` numbers are global.
    required : sequence of str, optional
        Columns that must be present; default every canonical lease field.

    Notes
    -----
    Duplicated ``contract_id`` values are found only within ``frame``; a chunked caller checks
    uniqueness across chunks itself.
    """
    typed, out = check_table(frame, LEASE_FIELDS, row_offset=row_offset, required=required)
    raw = frame
    if "contract_id" in typed:
        ids = typed["contract_id"]
        dup = ids.duplicated(keep=False).to_numpy() & ids.notna().to_numpy()
        out.add(dup, "contract_id", raw["contract_id"], "unique",
                "contract_id appears more than once in the tape")
    _rule(out, typed, raw, "financed_amount", ["financed_amount", "vehicle_price"],
          lambda f, p: _num(f) > MAX_LOAN_TO_VALUE * _num(p), "ltv_max",
          f"financed_amount must not exceed {MAX_LOAN_TO_VALUE:g} x vehicle_price (a loan-to-value above "
          f"{MAX_LOAN_TO_VALUE:g} is a keying or unit error)")
    _rule(out, typed, raw, "down_payment", ["down_payment", "vehicle_price"],
          lambda d, p: _num(d) >= _num(p), "down_payment_max", "down_payment must be below vehicle_price")
    _rule(out, typed, raw, "residual_value", ["residual_value", "financed_amount"],
          lambda r, f: _num(r) >= _num(f), "residual_max", "residual_value must be below financed_amount")
    _rule(out, typed, raw, "monthly_rent", ["monthly_rent", "term_months", "financed_amount", "residual_value"],
          lambda m, t, f, r: _num(m) * _num(t) < 0.95 * (_num(f) - _num(r)), "rent_covers_principal",
          "monthly_rent x term_months must cover financed_amount minus residual_value")
    _rule(out, typed, raw, "cutoff_date", ["origination_date", "cutoff_date"],
          lambda o, c: o > c, "date_order", "origination_date is after cutoff_date (dates out of order)")
    _rule(out, typed, raw, "months_on_book", ["months_on_book", "origination_date", "cutoff_date", "term_months"],
          lambda m, o, c, t: (_num(m) - np.minimum(_months_between(o, c), _num(t))).abs() > 1,
          "months_on_book_dates",
          "months_on_book must equal the months from origination_date to cutoff_date (+-1), "
          "capped at term_months")
    _rule(out, typed, raw, "months_on_book", ["months_on_book", "term_months"],
          lambda m, t: _num(m) > _num(t), "months_on_book_max", "months_on_book must not exceed term_months")
    _rule(out, typed, raw, "instalments_paid", ["instalments_paid", "months_on_book"],
          lambda i, m: _num(i) > _num(m), "instalments_max",
          "instalments_paid must not exceed months_on_book")
    _rule(out, typed, raw, "worst_dpd", ["worst_dpd", "current_dpd"],
          lambda w, c: _num(w) < _num(c), "worst_dpd_min", "worst_dpd must be at least current_dpd")
    _rule(out, typed, raw, "outstanding_principal", ["outstanding_principal", "financed_amount"],
          lambda o, f: _num(o) > _num(f) * 1.001, "outstanding_max",
          "outstanding_principal must not exceed financed_amount")
    _rule(out, typed, raw, "years_in_job", ["years_in_job", "lessee_age"],
          lambda y, a: _num(y) > _num(a) - 14, "job_tenure_age",
          "years_in_job is impossible for the lessee's age (work before age 14)")
    return _assemble(frame, typed, out)


def check_performance(frame: pd.DataFrame, *, row_offset: int = 0) -> CheckResult:
    """Check a frame of monthly performance history (same output as :func:`check_lease_tape`).

    The optional loss fields (``PERFORMANCE_LOSS_FIELDS``) are checked when the frame has them.
    """
    typed, out = check_table(frame, PERFORMANCE_FIELDS + PERFORMANCE_LOSS_FIELDS, row_offset=row_offset,
                             required=[f.name for f in PERFORMANCE_FIELDS])
    if "contract_id" in typed and "month" in typed:
        key = pd.DataFrame({"c": typed["contract_id"], "m": typed["month"]})
        dup = key.duplicated(keep=False).to_numpy() & key.notna().all(axis=1).to_numpy()
        out.add(dup, "month", frame["month"], "unique", "the same contract_id and month appear more than once")
    _rule(out, typed, frame, "amount_paid", ["amount_paid"], lambda p: _num(p) < 0, "range",
          "amount_paid must be >= 0")
    return _assemble(frame, typed, out)


SENTINEL_MAX_CODES = 20
"""Out-of-range values read as missing only when they take at most this many distinct values."""


def sentinel_cells(name: str, values: pd.Series) -> tuple[pd.Series, str | None]:
    """The cells of canonical field ``name`` that hold a sentinel code, to be read as missing by a model fit.

    A cell is a sentinel when the field allows it (:func:`features.schema.out_of_range_reads_as_missing`),
    its number is outside the field's range, and the out-of-range values of the column are a few
    repeated codes (at most :data:`SENTINEL_MAX_CODES` distinct). Many distinct out-of-range values
    are a unit or mapping error (a score on a 0-1 scale), which must stay visible: then no cell is a
    sentinel and the second value says why.

    Returns
    -------
    (Series of bool, str or None)
        The mask (same index as ``values``) and, when out-of-range values were found but not read as
        sentinels, a message naming the field, the count and a few values.
    """
    none = pd.Series(False, index=values.index)
    if not out_of_range_reads_as_missing(name):
        return none, None
    spec = lease_field(name)
    numbers = pd.to_numeric(values, errors="coerce")
    outside = pd.Series(False, index=values.index)
    if spec.minimum is not None:
        outside |= numbers < spec.minimum
    if spec.maximum is not None:
        outside |= numbers > spec.maximum
    outside = outside.fillna(False).astype(bool)
    codes = numbers[outside].unique()
    if len(codes) > SENTINEL_MAX_CODES:
        sample = ", ".join(f"{v:g}" for v in sorted(codes)[:5])
        return none, (f"{name}: {int(outside.sum())} values outside {spec.range_text} take {len(codes)} distinct "
                      f"values ({sample}, ...): not sentinel codes but a unit or mapping problem; left as they are")
    return outside, None


def blank_sentinels(frame: pd.DataFrame, columns: Iterable[str] | None = None
                    ) -> tuple[pd.DataFrame, dict[str, pd.Series], list[str]]:
    """Empty the sentinel cells (:func:`sentinel_cells`) of ``columns`` (default: all) of ``frame``.

    Returns
    -------
    (DataFrame, dict, list of str)
        ``frame`` with those cells empty (the same object when there are none), the mask of each
        column that had any, and the refusal message of each column whose out-of-range values were
        too many distinct ones to be sentinels.
    """
    masks: dict[str, pd.Series] = {}
    refusals: list[str] = []
    for name in (frame.columns if columns is None else columns):
        mask, refused = sentinel_cells(name, frame[name])
        if refused:
            refusals.append(refused)
        if mask.any():
            masks[name] = mask
    if not masks:
        return frame, masks, refusals
    out = frame.copy()
    for name, mask in masks.items():
        out[name] = frame[name].mask(mask)
    return out, masks, refusals
