"""``poolgate monitor``: the pool's life after the cut-off, its waterfall and triggers, the back-test."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from features.exceptions import ConfigError
from poolgate._console import iso_date, print_json, print_table, progress
from scoring.audit import DEFAULT_LOG

NAME = "monitor"
HELP = "monitor the pool a screening run admitted: collections, delinquency, losses, waterfall, triggers, back-test"
DESCRIPTION = ("Follow the admitted pool of a screening run through a monthly performance tape after the cut-off: "
               "pool balance and factor, collections, delinquency buckets and roll rates, defaults, recoveries, "
               "cumulative net loss, SMM / CPR / ABS speed, vintage curves, the deal's waterfall with note factors, "
               "credit enhancement and liquidity support, each trigger against its threshold, and a back-test of "
               "the screening model's PDs (verdict holds / watch / retrain). Writes OUT/monthly.parquet, "
               "OUT/monthly.csv, OUT/vintages.parquet, OUT/assets.parquet (each asset's state and balance at the "
               "as-of date), OUT/backtest.json and OUT/summary.json, appends a "
               "monitoring record to the decision log and logs the back-test to MLflow. See docs/monitoring.md.")
ORDER = 45
PERFORMANCE_MAPPINGS = ("native", "regab-autolease", "regab-autoloan")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, help="screening output folder (poolgate screen --out) or its run id")
    p.add_argument("--performance", required=True, help="monthly performance tape after the cut-off (CSV or Parquet)")
    p.add_argument("--mapping", default="native", choices=PERFORMANCE_MAPPINGS,
                   help="layout of the performance tape: native (canonical, default) or Reg AB II reporting "
                        "periods (regab-autolease, regab-autoloan; CSV, Parquet or ABS-EE XML)")
    p.add_argument("--deal", required=True, help="deal file (TOML, see data_samples/deal.toml)")
    p.add_argument("--asof", type=iso_date, help="last date to report YYYY-MM-DD (default: the tape's last month)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--log", default=DEFAULT_LOG, help=f"decision log (default ./{DEFAULT_LOG})")
    p.add_argument("--no-drift", action="store_true", help="do not load the run's model for input drift (PSI)")
    p.add_argument("--no-mlflow", action="store_true", help="do not log the back-test to MLflow")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")


def _pct(v: Any) -> str:
    return "-" if v is None else f"{v:.2%}"


def run(args: argparse.Namespace) -> int:
    from monitoring.run import monitor

    frame = None
    if args.mapping != "native":
        from features.regab_performance import read_regab_performance

        frame = read_regab_performance([args.performance],
                                       asset_class="autolease" if args.mapping == "regab-autolease" else "autoloan")
    elif not args.performance:
        raise ConfigError("--performance is required")
    with progress(total=None, desc="monitor", unit="steps") as bar:
        result = monitor(args.run, args.performance, args.deal, args.out, asof=args.asof, log_path=args.log,
                         perf_frame=frame, drift=not args.no_drift, track=not args.no_mlflow)
        bar.update(1)
    if args.json:
        print_json(result)
        return 0
    last = result["latest"]
    bt = result["backtest"]
    print(f"monitor {result['monitor_id']}: run {result['run']['run_id']}, deal {result['deal']['name']} "
          f"({result['deal']['sha256'][:12]}), {result['periods']} periods to {last['month']}")
    left = result["performance"]["left_out_by_rule"]
    if left:
        print("performance rows left out (by rule): " + ", ".join(f"{k} {v}" for k, v in sorted(left.items())),
              file=sys.stderr)
    import pandas as pd

    print_table(pd.DataFrame({"figure": [
        "pool balance (CNY)", "pool factor", "assets", "60+ delinquency", "60+ delinquency (3-month average)",
        "CPR", "cumulative defaults", "cumulative gross default", "cumulative net loss", "overcollateralisation (CNY)",
        "liquidity outstanding (CNY)"], "value": [
        f"{last['pool_balance']:,.2f}", f"{last['pool_factor']:.4f}", f"{last['assets']:,.0f}",
        _pct(last['delinquency_60_plus_share']), _pct(last['delinquency_60_plus_3m']), _pct(last['cpr']),
        f"{last['cumulative_defaults']:,.0f}", _pct(last['cumulative_gross_default_share']),
        _pct(last['cumulative_net_loss_share']), f"{last['overcollateralisation']:,.2f}",
        f"{last['liquidity_outstanding']:,.2f}"]}))
    print()
    for t in result["triggers"]:
        state = f"BREACHED in period {t['first_breach_period']} ({t['first_breach_month']})" if t["breached"] else "ok"
        value = "n/a" if t["value"] is None else f"{t['value']:.4g}"   # a 3-month average of an empty pool
        print(f"trigger {t['code']:<16} {t['measure']:<28} {value} vs {t['threshold']:.4g}  {state}")
    print()
    print(f"back-test: {bt['verdict'].upper()}  ({bt['defaults']} defaults, {bt['expected_defaults']:.1f} expected)")
    for r in bt["reasons"]:
        print(f"  - {r}")
    print(f"outputs in {result['out']}; log record {result['log_hash'][:12]}"
          + (f"; MLflow run {result['mlflow_run_id']}" if result.get("mlflow_run_id") else ""))
    return 0
