"""``--mapping`` for the commands that read a lease tape (validate, screen, train).

The source tape is written once through the mapping as a canonical tape
(:func:`features.canonical.write_canonical`) and the command then reads that copy as it reads any
canonical tape. What the mapping could not decode is summarised on stderr.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from features.canonical import CanonicalCopy, write_canonical
from features.exceptions import TapeError
from features.io import count_rows, tape_format
from features.mapping import Mapping, better_builtin, decode_hints, load_mapping, tape_columns
from poolgate._console import progress

__all__ = ["MAPPING_HELP", "canonical_copy", "report_absent"]

log = logging.getLogger(__name__)

MAPPING_HELP = ("read the tape through a mapping: a built-in name (native, regab-autolease, regab-autoloan) or a "
                "mapping TOML file (docs/mappings.md); default: the tape is already canonical")


def report_absent(tape: str | os.PathLike[str], mapping_label: str, absent: tuple[str, ...],
                  mapping: Mapping | None = None) -> None:
    """Name once on stderr the optional columns of the mapping that the tape lacks (they are left out),
    and a built-in mapping that reads more of the tape, if one does (:func:`features.mapping.better_builtin`)."""
    if not absent:
        return
    print(f"{tape}: {len(absent)} column{'s' if len(absent) > 1 else ''} of mapping {mapping_label} not in the "
          f"tape, left out (optional): {', '.join(absent)}", file=sys.stderr)
    if mapping is None:
        return
    try:
        other = better_builtin(tape_columns(tape), mapping)
    except TapeError:  # an XML filing has no header to compare
        return
    if other is not None:
        name, found, named = other
        print(f"  the tape holds {found} of the {named} columns of the built-in mapping {name} and "
              f"{len(mapping.source_columns()) - len(absent)} of mapping {mapping_label}'s: is it a tape for "
              f"--mapping {name}?", file=sys.stderr)


def canonical_copy(tape: str | os.PathLike[str], mapping_name: str, dest: str | os.PathLike[str], *,
                   target: str | None = None, with_target: bool = False) -> CanonicalCopy:
    """Write ``tape`` read through mapping ``mapping_name`` as the canonical tape ``dest``.

    The mapping's extra ``[features]`` are written as ``x_...`` columns beside the canonical fields
    (a model trained with them reads them there). With ``with_target`` the mapping's target (``target`` overrides
    it) is read too and returned as :attr:`CanonicalCopy.target`; otherwise it is ignored.
    """
    mapping = load_mapping(mapping_name)
    mapping = mapping.with_target(target or mapping.target) if with_target else mapping.with_target(None)
    total = count_rows(tape) if tape_format(tape) == "parquet" and mapping.format != "regab-xml" else None
    with progress(total=total, desc="map") as bar:
        copy = write_canonical(tape, mapping, dest, on_chunk=bar.update)
    label = mapping.origin or mapping.name
    print(f"{tape}: {copy.rows} rows read through mapping {label} -> {len(copy.fields)} canonical fields "
          f"({Path(dest).name})", file=sys.stderr)
    report_absent(tape, label, copy.absent, mapping)
    if not copy.problems.empty:
        counts = copy.problems.groupby(["column", "rule"], sort=True).size()
        print(f"  cells the mapping could not decode: {len(copy.problems)}", file=sys.stderr)
        for (column, rule), n in counts.items():
            print(f"    {column} ({rule}): {n}", file=sys.stderr)
        for hint in decode_hints(copy.problems, mapping):
            print(f"  {hint}", file=sys.stderr)
    if copy.target is not None:
        labelled = int(copy.target.notna().sum())
        print(f"  target {mapping.target}: {labelled} rows labelled ({int(copy.target.sum())} defaults), "
              f"{copy.rows - labelled} without a label", file=sys.stderr)
    return copy
