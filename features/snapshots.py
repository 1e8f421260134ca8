"""Snapshots of a book at past month-ends: the state of each running contract and what happened next.

A **snapshot** is one row per contract and month-end ``s`` (months on book) at which the contract was
running and not in default: its behaviour to date computed from history rows at or before ``s`` only,
and its outcome after ``s`` (default, prepayment, maturity, or censored when the history ends first).
Snapshots are what a seasoning-aware model learns from: at the pool cut-off every candidate is such a
state, with months on book and a payment record of its own.

Columns (:data:`SNAPSHOT_COLUMNS`):

* keys: ``contract_id``, ``s`` (months on book at the snapshot, 1..), ``snapshot_date`` (the month-end);
* behaviour at ``s`` (:data:`BEHAVIOUR_COLUMNS`, the only columns a model may read; the leakage guard
  :func:`verify_snapshots` recomputes them from history rows at or before ``s``):
  ``months_on_book_at_s`` (months), ``remaining_term_at_s`` (months, term minus ``s``),
  ``instalments_paid_at_s`` (count, cumulative amount paid / monthly rent), ``current_dpd_at_s``
  (days), ``worst_dpd_at_s`` (days, worst at or before ``s``), ``months_delinquent_at_s`` (count of
  month-ends with dpd > 0), ``paid_to_due_at_s`` (fraction, cumulative amount paid / amount due);
* outcome after ``s`` (:data:`OUTCOME_COLUMNS`, labels only): ``outcome`` (``default``, ``prepay``,
  ``matured``, ``censored``), ``event_month`` (months on book of the first default month-end
  (dpd >= threshold or status ``defaulted``), the prepayment or the maturity; -1 when censored),
  ``entry_month`` (for a default: the first month of the unbroken run of delinquent month-ends that
  ended in it; else -1), ``last_month`` (months on book of the last history row) and ``weight``
  (1 / the probability the row was kept by the sampling).

A contract that is still running when its history ends is **censored**: ``outcome = "censored"``,
never a non-default. Code that labels a window after ``s`` must drop rows whose window runs past
``last_month`` unless the outcome came first.

**Sampling.** ``fraction < 1`` keeps each snapshot with that probability (a seeded uniform per row),
except the rows followed by an event in the next month (a default run starting, a prepayment), which
are always kept; ``weight`` records the inverse inclusion probability. With 1,000,000 contracts
(about 24 million history rows) every snapshot is about 20 million rows; ``fraction = 0.1`` keeps
about 2 million plus the events (:mod:`training.forward` lowers the share on such a book to keep about
one million non-event rows; measured in ``docs/training.md``).

**A history in batches.** :func:`build_snapshots` and :func:`verify_snapshots` also take the history as
an iterable of frames (e.g. :class:`features.io.TapeBatches`), never holding it whole: one pass checks
each batch and writes its rows, by contract, to Arrow files in a temporary folder, one file per block
of :data:`PART_CONTRACTS` consecutive contracts of the book; each block is then snapshotted alone. The
blocks follow the book's order and the sampling uniforms are drawn block after block from the one
seeded stream, so the snapshots are the same as from the whole frame.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from features.exceptions import ConfigError, LeakageError, TapeError

__all__ = ["BEHAVIOUR_COLUMNS", "OUTCOME_COLUMNS", "PART_CONTRACTS", "SNAPSHOT_COLUMNS", "build_snapshots",
           "snapshot_split", "verify_snapshots"]

BEHAVIOUR_COLUMNS: tuple[str, ...] = (
    "months_on_book_at_s", "remaining_term_at_s", "instalments_paid_at_s", "current_dpd_at_s",
    "worst_dpd_at_s", "months_delinquent_at_s", "paid_to_due_at_s",
)
OUTCOME_COLUMNS: tuple[str, ...] = ("outcome", "event_month", "entry_month", "last_month", "weight")
SNAPSHOT_COLUMNS: tuple[str, ...] = ("contract_id", "s", "snapshot_date", *BEHAVIOUR_COLUMNS, *OUTCOME_COLUMNS)
OUTCOMES: tuple[str, ...] = ("default", "prepay", "matured", "censored")
#: Contracts of the book snapshotted together when the history comes in batches: about 600,000 history
#: rows at the sample book's 24 months a contract, some 200 MB of working arrays.
PART_CONTRACTS = 25_000
_PERF_NEEDED = ("contract_id", "month", "months_on_book", "dpd", "amount_due", "amount_paid", "status")
_CONTRACT_NEEDED = ("contract_id", "term_months", "monthly_rent")
#: The statuses the snapshots read, stored as their position here (-1: any other).
_STATUSES = ("current", "prepaid", "defaulted", "terminated")
_WHERE = "performance history"


def _numbers(frame: pd.DataFrame, column: str, where: str, first_row: int = 0) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    bad = np.flatnonzero(np.isnan(values))
    if len(bad):
        row = int(bad[0])
        raise TapeError(f"{where}, row {first_row + row + 1}, column {column!r}: value {frame[column].iloc[row]!r} "
                        f"is not a number (rule: snapshots need every {column})")
    return values


def _need(frame: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise TapeError(f"{where} lacks column(s) {', '.join(missing)}; snapshots need {', '.join(columns)}")


def _cum_within(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Cumulative sum restarted at every group (rows sorted by group code). Summed group by group, not as
    a difference of one running total over the whole table, which loses the cents of a 24-million-row book."""
    return pd.Series(values, copy=False).groupby(codes, sort=False).cumsum().to_numpy(dtype="float64")


