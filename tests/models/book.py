"""A tiny synthetic book of canonical lease records with a known default signal, for model tests.

Not the sample generator (``features.synthetic``): just enough valid records, with a true PD that
rises with loan-to-value, payment-to-income, debt-to-income, inquiries, rate and vehicle age, and
falls with the bureau score, income, job tenure, a guarantor and GPS, so that tests can check
directions, calibration and ranking.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.schema import EMPLOYMENT_TYPES, PROVINCES

_MAKES = ("BYD", "Geely", "Volkswagen", "Toyota", "Honda", "Changan", "Great Wall", "Buick", "Tesla", "Nissan")


def make_book(n: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Return ``(records, y, true_pd)``: ``n`` canonical records, 0/1 default labels, true PDs."""
    rng = np.random.default_rng(seed)
    used = rng.random(n) < 0.3
    price = np.round(rng.lognormal(np.log(150_000), 0.4, n), -2).clip(20_000, 2_000_000)
    dp_ratio = np.where(used, rng.uniform(0.1, 0.35, n), rng.uniform(0.15, 0.45, n))
    down = np.round(price * dp_ratio, 0)
    financed = price - down
    residual = np.where(rng.random(n) < 0.2, np.round(price * rng.uniform(0.1, 0.3, n)), 0.0)
    term = rng.choice([12, 24, 36, 48, 60], n, p=[0.05, 0.25, 0.45, 0.15, 0.10])
    rate = np.round(np.where(used, rng.uniform(0.08, 0.20, n), rng.uniform(0.03, 0.12, n)), 4)
    r = rate / 12
    rent = np.round((financed - residual / (1 + r) ** term) * r / (1 - (1 + r) ** -term), 2)
    income = np.round(rng.lognormal(np.log(12_000), 0.5, n), 0).clip(2_000, 500_000)
    debt = np.round(income * rng.uniform(0.0, 0.3, n) * (rng.random(n) < 0.6), 0)
    thin = rng.random(n) < 0.15
    score = np.round(rng.normal(650, 60, n)).clip(300, 900)
    inquiries = rng.poisson(1.5, n)
    age = rng.integers(21, 61, n)
    years_job = np.minimum(np.round(rng.gamma(2.0, 3.0, n), 1), age - 14)
    vehicle_age = np.where(used, rng.integers(6, 120, n), 0)
    mileage = np.where(used, np.round(vehicle_age * rng.uniform(800, 2000, n)), np.nan)
    guarantor = rng.random(n) < 0.25
    gps = rng.random(n) < 0.7
    tier = rng.integers(1, 6, n)
    start = pd.period_range("2021-01", periods=24, freq="M")[rng.integers(0, 24, n)]
    mob = rng.integers(0, term + 1)
    origination = start.to_timestamp()
    cutoff = (start + mob).to_timestamp()

    ltv = financed / price
    pti = rent / income
    dti = (debt + rent) / income
    logit = (-4.0 + 3.0 * (ltv - 0.7) + 4.0 * (pti - 0.15) + 1.5 * (dti - 0.3)
             - 0.012 * (np.where(thin, 600.0, score) - 650) + 0.5 * thin + 0.25 * inquiries
             + 6.0 * (rate - 0.08) + 0.004 * vehicle_age - 0.04 * years_job
             - 0.5 * guarantor - 0.3 * gps + 0.12 * (tier - 3))
    true_pd = 1.0 / (1.0 + np.exp(-logit))
    y = (rng.random(n) < true_pd).astype(int)

    records = pd.DataFrame({
        "contract_id": [f"C{seed:03d}{i:07d}" for i in range(n)],
        "lessee_id": [f"L{seed:03d}{i:07d}" for i in range(n)],
        "dealer_id": rng.choice(["D01", "D02", "D03", "D04"], n),
        "origination_date": origination.strftime("%Y-%m-%d"),
        "cutoff_date": cutoff.strftime("%Y-%m-%d"),
        "lease_type": rng.choice(["sale_leaseback", "direct_lease"], n, p=[0.8, 0.2]),
        "term_months": term,
        "vehicle_price": price,
        "down_payment": down,
        "financed_amount": financed,
        "residual_value": residual,
        "annual_rate": rate,
        "monthly_rent": rent,
        "lessee_age": age,
        "monthly_income": income,
        "employment_type": rng.choice(EMPLOYMENT_TYPES, n),
        "years_in_job": years_job,
        "province": rng.choice(PROVINCES[:12], n),
        "city_tier": tier,
        "bureau_score": np.where(thin, np.nan, score),
        "bureau_inquiries_6m": inquiries,
        "existing_debt_payment": debt,
        "has_guarantor": guarantor,
        "vehicle_make": rng.choice(_MAKES, n),
        "vehicle_condition": np.where(used, "used", "new"),
        "is_nev": rng.random(n) < 0.25,
        "vehicle_age_months": vehicle_age,
        "mileage_km": mileage,
        "gps_installed": gps,
        "months_on_book": mob,
        "instalments_paid": np.minimum(mob, term),
        "current_dpd": np.zeros(n, dtype=int),
        "worst_dpd": np.zeros(n, dtype=int),
        "outstanding_principal": np.round(financed * 0.5, 2),
    })
    return records, y, true_pd
