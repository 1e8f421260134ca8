"""``poolgate validate``: check a tape against the canonical contract."""

from __future__ import annotations

import argparse
import sys

from features.io import count_rows, tape_format
from features.validate import validate_tape
from poolgate._console import print_json, print_table, progress

NAME = "validate"
HELP = "check a lease or performance tape against the data contract"
DESCRIPTION = ("Check every row of a CSV or Parquet tape and print each problem as (row, column, value, rule). "
               "Exit status: 0 clean, 1 problems found, 2 the file cannot be read.")
ORDER = 20


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tape", required=True, help="CSV or Parquet file")
    p.add_argument("--kind", choices=["lease", "performance"], help="table kind (default: from the columns)")
    p.add_argument("--max-problems", type=int, default=50, help="problems printed (default 50; all in --json)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")


def run(args: argparse.Namespace) -> int:
    total = count_rows(args.tape) if tape_format(args.tape) == "parquet" else None
    with progress(total=total, desc="validate") as bar:
        report = validate_tape(args.tape, kind=args.kind, on_chunk=bar.update)
    summary = report.summary()
    if args.json:
        summary["problem_list"] = report.problems.to_dict(orient="records")
        print_json(summary)
        return 0 if report.ok else 1
    if not report.ok:
        print_table(report.problems[["row", "column", "value", "rule", "message"]], max_rows=args.max_problems)
        print()
    print(f"{report.path}: {report.kind} tape, {report.n_rows} rows, {report.n_invalid_rows} rows with problems, "
          f"{len(report.problems)} problems")
    for key, n in report.problems_by_rule().items():
        print(f"  {key}: {n}")
    if report.extra_columns:
        print(f"  columns kept but not in the contract: {', '.join(report.extra_columns)}", file=sys.stderr)
    print("OK" if report.ok else "INVALID")
    return 0 if report.ok else 1
