"""`poolgate train` on a series of Reg AB II reporting periods: labels and the forward model from its history.

The one real ABS-EE tape in ``../shared/data/regab`` holds a single reporting period, so the series is
generated here in the shape of a trust's monthly filings (XSD element names, text cells, rows in any
order, spread over several files): 2,400 auto loans originated 2019-2022, filed monthly from the
trust's first period in January 2021 to June 2025, so most are seasoned at their first filing. The
monthly hazard of a missed payment falls with the credit score and rises with the payment-to-income
ratio; a run of missed payments cures (the arrears paid) with probability 0.3 a month or reaches 90+
dpd and a charge-off; some loans prepay.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from poolgate.cli import main

FIRST, LAST = pd.Timestamp("2021-01-31"), pd.Timestamp("2025-06-30")


def _series(n_assets: int = 2_400, seed: int = 5) -> pd.DataFrame:
    gen = np.random.default_rng(seed)
    ends = pd.date_range(FIRST, LAST, freq="ME")
    end_text, end_index = [f"{e:%m-%d-%Y}" for e in ends], [e.year * 12 + e.month - 1 for e in ends]
    score = gen.integers(560, 820, n_assets)
    pti = gen.uniform(3.0, 20.0, n_assets)
    logit = -4.6 - 0.012 * (score - 690) + 0.08 * (pti - 11)
    hazard = 1 / (1 + np.exp(-logit))
    orig_month = gen.integers(0, 48, n_assets)                      # 2019-01 .. 2022-12
    rows: list[dict[str, str]] = []
    for i in range(n_assets):
        orig = 2019 * 12 + int(orig_month[i])                       # month index
        orig_text = f"{orig % 12 + 1:02d}/{orig // 12}"
        term, amount = 60, float(gen.integers(12, 40)) * 1_000
        rent = round(amount / term * 1.1, 2)
        balance = amount
        missed, zb = 0, ""
        draws = gen.random((3, len(ends) + 48))
        bad, early, cure = draws[0] < hazard[i], draws[1] < 0.012, draws[2] < 0.3
        for end, text in zip(end_index, end_text, strict=True):
            mob = end - orig
            if mob < 1:
                continue
            if mob > term:
                break
            paid = rent
            if missed and cure[mob]:                                  # pays the arrears: current again
                paid, missed = rent * (missed + 1), 0
            elif missed or bad[mob]:
                missed += 1
                paid = 0.0
            elif early[mob]:
                paid, zb = balance, "1"                                # prepaid
            charged = ""
            if missed >= 4:
                zb, charged = "4", f"{balance:.2f}"                    # charged off after 90+ dpd
            balance = max(balance - paid, 0.0) if not charged else 0.0
            rows.append({
                "assetNumber": f"L{i:05d}", "reportingPeriodEndingDate": text,
                "originationDate": orig_text, "originalLoanTerm": str(term),
                "originalLoanAmount": f"{amount:.2f}", "obligorCreditScore": str(int(score[i])),
                "paymentToIncomePercentage": f"{pti[i]:.2f}",
                "currentDelinquencyStatus": str(30 * missed), "reportingPeriodScheduledPaymentAmount": f"{rent:.2f}",
                "totalActualAmountPaid": f"{paid:.2f}", "reportingPeriodActualEndBalanceAmount": f"{balance:.2f}",
                "zeroBalanceCode": zb, "chargedoffPrincipalAmount": charged})
            if zb:
                break
    frame = pd.DataFrame(rows)
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


@pytest.mark.slow
def test_a_series_of_filings_trains_the_model_and_the_forward_pd_from_its_history(
        capsys: pytest.CaptureFixture[str], mlflow_dir: Path) -> None:
    series = _series()
    files = []
    for k, part in enumerate(np.array_split(series.index.to_numpy(), 3)):   # three files, filings in any order
        path = mlflow_dir / f"filings_{k}.csv"
        series.loc[part].to_csv(path, index=False)
        files.append(str(path))
    rc = main(["train", "--tape", *files, "--mapping", "regab-autoloan", "--seed", "0", "--threads", "1", "--json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    out = json.loads(captured.out)
    assert out["series"] == {"assets": series["assetNumber"].nunique(),
                             "reporting_periods": series["reportingPeriodEndingDate"].nunique()}
    assert "reporting periods read through mapping regab-autoloan" in captured.err
    assert out["params"]["labels.source"].endswith("(performance history)")
    m = out["metrics"]
    assert m["auc_oot"] > 0.7                        # the score and the payment-to-income carry the risk
    assert m["forward_fitted"] == 1.0 and m["forward_snapshots"] > 5_000
    assert m["forward_auc_default_oot"] > 0.7


def test_one_filing_with_a_target_still_trains_as_a_snapshot(
        capsys: pytest.CaptureFixture[str], mlflow_dir: Path) -> None:
    one = _series(600, seed=2)
    one = one[one["reportingPeriodEndingDate"] == f"{LAST:%m-%d-%Y}"].copy()
    assert one["assetNumber"].is_unique
    path = mlflow_dir / "one_filing.csv"
    one.to_csv(path, index=False)
    # without a target or a history, one filing is a snapshot: the message says what labels it lacks
    assert main(["train", "--tape", str(path), "--mapping", "regab-autoloan", "--json"]) == 2
    assert "no labels" in capsys.readouterr().err


def test_several_tapes_need_a_reg_ab_mapping(capsys: pytest.CaptureFixture[str], mlflow_dir: Path) -> None:
    a, b = mlflow_dir / "a.csv", mlflow_dir / "b.csv"
    a.write_text("contract_id\nC1\n")
    b.write_text("contract_id\nC2\n")
    assert main(["train", "--tape", str(a), str(b), "--mapping", "native"]) == 2
    assert "several --tape files are read only as a series of Reg AB reporting periods" in capsys.readouterr().err
