"""The screen, explain and audit commands through poolgate.cli.main."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from poolgate.cli import main
from scoring.policy import default_policy_path
from tests.scoring.conftest import candidate_rows


@pytest.fixture()
def loose_policy(tmp_path: Path) -> Path:
    """The default policy without binding concentration limits (a 200-row tape cannot meet them)."""
    text = re.sub(r"max_share = [0-9.]+", "max_share = 1.0", default_policy_path().read_text(encoding="utf-8"))
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture()
def uniform_tape(tmp_path: Path) -> Path:
    rows = candidate_rows(200, seed=21)
    rows["cutoff_date"] = "2023-06-30"
    rows["origination_date"] = "2022-06-15"
    rows["months_on_book"] = "12"
    rows["term_months"] = rows["term_months"].where(rows["term_months"].isin(["24", "36", "48", "60"]), "36")
    rows["instalments_paid"] = "12"
    path = tmp_path / "pool.csv"
    rows.to_csv(path, index=False)
    return path


def test_screen_json_explain_and_verify(uniform_tape: Path, bundle_dir: Path, tmp_path: Path, loose_policy: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    log, out = tmp_path / "decisions.log", tmp_path / "run"
    rc = main(["screen", "--tape", str(uniform_tape), "--cutoff", "2023-06-30", "--model", str(bundle_dir),
               "--policy", str(loose_policy), "--log", str(log), "--out", str(out), "--json"])
    assert rc == 0
    result = json.loads(capsys.readouterr().out)
    assert sum(result["counts"].values()) == 200 and result["counts"]["admit"] > 0
    assert result["out"] == str(out) and len(result["run_id"]) == 16
    dec = pd.read_parquet(out / "decisions.parquet")
    asset = dec.loc[dec["status"] == "admit", "asset_id"].iloc[0]

    assert main(["explain", "--run", result["run_id"], "--log", str(log), "--asset", asset]) == 0
    text = capsys.readouterr().out
    assert f"asset {asset}" in text and "ADMIT by pd_admit" in text and "all contributions" in text

    assert main(["audit", "verify", "--log", str(log)]) == 0
    assert "intact, 1 records" in capsys.readouterr().out
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    log.write_text(lines[0].replace('"admit":', '"admit":1'), encoding="utf-8")
    assert main(["audit", "verify", "--log", str(log)]) == 1
    assert ":1: record edited" in capsys.readouterr().out


def test_screen_prints_the_pool_table(uniform_tape: Path, bundle_dir: Path, tmp_path: Path, loose_policy: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["screen", "--tape", str(uniform_tape), "--cutoff", "2023-06-30", "--model", str(bundle_dir),
               "--policy", str(loose_policy), "--log", str(tmp_path / "l"), "--out", str(tmp_path / "o")])
    text = capsys.readouterr().out
    assert rc == 0 and "WA PD" in text and "by province" in text and "concentration limits" in text
    summary = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    assert f"{summary['pool']['assets']:,}" in text


def test_errors_are_one_line_with_exit_2(uniform_tape: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["screen", "--tape", str(uniform_tape), "--cutoff", "2023-06-30", "--model", str(tmp_path),
                 "--out", str(tmp_path / "o")]) == 2
    assert "not a LeaseModel folder (no bundle.json)" in capsys.readouterr().err
    assert main(["audit", "verify", "--log", str(tmp_path / "none.log")]) == 2
    assert "no such decision log" in capsys.readouterr().err
    assert main(["explain", "--run", "deadbeef", "--log", str(tmp_path / "none.log"), "--asset", "X"]) == 2
    assert "run 'deadbeef': not a folder" in capsys.readouterr().err


def test_screen_refuses_an_unusable_log_before_writing_anything(uniform_tape: Path, bundle_dir: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    ordinary = tmp_path / "ordinary.csv"
    ordinary.write_text("a,b\n1,2\n", encoding="utf-8")
    for log, what in ((ordinary, "the last line is not a decision-log record"),
                      (ordinary / "x.log", "cannot be created: " + str(ordinary) + " is not a folder")):
        rc = main(["screen", "--tape", str(uniform_tape), "--mapping", "native", "--cutoff", "2023-06-30",
                   "--model", str(bundle_dir), "--log", str(log), "--out", str(tmp_path / "o")])
        err = capsys.readouterr().err
        assert rc == 2 and err == f"poolgate screen: error: {log}: {what}" + (
            "; run `poolgate audit verify`\n" if log == ordinary else "\n")
        assert not (tmp_path / "o").exists()       # not even the --mapping copy
    assert ordinary.read_text(encoding="utf-8") == "a,b\n1,2\n"


def test_a_tape_whose_every_row_is_invalid_says_why_on_stderr(uniform_tape: Path, bundle_dir: Path, tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    args = ["screen", "--tape", str(uniform_tape), "--model", str(bundle_dir), "--log", str(tmp_path / "l"),
            "--out", str(tmp_path / "o"), "--json"]
    with caplog.at_level(logging.WARNING, logger="poolgate.commands.screen"):
        assert main([*args, "--cutoff", "2024-06-30"]) == 0  # the tape's rows are cut off at 2023-06-30
    assert json.loads(capsys.readouterr().out)["counts"]["invalid"] == 200
    (said,) = [r.getMessage() for r in caplog.records if r.name == "poolgate.commands.screen"]
    assert said.startswith("every row (200) failed the data contract; the most frequent reasons: cutoff_date: ")
    assert "(200 rows)" in said and f"`poolgate validate --tape {uniform_tape}` lists every problem" in said
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="poolgate.commands.screen"):
        assert main([*args, "--cutoff", "2023-06-30"]) == 0
    assert not [r for r in caplog.records if r.name == "poolgate.commands.screen"]  # not when rows pass


def test_a_chunksize_below_one_is_refused_before_any_work(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["screen", "--tape", "t.csv", "--cutoff", "2023-06-30", "--out", "o", "--chunksize", "0"])
    assert exc.value.code == 2 and "argument --chunksize: must be a whole number >= 1; got 0" in capsys.readouterr().err


def test_a_run_file_changed_after_the_run_is_named_by_verify_and_explain(
        uniform_tape: Path, bundle_dir: Path, tmp_path: Path, loose_policy: Path, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    log, out = tmp_path / "decisions.log", tmp_path / "run"
    assert main(["screen", "--tape", str(uniform_tape), "--cutoff", "2023-06-30", "--model", str(bundle_dir),
                 "--policy", str(loose_policy), "--log", str(log), "--out", str(out), "--json"]) == 0
    capsys.readouterr()
    assert main(["audit", "verify", "--log", str(log), "--run", str(out)]) == 0  # files as recorded
    assert "intact, 1 records" in capsys.readouterr().out
    dec = pd.read_parquet(out / "decisions.parquet")
    asset = str(dec["asset_id"].iloc[0])
    dec.loc[0, "status"] = "admit" if dec.loc[0, "status"] != "admit" else "reject"
    dec.to_parquet(out / "decisions.parquet", index=False)  # an edit after the run: the log's chain is intact
    assert main(["audit", "verify", "--log", str(log)]) == 0   # the chain alone cannot see it
    capsys.readouterr()
    assert main(["audit", "verify", "--log", str(log), "--run", str(out)]) == 1
    text = capsys.readouterr().out
    assert f"{out / 'decisions.parquet'}: differs from the digest the decision log recorded for run " in text
    assert "decisions.csv" not in text and "TAMPERED or damaged: 1 problems" in text
    with caplog.at_level(logging.WARNING, logger="poolgate.commands.explain"):
        assert main(["explain", "--run", str(out), "--log", str(log), "--asset", asset]) == 0
    said = [r.getMessage() for r in caplog.records if r.name == "poolgate.commands.explain"]
    assert len(said) == 1 and said[0].startswith(f"{out / 'decisions.parquet'}: differs from the digest")
