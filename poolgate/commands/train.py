"""``poolgate train``: a training run on a book and its performance history, logged to MLflow."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from poolgate._console import print_json
from poolgate._mapped import MAPPING_HELP, canonical_copy

NAME = "train"
HELP = "train the default model on a book and its history; log to MLflow; register a challenger"
DESCRIPTION = (
    "Label the book from its performance history (default = 90+ dpd within 24 months), split it out of time "
    "by origination vintage, search LightGBM settings on the validation vintages, fit the monotone model, its "
    "calibration and the WoE scorecard challenger, measure them on the latest (test) vintages, log everything "
    "to MLflow (default: sqlite:///mlflow.db in this folder; MLFLOW_TRACKING_URI overrides) and register the "
    "model as a new version with alias 'challenger'. See docs/training.md.")
ORDER = 40


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tape", required=True, help="book of canonical lease records (CSV or Parquet)")
    p.add_argument("--mapping", help=MAPPING_HELP + " (the book; the performance history stays canonical)")
    p.add_argument("--performance", required=True, help="monthly performance history (CSV or Parquet)")
    p.add_argument("--truth", help="generator truth with pd_24m (synthetic books only): adds oracle metrics")
    p.add_argument("--experiment", default="poolgate", help="MLflow experiment (default poolgate)")
    p.add_argument("--model-name", default="poolgate-pd", help="registered model name (default poolgate-pd)")
    p.add_argument("--seed", type=int, default=0, help="seed of the search and the model (default 0)")
    p.add_argument("--policy", help="policy TOML stored with the model (default: the shipped screening policy)")
    p.add_argument("--candidates", type=int, default=8, help="parameter sets tried in the search (default 8)")
    p.add_argument("--keep", type=int, default=3, help="candidates re-fitted on all training rows (default 3)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout; logs stay on stderr")


def run(args: argparse.Namespace) -> int:
    from training.data import read_training_data
    from training.run import RunConfig, train_run
    from training.search import SearchConfig

    if args.mapping:
        with tempfile.TemporaryDirectory(prefix="poolgate-map-") as tmp:
            book = canonical_copy(args.tape, args.mapping, Path(tmp) / "book.parquet").path
            data = read_training_data(book, args.performance, args.truth)
    else:
        data = read_training_data(args.tape, args.performance, args.truth)
    config = RunConfig(search=SearchConfig(n_candidates=args.candidates, keep=min(args.keep, args.candidates)))
    result = train_run(data.book, data.performance, truth=data.truth, experiment=args.experiment, seed=args.seed,
                       config=config, model_name=args.model_name, policy_path=args.policy,
                       source=str(Path(args.tape).resolve()))
    if args.json:
        out = result.to_dict()
        out["rows"] = {"read": data.rows_read, "left_out_invalid": data.rows_invalid,
                       "kept_with_other_problems": data.rows_with_other_problems}
        print_json(out)
        return 0
    m = result.metrics
    lines = [
        f"run {result.run_id} (experiment {result.experiment})",
        f"registered {result.model_uri} with alias 'challenger'",
        f"out-of-time ({int(m['n_oot'])} contracts, vintages {result.params['vintages.test']}):",
        (f"  AUC {m['auc_oot']:.4f}  Gini {m['gini_oot']:.4f}  KS {m['ks_oot']:.4f}  Brier {m['brier_oot']:.5f}  "
         f"calibration error {m['calibration_error_oot']:.4f}  monotonicity violations "
         f"{int(m['monotonicity_violations_oot'])}"),
    ]
    if "scorecard_auc_oot" in m:
        lines.append(f"  WoE scorecard challenger: AUC {m['scorecard_auc_oot']:.4f}  KS {m['scorecard_ks_oot']:.4f}  "
                     f"calibration error {m['scorecard_calibration_error_oot']:.4f}")
    if "auc_oracle_oot" in m:
        lines.append(f"  oracle (true PD): AUC {m['auc_oracle_oot']:.4f}  gap {m['auc_gap_oracle_oot']:+.4f}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
