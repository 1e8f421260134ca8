"""Drawing the contracts of one block: lessee, vehicle and contract terms at origination.

Every draw has the full block size whatever the number of contracts kept, and draws happen in a
fixed order, so a contract's values depend only on the seed and its position (``generate_book(n)``
is a prefix of ``generate_book(m)`` for ``n < m``). Pure numpy, no per-row Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features._synth_profiles import (
    AGE_BANDS,
    EMPLOYMENT,
    FIRST_YEAR,
    TERMS,
    Profile,
    province_probabilities,
    year_table,
)
from features.schema import PROVINCES

__all__ = ["Dealers", "draw_block", "make_dealers", "origination_weights"]

_MUNICIPAL_TIER1 = ("Beijing", "Shanghai")
_MAX_DTI = 0.65   # rent plus existing debt payments over verified monthly income, at most


@dataclass(frozen=True)
class Dealers:
    """Dealer table: province index of each dealer, grouped by province (dealers carry no risk effect)."""

    province: np.ndarray   # (n_dealers,) index into PROVINCES, sorted
    start: np.ndarray      # (n_provinces,) first dealer of each province
    count: np.ndarray      # (n_provinces,) dealers in each province


def make_dealers(profile: Profile) -> Dealers:
    """A fixed dealer network: dealers per province in proportion to volume (at least one each)."""
    share = province_probabilities(profile)
    count = np.maximum(1, np.round(share * profile.n_dealers)).astype(np.int64)
    province = np.repeat(np.arange(len(PROVINCES)), count)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    return Dealers(province=province, start=start, count=count)


def origination_weights(profile: Profile, last_month: int) -> np.ndarray:
    """Probability of each origination month index ``0..last_month`` (growth, Chinese New Year, 2020)."""
    months = np.arange(last_month + 1)
    years = FIRST_YEAR + months // 12
    w = year_table(profile.growth, years)
    moy = months % 12
    w = w * np.where(moy == 1, 0.65, 1.0) * np.where(moy == 11, 1.2, 1.0)
    w[months == 25] *= 0.3   # February 2020: showrooms closed
    w[months == 26] *= 0.7
    return w / w.sum()


def _choice(rng: np.random.Generator, probs: np.ndarray, size: int) -> np.ndarray:
    cdf = np.cumsum(probs)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(size), side="right"), len(probs) - 1)


def _lognormal(rng: np.random.Generator, sigma: float, size: int) -> np.ndarray:
    return np.exp(rng.normal(0.0, sigma, size) - 0.5 * sigma * sigma)


def draw_block(profile: Profile, rng: np.random.Generator, size: int, month_probs: np.ndarray,
               dealers: Dealers) -> dict[str, np.ndarray]:
    """Draw ``size`` contracts' origination attributes; returns arrays keyed by field name.

    Besides canonical fields (numbers, not yet rounded to text) the result holds ``o`` (origination
    month index), ``day``, ``z`` (the lessee's credit quality, standard normal, which the bureau
    score, the inquiries and the rate reflect; the default hazard never uses it directly) and
    ``thin`` (no bureau record).
    """
    a: dict[str, np.ndarray] = {}
    o = _choice(rng, month_probs, size)
    year = FIRST_YEAR + o // 12
    a["o"] = o
    a["day"] = rng.integers(1, 29, size)

    # --- lessee -------------------------------------------------------------------------------
    prov = _choice(rng, province_probabilities(profile), size)
    a["province"] = prov
    tier = 2 + _choice(rng, np.asarray(profile.tier_weights), size)
    is_muni = np.isin(prov, [PROVINCES.index(p) for p in _MUNICIPAL_TIER1])
    gd = prov == PROVINCES.index("Guangdong")
    tier = np.where(is_muni | (gd & (rng.random(size) < profile.guangdong_tier1)), 1, tier)
    a["city_tier"] = tier
    band = _choice(rng, np.asarray(profile.age_weights), size)
    lo = np.array([b[0] for b in AGE_BANDS])[band]
    hi = np.array([b[1] for b in AGE_BANDS])[band]
    age = lo + np.floor(rng.random(size) * (hi - lo + 1)).astype(np.int64)
    a["lessee_age"] = age
    u_emp = rng.random(size)
    cdf_low = np.cumsum(profile.employment_low) / np.sum(profile.employment_low)
    cdf_high = np.cumsum(profile.employment_high) / np.sum(profile.employment_high)
    emp = np.where(tier <= 2, np.searchsorted(cdf_low, u_emp, side="right"),
                   np.searchsorted(cdf_high, u_emp, side="right"))
    emp = np.minimum(emp, len(EMPLOYMENT) - 1)
    a["employment_type"] = emp
    tier_income = np.array([0.0, 1.55, 1.25, 1.0, 0.9, 0.8])[tier]
    emp_income = np.array([1.0, 1.05, 1.1, 1.5, 0.7, 0.85])[emp]
    age_income = 1.0 + 0.012 * (np.minimum(age, 45) - 30)
    income = profile.income_median * tier_income * emp_income * age_income * _lognormal(
        rng, profile.income_sigma, size)
    a["monthly_income"] = np.round(np.clip(income, 2_000, 500_000), -2)
    tenure = rng.gamma(1.6, 3.5, size)
    a["years_in_job"] = np.round(np.minimum(tenure, np.maximum(age - 18, 0)), 1)
    z = rng.normal(0.0, 1.0, size)
    a["z"] = z
    thin_logit = (profile.thin_file_logit + 0.9 * (age <= 25) + 1.0 * (emp == EMPLOYMENT.index("farmer"))
                  + 0.4 * (tier >= 4) - 0.3 * z)
    thin = rng.random(size) < 1.0 / (1.0 + np.exp(-thin_logit))
    a["thin"] = thin
    score = 640.0 + 70.0 * (0.85 * z + 0.53 * rng.normal(0.0, 1.0, size)) + 25.0 * np.log(
        a["monthly_income"] / profile.income_median)
    a["bureau_score"] = np.where(thin, np.nan, np.round(np.clip(score, 350, 880)))
    lam = 1.1 * np.exp(-0.35 * z) * rng.gamma(2.0, 0.5, size)
    a["bureau_inquiries_6m"] = np.minimum(rng.poisson(lam), 30)
    has_debt = rng.random(size) < 0.5
    a["existing_debt_payment"] = np.where(
        has_debt, np.round(a["monthly_income"] * rng.uniform(0.05, 0.35, size), -1), 0.0)
    a["has_guarantor"] = rng.random(size) < np.where(thin, 2.0, 1.0) * profile.guarantor_share

    # --- vehicle ------------------------------------------------------------------------------
    used = rng.random(size) < year_table(profile.used_share, year)
    a["used"] = used
    nev_p = year_table(profile.nev_new_share, year) * np.where(used, 0.35, 1.0)
    nev = rng.random(size) < nev_p
    a["is_nev"] = nev
    ice_names, ice = list(profile.makes_ice), np.array(list(profile.makes_ice.values()))
    nev_names, nev_tab = list(profile.makes_nev), np.array(list(profile.makes_nev.values()))
    ice_pick = _choice(rng, ice[:, 0], size)
    nev_pick = _choice(rng, nev_tab[:, 0], size)
    makes = np.array(ice_names + nev_names, dtype=object)
    a["vehicle_make"] = np.where(nev, len(ice_names) + nev_pick, ice_pick)
    a["make_names"] = makes
    mult = np.where(nev, nev_tab[nev_pick, 1], ice[ice_pick, 1])
    wealth = (a["monthly_income"] / profile.income_median) ** 0.5
    new_price = profile.price_median * mult * wealth * _lognormal(rng, 0.22, size)
    age_m = np.minimum(12 + np.round(rng.gamma(2.0, 16.0, size)), 180).astype(np.int64)
    depreciation = np.exp(-np.where(nev, 0.016, 0.008) * age_m) * 0.85
    price = np.where(used, new_price * profile.used_price_factor * depreciation, new_price)
    a["vehicle_price"] = np.round(np.clip(price, 15_000, 3_000_000), -2)
    a["vehicle_age_months"] = np.where(used, age_m, 0)
    km = age_m * 1_400.0 * _lognormal(rng, 0.35, size)
    a["mileage_km"] = np.where(used, np.round(np.minimum(km, 600_000), -2), np.nan)
    a["gps_installed"] = rng.random(size) < profile.gps_share

    # --- contract -----------------------------------------------------------------------------
    a["term_months"] = np.array(TERMS)[_choice(rng, np.asarray(profile.term_weights), size)]
    ltv = profile.ltv_mean + profile.ltv_sd * rng.normal(0.0, 1.0, size) + profile.ltv_used_add * used
    ltv = np.clip(ltv, *profile.ltv_bounds)
    financed = np.round(a["vehicle_price"] * ltv, -2)
    a["financed_amount"] = financed
    a["down_payment"] = a["vehicle_price"] - financed
    rate = profile.rate_mean + profile.rate_sd * rng.normal(0.0, 1.0, size) + used * rng.uniform(
        *profile.rate_used_add, size) + 0.004 * np.clip(-z, -2, 2)
    subvented = rng.random(size) < profile.subvented_share
    rate = np.where(subvented, rng.uniform(0.0, 0.01, size), rate)
    a["annual_rate"] = np.round(np.clip(rate, *profile.rate_bounds), 4)
    balloon = rng.random(size) < profile.balloon_share
    resid = np.round(a["vehicle_price"] * rng.uniform(*profile.balloon_fraction, size), -2)
    a["residual_value"] = np.where(balloon, np.minimum(resid, np.round(0.6 * financed, -2)), 0.0)
    _underwrite(a)
    a["lease_type"] = (rng.random(size) >= profile.sale_leaseback_share).astype(np.int64)
    pick = dealers.start[prov] + np.floor(rng.random(size) * dealers.count[prov]).astype(np.int64)
    a["dealer"] = pick
    a["repeat_lessee"] = rng.random(size) < 0.01
    a["u_event"] = rng.random(size)
    a["u_type"] = rng.random(size)
    a["u_days"] = rng.random(size)
    a["u_pool"] = rng.random(size)
    a["u_defect"] = rng.random(size)
    a["u_defect_kind"] = rng.random(size)
    return a


def _underwrite(a: dict[str, np.ndarray]) -> None:
    """Affordability check at signing: rent plus existing debt at most ``_MAX_DTI`` of income.

    A lessee over the limit takes a cheaper car (price, amount financed and residual scaled down);
    where the price floor still leaves the ratio too high, the verified income is the lowest that passes.
    """
    rent = annuity_rent(a["financed_amount"], a["residual_value"], a["annual_rate"], a["term_months"])
    room = np.maximum(_MAX_DTI * a["monthly_income"] - a["existing_debt_payment"], 0.1 * a["monthly_income"])
    scale = np.minimum(1.0, room / rent)
    price = np.maximum(np.round(a["vehicle_price"] * scale, -2), 15_000.0)
    ratio = price / a["vehicle_price"]
    a["vehicle_price"] = price
    a["financed_amount"] = np.round(a["financed_amount"] * ratio, -2)
    a["down_payment"] = price - a["financed_amount"]
    a["residual_value"] = np.round(a["residual_value"] * ratio, -2)
    rent = annuity_rent(a["financed_amount"], a["residual_value"], a["annual_rate"], a["term_months"])
    need = np.ceil((rent + a["existing_debt_payment"]) / _MAX_DTI / 100.0) * 100.0
    a["monthly_income"] = np.maximum(a["monthly_income"], need)


def annuity_rent(financed: np.ndarray, residual: np.ndarray, annual_rate: np.ndarray,
                 term: np.ndarray) -> np.ndarray:
    """Monthly rent (CNY) that amortises ``financed`` down to ``residual`` over ``term`` months."""
    r = annual_rate / 12.0
    v_t = np.power(1.0 + r, -term.astype(float))
    with np.errstate(divide="ignore", invalid="ignore"):
        rent = np.where(r > 0, (financed - residual * v_t) * r / (1.0 - v_t), (financed - residual) / term)
    return np.ceil(rent * 100.0) / 100.0


def balance_after(financed: np.ndarray, rent: np.ndarray, annual_rate: np.ndarray,
                  paid: np.ndarray) -> np.ndarray:
    """Outstanding principal (CNY) after ``paid`` instalments; arrays broadcast (e.g. (n, 1) with (n, k))."""
    r = annual_rate / 12.0
    g = np.power(1.0 + r, paid)
    with np.errstate(divide="ignore", invalid="ignore"):
        bal = np.where(r > 0, financed * g - rent * (g - 1.0) / np.where(r > 0, r, 1.0), financed - rent * paid)
    return np.maximum(bal, 0.0)
