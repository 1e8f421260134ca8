"""``poolgate models``: registered versions of the default model, their aliases and their history."""

from __future__ import annotations

import argparse
import sys

from poolgate._console import name_text, print_json, print_table

NAME = "models"
HELP = "list registered model versions, aliases and the promotion history"
DESCRIPTION = ("List every registered version of the default model (aliases, status, run, headline out-of-time "
               "metrics) and every recorded alias change or refusal, with time, reason and metrics.")
ORDER = 44


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model-name", type=name_text, default="poolgate-pd", help="registered model name (default poolgate-pd)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")


def _fmt(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else ("" if value is None else str(value))


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from training.registry import UNMARKED, check_consistency, history, list_versions

    versions = list_versions(args.model_name)
    events = history(args.model_name)
    for problem in check_consistency(args.model_name):  # aliases the history does not explain
        print(f"poolgate models: warning: registry {args.model_name}: {problem}", file=sys.stderr)
    unmarked = [v["version"] for v in versions if v["status"] == UNMARKED]
    if unmarked:
        print(f"poolgate models: note: version(s) {', '.join(unmarked)} of {args.model_name} are unmarked: the "
              "training run that registered them stopped before marking them challenger. They hold no alias, so "
              "screening never uses them; train again for a challenger.", file=sys.stderr)
    if args.json:
        print_json({"model_name": args.model_name, "versions": versions, "history": events})
        return 0
    print(f"{args.model_name}: {len(versions)} version(s)")
    print_table(pd.DataFrame([{
        "version": v["version"], "aliases": ",".join(v["aliases"]), "status": v["status"],
        "auc_oot": _fmt(v["metrics"].get("auc_oot")), "ks_oot": _fmt(v["metrics"].get("ks_oot")),
        "calib_err_oot": _fmt(v["metrics"].get("calibration_error_oot")), "created": v["created"],
        "run_id": v["run_id"]} for v in versions]))
    sys.stdout.write("\nhistory (oldest first):\n")
    print_table(pd.DataFrame([{
        "#": e["seq"], "time": e["time"], "event": e["event"], "version": e["version"],
        "auc": _fmt(e["metrics"].get("auc", e["metrics"].get("auc_oot"))), "reason": e["reason"]}
        for e in events]))
    return 0
