"""The out-of-time vintage split on a tiny hand-made book."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.errors import TrainingError
from training.splits import SplitConfig, split_by_vintage, vintage_of


def _book() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ten quarters 2019Q1..2021Q2, 10 contracts each; the last two quarters are immature."""
    quarters = pd.period_range("2019Q1", periods=10, freq="Q")
    rows = []
    for qi, q in enumerate(quarters):
        for k in range(10):
            cid = f"C{qi:02d}{k}"
            observed = qi < 8 or k < 3  # 2021Q1 and 2021Q2: only 30 % observed
            rows.append({"contract_id": cid, "origination_date": str(q.start_time.date()),
                         "default": int(k == 0), "observed": observed})
    frame = pd.DataFrame(rows)
    return frame[["contract_id", "origination_date"]], frame[["contract_id", "default", "observed"]]


def test_latest_full_vintages_are_test_then_validation_then_train() -> None:
    book, labels = _book()
    split = split_by_vintage(book, labels, SplitConfig(test_share=0.2, validation_share=0.2))
    assert split.test.vintages == ["2020Q3", "2020Q4"]
    assert split.validation.vintages == ["2020Q1", "2020Q2"]
    assert split.train.vintages == ["2019Q1", "2019Q2", "2019Q3", "2019Q4"]
    assert set(split.excluded) == {"2021Q1", "2021Q2"}
    assert "30.0% of contracts observed (3 of 10; < 95%)" in split.excluded["2021Q1"]
    assert len(split.train) == 40 and split.train.y.sum() == 4
    # every contract of the book is in a part or counted as left out
    assert split.left_out == {"in_excluded_vintages": 20, "not_observed_in_kept_vintages": 0}
    assert len(split.train) + len(split.validation) + len(split.test) + 20 == len(book)
    assert split.summary()["rows_left_out"] == split.left_out


def test_unobserved_rows_are_dropped_and_missing_labels_count_as_unobserved() -> None:
    book, labels = _book()
    labels = labels[labels["contract_id"] != "C079"].copy()  # no label at all for one 2020Q4 contract
    labels.loc[labels["contract_id"] == "C078", "observed"] = False
    split = split_by_vintage(book, labels, SplitConfig(min_observed_share=0.8))
    assert "C079" not in set(split.test.records["contract_id"])
    assert "C078" not in set(split.test.records["contract_id"])
    assert split.left_out["not_observed_in_kept_vintages"] == 2
    assert len(split.test.records) == len(split.test.y) == len(split.test.vintage)


def test_sizes_follow_the_shares() -> None:
    book, labels = _book()
    split = split_by_vintage(book, labels, SplitConfig(test_share=0.3, validation_share=0.1))
    assert split.test.vintages == ["2020Q2", "2020Q3", "2020Q4"]
    assert split.validation.vintages == ["2020Q1"]


def test_too_few_vintages_is_an_error() -> None:
    book, labels = _book()
    short = book["origination_date"] >= "2020-07-01"
    with pytest.raises(TrainingError, match="too few fully labelled quarter vintages"):
        split_by_vintage(book[short], labels)


@pytest.mark.parametrize(("period", "expected"), [
    ("month", "2021-07"), ("quarter", "2021Q3"), ("half", "2021H2"), ("year", "2021")])
def test_vintage_labels(period: str, expected: str) -> None:
    assert vintage_of(pd.Series(["2021-07-15"]), period).tolist() == [expected]  # type: ignore[arg-type]


def test_bad_date_and_bad_config_are_named() -> None:
    with pytest.raises(TrainingError, match="origination_date at row 1 is not a date: 'soon'"):
        vintage_of(pd.Series(["2021-01-01", "soon"]))
    with pytest.raises(TrainingError, match="test_share must be a fraction strictly between 0 and 1; got 1.5"):
        SplitConfig(test_share=1.5)
    with pytest.raises(TrainingError, match="period must be month, quarter, half or year; got 'week'"):
        SplitConfig(period="week")  # type: ignore[arg-type]


def test_labels_align_with_records() -> None:
    book, labels = _book()
    split = split_by_vintage(book, labels)
    ids = split.train.records["contract_id"].to_numpy()
    assert np.array_equal(split.train.y, np.array([int(c.endswith("0")) for c in ids]))
