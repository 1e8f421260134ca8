"""``poolgate explain``: print one asset's decision in full."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import pandas as pd

from poolgate._console import print_json, print_table
from scoring.audit import DEFAULT_LOG, run_files_problems
from scoring.lookup import asset_decisions, find_run_dir

NAME = "explain"
HELP = "print one asset's decision in full: status, rules, reason codes, every contribution"
DESCRIPTION = ("Print the decision of asset ID (its contract_id) in screening run RUN: status, PD, score, failed "
               "rules, data-contract problems, reason codes and every feature's contribution in log-odds and "
               "score points, relative to the model's base value. RUN is an output folder of `poolgate screen` "
               "or a run id found in the decision log. When the decision log is there, a run file changed since "
               "the run (its digest is not the one the log recorded) is named in a warning.")
ORDER = 45

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, help="screening output folder or run id")
    p.add_argument("--asset", required=True, help="asset id (contract_id)")
    p.add_argument("--log", default=DEFAULT_LOG, help=f"decision log used to find a run id (default ./{DEFAULT_LOG})")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")


def run(args: argparse.Namespace) -> int:
    run_dir = find_run_dir(args.run, args.log)
    found = asset_decisions(run_dir, args.asset)
    if Path(args.log).is_file():  # the files must be those the log describes, or the explanation is of something else
        for problem in run_files_problems(run_dir, args.log):
            log.warning("%s", problem)
    if args.json:
        print_json({"asset": args.asset, "decisions": [
            {"decision": f.decision, "contributions": f.contributions, "run": f.run} for f in found]})
        return 0
    for f in found:
        d = f.decision
        print(f"asset {d['asset_id']} (tape row {d['row']}): {str(d['status']).upper()} by {d['decided_by']}")
        if d["pd"] is not None:
            print(f"  PD {d['pd']:.4%}  score {d['score']:.1f}  raw log-odds {d['raw_score']:.4f} "
                  f"= base value {d['base_value']:.4f} + contributions {d['raw_score'] - d['base_value']:+.4f}")
        if d["note"]:
            print(f"  {d['note']}")
        for item in json.loads(d["failed_rules"]):
            print(f"  failed rule {item['code']}: {item['message']}")
        for item in json.loads(d["invalid_reasons"]):
            print(f"  invalid: column {item['column']} value {item['value']!r} rule {item['rule']}: {item['message']}")
        i = 1
        while f"reason_{i}_feature" in d:
            if d[f"reason_{i}_feature"]:
                print(f"  reason {i}: {d[f'reason_{i}_text']} ({d[f'reason_{i}_logodds']:+.4f} log-odds, "
                      f"{d[f'reason_{i}_points']:+.1f} points)")
            i += 1
        if f.contributions:
            ppl = f.run.get("points_per_logodds")
            frame = pd.DataFrame({"feature": list(f.contributions), "logodds": list(f.contributions.values())})
            frame = frame.reindex(frame["logodds"].abs().sort_values(ascending=False, kind="stable").index)
            if ppl is not None:
                frame["points"] = (frame["logodds"] * ppl).round(2) + 0.0
            frame["logodds"] = frame["logodds"].round(5)
            print("  all contributions (log-odds of default; positive raised the risk):")
            print_table(frame)
        print(f"  model {d['model_uri']} {d['model_version']}  policy {d['policy_hash'][:16]}  run {d['run_id']}")
    return 0