def _history_arrays(frame: pd.DataFrame, index: pd.Index, first_row: int) -> dict[str, np.ndarray]:
    """The checked history columns of ``frame`` as arrays: ``code`` (position of the contract in the book),
    ``mob``, ``dpd``, ``due``, ``paid``, ``status`` (position in :data:`_STATUSES`, -1 for any other) and
    ``month``. ``first_row`` is the 0-based row number of the frame's first row in the whole history."""
    codes = index.get_indexer(pd.Index(frame["contract_id"].astype(str)))
    if (codes < 0).any():
        row = int(np.flatnonzero(codes < 0)[0])
        raise TapeError(f"{_WHERE}, row {first_row + row + 1}, column 'contract_id': value "
                        f"{frame['contract_id'].iloc[row]!r} is not in the book (rule: every history "
                        "row belongs to a contract of the book)")
    mob = _numbers(frame, "months_on_book", _WHERE, first_row).astype(np.int64)
    dpd = _numbers(frame, "dpd", _WHERE, first_row)
    due = _numbers(frame, "amount_due", _WHERE, first_row)
    paid = _numbers(frame, "amount_paid", _WHERE, first_row)
    # status as small codes: a Python string per history row would cost gigabytes on a large book
    text = frame["status"].astype("string").str.strip()
    status = np.full(len(frame), -1, dtype=np.int8)
    for k, name in enumerate(_STATUSES):
        status[(text == name).fillna(False).to_numpy(dtype=bool)] = k
    month = pd.to_datetime(frame["month"]).to_numpy()
    return {"code": codes.astype(np.int64), "mob": mob, "dpd": dpd, "due": due, "paid": paid, "status": status,
            "month": month}


