"""Benchmark: a full training run (``poolgate train``, search included) on a synthetic book.

Setup (not timed): ``write_book`` writes a 1,000,000-contract book (quick mode: 50,000) as Parquet.
Timed: ``poolgate train --json`` in a child process (reading and checking the tapes, labels, split,
search, fit, evaluation, plots, MLflow logging and registration), with MLflow on SQLite in the
benchmark's folder. Baseline, measured in the same run on the same training rows: one plain
LightGBM fit (default parameters, 100 rounds, same thread count) on the model inputs. Targets: the
full run in <= 10 minutes on the 2-core machine, and at most 3 GiB peak resident memory for
1,000,000 contracts (the performance history is read in batches, never whole: issue #15 item 6).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

NAME = "train"
CUTOFF = dt.date(2025, 6, 30)
TARGET_SECONDS = 600
#: Peak resident memory of the full run on 1,000,000 contracts, MiB (3 GiB).
TARGET_PEAK_MIB = 3072


def _baseline_seconds(book: Path, performance: Path) -> tuple[float, int]:
    """Seconds of one plain LightGBM fit on the training vintages' model inputs, and their row count."""
    import lightgbm as lgb

    from features.labels import default_labels
    from features.pipeline import FeatureBuilder
    from training.data import read_training_data
    from training.splits import split_by_vintage

    data = read_training_data(book, performance)
    train = split_by_vintage(data.book, default_labels(data.performance)).train
    x = FeatureBuilder().fit(train.records).transform(train.records)
    t0 = time.perf_counter()
    lgb.train({"objective": "binary", "num_threads": 2, "verbosity": -1, "seed": 0},
              lgb.Dataset(x, label=train.y), num_boost_round=100)
    return time.perf_counter() - t0, len(x)


def measure_train(book_dir: Path, workdir: Path, *, threads: int | None = None) -> tuple[float, float, dict[str, Any]]:
    """``poolgate train --json`` on ``book_dir``'s tapes in a child process, with MLflow on SQLite in
    ``workdir/tracking``: (seconds, peak RSS in MiB, the JSON it printed)."""
    from bench._measure import run_measured

    tracking = workdir / "tracking"
    shutil.rmtree(tracking, ignore_errors=True)
    tracking.mkdir(parents=True)
    out_json = tracking / "train.json"
    old_cwd, old_uri = Path.cwd(), os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tracking / 'mlflow.db'}"
    os.chdir(tracking)
    try:
        argv = [sys.executable, "-c",
                ("import sys; from poolgate.cli import main; sys.stdout = open(sys.argv[1], 'w'); "
                 "raise SystemExit(main(sys.argv[2:]))"),
                str(out_json), "train", "--tape", str(book_dir / "contracts.parquet"),
                "--performance", str(book_dir / "performance.parquet"), "--truth", str(book_dir / "truth.parquet"),
                "--experiment", "bench", "--json", *([] if threads is None else ["--threads", str(threads)])]
        seconds, peak_mib = run_measured(argv)
    finally:
        os.chdir(old_cwd)
        if old_uri is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = old_uri
    return seconds, peak_mib, json.loads(out_json.read_text())


def run(workdir: Path, quick: bool) -> dict[str, object]:
    from features.synthetic import write_book

    n = 50_000 if quick else 1_000_000
    workdir.mkdir(parents=True, exist_ok=True)
    book_dir = workdir / f"book_{n}"
    if not (book_dir / "contracts.parquet").is_file():
        t0 = time.perf_counter()
        write_book(book_dir, n, 7, CUTOFF)
        print(f"   (setup: wrote the {n:,}-contract book in {time.perf_counter() - t0:.0f} s)", flush=True)
    seconds, peak_mib, result = measure_train(book_dir, workdir)
    base, train_rows = _baseline_seconds(book_dir / "contracts.parquet", book_dir / "performance.parquet")
    m = result["metrics"]
    return {
        "contracts": n,
        "train_rows": train_rows,
        "oot_rows": int(m["n_oot"]),
        "full_run_seconds": round(seconds, 1),
        "full_run_peak_rss_mib": round(peak_mib),
        "target_seconds": TARGET_SECONDS,
        "within_target": seconds <= TARGET_SECONDS,
        "target_peak_rss_mib": TARGET_PEAK_MIB,
        "within_peak_target": bool(quick or peak_mib <= TARGET_PEAK_MIB),
        "baseline_plain_lgbm_fit_seconds": round(base, 1),
        "ratio_full_run_to_baseline": round(seconds / base, 1) if base > 0 else None,
        "auc_oot": round(m["auc_oot"], 4),
        "auc_oracle_oot": round(m["auc_oracle_oot"], 4),
        "calibration_error_oot": round(m["calibration_error_oot"], 4),
        "stage_seconds": result.get("seconds", {}),
    }
