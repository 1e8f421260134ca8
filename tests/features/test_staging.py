"""Staging entries name their owner; the next run removes those of killed runs, never a live run's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from features.io import atomic_write
from features.staging import ORPHAN_AGE, make_staging, remove_stale, temp_prefix


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_staging_folder_of_a_dead_process_is_removed_a_live_ones_kept(tmp_path: Path) -> None:
    mine = make_staging(tmp_path, ".screen-")
    assert json.loads((mine / "owner.json").read_text())["pid"] == os.getpid()
    dead = make_staging(tmp_path, ".screen-")
    owner = json.loads((dead / "owner.json").read_text())
    (dead / "owner.json").write_text(json.dumps({**owner, "pid": _dead_pid()}))
    reused = make_staging(tmp_path, ".screen-")   # our pid, but another process start: the pid was reused
    (reused / "owner.json").write_text(json.dumps({**owner, "start": "1"}))
    assert set(remove_stale(tmp_path, (".screen-*",))) == {dead, reused}
    assert mine.is_dir()


def test_an_entry_whose_owner_cannot_be_told_goes_by_age(tmp_path: Path) -> None:
    old, fresh, elsewhere = (tmp_path / ".screen-old", tmp_path / ".screen-fresh", tmp_path / ".screen-other")
    for folder in (old, fresh, elsewhere):
        folder.mkdir()
        (folder / "part.arrow").write_bytes(b"x")
    (elsewhere / "owner.json").write_text(json.dumps({"host": "another-host", "pid": 1, "start": None}))
    stamp = time.time() - ORPHAN_AGE - 60
    for path in (old, old / "part.arrow"):
        os.utime(path, (stamp, stamp))
    assert remove_stale(tmp_path, (".screen-*",)) == [old]
    assert fresh.is_dir() and elsewhere.is_dir()


def test_atomic_write_removes_the_temporary_files_a_killed_writer_left(tmp_path: Path) -> None:
    target = tmp_path / "summary.json"
    ours = temp_prefix(target.name)
    stale = tmp_path / ours.replace(f".p{os.getpid()}h", f".p{_dead_pid()}h").__add__("abc.tmp")
    live = tmp_path / f"{ours}live.tmp"      # this process, writing another copy: kept
    other = tmp_path / ".other.json.p1h000000-x.tmp"  # another target's: not this write's business
    for path in (stale, live, other):
        path.write_text("partial")
    atomic_write(target, lambda tmp: tmp.write_text("{}"))
    assert target.read_text() == "{}"
    assert not stale.exists() and live.exists() and other.exists()
