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
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np
import pandas as pd

from features.exceptions import ConfigError, LeakageError, TapeError

__all__ = ["BEHAVIOUR_COLUMNS", "OUTCOME_COLUMNS", "SNAPSHOT_COLUMNS", "build_snapshots", "snapshot_split",
           "verify_snapshots"]

BEHAVIOUR_COLUMNS: tuple[str, ...] = (
    "months_on_book_at_s", "remaining_term_at_s", "instalments_paid_at_s", "current_dpd_at_s",
    "worst_dpd_at_s", "months_delinquent_at_s", "paid_to_due_at_s",
)
OUTCOME_COLUMNS: tuple[str, ...] = ("outcome", "event_month", "entry_month", "last_month", "weight")
SNAPSHOT_COLUMNS: tuple[str, ...] = ("contract_id", "s", "snapshot_date", *BEHAVIOUR_COLUMNS, *OUTCOME_COLUMNS)
OUTCOMES: tuple[str, ...] = ("default", "prepay", "matured", "censored")
_PERF_NEEDED = ("contract_id", "month", "months_on_book", "dpd", "amount_due", "amount_paid", "status")
_CONTRACT_NEEDED = ("contract_id", "term_months", "monthly_rent")


def _numbers(frame: pd.DataFrame, column: str, where: str) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    bad = np.flatnonzero(np.isnan(values))
    if len(bad):
        row = int(bad[0])
        raise TapeError(f"{where}, row {row + 1}, column {column!r}: value {frame[column].iloc[row]!r} is not a "
                        f"number (rule: snapshots need every {column})")
    return values


def _need(frame: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise TapeError(f"{where} lacks column(s) {', '.join(missing)}; snapshots need {', '.join(columns)}")


def _cum_within(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Cumulative sum restarted at every group (rows sorted by group code). Summed group by group, not as
    a difference of one running total over the whole table, which loses the cents of a 24-million-row book."""
    return pd.Series(values, copy=False).groupby(codes, sort=False).cumsum().to_numpy(dtype="float64")


def build_snapshots(contracts: pd.DataFrame, performance: pd.DataFrame, *, dpd_threshold: int = 90,
                    fraction: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """One row per contract and month-end at which it was running and not in default.

    Parameters
    ----------
    contracts : DataFrame
        The book (canonical lease records); ``contract_id``, ``term_months`` (months) and
        ``monthly_rent`` (CNY) are read. Other columns are not copied: join the origination inputs
        on ``contract_id`` after sampling.
    performance : DataFrame
        Monthly history (``PERFORMANCE_FIELDS``); ``contract_id``, ``month``, ``months_on_book``,
        ``dpd`` (days), ``amount_due``, ``amount_paid`` (CNY) and ``status`` are read, in any row order.
    dpd_threshold : int, default 90
        Days past due at which a month-end counts as a default (as :func:`features.default_labels`).
    fraction : float, default 1.0
        Share of snapshot rows kept (rows followed by an event next month are always kept).
    seed : int, default 0
        Seed of the sampling uniforms.

    Returns
    -------
    DataFrame
        :data:`SNAPSHOT_COLUMNS`, sorted by ``contract_id`` then ``s``.

    Raises
    ------
    ConfigError
        If ``fraction`` is not in (0, 1] or ``dpd_threshold`` < 1.
    TapeError
        If a needed column is missing, a number is unreadable, or a history row names a contract
        that is not in ``contracts``.
    """
    if not 0.0 < float(fraction) <= 1.0:
        raise ConfigError(f"build_snapshots: fraction must be in (0, 1], got {fraction!r}")
    if int(dpd_threshold) < 1:
        raise ConfigError(f"build_snapshots: dpd_threshold must be >= 1 day, got {dpd_threshold!r}")
    _need(performance, _PERF_NEEDED, "performance history")
    _need(contracts, _CONTRACT_NEEDED, "book")
    ids = contracts["contract_id"].astype(str).to_numpy()
    index = pd.Index(ids)
    perf_codes = index.get_indexer(pd.Index(performance["contract_id"].astype(str)))
    if (perf_codes < 0).any():
        row = int(np.flatnonzero(perf_codes < 0)[0])
        raise TapeError(f"performance history, row {row + 1}, column 'contract_id': value "
                        f"{performance['contract_id'].iloc[row]!r} is not in the book (rule: every history "
                        "row belongs to a contract of the book)")
    mob = _numbers(performance, "months_on_book", "performance history").astype(np.int64)
    order = np.lexsort((mob, perf_codes))
    code = perf_codes[order]
    mob = mob[order]
    dpd = _numbers(performance, "dpd", "performance history")[order]
    due = _numbers(performance, "amount_due", "performance history")[order]
    paid = _numbers(performance, "amount_paid", "performance history")[order]
    # status as category codes: a Python string per history row would cost gigabytes on a large book
    status_cat = pd.Categorical(performance["status"].astype("string").str.strip())
    names = list(status_cat.categories)
    status_code = status_cat.codes[order]

    def is_status(name: str) -> np.ndarray:
        return status_code == (names.index(name) if name in names else -2)

    month = pd.to_datetime(performance["month"]).to_numpy()[order]
    term = _numbers(contracts, "term_months", "book").astype(np.int64)
    rent = _numbers(contracts, "monthly_rent", "book")

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
    if fraction < 1.0:
        u = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), 16]))).random(len(code))
        keep &= next_event | (u < fraction)
        weight = np.where(next_event, 1.0, 1.0 / fraction)
    rows = np.flatnonzero(keep)
    c = code[rows]
    s = mob[rows]
    out = pd.DataFrame({
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
    return out


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


def verify_snapshots(snapshots: pd.DataFrame, contracts: pd.DataFrame, performance: pd.DataFrame, *,
                     n_contracts: int = 200, seed: int = 0, where: str = "snapshots") -> int:
    """Leakage guard: refuse a snapshot whose behaviour is not what history at or before ``s`` gives.

    For ``n_contracts`` contracts drawn with ``seed`` (all when fewer), every snapshot row's
    :data:`BEHAVIOUR_COLUMNS` are recomputed the plain way (a loop over that contract's rows with
    ``months_on_book <= s``) and compared (to 1e-9, NaN equal to NaN). A value taken from after
    ``s`` (a later, worse dpd; a payment not yet made) differs and is refused.

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
    perf = performance[performance["contract_id"].astype(str).isin(chosen)]
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
