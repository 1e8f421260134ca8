"""A series of Reg AB II reporting periods as a book, a history, snapshots and labels.

The only real tape in ``../shared/data/regab`` holds one reporting period, so the multi-period path is
tested on a Reg AB-shaped series generated here: 40 auto loans over 14 monthly periods, some charged
off after a delinquency run, some prepaid, the rest still running (censored).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.exceptions import TapeError
from features.regab_labels import regab_default_labels
from features.regab_periods import read_regab_book, regab_book, regab_snapshots
from features.snapshots import verify_snapshots

PERIODS = 14
REAL_TAPE = Path(__file__).resolve().parents[3] / "shared" / "data" / "regab" / "worldomni_2020a_autoloan_tape.csv"


def _series(n_assets: int = 40, seed: int = 0) -> tuple[pd.DataFrame, dict[str, tuple[str, int]]]:
    """Reporting periods Jan 2024 .. Feb 2025 of ``n_assets`` loans (XSD element names, text cells), and per
    asset its story: (``default`` | ``prepay`` | ``running``, the period index it happened)."""
    gen = np.random.default_rng(seed)
    rows: list[dict[str, str]] = []
    story: dict[str, tuple[str, int]] = {}
    ends = pd.date_range("2024-01-31", periods=PERIODS, freq="ME")
    for i in range(n_assets):
        asset = f"A{i:03d}"
        kind = ("default", "prepay", "running")[i % 3]
        at = int(gen.integers(3, PERIODS - 5)) if kind != "running" else PERIODS
        story[asset] = (kind, at)
        orig = ends[0] - pd.DateOffset(months=int(gen.integers(4, 20)))
        rent, balance = 400.0 + 10 * i, 15_000.0
        for k, end in enumerate(ends):
            dpd, paid, zb, charged = 0, rent, "", ""
            if kind == "default" and k >= at:
                dpd, paid = 30 * (k - at + 1), 0.0            # misses from period `at`: 90+ dpd at at + 2
                if k == at + 3:
                    zb, charged = "4", f"{balance:.2f}"
            if kind == "prepay" and k == at:
                paid, zb = balance, "1"
            balance = max(balance - paid, 0.0)
            rows.append({"assetNumber": asset, "reportingPeriodEndingDate": f"{end:%m-%d-%Y}",
                         "originationDate": f"{orig:%m/%Y}", "originalLoanTerm": "60",
                         "originalLoanAmount": "20000", "obligorCreditScore": str(600 + i),
                         "currentDelinquencyStatus": str(dpd), "reportingPeriodScheduledPaymentAmount": f"{rent:.2f}",
                         "totalActualAmountPaid": f"{paid:.2f}", "reportingPeriodActualEndBalanceAmount": f"{balance:.2f}",
                         "zeroBalanceCode": zb, "chargedoffPrincipalAmount": charged})
            if zb:
                break
    frame = pd.DataFrame(rows)
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True), story   # filings come in any order


def test_a_series_becomes_one_record_per_asset_and_its_history() -> None:
    periods, story = _series()
    book = regab_book(periods, "autoloan")
    assert book.periods == PERIODS
    rec = book.records.set_index("contract_id")
    assert sorted(rec.index) == sorted(story)
    first = periods.sort_values("reportingPeriodEndingDate").groupby("assetNumber").size()
    assert len(book.performance) == int(first.sum())
    a = rec.loc["A002"]                                     # running to the end: 14 periods, always paid
    assert a["current_dpd"] == 0 and a["instalments_paid"] == PERIODS
    assert a["months_on_book"] - a["first_months_on_book"] == PERIODS - 1
    assert str(a["cutoff_date"]) == "2025-02-28"
    d = rec.loc["A000"]                                     # charged off: worst dpd over its periods
    assert d["worst_dpd"] == 120 and d["monthly_rent"] == 400.0


def test_snapshots_of_the_series_censor_and_pass_the_leakage_guard() -> None:
    periods, story = _series()
    book = regab_book(periods, "autoloan")
    snaps = regab_snapshots(book)
    assert verify_snapshots(snaps, book.records, book.performance, n_contracts=40) > 0
    first_mob = book.records.set_index("contract_id")["first_months_on_book"]
    for asset, (kind, at) in story.items():
        s = snaps[snaps["contract_id"] == asset]
        assert set(s["outcome"].astype(str)) == {{"default": "default", "prepay": "prepay", "running": "censored"}[kind]}
        start = int(first_mob[asset])
        if kind == "default":
            # misses from period `at`, 90 dpd at period at + 2: the run entered at the first missed month
            assert (s["event_month"] == start + at + 2).all() and (s["entry_month"] == start + at).all()
            assert s["s"].max() == start + at + 1          # running, not in default, up to the month before
        if kind == "prepay":
            assert (s["event_month"] == start + at).all() and s["s"].max() == start + at - 1
    # behaviour counts from the first reported period (left truncation): paid-to-due 1 while paying
    assert (snaps.loc[snaps["current_dpd_at_s"] == 0, "paid_to_due_at_s"] == 1.0).all()
    labels = regab_default_labels(periods, asset_class="autoloan").set_index("contract_id")
    defaulted = [a for a, (k, _) in story.items() if k == "default"]
    assert (labels.loc[defaulted, "label"] == 1).all()


def test_one_period_is_not_a_history(tmp_path: Path) -> None:
    periods, _ = _series()
    one = periods[periods["reportingPeriodEndingDate"] == "01-31-2024"]
    with pytest.raises(TapeError, match="holds 1 reporting period; snapshots need two or more"):
        regab_book(one, "autoloan")
    twice = pd.concat([periods, periods.head(1)])
    with pytest.raises(TapeError, match=r"asset 'A\d+' is reported twice for period"):
        regab_book(twice, "autoloan")
    path = tmp_path / "series.csv"
    periods.to_csv(path, index=False)
    assert read_regab_book([path], asset_class="autoloan").periods == PERIODS


@pytest.mark.skipif(not REAL_TAPE.exists(), reason="../shared/data/regab is absent")
def test_the_real_world_omni_tape_is_a_single_period() -> None:
    with pytest.raises(TapeError, match="holds 1 reporting period"):
        read_regab_book([REAL_TAPE], asset_class="autoloan")
