"""The deal file's validation and hash; Reg AB II reporting periods as canonical performance."""

from __future__ import annotations

import copy
from typing import Any

import pandas as pd
import pytest

from features.contract import check_performance
from features.regab_performance import regab_performance
from monitoring.deal import DealError, load_deal, parse_deal
from tests.monitoring.conftest import ROOT, deal_dict

BUNDLED = ROOT / "data_samples" / "deal.toml"


def test_bundled_deal_loads_and_its_hash_ignores_layout(tmp_path) -> None:  # type: ignore[no-untyped-def]
    deal = load_deal(BUNDLED)
    assert deal.notes_balance == pytest.approx(deal.cutoff_balance)
    assert [c.rank for c in deal.classes] == ["senior", "mezzanine", "subordinated"]
    assert {t.code for t in deal.triggers} == {"cnl", "dq60", "liquidity_draws", "clean_up"}
    cnl = next(t for t in deal.triggers if t.code == "cnl")
    assert (cnl.threshold(1), cnl.threshold(12), cnl.threshold(13), cnl.threshold(99)) == (0.005, 0.01, 0.02, 0.035)
    text = BUNDLED.read_text(encoding="utf-8")
    other = tmp_path / "d.toml"
    other.write_text("# a comment\n" + text.replace(" = ", "   =   "), encoding="utf-8")
    assert load_deal(other).sha256 == deal.sha256
    other.write_text(text.replace("coupon = 0.026", "coupon = 0.027"), encoding="utf-8")
    assert load_deal(other).sha256 != deal.sha256


def _bad(**edit: Any) -> dict[str, Any]:
    data = copy.deepcopy(deal_dict(1_000_000.0))
    for path, value in edit.items():
        node: Any = data
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[int(k)] if k.isdigit() else node[k]
        node[keys[-1]] = value
    return data


@pytest.mark.parametrize("edit, message", [
    ({"classes__0__rank": "junior"}, "classes[0].rank = 'junior' is invalid; allowed: one of senior, mezzanine"),
    ({"classes__1__rank": "senior", "classes__0__rank": "mezzanine"}, "classes[1].rank = 'senior'"),
    ({"fees__servicing": -0.01}, "fees.servicing = -0.01 is invalid"),
    ({"liquidity__covers": ["principal"]}, "liquidity.covers = ['principal'] is invalid"),
    ({"triggers__0__measure": "vibes"}, "triggers[0].measure = 'vibes' is invalid"),
    ({"triggers__0__schedule": [[12, 0.01], [6, 0.02]]}, "strictly ascending periods"),
    ({"triggers__1__schedule": [[12, 0.01]]}, "triggers[1].threshold = 0.015 is invalid; allowed: either threshold"),
    ({"backtest__band_edges": [0.05, 0.01]}, "backtest.band_edges"),
    ({"triggers__1__threshold": 1.5}, "triggers[1].threshold = 1.5 is invalid; allowed: a number >= 0 and <= 1"),
    ({"triggers__0__schedule": [[12, 1.5]]}, "threshold from 0 to 1 (a fraction)"),
    ({"triggers__1__treshold": 0.015}, "triggers[1].treshold = 0.015 is invalid; allowed: known keys: action"),
    ({"cutoff_date": "2025-06-30"}, "cutoff_date = '2025-06-30' is invalid; allowed: a TOML date"),
    ({"principal": "turbo"}, "principal = 'turbo' is invalid"),
])
def test_bad_deal_files_name_the_key_value_and_rule(edit: dict[str, Any], message: str) -> None:
    with pytest.raises(DealError, match=None) as info:
        parse_deal(_bad(**edit), source="deal.toml")
    assert message in str(info.value)
    assert str(info.value).startswith("deal.toml: ")


def test_classes_must_add_up_to_the_cutoff_balance() -> None:
    data = deal_dict(1_000_000.0)
    data["overcollateralisation"] = 10_000.0
    with pytest.raises(DealError, match="adding up to cutoff_balance 1,000,000.00 CNY"):
        parse_deal(data)
    data["classes"][-1]["balance"] -= 10_000.0
    assert parse_deal(data).overcollateralisation == 10_000.0


def test_regab_reporting_periods_become_canonical_performance_with_losses() -> None:
    periods = pd.DataFrame({
        "assetNumber": ["L1", "L1", "L1", "L2", "L2"],
        "reportingPeriodEndingDate": ["07-31-2025", "08-31-2025", "09-30-2025", "07-31-2025", "08-31-2025"],
        "originationDate": ["01/2025", "01/2025", "01/2025", "03/2023", "03/2023"],
        "originalLoanTerm": ["36", "36", "36", "36", "36"],
        "currentDelinquencyStatus": ["0", "95", "125", "0", "0"],
        "reportingPeriodScheduledPaymentAmount": ["500", "500", "0", "450", "450"],
        "totalActualAmountPaid": ["500", "0", "0", "450", "9450"],
        "reportingPeriodActualEndBalanceAmount": ["12000", "12000", "0", "9000", "0"],
        "zeroBalanceCode": ["", "", "4", "", "1"],
        "chargedoffPrincipalAmount": ["", "", "12000", "", ""],
        "recoveredAmount": ["", "", "4000", "", ""],
        "repossessedIndicator": ["false", "true", "true", "false", "false"],
    })
    out = regab_performance(periods, "autoloan")
    assert out["status"].tolist() == ["current", "current", "defaulted", "current", "prepaid"]
    assert out["months_on_book"].tolist() == [6, 7, 8, 28, 29]
    assert out["charged_off_amount"].tolist() == [0, 0, 12000, 0, 0]
    assert out["recovered_amount"].tolist() == [0, 0, 4000, 0, 0]
    assert out["repossessed"].tolist() == [False, True, True, False, False]
    assert str(out["month"].iloc[0]) == "2025-07-31"
    assert check_performance(out).problems.empty
