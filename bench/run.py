"""Run every benchmark module ``bench/bench_*.py`` and print its figures.

Each module defines ``NAME`` and ``run(workdir: Path, quick: bool) -> dict``; the dict holds the
figures (seconds, peak memory in MiB, ratios against a baseline measured in the same run) and is
printed as a table and written to ``bench_out/results.json``. ``--only NAME`` runs one module;
``--quick`` runs small sizes (for checking that the benchmarks themselves work).

The machine is shared and noisy: every speed figure is reported next to a baseline measured in the
same run, as a ratio.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path

import bench


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--only", action="append", help="run only this benchmark (repeatable)")
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the benchmarks run")
    parser.add_argument("--out", default="bench_out", help="working folder (default bench_out)")
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()  # benchmarks change folder (bench_train runs in its tracking folder)
    out.mkdir(parents=True, exist_ok=True)
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))
    results: dict[str, dict[str, object]] = {}
    failed = False
    for name in names:
        mod = importlib.import_module(f"bench.{name}")
        if args.only and mod.NAME not in args.only:
            continue
        print(f"== {mod.NAME}", flush=True)
        t0 = time.perf_counter()
        try:
            figures = mod.run(out / mod.NAME, args.quick)
        except Exception as exc:  # noqa: BLE001 - a failing benchmark is reported, the others still run
            figures = {"error": repr(exc)}
            failed = True
        figures["wall_seconds_total"] = round(time.perf_counter() - t0, 1)
        results[mod.NAME] = figures
        for key, value in figures.items():
            print(f"   {key:<40} {value}", flush=True)
    (out / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"results written to {out / 'results.json'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
