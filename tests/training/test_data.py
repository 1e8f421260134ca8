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
    assert list(data.performance.columns) == ["contract_id", "months_on_book", "dpd", "status"]
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