def _snapshot_block(h: dict[str, np.ndarray], ids: np.ndarray, term: np.ndarray, rent: np.ndarray, *,
                    dpd_threshold: int, fraction: float, gen: np.random.Generator | None) -> pd.DataFrame:
    """Snapshots of a block of contracts: ``ids``, ``term``, ``rent`` are the block's contracts and
    ``h["code"]`` the position of each history row's contract among them. Rows may come in any order;
    ``gen`` gives one sampling uniform per history row in (contract, months on book) order."""
    order = np.lexsort((h["mob"], h["code"]))
    code = h["code"][order]
    mob = h["mob"][order]
    dpd = h["dpd"][order]
    due = h["due"][order]
    paid = h["paid"][order]
    status_code = h["status"][order]

    def is_status(name: str) -> np.ndarray:
        return status_code == _STATUSES.index(name)

    month = h["month"][order]
    cum_paid = _cum_within(paid, code)
    cum_due = _cum_within(due, code)
    late = dpd > 0
    months_late = _cum_within(late.astype("float64"), code).astype(np.int64)
    worst = pd.Series(dpd).groupby(code, sort=False).cummax().to_numpy()

    # per-contract outcome: first default month-end, prepayment, maturity, last row
    n_c = len(ids)
    big = np.iinfo(np.int64).max
    is_def = (dpd >= dpd_threshold) | is_status("defaulted")
    first_def = np.full(n_c, big)
    np.minimum.at(first_def, code[is_def], mob[is_def])
    prepay = np.full(n_c, big)
    np.minimum.at(prepay, code[is_status("prepaid")], mob[is_status("prepaid")])
    matured = np.full(n_c, big)
    np.minimum.at(matured, code[is_status("terminated")], mob[is_status("terminated")])
    last = np.full(n_c, -1)
    np.maximum.at(last, code, mob)
    # entry into the delinquency run that ended in default: 1 + the last month-end before it with dpd 0
    before_def = (mob < first_def[code]) & ~late
    clean = np.zeros(n_c, dtype=np.int64)
    np.maximum.at(clean, code[before_def], mob[before_def])
    has_def = first_def < big
    entry = np.where(has_def, clean + 1, -1)

    c_def, c_pre, c_mat = first_def[code], prepay[code], matured[code]
    running = is_status("current") & ~is_def & (mob < c_def)
    event = np.minimum(np.minimum(c_def, c_pre), c_mat)
    kind = np.where(event == big, 3, np.where(event == c_def, 0, np.where(event == c_pre, 1, 2)))
    next_event = ((kind == 0) & (entry[code] == mob + 1)) | ((kind == 1) & (event == mob + 1))
    keep = running.copy()
    weight = np.ones(len(code))
    if gen is not None:
        u = gen.random(len(code))
        keep &= next_event | (u < fraction)
        weight = np.where(next_event, 1.0, 1.0 / fraction)
    rows = np.flatnonzero(keep)
    c = code[rows]
    s = mob[rows]
    return pd.DataFrame({
        "contract_id": ids[c],
        "s": s,
        "snapshot_date": month[rows],
        "months_on_book_at_s": s,
        "remaining_term_at_s": term[c] - s,
        "instalments_paid_at_s": np.round(cum_paid[rows] / np.where(rent[c] > 0, rent[c], np.nan)).astype("float64"),
        "current_dpd_at_s": dpd[rows].astype(np.int64),
        "worst_dpd_at_s": worst[rows].astype(np.int64),
        "months_delinquent_at_s": months_late[rows],
        "paid_to_due_at_s": np.where(cum_due[rows] > 0, cum_paid[rows] / np.maximum(cum_due[rows], 1e-12), 1.0),
        "outcome": pd.Categorical.from_codes(kind[rows], categories=list(OUTCOMES)),
        "event_month": np.where(kind[rows] == 3, -1, event[rows]).astype(np.int64),
        "entry_month": np.where(kind[rows] == 0, entry[c], -1).astype(np.int64),
        "last_month": last[c].astype(np.int64),
        "weight": weight[rows],
    })


def _write_blocks(batches: Iterable[pd.DataFrame], index: pd.Index, folder: Path, part_contracts: int) -> list[Path]:
    """Check every batch and append its rows to the Arrow file of their block of contracts; return the
    files, one per block (not every block has one)."""
    writers: dict[int, pa.ipc.RecordBatchStreamWriter] = {}
    options = pa.ipc.IpcWriteOptions(compression="lz4")
    first_row = 0
    month_type: np.dtype | None = None
    try:
        for batch in batches:
            _need(batch, _PERF_NEEDED, _WHERE)
            h = _history_arrays(batch, index, first_row)
            month_type = h["month"].dtype if month_type is None else month_type
            h["month"] = h["month"].astype(month_type)     # one type in every batch: the first batch's
            first_row += len(batch)
            block = h["code"] // part_contracts
            order = np.argsort(block, kind="stable")            # keeps the file order within a block
            edges = np.flatnonzero(np.diff(block[order])) + 1
            for rows in np.split(order, edges):
                if not len(rows):
                    continue
                k = int(block[rows[0]])
                record = pa.record_batch({name: values[rows] for name, values in h.items()})
                if k not in writers:
                    writers[k] = pa.ipc.new_stream(str(folder / f"block_{k:06d}.arrows"), record.schema,
                                                   options=options)
                writers[k].write_batch(record)
    finally:
        for writer in writers.values():
            writer.close()
    return [folder / f"block_{k:06d}.arrows" for k in sorted(writers)]


def _read_block(path: Path) -> dict[str, np.ndarray]:
    with pa.memory_map(str(path)) as source:
        table = pa.ipc.open_stream(source).read_all()
    return {name: table.column(name).to_numpy() for name in table.column_names}


