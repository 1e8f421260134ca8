"""Snapshots: behaviour from history at or before s, outcomes after s, censoring, the leakage guard."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from features.exceptions import ConfigError, LeakageError, TapeError
from features.snapshots import BEHAVIOUR_COLUMNS, build_snapshots, snapshot_split, verify_snapshots
from features.spec import load_spec, spec_from_dict
from features.synthetic import generate_book


def _month(i: int) -> pd.Timestamp:
    return pd.Timestamp("2024-01-31") + pd.offsets.MonthEnd(i)


@pytest.fixture()
def tiny() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A: a 1-month miss at 2, then defaults (run from 4: dpd 15, 45, 75, 105 at 7).
    B: pays, prepays at 3. C: still running at the end of history (censored)."""
    contracts = pd.DataFrame({"contract_id": ["A", "B", "C"], "term_months": [12, 12, 24],
                              "monthly_rent": [100.0, 50.0, 10.0]})
    rows = []
    a_dpd = [0, 15, 0, 15, 45, 75, 105]
    a_paid = [100, 0, 200, 0, 0, 0, 0]
    for m, (d, p) in enumerate(zip(a_dpd, a_paid, strict=True), start=1):
        rows.append(("A", m, d, 100.0, float(p), "defaulted" if m == 7 else "current"))
    rows += [("B", 1, 0, 50.0, 50.0, "current"), ("B", 2, 0, 50.0, 50.0, "current"),
             ("B", 3, 0, 500.0, 500.0, "prepaid")]
    rows += [("C", m, 0, 10.0, 10.0, "current") for m in (1, 2, 3)]
    perf = pd.DataFrame(rows, columns=["contract_id", "months_on_book", "dpd", "amount_due", "amount_paid", "status"])
    perf["month"] = [_month(m) for m in perf["months_on_book"]]
    return contracts, perf.sample(frac=1.0, random_state=3)   # any row order


def test_behaviour_uses_rows_at_or_before_s_only(tiny: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    contracts, perf = tiny
    snaps = build_snapshots(contracts, perf).set_index(["contract_id", "s"])
    a3 = snaps.loc[("A", 3)]
    assert a3["current_dpd_at_s"] == 0
    assert a3["worst_dpd_at_s"] == 15          # the miss at 2, not the 105 at 7
    assert a3["months_delinquent_at_s"] == 1
    assert a3["instalments_paid_at_s"] == 3
    assert a3["paid_to_due_at_s"] == pytest.approx(1.0)
    assert a3["remaining_term_at_s"] == 9
    a2 = snaps.loc[("A", 2)]
    assert a2["paid_to_due_at_s"] == pytest.approx(0.5)
    assert a2["instalments_paid_at_s"] == 1


def test_outcomes_after_s_and_censoring(tiny: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    contracts, perf = tiny
    snaps = build_snapshots(contracts, perf)
    a = snaps[snaps["contract_id"] == "A"]
    assert list(a["s"]) == [1, 2, 3, 4, 5, 6]                 # not at 7: defaulted there
    assert set(a["outcome"]) == {"default"}
    assert set(a["event_month"]) == {7}
    assert set(a["entry_month"]) == {4}                        # the unbroken run 4..7
    b = snaps[snaps["contract_id"] == "B"]
    assert list(b["s"]) == [1, 2] and set(b["outcome"]) == {"prepay"} and set(b["event_month"]) == {3}
    c = snaps[snaps["contract_id"] == "C"]
    assert set(c["outcome"]) == {"censored"} and set(c["event_month"]) == {-1}
    assert set(c["last_month"]) == {3}


def test_sampling_keeps_every_row_followed_by_an_event(tiny: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    contracts, perf = tiny
    snaps = build_snapshots(contracts, perf, fraction=0.01, seed=1)
    keyed = set(zip(snaps["contract_id"], snaps["s"], strict=True))
    assert ("A", 3) in keyed and ("B", 2) in keyed            # default run starts at 4; prepaid at 3
    kept = snaps.set_index(["contract_id", "s"])
    assert kept.loc[("A", 3), "weight"] == 1.0
    others = snaps[~snaps.set_index(["contract_id", "s"]).index.isin([("A", 3), ("B", 2)])]
    assert (others["weight"] == 100.0).all()
    with pytest.raises(ConfigError, match="fraction must be in"):
        build_snapshots(contracts, perf, fraction=0.0)


def test_guard_refuses_a_value_from_after_s(tiny: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    contracts, perf = tiny
    snaps = build_snapshots(contracts, perf)
    assert verify_snapshots(snaps, contracts, perf) == len(snaps)
    planted = snaps.copy()
    row = int(np.flatnonzero((planted["contract_id"] == "A") & (planted["s"] == 3))[0])
    planted.loc[planted.index[row], "worst_dpd_at_s"] = 105        # the dpd of month 7
    with pytest.raises(LeakageError, match=rf"row {row + 1}, column 'worst_dpd_at_s': value 105.0 .*at or before s"):
        verify_snapshots(planted, contracts, perf)


def test_guard_on_a_generated_book() -> None:
    book = generate_book(300, seed=5, cutoff=dt.date(2025, 6, 30))
    snaps = build_snapshots(book.contracts, book.performance)
    assert verify_snapshots(snaps, book.contracts, book.performance, n_contracts=40) > 100
    assert (snaps["current_dpd_at_s"] < 90).all()
    later = snaps.copy()
    later["paid_to_due_at_s"] = later.groupby("contract_id")["paid_to_due_at_s"].shift(-1).fillna(1.0)
    with pytest.raises(LeakageError, match="paid_to_due_at_s"):
        verify_snapshots(later, book.contracts, book.performance, n_contracts=300)


def test_spec_refuses_an_outcome_as_a_snapshot_input() -> None:
    shipped = load_spec()
    assert "worst_dpd_at_s" in [f.name for f in shipped.snapshot_inputs]
    assert "worst_dpd_at_s" not in shipped.names                       # not an origination-model input
    assert shipped.feature("worst_dpd_at_s").direction == 1
    assert shipped.feature("paid_to_due_at_s").direction == -1
    bad = shipped.to_dict()
    bad["feature"].append({**shipped.feature("worst_dpd_at_s").to_dict(), "name": "event_month",
                           "inputs": ["event_month"]})
    with pytest.raises(LeakageError, match="'event_month', which is the outcome after the snapshot"):
        spec_from_dict(bad)


def test_split_is_by_snapshot_date(tiny: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    contracts, perf = tiny
    snaps = build_snapshots(contracts, perf)
    part = snapshot_split(snaps, test_months=1, valid_months=1, horizon_months=1)
    dates = pd.to_datetime(snaps["snapshot_date"])
    assert set(part[dates == _month(6)]) == {""}                 # its next month is the last of history
    assert set(part[dates == _month(5)]) == {"test"}
    assert set(part[dates == _month(4)]) == {"validation"}
    assert set(part[dates <= _month(3)]) == {"train"}


def test_missing_and_unknown_inputs_are_named(tiny: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    contracts, perf = tiny
    with pytest.raises(TapeError, match="lacks column"):
        build_snapshots(contracts, perf.drop(columns=["amount_paid"]))
    stranger = perf.copy()
    stranger.iloc[0, 0] = "Z"
    with pytest.raises(TapeError, match="row 1, column 'contract_id': value 'Z' is not in the book"):
        build_snapshots(contracts, stranger)
    assert set(BEHAVIOUR_COLUMNS) <= set(build_snapshots(contracts, perf).columns)
