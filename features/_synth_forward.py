"""The forward oracle of the synthetic book: exact PDs from the cut-off, given the state at the cut-off.

At the cut-off a running contract has lived ``s`` reported month-ends (``s`` = months on book for a
month-end cut-off) and shows one of four payment states: current, 1-29, 31-59 or 61-89 days past
due. Under the generator (``features._synth_risk``, ``features._synth_history``) its future is the
event month ``E`` (a default spiral starting or a prepayment) drawn from the monthly hazards ``a[k]``,
``b[k]``, with prior mass ``P(E = k, spiral) = S[k-1] a[k]`` and ``P(E = k, prepay) = S[k-1] (1 - a[k])
b[k]``, or maturity with mass ``S[term]``. The state at ``s`` is evidence about ``E``:

* 61-89 dpd: a spiral that started at ``s - 2`` (nothing else reaches it); 31-59: a spiral from
  ``s - 1`` or a two-month transient miss started at ``s - 1``; 1-29: a spiral from ``s`` or a
  one-month miss at ``s``; current: no spiral has started and no miss is open.
* A transient miss starts in month ``k`` with probability ``q[k]`` (two months long with ``q[k] / 4``)
  only while ``k <= min(E, term) - 2``, so a miss (or its absence) also tells a little about whether
  ``E`` comes in the next month or two.

The oracle is the posterior ``P(E, kind | running at s, state at s)`` from exactly these likelihoods,
and from it, per contract running at the cut-off:

* ``pd_12m_fwd``: a first 90+ dpd month-end (spiral start + 3) within the 12 month-ends after ``s``;
* ``pd_remaining_fwd``: a default at any time over the remaining life (the spiral may run past the term);
* ``prepay_remaining_fwd``: a prepayment over the remaining life;
* ``remaining_life_fwd``: expected months from ``s`` to the end of the contract (its prepayment, its
  default month-end or its maturity), in months.

The transient-miss history before ``s - 1`` carries no information about ``E`` beyond the contract's
own risk (known from its tape fields), so conditioning on the current state is conditioning on all
that the tape shows. No random number is drawn here; the other files do not change.
"""

from __future__ import annotations

import numpy as np

from features._synth_profiles import epidemic_months
from features._synth_risk import SPIRAL_MONTHS

__all__ = ["FORWARD_COLUMNS", "forward_truth"]

FORWARD_COLUMNS = ("pd_12m_fwd", "pd_remaining_fwd", "prepay_remaining_fwd", "remaining_life_fwd")
_HORIZON = 12


def _state(current_dpd: np.ndarray) -> np.ndarray:
    """0 current, 1: 1-29, 2: 31-59, 3: 61-89 dpd (4: 90 or more, not a running state)."""
    d = np.asarray(current_dpd)
    return np.select([d <= 0, d < 30, d < 60, d < 90], [0, 1, 2, 3], 4)


def forward_truth(h_default: np.ndarray, h_prepay: np.ndarray, term: np.ndarray, s: np.ndarray,
                  current_dpd: np.ndarray, running: np.ndarray, risk: np.ndarray, origin_month: np.ndarray,
                  transient_rate: float) -> dict[str, np.ndarray]:
    """Exact forward default and prepayment figures at the cut-off (NaN for contracts not running).

    Parameters
    ----------
    h_default, h_prepay : ndarray, shape (n, width)
        Monthly spiral and prepayment hazards for months on book 1..width
        (:func:`features._synth_risk.monthly_hazards`).
    term : ndarray of int, shape (n,)
        Term (months).
    s : ndarray of int, shape (n,)
        Month-ends reported by the cut-off (months on book of the last history row).
    current_dpd : ndarray, shape (n,)
        Days past due at the cut-off.
    running : ndarray of bool, shape (n,)
        Running at the cut-off (not prepaid, defaulted or matured).
    risk : ndarray, shape (n,)
        The contract's risk log-odds (scales the transient-miss chance ``q``).
    origin_month : ndarray of int, shape (n,)
        Month index of origination (0 = January 2018), for the epidemic months of ``q``.
    transient_rate : float
        Base monthly chance of a transient miss (the profile's).

    Returns
    -------
    dict of str to ndarray
        :data:`FORWARD_COLUMNS`, each shape (n,), fractions and months.
    """
    n, width = h_default.shape
    k = np.arange(1, width + 1)[None, :]
    surv = np.cumprod((1.0 - h_default) * (1.0 - h_prepay), axis=1)
    before = np.concatenate([np.ones((n, 1)), surv[:, :-1]], axis=1)
    m_def = before * h_default                         # P(E = k, spiral)
    m_pre = before * (1.0 - h_default) * h_prepay       # P(E = k, prepay)
    rows = np.arange(n)
    term = np.asarray(term, dtype=np.int64)
    s = np.asarray(s, dtype=np.int64)
    m_mat = surv[rows, np.clip(term, 1, width) - 1]    # runs to maturity

    def q_at(month: np.ndarray) -> np.ndarray:
        q = transient_rate * np.exp(0.5 * risk) * np.where(epidemic_months(origin_month + month), 2.5, 1.0)
        return np.where(month >= 1, np.minimum(q, 1.0), 0.0)

    q_s, q_p = q_at(s), q_at(s - 1)
    state = _state(current_dpd)

    def likelihood(bound: np.ndarray) -> np.ndarray:
        """P(state at s | no spiral open at s, transient misses allowed up to ``bound - 2``)."""
        at_s = bound >= s[:, None] + 2
        at_p = bound >= s[:, None] + 1
        one = q_s[:, None] * at_s
        two = 0.25 * q_p[:, None] * at_p
        st = state[:, None]
        return np.select([st == 0, st == 1, st == 2], [(1.0 - one) * (1.0 - two), one * (1.0 - two), two], 0.0)

    future = k > s[:, None]
    lik_event = likelihood(np.broadcast_to(k, (n, width))) * future
    w_def = m_def * lik_event
    w_pre = m_pre * lik_event
    w_mat = m_mat * likelihood(term[:, None])[:, 0] * (term > s)
    # a spiral already open at s: started at s (1-29 dpd), s - 1 (31-59) or s - 2 (61-89)
    started = s - (state - 1)
    open_ok = (state >= 1) & (state <= 3) & (started >= 1) & (started <= np.minimum(term, width))
    w_open = np.where(open_ok, m_def[rows, np.clip(started, 1, width) - 1], 0.0)
    total = w_def.sum(axis=1) + w_pre.sum(axis=1) + w_mat + w_open
    ok = running & (total > 0)
    z = np.where(ok, total, 1.0)
    in_12 = k + SPIRAL_MONTHS <= s[:, None] + _HORIZON
    pd12 = ((w_def * in_12).sum(axis=1) + w_open) / z
    pd_rem = (w_def.sum(axis=1) + w_open) / z
    prepay = w_pre.sum(axis=1) / z
    life = ((w_def * (k + SPIRAL_MONTHS - s[:, None])).sum(axis=1) + (w_pre * (k - s[:, None])).sum(axis=1)
            + w_mat * (term - s) + w_open * (started + SPIRAL_MONTHS - s)) / z
    nan = np.full(n, np.nan)
    return {"pd_12m_fwd": np.where(ok, pd12, nan), "pd_remaining_fwd": np.where(ok, pd_rem, nan),
            "prepay_remaining_fwd": np.where(ok, prepay, nan), "remaining_life_fwd": np.where(ok, life, nan)}
