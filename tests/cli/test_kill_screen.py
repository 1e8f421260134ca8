"""``poolgate screen`` killed with SIGKILL while reading, scoring, writing and appending to the log.

After each kill: every output file in the folder is whole (the previous run's, or this one's moved
complete), the decision log verifies with no partial record, and the killed run's staging folder is
there. The next run in the folder removes the staging folders of killed runs, never the one of a run
still alive.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from scoring import audit
from scoring.policy import default_policy_path
from tests.cli.kill import kill, kill_at, run, start_paused
from tests.scoring.conftest import bundle_dir, candidate_rows  # noqa: F401  (bundle_dir: a fixture)

ROWS = 200
STAGES = ("screen.read", "screen.score", "screen.write", "log.append")


@pytest.fixture()
def screen_args(tmp_path: Path, bundle_dir: Path) -> list[str]:  # noqa: F811
    rows = candidate_rows(ROWS, seed=21)
    rows["cutoff_date"] = "2023-06-30"
    rows["origination_date"] = "2022-06-15"
    rows["months_on_book"] = "12"
    rows["instalments_paid"] = "12"
    rows.to_csv(tmp_path / "pool.csv", index=False)
    policy = tmp_path / "policy.toml"
    policy.write_text(re.sub(r"max_share = [0-9.]+", "max_share = 1.0",
                             default_policy_path().read_text(encoding="utf-8")), encoding="utf-8")
    return ["screen", "--tape", str(tmp_path / "pool.csv"), "--cutoff", "2023-06-30", "--model", str(bundle_dir),
            "--policy", str(policy), "--log", str(tmp_path / "decisions.log"), "--out", str(tmp_path / "out"),
            "--chunksize", "64"]


def _staging(out: Path) -> set[str]:
    return {p.name for p in out.glob(".screen-*")}


def _check_outputs_whole(out: Path) -> None:
    """Each output present is a complete file: every row, readable to the end."""
    assert not list(out.glob(".*.tmp"))
    if (out / "decisions.parquet").exists():
        assert pq.read_table(out / "decisions.parquet").num_rows == ROWS
    if (out / "decisions.csv").exists():
        assert len(pd.read_csv(out / "decisions.csv", dtype=str)) == ROWS
    if (out / "contributions.parquet").exists():
        pq.read_table(out / "contributions.parquet")
    if (out / "summary.json").exists():
        assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["run"]["rows"] == ROWS


def _check_log(log: Path, records: int) -> None:
    report = audit.verify(log)
    assert report.ok, report.problems
    assert report.records == records
    assert log.read_bytes().endswith(b"\n")


@pytest.mark.slow
def test_screen_killed_at_each_stage_leaves_whole_files_and_a_sound_log(tmp_path: Path,
                                                                       screen_args: list[str]) -> None:
    out, log = tmp_path / "out", tmp_path / "decisions.log"
    run(screen_args, tmp_path)
    _check_log(log, 1)
    for stage in STAGES:
        before = _staging(out)
        kill_at(screen_args, tmp_path, stage)
        _check_outputs_whole(out)
        _check_log(log, 1)                                  # no record, and no partial one
        assert len(_staging(out) - before) == 1             # the killed run's staging folder stays ...

    live = start_paused(screen_args, tmp_path, "screen.score")   # a run in progress in the same folder
    try:
        live_staging = {p.name for p in out.glob(".screen-*")
                        if json.loads((p / "owner.json").read_text())["pid"] == live.pid}
        assert len(live_staging) == 1
        run(screen_args, tmp_path)                          # ... until the next run removes it
        assert _staging(out) == live_staging                # but never the folder of a live run
        _check_log(log, 2)
    finally:
        kill(live)
    run(screen_args, tmp_path)
    assert _staging(out) == set()
    _check_outputs_whole(out)
    _check_log(log, 3)


def test_a_mapped_screen_killed_while_copying_leaves_no_temporary_file(tmp_path: Path,
                                                                       screen_args: list[str]) -> None:
    args = [*screen_args, "--mapping", "native"]
    kill_at(args, tmp_path, "screen.read")
    out = tmp_path / "out"
    assert (out / "mapped_tape.parquet").exists() and not list(out.glob(".*.tmp"))
    assert not (tmp_path / "decisions.log").exists()
    run(args, tmp_path)
    _check_log(tmp_path / "decisions.log", 1)
    assert _staging(out) == set()