def build_snapshots(contracts: pd.DataFrame, performance: pd.DataFrame | Iterable[pd.DataFrame], *,
                    dpd_threshold: int = 90, fraction: float = 1.0, seed: int = 0,
                    part_contracts: int = PART_CONTRACTS) -> pd.DataFrame:
    """One row per contract and month-end at which it was running and not in default.

    Parameters
    ----------
    contracts : DataFrame
        The book (canonical lease records); ``contract_id``, ``term_months`` (months) and
        ``monthly_rent`` (CNY) are read. Other columns are not copied: join the origination inputs
        on ``contract_id`` after sampling.
    performance : DataFrame or iterable of DataFrames
        Monthly history (``PERFORMANCE_FIELDS``), whole or in consecutive batches (e.g.
        :class:`features.io.TapeBatches`, read once); ``contract_id``, ``month``, ``months_on_book``,
        ``dpd`` (days), ``amount_due``, ``amount_paid`` (CNY) and ``status`` are read, in any row order.
        Row numbers in errors count from the first row of the first batch.
    dpd_threshold : int, default 90
        Days past due at which a month-end counts as a default (as :func:`features.default_labels`).
    fraction : float, default 1.0
        Share of snapshot rows kept (rows followed by an event next month are always kept).
    seed : int, default 0
        Seed of the sampling uniforms.
    part_contracts : int, default :data:`PART_CONTRACTS`
        With a history in batches, contracts of the book snapshotted together (the working memory
        grows with their history rows). The snapshots do not depend on it.

    Returns
    -------
    DataFrame
        :data:`SNAPSHOT_COLUMNS`, sorted by ``contract_id`` then ``s``.

    Raises
    ------
    ConfigError
        If ``fraction`` is not in (0, 1], ``dpd_threshold`` < 1 or ``part_contracts`` < 1.
    TapeError
        If a needed column is missing, a number is unreadable, or a history row names a contract
        that is not in ``contracts``.
    """
    if not 0.0 < float(fraction) <= 1.0:
        raise ConfigError(f"build_snapshots: fraction must be in (0, 1], got {fraction!r}")
    if int(dpd_threshold) < 1:
        raise ConfigError(f"build_snapshots: dpd_threshold must be >= 1 day, got {dpd_threshold!r}")
    if int(part_contracts) < 1:
        raise ConfigError(f"build_snapshots: part_contracts must be >= 1 contract, got {part_contracts!r}")
    if isinstance(performance, pd.DataFrame):
        _need(performance, _PERF_NEEDED, _WHERE)
    _need(contracts, _CONTRACT_NEEDED, "book")
    ids = contracts["contract_id"].astype(str).to_numpy()
    index = pd.Index(ids)
    term = _numbers(contracts, "term_months", "book").astype(np.int64)
    rent = _numbers(contracts, "monthly_rent", "book")
    gen = (np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), 16]))) if fraction < 1.0
           else None)

    def snapshot(h: dict[str, np.ndarray], block: slice) -> pd.DataFrame:
        return _snapshot_block(h, ids[block], term[block], rent[block], dpd_threshold=int(dpd_threshold),
                               fraction=float(fraction), gen=gen)

    if isinstance(performance, pd.DataFrame):
        return snapshot(_history_arrays(performance, index, 0), slice(None))
    size = int(part_contracts)
    parts: list[pd.DataFrame] = []
    with tempfile.TemporaryDirectory(prefix="poolgate-snapshots-") as tmp:
        for path in _write_blocks(performance, index, Path(tmp), size):
            k = int(path.stem.split("_")[1])
            h = _read_block(path)
            h["code"] = h["code"] - k * size
            parts.append(snapshot(h, slice(k * size, (k + 1) * size)))
            del h
    if not parts:
        empty = {name: np.array([], dtype=dtype) for name, dtype in
                 (("code", np.int64), ("mob", np.int64), ("dpd", "float64"), ("due", "float64"),
                  ("paid", "float64"), ("status", np.int8), ("month", "datetime64[ns]"))}
        return snapshot(empty, slice(0, 0))
    return pd.concat(parts, ignore_index=True)


def snapshot_split(snapshots: pd.DataFrame, *, test_months: int = 6, valid_months: int = 6,
                   horizon_months: int = 1) -> pd.Series:
    """Out-of-time split by snapshot date: ``train``, ``validation``, ``test`` or ``""`` (unusable).

    The newest snapshot date is ``T`` (the last month-end of the history). A snapshot needs ``horizon_months`` of history after
    it for its label, so the usable dates end at ``T - horizon_months``; the last ``test_months`` of
    them are test, the ``valid_months`` before that validation, everything earlier train.

    Returns
    -------
    Series of str, aligned with ``snapshots``.
    """
    for name, v in (("test_months", test_months), ("valid_months", valid_months), ("horizon_months", horizon_months)):
        if int(v) < 0:
            raise ConfigError(f"snapshot_split: {name} must be >= 0 months, got {v!r}")
    period = pd.to_datetime(snapshots["snapshot_date"]).dt.to_period("M")
    months = (period.dt.year * 12 + period.dt.month).to_numpy()
    newest = int(months.max()) if len(months) else 0
    edge = newest - int(horizon_months)
    part = np.where(months > edge, "",
                    np.where(months > edge - test_months, "test",
                             np.where(months > edge - test_months - valid_months, "validation", "train")))
    return pd.Series(part, index=snapshots.index, name="part")


