"""The hash-chained decision log: appends, verification, and every kind of tampering."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from scoring.audit import GENESIS, AuditError, append, find_run, verify


def _clock() -> dt.datetime:
    return dt.datetime(2026, 6, 30, 12, 0, tzinfo=dt.UTC)


def _log(tmp_path: Path, n: int = 4) -> Path:
    log = tmp_path / "decisions.log"
    for i in range(n):
        append(log, {"run_id": f"run{i}", "policy_hash": "p", "counts": {"admit": i}}, now=_clock)
    return log


def _lines(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").splitlines(keepends=True)


def test_intact_log_verifies_and_chains(tmp_path: Path) -> None:
    log = _log(tmp_path)
    report = verify(log)
    assert report.ok and report.records == 4
    recs = [json.loads(line) for line in _lines(log)]
    assert recs[0]["prev_hash"] == GENESIS and recs[0]["seq"] == 1
    assert [r["prev_hash"] for r in recs[1:]] == [r["hash"] for r in recs[:-1]]
    assert report.head == recs[-1]["hash"] and recs[0]["time"] == "2026-06-30T12:00:00+00:00"
    assert find_run(log, "run2")["seq"] == 3


def test_edited_record_is_reported_with_its_line(tmp_path: Path) -> None:
    log = _log(tmp_path)
    lines = _lines(log)
    lines[1] = lines[1].replace('"admit":1', '"admit":7')
    log.write_text("".join(lines), encoding="utf-8")
    report = verify(log)
    assert report.problems == [(2, "record edited: its content does not match its hash")]


def test_deleted_record_is_reported(tmp_path: Path) -> None:
    log = _log(tmp_path)
    lines = _lines(log)
    del lines[1]
    log.write_text("".join(lines), encoding="utf-8")
    problems = verify(log).problems
    assert [p[0] for p in problems] == [2, 2]
    assert "chain broken" in problems[0][1] and "sequence number 3, expected 2" in problems[1][1]


def test_reordered_records_are_reported(tmp_path: Path) -> None:
    log = _log(tmp_path)
    lines = _lines(log)
    lines[1], lines[2] = lines[2], lines[1]
    log.write_text("".join(lines), encoding="utf-8")
    lines_with_problems = sorted({p[0] for p in verify(log).problems})
    assert lines_with_problems == [2, 3, 4]


def test_truncated_last_line_is_reported_and_blocks_appends(tmp_path: Path) -> None:
    log = _log(tmp_path)
    data = log.read_bytes()
    log.write_bytes(data[:-25])
    report = verify(log)
    assert report.problems == [(4, "incomplete last line (a torn write)")]
    with pytest.raises(AuditError, match=r"the last line is incomplete .* `poolgate audit verify`"):
        append(log, {"run_id": "more"})


def test_missing_log_and_reserved_keys(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match=r"no such decision log"):
        verify(tmp_path / "none.log")
    with pytest.raises(AuditError, match=r"entry may not set \['hash', 'seq'\]"):
        append(tmp_path / "x.log", {"seq": 3, "hash": "h"})
    with pytest.raises(AuditError, match=r"no screening run 'zzz'"):
        find_run(_log(tmp_path, 1), "zzz")
