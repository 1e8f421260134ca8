"""``poolgate validate``: check a tape against the canonical contract."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from features.canonical import CanonicalCopy
from features.io import count_rows, tape_format
from features.validate import validate_tape
from poolgate._console import print_json, print_table, progress
from poolgate._mapped import MAPPING_HELP, canonical_copy

NAME = "validate"
HELP = "check a lease or performance tape against the data contract"
DESCRIPTION = ("Check every row of a CSV or Parquet tape and print each problem as (row, column, value, rule). "
               "Exit status: 0 clean, 1 problems found, 2 the file cannot be read.")
ORDER = 20


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tape", required=True, help="CSV or Parquet file")
    p.add_argument("--kind", choices=["lease", "performance"], help="table kind (default: from the columns)")
    p.add_argument("--mapping", help=MAPPING_HELP + " (lease tapes only)")
    p.add_argument("--max-problems", type=int, default=50, help="problems printed (default 50; all in --json)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")


def run(args: argparse.Namespace) -> int:
    if args.mapping:
        if args.kind == "performance":
            print("poolgate validate: --mapping reads lease tapes; a performance tape is checked as it is",
                  file=sys.stderr)
            return 2
        with tempfile.TemporaryDirectory(prefix="poolgate-map-") as tmp:
            copy = canonical_copy(args.tape, args.mapping, Path(tmp) / "canonical.parquet")
            return _validate(args, copy.path, copy)
    return _validate(args, args.tape, None)


def _validate(args: argparse.Namespace, path: str | Path, copy: CanonicalCopy | None) -> int:
    total = count_rows(path) if tape_format(path) == "parquet" else None
    with progress(total=total, desc="validate") as bar:
        report = validate_tape(path, kind="lease" if copy is not None else args.kind, on_chunk=bar.update)
    report.path = Path(args.tape)
    decoded_ok = copy is None or copy.problems.empty
    code = 0 if report.ok and decoded_ok else 1
    summary = report.summary()
    if args.json:
        summary["problem_list"] = report.problems.to_dict(orient="records")
        if copy is not None:
            summary["mapping"] = args.mapping
            summary["decode_problems"] = copy.problems.to_dict(orient="records")
            summary["absent_columns"] = list(copy.absent)
            summary["ok"] = code == 0
        print_json(summary)
        return code
    if copy is not None and not copy.problems.empty:   # the source cells, by the user's own column names
        print("cells the mapping could not decode (the tape's columns):")
        print_table(copy.problems[["row", "column", "value", "rule", "message"]], max_rows=args.max_problems,
                    what="problems")
        print()
    if not report.ok:
        problems = report.problems[["row", "column", "value", "rule", "message"]]
        if copy is not None:   # a canonical field and the tape's column it was read from: "province (省份)"
            from features.mapping import load_mapping

            source = {r.field: r.column for r in load_mapping(args.mapping).fields}
            problems = problems.assign(column=[f"{c} ({source[c]})" if source.get(c, c) != c else c
                                               for c in problems["column"]])
        print_table(problems, max_rows=args.max_problems, what="problems")
        print()
    print(f"{report.path}: {report.kind} tape, {report.n_rows} rows, {report.n_invalid_rows} rows with problems, "
          f"{len(report.problems)} problems")
    for key, n in report.problems_by_rule().items():
        print(f"  {key}: {n}")
    if report.extra_columns:
        print(f"  columns kept but not in the contract: {', '.join(report.extra_columns)}", file=sys.stderr)
    print("OK" if code == 0 else "INVALID")
    return code
