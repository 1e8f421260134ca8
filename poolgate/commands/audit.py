"""``poolgate audit verify``: check the hash-chained decision log."""

from __future__ import annotations

import argparse

from poolgate._console import print_json
from scoring.audit import DEFAULT_LOG, run_files_problems, verify

NAME = "audit"
HELP = "check the decision log (audit verify)"
DESCRIPTION = ("`poolgate audit verify [--log FILE] [--run DIR ...]` recomputes every record's hash and the chain "
               "and reports any edited, deleted, inserted, reordered or torn record with its line number; with "
               "--run, also every file of that screening run whose digest is not the one its record holds. "
               "Exit status: 0 intact, 1 problems found, 2 the log cannot be read.")
ORDER = 60


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    v = sub.add_parser("verify", help="verify the decision log", description=DESCRIPTION)
    v.add_argument("--log", default=DEFAULT_LOG, help=f"decision log (default ./{DEFAULT_LOG})")
    v.add_argument("--run", metavar="DIR", action="append", default=[],
                   help="also check that this screening output folder's files are those the log recorded "
                        "(their digests); repeatable")
    v.add_argument("--json", action="store_true", help="one JSON object on stdout")


def run(args: argparse.Namespace) -> int:
    report = verify(args.log)
    for folder in args.run:  # the chain proves the log; the digests prove the files it describes
        report.problems += [(0, problem) for problem in run_files_problems(folder, args.log)]
    if args.json:
        print_json({"log": str(report.path), "ok": report.ok, "records": report.records, "head": report.head,
                    "problems": [{"line": line, "problem": text} for line, text in report.problems]})
        return 0 if report.ok else 1
    for line, text in report.problems:  # line 0: a run's file, not a line of the log
        print(f"{report.path}:{line}: {text}" if line else text)
    if report.ok:
        print(f"{report.path}: intact, {report.records} records, head {report.head}")
        return 0
    print(f"{report.path}: TAMPERED or damaged: {len(report.problems)} problems in {report.records} records")
    return 1
