"""``poolgate audit verify``: check the hash-chained decision log."""

from __future__ import annotations

import argparse

from poolgate._console import print_json
from scoring.audit import DEFAULT_LOG, verify

NAME = "audit"
HELP = "check the decision log (audit verify)"
DESCRIPTION = ("`poolgate audit verify [--log FILE]` recomputes every record's hash and the chain and reports "
               "any edited, deleted, inserted, reordered or torn record with its line number. "
               "Exit status: 0 intact, 1 problems found, 2 the log cannot be read.")
ORDER = 60


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    v = sub.add_parser("verify", help="verify the decision log", description=DESCRIPTION)
    v.add_argument("--log", default=DEFAULT_LOG, help=f"decision log (default ./{DEFAULT_LOG})")
    v.add_argument("--json", action="store_true", help="one JSON object on stdout")


def run(args: argparse.Namespace) -> int:
    report = verify(args.log)
    if args.json:
        print_json({"log": str(report.path), "ok": report.ok, "records": report.records, "head": report.head,
                    "problems": [{"line": line, "problem": text} for line, text in report.problems]})
        return 0 if report.ok else 1
    for line, text in report.problems:
        print(f"{report.path}:{line}: {text}")
    if report.ok:
        print(f"{report.path}: intact, {report.records} records, head {report.head}")
        return 0
    print(f"{report.path}: TAMPERED or damaged: {len(report.problems)} problems in {report.records} records")
    return 1
