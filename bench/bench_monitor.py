"""Benchmark of ``poolgate monitor``: 1,000,000 assets x 36 months (36 M performance rows; quick: 50,000).

The pool is a synthetic book's 1,000,000 contracts (``poolgate sample``), all admitted by a stand-in
screening run; the performance tape holds 36 month-ends after the cut-off for every asset (amortising
balances, about 3 % defaults, 15 % prepayments and some transient delinquency; assets keep reporting after
they end, as servicers' tapes do), in Parquet, sorted by contract and month.

Baseline, measured in the same run in a child process: reading the same Parquet columns into pandas
and one groupby-sum by month of the amounts, i.e. the least any monitoring of that tape costs. Targets:
``poolgate monitor`` (whole process, contract checks, figures, waterfall, back-test, outputs and log
record; no model loading, no MLflow) at most 3 times the baseline, peak memory at most 4 GiB.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from pathlib import Path

import numpy as np

from bench._measure import run_measured

NAME = "monitor"
TARGET_RATIO = 3.0
TARGET_MIB = 4096.0
MONTHS = 36
CUTOFF = dt.date(2025, 6, 30)
COLUMNS = ["contract_id", "month", "dpd", "amount_due", "amount_paid", "outstanding_principal", "status",
           "charged_off_amount", "recovered_amount"]

_BASELINE = r"""
import sys
import pyarrow.parquet as pq
frame = pq.read_table(sys.argv[1], columns=sys.argv[2].split(",")).to_pandas()
sums = frame.groupby("month")[["amount_due", "amount_paid", "outstanding_principal", "charged_off_amount",
                               "recovered_amount"]].sum()
