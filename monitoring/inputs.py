"""Reading what monitoring starts from: the screening run's admitted pool and the performance tape.

The I/O edge of the package. Bad input that makes the whole monitoring meaningless is refused with one
line naming the file, the row or key, the value and the rule (:class:`MonitorInputError`): a contract
that is not in the run's tape, a contract and month repeated, months out of order within a contract, a
negative amount, a run whose tape changed since screening. Rows that break the performance data contract
in other ways (a bad status code, an unreadable number, an empty required cell) are left out and counted
by rule, never guessed.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.contract import check_lease_tape, check_performance
from features.exceptions import TapeError
from features.io import read_json_object, read_table
from features.schema import PERFORMANCE_FIELDS, PERFORMANCE_LOSS_FIELDS, PERFORMANCE_STATUSES
from monitoring.pool import month_index, month_numbers
from scoring.audit import file_digest

__all__ = ["AMOUNT_COLUMNS", "MonitorInputError", "Performance", "ScreenedPool", "load_pool", "periods_between",
           "read_performance"]

AMOUNT_COLUMNS = ("amount_due", "amount_paid", "outstanding_principal", "charged_off_amount", "recovered_amount")


class MonitorInputError(TapeError):
    """A monitoring input is unusable as a whole; the message names file, row or key, value and rule."""


@dataclass(frozen=True)
class ScreenedPool:
    """The admitted pool of a screening run, at the cut-off.

    ``assets`` has :data:`monitoring.pool.ASSET_COLUMNS` plus ``row`` (the tape row); ``run`` is the
    run's ``summary.json`` ``run`` object; ``tape_ids`` every contract id of the screened tape.
    """

    run_dir: Path
    run: dict[str, Any]
    assets: pd.DataFrame
    records: pd.DataFrame
    tape_ids: pd.Index


@dataclass(frozen=True)
class Performance:
    """A checked performance tape: typed ``rows`` that passed the contract, and what was left out."""

    path: Path
    digest: str
    rows: pd.DataFrame
    n_rows: int
    left_out: dict[str, int] = field(default_factory=dict)


def load_pool(run_dir: Path, *, with_records: bool = True) -> ScreenedPool:
    """The admitted assets of the screening run in ``run_dir`` with their cut-off balances.

    With ``with_records`` the admitted assets' whole typed lease records are kept (for the model inputs
    of the drift check); without, only the columns monitoring needs are read.

    Raises
    ------
    MonitorInputError
        If the run's summary, decisions or tape are missing, or the tape's digest differs from the run's.
    """
    summary_path = run_dir / "summary.json"
    if not summary_path.is_file():
        raise MonitorInputError(f"{summary_path}: missing; --run must be a poolgate screen output folder")
    run = read_json_object(summary_path, what="the summary of a poolgate screen run").get("run", {})
    tape = Path(str(run.get("tape", "")))
    if not tape.is_file():
        raise MonitorInputError(f"{summary_path}: run.tape = {str(tape)!r}: rule tape_present (the screened tape "
                                "is needed for the cut-off balances; it is gone)")
    if file_digest(tape) != run.get("input_digest"):
        raise MonitorInputError(f"{tape}: digest differs from run.input_digest in {summary_path}: rule "
                                "tape_unchanged (the tape was changed after screening)")
    available = pq.ParquetFile(run_dir / "decisions.parquet").schema_arrow.names
    decisions = pd.read_parquet(run_dir / "decisions.parquet",
                                columns=["row", "asset_id", "status", "pd", *(["pd_12m"] if "pd_12m" in available else [])])
    admitted = decisions[decisions["status"] == "admit"].reset_index(drop=True)
    needed = ["contract_id", "outstanding_principal", "origination_date", "months_on_book", "current_dpd"]
    raw = read_table(tape) if with_records else read_table(tape, columns=needed)
    records = check_lease_tape(raw, required=needed).records
    take = admitted["row"].to_numpy(dtype=np.int64) - 1
    rec = records.iloc[take].reset_index(drop=True)
    assets = pd.DataFrame({
        "asset_id": admitted["asset_id"].astype(str).to_numpy(), "row": admitted["row"].to_numpy(),
        "pd": admitted["pd"].to_numpy(dtype="float64"),
        "pd_12m": (admitted["pd_12m"].to_numpy(dtype="float64") if "pd_12m" in admitted.columns
                   else np.full(len(admitted), np.nan)),
        "balance": pd.to_numeric(rec["outstanding_principal"]).to_numpy(dtype="float64"),
        "origination_date": pd.to_datetime(rec["origination_date"]).to_numpy(),
        "months_on_book": pd.to_numeric(rec["months_on_book"]).to_numpy(dtype="float64"),
        "current_dpd": pd.to_numeric(rec["current_dpd"]).to_numpy(dtype="float64"),
    })
    ids = pd.Index(raw["contract_id"].dropna().astype(str).unique()) if "contract_id" in raw.columns \
        else pd.Index([], dtype=object)
    return ScreenedPool(run_dir=run_dir, run=run, assets=assets, records=rec, tape_ids=ids)


def _show(value: object) -> object:
    """A cell as a plain Python value for messages (``-5.0``, not ``np.float64(-5.0)``)."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def read_performance(path: str | os.PathLike[str], tape_ids: pd.Index, *,
                     frame: pd.DataFrame | None = None) -> Performance:
    """Read and check a canonical performance tape (CSV or Parquet).

    Parameters
    ----------
    path : path-like
        The tape (named in messages).
    tape_ids : Index of str
        Contract ids of the screened tape: any other id is refused.
    frame : DataFrame, optional
        The tape already read (e.g. the canonical copy of a Reg AB tape); default: read ``path``.

    Raises
    ------
    MonitorInputError
        On a contract not in the run's tape, a repeated contract and month, months out of order within a
        contract, or a negative amount (the first one, with its 1-based data row).
    """
    p = Path(path)
    if frame is None and p.suffix.lower() in (".parquet", ".pq"):
        fast = _read_typed_parquet(p, tape_ids)
        if fast is not None:
            return fast
    raw = read_table(p) if frame is None else frame
    n = len(raw)
    for needed in ("contract_id", "month"):
        if needed not in raw.columns:
            raise MonitorInputError(f"{p}: row 0, column {needed!r} missing: rule required_column")
    for col in AMOUNT_COLUMNS:
        if col in raw.columns:
            num = pd.to_numeric(raw[col], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            neg = num < 0
            if neg.any():
                i = _first(neg)
                raise MonitorInputError(f"{p}: row {i + 1}, {col} = {_show(raw[col].iloc[i])!r}: rule non_negative "
                                        "(amounts are CNY >= 0; a negative amount means another sign convention)")
    ids = raw["contract_id"].astype(str).to_numpy()
    unknown = ~pd.Series(ids).isin(tape_ids).to_numpy()
    if unknown.any():
        i = _first(unknown)
        raise MonitorInputError(f"{p}: row {i + 1}, contract_id = {ids[i]!r}: rule in_run_pool (not a contract "
                                "of the screening run's tape)")
    month = pd.to_datetime(raw["month"], errors="coerce")
    mi = np.where(month.isna().to_numpy(), -1, month_index(month.fillna(pd.Timestamp("2000-01-31"))))
    _check_months(p, pd.factorize(pd.Series(ids))[0].astype(np.int64), mi, lambda i: str(raw["month"].iloc[i]),
                  lambda i: str(ids[i]))
    check = check_performance(raw)
    left: dict[str, int] = {}
    if len(check.problems):
        per_row = check.problems[check.problems["row"] > 0].drop_duplicates(["row", "rule"])
        for rule, count in per_row.groupby("rule")["row"].nunique().items():
            left[str(rule)] = int(count)
        file_level = check.problems[check.problems["row"] == 0]
        if len(file_level):
            first = file_level.iloc[0]
            raise MonitorInputError(f"{p}: row 0, column {first['column']!r}: rule {first['rule']} ({first['message']})")
    rows = check.records.loc[~np.asarray(check.invalid, dtype=bool)].reset_index(drop=True)
    for f in PERFORMANCE_LOSS_FIELDS:
        if f.name in rows.columns and f.kind == "float":
            rows[f.name] = pd.to_numeric(rows[f.name]).fillna(0.0)
    return Performance(path=p, digest=file_digest(p), rows=rows, n_rows=n, left_out=left)


_ARROW_KINDS = {"string": (pa.types.is_string, pa.types.is_large_string),
                "category": (pa.types.is_string, pa.types.is_large_string),
                "int": (pa.types.is_integer,), "float": (pa.types.is_floating, pa.types.is_integer),
                "date": (pa.types.is_date32, pa.types.is_date64, pa.types.is_timestamp), "bool": (pa.types.is_boolean,)}


def _typed(field_type: pa.DataType, kind: str) -> bool:
    t = field_type.value_type if pa.types.is_dictionary(field_type) else field_type
    return any(test(t) for test in _ARROW_KINDS[kind])


def _read_typed_parquet(p: Path, tape_ids: pd.Index) -> Performance | None:
    """:func:`read_performance` for a Parquet tape whose columns already have the contract's types.

    The same refusals and the same contract, without text conversion of 36 million rows: ids and status
    stay dictionary codes, numbers stay numpy; each field's declared emptiness, range and categories are
    checked on the arrays, and only rows that break one go through :func:`check_performance` (which names
    the rule they are counted under). Returns None when a column is not of its field's type (the general
    path then reads it).
    """
    schema = pq.ParquetFile(p).schema_arrow
    fields = [f for f in PERFORMANCE_FIELDS + PERFORMANCE_LOSS_FIELDS if f.name in schema.names]
    if any(f.name not in schema.names for f in PERFORMANCE_FIELDS) or \
            not all(_typed(schema.field(f.name).type, f.kind) for f in fields):
        return None
    source = pq.ParquetFile(p)
    n = source.metadata.num_rows

    def column(name: str) -> pa.ChunkedArray:   # one column at a time keeps memory near the final arrays
        return pq.read_table(p, columns=[name], read_dictionary=[name] if name in ("contract_id", "status")
                             else None).column(name)

    ids_col = column("contract_id").unify_dictionaries()
    chunks = ids_col.chunks
    categories = pd.Index(chunks[0].dictionary.to_pylist() if chunks else [], dtype=object)
    codes = (np.concatenate([c.indices.to_numpy(zero_copy_only=False).astype(np.int32) for c in chunks])
             if chunks else np.zeros(0, np.int32))
    id_null = (np.asarray(ids_col.is_null().to_numpy(zero_copy_only=False), dtype=bool) if ids_col.null_count
               else np.zeros(n, bool))
    if ids_col.null_count:
        codes[id_null] = -1
    del ids_col, chunks   # the Arrow column (indices and dictionaries) is not needed any more
    pa.default_memory_pool().release_unused()
    arrays: dict[str, np.ndarray] = {}
    bad = np.zeros(n, dtype=bool)
    for f in fields:
        if f.name in ("contract_id", "status"):
            continue
        col = column(f.name)
        has_null = col.null_count > 0
        null = np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool) if has_null else None
        if f.kind == "date":
            values = col.cast(pa.timestamp("s")).to_numpy(zero_copy_only=False) if n else np.zeros(0, "M8[s]")
        elif f.kind == "bool":
            values = np.asarray((col.fill_null(False) if has_null else col).to_numpy(zero_copy_only=False), dtype=bool)
        elif has_null:
            values = col.cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)
        else:
            values = col.to_numpy()   # integers stay integers (dpd: 4 bytes a row instead of 8, below)
            if f.name in AMOUNT_COLUMNS:
                neg = values < 0
                if neg.any():
                    i = _first(neg)
                    raise MonitorInputError(f"{p}: row {i + 1}, {f.name} = {float(values[i])!r}: rule non_negative "
                                            "(amounts are CNY >= 0; a negative amount means another sign convention)")
            with np.errstate(invalid="ignore"):
                if f.minimum is not None:
                    bad |= values < f.minimum
                if f.maximum is not None:
                    bad |= values > f.maximum
            if f.kind == "int" and not pa.types.is_integer(col.type):
                with np.errstate(invalid="ignore"):
                    bad |= np.isfinite(values) & (np.floor(values) != values)
        if not f.nullable and null is not None:
            bad |= null
        pa.default_memory_pool().release_unused()   # Arrow's allocator keeps freed column buffers otherwise
        if f.name != "months_on_book":   # checked, not needed after (periods come from the month)
            if values.dtype.kind in "iu" and f.kind == "int" and len(values) and \
                    int(np.abs(values).max()) < 2**31:
                values = values.astype(np.int32)   # days past due: 4 bytes a row instead of 8
            arrays[f.name] = values
        del col, values, null
    status = column("status").unify_dictionaries()
    s_chunks = status.chunks
    s_levels = s_chunks[0].dictionary.to_pylist() if s_chunks else []
    s_codes = (np.concatenate([c.indices.to_numpy(zero_copy_only=False).astype(np.int16) for c in s_chunks])
               if s_chunks else np.zeros(0, np.int16))
    s_null = (np.asarray(status.is_null().to_numpy(zero_copy_only=False), dtype=bool) if status.null_count
              else np.zeros(n, bool))
    known = np.array([lvl in PERFORMANCE_STATUSES for lvl in s_levels] + [False])
    bad |= s_null | ~known[np.where(s_null, len(s_levels), s_codes)]
    bad |= id_null
    del status, s_chunks, s_null, id_null
    pa.default_memory_pool().release_unused()

    unknown_cat = ~categories.isin(tape_ids)
    if unknown_cat.any():
        hit = unknown_cat[np.maximum(codes, 0)] & (codes >= 0)
        if hit.any():
            i = _first(hit)
            raise MonitorInputError(f"{p}: row {i + 1}, contract_id = {categories[codes[i]]!r}: rule in_run_pool "
                                    "(not a contract of the screening run's tape)")
    month = arrays["month"]
    nat = np.isnat(month)
    if nat.any():
        mi = month_numbers(np.where(nat, np.datetime64("2000-01-31"), month))
        mi[nat] = -1
    else:
        mi = month_numbers(month)
    del nat
    _check_months(p, codes, mi, lambda i: str(pd.Timestamp(month[i]).date()),
                  lambda i, ids=codes: str(categories[ids[i]]))
    del mi
    left: dict[str, int] = {}
    if bad.any():
        rows_bad = np.flatnonzero(bad)
        sub = pq.read_table(p, columns=[f.name for f in fields]).take(pa.array(rows_bad)).to_pandas()
        check = check_performance(sub)
        per_row = check.problems[check.problems["row"] > 0].drop_duplicates(["row", "rule"])
        left = {str(k): int(v) for k, v in per_row.groupby("rule")["row"].nunique().items()}
        still = np.zeros(n, dtype=bool)
        still[rows_bad[np.asarray(check.invalid, dtype=bool)]] = True
        bad = still
    keep = ~bad
    everything = bool(keep.all())
    data: dict[str, Any] = {
        "contract_id": pd.Categorical.from_codes(codes if everything else codes[keep], categories=categories),
        "status": pd.Categorical.from_codes(s_codes if everything else s_codes[keep],
                                            categories=pd.Index(s_levels, dtype=object)),
    }
    del codes, s_codes
    loss = {f.name for f in PERFORMANCE_LOSS_FIELDS if f.kind == "float"}
    for name in list(arrays):
        values = arrays.pop(name)
        values = values if everything else values[keep]
        if name in loss and values.flags.writeable:
            values = np.nan_to_num(values, copy=False)
        elif name in loss and np.isnan(values).any():   # a read-only view of Arrow memory
            values = np.nan_to_num(values)
        data[name] = values
    rows = pd.DataFrame(data, copy=False)
    pa.default_memory_pool().release_unused()
    return Performance(path=p, digest=file_digest(p), rows=rows, n_rows=n, left_out=left)


