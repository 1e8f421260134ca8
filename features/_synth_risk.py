"""The default and prepayment mechanism of the synthetic book.

Each month ``k`` (months on book, 1..term) a contract that is still running enters a **default
spiral** with probability ``a[k] = sigmoid(intercept + risk + seasoning(k) + macro(month))`` and,
if it did not, **prepays** with probability ``b[k]``. A spiral runs 1-29, 31-59, 61-89 days past
due over three month-ends and the contract is defaulted (91+ dpd, absorbing) at the fourth. The
per-contract ``risk`` is a sum of log-odds pieces (:func:`risk_components`); because the monthly
hazards are known, the probability of default within ``H`` months competing with prepayment is
exact: ``sum over k <= H - 3 of S[k-1] * a[k]`` with ``S[k] = prod_{j<=k} (1 - a[j]) (1 - b[j])``.
"""

from __future__ import annotations

import numpy as np

from features._synth_profiles import (
    EMPLOYMENT,
    Profile,
    macro_logit,
    prepay_calendar,
    seasoning_logit,
)

__all__ = ["SPIRAL_MONTHS", "credit_score_logit", "default_probability", "monthly_hazards", "risk_components",
           "sample_events"]

SPIRAL_MONTHS = 3   # months from entering the spiral to the first 90+ dpd month-end

_EMPLOYMENT_LOGIT = dict(zip(EMPLOYMENT, (0.0, -0.6, 0.35, 0.2, 0.45, 0.5)))
_TIER_LOGIT = np.array([0.0, -0.30, -0.10, 0.0, 0.15, 0.30])   # index = city tier


def credit_score_logit(bureau_score: np.ndarray) -> np.ndarray:
    """Log-odds of the observed bureau score (points): decreasing, steeper at low scores; 0 when empty.

    With ``u = (score - 640) / 70`` the piece is ``-0.40 u + 0.30 (ln(1 + exp(-1.5 u)) - ln 2)``: 0 at
    640 points, a slope of -0.85 per 70 points far below it and -0.40 far above it. Thin-file lessees
    (no score) get 0 here and ``c_thin_file`` instead.
    """
    u = (np.nan_to_num(bureau_score, nan=640.0) - 640.0) / 70.0
    return -0.40 * u + 0.30 * (np.logaddexp(0.0, -1.5 * u) - np.log(2.0))


def risk_components(a: dict[str, np.ndarray], rent: np.ndarray, profile: Profile) -> dict[str, np.ndarray]:
    """Log-odds pieces of the default hazard for each contract (they add up to the contract's risk).

    Directions: higher payment-to-income (steeper for thin-file lessees), loan-to-value (steeper for
    used cars), inquiries, longer terms, very young or old lessees, lower-tier cities, no GPS and
    used cars raise the risk; a higher bureau score (steeper at the low end), longer job tenure,
    higher income, a guarantor and civil-service jobs lower it. Every piece is a function of the
    contract's own tape fields (a thin file is an empty ``bureau_score``), so the exact PD computed
    from them is the best prediction the tape allows.
    """
    income = a["monthly_income"]
    dti = (rent + a["existing_debt_payment"]) / income
    slope = np.where(a["thin"], 1.5, 1.0)
    ltv = a["financed_amount"] / a["vehicle_price"]
    used, nev = a["used"], a["is_nev"]
    emp_logit = np.array([_EMPLOYMENT_LOGIT[e] for e in EMPLOYMENT])
    return {
        "c_payment_to_income": slope * (2.0 * (dti - 0.35) + 3.0 * np.maximum(dti - 0.55, 0.0)),
        "c_loan_to_value": 3.5 * (ltv - 0.78) + 5.0 * used * np.maximum(ltv - 0.80, 0.0),
        "c_age": 0.0018 * (a["lessee_age"] - 40.0) ** 2 - 0.15,
        "c_credit_quality": credit_score_logit(a["bureau_score"]),
        "c_thin_file": 0.35 * a["thin"],
        "c_inquiries": 0.30 * np.log1p(a["bureau_inquiries_6m"]),
        "c_job_tenure": 0.45 - 0.30 * np.log1p(a["years_in_job"]),
        "c_employment": emp_logit[a["employment_type"]],
        "c_city_tier": _TIER_LOGIT[a["city_tier"]],
        "c_income": -0.30 * np.log(income / profile.income_median),
        "c_guarantor": -0.35 * a["has_guarantor"],
        "c_gps": 0.40 * ~a["gps_installed"],
        "c_vehicle": 0.30 * used + 0.05 * (nev & ~used) + 0.35 * (nev & used),
        "c_term": 0.012 * (a["term_months"] - 36.0),
    }


