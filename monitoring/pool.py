"""Pool figures by collection period: balances, collections, delinquency, roll rates, defaults, losses, speed.

Pure functions of two frames: the admitted pool at the cut-off (:data:`ASSET_COLUMNS`) and its monthly
performance rows after the cut-off (the canonical performance table, optional loss fields allowed).
Everything is vectorised numpy over the rows (sorted once by asset and period, then summed per period
with ``bincount``), so 36 million rows take seconds, not minutes.

Definitions (period ``t`` = the ``t``-th month-end after the cut-off; balances in CNY):

* an asset **defaults** in the first period whose row says ``defaulted`` or ``dpd >= default_dpd``; its
  principal then leaves the pool (the row's ``charged_off_amount`` when the tape has it and it is
  above 0, else its outstanding principal, else the balance of the period before);
* the **pool balance** at the end of ``t`` is the outstanding principal of the assets whose row at
  ``t`` is ``current`` and not in default; assets prepaid, matured or defaulted have left;
* **principal collections** of a row are the fall of its outstanding principal (all of it when it
  prepays or matures); **interest collections** the rest of ``amount_paid``; **recoveries** the
  ``recovered_amount`` (0 when the tape has no such column);
* **SMM** = prepaid principal / (beginning balance - scheduled principal of the assets that did not
  prepay); **CPR** = 1 - (1 - SMM)^12; the **ABS speed** (the auto-ABS convention, prepayments as a
  share of the original number of contracts) = SMM / (1 + SMM (age - 1)), age = balance-weighted months
  on book;
* **delinquency buckets** (current, 1-30, 31-60, 61-90, 91+ days past due) of the assets in the pool
  at the period end, by count and balance; ``delinquency_60_plus_share`` is the 61+ balance over the
  pool balance;
* **roll rates**: the share of assets in a bucket at ``t-1`` (at the cut-off for ``t = 1``) that are in
  the next bucket (or default) at ``t``; the full matrices come with :func:`pool_figures`;
* **cumulative net loss** = (charged-off principal - recoveries) since the cut-off / cut-off balance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["ASSET_COLUMNS", "BUCKETS", "STATES", "AssetEvents", "PoolFigures", "month_index", "pool_figures"]

ASSET_COLUMNS = ("asset_id", "pd", "balance", "origination_date", "months_on_book", "current_dpd")
BUCKETS = ("current", "1_30", "31_60", "61_90", "91_plus")
STATES = BUCKETS + ("default", "prepaid", "matured")
_EDGES = np.array([0, 30, 60, 90])   # dpd <= edge: bucket index via searchsorted
_STATUS = {"current": 0, "prepaid": 1, "defaulted": 2, "terminated": 3}


def month_index(dates: pd.Series | np.ndarray) -> np.ndarray:
    """Months since year 0 of each date (``year * 12 + month - 1``), for period arithmetic."""
    d = pd.DatetimeIndex(pd.to_datetime(np.asarray(dates)))
    return (d.year.to_numpy(dtype=np.int64) * 12 + d.month.to_numpy(dtype=np.int64) - 1)


def _bucket(dpd: np.ndarray) -> np.ndarray:
    return np.searchsorted(_EDGES, dpd, side="left").astype(np.int64)


@dataclass(frozen=True)
class AssetEvents:
    """Per admitted asset (in the order of the asset frame): what happened after the cut-off.

    ``default_period`` / ``prepay_period`` / ``matured_period``: period of the event, 0 when none;
    ``exposure_months``: periods at risk of default (to the first of default, prepayment, maturity or
    the last period); ``charged_off`` and ``recovered``: CNY over the window; ``last_period``: the last
    period with a row (0 when none).
    """

    default_period: np.ndarray
    prepay_period: np.ndarray
    matured_period: np.ndarray
    exposure_months: np.ndarray
    default_balance: np.ndarray
    charged_off: np.ndarray
    recovered: np.ndarray
    last_period: np.ndarray


@dataclass(frozen=True)
class PoolFigures:
    """Monthly figures (one row per period ``1..periods``), roll-rate matrices and per-asset events."""

    monthly: pd.DataFrame
    roll_counts: np.ndarray          # (periods + 1, 5 from-buckets, 8 to-states), row 0 unused
    events: AssetEvents


def _group_cumsum(values: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Cumulative sum of ``values`` restarting at each group start (rows sorted by group)."""
    c = np.cumsum(values)
    base = np.repeat(c[starts] - values[starts], lengths)
    return c - base


