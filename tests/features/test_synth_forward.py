"""The forward oracle in truth: exact PDs from the cut-off, checked against the generator's own outcomes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from features._synth_forward import FORWARD_COLUMNS
from features.synthetic import generate_book


@pytest.fixture(scope="module")
def running() -> pd.DataFrame:
    book = generate_book(60_000, seed=11, cutoff=dt.date(2025, 6, 30))
    c = book.contracts.set_index("contract_id")
    tr = book.truth[book.truth["in_book"]].set_index("contract_id")
    tr = tr.join(c[["months_on_book", "current_dpd", "term_months", "origination_date"]])
    active = tr["pd_remaining_fwd"].notna()
    # running at the cut-off = not ended by it (a default may come after the term: the months on book
    # of the record stop at the term, calendar months do not)
    orig = pd.to_datetime(tr["origination_date"])
    months = (2025 - orig.dt.year) * 12 + 6 - orig.dt.month
    never = 10**6
    ended = ((tr["default_month"].fillna(never) <= months)
             | (tr["prepay_month"].fillna(never) <= months)
             | ((tr["outcome"] == "matured") & (tr["term_months"] <= tr["months_on_book"])))
    assert (active == ~ended).all()
    return tr[active].assign(state=np.select([tr["current_dpd"] <= 0, tr["current_dpd"] < 30,
                                              tr["current_dpd"] < 60], [0, 1, 2], 3)[active.to_numpy()])


def _binomial_ok(p: pd.Series, y: pd.Series) -> None:
    se = np.sqrt((p * (1 - p)).sum()) / len(p)
    assert abs(y.mean() - p.mean()) < 4 * se + 1e-9, (y.mean(), p.mean(), se)


def test_columns_only_for_running_contracts(running: pd.DataFrame) -> None:
    for col in FORWARD_COLUMNS:
        assert running[col].notna().all()
    assert (running["pd_12m_fwd"] <= running["pd_remaining_fwd"] + 1e-9).all()
    assert ((running["pd_remaining_fwd"] + running["prepay_remaining_fwd"]) <= 1 + 1e-6).all()
    assert (running.loc[running["state"] == 3, "pd_12m_fwd"] == 1.0).all()      # 61-89 dpd: a spiral


@pytest.mark.parametrize("state", [0, 1, 2])
def test_realised_outcomes_match_the_oracle(running: pd.DataFrame, state: int) -> None:
    r = running[running["state"] == state]
    mob = r["months_on_book"]
    defaulted = r["outcome"] == "default"
    _binomial_ok(r["pd_remaining_fwd"], defaulted.astype(float))
    _binomial_ok(r["pd_12m_fwd"], (defaulted & (r["default_month"] <= mob + 12)).astype(float))
    _binomial_ok(r["prepay_remaining_fwd"], (r["outcome"] == "prepay").astype(float))


def test_delinquency_raises_the_forward_pd(running: pd.DataFrame) -> None:
    means = running.groupby("state")["pd_remaining_fwd"].mean()
    assert means[0] < means[1] < means[2] < means[3]
    # a seasoned current contract past the hazard peak is safer than its origination PD says
    seasoned = running[(running["state"] == 0) & (running["months_on_book"] >= 24)]
    assert seasoned["pd_remaining_fwd"].mean() < seasoned["pd_lifetime"].mean()
