"""The canonical lease record and the performance history, declared once as code.

Units: money in CNY, terms and ages of contracts in months, rates and ratios as
fractions (0.12 means 12 % a year), lessee age and job tenure in years, distance in km.

Every other part of poolgate (validation, the sample generator, the feature pipeline,
the mapping files, the field catalogue in ``docs/fields.md``) reads these declarations;
nothing else lists the fields again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "EMPLOYMENT_TYPES",
    "LEASE_FIELDS",
    "LEASE_TYPES",
    "MAX_LOAN_TO_VALUE",
    "PERFORMANCE_FIELDS",
    "PERFORMANCE_LOSS_FIELDS",
    "PERFORMANCE_STATUSES",
    "PROVINCES",
    "VEHICLE_CONDITIONS",
    "Field",
    "Kind",
    "Role",
    "field_catalogue_markdown",
    "lease_field",
    "out_of_range_reads_as_missing",
]

Kind = Literal["string", "int", "float", "bool", "date", "category"]
Role = Literal["id", "lessee", "vehicle", "contract", "status", "performance"]

PROVINCES: tuple[str, ...] = (
    "Anhui", "Beijing", "Chongqing", "Fujian", "Gansu", "Guangdong", "Guangxi", "Guizhou",
    "Hainan", "Hebei", "Heilongjiang", "Henan", "Hubei", "Hunan", "Inner Mongolia", "Jiangsu",
    "Jiangxi", "Jilin", "Liaoning", "Ningxia", "Qinghai", "Shaanxi", "Shandong", "Shanghai",
    "Shanxi", "Sichuan", "Tianjin", "Tibet", "Xinjiang", "Yunnan", "Zhejiang",
)
LEASE_TYPES: tuple[str, ...] = ("sale_leaseback", "direct_lease")
EMPLOYMENT_TYPES: tuple[str, ...] = (
    "salaried", "civil_servant", "self_employed", "business_owner", "farmer", "other",
)
VEHICLE_CONDITIONS: tuple[str, ...] = ("new", "used")
PERFORMANCE_STATUSES: tuple[str, ...] = ("current", "prepaid", "defaulted", "terminated")


@dataclass(frozen=True)
class Field:
    """One column of a canonical table.

    Parameters
    ----------
    name : str
        Canonical column name.
    kind : {"string", "int", "float", "bool", "date", "category"}
        Storage kind. Dates are ISO ``YYYY-MM-DD``; booleans accept true/false/1/0/yes/no.
    unit : str
        Unit of the value (``"CNY"``, ``"months"``, ``"fraction"``, ...) or ``""``.
    description : str
        One line for the field catalogue.
    role : str
        ``id``, ``lessee``, ``vehicle``, ``contract`` (known at origination), ``status``
        (payment status at the cut-off) or ``performance`` (monthly history; never a model input).
    nullable : bool
        Whether an empty value is allowed.
    minimum, maximum : float or None
        Inclusive allowed range for numeric kinds.
    categories : tuple of str or None
        Allowed codes for ``category`` fields.
    """

    name: str
    kind: Kind
    unit: str
    description: str
    role: Role
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    categories: tuple[str, ...] | None = None

    @property
    def range_text(self) -> str:
        """Human-readable allowed values, used in messages and the catalogue."""
        if self.categories is not None:
            return "one of " + ", ".join(self.categories)
        if self.minimum is not None and self.maximum is not None:
            return f"{self.minimum:g} to {self.maximum:g}"
        if self.minimum is not None:
            return f">= {self.minimum:g}"
        if self.maximum is not None:
            return f"<= {self.maximum:g}"
        return {"bool": "true / false", "date": "YYYY-MM-DD"}.get(self.kind, "any")


_MAX_AMOUNT = 10_000_000.0  # CNY; no single auto lease comes near it

#: Most a financed amount may be, as a multiple of the vehicle price, before the data contract calls
#: the row wrong. An integrity bound, not a credit limit: financing the purchase tax, insurance and
#: fees (or, on US auto loans, negative equity) takes real contracts above 1 (a quarter of the World
#: Omni 2020-A loans are above 1.2, the largest 1.97); the deal's own limit is the eligibility policy's
#: ``loan_to_value`` rule.
MAX_LOAN_TO_VALUE = 2.0

LEASE_FIELDS: tuple[Field, ...] = (
    Field("contract_id", "string", "", "Contract identifier, unique in a tape.", "id"),
    Field("lessee_id", "string", "", "Lessee identifier (one lessee may hold several contracts).", "id"),
    Field("dealer_id", "string", "", "Dealer or origination channel identifier.", "contract"),
    Field("origination_date", "date", "", "Date the contract was signed.", "contract"),
    Field("cutoff_date", "date", "", "Date the status fields are measured at (the pool cut-off).", "status"),
    Field("lease_type", "category", "", "Direct lease or sale-and-leaseback (lease-loan).", "contract",
          categories=LEASE_TYPES),
    Field("term_months", "int", "months", "Original lease term.", "contract", minimum=6, maximum=84),
    Field("vehicle_price", "float", "CNY", "Vehicle price (invoice or appraised value).", "vehicle",
          minimum=10_000, maximum=_MAX_AMOUNT),
    Field("down_payment", "float", "CNY", "Down payment (first payment plus deposit) paid by the lessee.",
          "contract", minimum=0, maximum=_MAX_AMOUNT),
    Field("financed_amount", "float", "CNY", "Amount financed by the lessor (original principal).",
          "contract", minimum=1_000, maximum=_MAX_AMOUNT),
    Field("residual_value", "float", "CNY", "Residual (balloon) value due at maturity; 0 when none.",
          "contract", minimum=0, maximum=_MAX_AMOUNT),
    Field("annual_rate", "float", "fraction", "Annual contract (internal) rate, 0.12 = 12 %.", "contract",
          minimum=0.0, maximum=0.36),
    Field("monthly_rent", "float", "CNY", "Scheduled monthly rent (instalment).", "contract",
          minimum=1, maximum=_MAX_AMOUNT),
    Field("lessee_age", "int", "years", "Lessee age at origination.", "lessee", minimum=18, maximum=80),
    Field("monthly_income", "float", "CNY", "Lessee monthly income as verified at origination.", "lessee",
          minimum=0, maximum=_MAX_AMOUNT),
    Field("employment_type", "category", "", "Lessee employment type.", "lessee",
          categories=EMPLOYMENT_TYPES),
    Field("years_in_job", "float", "years", "Years in the current job or business.", "lessee",
          minimum=0, maximum=60),
    Field("province", "category", "", "Province of the lessee's registered address (pinyin).", "lessee",
          categories=PROVINCES),
    Field("city_tier", "int", "", "City tier of the lessee's city: 1 (first-tier) to 5.", "lessee",
          minimum=1, maximum=5),
    Field("bureau_score", "float", "points", "Credit bureau score; empty for thin-file lessees.", "lessee",
          nullable=True, minimum=300, maximum=900),
    Field("bureau_inquiries_6m", "int", "count", "Credit bureau inquiries in the last 6 months.", "lessee",
          minimum=0, maximum=100),
    Field("existing_debt_payment", "float", "CNY", "Existing monthly debt payments before this lease.",
          "lessee", minimum=0, maximum=_MAX_AMOUNT),
    Field("has_guarantor", "bool", "", "A co-lessee or guarantor is on the contract.", "contract"),
    Field("vehicle_make", "string", "", "Vehicle make (brand).", "vehicle"),
    Field("vehicle_condition", "category", "", "New or used vehicle.", "vehicle",
          categories=VEHICLE_CONDITIONS),
    Field("is_nev", "bool", "", "New-energy vehicle (battery electric or plug-in hybrid).", "vehicle"),
    Field("vehicle_age_months", "int", "months", "Vehicle age at origination (0 for new cars).", "vehicle",
          minimum=0, maximum=300),
    Field("mileage_km", "float", "km", "Odometer at origination; empty for new cars.", "vehicle",
          nullable=True, minimum=0, maximum=1_000_000),
    Field("gps_installed", "bool", "", "A GPS tracker is installed in the vehicle.", "vehicle"),
    Field("months_on_book", "int", "months", "Months since origination at the cut-off.", "status",
          minimum=0, maximum=84),
    Field("instalments_paid", "int", "count", "Instalments paid by the cut-off.", "status",
          minimum=0, maximum=84),
    Field("current_dpd", "int", "days", "Days past due at the cut-off.", "status", minimum=0, maximum=3_000),
    Field("worst_dpd", "int", "days", "Worst days past due from origination to the cut-off.", "status",
          minimum=0, maximum=3_000),
    Field("outstanding_principal", "float", "CNY", "Outstanding principal at the cut-off.", "status",
          minimum=0, maximum=_MAX_AMOUNT),
)

PERFORMANCE_FIELDS: tuple[Field, ...] = (
    Field("contract_id", "string", "", "Contract identifier (key to the lease record).", "id"),
    Field("month", "date", "", "Month-end date of the observation.", "performance"),
    Field("months_on_book", "int", "months", "Months since origination at this month-end.", "performance",
          minimum=0, maximum=120),
    Field("dpd", "int", "days", "Days past due at month-end.", "performance", minimum=0, maximum=3_000),
    Field("amount_due", "float", "CNY", "Amount due in the month (rent, or payoff when prepaid).",
          "performance", minimum=0, maximum=_MAX_AMOUNT),
    Field("amount_paid", "float", "CNY", "Amount paid in the month.", "performance",
          minimum=0, maximum=_MAX_AMOUNT),
    Field("outstanding_principal", "float", "CNY", "Outstanding principal at month-end.", "performance",
          minimum=0, maximum=_MAX_AMOUNT),
    Field("status", "category", "", "current, prepaid (paid off early), defaulted (90+ dpd or charged "
          "off; absorbing) or terminated (ended at maturity).", "performance",
          categories=PERFORMANCE_STATUSES),
)

#: Optional columns of the performance history that losses need (a servicer's tape after the cut-off,
#: Reg AB II ``chargedoffPrincipalAmount``, ``recoveredAmount``, ``repossessedIndicator``). A tape may
#: omit them; when present they are checked like the other fields. ``poolgate sample`` writes them in
#: ``pool_performance`` only, so the book's ``performance`` file keeps exactly ``PERFORMANCE_FIELDS``.
PERFORMANCE_LOSS_FIELDS: tuple[Field, ...] = (
    Field("charged_off_amount", "float", "CNY", "Principal charged off in the month (written off when the "
          "contract defaults); 0 otherwise.", "performance", nullable=True, minimum=0, maximum=_MAX_AMOUNT),
    Field("recovered_amount", "float", "CNY", "Recoveries received in the month on a charged-off contract "
          "(vehicle sale proceeds net of repossession and sale costs).", "performance", nullable=True,
          minimum=0, maximum=_MAX_AMOUNT),
    Field("repossessed", "bool", "", "The vehicle has been repossessed by this month-end.", "performance",
          nullable=True),
)

_BY_NAME = {f.name: f for f in LEASE_FIELDS}


def lease_field(name: str) -> Field:
    """Return the canonical lease field called ``name``.

    Raises
    ------
    KeyError
        If no canonical field has that name; the message lists the known names.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown canonical field {name!r}; known fields: {', '.join(_BY_NAME)}") from None


