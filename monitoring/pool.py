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
  prepays or matures) as far as ``amount_paid`` covers it: a balance that leaves the pool without the
  cash for it (a payoff below the balance) is a **payoff shortfall**, not a collection, and the
  waterfall never pays it out; **interest collections** the rest of ``amount_paid``; **recoveries** the
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

__all__ = ["ASSET_COLUMNS", "BUCKETS", "STATES", "AssetEvents", "PoolFigures", "asset_positions", "month_index",
           "month_numbers", "pool_figures"]

ASSET_COLUMNS = ("asset_id", "pd", "balance", "origination_date", "months_on_book", "current_dpd")
BUCKETS = ("current", "1_30", "31_60", "61_90", "91_plus")
STATES = BUCKETS + ("default", "prepaid", "matured")
_EDGES = np.array([0, 30, 60, 90])   # dpd <= edge: bucket index via searchsorted
_STATUS = {"current": 0, "prepaid": 1, "defaulted": 2, "terminated": 3}


def month_index(dates: pd.Series | np.ndarray) -> np.ndarray:
    """Months since year 0 of each date (``year * 12 + month - 1``), for period arithmetic."""
    arr = np.asarray(dates)
    if arr.dtype.kind != "M":
        arr = pd.to_datetime(arr).to_numpy()
    out = arr.astype("datetime64[M]").view(np.int64)   # one new array, changed in place
    out += 1970 * 12
    return out


def month_numbers(dates: pd.Series | np.ndarray, offset: int = 0, step: int = 4_000_000) -> np.ndarray:
    """:func:`month_index` minus ``offset`` as int32, computed a slice at a time (no full-size int64 temporaries)."""
    arr = dates.to_numpy() if isinstance(dates, pd.Series) else np.asarray(dates)
    out = np.empty(len(arr), dtype=np.int32)
    for i in range(0, len(arr), step):
        out[i:i + step] = month_index(arr[i:i + step]) - offset
    return out


def _bucket(dpd: np.ndarray) -> np.ndarray:
    return np.searchsorted(_EDGES, dpd, side="left").astype(np.int64)


@dataclass(frozen=True)
class AssetEvents:
    """Per admitted asset (in the order of the asset frame): what happened after the cut-off.

    ``default_period`` / ``prepay_period`` / ``matured_period``: period of the event, 0 when none;
    ``exposure_months``: periods at risk of default (to the first of default, prepayment, maturity or
    the last period); ``charged_off`` and ``recovered``: CNY over the window; ``last_period``: the last
    period with a row (0 when none); ``balance``: outstanding principal (CNY) at the last period when the
    asset is still in the pool then, else 0.
    """

    default_period: np.ndarray
    prepay_period: np.ndarray
    matured_period: np.ndarray
    exposure_months: np.ndarray
    default_balance: np.ndarray
    charged_off: np.ndarray
    recovered: np.ndarray
    last_period: np.ndarray
    balance: np.ndarray


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


def _numbers(values: pd.Series | np.ndarray) -> np.ndarray:
    """A column as numpy numbers (NaN for empty); a view when it already is a plain numpy number column
    (integers stay integers: chunks are converted to float64 one at a time)."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        return values
    if isinstance(values, pd.Series) and isinstance(values.dtype, np.dtype) and values.dtype.kind in "fiu":
        return values.to_numpy()
    return pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def asset_positions(values: pd.Series, lookup: pd.Index) -> np.ndarray:
    """Position of each value in ``lookup`` (-1 when absent); categorical columns map their categories once."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        table = np.append(lookup.get_indexer(values.cat.categories.astype(str)), -1).astype(np.int32)
        return table[values.cat.codes.to_numpy()]   # code -1 (empty) takes the appended -1
    return lookup.get_indexer(values.astype(str))


