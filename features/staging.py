"""Staging files and folders that name their owner, and removal of those a killed run left behind.

A command writes its outputs in a staging folder (or a temporary file) beside the target and moves
them into place when they are complete. A run killed with SIGKILL cannot clean up, so the staging
entry stays. Each one names its owner: a staging folder holds ``owner.json`` (host, pid and the
process's start time), a temporary file carries ``.p<pid>h<host hash>-`` in its name. :func:`remove_stale`,
called by the next run that writes in the same folder, removes an entry only when its owner is
certainly gone: the same host and no process with that pid and start time (a pid the system reused
for another process does not count as the owner). An entry whose owner cannot be told (a folder of
another host, or without ``owner.json`` because the run was killed before writing it) is removed once
nothing in it has changed for :data:`ORPHAN_AGE` seconds. A live run's entry is never removed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import socket
import tempfile
import time
from pathlib import Path

__all__ = ["ORPHAN_AGE", "make_staging", "owner_alive", "remove_stale", "temp_prefix", "this_owner"]

log = logging.getLogger(__name__)

#: Seconds without a change after which an entry whose owner cannot be told is removed (one day).
ORPHAN_AGE = 24 * 3600.0
OWNER_FILE = "owner.json"
_OWNER_IN_NAME = re.compile(r"\.p(\d+)h([0-9a-f]{6})-")


def _host_tag() -> str:
    """Six hex digits of the host name, so that a temporary file names its host as well as its pid."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]


def _start_time(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot, Linux ``/proc``), None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def owner_alive(owner: dict[str, object]) -> bool | None:
    """Whether the process that wrote ``owner`` still runs: True, False, or None when it cannot be told
    (another host)."""
    if owner.get("host") != socket.gethostname():
        return None
    pid = owner.get("pid")
    if not isinstance(pid, int) or not _pid_alive(pid):
        return False
    started = owner.get("start")
    return started is None or _start_time(pid) in (None, started)


def this_owner() -> dict[str, object]:
    """This process as an owner: ``host``, ``pid`` and ``start`` (what :func:`owner_alive` reads)."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "start": _start_time(os.getpid())}


def make_staging(folder: str | os.PathLike[str], prefix: str) -> Path:
    """Create a staging folder ``<folder>/<prefix>XXXXXXXX`` that names this process as its owner."""
    staging = Path(tempfile.mkdtemp(prefix=prefix, dir=folder))
    (staging / OWNER_FILE).write_text(json.dumps(this_owner()), encoding="utf-8")
    return staging


def temp_prefix(name: str) -> str:
    """The prefix of a temporary file for target ``name`` that names this process and host:
    ``.<name>.p<pid>h<host hash>-``."""
    return f".{name}.p{os.getpid()}h{_host_tag()}-"


def _newest_change(path: Path) -> float:
    try:
        times = [path.lstat().st_mtime]
        if path.is_dir():
            times += [p.lstat().st_mtime for p in path.rglob("*")]
    except OSError:
        return time.time()
    return max(times)


def _stale(path: Path, now: float) -> bool:
    if path.is_dir():
        try:
            owner = json.loads((path / OWNER_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            owner = None
        alive = owner_alive(owner) if isinstance(owner, dict) else None
    else:
        match = _OWNER_IN_NAME.search(path.name)
        # a dead pid of this host: the writer is gone; a live one may be a reused pid: judge by age then
        alive = None
        if match and match.group(2) == _host_tag() and not _pid_alive(int(match.group(1))):
            alive = False
    if alive is None:
        return now - _newest_change(path) > ORPHAN_AGE
    return not alive


def remove_stale(folder: str | os.PathLike[str], patterns: tuple[str, ...]) -> list[Path]:
    """Remove the entries of ``folder`` matching the glob ``patterns`` whose owner is gone.

    Returns
    -------
    list of Path
        The entries removed (each also logged once at INFO level).
    """
    base = Path(folder)
    if not base.is_dir():
        return []
    now = time.time()
    removed = []
    for pattern in patterns:
        for path in sorted(base.glob(pattern)):
            if not _stale(path, now):
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            if not path.exists():
                removed.append(path)
    if removed:
        log.info("removed %d staging entr%s left by killed runs in %s: %s", len(removed),
                 "y" if len(removed) == 1 else "ies", base, ", ".join(p.name for p in removed))
    return removed
