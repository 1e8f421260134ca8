"""Labels and snapshots from a performance history read in batches equal those from the whole frame."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.exceptions import ConfigError, TapeError
from features.io import TapeBatches
from features.labels import default_labels
from features.snapshots import build_snapshots, verify_snapshots
from features.synthetic import Book, generate_book

LABEL_COLUMNS = ("contract_id", "months_on_book", "dpd", "status")
SNAPSHOT_COLUMNS = (*LABEL_COLUMNS, "month", "amount_due", "amount_paid")


@pytest.fixture(scope="module")
def book() -> Book:
    return generate_book(300, seed=5, cutoff=dt.date(2025, 6, 30))


@pytest.fixture(scope="module")
def shuffled(book: Book) -> pd.DataFrame:
    """The book's history with its rows in a seeded random order."""
    order = np.random.default_rng(0).permutation(len(book.performance))
    return book.performance.iloc[order].reset_index(drop=True)


class _Largest:
    """Batches of a tape, remembering the most rows any one of them held."""

    def __init__(self, batches: TapeBatches) -> None:
        self.batches = batches
        self.largest = 0
        self.passes = 0

    def __iter__(self) -> Iterator[pd.DataFrame]:
        self.passes += 1
        for frame in self.batches:
            self.largest = max(self.largest, len(frame))
            yield frame


def _chunks(frame: pd.DataFrame, size: int) -> list[pd.DataFrame]:
    return [frame.iloc[i:i + size] for i in range(0, len(frame), size)]


def test_labels_over_batches_of_seven_equal_the_whole_frame() -> None:
    rows = ([("A", m, 0, "current") for m in range(1, 10)] + [("A", 10, 95, "defaulted")]
            + [("B", m, 0, "current") for m in range(1, 4)] + [("B", 4, 0, "prepaid")]
            + [("C", m, 0, "current") for m in range(1, 27)] + [("D", m, 0, "current") for m in range(1, 6)]
            + [("E", m, 30 * (m > 20), "current") for m in range(1, 30)])
    perf = pd.DataFrame(rows, columns=list(LABEL_COLUMNS))
    perf = perf.iloc[np.random.default_rng(1).permutation(len(perf))].reset_index(drop=True)
    batches = _chunks(perf, 7)
    # every contract's rows are spread over several batches, out of order
    assert all(sum((b["contract_id"] == c).any() for b in batches) > 1 for c in "ABCDE")
    whole = default_labels(perf, horizon_months=24)
    pd.testing.assert_frame_equal(default_labels(batches, horizon_months=24), whole)
    assert whole.set_index("contract_id")["observed"].to_dict() == {"A": True, "B": True, "C": True, "D": False,
                                                                    "E": True}


def test_labels_of_a_tape_in_batches_equal_the_whole_history(book: Book, shuffled: pd.DataFrame,
                                                             tmp_path: Path) -> None:
    tape = tmp_path / "perf.parquet"
    shuffled.to_parquet(tape, row_group_size=1_000)
    batches = _Largest(TapeBatches(tape, LABEL_COLUMNS, batch_rows=97))
    got = default_labels(batches, horizon_months=12)
    assert batches.largest <= 97
    pd.testing.assert_frame_equal(got, default_labels(book.performance, horizon_months=12))


def test_a_bad_cell_in_a_later_batch_names_its_row_in_the_file(shuffled: pd.DataFrame, tmp_path: Path) -> None:
    text = shuffled.astype(str)
    text.loc[40, "dpd"] = "n/a"                 # data row 41, in the sixth batch of 7
    tape = tmp_path / "perf.csv"
    text.to_csv(tape, index=False)
    with pytest.raises(TapeError, match=r"row 41, column 'dpd': value 'n/a' is not a number"):
        default_labels(TapeBatches(tape, LABEL_COLUMNS, batch_rows=7))


def test_snapshots_of_a_tape_in_batches_equal_those_of_the_whole_history(book: Book, shuffled: pd.DataFrame,
                                                                         tmp_path: Path) -> None:
    tape = tmp_path / "perf.parquet"
    shuffled.to_parquet(tape, row_group_size=1_000)
    batches = _Largest(TapeBatches(tape, SNAPSHOT_COLUMNS, batch_rows=500))
    for fraction in (1.0, 0.3):
        whole = build_snapshots(book.contracts, book.performance, fraction=fraction, seed=2)
        got = build_snapshots(book.contracts, batches, fraction=fraction, seed=2, part_contracts=37)
        pd.testing.assert_frame_equal(got, whole)
    assert batches.largest <= 500 and batches.passes == 2
    assert verify_snapshots(got, book.contracts, batches, n_contracts=40) == verify_snapshots(
        whole, book.contracts, book.performance, n_contracts=40) > 0


def test_snapshot_errors_in_a_later_batch_name_the_row_in_the_file(book: Book, shuffled: pd.DataFrame,
                                                                   tmp_path: Path) -> None:
    bad = shuffled.astype(str)
    bad.loc[1234, "amount_paid"] = "twelve"
    csv = tmp_path / "bad.csv"
    bad.to_csv(csv, index=False)
    with pytest.raises(TapeError, match=r"row 1235, column 'amount_paid': value 'twelve'"):
        build_snapshots(book.contracts, TapeBatches(csv, SNAPSHOT_COLUMNS, batch_rows=100))
    tape = tmp_path / "bad.parquet"
    stranger = shuffled.copy()
    stranger.loc[2001, "contract_id"] = "NOT-IN-BOOK"
    stranger.to_parquet(tape)
    with pytest.raises(TapeError, match=r"row 2002, column 'contract_id': value 'NOT-IN-BOOK' is not in the book"):
        build_snapshots(book.contracts, TapeBatches(tape, SNAPSHOT_COLUMNS, batch_rows=100))
    with pytest.raises(ConfigError, match="part_contracts must be >= 1 contract, got 0"):
        build_snapshots(book.contracts, TapeBatches(tape, SNAPSHOT_COLUMNS), part_contracts=0)
    with pytest.raises(ConfigError, match="batch_rows must be >= 1 row, got 0"):
        TapeBatches(tape, SNAPSHOT_COLUMNS, batch_rows=0)


def test_a_csv_history_in_batches_gives_the_snapshots_of_the_parquet_one(book: Book, shuffled: pd.DataFrame,
                                                                         tmp_path: Path) -> None:
    csv, parquet = tmp_path / "perf.csv", tmp_path / "perf.parquet"
    shuffled.to_csv(csv, index=False)
    shuffled.to_parquet(parquet)
    from_csv = TapeBatches(csv, SNAPSHOT_COLUMNS, batch_rows=700)
    from_parquet = TapeBatches(parquet, SNAPSHOT_COLUMNS, batch_rows=700)
    got = build_snapshots(book.contracts, from_csv, fraction=0.5, seed=1, part_contracts=50)
    want = build_snapshots(book.contracts, from_parquet, fraction=0.5, seed=1, part_contracts=50)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    # the guard compares the CSV's text cells as numbers
    assert verify_snapshots(got, book.contracts, from_csv, n_contracts=30) == verify_snapshots(
        want, book.contracts, from_parquet, n_contracts=30) > 0
