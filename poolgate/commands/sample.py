"""``poolgate sample``: write a synthetic Chinese auto-lease book, its history, a pool tape and the truth."""

from __future__ import annotations

import argparse
import datetime as dt

from features.exceptions import ConfigError
from features.synthetic import write_book
from poolgate._console import iso_date, print_json, progress, seed

NAME = "sample"
HELP = "generate a synthetic auto-lease book, performance history and candidate pool tape"
DESCRIPTION = ("Write DIR/contracts, DIR/performance, DIR/pool, DIR/truth and DIR/pool_performance (Parquet or "
               "CSV): a synthetic Chinese auto-lease book with vintages 2018-01 to 2024-12 and its monthly history "
               "up to the cut-off, the candidate pool tape at the cut-off (with a few defective rows), the true "
               "default probabilities, and the pool's monthly history after the cut-off (for poolgate monitor). "
               "Assumptions: docs/sample_book.md.")
ORDER = 10


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--contracts", type=int, default=20_000, help="contracts in the book (default 20000)")
    p.add_argument("--seed", type=seed, default=7, help="random seed (default 7)")
    p.add_argument("--cutoff", type=iso_date, default=dt.date(2025, 6, 30),
                   help="pool cut-off date YYYY-MM-DD (default 2025-06-30)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--format", choices=["parquet", "csv"], default="parquet", help="file format (default parquet)")
    p.add_argument("--performance-format", choices=["parquet", "csv"],
                   help="format of the performance history only (default: --format)")
    p.add_argument("--truth-format", choices=["parquet", "csv"],
                   help="format of the truth file only (default: --format)")
    p.add_argument("--profile", choices=["non_captive", "captive"], default="non_captive",
                   help="lessor profile (default non_captive)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")


def run(args: argparse.Namespace) -> int:
    if args.contracts < 1:
        raise ConfigError(f"--contracts must be at least 1, got {args.contracts}")
    with progress(total=args.contracts, desc="sample", unit="contracts") as bar:
        def advance(done: int) -> None:
            bar.update(done - bar.n)

        written = write_book(args.out, args.contracts, args.seed, args.cutoff, fmt=args.format,
                           profile=args.profile, performance_fmt=args.performance_format, truth_fmt=args.truth_format,
                              on_progress=advance)
    paths, rows = written.paths, written.rows
    if args.json:
        print_json({"files": {name: str(path) for name, path in paths.items()}, "rows": rows,
                    "contracts": args.contracts, "seed": args.seed, "cutoff": args.cutoff.isoformat(),
                    "profile": args.profile})
        return 0
    print(f"synthetic {args.profile} book: {args.contracts} contracts, seed {args.seed}, "
          f"cut-off {args.cutoff.isoformat()}")
    for name, path in paths.items():
        print(f"  {name:<12} {rows[name]:>10} rows  {path}")
    print("truth.* holds the true PDs and outcomes: for measuring models only, never an input.")
    return 0