def out_of_range_reads_as_missing(name: str) -> bool:
    """Whether a model fit may read this field's out-of-range values as missing (sentinel codes).

    True for the canonical numbers that may be empty and are not amounts (``bureau_score``,
    ``mileage_km``): tapes write sentinel codes there (a bureau score of 0 for "no bureau history",
    11 to 18 for "not scored"), which are no measurement. Fields that may not be empty keep their
    range rule, and amounts (CNY) are excluded because a tape in another currency is not out of
    range, only in other units. Screening never reads a sentinel as missing: the data contract makes
    such a contract ``invalid``. :func:`features.contract.sentinel_cells` finds the cells.
    """
    spec = _BY_NAME.get(name)
    return spec is not None and spec.nullable and spec.kind in ("int", "float") and spec.unit != "CNY" \
        and (spec.minimum is not None or spec.maximum is not None)


def field_catalogue_markdown() -> str:
    """Render both tables as Markdown (the source of ``docs/fields.md``)."""
    lines: list[str] = []
    for title, fields in (("Canonical lease record", LEASE_FIELDS), ("Performance history", PERFORMANCE_FIELDS),
                          ("Performance history: optional loss fields", PERFORMANCE_LOSS_FIELDS)):
        lines += [f"## {title}", "", "| field | kind | unit | allowed | may be empty | role | meaning |",
                  "|---|---|---|---|---|---|---|"]
        for f in fields:
            lines.append(f"| `{f.name}` | {f.kind} | {f.unit} | {f.range_text} | "
                         f"{'yes' if f.nullable else 'no'} | {f.role} | {f.description} |")
        lines.append("")
    return "\n".join(lines)

