"""Benchmark of ``poolgate sample``: wall time and peak memory for 1,000,000 contracts (quick: 50,000).

Baseline, measured in the same run: a child process that writes the same number of rows of random
numbers with pyarrow (same four files, same row counts and column counts, Parquet/zstd, in blocks),
i.e. the cost of the output alone. The ratio says how much generating a realistic book adds to it.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from bench._measure import run_measured

NAME = "sample"
TARGET_SECONDS = 60.0
TARGET_MIB = 2048.0

_BASELINE = r"""
import json, sys
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
rows, cols, out = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(0)
for name, n in rows.items():
    schema = pa.schema([(f"c{i}", pa.float64()) for i in range(cols[name])])
    with pq.ParquetWriter(f"{out}/{name}.parquet", schema, compression="zstd") as w:
        for start in range(0, n, 500_000):
            m = min(500_000, n - start)
            w.write_table(pa.table({f"c{i}": rng.random(m) for i in range(cols[name])}, schema=schema))
"""


def run(workdir: Path, quick: bool) -> dict[str, object]:
    n = 50_000 if quick else 1_000_000
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / "book"
    shutil.rmtree(out, ignore_errors=True)
    seconds, mib = run_measured([sys.executable, "-m", "poolgate", "sample", "--contracts", str(n), "--seed", "7",
                                 "--out", str(out), "--json"])
    import pyarrow.parquet as pq

    rows = {name: pq.ParquetFile(out / f"{name}.parquet").metadata.num_rows
            for name in ("contracts", "performance", "pool", "truth")}
    cols = {name: pq.ParquetFile(out / f"{name}.parquet").metadata.num_columns for name in rows}
    size = sum((out / f"{name}.parquet").stat().st_size for name in rows) / 2**20
    base = workdir / "baseline"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir()
    b_seconds, b_mib = run_measured([sys.executable, "-c", _BASELINE, json.dumps(rows), json.dumps(cols), str(base)])
    shutil.rmtree(base, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    return {
        "contracts": n,
        "performance_rows": rows["performance"],
        "pool_rows": rows["pool"],
        "output_mib": round(size, 1),
        "seconds": round(seconds, 2),
        "peak_mib": round(mib, 1),
        "baseline_write_random_seconds": round(b_seconds, 2),
        "baseline_peak_mib": round(b_mib, 1),
        "ratio_seconds_vs_baseline": round(seconds / b_seconds, 2),
        "target": f"<= {TARGET_SECONDS:g} s and <= {TARGET_MIB:g} MiB for 1,000,000 contracts",
        "within_target": bool(quick or (seconds <= TARGET_SECONDS and mib <= TARGET_MIB)),
    }
