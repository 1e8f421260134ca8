"""Reading a training book: rows with bad model inputs are left out and counted, others are kept."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.synthetic import Book
from training.data import read_training_data
from training.errors import TrainingError


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in ("origination_date", "cutoff_date"):
        out[col] = pd.to_datetime(out[col]).dt.strftime("%Y-%m-%d")
    return out.astype(object)


def _write(book: Book, tmp_path: Path, n: int = 200) -> tuple[Path, Path]:
    contracts = _as_text(book.contracts.head(n))
    contracts.loc[0, "financed_amount"] = "lots"      # a model input field
    contracts.loc[1, "worst_dpd"] = -5                # a status field the model does not read
    tape = tmp_path / "book.csv"
    contracts.to_csv(tape, index=False)
    perf = tmp_path / "perf.parquet"
    book.performance[book.performance["contract_id"].isin(contracts["contract_id"])].to_parquet(perf)
    return tape, perf


def test_bad_model_inputs_are_left_out_and_other_problems_kept(small_book: Book, tmp_path: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    tape, perf = _write(small_book, tmp_path)
    data = read_training_data(tape, perf)
    assert data.rows_read == 200 and data.rows_invalid == 1 and data.rows_with_other_problems == 1
    ids = set(data.book["contract_id"])
    assert small_book.contracts["contract_id"].iloc[0] not in ids
    assert small_book.contracts["contract_id"].iloc[1] in ids
    assert len(data.book) == 199
    # the label columns, and the amounts the forward model's snapshots need when the history has them
    assert list(data.performance.columns) == ["contract_id", "months_on_book", "dpd", "status", "month",
                                              "amount_due", "amount_paid"]
    assert "1 rows left out" in caplog.text and "1 kept" in caplog.text


def test_a_book_without_valid_rows_is_an_error(small_book: Book, tmp_path: Path) -> None:
    contracts = _as_text(small_book.contracts.head(3))
    contracts["vehicle_price"] = "unknown"
    tape = tmp_path / "bad.csv"
    contracts.to_csv(tape, index=False)
    perf = tmp_path / "perf.parquet"
    small_book.performance.head(10).to_parquet(perf)
    with pytest.raises(TrainingError, match="none of its 3 rows has valid model inputs"):
        read_training_data(tape, perf)


def test_a_sentinel_in_a_numeric_model_input_is_read_as_missing(small_book: Book, tmp_path: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    contracts = _as_text(small_book.contracts.head(50))
    contracts.loc[0, "bureau_score"] = 0          # "no bureau history" on some tapes: outside 300 to 900
    contracts.loc[1, "bureau_score"] = 17         # "not scored"
    contracts.loc[2, "term_months"] = 999         # a field that may not be empty keeps its range rule
    contracts.loc[3, "financed_amount"] = 50      # so does an amount (CNY)
    tape = tmp_path / "book.csv"
    contracts.to_csv(tape, index=False)
    data = read_training_data(tape, None, source="book.csv --mapping m.toml")
    assert data.out_of_range_as_missing == {"bureau_score": 2}
    assert data.rows_read == 50 and data.rows_invalid == 2 and len(data.book) == 48
    kept = data.book.set_index("contract_id")
    ids = contracts["contract_id"]
    assert kept.loc[[ids.iloc[0], ids.iloc[1]], "bureau_score"].isna().all()
    assert ids.iloc[2] not in kept.index and ids.iloc[3] not in kept.index
    others = kept.index.drop([ids.iloc[0], ids.iloc[1]])  # every other score is as written
    written = pd.to_numeric(contracts.set_index("contract_id").loc[others, "bureau_score"], errors="coerce")
    pd.testing.assert_series_equal(kept.loc[others, "bureau_score"].astype(float), written.astype(float),
                                   check_index_type=False)
    assert "bureau_score" not in set(data.problems["column"])  # the sentinels are not problems
    assert {"term_months", "financed_amount"} <= set(data.problems["column"])
    assert "bureau_score x2" in caplog.text
    assert "`poolgate validate --tape book.csv --mapping m.toml`" in caplog.text


def test_many_distinct_out_of_range_values_are_a_unit_problem_not_sentinels(
        small_book: Book, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    contracts = _as_text(small_book.contracts.head(60))
    contracts["bureau_score"] = (pd.to_numeric(contracts["bureau_score"]) / 1000).astype(object)  # a 0-1 scale
    tape = tmp_path / "book.csv"
    contracts.to_csv(tape, index=False)
    data = read_training_data(tape, None)
    scored = int(pd.to_numeric(contracts["bureau_score"]).notna().sum())
    assert data.out_of_range_as_missing == {} and data.rows_invalid == scored
    assert "not sentinel codes but a unit or mapping problem" in caplog.text


def test_a_column_the_run_does_not_read_missing_is_a_problem_of_the_file_not_of_a_row(
        small_book: Book, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    contracts = _as_text(small_book.contracts.head(50)).drop(columns=["worst_dpd"])  # a status field
    contracts.loc[0, "financed_amount"] = "lots"
    tape = tmp_path / "book.csv"
    contracts.to_csv(tape, index=False)
    data = read_training_data(tape, None)
    assert data.rows_read == 50 and data.rows_invalid == 1 and data.rows_with_other_problems == 0
    assert len(data.book) == 49
    said = [r.getMessage() for r in caplog.records if "problems in" in r.getMessage()]
    assert len(said) == 1 and "1 problems in 1 rows and 1 of the file as a whole (" in said[0]
    assert "1 rows left out (a field the model or the split reads is bad), 0 kept" in said[0]
