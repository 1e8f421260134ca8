"""The hash-chained decision log: appends, verification, and every kind of tampering."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from scoring.audit import GENESIS, AuditError, append, check_appendable, find_run, verify


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


def test_a_blank_line_and_a_key_twice_are_named_for_what_they_are(tmp_path: Path) -> None:
    log = _log(tmp_path)
    lines = _lines(log)
    log.write_text("\n" + "".join(lines), encoding="utf-8")  # was reported as a torn write
    assert verify(log).problems[0] == (1, "blank line (inserted)")
    # a key written twice: JSON keeps the last value, which the hash covers, while a reader may see the first
    twice = lines[1].replace('"admit":1', '"admit":7,"admit":1', 1)
    assert twice != lines[1]
    log.write_text("".join([lines[0], twice, *lines[2:]]), encoding="utf-8")
    assert verify(log).problems[0] == (2, "not a JSON record, or a key twice (edited or corrupted)")


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


def test_check_appendable_refuses_what_append_would_and_writes_nothing(tmp_path: Path) -> None:
    log = _log(tmp_path, 2)
    before = log.read_bytes()
    check_appendable(log)                                   # an intact log
    check_appendable(tmp_path / "new" / "deeper" / "d.log")  # a new log in folders append would create
    assert log.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["decisions.log"]
    ordinary = tmp_path / "ordinary.csv"
    ordinary.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(AuditError, match=r"ordinary.csv: the last line is not a decision-log record"):
        check_appendable(ordinary)
    with pytest.raises(AuditError, match=r"ordinary.csv/x.log: cannot be created: .*ordinary.csv is not a folder"):
        check_appendable(ordinary / "x.log")
    with pytest.raises(AuditError, match=r": cannot be opened to append to \(Is a directory\)"):
        check_appendable(tmp_path)
    log.write_bytes(before[:-25])
    with pytest.raises(AuditError, match=r"the last line is incomplete"):
        check_appendable(log)
    assert log.read_bytes() == before[:-25] and ordinary.read_text(encoding="utf-8") == "a,b\n1,2\n"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_check_appendable_refuses_a_folder_nothing_can_be_created_in() -> None:
    with pytest.raises(AuditError, match=r"/proc/nolog/x.log: cannot be created: no file can be created in /proc"):
        check_appendable("/proc/nolog/x.log")