class _Sums:
    """Per-period sums (index 1..P), roll counts and per-asset events, accumulated chunk by chunk."""

    def __init__(self, periods: int, n_assets: int) -> None:
        self.P = periods
        self.s: dict[str, np.ndarray] = {}
        self.roll = np.zeros((periods + 1) * 40, dtype=np.int64)
        z = np.zeros(n_assets, dtype=np.int64)
        self.events = {k: z.copy() for k in ("default", "prepay", "matured", "last")}
        self.amounts = {k: np.zeros(n_assets) for k in ("default_balance", "charged", "recovered", "balance")}

    def add(self, name: str, per: np.ndarray, weights: np.ndarray | None = None, mask: np.ndarray | None = None) -> None:
        p = per if mask is None else per[mask]
        w = None if weights is None else (weights if mask is None else weights[mask])
        got = np.bincount(p, weights=w, minlength=self.P + 1).astype("float64")
        self.s[name] = self.s[name] + got if name in self.s else got

    def get(self, name: str) -> np.ndarray:
        return self.s.get(name, np.zeros(self.P + 1))[1:]


def _chunk(acc: _Sums, a_idx: np.ndarray, per: np.ndarray, c: dict[str, np.ndarray], balance0: np.ndarray,
           mob0: np.ndarray, cut_bucket: np.ndarray, default_dpd: int, has_charged: bool) -> None:
    """Accumulate one chunk of rows sorted by asset then period (whole assets only)."""
    n = len(per)
    dpd, due, paid, out = c["dpd"], c["amount_due"], c["amount_paid"], c["outstanding_principal"]
    charged_col, recovered, status = c["charged_off_amount"], c["recovered_amount"], c["status"]
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
    closing = ~in_default & ~after_default & ((status == 1) | (status == 3))
    closed = _group_cumsum(closing.astype(np.int64), starts, lengths) - closing > 0   # rows after a payoff
    live = ~in_default & ~after_default & ~closed    # the asset is still in the pool at this row
    performing = live & (status == 0)
    prepaid = live & (status == 1)
    matured = live & (status == 3)
    default_bal = np.where(default_row, np.where(charged_col > 0, charged_col, np.where(out > 0, out, prev_out)), 0.0)
    charged = charged_col if has_charged else default_bal
    fall = np.where(prepaid | matured, prev_out, np.where(performing, np.maximum(prev_out - out, 0.0), 0.0))
    principal = np.minimum(fall, np.maximum(paid, 0.0))   # collected in cash: at most what was paid
    counted = ~after_default & ~closed
    interest = np.where(counted, np.maximum(paid - principal, 0.0), 0.0)

    acc.add("pool_balance", per, out, performing)
    acc.add("assets", per, None, performing)
    acc.add("wmob", per, out * (mob0[a_idx] + per), performing)
    acc.add("prepaid_principal", per, prev_out, prepaid)
    acc.add("scheduled_principal", per, np.where(performing | matured, fall, 0.0))
    acc.add("prepayments", per, None, prepaid)
    acc.add("matured", per, None, matured)
    acc.add("defaults", per, None, default_row)
    acc.add("default_balance", per, default_bal)
    acc.add("charged_off", per, charged)
    acc.add("recoveries", per, recovered)
    acc.add("scheduled_amount", per, np.where(counted, due, 0.0))
    acc.add("collected_amount", per, np.where(counted, paid, 0.0))
    acc.add("interest_collections", per, interest)
    acc.add("principal_collections", per, principal)
    acc.add("payoff_shortfall", per, fall - principal)
    bucket = _bucket(dpd)
    for b, name in enumerate(BUCKETS):
        mask = performing & (bucket == b)
        acc.add(f"dq_{name}_count", per, None, mask)
        acc.add(f"dq_{name}_balance", per, out, mask)

    # roll rates: from the bucket of the row before (the cut-off dpd for period 1) to this row's state
    prev_bucket = np.full(n, -1)
    prev_perf = np.zeros(n, dtype=bool)
    prev_perf[1:] = performing[:-1]
    prev_bucket[1:] = bucket[:-1]
    from_b = np.where(new_asset & (per == 1), cut_bucket[a_idx], np.where(prev_contiguous & prev_perf, prev_bucket, -1))
    to_s = np.select([default_row, prepaid, matured, performing], [5, 6, 7, bucket], -1)
    ok = (from_b >= 0) & (to_s >= 0)
    acc.roll += np.bincount((per[ok] * 5 + from_b[ok]) * 8 + to_s[ok], minlength=len(acc.roll))

    for key, mask in (("default", default_row), ("prepay", prepaid), ("matured", matured)):
        hit = np.flatnonzero(mask)   # at most one per asset (the first; later rows are closed)
        acc.events[key][a_idx[hit]] = per[hit]
    ends = starts + lengths - 1
    acc.events["last"][a_idx[ends]] = per[ends]
    at_end = ends[performing[ends] & (per[ends] == acc.P)]
    acc.amounts["balance"][a_idx[at_end]] = out[at_end]
    for key, values in (("default_balance", default_bal), ("charged", charged), ("recovered", recovered)):
        acc.amounts[key] += np.bincount(a_idx, weights=values, minlength=len(acc.amounts[key]))


