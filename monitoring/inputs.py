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
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.contract import check_lease_tape, check_performance
from features.exceptions import TapeError
from features.io import read_table
from features.schema import PERFORMANCE_LOSS_FIELDS
from monitoring.pool import month_index
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
    tape_ids: frozenset[str]


@dataclass(frozen=True)
class Performance:
    """A checked performance tape: typed ``rows`` that passed the contract, and what was left out."""

    path: Path
    digest: str
    rows: pd.DataFrame
    n_rows: int
    left_out: dict[str, int] = field(default_factory=dict)


def load_pool(run_dir: Path) -> ScreenedPool:
    """The admitted assets of the screening run in ``run_dir`` with their cut-off balances.

    Raises
    ------
    MonitorInputError
        If the run's summary, decisions or tape are missing, or the tape's digest differs from the run's.
    """
    summary_path = run_dir / "summary.json"
    if not summary_path.is_file():
        raise MonitorInputError(f"{summary_path}: missing; --run must be a poolgate screen output folder")
    run = json.loads(summary_path.read_text(encoding="utf-8")).get("run", {})
    tape = Path(str(run.get("tape", "")))
    if not tape.is_file():
        raise MonitorInputError(f"{summary_path}: run.tape = {str(tape)!r}: rule tape_present (the screened tape "
                                "is needed for the cut-off balances; it is gone)")
    if file_digest(tape) != run.get("input_digest"):
        raise MonitorInputError(f"{tape}: digest differs from run.input_digest in {summary_path}: rule "
                                "tape_unchanged (the tape was changed after screening)")
    decisions = pd.read_parquet(run_dir / "decisions.parquet", columns=["row", "asset_id", "status", "pd"])
    admitted = decisions[decisions["status"] == "admit"].reset_index(drop=True)
    raw = read_table(tape)
    records = check_lease_tape(raw).records
    take = admitted["row"].to_numpy(dtype=np.int64) - 1
    rec = records.iloc[take].reset_index(drop=True)
    assets = pd.DataFrame({
        "asset_id": admitted["asset_id"].astype(str).to_numpy(), "row": admitted["row"].to_numpy(),
        "pd": admitted["pd"].to_numpy(dtype="float64"),
        "balance": pd.to_numeric(rec["outstanding_principal"]).to_numpy(dtype="float64"),
        "origination_date": pd.to_datetime(rec["origination_date"]).to_numpy(),
        "months_on_book": pd.to_numeric(rec["months_on_book"]).to_numpy(dtype="float64"),
        "current_dpd": pd.to_numeric(rec["current_dpd"]).to_numpy(dtype="float64"),
    })
    ids = frozenset(raw["contract_id"].dropna().astype(str)) if "contract_id" in raw.columns else frozenset()
    return ScreenedPool(run_dir=run_dir, run=run, assets=assets, records=rec, tape_ids=ids)


def _show(value: object) -> object:
    """A cell as a plain Python value for messages (``-5.0``, not ``np.float64(-5.0)``)."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def read_performance(path: str | os.PathLike[str], tape_ids: frozenset[str], *,
                     frame: pd.DataFrame | None = None) -> Performance:
    """Read and check a canonical performance tape (CSV or Parquet).

    Parameters
    ----------
    path : path-like
        The tape (named in messages).
    tape_ids : frozenset of str
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
    key = pd.DataFrame({"c": ids, "m": mi})
    dup = key.duplicated(keep="first").to_numpy() & (mi >= 0)
    if dup.any():
        i = _first(dup)
        raise MonitorInputError(f"{p}: row {i + 1}, month = {str(raw['month'].iloc[i])!r}: rule unique_month "
                                f"(contract {ids[i]} already has a row for that month)")
    valid = mi >= 0
    order = pd.DataFrame({"c": ids[valid], "m": mi[valid], "r": np.flatnonzero(valid)})
    back = order.groupby("c", sort=False)["m"].diff().to_numpy() <= 0
    if back.any():
        i = int(order["r"].to_numpy()[_first(back)])
        raise MonitorInputError(f"{p}: row {i + 1}, month = {str(raw['month'].iloc[i])!r}: rule months_in_order "
                                f"(contract {ids[i]} has a later month in an earlier row)")
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


def periods_between(cutoff: dt.date, asof: dt.date) -> int:
    """Month-ends after ``cutoff`` up to and including ``asof`` (0 when ``asof`` is in the cut-off month)."""
    ends = (asof.year * 12 + asof.month) - (cutoff.year * 12 + cutoff.month)
    last_day = (pd.Timestamp(asof) + pd.offsets.MonthEnd(0)).date()
    return ends if asof == last_day else ends - 1
