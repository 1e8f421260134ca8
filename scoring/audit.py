"""The decision log: an append-only, hash-chained JSON-lines file of screening runs.

Each line is one JSON object with sorted keys: ``seq`` (1, 2, ...), ``prev_hash`` (the ``hash`` of
the line before; 64 zeros for the first), ``time`` (UTC, ISO 8601), the run's identifiers and
digests, and ``hash``: the sha256 of the record's canonical JSON without ``hash``. Editing a record
changes its hash; deleting or reordering records breaks the ``seq`` and ``prev_hash`` chain;
:func:`verify` reports each with its line number. Deleting the *last* records leaves a valid shorter
chain: to catch that, compare the log's head hash with one kept elsewhere (``poolgate screen``
prints the hash of the record it appended; the trustee can keep it).

Appends are atomic for readers and other poolgate processes: the file is locked (``flock``), the last
line is checked to be complete, and the new record is written with a single ``os.write`` on a file
opened with ``O_APPEND``, then ``fsync``-ed. A run killed before that write leaves no record at all; a
torn write (power loss) leaves a last line without its newline, which :func:`verify` reports and
:func:`append` refuses to build on. :func:`check_appendable` makes the same checks without writing, so a
run can refuse a log it could not append to before it writes anything.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from features.exceptions import PoolgateError
from features.pause import pause_point

__all__ = [
    "DEFAULT_LOG",
    "GENESIS",
    "RUN_FILE_DIGESTS",
    "AuditError",
    "VerifyReport",
    "append",
    "changed_files",
    "check_appendable",
    "file_digest",
    "find_run",
    "monitor_files_problems",
    "read_records",
    "run_files_problems",
    "verify",
]

GENESIS = "0" * 64
DEFAULT_LOG = "poolgate-decisions.log"


class AuditError(PoolgateError, ValueError):
    """The decision log cannot be read or appended to."""


@dataclass
class VerifyReport:
    """Outcome of :func:`verify`: ``problems`` holds (line number, message); ``ok`` when there are none."""

    path: Path
    records: int = 0
    head: str = GENESIS
    problems: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def file_digest(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """sha256 (hex) of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _canonical(record: Mapping[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _record_hash(record: Mapping[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(_canonical(body).encode("utf-8")).hexdigest()


def _last_line(fd: int, path: Path) -> bytes | None:
    """The last complete line of the open log (None when empty); refuses a partial last line."""
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    block = 1 << 16
    pos, tail = size, b""
    while pos > 0:
        step = min(block, pos)
        pos -= step
        tail = os.pread(fd, step, pos) + tail
        if tail.count(b"\n") >= 2 or pos == 0:
            break
    if not tail.endswith(b"\n"):
        raise AuditError(f"{path}: the last line is incomplete (no newline at the end); a write was torn. "
                         "Run `poolgate audit verify` and repair the log before appending")
    return tail[:-1].rsplit(b"\n", 1)[-1]


def _chain_head(last: bytes | None, path: Path) -> tuple[str, int]:
    """(hash of the last record, seq of the next) from the log's last complete line (None when empty)."""
    if last is None:
        return GENESIS, 1
    try:
        rec = json.loads(last)
        return str(rec["hash"]), int(rec["seq"]) + 1
    except (ValueError, KeyError, TypeError):
        raise AuditError(f"{path}: the last line is not a decision-log record; "
                         "run `poolgate audit verify`") from None


def check_appendable(path: str | os.PathLike[str]) -> None:
    """Check, writing nothing, that :func:`append` could add a record to the log at ``path`` now.

    An existing log must be a regular file open for reading and writing whose last line is a complete
    record; a new one needs a folder it can be created in (the nearest existing folder on its path must
    accept a new file: tried with an anonymous temporary file, which leaves nothing behind).

    Raises
    ------
    AuditError
        Naming the file and what is wrong.
    """
    p = Path(path)
    if not p.exists():
        folder = p.parent
        while not folder.exists() and folder != folder.parent:  # the nearest folder that exists
            folder = folder.parent
        if not folder.is_dir():
            raise AuditError(f"{p}: cannot be created: {folder} is not a folder")
        try:
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            raise AuditError(f"{p}: cannot be created: no file can be created in {folder} "
                             f"({exc.strerror or exc})") from None
        return
    try:
        fd = os.open(p, os.O_RDWR | os.O_APPEND)  # a folder or a file without write permission fails here
    except OSError as exc:
        raise AuditError(f"{p}: cannot be opened to append to ({exc.strerror or exc})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise AuditError(f"{p}: not a regular file; the decision log must be one")
        _chain_head(_last_line(fd, p), p)
    finally:
        os.close(fd)


def append(path: str | os.PathLike[str], entry: Mapping[str, Any], *,
           now: Callable[[], dt.datetime] | None = None) -> dict[str, Any]:
    """Append one record for ``entry`` (run id, model, policy, digests, counts, ...) and return it.

    Raises
    ------
    AuditError
        If the log's last line is incomplete or not a log record.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        rfd = os.open(p, os.O_RDONLY)
        try:
            last = _last_line(rfd, p)
        finally:
            os.close(rfd)
        prev, seq = _chain_head(last, p)
        clock = now or (lambda: dt.datetime.now(dt.UTC))
        reserved = {"seq", "prev_hash", "time", "hash"} & set(entry)
        if reserved:
            raise AuditError(f"{p}: entry may not set {sorted(reserved)}; they are filled by the log")
        record: dict[str, Any] = {**entry, "seq": seq, "prev_hash": prev,
                                  "time": clock().astimezone(dt.UTC).isoformat(timespec="seconds")}
        record["hash"] = _record_hash(record)
        line = (_canonical(record) + "\n").encode("utf-8")
        pause_point("log.append")
        written = os.write(fd, line)
        if written != len(line):  # pragma: no cover - regular files take the whole write or fail
            raise AuditError(f"{p}: short write ({written} of {len(line)} bytes)")
        os.fsync(fd)
        return record
    finally:
        os.close(fd)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):  # JSON would keep the last: a line could show one value and hash another
        raise ValueError(f"a key twice: {sorted({k for k in keys if keys.count(k) > 1})}")
    return dict(pairs)


def read_records(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """Yield (line number, parsed record or None, raw text) for every line of the log; the text is None
    for a torn last line (no newline after it). A line that holds a key twice is not a record."""
    p = Path(path)
    if not p.exists():
        raise AuditError(f"{p}: no such decision log")
    data = p.read_bytes()
    lines = data.split(b"\n")
    complete = data.endswith(b"\n") or not data
    if complete:
        lines = lines[:-1]
    for i, raw in enumerate(lines, start=1):
        text = raw.decode("utf-8", errors="replace")
        partial = (not complete) and i == len(lines)
        try:
            rec = None if partial else json.loads(text, object_pairs_hook=_unique_keys)
        except ValueError:
            rec = None
        yield i, (rec if isinstance(rec, dict) else None), (None if partial else text)


def verify(path: str | os.PathLike[str]) -> VerifyReport:
    """Check every record's hash and the chain; report each problem with its line number.

    Raises
    ------
    AuditError
        If the log file does not exist.
    """
    report = VerifyReport(path=Path(path))
    prev, expected_seq = GENESIS, 1
    for line, rec, text in read_records(path):
        if rec is None:
            what = ("incomplete last line (a torn write)" if text is None
                    else "blank line (inserted)" if not text.strip()
                    else "not a JSON record, or a key twice (edited or corrupted)")
            report.problems.append((line, what))
            continue
        report.records += 1
        stored = rec.get("hash")
        if stored != _record_hash(rec):
            report.problems.append((line, "record edited: its content does not match its hash"))
        if rec.get("prev_hash") != prev:
            report.problems.append((line, ("chain broken: prev_hash is not the hash of the record before "
                                           "(a record was deleted, inserted or reordered)")))
        if rec.get("seq") != expected_seq:
            report.problems.append((line, (f"sequence number {rec.get('seq')!r}, expected {expected_seq} "
                                           "(a record was deleted, inserted or reordered)")))
        prev = str(stored)
        seq = rec.get("seq")
        expected_seq = (seq if isinstance(seq, int) else expected_seq) + 1
    report.head = prev
    return report


#: The files of a screening run and the key of each one's digest in the run's log record.
RUN_FILE_DIGESTS = (("decisions.parquet", "decisions_digest"), ("decisions.csv", "decisions_csv_digest"),
                    ("contributions.parquet", "contributions_digest"), ("summary.json", "summary_digest"))


def _changed(folder: str | os.PathLike[str], digests: Mapping[str, str]) -> list[str]:
    """The files of ``folder`` whose digest is no longer the one ``digests`` (file name -> sha256) holds;
    a file that is gone is not compared."""
    d = Path(folder)
    return [name for name, digest in digests.items() if (d / name).is_file() and file_digest(d / name) != digest]


def changed_files(run_dir: str | os.PathLike[str], record: Mapping[str, Any]) -> list[str]:
    """The files of a screening run whose digest is no longer the one its log ``record`` holds.

    The chain (:func:`verify`) proves the log was not edited; this proves the run's files are the ones
    the log describes. A file the record has no digest for, or that is gone, is not compared.
    """
    return _changed(run_dir, {name: record[key] for name, key in RUN_FILE_DIGESTS if key in record})


def monitor_files_problems(folder: str | os.PathLike[str], monitor_id: str,
                           log_path: str | os.PathLike[str]) -> list[str]:
    """What is wrong between a ``poolgate monitor`` output folder and its record (``monitor_id``) in the
    log at ``log_path``: the record missing, or each file whose digest is not the one it holds."""
    found = _latest(log_path, record="monitoring", monitor_id=monitor_id)
    if found is None:
        return [f"{log_path}: no monitoring record {monitor_id!r} in the decision log"]
    return [f"{Path(folder) / name}: differs from the digest the decision log recorded for monitor {monitor_id} "
            "(changed after the run)" for name in _changed(folder, dict(found.get("digests") or {}))]


def run_files_problems(run_dir: str | os.PathLike[str], log_path: str | os.PathLike[str]) -> list[str]:
    """What is wrong between a screening run's files and its record in the log at ``log_path``: the
    record missing, or each file changed since (:func:`changed_files`); empty when they agree."""
    summary = Path(run_dir) / "summary.json"
    try:
        run_id = str(json.loads(summary.read_text(encoding="utf-8"))["run"]["run_id"])
        record = find_run(log_path, run_id)
    except (OSError, ValueError, KeyError, TypeError):
        return [f"{summary}: no run id to look up in the decision log"]
    except AuditError as exc:
        return [str(exc)]
    return [f"{Path(run_dir) / name}: differs from the digest the decision log recorded for run {run_id} "
            "(changed after the run)" for name in changed_files(run_dir, record)]


def find_run(path: str | os.PathLike[str], run_id: str) -> dict[str, Any]:
    """The latest log record of ``run_id``.

    Raises
    ------
    AuditError
        If the log is missing or holds no record of that run.
    """
    found = _latest(path, run_id=run_id)
    if found is None:
        raise AuditError(f"{path}: no screening run {run_id!r} in the decision log")
    return found


def _latest(path: str | os.PathLike[str], **match: Any) -> dict[str, Any] | None:
    """The last record of the log whose keys hold the values of ``match``; None when none does."""
    found: dict[str, Any] | None = None
    for _, rec, _ in read_records(path):
        if rec is not None and all(rec.get(k) == v for k, v in match.items()):
            found = rec
    return found
