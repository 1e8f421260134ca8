"""Reading and writing tapes: CSV and Parquet, whole or in chunks, with clear errors.

CSV cells are read as text so that validation can report the exact value a user typed;
Parquet keeps its stored types. Every write goes to a temporary file in the target folder
first and is moved into place with :func:`os.replace`, so a killed run leaves either the old
file or the new one, never half of one.
"""

from __future__ import annotations

import codecs
import csv
import glob
import json
import math
import os
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.exceptions import ConfigError, FileValueError, TapeError
from features.staging import remove_stale, temp_prefix

__all__ = [
    "TapeBatches",
    "TomlTable",
    "atomic_write",
    "count_rows",
    "csv_header",
    "iter_table",
    "read_table",
    "read_toml",
    "tape_columns",
    "tape_format",
    "unique_columns",
    "write_json",
    "write_table",
]

_PARQUET_MAGIC = b"PAR1"


def read_toml(path: Path, error: Callable[[str, str, Any, str], FileValueError], what: str) -> dict[str, Any]:
    """The parsed content of a settings TOML file (UTF-8).

    Parameters
    ----------
    path : Path
    error : callable
        The file's error class (``PolicyError``, ``DealError``, ...), called as ``error(file, key,
        value, allowed)``.
    what : str
        What the file is, for the message (``"policy"``).

    Raises
    ------
    FileValueError
        Of the given class, when the file is missing, not UTF-8 text or not valid TOML.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError):
        raise error(str(path), "(file)", str(path), f"an existing {what} TOML file") from None
    except UnicodeDecodeError:
        raise error(str(path), "(file)", str(path), "UTF-8 text") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(str(path), "(file)", str(exc), "valid TOML") from None


class TomlTable:
    """One table of a parsed settings TOML file, read key by key: typed values, errors that name the
    file, the key, the value and what is allowed, and unknown keys refused (:meth:`done`).

    Parameters
    ----------
    error : callable
        The file's error class, called as ``error(file, key, value, allowed)`` (as for :func:`read_toml`).
    file : str
    prefix : str
        The table's dotted name (``"decision"``, ``"classes[0]"``; ``""`` at the top level): the keys
        in messages are ``prefix.key``.
    table : Any
        The parsed value; anything but a table is an error.
    what : str, optional
        How that error names the table (default: ``prefix``, or ``(top level)``).
    """

    def __init__(self, error: Callable[[str, str, Any, str], FileValueError], file: str, prefix: str,
                 table: Any, *, what: str | None = None) -> None:
        self.error, self.file, self.prefix = error, file, prefix
        if not isinstance(table, dict):
            raise error(file, what or prefix or "(top level)", table, "a table")
        self.table: dict[str, Any] = table
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        """The key as messages name it."""
        return f"{self.prefix}.{name}" if self.prefix else name

    def fail(self, name: str, value: Any, allowed: str) -> FileValueError:
        """The error for ``name = value`` (to raise)."""
        return self.error(self.file, self.key(name), value, allowed)

    def get(self, name: str, default: Any = ...) -> Any:
        """The raw value; without ``default`` the key is required."""
        self.used.add(name)
        if name not in self.table:
            if default is ...:
                raise self.fail(name, "(missing)", "a value (the key is required)")
            return default
        return self.table[name]

    def number(self, name: str, *, low: float | None = None, high: float | None = None, default: Any = ...,
               strict_low: bool = False) -> float:
        """A finite number within ``[low, high]`` (``(low, high]`` with ``strict_low``), as a float."""
        value = self.get(name, default)
        allowed = f"a number {_range_text(low, high, strict_low)}".strip()
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or (low is not None and (value <= low if strict_low else value < low)) \
                or (high is not None and value > high):
            raise self.fail(name, value, allowed)
        return float(value)

    def optional_number(self, name: str, *, low: float | None = None, high: float | None = None) -> float | None:
        """:meth:`number`, or None when the key is absent."""
        if self.get(name, None) is None:  # TOML has no null: None is an absent key
            return None
        return self.number(name, low=low, high=high)

    def whole(self, name: str, *, low: int, default: Any = ...) -> int:
        """A whole number >= ``low``."""
        value = self.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise self.fail(name, value, f"a whole number >= {low}")
        return int(value)

    def text(self, name: str, default: Any = ..., choices: tuple[str, ...] | None = None) -> str:
        """A non-empty string (one of ``choices`` when given)."""
        value = self.get(name, default)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, value, "a non-empty string")
        if choices is not None and value not in choices:
            raise self.fail(name, value, "one of " + ", ".join(choices))
        return value

    def done(self) -> None:
        """Refuse a key that no read asked for (a typo would otherwise be ignored silently)."""
        extra = sorted(set(self.table) - self.used)
        if extra:
            raise self.fail(extra[0], self.table[extra[0]], "known keys: " + ", ".join(sorted(self.used)))


def _range_text(low: float | None, high: float | None, strict_low: bool = False) -> str:
    op = ">" if strict_low else ">="
    if low is not None and high is not None:
        return f"{op} {low:g} and <= {high:g}"
    if low is not None:
        return f"{op} {low:g}"
    if high is not None:
        return f"<= {high:g}"
    return ""


def tape_format(path: str | os.PathLike[str]) -> str:
    """Return ``"csv"`` or ``"parquet"`` for ``path``, checking that the file exists and is not empty.

    The suffix decides (``.csv``, ``.csv.gz``, ``.txt``, ``.parquet``, ``.pq``); a file without a
    known suffix is recognised by its content.

    Raises
    ------
    TapeError
        If the file is missing, empty, or neither CSV nor Parquet.
    """
    p = Path(path)
    if not p.exists():
        raise TapeError(f"{p}: no such file")
    if p.is_dir():
        raise TapeError(f"{p}: is a folder, expected a CSV or Parquet file")
    if p.stat().st_size == 0:
        raise TapeError(f"{p}: the file is empty (0 bytes); expected a CSV or Parquet tape with a header row")
    name = p.name.lower()
    with p.open("rb") as fh:
        head = fh.read(4)
    if name.endswith((".parquet", ".pq")):
        if head != _PARQUET_MAGIC:
            raise TapeError(f"{p}: named .parquet but is not a Parquet file (it does not start with PAR1)")
        return "parquet"
    if name.endswith((".csv", ".csv.gz", ".txt", ".tsv")):
        return "csv"
    if head == _PARQUET_MAGIC:
        return "parquet"
    if name.endswith((".xlsx", ".xls", ".json", ".xml", ".zip", ".gz")) or b"\x00" in head:
        raise TapeError(f"{p}: not a CSV or Parquet file (suffix {p.suffix or 'none'}); "
                        "export the tape as .csv (UTF-8) or .parquet")
    return "csv"


def _locate(path: Path, exc: UnicodeDecodeError, encoding: str) -> tuple[bytes, int, int]:
    """The file's bytes, and the offset and 1-based line of its first byte that is not ``encoding`` text
    (the exception may hold only the reader's buffer, so the byte is found in the file)."""
    data = path.read_bytes()
    try:
        data.decode(encoding)
        offset = exc.start
    except UnicodeDecodeError as again:
        offset = again.start
    return data, offset, data.count(b"\n", 0, offset) + 1


def _utf8_error(path: Path, exc: UnicodeDecodeError) -> TapeError:
    """Locate the first byte that is not UTF-8 and say where it is."""
    data, offset, line = _locate(path, exc, "utf-8")
    bad = data[offset:offset + 4].hex(" ")
    return TapeError(
        f"{path}: line {line} (byte {offset}) is not UTF-8 text (bytes {bad}); "
        "save the file as UTF-8, or read it through a mapping that declares its encoding "
        "(encoding = \"gb18030\" for GBK exports)"
    )


def decode_error(path: Path, exc: UnicodeDecodeError, encoding: str) -> TapeError:
    """The error for a CSV that is not text in ``encoding``: where, for UTF-8; else which encoding."""
    name = codecs.lookup(encoding).name
    if name == "utf-8":
        return _utf8_error(path, exc)
    data, offset, line = _locate(path, exc, encoding)
    hint = "check the mapping's encoding"
    if data.startswith(codecs.BOM_UTF8):
        hint = "the file starts with a UTF-8 byte-order mark: it is UTF-8 text (encoding = \"utf-8\")"
    elif name in ("gbk", "gb2312"):
        hint = "GBK lacks some characters of GB18030, which Chinese systems also export: try encoding = \"gb18030\""
    return TapeError(f"{path}: not {encoding} text at line {line} (byte {offset}: {exc.reason}, bytes "
                     f"{data[offset:offset + 4]!r}); {hint}")


def _check_parquet(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise TapeError(f"{path}: cannot be read as Parquet: {exc}") from None


def unique_columns(path: Path, names: list[str]) -> list[str]:
    """``names`` (a tape's header), refused when one is there twice: a reader would keep one copy and
    rename or drop the other without a word, and the copy kept may be the wrong one."""
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            raise TapeError(f"{path}: column {name!r} is in the header twice (columns {seen[name] + 1} and {i + 1}); "
                            "a tape names each column once")
        seen[name] = i
    return names


def csv_header(path: Path, encoding: str) -> list[str]:
    """The CSV header row's names as written (pandas renames a repeated one ``x.1``); [] for an empty file."""
    try:
        with open(path, encoding="utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding,
                  newline="") as fh:
            return next(csv.reader(fh), [])
    except UnicodeDecodeError as exc:
        raise decode_error(path, exc, encoding) from None
    except csv.Error as exc:
        raise TapeError(f"{path}: not a well-formed CSV file: {exc}") from None


def read_table(path: str | os.PathLike[str], *, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a whole CSV or Parquet file into a frame.

    CSV cells come back as text (``str``) with empty cells as missing values.

    Raises
    ------
    TapeError
        If the file is missing, empty, not CSV/Parquet, not UTF-8, or has a header but no rows.
    """
    chunks = list(iter_table(path, chunksize=None, columns=columns))
    return chunks[0]


def iter_table(
    path: str | os.PathLike[str], *, chunksize: int | None = 200_000, columns: list[str] | None = None,
    encoding: str = "utf-8", whole_rows: bool = False,
) -> Iterator[pd.DataFrame]:
    """Yield a CSV or Parquet file as frames of at most ``chunksize`` rows (all of it if ``None``).

    The row index of each chunk continues from the previous one, so ``index`` is the 0-based
    data row number in the file (the CSV header is not counted). ``encoding`` is the CSV's text
    encoding (a UTF-8 byte-order mark is skipped). With ``columns``, a CSV row holding more fields
    than the header loses the extra ones silently (pandas' reader, told to keep some columns only);
    ``whole_rows`` reads every field and keeps ``columns`` after, so such a row is refused as it is
    without ``columns`` (a thousands separator left unquoted shifts every later cell of its row).
    """
    p = Path(path)
    fmt = tape_format(p)
    if fmt == "parquet":
        pf = _check_parquet(p)
        unique_columns(p, list(pf.schema_arrow.names))
        if pf.metadata.num_rows == 0:
            raise TapeError(f"{p}: the tape has no rows")
        start = 0
        batches = ([pf.read(columns=columns)] if chunksize is None
                   else pf.iter_batches(batch_size=chunksize, columns=columns))
        for batch in batches:
            frame = batch.to_pandas()
            frame.index = pd.RangeIndex(start, start + len(frame))
            start += len(frame)
            yield frame
        return
    unique_columns(p, csv_header(p, encoding))
    keep = columns if whole_rows and columns is not None else None
    options: dict[str, Any] = {"dtype": str, "keep_default_na": False, "na_values": [""], "encoding": encoding,
                               "usecols": None if keep is not None else columns}
    try:
        if chunksize is None:
            frame = pd.read_csv(p, **options)
            if len(frame) == 0:
                raise TapeError(f"{p}: the tape has a header but no rows")
            yield _kept(frame, keep, p)
            return
        seen = 0
        with pd.read_csv(p, chunksize=chunksize, **options) as reader:  # closed even if the consumer stops early
            for frame in reader:
                seen += len(frame)
                yield _kept(frame, keep, p)
        if seen == 0:
            raise TapeError(f"{p}: the tape has a header but no rows")
    except UnicodeDecodeError as exc:
        raise decode_error(p, exc, encoding) from None
    except pd.errors.EmptyDataError:
        raise TapeError(f"{p}: the file has no header row and no data") from None
    except pd.errors.ParserError as exc:
        raise TapeError(f"{p}: not a well-formed CSV file: {' '.join(str(exc).split())}") from None
    except ValueError as exc:
        if "Usecols" in str(exc) or "usecols" in str(exc):
            raise TapeError(f"{p}: {exc}") from None
        raise


def _kept(frame: pd.DataFrame, columns: list[str] | None, path: Path) -> pd.DataFrame:
    if columns is None:
        return frame
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise TapeError(f"{path}: columns expected but not found: {missing}")
    return frame[columns]


def tape_columns(path: str | os.PathLike[str], *, encoding: str = "utf-8") -> list[str]:
    """The column names of a tape, read from the Parquet schema or the CSV header row (no data read).

    Raises
    ------
    TapeError
        If the file is missing, empty, not CSV/Parquet, or a CSV without a header row.
    """
    p = Path(path)
    if tape_format(p) == "parquet":
        return unique_columns(p, list(_check_parquet(p).schema_arrow.names))
    unique_columns(p, csv_header(p, encoding))
    try:
        return [str(c) for c in pd.read_csv(p, nrows=0, dtype=str, encoding=encoding).columns]
    except UnicodeDecodeError as exc:
        raise decode_error(p, exc, encoding) from None
    except pd.errors.EmptyDataError:
        raise TapeError(f"{p}: the file has no header row and no data") from None


@dataclass(frozen=True)
class TapeBatches:
    """Some columns of a tape, read afresh on every iteration in frames of at most ``batch_rows`` rows.

    What a long tape (a 24-million-row performance history) is handed around as instead of a frame:
    each pass holds one batch at a time (:func:`iter_table`: ``index`` is the 0-based data row number
    in the file, continued from batch to batch). ``len()`` is the tape's row count (from the Parquet
    metadata; one streaming pass for CSV).

    Parameters
    ----------
    path : path-like
        CSV or Parquet tape.
    columns : tuple of str
        Columns read (each must be in the tape: :func:`tape_columns`).
    batch_rows : int, default 1,000,000
        Rows per batch at most.
    """

    path: Path
    columns: tuple[str, ...]
    batch_rows: int = 1_000_000

    def __post_init__(self) -> None:
        if int(self.batch_rows) < 1:
            raise ConfigError(f"TapeBatches.batch_rows must be >= 1 row, got {self.batch_rows!r}")

    def __iter__(self) -> Iterator[pd.DataFrame]:
        return iter_table(self.path, chunksize=int(self.batch_rows), columns=list(self.columns))

    def __len__(self) -> int:
        return count_rows(self.path)


def count_rows(path: str | os.PathLike[str]) -> int:
    """Number of data rows in a tape (cheap for Parquet, one streaming pass for CSV)."""
    p = Path(path)
    if tape_format(p) == "parquet":
        return int(_check_parquet(p).metadata.num_rows)
    return sum(len(c) for c in iter_table(p, chunksize=500_000, columns=None))


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp_path)`` and move the result to ``path`` atomically.

    The temporary file lives in the target folder (same file system), so the final
    :func:`os.replace` is atomic; on any error the temporary file is removed. Its name holds this
    process's pid (:func:`features.staging.temp_prefix`), and the temporary files of ``path`` that a
    killed process left are removed first (:func:`features.staging.remove_stale`).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(target.parent, (f".{glob.escape(target.name)}.p*.tmp",))
    fd, tmp_name = tempfile.mkstemp(prefix=temp_prefix(target.name), suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``frame`` to ``path`` as CSV or Parquet (by suffix), atomically, without the index."""
    target = Path(path)
    if target.suffix.lower() in (".parquet", ".pq"):
        return atomic_write(target, lambda tmp: frame.to_parquet(tmp, index=False))
    if target.suffix.lower() == ".csv":
        return atomic_write(target, lambda tmp: frame.to_csv(tmp, index=False, lineterminator="\n"))
    raise TapeError(f"{target}: cannot write {target.suffix or 'a file without suffix'}; use .csv or .parquet")


def read_json_object(path: str | os.PathLike[str], *, what: str) -> dict[str, Any]:
    """Read a JSON file that must hold one object (a run's ``summary.json``, a monitor's ``backtest.json``).

    Raises
    ------
    TapeError
        If the file cannot be read, is not UTF-8 JSON, or holds something else than an object; the
        message names the file, where the JSON breaks, and ``what`` the file should be.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise TapeError(f"{p}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); expected {what}") from None
    except UnicodeDecodeError:
        raise TapeError(f"{p}: not UTF-8 text; expected {what}") from None
    except OSError as exc:
        raise TapeError(f"{p}: cannot read ({exc.strerror or exc}); expected {what}") from None
    if not isinstance(data, dict):
        raise TapeError(f"{p}: holds a JSON {type(data).__name__}, not an object; expected {what}")
    return data


def write_json(obj: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``obj`` as indented, key-sorted JSON, atomically."""
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