def monthly_hazards(risk: np.ndarray, a: dict[str, np.ndarray], profile: Profile,
                    width: int) -> tuple[np.ndarray, np.ndarray]:
    """Monthly default-spiral and prepayment hazards, shape ``(n, width)`` for months on book 1..width.

    Both are 0 after the term; prepayment is also 0 in the last month (the contract matures).
    """
    k = np.arange(1, width + 1, dtype=float)[None, :]
    term = a["term_months"][:, None]
    cal = a["o"][:, None] + k.astype(np.int64)                      # calendar month index of month k
    shock = macro_logit(cal) * (1.0 + 0.4 * a["used"][:, None])
    logit = profile.default_logit + risk[:, None] + seasoning_logit(k) + shock
    live = k <= term
    h_default = np.where(live, 1.0 / (1.0 + np.exp(-logit)), 0.0)
    smm = 1.0 - (1.0 - profile.prepay_cpr) ** (1.0 / 12.0)
    tilt = (0.3 * np.log(a["monthly_income"] / profile.income_median)
            + 8.0 * (a["annual_rate"] - profile.rate_mean) - 0.15 * risk)
    ramp = np.minimum(1.0, 0.2 + 0.8 * (k - 1.0) / 11.0) * np.where(term - k < 6, 1.3, 1.0)
    h_prepay = smm * np.exp(tilt)[:, None] * ramp * prepay_calendar(cal % 12 + 1)
    h_prepay = np.where(k < term, np.minimum(h_prepay, 0.25), 0.0)
    return h_default, h_prepay


def default_probability(h_default: np.ndarray, h_prepay: np.ndarray,
                        horizons: tuple[int, ...]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Exact probabilities of default (first 90+ dpd) within each horizon in months of origination.

    Returns the survival curve ``S`` (n, width) and one array per horizon.
    """
    step = (1.0 - h_default) * (1.0 - h_prepay)
    surv = np.cumprod(step, axis=1)
    before = np.concatenate([np.ones((surv.shape[0], 1)), surv[:, :-1]], axis=1)
    incidence = before * h_default                    # P(spiral starts in month k)
    cum = np.cumsum(incidence, axis=1)
    out = []
    for h in horizons:
        last = min(h - SPIRAL_MONTHS, cum.shape[1])
        out.append(cum[:, last - 1] if last >= 1 else np.zeros(cum.shape[0]))
    return surv, out


def sample_events(surv: np.ndarray, h_default: np.ndarray, h_prepay: np.ndarray, term: np.ndarray,
                  u_event: np.ndarray, u_type: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Draw each contract's outcome by inverting its survival curve (one uniform per contract).

    Returns ``event_month`` (months on book of the spiral start or prepayment; ``term + 1`` when the
    contract runs to maturity) and ``kind`` (0 matures, 1 defaults, 2 prepays).
    """
    n, width = surv.shape
    k = np.arange(1, width + 1)[None, :]
    alive = (surv > (1.0 - u_event)[:, None]) & (k <= term[:, None])
    event = 1 + alive.sum(axis=1)
    has = event <= term
    idx = np.minimum(event, width) - 1
    rows = np.arange(n)
    a_e, b_e = h_default[rows, idx], h_prepay[rows, idx]
    p_def = a_e / np.maximum(1.0 - (1.0 - a_e) * (1.0 - b_e), 1e-300)
    kind = np.where(has, np.where(u_type < p_def, 1, 2), 0)
    return np.where(has, event, term + 1), kind
