"""``poolgate evaluate``: the training recipe measured on any tape read through a mapping, beside the usual tools."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from typing import Any

from poolgate._console import print_json, seed
from poolgate._mapped import report_absent

NAME = "evaluate"
HELP = "measure the training recipe on a tape (cross-validation or a test tape) beside the usual tools"
DESCRIPTION = (
    "Read TRAIN (and TEST) through a mapping, fit the recipe of 'poolgate train' (specification features "
    "plus the mapping's extra features, the declared risk directions, one model selection among the "
    "logistic regression, the WoE scorecard, monotone trees from stumps to LightGBM's defaults, trees on "
    "the logistic regression and their stack, validated time-ordered when the mapping maps origination_date "
    "and on stratified folds otherwise; Platt calibration) and measure it: on --test-tape when given, "
    "else by stratified K-fold cross-validation with the selection inside each training fold. LightGBM "
    "with default settings, a tuned logistic regression and the WoE scorecard are fitted and measured on "
    "the same split; the JSON reports every candidate (selection) and the price of the directions, the "
    "winner with every direction freed minus the winner, on validation (direction_cost) and on the test "
    "rows (direction_cost_test). Each challenger's AUC minus the recipe's comes with its standard error "
    "(DeLong's, paired on the same rows); a challenger above the recipe by more than the test-row price "
    "and two standard errors is named. See docs/mappings.md and docs/training.md.")
ORDER = 45

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tape", required=True, help="training tape (CSV, Parquet or ABS-EE XML)")
    p.add_argument("--mapping", default="native",
                   help="built-in mapping (native, regab-autolease, regab-autoloan) or a mapping TOML file "
                        "(default native)")
    p.add_argument("--test-tape", help="test tape read through the same mapping (e.g. later vintages)")
    p.add_argument("--target", help="target column (overrides the mapping's target)")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds without --test-tape (default 5)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the splits, the search and the models (default 0)")
    p.add_argument("--threads", type=int, default=2,
                   help="LightGBM threads (default 2); use 1 when another job shares the machine, as LightGBM's "
                        "threads wait actively and slow down many times over when a core is taken")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout; logs stay on stderr")


def _decode_summary(tape: Any, name: str) -> int:
    from features.mapping import decode_hints

    n = len(tape.problems)
    if not n:
        return 0
    unlabelled = tape.problems["rule"].eq("target_missing")
    if unlabelled.any():  # not a fault: such rows are left out and counted (n_unlabelled)
        log.info("%s: %d rows with an empty target, left out of the fit and the measures (n_unlabelled)", name,
                 int(unlabelled.sum()))
    if not unlabelled.all():
        rest = replace(tape, problems=tape.problems[~unlabelled])
        top = rest.decode_report().head(5)
        log.warning("%s: %d cells could not be decoded (left empty); most frequent: %s", name, len(rest.problems),
                    "; ".join(f"{r.column} {r.rule} {r.value!r} x{r.count}" for r in top.itertuples()))
        for hint in decode_hints(rest.problems, tape.mapping):
            log.warning("%s: %s", name, hint)
    return n


def run(args: argparse.Namespace) -> int:
    from features.exceptions import ConfigError
    from features.mapping import load_mapping, read_mapped
    from training.evaluate import EvaluateConfig, evaluate_cv, evaluate_holdout, within_price_and_noise

    mapping = load_mapping(args.mapping)
    if args.target:
        mapping = mapping.with_target(args.target)
    if args.threads < 1:
        raise ConfigError(f"--threads must be at least 1; got {args.threads}")
    config = EvaluateConfig(folds=args.folds, num_threads=args.threads)
    label = mapping.origin or mapping.name
    train = read_mapped(args.tape, mapping)
    report_absent(args.tape, label, train.absent, mapping)
    problems = {"train": _decode_summary(train, args.tape)}
    absent = {"train": list(train.absent)}
    if args.test_tape:
        test = read_mapped(args.test_tape, mapping)
        report_absent(args.test_tape, label, test.absent, mapping)
        problems["test"] = _decode_summary(test, args.test_tape)
        absent["test"] = list(test.absent)
        only_one = sorted(set(train.absent) ^ set(test.absent))
        if only_one:  # fit and measure on the inputs both tapes hold
            train, test = train.without(test.absent), test.without(train.absent)
            log.warning("columns held by only one of the two tapes, left out of both: %s", ", ".join(only_one))
        result = evaluate_holdout(train, test, seed=args.seed, config=config)
    else:
        result = evaluate_cv(train, seed=args.seed, config=config)
    result = {"mode": "holdout" if args.test_tape else "cross_validation", "tape": args.tape,
              "test_tape": args.test_tape, "mapping": mapping.origin or mapping.name, "seed": args.seed,
              "decode_problems": problems, "absent_columns": absent, **result}
    if args.json:
        print_json(result)
        return 0
    suffix = "_test" if args.test_tape else "_mean"
    rows = [("recipe", result)] + [(name, m) for name, m in result.get("challengers", {}).items()]
    head = "test tape" if args.test_tape else f"{args.folds}-fold cross-validation"
    gap_key, se_key = ("gap_to_recipe_test", "gap_to_recipe_se_test") if args.test_tape else \
        ("gap_to_recipe_mean", "gap_to_recipe_se")
    lines = [f"{head}: {result.get('n_train', result.get('n'))} training rows"
             + (f", {result['n_test']} test rows" if args.test_tape else ""),
             f"  {'model':<18} {'AUC':>7} {'KS':>7} {'Gini':>7} {'Brier':>8}  AUC - recipe (standard error)"]
    for name, m in rows:
        gap = f"  {m[gap_key]:+.4f} ({m[se_key]:.4f})" if gap_key in m else ""
        lines.append(f"  {name:<18} {m['auc' + suffix]:>7.4f} {m['ks' + suffix]:>7.4f} {m['gini' + suffix]:>7.4f} "
                     f"{m['brier' + suffix]:>8.5f}{gap}")
    sel = result.get("selection", {})
    winner = sel.get("winner") or ", ".join(f"{k} x{v}" for k, v in sel.get("winners", {}).items())
    cost, on_test = result.get("direction_cost"), result.get("direction_cost_test")
    scheme = sel.get("scheme")
    kind = scheme.get("kind") if isinstance(scheme, dict) else scheme  # holdout: the table; CV: its kind
    cost_se, test_se = result.get("direction_cost_se"), result.get("direction_cost_test_se")
    bound = "" if args.test_tape else "at most "  # CV: the folds' validation rows overlap, the error is a bound
    lines.append(f"  selection ({kind}): {winner}; price of the directions: "
                 + ("none declared" if cost is None else
                    f"{cost:+.4f} validation AUC{f' ({bound}{cost_se:.4f})' if cost_se is not None else ''}, "
                    f"{on_test:+.4f} test AUC{f' ({test_se:.4f})' if test_se is not None else ''}"))
    binding = sel.get("directions_binding") or []
    if binding:  # CV: folds and mean price; a test tape: the one selection's price
        lines.append("  declared directions the logistic regression holds against the data "
                     "(input, direction, validation AUC gained by freeing it alone):")
        width = max(24, *(len(d["input"]) for d in binding))  # the longest name sets the column
        lines += [f"    {d['input']:<{width}} {d['direction']:+d} {d.get('price_mean', d.get('price')):+.4f}"
                  + (f"  in {d['folds']} of {args.folds} folds" if "folds" in d else "") for d in binding]
    for name, m in result.get("challengers", {}).items():
        if gap_key in m and not within_price_and_noise(m[gap_key], m[se_key], on_test):
            lines.append(f"  {name} is above the recipe by {m[gap_key]:.4f}, more than the price of the directions "
                         f"on the test rows ({max(on_test or 0.0, 0.0):.4f}) and two standard errors "
                         f"({2 * m[se_key]:.4f})")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
