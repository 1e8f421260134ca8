"""A training run reads the performance history in batches, never whole, and gets the same labels and model."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import features.io
from features.exceptions import TapeError
from features.io import TapeBatches, read_table
from features.labels import default_labels
from features.spec import load_spec
from training.data import read_training_data
from training.forward import ForwardConfig, _running_at_cutoff, fit_forward

CONFIG = ForwardConfig(fraction=0.2, families=("trees_8",))


def _same(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)


def test_the_run_reads_the_history_in_batches_and_gets_the_same_labels_and_forward_model(
        small_book_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    history = small_book_files["performance"]
    largest: dict[str, int] = {"rows": 0, "passes": 0}
    real = features.io.iter_table

    def spy(path: Any, **kwargs: Any) -> Iterator[pd.DataFrame]:
        if Path(path) == history:
            largest["passes"] += 1
        for frame in real(path, **kwargs):
            if Path(path) == history:
                largest["rows"] = max(largest["rows"], len(frame))
            yield frame

    monkeypatch.setattr(features.io, "iter_table", spy)
    data = read_training_data(small_book_files["contracts"], history, small_book_files["truth"],
                              history_batch_rows=5_000)
    assert isinstance(data.performance, TapeBatches) and largest["passes"] == 0   # only the header so far
    batched = fit_forward(data.book, data.performance, spec=load_spec(), truth=data.truth, config=CONFIG)
    labels = default_labels(data.performance)
    assert 0 < largest["rows"] <= 5_000 and largest["passes"] == 4    # snapshots, guard, cut-off, labels

    monkeypatch.setattr(features.io, "iter_table", real)
    whole_history = read_table(history, columns=list(data.performance.columns))
    assert len(whole_history) > 50_000
    whole = fit_forward(data.book, whole_history, spec=load_spec(), truth=data.truth, config=CONFIG)
    pd.testing.assert_frame_equal(labels, default_labels(whole_history))
    assert _same(batched.metrics, whole.metrics)
    pd.testing.assert_frame_equal(batched.at_cutoff, whole.at_cutoff)
    assert batched.model.parts["default"].trees.model_to_string() == whole.model.parts["default"].trees.model_to_string()


def test_the_contracts_running_at_the_cut_off_from_batches_out_of_order() -> None:
    rows = [("A", 2, 0, "current"), ("B", 1, 0, "current"), ("C", 3, 95, "current"), ("A", 1, 0, "current"),
            ("D", 2, 0, "current"), ("B", 2, 0, "prepaid"), ("C", 1, 0, "current"), ("D", 1, 30, "current"),
            ("E", 1, 0, "current"), ("E", 1, 0, "prepaid")]     # E: two rows at 1 month, the later one counts
    perf = pd.DataFrame(rows, columns=["contract_id", "months_on_book", "dpd", "status"])
    ids = pd.Index(["E", "D", "C", "B", "A", "F"])
    batches = [perf.iloc[i:i + 3] for i in range(0, len(perf), 3)]
    assert list(_running_at_cutoff(batches, ids)) == list(_running_at_cutoff(perf, ids)) == ["A", "D"]


def test_a_history_without_a_label_column_is_refused_before_any_row_is_read(small_book_files: dict[str, Path],
                                                                            tmp_path: Path) -> None:
    thin = tmp_path / "thin.parquet"
    pd.read_parquet(small_book_files["performance"], columns=["contract_id", "months_on_book", "status"]).to_parquet(thin)
    with pytest.raises(TapeError, match=r"thin.parquet: the performance history lacks column\(s\) dpd; the labels need"):
        read_training_data(small_book_files["contracts"], thin)
