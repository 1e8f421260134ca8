"""Parameters of the synthetic book: the two lessor profiles and the calendar.

Every figure here is an assumption of the generator, grounded in the public figures collected in
``../shared/data/cn_auto_lease_reference.md`` and documented in ``docs/sample_book.md``. Money in
CNY, terms in months, rates and shares as fractions; ``*_logit`` values are log-odds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.schema import PROVINCES

FIRST_YEAR = 2018          # vintages start in January of this year (month index 0)
LAST_VINTAGE_YEAR = 2024   # and end in December of this year (or the month before the cut-off)
TERMS = (12, 24, 36, 48, 60)
AGE_BANDS = ((18, 25), (26, 35), (36, 45), (46, 55), (56, 65))
EMPLOYMENT = ("salaried", "civil_servant", "self_employed", "business_owner", "farmer", "other")


@dataclass(frozen=True)
class Profile:
    """Assumptions of one kind of lessor (see ``docs/sample_book.md`` for the sources)."""

    name: str
    growth: dict[int, float]               # relative origination volume by year
    used_share: dict[int, float]           # share of used cars by vintage year
    nev_new_share: dict[int, float]        # new-energy share of new cars by vintage year
    term_weights: tuple[float, ...]        # over TERMS
    age_weights: tuple[float, ...]         # over AGE_BANDS
    province_weights: dict[str, float]     # unnormalised; unlisted provinces share `province_rest`
    province_rest: float
    tier_weights: tuple[float, float, float, float]  # tiers 2..5 outside the tier-1 cities
    guangdong_tier1: float                 # share of Guangdong lessees in Guangzhou / Shenzhen
    employment_low: tuple[float, ...]      # employment mix in tiers 1-2 (over EMPLOYMENT)
    employment_high: tuple[float, ...]     # employment mix in tiers 3-5
    income_median: float                   # CNY / month, tier-3 salaried lessee aged 30
    income_sigma: float
    price_median: float                    # CNY, new car of a mainstream make for a median-income lessee
    used_price_factor: float               # used buyers pick dearer models, then depreciation applies
    makes_ice: dict[str, tuple[float, float]]   # make -> (weight, price multiplier)
    makes_nev: dict[str, tuple[float, float]]
    ltv_mean: float
    ltv_sd: float
    ltv_used_add: float
    ltv_bounds: tuple[float, float]
    rate_mean: float
    rate_sd: float
    rate_used_add: tuple[float, float]     # uniform extra for used cars
    rate_bounds: tuple[float, float]
    subvented_share: float                 # share of 0-1 % manufacturer-subsidised contracts
    balloon_share: float
    balloon_fraction: tuple[float, float]  # residual as a share of the vehicle price
    sale_leaseback_share: float
    thin_file_logit: float                 # base log-odds of a missing bureau record
    guarantor_share: float
    gps_share: float
    n_dealers: int
    default_logit: float                   # intercept of the monthly default-spiral hazard
    prepay_cpr: float                      # base annual prepayment rate (fraction of survivors)
    transient_rate: float                  # base monthly chance of a missed payment that cures


_MAKES_ICE_MASS = {
    "Volkswagen": (0.18, 1.10), "Toyota": (0.12, 1.10), "Honda": (0.10, 1.05), "Nissan": (0.08, 0.95),
    "Buick": (0.07, 1.05), "Geely": (0.10, 0.80), "Changan": (0.09, 0.75), "Haval": (0.08, 0.85),
    "Chery": (0.07, 0.70), "BMW": (0.04, 2.40), "Mercedes-Benz": (0.04, 2.60), "Audi": (0.03, 2.20),
}
_MAKES_NEV_MASS = {
    "BYD": (0.40, 1.00), "Wuling": (0.12, 0.40), "Tesla": (0.08, 1.90), "Aion": (0.10, 0.95),
    "Li Auto": (0.07, 2.30), "NIO": (0.04, 2.40), "XPeng": (0.05, 1.60), "Geely": (0.07, 0.90),
    "Changan": (0.07, 0.85),
}

NON_CAPTIVE = Profile(
    name="non_captive",
    growth={2018: 1.0, 2019: 1.35, 2020: 1.25, 2021: 1.75, 2022: 1.95, 2023: 2.3, 2024: 2.6, 2025: 2.7},
    used_share={2018: 0.36, 2019: 0.39, 2020: 0.42, 2021: 0.41, 2022: 0.52, 2023: 0.55, 2024: 0.57,
                2025: 0.57},
    nev_new_share={2018: 0.04, 2019: 0.05, 2020: 0.07, 2021: 0.16, 2022: 0.28, 2023: 0.38, 2024: 0.50,
                   2025: 0.54},
    term_weights=(0.03, 0.20, 0.68, 0.06, 0.03),
    age_weights=(0.12, 0.45, 0.28, 0.12, 0.03),
    province_weights={"Shandong": 0.105, "Henan": 0.095, "Sichuan": 0.08, "Guangdong": 0.075, "Hebei": 0.07,
                      "Jiangsu": 0.045, "Hunan": 0.04, "Hubei": 0.04, "Anhui": 0.04, "Zhejiang": 0.035,
                      "Guangxi": 0.03, "Shanxi": 0.03, "Shaanxi": 0.03, "Jiangxi": 0.03, "Yunnan": 0.03,
                      "Liaoning": 0.028, "Guizhou": 0.025, "Fujian": 0.022, "Chongqing": 0.02,
                      "Inner Mongolia": 0.02, "Heilongjiang": 0.018, "Jilin": 0.016, "Gansu": 0.015,
                      "Xinjiang": 0.012, "Beijing": 0.012, "Shanghai": 0.01, "Tianjin": 0.01,
                      "Hainan": 0.006, "Ningxia": 0.005, "Qinghai": 0.004, "Tibet": 0.002},
    province_rest=0.0,
    tier_weights=(0.31, 0.31, 0.23, 0.15),
    guangdong_tier1=0.30,
    employment_low=(0.50, 0.08, 0.20, 0.12, 0.02, 0.08),
    employment_high=(0.36, 0.06, 0.24, 0.11, 0.13, 0.10),
    income_median=9_500.0,
    income_sigma=0.40,
    price_median=118_000.0,
    used_price_factor=1.20,
    makes_ice=_MAKES_ICE_MASS,
    makes_nev=_MAKES_NEV_MASS,
    ltv_mean=0.795, ltv_sd=0.045, ltv_used_add=0.015, ltv_bounds=(0.55, 0.90),
    rate_mean=0.118, rate_sd=0.012, rate_used_add=(0.01, 0.03), rate_bounds=(0.07, 0.24),
    subvented_share=0.0,
    balloon_share=0.04, balloon_fraction=(0.10, 0.25),
    sale_leaseback_share=0.92,
    thin_file_logit=-1.9,
    guarantor_share=0.18,
    gps_share=0.93,
    n_dealers=600,
    default_logit=-7.98,
    prepay_cpr=0.075,
    transient_rate=0.016,
)

CAPTIVE = Profile(
    name="captive",
    growth={2018: 1.0, 2019: 1.15, 2020: 1.05, 2021: 1.3, 2022: 1.3, 2023: 1.45, 2024: 1.5, 2025: 1.5},
    used_share={y: 0.03 for y in range(2018, 2026)},
    nev_new_share={2018: 0.02, 2019: 0.03, 2020: 0.05, 2021: 0.10, 2022: 0.18, 2023: 0.25, 2024: 0.32,
                   2025: 0.36},
    term_weights=(0.05, 0.18, 0.60, 0.08, 0.09),
    age_weights=(0.05, 0.43, 0.33, 0.16, 0.03),
    province_weights={"Guangdong": 0.11, "Jiangsu": 0.09, "Zhejiang": 0.085, "Shandong": 0.07,
                      "Shanghai": 0.05, "Beijing": 0.05, "Sichuan": 0.05, "Henan": 0.05, "Hubei": 0.04,
                      "Fujian": 0.04},
    province_rest=0.365,
    tier_weights=(0.56, 0.27, 0.11, 0.06),
    guangdong_tier1=0.45,
    employment_low=(0.60, 0.10, 0.12, 0.15, 0.00, 0.03),
    employment_high=(0.55, 0.10, 0.15, 0.14, 0.02, 0.04),
    income_median=15_000.0,
    income_sigma=0.40,
    price_median=215_000.0,
    used_price_factor=1.0,
    makes_ice={"Volkswagen": (0.55, 0.85), "Audi": (0.30, 1.45), "Skoda": (0.15, 0.65)},
    makes_nev={"Volkswagen": (0.60, 0.90), "Audi": (0.40, 1.50)},
    ltv_mean=0.68, ltv_sd=0.06, ltv_used_add=0.0, ltv_bounds=(0.40, 0.80),
    rate_mean=0.048, rate_sd=0.015, rate_used_add=(0.01, 0.02), rate_bounds=(0.0, 0.10),
    subvented_share=0.15,
    balloon_share=0.20, balloon_fraction=(0.15, 0.35),
    sale_leaseback_share=0.70,
    thin_file_logit=-2.8,
    guarantor_share=0.10,
    gps_share=0.55,
    n_dealers=250,
    default_logit=-8.92,
    prepay_cpr=0.11,
    transient_rate=0.006,
)

PROFILES: dict[str, Profile] = {p.name: p for p in (NON_CAPTIVE, CAPTIVE)}


def province_probabilities(profile: Profile) -> np.ndarray:
    """Probabilities over ``schema.PROVINCES`` (unlisted provinces share ``province_rest`` equally)."""
    listed = profile.province_weights
    rest = [p for p in PROVINCES if p not in listed]
    w = np.array([listed.get(p, profile.province_rest / max(len(rest), 1)) for p in PROVINCES], dtype=float)
    return w / w.sum()


def year_table(values: dict[int, float], years: np.ndarray) -> np.ndarray:
    """Look up a by-year figure for an array of calendar years (clamped to the years given)."""
    ys = np.array(sorted(values), dtype=int)
    vs = np.array([values[y] for y in ys], dtype=float)
    return vs[np.clip(years, ys[0], ys[-1]) - ys[0]]


def macro_logit(month_index: np.ndarray) -> np.ndarray:
    """Calendar shock to the default hazard, in log-odds, by month index (0 = January 2018).

    The 2020 epidemic (delinquency peaked in February 2020 and eased from March, used-car defaults
    spiked February to May), the spring 2022 lockdowns, and the slow rise of delinquency from 2024.
    """
    shock = np.zeros(month_index.shape, dtype=float)
    epidemic = {24: 0.3, 25: 1.3, 26: 1.2, 27: 0.9, 28: 0.6, 29: 0.25}   # 2020-01 .. 2020-06
    for m, v in epidemic.items():
        shock[month_index == m] = v
    shock[(month_index == 51) | (month_index == 52)] = 0.35             # 2022-04, 2022-05
    shock += np.clip((month_index - 78) / 12.0, 0.0, 1.0) * 0.15         # from 2024-07, +0.15 a year later
    return shock


def epidemic_months(month_index: np.ndarray) -> np.ndarray:
    """True in February to May 2020 (the months of the delinquency spike)."""
    return (month_index >= 25) & (month_index <= 28)


def seasoning_logit(k: np.ndarray) -> np.ndarray:
    """Default-hazard shape over months on book ``k`` (log-odds): rises to a peak at 10 months, then falls."""
    k = np.asarray(k, dtype=float)
    rising = 1.2 * (np.log(np.maximum(k, 1.0) / 10.0) - k / 10.0 + 1.0)
    return np.where(k <= 10, rising, -0.035 * (k - 10.0))


def prepay_calendar(month_of_year: np.ndarray) -> np.ndarray:
    """Prepayment multiplier by calendar month (1..12): year-end bonuses, peak around Chinese New Year."""
    table = np.array([1.7, 1.5, 1.0, 0.9, 0.85, 0.9, 0.85, 0.85, 0.9, 0.9, 0.95, 1.3])
    return table[month_of_year - 1] / table.mean()
