"""``poolgate promote``: judge the challenger against the champion and move ``champion`` if the gates pass."""

from __future__ import annotations

import argparse
import sys

from poolgate._console import name_text, print_json, print_table

NAME = "promote"
HELP = "promote the challenger model to champion if it passes the written gates"
DESCRIPTION = (
    "Measure the 'challenger' and the 'champion' versions on the same out-of-time rows (the test vintages "
    "logged by the challenger's training run, or the test vintages of --tape/--performance), check the gates "
    "(training/gates.toml or --gates) and move 'champion' only when every gate passes; the first model "
    "becomes champion when it passes the absolute gates. The decision, its reasons and metrics are recorded "
    "in the model's history (`poolgate models`). Exit status: 0 promoted, 1 refused, 2 error.")
ORDER = 42


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model-name", type=name_text, default="poolgate-pd", help="registered model name (default poolgate-pd)")
    p.add_argument("--gates", help="gates TOML (default: training/gates.toml)")
    p.add_argument("--tape", help="judge on this book's test vintages instead (needs --performance)")
    p.add_argument("--performance", help="performance history of --tape")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")


def run(args: argparse.Namespace) -> int:
    from features.exceptions import ConfigError
    from training.gates import load_gates
    from training.registry import promote

    if bool(args.tape) != bool(args.performance):
        raise ConfigError("--tape and --performance go together (the rows to judge on and their history)")
    data = label = None
    if args.tape:
        from features.labels import default_labels
        from training.data import read_training_data
        from training.splits import split_by_vintage

        tables = read_training_data(args.tape, args.performance)
        test = split_by_vintage(tables.book, default_labels(tables.performance)).test
        data = test.records.assign(default=test.y, vintage=test.vintage)
        label = f"test vintages {test.vintages[0]}..{test.vintages[-1]} of {args.tape}"
    decision = promote(args.model_name, gates=load_gates(args.gates), data=data, data_label=label)
    if args.json:
        print_json(decision.to_dict())
        return 0 if decision.promoted else 1
    import pandas as pd

    print(f"{decision.model_name}: challenger version {decision.challenger_version}, champion before: "
          f"{decision.champion_before or 'none'}; judged on {decision.rows} rows ({decision.data})")
    table = pd.DataFrame([{"gate": g.gate, "result": {True: "pass", False: "FAIL", None: "n/a"}[g.passed],
                           "detail": g.detail} for g in decision.gates])
    print_table(table)
    verdict = "PROMOTED" if decision.promoted else "REFUSED"
    sys.stdout.write(f"{verdict}: {decision.reason}\n")
    return 0 if decision.promoted else 1
