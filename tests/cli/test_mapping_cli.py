"""`--mapping` on validate and train: a renamed tape is read as the canonical one."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from features.schema import LEASE_FIELDS
from poolgate.cli import main
from tests.features.test_contract import tape

SAMPLES = Path(__file__).resolve().parents[2] / "data_samples"


def renamed(frame: pd.DataFrame, tmp_path: Path) -> tuple[Path, Path]:
    """``frame`` with every column renamed ``src_<name>`` and ``vehicle_condition`` coded N/U, plus its mapping."""
    src = frame.rename(columns=lambda c: f"src_{c}")
    src["src_vehicle_condition"] = src["src_vehicle_condition"].map({"new": "N", "used": "U"}).fillna(
        src["src_vehicle_condition"])
    lines = ['name = "renamed"', "[fields]"]
    for f in LEASE_FIELDS:
        if f.name == "vehicle_condition":
            lines.append('vehicle_condition = { column = "src_vehicle_condition", codes = { N = "new", U = "used" } }')
        elif f"src_{f.name}" in src.columns:
            lines.append(f'{f.name} = "src_{f.name}"')
    mapping = tmp_path / "renamed.toml"
    mapping.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path = tmp_path / "src.csv"
    src.to_csv(path, index=False)
    return path, mapping


def test_validate_through_a_mapping(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, mapping = renamed(tape({}, {}), tmp_path)
    assert main(["validate", "--tape", str(path), "--mapping", str(mapping)]) == 0
    out, err = capsys.readouterr()
    assert "2 rows, 0 rows with problems" in out and out.strip().endswith("OK")
    assert "2 rows read through mapping" in err

    path, mapping = renamed(tape({}, {"vehicle_condition": "X", "lessee_age": "200"}), tmp_path)
    assert main(["validate", "--tape", str(path), "--mapping", str(mapping), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["path"] == str(path)
    assert {(p["row"], p["column"], p["value"]) for p in report["problem_list"]} >= {
        (2, "vehicle_condition", "X"), (2, "lessee_age", "200")}
    assert [(p["row"], p["column"], p["rule"]) for p in report["decode_problems"]] == [
        (2, "src_vehicle_condition", "code")]


def test_validate_mapping_refuses_a_performance_tape(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", "--tape", str(SAMPLES / "performance.parquet"), "--kind", "performance",
                 "--mapping", "native"])
    assert code == 2 and "lease tapes" in capsys.readouterr().err


def test_unknown_mapping_is_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", "--tape", str(SAMPLES / "pool.parquet"), "--mapping", "no-such-mapping"])
    err = capsys.readouterr().err
    assert code == 2 and "no-such-mapping" in err and "Traceback" not in err


def test_validate_ignores_the_target_of_a_mapping(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a pool has no outcome yet: a mapping written for training (with a target) still reads it
    path, mapping = renamed(tape({}, {}), tmp_path)
    mapping.write_text('target = "went_bad"\n' + mapping.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["validate", "--tape", str(path), "--mapping", str(mapping)]) == 0
    out, _ = capsys.readouterr()
    assert out.strip().endswith("OK")


def test_a_no_value_text_that_does_not_decode_suggests_the_mappings_missing_list(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, mapping = renamed(tape({}, {"lessee_age": "NA"}), tmp_path)
    main(["validate", "--tape", str(path), "--mapping", str(mapping)])
    err = capsys.readouterr().err
    assert "src_lessee_age (type): 1" in err
    assert "'NA' read as a value that does not decode" in err and 'declare missing = ["NA"]' in err

    # declared, the text is an empty cell: no decode problem, no suggestion
    mapping.write_text(mapping.read_text(encoding="utf-8").replace(
        'name = "renamed"', 'name = "renamed"\nmissing = ["NA"]'), encoding="utf-8")
    main(["validate", "--tape", str(path), "--mapping", str(mapping)])
    err = capsys.readouterr().err
    assert "could not decode" not in err and "declare missing" not in err


def test_decode_hints_name_the_missing_texts_and_a_date_format_that_reads_every_date() -> None:
    from features.mapping import apply_mapping, decode_hints, mapping_from_dict

    frame = pd.DataFrame({"id": ["a", "b", "c", "d"], "opened": ["31-10-18", "01-02-19", "NULL", "15-10-18"],
                          "income": ["1200", " n/a ", "-", "abc"]})
    mapping = mapping_from_dict({"name": "t", "id": "id", "fields": {"origination_date": "opened",
                                                                     "monthly_income": "income"}}, origin="t")
    hints = decode_hints(apply_mapping(frame, mapping).problems, mapping)
    assert hints[0].startswith("' n/a ' / '-' / 'NULL' read as a value") and 'missing = [" n/a ", "-", "NULL"]' in hints[0]
    # 31-10 and 15-10 can only be day first; "abc" is no remedy's business
    assert hints[1] == ("opened: 3 dates such as '31-10-18' do not read as YYYY-MM-DD; '%d-%m-%y' reads all of them. "
                        'If the whole column is written so: origination_date = { column = "opened", date_format = '
                        '"%d-%m-%y" }; if only these cells are, correct them in the tape')
    assert len(hints) == 2
    ambiguous = frame.assign(opened=["01-02-19", "03-04-19", "", "05-06-19"], income="1200")
    (hint,) = decode_hints(apply_mapping(ambiguous, mapping).problems, mapping)
    assert "'%d-%m-%y' reads all of them ('%m-%d-%y' also read them: check a day above 12)" in hint
    assert decode_hints(apply_mapping(frame.assign(opened="2019-02-01", income="1"), mapping).problems, mapping) == []
    # a column declared "%m/%Y" with one ISO date among them: the hint sees that cell alone, so it names both remedies
    monthly = mapping_from_dict({"name": "t", "id": "id", "fields": {"origination_date": {
        "column": "opened", "date_format": "%m/%Y"}}}, origin="t")
    mixed = pd.DataFrame({"id": ["a", "b", "c"], "opened": ["05/2020", "2020-05-01", "06/2020"]})
    (hint,) = decode_hints(apply_mapping(mixed, monthly).problems, monthly)
    assert hint.startswith("opened: 1 date, '2020-05-01', does not read as %m/%Y; '%Y-%m-%d' reads all of them. ")
    assert hint.endswith("if only these cells are, correct them in the tape")


def test_validate_text_names_the_tapes_own_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A Chinese export's user must see 省份 and 征信评分, the columns of the tape, not only the canonical fields."""
    path, mapping = tmp_path / "zh.csv", tmp_path / "zh.toml"
    pd.DataFrame({"合同编号": ["A", "B"], "省份": ["Henan", "安徽省"], "征信评分": ["650", "x"]}).to_csv(
        path, index=False, encoding="gb18030")
    mapping.write_text('id = "合同编号"\nencoding = "gb18030"\n[fields]\nprovince = "省份"\nbureau_score = "征信评分"\n',
                       encoding="utf-8")
    assert main(["validate", "--tape", str(path), "--mapping", str(mapping), "--max-problems", "50"]) == 1
    out = capsys.readouterr().out
    assert "cells the mapping could not decode (the tape's columns):" in out
    assert "征信评分 -> bureau_score: must be a number" in out
    assert "province (省份)" in out