print(len(sums), file=sys.stderr)
"""

_DEAL = """name = "bench deal"
version = "1"
cutoff_date = {cutoff}
cutoff_balance = {total:.2f}
balance_tolerance = 0.0
[[classes]]
name = "A"
rank = "senior"
balance = {a:.2f}
coupon = 0.026
[[classes]]
name = "B"
rank = "mezzanine"
balance = {b:.2f}
coupon = 0.034
[[classes]]
name = "C"
rank = "subordinated"
balance = {c:.2f}
coupon = 0.0
[fees]
servicing = 0.01
trustee = 0.0005
[liquidity]
provider = "bench"
covers = ["fees", "senior_interest"]
limit = {limit:.2f}
[[triggers]]
code = "cnl"
measure = "cumulative_net_loss_share"
schedule = [[12, 0.01], [36, 0.03]]
action = "accelerate"
en = "CNL"
zh = "累计净损失"
[backtest]
horizon_months = 24
band_edges = [0.01, 0.02, 0.03, 0.05]
watch_confidence = 0.95
retrain_confidence = 0.99
auc_watch = 0.65
auc_retrain = 0.6
min_defaults = 20
psi_watch = 0.1
psi_retrain = 0.25
"""


def _month_ends(n: int) -> np.ndarray:
    start = np.datetime64(f"{CUTOFF.year}-{CUTOFF.month:02d}", "M")
    return ((start + np.arange(2, n + 2)).astype("datetime64[D]") - np.timedelta64(1, "D"))


def _write_inputs(workdir: Path, n: int) -> dict[str, Path]:
    """The pool tape (a synthetic book), a stand-in screening run, the deal file and the performance tape."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from features.synthetic import write_book
    from scoring.audit import file_digest

    book = workdir / "book"
    tape = book / "contracts.parquet"
    if not tape.exists():
        write_book(book, n, 11, CUTOFF)
    lease = pq.read_table(tape, columns=["contract_id", "outstanding_principal", "term_months", "months_on_book"])
    ids = lease.column("contract_id").combine_chunks()
    balance = lease.column("outstanding_principal").to_numpy()
    remaining = np.maximum(lease.column("term_months").to_numpy() - lease.column("months_on_book").to_numpy(), 1)
    rng = np.random.default_rng(5)
    pd_ = np.clip(rng.lognormal(np.log(0.02), 0.6, n), 0.001, 0.3)
    run = workdir / "run"
    run.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"row": np.arange(1, n + 1), "asset_id": ids.to_numpy(zero_copy_only=False), "status": "admit",
                  "pd": pd_}).to_parquet(run / "decisions.parquet", index=False)
    (run / "summary.json").write_text(json.dumps({"run": {
        "run_id": "bench", "tape": str(tape), "input_digest": file_digest(tape), "cutoff": CUTOFF.isoformat(),
        "model_uri": "bench", "model_version": ""}}), encoding="utf-8")
    total = float(balance.sum())
    deal = workdir / "deal.toml"
    deal.write_text(_DEAL.format(cutoff=CUTOFF.isoformat(), total=total, a=0.8 * total, b=0.08 * total,
                                 c=total - 0.8 * total - 0.08 * total, limit=0.01 * total), encoding="utf-8")

    perf = workdir / "performance.parquet"
    if not perf.exists():
        months = pa.array(_month_ends(MONTHS))
        schema = pa.schema([("contract_id", pa.dictionary(pa.int32(), pa.string())), ("month", pa.date32()),
                            ("months_on_book", pa.int64()), ("dpd", pa.int64()), ("amount_due", pa.float64()),
                            ("amount_paid", pa.float64()), ("outstanding_principal", pa.float64()),
                            ("status", pa.string()), ("charged_off_amount", pa.float64()),
                            ("recovered_amount", pa.float64())])
        with pq.ParquetWriter(perf, schema, compression="zstd") as writer:
            for lo in range(0, n, 50_000):
                hi = min(lo + 50_000, n)
                m = hi - lo
                t = np.arange(1, MONTHS + 1)[None, :]
                b0, rem = balance[lo:hi, None], remaining[lo:hi, None]
                out = np.maximum(b0 * (1 - t / rem), 0.0)
                event = rng.random(m)
                when = rng.integers(1, MONTHS + 1, m)[:, None]
                default = (event < 0.03)[:, None] & (t >= when)
                prepay = ((event >= 0.03) & (event < 0.18))[:, None] & (t >= when)
                ended = out <= 0
                status = np.where(default, "defaulted", np.where(prepay, "prepaid", np.where(ended, "terminated",
                                                                                              "current")))
                late = (rng.random((m, MONTHS)) < 0.02) & ~default
                dpd = np.where(default, 91 + 30 * (t - when), np.where(late, 15, 0))
                prev = np.concatenate([b0, out[:, :-1]], axis=1)
                rent = np.round(b0 / rem * 1.01, 2) * np.ones((1, MONTHS))
                out = np.where(default, np.where(t == when, prev, 0.0), np.where(prepay, 0.0, out))
                paid = np.where(default | late, 0.0, np.where(prepay & (t == when), prev, np.where(ended & ~prepay,
                                                                                                   0.0, rent)))
                charged = np.where(default & (t == when), prev, 0.0)
                recovered = np.where(default & (t == when + 3), 0.35 * np.roll(charged, 3, axis=1), 0.0)
                idx = np.repeat(np.arange(lo, hi, dtype=np.int32), MONTHS)
                table = pa.table({
                    "contract_id": pa.DictionaryArray.from_arrays(pa.array(idx), ids),
                    "month": pa.concat_arrays([months] * m),
                    "months_on_book": (lease.column("months_on_book").to_numpy()[lo:hi, None] + t).ravel(),
                    "dpd": dpd.ravel(), "amount_due": np.where(ended | default, 0.0, rent).ravel(),
                    "amount_paid": paid.ravel(), "outstanding_principal": np.round(out, 2).ravel(),
                    "status": status.ravel(), "charged_off_amount": np.round(charged, 2).ravel(),
                    "recovered_amount": np.round(recovered, 2).ravel()}, schema=schema)
                writer.write_table(table)
    return {"run": run, "deal": deal, "performance": perf}


def run(workdir: Path, quick: bool) -> dict[str, object]:
    n = 50_000 if quick else 1_000_000
    workdir.mkdir(parents=True, exist_ok=True)
    files = _write_inputs(workdir, n)
    out = workdir / "monitor"
    shutil.rmtree(out, ignore_errors=True)
    log = workdir / "log.jsonl"
    log.unlink(missing_ok=True)
    seconds, mib = run_measured([sys.executable, "-m", "poolgate", "monitor", "--run", str(files["run"]),
                                 "--performance", str(files["performance"]), "--deal", str(files["deal"]),
                                 "--out", str(out), "--log", str(log), "--no-drift", "--no-mlflow", "--json"])
    base_s, base_mib = run_measured([sys.executable, "-c", _BASELINE, str(files["performance"]), ",".join(COLUMNS)])
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    ratio = seconds / base_s
    return {"assets": n, "performance_rows": summary["performance"]["rows"], "periods": summary["periods"],
            "monitor_seconds": round(seconds, 2), "monitor_peak_mib": round(mib, 1),
            "baseline_read_groupby_seconds": round(base_s, 2), "baseline_peak_mib": round(base_mib, 1),
            "ratio": round(ratio, 2), "target_ratio": TARGET_RATIO, "ratio_met": ratio <= TARGET_RATIO,
            "target_mib": TARGET_MIB, "memory_met": mib <= TARGET_MIB,
            "rows_left_out": summary["performance"]["left_out_by_rule"]}
