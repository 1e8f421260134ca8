"""Pure cores on literal data: eligibility rules, decision bands, reason codes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.decide import band_messages, decide, decided_by
from scoring.eligibility import eligibility
from scoring.policy import load_policy
from scoring.reasons import reason_codes

POLICY = load_policy()


def _records(**overrides: list[object]) -> pd.DataFrame:
    """Three typed records that pass every default rule, with ``overrides`` per column."""
    base: dict[str, list[object]] = {
        "lessee_age": [30, 45, 25], "term_months": [36, 36, 24], "current_dpd": [0, 0, 0],
        "worst_dpd": [0, 15, 30], "instalments_paid": [6, 12, 3], "months_on_book": [6, 12, 3],
        "financed_amount": [90_000.0, 120_000.0, 60_000.0], "vehicle_price": [120_000.0, 150_000.0, 70_000.0],
        "down_payment": [30_000.0, 30_000.0, 10_000.0], "lease_type": ["sale_leaseback", "direct_lease", "sale_leaseback"],
        "vehicle_condition": ["new", "used", "new"], "gps_installed": [True, True, True],
        "outstanding_principal": [80_000.0, 90_000.0, 50_000.0],
    }
    base.update(overrides)
    frame = pd.DataFrame(base)
    frame["gps_installed"] = frame["gps_installed"].astype("boolean")
    frame["lease_type"] = frame["lease_type"].astype("string")
    return frame


def test_clean_records_are_eligible() -> None:
    result = eligibility(_records(), POLICY)
    assert result.eligible.tolist() == [True, True, True]
    assert result.failures.empty


@pytest.mark.parametrize(("column", "values", "bad", "code", "message"), [
    ("lessee_age", [17, 45, 61], [0, 2], "age_at_origination", "lessee age at origination 17 years is outside 18 to 60"),
    ("current_dpd", [0, 5, 0], [1], "overdue_at_cutoff", "5 days past due at the cut-off; the asset must be current"),
    ("worst_dpd", [31, 0, 30], [0], "worst_delinquency", "worst past delinquency 31 days is above 30"),
    ("outstanding_principal", [0.0, 0.5, 1.0], [0, 1], "outstanding_principal",
     "outstanding principal 0.00 CNY: nothing left to buy (at least 1 CNY)"),
    ("instalments_paid", [2, 12, 3], [0], "instalments_paid", "2 instalments paid, at least 3 required"),
    ("lease_type", ["operating", "direct_lease", "sale_leaseback"], [0], "lease_type",
     "lease type operating is not one of sale_leaseback, direct_lease"),
    ("gps_installed", [True, False, True], [1], "gps_installed", "no GPS tracker installed"),
])
def test_each_rule_fails_exactly_the_breaking_rows(column: str, values: list[object], bad: list[int], code: str,
                                                   message: str) -> None:
    result = eligibility(_records(**{column: values}), POLICY)
    assert result.failures["code"].unique().tolist() == [code]
    assert result.failures["pos"].tolist() == bad
    assert result.failures["message"].iloc[0] == message
    assert result.eligible.tolist() == [i not in bad for i in range(3)]


def test_derived_quantities_age_at_maturity_remaining_term_ltv_down_payment() -> None:
    recs = _records(lessee_age=[60, 30, 30], term_months=[72, 36, 36], months_on_book=[6, 35, 6],
                    instalments_paid=[6, 35, 6], financed_amount=[90_000.0, 120_000.0, 69_000.0],
                    down_payment=[30_000.0, 30_000.0, 1_000.0])
    result = eligibility(recs, POLICY)
    by_pos = result.failures.groupby("pos")["code"].apply(list).to_dict()
    assert by_pos[0] == ["age_at_maturity", "remaining_term"]  # 60 + 6 years > 65; 66 months left > 60
    assert by_pos[1] == ["remaining_term"]  # 1 month left < 3
    assert by_pos[2] == ["loan_to_value", "down_payment"]  # 69/70 = 98.6 %; down 1.4 %
    assert "loan-to-value 98.6% is above 90%" in result.failures["message"].tolist()


def test_missing_quantity_fails_by_default() -> None:
    recs = _records(worst_dpd=[None, 0, 0])
    recs["worst_dpd"] = recs["worst_dpd"].astype("Int64")
    result = eligibility(recs, POLICY)
    assert result.eligible.tolist() == [False, True, True]
    assert result.failures["message"].iloc[0] == "worst_dpd is empty (rule worst_delinquency)"


def test_decide_bands_are_inclusive_and_ineligible_is_rejected() -> None:
    pd_ = np.array([0.01, 0.05, 0.0500001, 0.10, 0.2, 0.01, np.nan])
    eligible = np.array([True, True, True, True, True, False, True])
    status = decide(pd_, eligible, POLICY)
    assert status.tolist() == ["admit", "admit", "refer", "refer", "reject", "reject", "reject"]
    assert decided_by(status, eligible).tolist() == ["pd_admit", "pd_admit", "pd_refer", "pd_refer",
                                                     "pd_reject", "eligibility", "pd_reject"]
    notes = band_messages(pd_[:5], status[:5], eligible[:5], POLICY)
    assert notes[0] == "" and notes[2].startswith("PD 5.00% is above the admit limit 5%")
    assert notes[4] == "PD 20.00% is above the refer limit 10%"


def test_decide_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match=r"decide: pd has shape \(2,\) but eligible has shape \(3,\)"):
        decide(np.zeros(2), np.ones(3, dtype=bool), POLICY)


def test_reason_codes_pick_largest_positive_contributions_in_order() -> None:
    names = ["payment_to_income", "ltv", "bureau_score", "province"]
    contrib = np.array([[0.5, 0.2, -0.3, 0.2],    # pti, then the tie ltv/province in feature order
                        [-0.1, -0.2, -0.3, -0.4],  # nothing raised the risk
                        [0.0, 0.0, 0.7, 0.0]])     # bureau score missing
    inputs = pd.DataFrame({"payment_to_income": [0.62, 0.1, 0.2], "ltv": [0.8, 0.5, 0.6],
                           "bureau_score": [700.0, 650.0, np.nan],
                           "province": pd.Categorical(["Henan", "Hebei", "Henan"])})
    rc = reason_codes(contrib, inputs, names, {"bureau_score": "Credit bureau score"}, POLICY,
                      points_per_logodds=-28.85)
    assert rc.features[0].tolist() == ["payment_to_income", "ltv", "province"]
    assert rc.texts[0, 0] == "payment-to-income 0.62 is high"
    assert rc.texts[0, 2] == "province Henan raised the risk"
    assert rc.logodds[0].tolist() == [0.5, 0.2, 0.2]
    assert rc.points[0, 0] == pytest.approx(-14.425)
    assert rc.features[1].tolist() == ["", "", ""] and np.isnan(rc.logodds[1]).all()
    assert rc.features[2, 0] == "bureau_score" and rc.features[2, 1] == ""
    assert rc.texts[2, 0] == "Credit bureau score missing raised the risk"


def test_chinese_texts_when_the_policy_language_is_zh() -> None:
    import dataclasses

    zh = dataclasses.replace(POLICY, language="zh")
    result = eligibility(_records(lessee_age=[17, 45, 25]), zh)
    assert result.failures["message"].tolist() == ["起租时承租人年龄 17 岁，不在 18 至 60 岁之间"]
    rc = reason_codes(np.array([[0.4]]), pd.DataFrame({"payment_to_income": [0.62]}), ["payment_to_income"],
                      {}, zh, points_per_logodds=-20.0)
    assert rc.texts[0, 0] == "月租金收入比 0.62 偏高"
    assert band_messages(np.array([0.2]), np.array(["reject"]), np.array([True]), zh) == [
        "违约概率 20.00% 高于人工审核上限 10%"]
