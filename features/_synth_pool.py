"""The candidate pool tape at the cut-off: which running contracts are offered, and the defects.

A lessor offers mostly recent, current contracts: the chance that a running contract is in the pool
falls with seasoning (months on book) and is lower when it is 1-30 days past due; contracts more
than 30 days past due are not offered. Contracts signed in the few months before the cut-off (after
the book's last vintage) are all offered, so some break a minimum-seasoning rule.

About 1.5 % of pool rows then get one data-quality defect of the kinds a servicer's export really
has (:data:`DEFECT_KINDS`); :func:`features.contract.check_lease_tape` catches every one of them.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["DEFECT_KINDS", "DEFECT_SHARE", "apply_defects", "pool_selection"]

DEFECT_SHARE = 0.015
DEFECT_KINDS = (
    "bad_province_code",      # "Henan Province" instead of the pinyin code
    "bad_lease_type_code",    # "finance_lease"
    "negative_amount",        # financed_amount below zero
    "ltv_implausible",        # financed_amount 2.5 times the vehicle price
    "dates_out_of_order",     # origination_date after cutoff_date
    "duplicated_id",          # the same contract exported twice
    "unparseable_number",     # monthly_income "N/A" or "8500 CNY"
    "worst_below_current",    # worst_dpd smaller than current_dpd
    "missing_value",          # term_months empty
    "age_out_of_range",       # lessee_age 16
)


def pool_selection(months_on_book: np.ndarray, current_dpd: np.ndarray, active: np.ndarray,
                   u: np.ndarray, fresh: bool) -> np.ndarray:
    """Boolean mask of the running contracts offered in the pool."""
    if fresh:
        return active
    m = months_on_book
    weight = np.select([m <= 5, m <= 12, m <= 18, m <= 24], [0.15, 0.95, 0.55, 0.35], 0.20)
    weight = weight * np.where(current_dpd > 30, 0.0, np.where(current_dpd > 0, 0.35, 1.0))
    return active & (u < weight)


def _col(table: pa.Table, name: str) -> pa.ChunkedArray:
    return table.column(name)


def apply_defects(pool: pa.Table, u_defect: np.ndarray, u_kind: np.ndarray,
                  cutoff: dt.date) -> tuple[pa.Table, np.ndarray]:
    """Put one defect into about ``DEFECT_SHARE`` of the rows.

    Returns the damaged table (``monthly_income`` becomes text; duplicated rows follow their
    original) and, per input row, the defect kind (``""`` when none).
    """
    n = pool.num_rows
    hit = u_defect < DEFECT_SHARE
    kind_idx = np.minimum((u_kind * len(DEFECT_KINDS)).astype(np.int64), len(DEFECT_KINDS) - 1)
    kinds = np.where(hit, np.array(DEFECT_KINDS, dtype=object)[kind_idx], "")

    def mask(name: str) -> pa.Array:
        return pa.array(kinds == name)

    cols = {name: _col(pool, name) for name in pool.column_names}
    cols["province"] = pc.if_else(mask("bad_province_code"),
                                  pc.binary_join_element_wise(cols["province"], " Province", ""), cols["province"])
    cols["lease_type"] = pc.if_else(mask("bad_lease_type_code"), pa.scalar("finance_lease"), cols["lease_type"])
    fin = cols["financed_amount"]
    fin = pc.if_else(mask("negative_amount"), pc.negate(fin), fin)
    fin = pc.if_else(mask("ltv_implausible"), pc.round(pc.multiply(cols["vehicle_price"], 2.5), 0), fin)
    cols["financed_amount"] = fin
    late = pa.scalar(cutoff + dt.timedelta(days=45), pa.date32())
    cols["origination_date"] = pc.if_else(mask("dates_out_of_order"), late, cols["origination_date"])
    text = pc.cast(cols["monthly_income"], pa.string())
    bad_text = pc.if_else(pa.array(u_kind * 1000 % 1 < 0.5), pa.scalar("N/A"),
                          pc.binary_join_element_wise(text, " CNY", ""))
    cols["monthly_income"] = pc.if_else(mask("unparseable_number"), bad_text, text)
    wb = mask("worst_below_current")
    cur = pc.if_else(wb, pc.add(cols["current_dpd"], 15), cols["current_dpd"])
    cols["worst_dpd"] = pc.if_else(wb, pc.subtract(cur, 10), cols["worst_dpd"])
    cols["current_dpd"] = cur
    cols["term_months"] = pc.if_else(mask("missing_value"), pa.scalar(None, pa.int64()), cols["term_months"])
    cols["lessee_age"] = pc.if_else(mask("age_out_of_range"), pa.scalar(16, pa.int64()), cols["lessee_age"])
    damaged = pa.table({name: cols[name] for name in pool.column_names})
    # a duplicated row is exported twice in a row
    order = np.repeat(np.arange(n), np.where(kinds == "duplicated_id", 2, 1))
    return damaged.take(pa.array(order)), kinds
