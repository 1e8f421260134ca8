"""A training run reads the performance history in batches, never whole, and gets the same labels and model."""

from __future__ import annotations

import math
import re
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
from features.synthetic import write_book
from training.data import history_batches, read_training_data
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


def _history_csv(path: Path, statuses: list[str], dpd: list[str] | None = None) -> Path:
    """A literal history of three contracts (eight rows) with ``statuses`` (and ``dpd``) as CSV text."""
    pd.DataFrame({"contract_id": ["A", "A", "A", "B", "B", "B", "C", "C"],
                  "months_on_book": [1, 2, 3, 1, 2, 3, 1, 2],
                  "dpd": dpd or ["0"] * 8, "status": statuses}).to_csv(path, index=False)
    return path


def test_statuses_outside_the_contract_refuse_the_history_naming_file_rows_values_and_allowed(tmp_path: Path) -> None:
    # a renamed prepaid and terminated, in batches of 3 rows: every bad row is counted, none dropped
    tape = _history_csv(tmp_path / "p_case.csv", ["current", "current", "Prepaid", "current", "current", "closed",
                                                  "current", "closed"])
    with pytest.raises(TapeError, match=(
            r"p_case\.csv: performance history, row 3, column 'status': value 'Prepaid' is not one of current, "
            r"prepaid, defaulted, terminated \(the labels read every status\); 3 rows in all: 'Prepaid' x1 "
            r"\(first row 3\), 'closed' x2 \(first row 6\); `poolgate validate --tape \S*p_case\.csv` lists")):
        default_labels(history_batches(tape, batch_rows=3))


def test_a_single_unknown_or_empty_status_is_refused_too(tmp_path: Path) -> None:
    ok = ["current", "current", "prepaid", "current", "current", "defaulted", "current", "terminated"]
    weird = _history_csv(tmp_path / "weird.csv", ok[:6] + ["weird", "terminated"])
    with pytest.raises(TapeError, match=r"weird\.csv: performance history, row 7, column 'status': value 'weird' "
                                        r"is not one of current, .*; the only such row"):
        default_labels(history_batches(weird))
    empty = _history_csv(tmp_path / "empty.csv", ok[:1] + [""] + ok[2:])
    with pytest.raises(TapeError, match=r"row 2, column 'status': an empty value is not one of"):
        default_labels(history_batches(empty))
    assert default_labels(history_batches(_history_csv(tmp_path / "ok.csv", [f" {s}" for s in ok])))["observed"].all()


def test_a_non_numeric_dpd_names_the_file(tmp_path: Path) -> None:
    tape = _history_csv(tmp_path / "perf.csv", ["current"] * 8, dpd=["0", "ten", "0", "0", "0", "0", "0", "0"])
    with pytest.raises(TapeError, match=r"perf\.csv: performance history, row 2, column 'dpd': value 'ten' is not "
                                        r"a number"):
        default_labels(history_batches(tape))


def test_train_refuses_a_history_with_unknown_statuses_in_one_line(tmp_path: Path, mlflow_dir: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from poolgate.cli import main
    from tests.training.conftest import CUTOFF

    paths = write_book(tmp_path / "book", 300, 1, CUTOFF, fmt="csv").paths
    history = pd.read_csv(paths["performance"], dtype=str, keep_default_na=False)
    history["status"] = history["status"].replace({"prepaid": "Prepaid", "terminated": "closed"})
    renamed = int(history["status"].isin(["Prepaid", "closed"]).sum())
    first = int(history.index[history["status"].isin(["Prepaid", "closed"])][0]) + 1
    history.to_csv(tmp_path / "p_case.csv", index=False)
    code = main(["train", "--tape", str(paths["contracts"]), "--performance", str(tmp_path / "p_case.csv"),
                 "--threads", "1", "--json"])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("poolgate train: error:")]
    assert len(errors) == 1
    assert re.search(rf"p_case\.csv: performance history, row {first}, column 'status': value '(Prepaid|closed)' is "
                     rf"not one of current, prepaid, defaulted, terminated .*; {renamed:,} rows in all: ", errors[0])
