"""``poolgate screen``: decide every asset of a candidate pool tape and build the pool."""

from __future__ import annotations

import argparse
import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from features.io import count_rows, tape_format
from poolgate._console import iso_date, print_json, print_table, progress, whole
from poolgate._mapped import MAPPING_HELP, canonical_copy
from scoring.audit import DEFAULT_LOG, check_appendable
from scoring.policy import load_policy
from scoring.registry import DEFAULT_MODEL_URI, load_model
from scoring.screen import screen_tape

NAME = "screen"
HELP = "screen a candidate pool tape: eligibility, PD, decision, reason codes, concentration limits"
DESCRIPTION = ("Decide every row of a candidate pool tape (admit, refer, reject, invalid) with its PD, score, "
               "failed rules and top reason codes; apply the concentration limits to the admitted pool; write "
               "OUT/decisions.parquet, OUT/decisions.csv, OUT/contributions.parquet and OUT/summary.json, and "
               "append a record to the hash-chained decision log. See docs/screening.md.")
ORDER = 40
MAPPED_TAPE = "mapped_tape.parquet"

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tape", required=True, help="candidate pool tape (CSV or Parquet)")
    p.add_argument("--mapping", help=MAPPING_HELP + "; the canonical copy screened is kept as OUT/mapped_tape.parquet")
    p.add_argument("--cutoff", required=True, type=iso_date,
                   help="pool cut-off date YYYY-MM-DD; rows with another cutoff_date are invalid")
    p.add_argument("--model", default=DEFAULT_MODEL_URI,
                   help=f"LeaseModel folder or MLflow model URI (default {DEFAULT_MODEL_URI})")
    p.add_argument("--policy", help="policy TOML (default: the bundled policy, data_samples/policy.toml)")
    p.add_argument("--log", default=DEFAULT_LOG, help=f"decision log to append to (default ./{DEFAULT_LOG})")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--chunksize", type=whole(1), default=100_000, help="rows per chunk (default 100000)")
    p.add_argument("--existing-pool", metavar="DIR",
                   help="replenishment of a revolving deal: a poolgate monitor output whose as-of date is --cutoff; "
                        "the assets still in that pool count in the concentration limits (never dropped), and a "
                        "candidate that pool holds or has held is rejected (rule already_in_pool)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")


def _pool_table(pool: dict[str, Any]) -> pd.DataFrame:
    labels = {
        "assets": "assets", "lessees": "lessees", "outstanding_principal": "outstanding principal (CNY)",
        "average_outstanding_principal": "average outstanding (CNY)", "wa_pd": "WA PD",
        "wa_score": "WA score", "wa_annual_rate": "WA annual rate", "wa_original_term_months": "WA original term (months)",
        "wa_remaining_term_months": "WA remaining term (months)", "wa_seasoning_months": "WA seasoning (months)",
        "wa_ltv": "WA loan-to-value", "lgd": "LGD", "expected_loss": "expected loss (CNY)",
        "expected_loss_share": "expected loss / balance",
    }
    pct = {"wa_pd", "wa_annual_rate", "wa_ltv", "lgd", "expected_loss_share"}

    def show(key: str, value: Any) -> str:
        if value is None:
            return "-"
        if key in pct:
            return f"{value:.2%}"
        if isinstance(value, float):
            return f"{value:,.2f}" if "CNY" in labels[key] else f"{value:,.1f}"
        return f"{value:,}"

    return pd.DataFrame({"pool": [labels[k] for k in labels], "value": [show(k, pool.get(k)) for k in labels]})


def _say_if_every_row_is_invalid(counts: dict[str, int], decisions: Path, tape: str) -> None:
    """One warning on stderr when no row passed the data contract: most often the tape as a whole does not
    fit (a column missing, another cut-off), which a count of ``invalid`` alone does not say."""
    rows = sum(counts.values())
    if not rows or counts.get("invalid", 0) < rows:
        return
    reasons = pd.read_parquet(decisions, columns=["invalid_reasons"])["invalid_reasons"]
    found: Counter[tuple[str, str]] = Counter()
    for text in reasons:
        found.update({(r["column"], r["message"]) for r in json.loads(text)})
    top = "; ".join(f"{column}: {message} ({n:,} rows)" for (column, message), n in found.most_common(3))
    log.warning("every row (%s) failed the data contract; the most frequent reasons: %s. A reason every row "
                "shares is a fault of the tape as a whole (a missing column, another cut-off): `poolgate validate "
                "--tape %s` lists every problem", f"{rows:,}", top, tape)


