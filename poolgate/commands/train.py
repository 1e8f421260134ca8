"""``poolgate train``: a training run on a book and its performance history, logged to MLflow."""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from pathlib import Path

from features.pause import pause_point
from poolgate._console import name_text, print_json, seed
from poolgate._mapped import MAPPING_HELP, canonical_copy
from poolgate._series import holds_a_series, series_copy

NAME = "train"
HELP = "train the default model on a book and its history; log to MLflow; register a challenger"
DESCRIPTION = (
    "Label the book from its performance history (default = 90+ dpd within 24 months), or from its own target "
    "column read through --mapping (target = ... in the mapping, or --target), or from the history of a series of "
    "Reg AB II filings (--tape files holding two or more reporting periods, through --mapping regab-autoloan or "
    "regab-autolease), split it out of "
    "time by origination vintage, choose the model among the logistic regression, the WoE scorecard, monotone "
    "trees, trees on the logistic regression and their stack, validated on later vintages than it is fitted on "
    "(every declared risk direction enforced, its price reported), refit and calibrate it, measure them on the latest (test) vintages, log everything "
    "to MLflow (default: sqlite:///mlflow.db in this folder; MLFLOW_TRACKING_URI overrides) and register the "
    "model as a new version with alias 'challenger'. See docs/training.md.")
ORDER = 40


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tape", required=True, nargs="+", help="book of canonical lease records (CSV or Parquet); with "
                   "--mapping regab-autoloan or regab-autolease, one or more ABS-EE tapes that together hold two or more "
                   "reporting periods (a series: the labels and the forward model come from its history)")
    p.add_argument("--mapping", help=MAPPING_HELP + " (the book; the performance history stays canonical). Only "
                   "the model inputs whose canonical fields the mapping maps (and that are not empty) are used, plus its "
                   "[features]")
    p.add_argument("--performance", help="monthly performance history (CSV or Parquet); without it the labels "
                   "come from the mapping's target column")
    p.add_argument("--target", help="with --mapping: the tape's default column (overrides the mapping's target); "
                   "its values listed in the mapping's positive = [...] (default 1 / true) mean default")
    p.add_argument("--truth", help="generator truth with pd_24m (synthetic books only): adds oracle metrics")
    p.add_argument("--experiment", type=name_text, default="poolgate", help="MLflow experiment (default poolgate)")
    p.add_argument("--model-name", type=name_text, default="poolgate-pd", help="registered model name (default poolgate-pd)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the selection and the model (default 0)")
    p.add_argument("--policy", help="policy TOML stored with the model (default: the shipped screening policy)")
    p.add_argument("--threads", type=int, default=2, help="LightGBM threads (default 2)")
    p.add_argument("--period", choices=("month", "quarter", "half", "year"), default="quarter",
                   help="vintage of the out-of-time split (default quarter); month for a book that spans a few "
                        "months")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout; logs stay on stderr")


def run(args: argparse.Namespace) -> int:
    with contextlib.ExitStack() as keep:   # a series' canonical copies live until the run has read them
        return _run(args, keep)


def _run(args: argparse.Namespace, keep: contextlib.ExitStack) -> int:
    from features.exceptions import ConfigError
    from features.mapping import extra_input_name, mapped_spec
    from features.spec import load_spec
    from training.data import read_training_data
    from training.run import RunConfig, labels_from_target, train_run
    from training.search import SearchConfig
    from training.splits import SplitConfig

    if args.target and not args.mapping:
        raise ConfigError("--target needs --mapping (use --mapping native for a tape in the canonical format)")
    if args.target and args.performance:
        raise ConfigError("--target and --performance both give labels; use one of them")
    spec = None
    labels = None
    absent: tuple[str, ...] = ()
    series = None
    tapes, args.tape = args.tape, args.tape[0]
    if args.mapping and not args.target and not args.performance and holds_a_series(tapes, args.mapping):
        folder = keep.enter_context(tempfile.TemporaryDirectory(prefix="poolgate-series-"))
        series = series_copy(tapes, args.mapping, folder)
        spec, dropped = mapped_spec(load_spec(), series.filled, series.mapping.features)
        if spec is None:
            raise ConfigError(f"mapping {args.mapping}: the series fills none of the canonical fields a model "
                              "input needs (docs/features.md lists them)")
        if dropped:
            print(f"  model inputs left out (not mapped, or empty in the series): {', '.join(dropped)}", file=sys.stderr)
        data = read_training_data(series.book, series.performance, args.truth, spec=spec,
                                  source=f"{' '.join(tapes)} --mapping {args.mapping}")
    elif len(tapes) > 1:
        raise ConfigError("several --tape files are read only as a series of Reg AB reporting periods through "
                          "--mapping regab-autoloan or regab-autolease, without --target or --performance")
    elif args.mapping:
        with tempfile.TemporaryDirectory(prefix="poolgate-map-") as tmp:
            copy = canonical_copy(args.tape, args.mapping, Path(tmp) / "book.parquet", target=args.target,
                                  with_target=args.performance is None)
            absent = copy.absent
            spec, dropped = mapped_spec(load_spec(), copy.filled, copy.mapping.features)  # as evaluate does
            if spec is None:
                raise ConfigError(f"mapping {args.mapping}: it maps none of the canonical fields a model input needs "
                                  "(docs/features.md lists them) and declares no [features]; a model cannot be "
                                  "trained on it")
            extras = {extra_input_name(f.column) for f in copy.mapping.features}
            unmapped, empty = [d for d in dropped if d not in extras], [d for d in dropped if d in extras]
            if unmapped:
                print(f"  model inputs left out (their canonical fields are not mapped): {', '.join(unmapped)}",
                      file=sys.stderr)
            if empty:
                print(f"  mapping [features] left out (their columns are empty): {', '.join(empty)}", file=sys.stderr)
            if args.performance is None:
                if copy.target is None:
                    raise ConfigError(f"{args.tape}: no labels; give --performance HISTORY, or name the default "
                                      f"column with target = ... in mapping {args.mapping} or --target COL")
                labels = labels_from_target(copy.contract_ids, copy.target)
            data = read_training_data(copy.path, args.performance, args.truth, spec=spec,
                                      source=f"{args.tape} --mapping {args.mapping}")
    else:
        if args.performance is None:
            raise ConfigError("--performance is needed for a canonical tape (or read the tape through --mapping "
                              "with a target column)")
        data = read_training_data(args.tape, args.performance, args.truth)
    if args.threads < 1:
        raise ConfigError(f"--threads must be at least 1; got {args.threads}")
    pause_point("train.read")
    config = RunConfig(search=SearchConfig(num_threads=args.threads), split=SplitConfig(period=args.period))
    result = train_run(data.book, data.performance, truth=data.truth, experiment=args.experiment, seed=args.seed,
                       config=config, model_name=args.model_name, policy_path=args.policy,
                       source=" ".join(str(Path(t).resolve()) for t in tapes), spec=spec, labels=labels)
    if args.json:
        out = result.to_dict()
        out["rows"] = {"read": data.rows_read, "left_out_invalid": data.rows_invalid,
                       "kept_with_other_problems": data.rows_with_other_problems,
                       "out_of_range_as_missing": data.out_of_range_as_missing}
        if args.mapping:
            out["absent_columns"] = list(absent)
        if series is not None:
            out["series"] = {"assets": series.assets, "reporting_periods": series.periods}
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
