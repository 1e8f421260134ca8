"""The deal's waterfall on actual collections, with the liquidity facility and the triggers.

Each period ``t`` the **revenue** (interest collections plus recoveries) and the **principal
collections** (CNY) are paid, in order:

1. fees: servicing and trustee, each its annual rate / 12 of the beginning pool balance;
2. interest of the senior, then the mezzanine classes (balance x coupon / 12, plus any unpaid interest
   carried from before). Both are paid from revenue; where revenue falls short of an item the liquidity
   facility ``covers``, it lends the shortfall, up to its limit less the draws not yet repaid; a
   shortfall still left is paid from the principal collections;
3. repayment of the liquidity draws outstanding, from revenue;
4. principal, from what is left of both: the **principal distribution amount** is the fall of the pool balance over the period
   (collected principal plus the principal of assets that defaulted), so the notes keep pace with the
   pool and losses are covered by the excess spread; paid to the classes in order of seniority
   (``sequential``), or to the senior and mezzanine classes in proportion to their balances
   (``pro_rata``; the subordinated class last) until a ``sequential`` trigger has breached;
5. interest of subordinated classes with a coupon;
6. the rest (excess spread) is released to the subordinated holder, or, once an ``accelerate``
   trigger has breached, pays the notes' principal in order of seniority (turbo).

Triggers are measured at the end of each period on that period's figures; a breach takes effect from the
next period's payments and is not curable. ``servicer_replacement`` and ``clean_up_call`` breaches are
reported and change no cash flow. Pure function of the monthly pool figures and the deal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from monitoring.deal import Deal

__all__ = ["run_waterfall"]


def _pay(amount: float, funds: float) -> tuple[float, float]:
    paid = min(max(amount, 0.0), max(funds, 0.0))
    return paid, funds - paid


def run_waterfall(monthly: pd.DataFrame, deal: Deal) -> tuple[pd.DataFrame, list[dict[str, object]]]:
    """Apply the deal's waterfall and triggers to the monthly pool figures.

    Parameters
    ----------
    monthly : DataFrame
        :func:`monitoring.pool.pool_figures` output (``beginning_balance``, ``pool_balance``,
        ``interest_collections``, ``principal_collections``, ``recoveries``, ``default_balance`` and the
        trigger measures), one row per period.
    deal : Deal
        The validated deal file.

    Returns
    -------
    (DataFrame, list of dict)
        Columns to add to ``monthly`` (same index): available funds, fees, each class's interest,
        principal, balance, factor and credit enhancement, overcollateralisation, liquidity draws,
        repayments and outstanding, excess released, turbo principal, and for each trigger its value,
        threshold and breach flag; and the trigger table (code, measure, action, latest value and
        threshold, first breach period and month).
    """
    P = len(monthly)
    cls = deal.classes
    bal = np.array([c.balance for c in cls], dtype=float)
    orig = bal.copy()
    unpaid_interest = np.zeros(len(cls))
    liq_out = 0.0
    draws_count = 0
    active: set[str] = set()
    first_breach: dict[str, int] = {}
    cols: dict[str, list[float]] = {}

    def put(name: str, value: float) -> None:
        cols.setdefault(name, []).append(float(value))

    for t in range(P):
        row = monthly.iloc[t]
        begin, end = float(row["beginning_balance"]), float(row["pool_balance"])
        revenue = float(row["interest_collections"] + row["recoveries"])
        principal_funds = float(row["principal_collections"])
        put("available_funds", revenue + principal_funds)
        put("revenue_funds", revenue)
        room = max(deal.liquidity.limit - liq_out, 0.0)
        draw_t = 0.0
        principal_used = 0.0

        def senior_item(amount: float, item: str) -> float:
            """Pay from revenue; a covered shortfall is lent by the facility; the rest from principal."""
            nonlocal revenue, principal_funds, room, draw_t, principal_used
            paid, revenue = _pay(amount, revenue)
            short = amount - paid
            if short > 1e-9 and item in deal.liquidity.covers and room > 0:
                d = min(short, room)
                room -= d
                draw_t += d
                paid += d
                short -= d
            if short > 1e-9:
                extra, principal_funds = _pay(short, principal_funds)
                principal_used += extra
                paid += extra
            return paid

        fees = (deal.servicing_fee + deal.trustee_fee) / 12.0 * begin
        fees_paid = senior_item(fees, "fees")
        put("fees_due", fees)
        put("fees_paid", fees_paid)
        interest_paid = np.zeros(len(cls))
        for k, c in enumerate(cls):
            if c.rank == "subordinated":
                continue
            due = bal[k] * c.coupon / 12.0 + unpaid_interest[k]
            interest_paid[k] = senior_item(due, f"{c.rank}_interest")
            unpaid_interest[k] = due - interest_paid[k]
        liq_out += draw_t
        draws_count += int(draw_t > 0)
        repaid, revenue = _pay(liq_out - draw_t, revenue)   # earlier draws, from revenue only
        liq_out -= repaid
        put("liquidity_draw", draw_t)
        put("liquidity_repaid", repaid)
        put("principal_used_for_interest", principal_used)
        funds = revenue + principal_funds

        pda = max(begin - end, 0.0)
        principal_paid = np.zeros(len(cls))
        target, funds = _pay(min(pda, bal.sum()), funds)
        put("principal_distribution_amount", pda)
        put("principal_shortfall", max(min(pda, bal.sum()) - target, 0.0))
        sequential = deal.principal == "sequential" or any(
            tr.action == "sequential" and tr.code in active for tr in deal.triggers)
        if not sequential:
            lead = np.array([c.rank != "subordinated" for c in cls])
            share = np.where(lead, bal, 0.0)
            if share.sum() > 0:
                alloc = np.minimum(target * share / share.sum(), bal)
                principal_paid += alloc
                bal -= alloc
                target -= alloc.sum()
        for k in range(len(cls)):
            pay = min(target, bal[k])
            principal_paid[k] += pay
            bal[k] -= pay
            target -= pay
        funds += target   # principal not needed by the notes (all paid) stays available
        for k, c in enumerate(cls):
            if c.rank != "subordinated":
                continue
            due = bal[k] * c.coupon / 12.0 + unpaid_interest[k]
            interest_paid[k], funds = _pay(due, funds)
            unpaid_interest[k] = due - interest_paid[k]
        turbo = 0.0
        if any(tr.action == "accelerate" and tr.code in active for tr in deal.triggers):
            for k in range(len(cls)):
                pay = min(funds, bal[k])
                principal_paid[k] += pay
                bal[k] -= pay
                funds -= pay
                turbo += pay
        put("turbo_principal", turbo)
        put("excess_released", max(funds, 0.0))
        notes = bal.sum()
        put("notes_balance", notes)
        put("overcollateralisation", end - notes)
        put("overcollateralisation_share", (end - notes) / end if end > 0 else np.nan)
        above = 0.0
        for k, c in enumerate(cls):
            put(f"class_{c.name}_interest", interest_paid[k])
            put(f"class_{c.name}_interest_unpaid", unpaid_interest[k])
            put(f"class_{c.name}_principal", principal_paid[k])
            put(f"class_{c.name}_balance", bal[k])
            put(f"class_{c.name}_factor", bal[k] / orig[k] if orig[k] > 0 else 0.0)
            above += bal[k]
            put(f"class_{c.name}_credit_enhancement", (end - above) / end if end > 0 else np.nan)
        put("liquidity_outstanding", liq_out)
        put("liquidity_outstanding_share", liq_out / deal.liquidity.limit if deal.liquidity.limit > 0 else 0.0)
        put("liquidity_draws", draws_count)

        period = int(row["period"])
        for tr in deal.triggers:
            value = float(cols[tr.measure][-1]) if tr.measure in cols else float(row[tr.measure])
            limit = tr.threshold(period)
            hit = tr.breached(value, period)
            if hit and tr.code not in first_breach:
                first_breach[tr.code] = period
            put(f"trigger_{tr.code}_value", value)
            put(f"trigger_{tr.code}_threshold", limit)
            put(f"trigger_{tr.code}_breached", float(tr.code in first_breach))
        active = set(first_breach)

    out = pd.DataFrame(cols, index=monthly.index)
    for tr in deal.triggers:
        out[f"trigger_{tr.code}_breached"] = out[f"trigger_{tr.code}_breached"].astype(bool)
    months = monthly["month"].to_numpy()
    table: list[dict[str, object]] = []
    for tr in deal.triggers:
        fb = first_breach.get(tr.code)
        table.append({
            "code": tr.code, "measure": tr.measure, "direction": tr.direction, "action": tr.action,
            "en": tr.texts["en"], "zh": tr.texts["zh"],
            "value": float(out[f"trigger_{tr.code}_value"].iloc[-1]) if P else None,
            "threshold": float(out[f"trigger_{tr.code}_threshold"].iloc[-1]) if P else None,
            "breached": fb is not None, "first_breach_period": fb,
            "first_breach_month": (pd.Timestamp(months[fb - 1]).date().isoformat() if fb is not None else None),
        })
    return out, table