def run(args: argparse.Namespace) -> int:
    check_appendable(args.log)  # before anything is written (the --mapping copy too) or loaded
    existing = held = None
    if args.existing_pool:
        from monitoring.replenish import existing_pool, held_contracts

        existing = existing_pool(args.existing_pool, cutoff=args.cutoff)
        held = held_contracts(args.existing_pool, cutoff=args.cutoff)
    policy = load_policy(args.policy)
    loaded = load_model(args.model)
    tape = args.tape
    absent: tuple[str, ...] = ()
    if args.mapping:  # the decision log and summary.json then name this canonical copy and its digest
        copy = canonical_copy(args.tape, args.mapping, Path(args.out) / MAPPED_TAPE)
        tape, absent = copy.path, copy.absent
    total = count_rows(tape) if tape_format(tape) == "parquet" else None
    with progress(total=total, desc="screen") as bar:
        result = screen_tape(tape, model=loaded.model, model_ref=loaded.ref, policy=policy,
                             out_dir=args.out, log_path=args.log, cutoff=args.cutoff, chunksize=args.chunksize,
                             on_chunk=bar.update, existing=existing, held=held)
    _say_if_every_row_is_invalid(result.counts, Path(result.out_dir) / "decisions.parquet",
                                 args.tape + (f" --mapping {args.mapping}" if args.mapping else ""))
    if args.json:
        print_json({"run_id": result.run_id, "counts": result.counts, "out": str(result.out_dir),
                    "log": str(args.log), "log_hash": result.record["hash"],
                    "model_uri": loaded.ref.uri, "model_version": loaded.ref.version, "policy_hash": policy.sha256,
                    "seconds": result.seconds, **({"mapped_tape": str(tape), "absent_columns": list(absent)} if args.mapping else {})})
        return 0
    s = result.summary
    print(f"run {result.run_id}: {sum(result.counts.values())} rows  " +
          "  ".join(f"{k} {v}" for k, v in result.counts.items()))
    print(f"model {loaded.ref.uri} {('version ' + loaded.ref.version) if loaded.ref.version else ''}  "
          f"policy {policy.version} ({policy.sha256[:12]})  concentration drops {s['run']['concentration_drops']}")
    if "existing_pool" in s["run"]:
        e = s["run"]["existing_pool"]
        print(f"existing pool {e['assets']:,} assets, {e['balance']:,.2f} CNY; "
              f"candidates it holds or has held (rejected, already_in_pool) {e['already_in_pool']}")
        after = e["after_purchase"]
        print(f"pool after the purchase {after['assets']:,} assets, {after['balance']:,.2f} CNY: the concentration "
              "limits below are measured on it (the tables above are of the candidates)")
    print()
    print_table(_pool_table(s["pool"]))
    for name, rows in s["distributions"].items():
        if not rows:
            continue
        print(f"\nby {name.replace('_', ' ')}")
        frame = pd.DataFrame(rows)
        frame["share"] = frame["share"].map(lambda v: f"{v:.1%}")
        frame["balance"] = frame["balance"].map(lambda v: f"{v:,.0f}")
        print_table(frame, max_rows=10)
    print("\nconcentration limits" + (" (the pool after the purchase)" if "existing_pool" in s["run"] else ""))
    conc = pd.DataFrame(s["run"]["existing_pool"]["after_purchase"]["concentration"] if "existing_pool" in s["run"]
                        else s["concentration"])
    if not conc.empty:
        conc["max_share"] = conc["max_share"].map(lambda v: f"{v:.2%}")
        conc["value"] = conc["value"].map(lambda v: f"{v:.2%}")
        print_table(conc[["code", "largest", "value", "max_share", "holds"]])
    print(f"\noutputs in {result.out_dir}/; decision log {args.log} (record {result.record['seq']}, "
          f"hash {result.record['hash'][:16]})")
    return 0
