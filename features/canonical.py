"""A tape read through a mapping, written back as a canonical tape that every command can read.

``poolgate validate``, ``screen`` and ``train`` take ``--mapping``: the source tape is streamed
through the mapping (:func:`features.mapping.iter_mapped`) and written as a Parquet file whose
columns are canonical field names (``contract_id`` first, then the mapped fields in the mapping's
order) holding the canonical *text* of each value, exactly what a lessor would put in a canonical
CSV: ISO dates, plain numbers, ``true``/``false``, category codes. Rows keep the source order, so
row numbers are the source's data rows.

A cell the mapping could not decode (a code missing from its table, a date in another format, a
word where a number belongs) is written as the source text itself. The canonical data contract then
rejects that cell and names its row, field and value, so a screening run makes the row ``invalid``
with that reason instead of silently reading an empty cell. (A source text that happens to be valid
canonical text passes: an ISO date where the mapping declared ``%m/%Y`` is read as that date. The
mapping's decode problems still list it.) Canonical fields the mapping does not
map are not written; the contract reports each required one as a missing column.

The mapping's extra ``[features]`` follow the canonical fields as text columns named
``x_<column in snake case>`` (:func:`features.mapping.extra_input_name`): the data contract passes
them through and a model trained with them (``poolgate train --mapping``) reads them. The target is
not part of a canonical tape; it (0/1 per row, empty where the cell is empty) is returned beside it
(:attr:`CanonicalCopy.target`) for ``poolgate train``, which labels the rows with it when no
performance history is given.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.contract import empty_problems
from features.io import atomic_write
from features.mapping import MappedTape, Mapping, extra_input_name, iter_mapped
from features.schema import lease_field

__all__ = ["CanonicalCopy", "canonical_text", "write_canonical"]

#: Decode rules whose cell is written back as the source text (the contract then rejects it).
_KEEP_SOURCE_TEXT = ("code", "date_format", "type")


@dataclass
class CanonicalCopy:
    """What :func:`write_canonical` wrote.

    Attributes
    ----------
    path : Path
        The canonical Parquet tape.
    mapping : Mapping
        The mapping the tape was read through, without the optional columns the tape lacks.
    rows : int
        Data rows written (every source row).
    fields : list of str
        Canonical columns written, ``contract_id`` first.
    problems : DataFrame
        The mapping's decode problems (``row``, ``column`` (source column), ``value``, ``rule``,
        ``message``), as :attr:`features.mapping.MappedTape.problems`.
    contract_ids : Series
        ``contract_id`` of every row written, in row order (text).
    filled : set of str
        Columns written with at least one non-empty cell.
    target : Series or None
        ``Int8`` 0/1 outcome of every row (``<NA>`` where empty) when the mapping has a target.
    absent : tuple of str
        Optional source columns of the mapping that the tape lacks (left out; :attr:`MappedTape.absent`).
    """

    path: Path
    mapping: Mapping
    rows: int = 0
    fields: list[str] = field(default_factory=list)
    problems: pd.DataFrame = field(default_factory=pd.DataFrame)
    contract_ids: pd.Series = field(default_factory=lambda: pd.Series(dtype="string"))
    filled: set[str] = field(default_factory=set)
    target: pd.Series | None = None
    absent: tuple[str, ...] = ()


def _text(values: pd.Series, kind: str) -> np.ndarray:
    """Canonical text of typed values (None where empty)."""
    empty = values.isna().to_numpy(dtype=bool)
    if kind == "date":
        text = pd.to_datetime(values).dt.strftime("%Y-%m-%d").astype(object).to_numpy()
    elif kind == "bool":
        text = np.where(values.fillna(False).astype(bool).to_numpy(), "true", "false").astype(object)
    elif kind == "int":
        text = np.array([str(int(v)) if not e else None for v, e in zip(values.tolist(), empty)], dtype=object)
    elif kind == "float":
        text = np.array([repr(float(v)) if not e else None for v, e in zip(values.tolist(), empty)], dtype=object)
    else:
        text = values.astype(object).to_numpy()
    text = np.array(text, dtype=object)  # a writable copy
    text[empty] = None
    return text


def canonical_text(tape: MappedTape) -> pd.DataFrame:
    """The canonical fields of ``tape`` as text columns, undecodable cells holding their source text."""
    rules = {r.field: r for r in tape.mapping.fields}
    out = pd.DataFrame(index=range(len(tape.records)))
    first_row = int(tape.records.index[0]) + 1 if len(tape.records) else 1
    bad = tape.problems[tape.problems["rule"].isin(_KEEP_SOURCE_TEXT) & (tape.problems["row"] > 0)]
    for name in tape.canonical_fields:
        kind = "string" if name == "contract_id" else lease_field(name).kind
        text = _text(tape.records[name].reset_index(drop=True), kind)
        if name in rules:
            hit = bad[bad["column"] == rules[name].column]
            if len(hit):
                pos = hit["row"].to_numpy(dtype=np.int64) - first_row
                text[pos] = hit["value"].astype(str).to_numpy(dtype=object)
        out[name] = pd.array(text, dtype=pd.StringDtype())
    for feat in tape.mapping.features:  # extra inputs: their source text under their model-input name
        out[extra_input_name(feat.column)] = pd.array(
            tape.records[feat.column].reset_index(drop=True).astype("string"), dtype=pd.StringDtype())
    return out


def write_canonical(source: str | os.PathLike[str], mapping: Mapping, dest: str | os.PathLike[str], *,
                    chunksize: int = 200_000, on_chunk: Callable[[int], None] | None = None) -> CanonicalCopy:
    """Stream ``source`` through ``mapping`` into the canonical Parquet tape ``dest`` (written atomically).

    Raises
    ------
    TapeError
        If the source cannot be read or lacks a column the mapping names.
    """
    copy = CanonicalCopy(path=Path(dest), mapping=mapping)
    problems: list[pd.DataFrame] = []
    ids: list[pd.Series] = []
    targets: list[pd.Series] = []

    def write(tmp: Path) -> None:
        writer: pq.ParquetWriter | None = None
        try:
            for part in iter_mapped(source, mapping, chunksize=chunksize):
                frame = canonical_text(part)
                table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
                if writer is None:
                    copy.fields = list(frame.columns)
                    copy.mapping, copy.absent = part.mapping, part.absent
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
                copy.rows += len(frame)
                ids.append(frame["contract_id"])
                copy.filled.update(c for c in frame.columns if frame[c].notna().any())
                if part.target is not None:
                    targets.append(part.target.reset_index(drop=True))
                if not part.problems.empty:
                    problems.append(part.problems)
                if on_chunk is not None:
                    on_chunk(len(frame))
        finally:
            if writer is not None:
                writer.close()

    atomic_write(dest, write)
    copy.problems = pd.concat(problems, ignore_index=True) if problems else empty_problems()
    copy.contract_ids = pd.concat(ids, ignore_index=True) if ids else pd.Series(dtype="string")
    if mapping.target is not None:
        copy.target = pd.concat(targets, ignore_index=True) if targets else pd.Series(dtype="Int8")
    return copy
