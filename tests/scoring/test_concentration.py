"""Concentration limits and the pool summary on small hand-made pools."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from scoring.concentration import apply_limits, limit_values
from scoring.decisions import POOL_COLUMNS
from scoring.policy import ConcentrationLimit, Policy, load_policy
from scoring.summary import pool_summary, score_band, term_bucket

BASE = load_policy()


def _policy(*limits: tuple[str, str, float, int]) -> Policy:
    texts = {"en": "{group} {share:.0%} > {max:.0%}", "zh": "{group} {share:.0%} > {max:.0%}"}
    return dataclasses.replace(BASE, concentration=tuple(
        ConcentrationLimit(code, group, share, n, texts) for code, group, share, n in limits))


def _pool(n: int, **cols: object) -> pd.DataFrame:
    data: dict[str, object] = {
        "row": np.arange(1, n + 1), "asset_id": [f"A{i:03d}" for i in range(n)],
        "lessee_id": [f"L{i:03d}" for i in range(n)], "dealer_id": "D1", "province": "Henan",
        "city_tier": 3.0, "vehicle_make": "BYD", "vehicle_condition": "new", "is_nev": False,
        "term_months": 36.0, "months_on_book": 6.0, "annual_rate": 0.12, "ltv": 0.8,
        "outstanding_principal": 100.0, "pd": 0.02, "score": 620.0, "status": "admit",
    }
    data.update(cols)
    return pd.DataFrame(data)[list(POOL_COLUMNS)]


def test_province_limit_drops_riskiest_first_until_it_holds() -> None:
    # 6 Henan assets (600) and 4 Hebei (400): Henan holds 60 % > 50 %.
    pool = _pool(10, province=["Henan"] * 6 + ["Hebei"] * 4,
                 pd=[0.01, 0.04, 0.02, 0.04, 0.03, 0.01, 0.05, 0.01, 0.01, 0.01])
    drops = apply_limits(pool, _policy(("conc_province", "province", 0.5, 1)))
    # riskiest Henan: pd 0.04 twice (A001, A003 by asset id) -> after one drop 500/900 = 55.6 %, after two 50 %
    assert [d.row for d in drops] == [2, 4]
    assert {d.code for d in drops} == {"conc_province"}
    assert drops[0].message == "Henan 60% > 50%"


def test_drops_are_deterministic_under_row_order() -> None:
    pool = _pool(12, province=["Henan"] * 8 + ["Hebei"] * 4, pd=[0.03] * 12,
                 outstanding_principal=[100.0, 50, 80, 120, 90, 60, 70, 110, 100, 100, 100, 100])
    policy = _policy(("conc_province", "province", 0.6, 1))
    a = apply_limits(pool, policy)
    b = apply_limits(pool.sample(frac=1.0, random_state=3), policy)
    assert a == b  # equal PDs: ties broken by asset id, whatever the row order
    assert [d.row for d in a] == [1]  # Henan 680 / 1080 = 63 %; dropping A000 (100) leaves 59 %


def test_two_groups_that_cannot_both_hold_empty_the_pool() -> None:
    # two provinces can never both be <= 40 %: the cascade drops everything rather than break a limit
    pool = _pool(6, province=["Henan"] * 3 + ["Hebei"] * 3)
    drops = apply_limits(pool, _policy(("conc_province", "province", 0.4, 1)))
    assert sorted(d.row for d in drops) == [1, 2, 3, 4, 5, 6]


def test_single_lessee_and_used_share_with_cascade() -> None:
    pool = _pool(6, lessee_id=["L1", "L1", "L1", "L2", "L3", "L4"],
                 vehicle_condition=["used", "used", "new", "used", "new", "new"],
                 pd=[0.02, 0.03, 0.01, 0.04, 0.01, 0.01])
    drops = apply_limits(pool, _policy(("conc_single_lessee", "lessee", 0.34, 1), ("conc_used", "used", 0.4, 1)))
    final = pool[~pool["row"].isin([d.row for d in drops])]
    for v in limit_values(final, _policy(("conc_single_lessee", "lessee", 0.34, 1), ("conc_used", "used", 0.4, 1))):
        assert v["holds"], v
    # L1 holds 50 %: its riskiest (row 2, pd 0.03) goes first
    assert drops[0].row == 2 and drops[0].code == "conc_single_lessee"
    assert len(final) == 6 - len(drops) and final["outstanding_principal"].sum() > 0


def test_top_lessees_limit() -> None:
    pool = _pool(8, lessee_id=["L1", "L1", "L2", "L3", "L4", "L5", "L6", "L7"],
                 pd=[0.01, 0.02, 0.03, 0.01, 0.01, 0.01, 0.01, 0.01])
    policy = _policy(("conc_top_lessees", "top_lessees", 0.3, 2))
    drops = apply_limits(pool, policy)
    # top 2 = L1 (200) + L2 (100) = 3/8 > 30 %: drop L2's asset (pd 0.03): then L1 + L3 = 300/700 ...
    assert drops[0].row == 3
    final = pool[~pool["row"].isin([d.row for d in drops])]
    (value,) = limit_values(final, policy)
    assert value["holds"] and value["value"] <= 0.3


def test_only_admitted_assets_count() -> None:
    pool = _pool(4, province=["Henan", "Henan", "Hebei", "Hebei"], status=["admit", "refer", "admit", "reject"])
    assert apply_limits(pool, _policy(("conc_province", "province", 0.5, 1))) == []


def test_summary_numbers() -> None:
    pool = _pool(4, outstanding_principal=[100.0, 300.0, 600.0, 1000.0], pd=[0.01, 0.02, 0.05, 0.5],
                 score=[700.0, 650.0, 600.0, 500.0], term_months=[12.0, 24.0, 36.0, 60.0],
                 months_on_book=[3.0, 6.0, 9.0, 12.0], province=["Henan", "Hebei", "Henan", "Hebei"],
                 is_nev=[True, False, False, False], status=["admit", "admit", "admit", "reject"])
    s = pool_summary(pool, _policy(("conc_province", "province", 0.5, 1)),
                     {"admit": 3, "reject": 1, "invalid": 2})
    t = s["pool"]
    assert s["counts"] == {"admit": 3, "refer": 0, "reject": 1, "invalid": 2}
    assert t["assets"] == 3 and t["outstanding_principal"] == 1000.0
    assert t["wa_pd"] == pytest.approx((1 + 6 + 30) / 1000)
    assert t["wa_original_term_months"] == pytest.approx((1200 + 7200 + 21600) / 1000)
    assert t["wa_remaining_term_months"] == pytest.approx((900 + 5400 + 16200) / 1000)
    assert t["expected_loss"] == pytest.approx(0.7 * 37.0)
    assert s["distributions"]["province"] == [
        {"group": "Henan", "count": 2, "balance": 700.0, "share": 0.7},
        {"group": "Hebei", "count": 1, "balance": 300.0, "share": 0.3}]
    assert s["distributions"]["nev"][1] == {"group": "nev", "count": 1, "balance": 100.0, "share": 0.1}
    assert s["concentration"][0]["value"] == 0.7 and s["concentration"][0]["holds"] is False


def test_bucket_labels() -> None:
    assert term_bucket(np.array([12, 13, 36, 60, 72])).tolist() == ["<=12", "13-24", "25-36", "49-60", ">60"]
    assert score_band(np.array([499.0, 500.0, 649.9, 700.0]), (500.0, 550.0, 600.0, 650.0, 700.0)).tolist() == [
        "<500", "500-550", "600-650", ">=700"]
