"""Monthly payment histories of one block of synthetic contracts, and their status at the cut-off.

Besides the default spiral and prepayment (``_synth_risk``), lessees miss payments now and then and
catch up: a one-month episode (1-29 dpd, cured the next month) or a two-month one (then 31-59 dpd,
cured the month after). These transient delinquencies are more frequent for riskier lessees and
2.5 times as frequent in February-May 2020; they never lead to default, so the exact default
probabilities stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features._synth_draw import balance_after
from features._synth_profiles import epidemic_months

__all__ = ["STATUS_CODES", "History", "build_history"]

STATUS_CODES = ("current", "prepaid", "defaulted", "terminated")
_MAX_DPD = 3_000


@dataclass(frozen=True)
class History:
    """Performance rows (row-major: contract, then month) and each contract's status at the cut-off."""

    row_contract: np.ndarray      # (rows,) index of the contract in the block
    row_mob: np.ndarray           # months on book at the month-end
    row_dpd: np.ndarray
    row_due: np.ndarray           # CNY
    row_paid: np.ndarray          # CNY
    row_outstanding: np.ndarray   # CNY
    row_status: np.ndarray        # index into STATUS_CODES
    months_on_book: np.ndarray    # at the cut-off, capped at the term
    instalments_paid: np.ndarray
    current_dpd: np.ndarray
    worst_dpd: np.ndarray
    outstanding: np.ndarray       # CNY
    end_month: np.ndarray         # months on book of the last row of the contract's whole life
    active: np.ndarray            # running at the cut-off (not prepaid, defaulted or matured)


def build_history(a: dict[str, np.ndarray], rent: np.ndarray, risk: np.ndarray, event: np.ndarray,
                  kind: np.ndarray, u_transient: np.ndarray, months_to_cutoff: np.ndarray,
                  observed: np.ndarray, transient_rate: float) -> History:
    """Build the monthly rows up to ``min(end of life, observed)`` month-ends and the cut-off status.

    Parameters
    ----------
    event, kind : ndarray
        From :func:`features._synth_risk.sample_events`.
    u_transient : ndarray, shape (n, width)
        Uniforms for the transient delinquencies.
    months_to_cutoff : ndarray
        Calendar months from origination to the cut-off date.
    observed : ndarray
        Month-ends from origination to the cut-off (month-ends after the cut-off are not reported).
    """
    n, width = u_transient.shape
    term = a["term_months"]
    k = np.arange(1, width + 1)[None, :]
    defaults, prepays = kind == 1, kind == 2
    end = np.where(defaults, event + 3, np.where(prepays, event, term))
    late_days = np.clip(30 - a["day"], 1, 29)

    # transient episodes: start in month k, only while the contract runs normally and cured in time
    q = transient_rate * np.exp(0.5 * risk)[:, None] * np.where(epidemic_months(a["o"][:, None] + k), 2.5, 1.0)
    last_start = np.where(kind > 0, np.minimum(event, term), term) - 2
    allowed = k <= last_start[:, None]
    one = (u_transient < q) & allowed
    two = (u_transient < 0.25 * q) & allowed
    overdue = one.astype(np.int16)
    overdue[:, 1:] = np.maximum(overdue[:, 1:], 2 * two[:, :-1])
    spiral = defaults[:, None] & (k >= event[:, None])
    capped = np.minimum(k, term[:, None])
    overdue = np.where(spiral, capped - event[:, None] + 1, overdue)
    dpd = np.where(spiral, 30 * (k - event[:, None]) + late_days[:, None],
                   np.where(overdue > 0, 30 * (overdue - 1) + late_days[:, None], 0))
    paid = capped - overdue

    keep = k <= np.minimum(end, observed)[:, None]
    ci, kk = np.nonzero(keep)
    kk = kk + 1
    r_paid = paid[ci, kk - 1]
    r_prev = np.where(kk > 1, paid[ci, np.maximum(kk - 2, 0)], 0)
    r_rent = rent[ci]
    r_term = term[ci]
    residual = a["residual_value"][ci]
    r_out = balance_after(a["financed_amount"][ci], r_rent, a["annual_rate"][ci], r_paid)
    is_end = kk == end[ci]
    status = np.where(is_end, np.where(defaults[ci], 2, np.where(prepays[ci], 1, 3)), 0)
    due = np.where(kk < r_term, r_rent, np.where(kk == r_term, r_rent + residual, 0.0))
    got = r_rent * (r_paid - r_prev)
    matured = status == 3
    got = np.where(matured, got + residual, got)
    payoff = status == 1
    due = np.where(payoff, r_rent + r_out, due)
    got = np.where(payoff, r_rent + r_out, got)
    r_out = np.where(payoff | matured, 0.0, r_out)

    # status at the cut-off: the last reported month-end, or beyond it for defaulted contracts
    last = np.minimum(end, observed)
    has_rows = last >= 1
    li = np.maximum(last, 1) - 1
    rows = np.arange(n)
    inst = np.where(has_rows, paid[rows, li], 0)
    ended = end <= observed
    active = ~ended
    cur = np.where(has_rows, dpd[rows, li], 0)
    cur = np.where(ended & defaults, 30 * (months_to_cutoff - event) + late_days, np.where(ended, 0, cur))
    cur = np.minimum(cur, _MAX_DPD)
    seen = np.where(keep, dpd, 0).max(axis=1)
    worst = np.maximum(seen, cur)
    outstanding = np.where(has_rows, balance_after(a["financed_amount"], rent, a["annual_rate"], inst),
                           a["financed_amount"])
    outstanding = np.where(ended & ~defaults, 0.0, outstanding)
    return History(
        row_contract=ci, row_mob=kk, row_dpd=dpd[ci, kk - 1], row_due=np.round(due, 2),
        row_paid=np.round(got, 2), row_outstanding=np.round(r_out, 2), row_status=status,
        months_on_book=np.minimum(months_to_cutoff, term), instalments_paid=inst, current_dpd=cur,
        worst_dpd=worst, outstanding=np.round(outstanding, 2), end_month=end, active=active,
    )
