"""The quantities that eligibility rules may test, computed from canonical lease records.

A policy rule names one of these quantities (``quantity = "loan_to_value"``); the code below is the
only place that says how each one is computed. Units: ages in years, terms in months, money in CNY,
ratios as fractions, days past due in days.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["QUANTITIES", "Quantity", "compute_quantity"]


def _num(records: pd.DataFrame, name: str) -> pd.Series:
    return records[name].astype("float64")


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den.where(den > 0)
    return out.astype("float64")


@dataclass(frozen=True)
class Quantity:
    """One testable quantity.

    Parameters
    ----------
    name : str
        Name used in the policy file.
    kind : {"number", "category", "bool"}
        Range rules (``min`` / ``max``) need ``number``; set rules (``allowed``) accept any kind.
    unit : str
        Unit of the value.
    description : str
        One line for docs/screening.md.
    needs : tuple of str
        Canonical fields it is computed from.
    compute : callable
        ``records -> Series`` aligned with ``records``; missing where an input is missing.
    """

    name: str
    kind: str
    unit: str
    description: str
    needs: tuple[str, ...]
    compute: Callable[[pd.DataFrame], pd.Series]


def _field(name: str, kind: str, unit: str, description: str) -> Quantity:
    if kind == "number":
        return Quantity(name, kind, unit, description, (name,), lambda r: _num(r, name))
    return Quantity(name, kind, unit, description, (name,), lambda r: r[name])


_LIST: tuple[Quantity, ...] = (
    _field("lessee_age", "number", "years", "lessee age at origination"),
    Quantity("lessee_age_at_maturity", "number", "years", "lessee age at origination plus the term",
             ("lessee_age", "term_months"), lambda r: _num(r, "lessee_age") + _num(r, "term_months") / 12.0),
    _field("current_dpd", "number", "days", "days past due at the cut-off (0 = nothing overdue)"),
    _field("worst_dpd", "number", "days", "worst days past due from origination to the cut-off"),
    _field("instalments_paid", "number", "count", "instalments paid by the cut-off"),
    _field("months_on_book", "number", "months", "seasoning: months since origination at the cut-off"),
    Quantity("remaining_term_months", "number", "months", "term_months minus months_on_book",
             ("term_months", "months_on_book"), lambda r: _num(r, "term_months") - _num(r, "months_on_book")),
    _field("term_months", "number", "months", "original lease term"),
    _field("financed_amount", "number", "CNY", "amount financed at origination"),
    _field("outstanding_principal", "number", "CNY", "outstanding principal at the cut-off"),
    Quantity("loan_to_value", "number", "fraction", "financed_amount / vehicle_price",
             ("financed_amount", "vehicle_price"), lambda r: _ratio(_num(r, "financed_amount"),
                                                                    _num(r, "vehicle_price"))),
    Quantity("down_payment_ratio", "number", "fraction", "down_payment / vehicle_price",
             ("down_payment", "vehicle_price"), lambda r: _ratio(_num(r, "down_payment"),
                                                                 _num(r, "vehicle_price"))),
    Quantity("payment_to_income", "number", "fraction", "monthly_rent / monthly_income",
             ("monthly_rent", "monthly_income"), lambda r: _ratio(_num(r, "monthly_rent"),
                                                                  _num(r, "monthly_income"))),
    _field("annual_rate", "number", "fraction", "annual contract rate"),
    _field("bureau_score", "number", "points", "credit bureau score (empty for thin-file lessees)"),
    _field("vehicle_age_months", "number", "months", "vehicle age at origination"),
    _field("lease_type", "category", "", "sale_leaseback or direct_lease"),
    _field("vehicle_condition", "category", "", "new or used"),
    _field("employment_type", "category", "", "lessee employment type"),
    _field("province", "category", "", "province of the lessee"),
    _field("gps_installed", "bool", "", "a GPS tracker is installed"),
    _field("has_guarantor", "bool", "", "a co-lessee or guarantor is on the contract"),
    _field("is_nev", "bool", "", "new-energy vehicle"),
)

QUANTITIES: dict[str, Quantity] = {q.name: q for q in _LIST}


def compute_quantity(records: pd.DataFrame, name: str) -> pd.Series:
    """Compute quantity ``name`` for every row of ``records`` (typed canonical records).

    Raises
    ------
    KeyError
        If ``name`` is not a known quantity (the message lists the known ones).
    """
    try:
        q = QUANTITIES[name]
    except KeyError:
        raise KeyError(f"unknown quantity {name!r}; known: {', '.join(QUANTITIES)}") from None
    return q.compute(records)