def _reference_row(hist: pd.DataFrame, s: int, term: int, rent: float) -> dict[str, float]:
    """Behaviour at ``s`` recomputed the plain way from one contract's rows at or before ``s``."""
    past = hist[hist["months_on_book"] <= s]
    at = past[past["months_on_book"] == s]
    if at.empty:
        raise KeyError(s)
    paid, due = float(past["amount_paid"].sum()), float(past["amount_due"].sum())
    return {
        "months_on_book_at_s": s,
        "remaining_term_at_s": term - s,
        "instalments_paid_at_s": float(round(paid / rent)) if rent > 0 else float("nan"),
        "current_dpd_at_s": float(at["dpd"].iloc[0]),
        "worst_dpd_at_s": float(past["dpd"].max()),
        "months_delinquent_at_s": float((past["dpd"] > 0).sum()),
        "paid_to_due_at_s": paid / due if due > 0 else 1.0,
    }


def verify_snapshots(snapshots: pd.DataFrame, contracts: pd.DataFrame,
                     performance: pd.DataFrame | Iterable[pd.DataFrame], *,
                     n_contracts: int = 200, seed: int = 0, where: str = "snapshots") -> int:
    """Leakage guard: refuse a snapshot whose behaviour is not what history at or before ``s`` gives.

    For ``n_contracts`` contracts drawn with ``seed`` (all when fewer), every snapshot row's
    :data:`BEHAVIOUR_COLUMNS` are recomputed the plain way (a loop over that contract's rows with
    ``months_on_book <= s``) and compared (to 1e-9, NaN equal to NaN). A value taken from after
    ``s`` (a later, worse dpd; a payment not yet made) differs and is refused. ``performance`` is the
    history whole or in batches (:func:`build_snapshots`); of batches, only the drawn contracts' rows
    are kept.

    Returns
    -------
    int
        Snapshot rows checked.

    Raises
    ------
    LeakageError
        Naming the row, column, value, the value history at or before ``s`` gives, and the rule.
    TapeError
        If a behaviour column is missing.
    """
    _need(snapshots, ("contract_id", "s", *BEHAVIOUR_COLUMNS), where)
    ids = sorted(set(snapshots["contract_id"].astype(str)))
    chosen = set(random.Random(seed).sample(ids, min(n_contracts, len(ids))))
    snap_ids = snapshots["contract_id"].astype(str)
    picked = snapshots[snap_ids.isin(chosen).to_numpy()]
    if isinstance(performance, pd.DataFrame):
        perf = performance[performance["contract_id"].astype(str).isin(chosen)]
    else:       # a history in batches: only the chosen contracts' rows are kept, in file order
        perf = pd.concat([b[b["contract_id"].astype(str).isin(chosen).to_numpy()] for b in performance])
    # a CSV history's cells are text: compared and summed as numbers (build_snapshots refused any that is not)
    perf = perf.assign(**{c: pd.to_numeric(perf[c]) for c in ("months_on_book", "dpd", "amount_due", "amount_paid")})
    groups = {cid: g for cid, g in perf.groupby(perf["contract_id"].astype(str), sort=False)}
    book = contracts.assign(contract_id=contracts["contract_id"].astype(str)).set_index("contract_id")
    checked = 0
    for pos, row in zip(np.flatnonzero(snap_ids.isin(chosen).to_numpy()), picked.itertuples(index=False),
                        strict=True):
        cid, s = str(row.contract_id), int(row.s)
        hist = groups.get(cid)
        try:
            if hist is None:
                raise KeyError(s)
            expect = _reference_row(hist, s, int(book.at[cid, "term_months"]), float(book.at[cid, "monthly_rent"]))
        except KeyError:
            raise LeakageError(f"{where}, row {pos + 1}, column 's': value {s} has no history row of contract "
                               f"{cid!r} at that month-end (rule: a snapshot is a month-end of the history)") from None
        for col in BEHAVIOUR_COLUMNS:
            got = float(getattr(row, col))
            want = float(expect[col])
            same = (np.isnan(got) and np.isnan(want)) or abs(got - want) <= 1e-9 * max(1.0, abs(want))
            if not same:
                raise LeakageError(
                    f"{where}, row {pos + 1}, column {col!r}: value {got!r} for contract {cid!r} at s = {s}, but "
                    f"history at or before s gives {want!r} (rule: behaviour at a snapshot is computed from "
                    "history rows at or before s only)")
        checked += 1
    return checked
