"""Paths the system refuses, damaged run files and out-of-range options: one line and exit 2, no traceback."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from features.exceptions import TapeError
from features.io import read_json_object
from poolgate.cli import main


def _one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_an_out_that_is_a_file_or_under_no_folder_is_one_line(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    afile = tmp_path / "afile"
    afile.write_text("", encoding="utf-8")
    assert main(["sample", "--contracts", "50", "--out", str(afile)]) == 2
    assert _one_line(capsys.readouterr().err) == f"poolgate sample: error: {afile}: File exists"
    missing = tmp_path / "no" / "such" / "folder"
    missing.parent.parent.mkdir()
    (missing.parent.parent / "such").write_text("", encoding="utf-8")  # a file where a folder must be
    assert main(["sample", "--contracts", "50", "--out", str(missing)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("poolgate sample: error: ") and str(missing.parent) in line


def test_with_verbose_the_refused_path_keeps_its_traceback_in_the_log(tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    afile = tmp_path / "afile"
    afile.write_text("", encoding="utf-8")
    with caplog.at_level(logging.DEBUG, logger="poolgate"):
        assert main(["-v", "sample", "--contracts", "50", "--out", str(afile)]) == 2
    assert any(r.exc_info and r.exc_info[0] is FileExistsError for r in caplog.records)


def test_a_damaged_summary_json_is_named_with_where_it_breaks(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    run.mkdir()
    pd.DataFrame({"row": [0], "asset_id": ["A1"], "decision": ["admit"]}).to_parquet(run / "decisions.parquet")
    pd.DataFrame({"row": [0], "asset_id": ["A1"], "base_value": [0.1]}).to_parquet(run / "contributions.parquet")
    (run / "summary.json").write_text("{bad", encoding="utf-8")
    assert main(["explain", "--run", str(run), "--asset", "A1"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line == (f"poolgate explain: error: {run / 'summary.json'}: not JSON (line 1, column 2: Expecting property "
                    "name enclosed in double quotes); expected the summary of a poolgate screen run")


def test_read_json_object_refuses_what_is_not_one_object(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"a": 1}', encoding="utf-8")
    assert read_json_object(path, what="x") == {"a": 1}
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(TapeError, match=r"x.json: holds a JSON list, not an object; expected a summary"):
        read_json_object(path, what="a summary")
    path.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(TapeError, match="not UTF-8 text"):
        read_json_object(path, what="a summary")
    with pytest.raises(TapeError, match="cannot read"):
        read_json_object(tmp_path / "none.json", what="a summary")


@pytest.mark.parametrize(("argv", "said"), [
    (["train", "--tape", "t.csv", "--seed", "-1"], "argument --seed: must be a whole number from 0 to 4,294,967,295; got -1"),
    (["evaluate", "--tape", "t.csv", "--seed", "x"], "argument --seed: not a whole number: 'x'"),
    (["train", "--tape", "t.csv", "--experiment", ""], "argument --experiment: a name must be text without blanks"),
    (["promote", "--model-name", " pd"], "argument --model-name: a name must be text without blanks"),
    (["report", "--run", "r", "--out", "r.html", "--max-waterfalls", "-1"],
     "argument --max-waterfalls: must be a whole number >= 0; got -1"),
])
def test_options_out_of_range_are_refused_before_any_work(argv: list[str], said: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err


def test_a_missing_target_column_is_not_sent_to_the_optional_list(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    tape = tmp_path / "t.csv"
    pd.DataFrame({"id": ["a", "b"], "score": [600, 700], "bad": [0, 1]}).to_csv(tape, index=False)
    mapping = tmp_path / "m.toml"
    mapping.write_text('id = "id"\ntarget = "bad"\n[fields]\nbureau_score = "score"\n', encoding="utf-8")
    assert main(["evaluate", "--tape", str(tape), "--mapping", str(mapping), "--target", "nosuch"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "column 'nosuch'" in line and line.endswith("it is the target, which a tape must hold (--target names "
                                                       "another column)")
    assert "optional" not in line
    mapping.write_text('id = "app"\ntarget = "bad"\n[fields]\nbureau_score = "score"\n', encoding="utf-8")
    assert main(["evaluate", "--tape", str(tape), "--mapping", str(mapping)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "column 'app'" in line and line.endswith("it is the id column, which a tape must hold (is it the "
                                                    "right mapping?)")


def test_validate_counts_the_problems_it_leaves_out_as_problems(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    from tests.features.test_contract import tape

    frame = tape(*({"annual_rate": "-1"} for _ in range(6)))  # one problem a row
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    assert main(["validate", "--tape", str(path), "--max-problems", "2"]) == 1
    out = capsys.readouterr().out
    assert "... 4 more problems\n" in out and "more rows" not in out


def test_evaluate_counts_empty_targets_as_unlabelled_not_as_undecodable(caplog: pytest.LogCaptureFixture) -> None:
    from features.mapping import apply_mapping, mapping_from_dict
    from poolgate.commands.evaluate import _decode_summary

    mapping = mapping_from_dict({"name": "t", "id": "id", "target": "bad",
                                 "fields": {"bureau_score": "score"}}, origin="t")
    frame = pd.DataFrame({"id": ["a", "b", "c", "d"], "score": ["600", "x", "650", "700"], "bad": ["0", "", "1", ""]})
    tape = apply_mapping(frame, mapping)
    with caplog.at_level(logging.INFO, logger="poolgate"):
        assert _decode_summary(tape, "t.csv") == 3  # every problem still counted in the JSON
    said = {r.levelname: r.getMessage() for r in caplog.records}
    assert said["INFO"] == "t.csv: 2 rows with an empty target, left out of the fit and the measures (n_unlabelled)"
    assert said["WARNING"].startswith("t.csv: 1 cells could not be decoded (left empty); most frequent: score ")
    assert "target_missing" not in said["WARNING"]


def test_an_existing_pool_with_a_damaged_summary_is_named(tmp_path: Path) -> None:
    from monitoring.replenish import held_contracts

    (tmp_path / "summary.json").write_text('{"asof": ', encoding="utf-8")
    pd.DataFrame({"asset_id": ["A"], "state": ["in_pool"], "balance": [1.0]}).to_parquet(tmp_path / "assets.parquet")
    with pytest.raises(TapeError, match=r"summary.json: not JSON \(line 1, column 10: Expecting value\); expected the "
                                        r"summary of a poolgate monitor run"):
        held_contracts(tmp_path)