def pool_figures(assets: pd.DataFrame, perf: pd.DataFrame, *, cutoff_month: int, periods: int,
                 default_dpd: int = 90, chunk_rows: int = 1_000_000) -> PoolFigures:
    """Pool figures for periods ``1..periods`` after the cut-off.

    Parameters
    ----------
    assets : DataFrame
        The admitted pool, one row per asset, :data:`ASSET_COLUMNS` (``balance`` in CNY at the cut-off,
        ``pd`` a fraction, ``months_on_book`` at the cut-off).
    perf : DataFrame
        Performance rows of these assets: ``contract_id`` (text or categorical), ``month`` (month-end),
        ``dpd``, ``amount_due``, ``amount_paid``, ``outstanding_principal``, ``status``; optional
        ``charged_off_amount``, ``recovered_amount``. Rows of other contracts, or of periods outside
        ``1..periods``, are ignored; so are an asset's rows after its default's recovery rows end or
        after it was paid off. At most one row per asset and month.
    cutoff_month : int
        :func:`month_index` of the cut-off date.
    periods : int
        Number of periods to report (>= 1).
    default_dpd : int
        Days past due at which an asset is in default.
    chunk_rows : int
        Rows handled at a time (whole assets), to bound memory.

    Returns
    -------
    PoolFigures
    """
    n_assets = len(assets)
    P = int(periods)
    ids = pd.Index(assets["asset_id"].astype(str))
    a_all = asset_positions(perf["contract_id"], ids).astype(np.int32)
    per_all = month_numbers(perf["month"], cutoff_month)
    inside = (a_all >= 0) & (per_all >= 1) & (per_all <= P)
    rows: np.ndarray | None = None   # None: every row, in order (no gather needed)
    if not inside.all():
        rows = np.flatnonzero(inside)
    del inside
    a_k = a_all if rows is None else a_all[rows]
    p_k = per_all if rows is None else per_all[rows]
    ordered = len(a_k) < 2 or bool(np.all((a_k[1:] > a_k[:-1]) | ((a_k[1:] == a_k[:-1]) & (p_k[1:] > p_k[:-1]))))
    if not ordered:
        order = np.lexsort((p_k, a_k))
        rows = order if rows is None else rows[order]
    a_sorted = a_all if rows is None else a_all[rows]
    n_rows = len(a_sorted)
    status_col = perf["status"]
    if isinstance(status_col.dtype, pd.CategoricalDtype):
        lut = np.array([_STATUS.get(str(x), -1) for x in status_col.cat.categories] + [-1], dtype=np.int8)
        status_all = lut[status_col.cat.codes.to_numpy()]
    else:
        status_all = status_col.astype(str).map(_STATUS).to_numpy(dtype="float64", na_value=-1).astype(np.int64)
    columns = {name: (_numbers(perf[name]) if name in perf.columns else None)
               for name in ("dpd", "amount_due", "amount_paid", "outstanding_principal", "charged_off_amount",
                            "recovered_amount")}
    balance0 = assets["balance"].to_numpy(dtype="float64")
    mob0 = assets["months_on_book"].to_numpy(dtype="float64")
    cut_bucket = _bucket(assets["current_dpd"].to_numpy(dtype="float64"))
    acc = _Sums(P, n_assets)
    start = 0
    while start < n_rows:
        stop = min(start + chunk_rows, n_rows)
        while stop < n_rows and a_sorted[stop] == a_sorted[stop - 1]:
            stop += 1   # whole assets in a chunk
        sub: slice | np.ndarray = slice(start, stop) if rows is None else rows[start:stop]
        c = {name: (np.nan_to_num(col[sub].astype(np.float64)) if col is not None else np.zeros(stop - start))
             for name, col in columns.items()}
        c["status"] = status_all[sub].astype(np.int64)
        _chunk(acc, a_sorted[start:stop].astype(np.int64), per_all[sub].astype(np.int64), c, balance0, mob0,
               cut_bucket, default_dpd,
               columns["charged_off_amount"] is not None)
        start = stop

    cut_bal = float(balance0.sum())
    pool_bal = acc.get("pool_balance")
    begin = np.concatenate([[cut_bal], pool_bal[:-1]])
    sched = acc.get("scheduled_principal")
    prepaid_principal = acc.get("prepaid_principal")
    smm = np.divide(prepaid_principal, begin - sched, out=np.zeros(P), where=(begin - sched) > 0)
    age_begin = np.concatenate([[np.sum(balance0 * mob0) / max(cut_bal, 1e-9)],
                                np.divide(acc.get("wmob"), pool_bal, out=np.zeros(P), where=pool_bal > 0)[:-1]]) + 1.0
    default_count = acc.get("defaults")
    default_balance = acc.get("default_balance")
    charged_p = acc.get("charged_off")
    recovered_p = acc.get("recoveries")
    m: dict[str, np.ndarray] = {
        "period": np.arange(1, P + 1),
        "month": pd.to_datetime([f"{(cutoff_month + t) // 12:04d}-{(cutoff_month + t) % 12 + 1:02d}-01"
                                 for t in range(1, P + 1)]) + pd.offsets.MonthEnd(0),
        "beginning_balance": begin, "pool_balance": pool_bal, "pool_factor": pool_bal / cut_bal,
        "assets": acc.get("assets"), "scheduled_amount": acc.get("scheduled_amount"),
        "collected_amount": acc.get("collected_amount"),
    }
    m["collection_rate"] = np.divide(m["collected_amount"], m["scheduled_amount"], out=np.full(P, np.nan),
                                     where=m["scheduled_amount"] > 0)
    m.update({
        "interest_collections": acc.get("interest_collections"), "principal_collections": acc.get("principal_collections"),
        "payoff_shortfall": acc.get("payoff_shortfall"),
        "scheduled_principal": sched, "prepaid_principal": prepaid_principal,
        "prepayments": acc.get("prepayments"), "matured": acc.get("matured"),
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
    for name in BUCKETS:
        m[f"dq_{name}_count"] = acc.get(f"dq_{name}_count")
        m[f"dq_{name}_balance"] = acc.get(f"dq_{name}_balance")
    with np.errstate(invalid="ignore", divide="ignore"):
        m["delinquency_30_plus_share"] = np.where(
            pool_bal > 0, (m["dq_31_60_balance"] + m["dq_61_90_balance"] + m["dq_91_plus_balance"]) / pool_bal, np.nan)
        m["delinquency_60_plus_share"] = np.where(
            pool_bal > 0, (m["dq_61_90_balance"] + m["dq_91_plus_balance"]) / pool_bal, np.nan)
    m["delinquency_60_plus_3m"] = (pd.Series(m["delinquency_60_plus_share"]).rolling(3, min_periods=1).mean()
                                   .to_numpy())
    roll = acc.roll.reshape(P + 1, 5, 8)
    for b in range(4):
        total = roll[1:, b, :].sum(axis=1)
        onward = roll[1:, b, b + 1:6].sum(axis=1)   # to any worse bucket or default
        m[f"roll_{BUCKETS[b]}_to_worse"] = np.divide(onward, total, out=np.full(P, np.nan), where=total > 0)

    d_per, p_per, mat_per, last = (acc.events[k] for k in ("default", "prepay", "matured", "last"))
    ends = np.stack([np.where(x > 0, x, P + 1) for x in (d_per, p_per, mat_per)]).min(axis=0)
    exposure = np.where(ends <= P, ends, np.minimum(last, P))
    events = AssetEvents(default_period=d_per, prepay_period=p_per, matured_period=mat_per, exposure_months=exposure,
                         default_balance=acc.amounts["default_balance"], charged_off=acc.amounts["charged"],
                         recovered=acc.amounts["recovered"], last_period=last, balance=acc.amounts["balance"])
    return PoolFigures(monthly=pd.DataFrame(m), roll_counts=roll, events=events)
