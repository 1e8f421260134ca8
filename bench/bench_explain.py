"""Benchmark of the explanations: the table TreeSHAP (:mod:`models.treeshap`) against ``pred_contrib``.

Model shapes: the two poolgate fits on the 50,000-contract book of :mod:`bench.bench_screen` (trees
from a constant; trees boosted on the logistic regression, whose additive logistic terms cost the
same on both sides and are left out), and LightGBM models fitted on the same model inputs at depth 5
(31 leaves), 8 (255 leaves) and 12 (255 leaves). Rows: the book's model inputs repeated to 200,000
for the poolgate shapes and 20,000 for the deep ones, whose ``pred_contrib`` is slow (quick: 5,000
and 1,000).

Each side runs in its own fresh child process, one call, timed from the call to its return: ours
includes importing numba, loading its compiled kernel from the cache and building the tables;
``pred_contrib`` includes LightGBM's own conversion of the frame. Both use the threads LightGBM's
OpenMP uses (every core, or ``OMP_NUM_THREADS``). Before the timed children, one untimed child fills
numba's cache; ``cold_compile_seconds`` is a first call with an empty cache folder (what the first
run after installing pays once). Figures per shape: depth, most leaves, trees, rows per second of
each side, the speed-up, and the largest difference of any contribution or base value (target
<= 1e-9). Targets: speed-up >= 8 on the two poolgate shapes, >= 3 at depth 8.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

NAME = "explain"
#: (name, max_depth, num_leaves, trees); None for the poolgate fits
_DEPTHS = (("depth 5", 5, 31, 100), ("depth 8", 8, 255, 100), ("depth 12", 12, 255, 50))
_KEYS = ("trees", "linear_base", "depth5", "depth8", "depth12")


def _inputs(workdir: Path, rows: tuple[int, int]) -> tuple[tuple[Path, Path], dict[str, Path]]:
    """Model inputs repeated to each of ``rows`` (parquet), the boosters to explain (LightGBM text files)."""
    import lightgbm as lgb

    from bench.bench_screen import book_models
    from models import LeaseModel

    book_dir, trees_dir, based_dir = book_models(workdir.parent / "screen")
    model = LeaseModel.load(trees_dir)
    contracts = pd.read_parquet(book_dir / "contracts.parquet")
    X = model.transform(contracts).reset_index(drop=True)
    truth = pd.read_parquet(book_dir / "truth.parquet", columns=["contract_id", "pd_24m"]).set_index("contract_id")
    y = (np.random.default_rng(0).random(len(X)) < truth.loc[contracts["contract_id"], "pd_24m"].to_numpy()).astype(int)
    paths = tuple(workdir / f"inputs_{n}.parquet" for n in rows)
    for n, path in zip(rows, paths, strict=True):
        if not path.exists():
            X.iloc[np.arange(n) % len(X)].reset_index(drop=True).to_parquet(path)
    boosters = {"poolgate: trees from a constant": trees_dir / "booster.txt",
                "poolgate: trees on the logistic regression": based_dir / "booster.txt"}
    for name, depth, leaves, trees in _DEPTHS:
        out = workdir / f"booster_depth{depth}.txt"
        if not out.exists():
            params = {"objective": "binary", "max_depth": depth, "num_leaves": leaves, "min_data_in_leaf": 20,
                      "learning_rate": 0.05, "verbose": -1, "seed": 0, "deterministic": True}
            out.write_text(lgb.train(params, lgb.Dataset(X, y), num_boost_round=trees).model_to_string())
        boosters[name] = out
    return (paths[0], paths[1]), boosters


def _shape(path: Path) -> dict[str, int]:
    import lightgbm as lgb

    from models.treeshap import compile_booster

    booster = lgb.Booster(model_file=str(path))
    info = booster.dump_model()["tree_info"]
    depth = max((_depth(t["tree_structure"]) for t in info), default=0)
    tables = compile_booster(booster)
    return {"depth": depth, "leaves": max(t["num_leaves"] for t in info), "trees": len(info),
            "fallback_trees": sum(b - a for a, b in tables.fallback), "table_mib": round(tables.tables.nbytes / 2**20, 1)}


def _depth(node: dict[str, Any]) -> int:
    if "split_index" not in node:
        return 0
    return 1 + max(_depth(node["left_child"]), _depth(node["right_child"]))


def _child(method: str, booster_path: str, inputs: str, out: str) -> None:
    """One timed explanation in this fresh process; prints {"seconds": ...} and saves (n, k + 1)."""
    import lightgbm as lgb

    import models  # noqa: F401 - poolgate is loaded in any real use; numba is not (it is timed)

    booster = lgb.Booster(model_file=booster_path)
    X = pd.read_parquet(inputs)
    t0 = time.perf_counter()
    if method == "ours":
        from models.treeshap import tree_shap

        values, base = tree_shap(booster, X)
        result = np.column_stack([values, base])
    else:
        result = np.asarray(booster.predict(X, pred_contrib=True))
    seconds = time.perf_counter() - t0
    np.save(out, result)
    print(json.dumps({"seconds": seconds}))


def _timed(method: str, booster: Path, inputs: Path, out: Path, env: dict[str, str] | None = None) -> float:
    proc = subprocess.run([sys.executable, "-m", "bench.bench_explain", method, str(booster), str(inputs), str(out)],
                          capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"bench_explain child {method} {booster.name} failed:\n{proc.stderr[-2000:]}")
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["seconds"])


def run(workdir: Path, quick: bool) -> dict[str, Any]:
    from bench.bench_screen import _cpu_marks, _other_cores
    from models.treeshap import _threads

    sizes = (5_000, 1_000) if quick else (200_000, 20_000)
    workdir.mkdir(parents=True, exist_ok=True)
    files, boosters = _inputs(workdir, sizes)
    first = next(iter(boosters.values()))
    with tempfile.TemporaryDirectory() as empty:   # a first call with nothing in numba's cache
        cold = _timed("ours", first, files[1], workdir / "cold.npy", {**os.environ, "NUMBA_CACHE_DIR": empty})
    _timed("ours", first, files[1], workdir / "warm.npy")   # fills the default cache (untimed)
    figures: dict[str, Any] = {"rows_poolgate_shapes": sizes[0], "rows_depth_shapes": sizes[1],
                               "threads": _threads(), "cold_compile_seconds": round(cold, 2),
                               "load_at_start": os.getloadavg()[0]}
    speedups: dict[str, float] = {}
    worst = 0.0
    for key, (name, path) in zip(_KEYS, boosters.items(), strict=True):
        inputs, rows = (files[0], sizes[0]) if name.startswith("poolgate") else (files[1], sizes[1])
        mark, t0 = _cpu_marks(), time.perf_counter()
        ours = _timed("ours", path, inputs, workdir / "ours.npy")
        theirs = _timed("pred_contrib", path, inputs, workdir / "theirs.npy")
        others = _other_cores(mark, _cpu_marks(), time.perf_counter() - t0)
        difference = float(np.abs(np.load(workdir / "ours.npy") - np.load(workdir / "theirs.npy")).max())
        worst, speedups[key] = max(worst, difference), theirs / ours
        figures.update({f"{key}_shape": name, **{f"{key}_{k}": v for k, v in _shape(path).items()},
                        f"{key}_ours_rows_per_s": round(rows / ours),
                        f"{key}_pred_contrib_rows_per_s": round(rows / theirs),
                        f"{key}_speedup": round(theirs / ours, 2), f"{key}_max_abs_difference": difference,
                        f"{key}_other_cores": others})
    figures["target_poolgate_speedup_ge_8"] = min(speedups["trees"], speedups["linear_base"]) >= 8
    figures["target_depth8_speedup_ge_3"] = speedups["depth8"] >= 3
    figures["max_abs_difference"] = worst
    figures["exact_to_1e-9"] = worst <= 1e-9
    figures["load_at_end"] = os.getloadavg()[0]
    return figures


if __name__ == "__main__":
    _child(*sys.argv[1:5])
