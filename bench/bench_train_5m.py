"""Benchmark: a 5,000,000-contract book generated and trained on this machine (quick: 100,000).

Timed, each in a child process with its peak resident memory: ``poolgate sample --contracts 5000000``
(about 122 million history rows) and ``poolgate train --json`` on it (as :mod:`bench.bench_train`).
The figure that matters is that both complete within the machine's memory: the training run's memory
grows with the contracts, not with the history (read in batches, never whole: issue #15 item 6). The
book is kept in the working folder and reused by the next run; its generation is then not re-measured.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench._measure import run_measured
from bench.bench_train import measure_train

NAME = "train_5m"


def run(workdir: Path, quick: bool) -> dict[str, object]:
    import pyarrow.parquet as pq

    n = 100_000 if quick else 5_000_000
    workdir.mkdir(parents=True, exist_ok=True)
    book_dir = workdir / f"book_{n}"
    figures: dict[str, object] = {"contracts": n}
    sample_file = workdir / f"sample_{n}.json"
    if not (book_dir / "contracts.parquet").is_file():
        seconds, peak = run_measured([sys.executable, "-m", "poolgate", "sample", "--contracts", str(n), "--seed", "7",
                                      "--out", str(book_dir), "--json"])
        sample_file.write_text(json.dumps({"sample_seconds": round(seconds, 1), "sample_peak_rss_mib": round(peak)}))
    if sample_file.is_file():
        figures.update(json.loads(sample_file.read_text()))
    figures["performance_rows"] = pq.ParquetFile(book_dir / "performance.parquet").metadata.num_rows
    seconds, peak, result = measure_train(book_dir, workdir, threads=1)
    m = result["metrics"]
    figures.update({
        "train_seconds": round(seconds, 1),
        "train_peak_rss_mib": round(peak),
        "train_rows": result["params"].get("rows.train"),
        "oot_rows": int(m["n_oot"]),
        "auc_oot": round(m["auc_oot"], 4),
        "auc_oracle_oot": round(m["auc_oracle_oot"], 4),
        "stage_seconds": result.get("seconds", {}),
    })
    return figures