def _check_months(p: Path, ids: np.ndarray, mi: np.ndarray, month_text: Any, id_text: Any) -> None:
    """Refuse a contract and month repeated, months out of order within a contract (file order), or a
    month missing between two of a contract's rows (a contract in the pool is reported every month until
    it leaves it; a month without its row would read as the contract gone and its balance as unpaid)."""
    ok = (mi >= 0) & (ids >= 0)
    valid: np.ndarray | None = None if ok.all() else np.flatnonzero(ok)   # None: every row (no index array)
    del ok
    k_id, k_m = (ids, mi) if valid is None else (ids[valid], mi[valid])
    if len(k_id) > 1 and not bool(np.all(k_id[1:] >= k_id[:-1])):
        order = np.argsort(k_id, kind="stable")   # rows of each contract, in file order
        valid = order if valid is None else valid[order]
        k_id, k_m = k_id[order], k_m[order]
    same = k_id[1:] == k_id[:-1]
    bad = same & (k_m[1:] <= k_m[:-1])
    del same
    if bad.any():   # a sorted, strictly increasing tape never gets here
        back = bad & (k_m[1:] < k_m[:-1])
        repeat = pd.DataFrame({"c": ids, "m": mi}).duplicated(keep="first").to_numpy() & (mi >= 0) & (ids >= 0)
        if repeat.any():
            i = _first(repeat)
            raise MonitorInputError(f"{p}: row {i + 1}, month = {month_text(i)!r}: rule unique_month "
                                    f"(contract {id_text(i)} already has a row for that month)")
        j = _first(back) + 1
        i = int(j if valid is None else valid[j])
        raise MonitorInputError(f"{p}: row {i + 1}, month = {month_text(i)!r}: rule months_in_order "
                                f"(contract {id_text(i)} has a later month in an earlier row)")
    gap = (k_id[1:] == k_id[:-1]) & (k_m[1:] > k_m[:-1] + 1)
    if gap.any():
        j = _first(gap)
        i = int(j + 1 if valid is None else valid[j + 1])
        missing = int(k_m[j]) + 1
        year, month = divmod(missing, 12)
        raise MonitorInputError(f"{p}: row {i + 1}, month = {month_text(i)!r}: rule months_contiguous (contract "
                                f"{id_text(i)} has no row for {year:04d}-{month + 1:02d}, the month before; a contract "
                                "is reported every month until it leaves the pool)")


def periods_between(cutoff: dt.date, asof: dt.date) -> int:
    """Month-ends after ``cutoff`` up to and including ``asof`` (0 when ``asof`` is in the cut-off month)."""
    ends = (asof.year * 12 + asof.month) - (cutoff.year * 12 + cutoff.month)
    last_day = (pd.Timestamp(asof) + pd.offsets.MonthEnd(0)).date()
    return ends if asof == last_day else ends - 1
