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
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from features.exceptions import ConfigError, TapeError

__all__ = ["ENDED_STATUSES", "LABEL_COLUMNS", "default_labels"]

LABEL_COLUMNS = ["contract_id", "default", "observed", "months_observed"]
ENDED_STATUSES = ("prepaid", "defaulted", "terminated")
_NEEDED = ("contract_id", "months_on_book", "dpd", "status")
#: How the per-contract reductions of two batches combine.
_COMBINE = {"hit": "any", "ended": "any", "mob": "max", "last": "max"}


def _numbers(frame: pd.DataFrame, column: str, first_row: int) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    if np.isnan(values).any():
        row = int(np.flatnonzero(np.isnan(values))[0])
        raise TapeError(f"performance history, row {first_row + row + 1}, column {column!r}: value "
                        f"{frame[column].iloc[row]!r} is not a number (labels need every {column})")
    return values


def _per_contract(batch: pd.DataFrame, first_row: int, horizon_months: int, dpd_threshold: int) -> pd.DataFrame:
    """One row per contract of ``batch`` (indexed by ``contract_id``): ``hit``, ``ended``, ``mob``, ``last``.

    ``first_row`` is the 0-based row number of the batch's first row in the whole history (for errors).
    """
    mob = _numbers(batch, "months_on_book", first_row)
    dpd = _numbers(batch, "dpd", first_row)
    status = batch["status"].astype(str).str.strip().to_numpy()
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
        If a needed column is missing or ``months_on_book`` / ``dpd`` hold something other than numbers.
    """
    if int(horizon_months) < 1:
        raise ConfigError(f"horizon_months must be >= 1 month, got {horizon_months!r}")
    if int(dpd_threshold) < 1:
        raise ConfigError(f"dpd_threshold must be >= 1 day, got {dpd_threshold!r}")
    batches = [performance] if isinstance(performance, pd.DataFrame) else performance
    merged: pd.DataFrame | None = None
    pending: list[pd.DataFrame] = []
    first_row = 0
    for batch in batches:
        missing = [c for c in _NEEDED if c not in batch.columns]
        if missing:
            raise TapeError(f"performance history lacks column(s) {', '.join(missing)}; "
                            f"labels need {', '.join(_NEEDED)}")
        if len(batch):
            pending.append(_per_contract(batch, first_row, horizon_months, dpd_threshold))
        first_row += len(batch)
        # combined once the pending reductions outgrow the combined one: each contract is combined
        # a few times, and at most about twice the contracts are held
        if sum(len(p) for p in pending) >= (0 if merged is None else len(merged)) and pending:
            merged = _combine(pending if merged is None else [merged, *pending])
            pending = []
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
