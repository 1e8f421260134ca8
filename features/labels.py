"""Default labels from the monthly performance history.

A contract is a **default** within the horizon when, at a month-end no later than ``horizon_months``
after origination, it is at least ``dpd_threshold`` days past due (90+ dpd by default) or its status
is ``defaulted`` (charged off). A contract is **observed** when its label can be trusted: it
defaulted within the horizon, or the history reaches the horizon, or the contract ended earlier
(prepaid, defaulted or terminated at maturity). A contract that is still running at the cut-off
and has not reached the horizon is not observed: it may yet default, so it must not be used as a
negative (training drops it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.exceptions import ConfigError, TapeError

__all__ = ["ENDED_STATUSES", "LABEL_COLUMNS", "default_labels"]

LABEL_COLUMNS = ["contract_id", "default", "observed", "months_observed"]
ENDED_STATUSES = ("prepaid", "defaulted", "terminated")
_NEEDED = ("contract_id", "months_on_book", "dpd", "status")


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    if np.isnan(values).any():
        row = int(np.flatnonzero(np.isnan(values))[0])
        raise TapeError(f"performance history, row {row + 1}, column {column!r}: value "
                        f"{frame[column].iloc[row]!r} is not a number (labels need every {column})")
    return values


def default_labels(performance: pd.DataFrame, *, horizon_months: int = 24,
                   dpd_threshold: int = 90) -> pd.DataFrame:
    """One default label per contract from its monthly history.

    Parameters
    ----------
    performance : DataFrame
        Monthly performance rows (``PERFORMANCE_FIELDS``); only ``contract_id``, ``months_on_book``
        (months), ``dpd`` (days) and ``status`` are used. Rows may come in any order; CSV text is
        accepted.
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
    missing = [c for c in _NEEDED if c not in performance.columns]
    if missing:
        raise TapeError(f"performance history lacks column(s) {', '.join(missing)}; "
                        f"labels need {', '.join(_NEEDED)}")
    if performance.empty:
        return pd.DataFrame({"contract_id": pd.Series(dtype=str), "default": pd.Series(dtype="int64"),
                             "observed": pd.Series(dtype=bool), "months_observed": pd.Series(dtype="int64")})
    mob = _numbers(performance, "months_on_book")
    dpd = _numbers(performance, "dpd")
    status = performance["status"].astype(str).str.strip().to_numpy()
    within = mob <= horizon_months
    hit = within & ((dpd >= dpd_threshold) | (status == "defaulted"))
    ended = within & np.isin(status, ENDED_STATUSES)
    rows = pd.DataFrame({
        "contract_id": performance["contract_id"].astype(str).to_numpy(),
        "hit": hit,
        "ended": ended,
        "mob": np.where(within, mob, horizon_months),
        "last": mob,
    })
    per = rows.groupby("contract_id", sort=True).agg(hit=("hit", "any"), ended=("ended", "any"),
                                                     mob=("mob", "max"), last=("last", "max"))
    reached = per["last"].to_numpy() >= horizon_months
    out = pd.DataFrame({
        "contract_id": per.index.astype(str),
        "default": per["hit"].to_numpy().astype("int64"),
        "observed": per["hit"].to_numpy() | per["ended"].to_numpy() | reached,
        "months_observed": np.minimum(per["mob"].to_numpy(), horizon_months).astype("int64"),
    })
    return out.reset_index(drop=True)