def pool_figures(assets: pd.DataFrame, perf: pd.DataFrame, *, cutoff_month: int, periods: int,
                 default_dpd: int = 90) -> PoolFigures:
    """Pool figures for periods ``1..periods`` after the cut-off.

    Parameters
    ----------
    assets : DataFrame
        The admitted pool, one row per asset, :data:`ASSET_COLUMNS` (``balance`` in CNY at the cut-off,
        ``pd`` a fraction, ``months_on_book`` at the cut-off).
    perf : DataFrame
        Performance rows of these assets: ``contract_id``, ``month`` (month-end), ``months_on_book``,
        ``dpd``, ``amount_due``, ``amount_paid``, ``outstanding_principal``, ``status``; optional
        ``charged_off_amount``, ``recovered_amount``. Rows of other contracts, or of periods outside
        ``1..periods``, are ignored. At most one row per asset and month.
    cutoff_month : int
        :func:`month_index` of the cut-off date.
    periods : int
        Number of periods to report (>= 1).
    default_dpd : int
        Days past due at which an asset is in default.

    Returns
    -------
    PoolFigures
    """
    n_assets = len(assets)
    P = int(periods)
    ids = pd.Index(assets["asset_id"].astype(str))
    a_idx = ids.get_indexer(perf["contract_id"].astype(str))
    per = month_index(perf["month"]) - cutoff_month
    keep = (a_idx >= 0) & (per >= 1) & (per <= P)
    a_idx, per = a_idx[keep], per[keep]
    order = np.lexsort((per, a_idx))
    a_idx, per = a_idx[order], per[order]
    rows = np.flatnonzero(keep)[order]

    def col(name: str, fill: float = 0.0) -> np.ndarray:
        if name not in perf.columns:
            return np.full(len(rows), fill)
        return pd.to_numeric(perf[name], errors="coerce").to_numpy(dtype="float64", na_value=fill)[rows]

    dpd = col("dpd")
    due, paid, out = col("amount_due"), col("amount_paid"), col("outstanding_principal")
    charged_col = col("charged_off_amount")
    recovered = col("recovered_amount")
    mob = col("months_on_book")
    status = perf["status"].astype(str).map(_STATUS).to_numpy(dtype="float64", na_value=0)[rows].astype(np.int64)
    balance0 = assets["balance"].to_numpy(dtype="float64")
    n = len(rows)

    new_asset = np.ones(n, dtype=bool)
    new_asset[1:] = a_idx[1:] != a_idx[:-1]
    starts = np.flatnonzero(new_asset)
    lengths = np.diff(np.append(starts, n))
    prev_out = np.empty(n)
    prev_out[1:] = out[:-1]
    prev_out[new_asset] = balance0[a_idx[new_asset]]
    prev_contiguous = np.zeros(n, dtype=bool)
    prev_contiguous[1:] = (~new_asset[1:]) & (per[1:] == per[:-1] + 1)

    in_default = (status == 2) | (dpd >= default_dpd)
    seen = _group_cumsum(in_default.astype(np.int64), starts, lengths)
    default_row = in_default & (seen == 1)
    after_default = (seen - in_default) > 0          # rows after the default row
    live = ~in_default & ~after_default              # the asset is still in the pool at this row
    performing = live & (status == 0)
    prepaid = live & (status == 1)
    matured = live & (status == 3)
    default_bal = np.where(default_row, np.where(charged_col > 0, charged_col,
                                                 np.where(out > 0, out, prev_out)), 0.0)
    charged = charged_col if "charged_off_amount" in perf.columns else default_bal
    principal = np.where(prepaid | matured, prev_out, np.where(performing, np.maximum(prev_out - out, 0.0), 0.0))
    interest = np.where(after_default, 0.0, np.maximum(paid - principal, 0.0))
    scheduled_principal = np.where(performing | matured, principal, 0.0)

    def by_period(weights: np.ndarray | None = None, mask: np.ndarray | None = None) -> np.ndarray:
        p = per if mask is None else per[mask]
        w = None if weights is None else (weights if mask is None else weights[mask])
        return np.bincount(p, weights=w, minlength=P + 1)[1:].astype("float64")

    pool_bal = by_period(out, performing)
    begin = np.concatenate([[balance0.sum()], pool_bal[:-1]])
    prepaid_principal = by_period(prev_out, prepaid)
    sched = by_period(scheduled_principal)
    smm = np.divide(prepaid_principal, begin - sched, out=np.zeros(P), where=(begin - sched) > 0)
    wmob_end = by_period(out * mob, performing)
    age_begin = np.concatenate([[np.sum(balance0 * (assets["months_on_book"].to_numpy(dtype="float64")))
                                 / max(balance0.sum(), 1e-9)], np.divide(wmob_end, pool_bal, out=np.zeros(P),
                                                                         where=pool_bal > 0)[:-1]]) + 1.0
    default_count = by_period(None, default_row)
    default_balance = by_period(default_bal)
    charged_p = by_period(charged)
    recovered_p = by_period(recovered)
    cut_bal = float(balance0.sum())

    m: dict[str, np.ndarray] = {
        "period": np.arange(1, P + 1),
        "month": pd.to_datetime([f"{(cutoff_month + t) // 12:04d}-{(cutoff_month + t) % 12 + 1:02d}-01"
                                 for t in range(1, P + 1)]) + pd.offsets.MonthEnd(0),
        "beginning_balance": begin, "pool_balance": pool_bal, "pool_factor": pool_bal / cut_bal,
        "assets": by_period(None, performing),
        "scheduled_amount": by_period(np.where(after_default, 0.0, due)), "collected_amount": by_period(paid),
    }
    m["collection_rate"] = np.divide(m["collected_amount"], m["scheduled_amount"], out=np.full(P, np.nan),
                                     where=m["scheduled_amount"] > 0)
    m.update({
        "interest_collections": by_period(interest), "principal_collections": by_period(principal),
        "scheduled_principal": sched, "prepaid_principal": prepaid_principal,
        "prepayments": by_period(None, prepaid), "matured": by_period(None, matured),
        "smm": smm, "cpr": 1.0 - (1.0 - smm) ** 12, "abs_speed": smm / (1.0 + smm * (age_begin - 1.0)),
        "defaults": default_count, "default_balance": default_balance,
        "cumulative_defaults": np.cumsum(default_count),
        "cumulative_gross_default_share": np.cumsum(default_balance) / cut_bal,
        "charged_off": charged_p, "recoveries": recovered_p, "cumulative_recoveries": np.cumsum(recovered_p),
        "cumulative_net_loss": np.cumsum(charged_p - recovered_p),
    })
    m["cumulative_net_loss_share"] = m["cumulative_net_loss"] / cut_bal
    m["recovery_rate_cumulative"] = np.divide(m["cumulative_recoveries"], np.cumsum(charged_p),
                                              out=np.full(P, np.nan), where=np.cumsum(charged_p) > 0)

    bucket = _bucket(dpd)
    for b, name in enumerate(BUCKETS):
        mask = performing & (bucket == b)
        m[f"dq_{name}_count"] = by_period(None, mask)
        m[f"dq_{name}_balance"] = by_period(out, mask)
    with np.errstate(invalid="ignore", divide="ignore"):
        m["delinquency_30_plus_share"] = np.where(
            pool_bal > 0, (m["dq_31_60_balance"] + m["dq_61_90_balance"] + m["dq_91_plus_balance"]) / pool_bal, np.nan)
        m["delinquency_60_plus_share"] = np.where(
            pool_bal > 0, (m["dq_61_90_balance"] + m["dq_91_plus_balance"]) / pool_bal, np.nan)
    m["delinquency_60_plus_3m"] = (pd.Series(m["delinquency_60_plus_share"]).rolling(3, min_periods=1).mean()
                                   .to_numpy())

    # roll rates: from the bucket of the row before (the cut-off dpd for period 1) to this row's state
    cut_bucket = _bucket(assets["current_dpd"].to_numpy(dtype="float64"))
    prev_bucket = np.full(n, -1)
    prev_perf = np.zeros(n, dtype=bool)
    prev_perf[1:] = performing[:-1]
    prev_bucket[1:] = bucket[:-1]
    from_b = np.where(new_asset & (per == 1), cut_bucket[a_idx], np.where(prev_contiguous & prev_perf, prev_bucket, -1))
    to_s = np.select([default_row, prepaid, matured, performing], [5, 6, 7, bucket], -1)
    ok = (from_b >= 0) & (to_s >= 0)
    flat = (per[ok] * 5 + from_b[ok]) * 8 + to_s[ok]
    roll = np.bincount(flat, minlength=(P + 1) * 40).reshape(P + 1, 5, 8).astype(np.int64)
    for b in range(4):
        total = roll[1:, b, :].sum(axis=1)
        onward = roll[1:, b, b + 1:6].sum(axis=1)   # to any worse bucket or default
        m[f"roll_{BUCKETS[b]}_to_worse"] = np.divide(onward, total, out=np.full(P, np.nan), where=total > 0)

    # per-asset events
    def first_period(mask: np.ndarray) -> np.ndarray:
        outp = np.zeros(n_assets, dtype=np.int64)
        hit = np.flatnonzero(mask)
        first = hit[np.concatenate([[True], a_idx[hit][1:] != a_idx[hit][:-1]])] if len(hit) else hit
        outp[a_idx[first]] = per[first]
        return outp

    d_per, p_per, mat_per = first_period(default_row), first_period(prepaid), first_period(matured)
    last = np.zeros(n_assets, dtype=np.int64)
    if n:
        last[a_idx[starts + lengths - 1]] = per[starts + lengths - 1]
    ends = np.stack([np.where(x > 0, x, P + 1) for x in (d_per, p_per, mat_per)]).min(axis=0)
    exposure = np.where(ends <= P, ends, np.minimum(last, P))
    events = AssetEvents(
        default_period=d_per, prepay_period=p_per, matured_period=mat_per, exposure_months=exposure,
        default_balance=np.bincount(a_idx, weights=default_bal, minlength=n_assets),
        charged_off=np.bincount(a_idx, weights=charged, minlength=n_assets),
        recovered=np.bincount(a_idx, weights=recovered, minlength=n_assets), last_period=last)
    return PoolFigures(monthly=pd.DataFrame(m), roll_counts=roll, events=events)
