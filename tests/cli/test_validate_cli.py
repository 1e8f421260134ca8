"""`poolgate validate` on whole files: clear one-line errors, never a traceback, honest exit codes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from poolgate.cli import main
from tests.features.test_contract import tape


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["validate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_clean_csv_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "pool.csv"
    tape({}, {}).to_csv(path, index=False)
    code, out, _ = run(capsys, "--tape", str(path))
    assert code == 0
    assert "2 rows, 0 rows with problems" in out and out.strip().endswith("OK")


def test_problems_are_listed_and_exit_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "pool.csv"
    tape({}, {"province": "Atlantis", "down_payment": "-1"}).to_csv(path, index=False)
    code, out, _ = run(capsys, "--tape", str(path))
    assert code == 1
    assert "Atlantis" in out and "category" in out and "INVALID" in out
    assert "1 rows with problems" in out


def test_json_output_lists_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    path = tmp_path / "pool.parquet"
    frame = tape({}, {"term_months": "x"}, {})
    frame["duplicate"] = "extra"
    frame.to_parquet(path)
    code, out, _ = run(capsys, "--tape", str(path), "--json")
    doc = json.loads(out)
    assert code == 1 and doc["rows"] == 3 and doc["invalid_rows"] == 1
    assert doc["problem_list"][0]["row"] == 2 and doc["problem_list"][0]["rule"] == "type"
    assert doc["extra_columns"] == ["duplicate"]


def test_duplicates_are_found_across_chunks(tmp_path: Path) -> None:
    from features.validate import validate_tape

    path = tmp_path / "pool.csv"
    frame = tape(*({} for _ in range(5)))
    frame.loc[4, "contract_id"] = "C1"
    frame.to_csv(path, index=False)
    report = validate_tape(path, chunksize=2)
    dups = report.problems[report.problems["rule"] == "unique"].sort_values("row")
    assert dups["row"].tolist() == [1, 5]   # every copy, whichever chunk it is in
    assert dups["message"].tolist() == ["contract_id appears more than once in the tape (again later)",
                                        "contract_id appears more than once in the tape (first at row 1)"]
    whole = validate_tape(path)
    assert whole.n_invalid_rows == report.n_invalid_rows == 2


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.csv", b"", r"the file is empty \(0 bytes\)"),
        ("header.csv", b"contract_id,lessee_id\n", "header but no rows"),
        ("book.xlsx", b"PK\x03\x04 spreadsheet", "not a CSV or Parquet file"),
        ("book.parquet", b"contract_id\nC1\n", "not a Parquet file"),
        ("gbk.csv", "contract_id,province\nC1,河南\n".encode("gbk"), r"line 2 \(byte \d+\) is not UTF-8"),
    ],
)
def test_unreadable_files_give_one_line_and_exit_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    code, _, err = run(capsys, "--tape", str(path))
    assert code == 2
    assert "Traceback" not in err
    assert str(path) in err
    assert len(err.strip().splitlines()) == 1
    import re

    assert re.search(message, err), err


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--tape", str(tmp_path / "nope.csv"))
    assert code == 2 and "no such file" in err


def test_missing_columns_reported_in_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "pool.csv"
    tape({}).drop(columns=["monthly_income", "province"]).to_csv(path, index=False)
    code, out, _ = run(capsys, "--tape", str(path))
    assert code == 1
    assert "required column 'monthly_income' is missing" in out
    assert "required column 'province' is missing" in out


def test_performance_tape_is_detected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "perf.csv"
    pd.DataFrame({"contract_id": ["C1"], "month": ["2024-01-31"], "months_on_book": [1], "dpd": [0],
                  "amount_due": [10.0], "amount_paid": [10.0], "outstanding_principal": [5.0],
                  "status": ["current"]}).to_csv(path, index=False)
    code, out, _ = run(capsys, "--tape", str(path))
    assert code == 0 and "performance tape" in out


def test_terminal_tables_line_up_with_chinese_text() -> None:
    """A Chinese character takes two terminal columns: the columns after it must still line up."""
    import io

    from poolgate._console import print_table

    out = io.StringIO()
    print_table(pd.DataFrame({"make": ["丰田", "BMW", "大众汽车"], "share": ["10%", "5%", "3%"]}), file=out)
    lines = out.getvalue().splitlines()
    wide = [sum(2 if "\u4e00" <= ch <= "\u9fff" else 1 for ch in line.split("  ")[0]) for line in lines]
    starts = [sum(2 if "\u4e00" <= ch <= "\u9fff" else 1 for ch in line[:line.rindex(line.split()[-1])])
              for line in lines]
    assert len(set(starts)) == 1, lines
    assert max(wide) == 8
