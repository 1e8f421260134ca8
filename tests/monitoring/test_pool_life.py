"""The pool's life in the sample: drawn from the same simulated life as ``truth``, other files unchanged."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from features.contract import check_performance
from features.synthetic import generate_book

CUTOFF = dt.date(2025, 6, 30)


@pytest.fixture(scope="module")
def book():  # type: ignore[no-untyped-def]
    return generate_book(6_000, seed=5, cutoff=CUTOFF)


def test_pool_life_rows_are_the_pool_contracts_after_the_cutoff(book) -> None:  # type: ignore[no-untyped-def]
    pp = book.pool_performance
    pool_ids = set(book.pool["contract_id"])
    assert set(pp["contract_id"]) == pool_ids
    assert (pp["month"] > pd.Timestamp(CUTOFF)).all()
    first = pp.groupby("contract_id")["month"].min()
    assert (first == pd.Timestamp("2025-07-31")).all()
    key = pp[["contract_id", "month"]]
    assert not key.duplicated().any()
    assert (pp.groupby("contract_id")["months_on_book"].diff().dropna() == 1).all()
    assert check_performance(pp).problems.empty


def test_defaults_and_prepayments_are_those_of_truth(book) -> None:  # type: ignore[no-untyped-def]
    pp = book.pool_performance
    truth = book.truth.set_index("contract_id").loc[sorted(set(book.pool["contract_id"]))]
    first_default = pp[pp["status"] == "defaulted"].groupby("contract_id")["months_on_book"].min()
    expected = truth["default_month"].dropna().astype(int)
    pd.testing.assert_series_equal(first_default.sort_index(), expected.sort_index(), check_names=False)
    prepaid = pp[pp["status"] == "prepaid"].groupby("contract_id")["months_on_book"].min()
    pd.testing.assert_series_equal(prepaid.sort_index(), truth["prepay_month"].dropna().astype(int).sort_index(),
                                   check_names=False)
    assert len(expected) > 10 and len(prepaid) > 10


def test_losses_charge_off_the_balance_and_recover_a_share_later(book) -> None:  # type: ignore[no-untyped-def]
    pp = book.pool_performance
    default_rows = pp[(pp["status"] == "defaulted") & (pp["charged_off_amount"] > 0)]
    first = pp[pp["status"] == "defaulted"].groupby("contract_id").head(1)
    assert len(default_rows) == len(first)
    np.testing.assert_allclose(first["charged_off_amount"], first["outstanding_principal"])
    rec = pp[pp["recovered_amount"] > 0]
    assert rec["repossessed"].all() and (rec["status"] == "defaulted").all()
    lag = (rec.set_index("contract_id")["months_on_book"]
           - first.set_index("contract_id")["months_on_book"].reindex(rec["contract_id"]))
    assert lag.between(2, 5).all()
    rate = rec["recovered_amount"].sum() / pp["charged_off_amount"].sum()
    assert 0.2 <= rate <= 0.5


def test_other_files_do_not_depend_on_the_pool_life(book) -> None:  # type: ignore[no-untyped-def]
    assert "charged_off_amount" not in book.performance.columns
    small = generate_book(3_000, seed=5, cutoff=CUTOFF)
    ids = {c for c in small.pool["contract_id"] if int(c[2:]) <= 3_000}   # the pipeline is numbered after the book
    pd.testing.assert_frame_equal(
        small.pool_performance[small.pool_performance["contract_id"].isin(ids)].reset_index(drop=True),
        book.pool_performance[book.pool_performance["contract_id"].isin(ids)].reset_index(drop=True))
