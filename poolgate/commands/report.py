"""``poolgate report``: the screening-run report for auditors, one self-contained HTML file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from features.io import atomic_write
from poolgate._console import print_json, whole

NAME = "report"
HELP = "write the screening-run report (self-contained HTML) for auditors"
DESCRIPTION = ("Write one HTML file (no network, images inline, printable) explaining a screening run: provenance "
               "and audit status, decisions, pool summary, eligibility failures, reason codes, SHAP importance and "
               "waterfalls, stability against the training population, concentration limits.")
ORDER = 70


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, help="run folder (poolgate screen --out) or run id from the decision log")
    p.add_argument("--out", required=True, help="HTML file to write")
    p.add_argument("--log", default=None, help="decision log (default poolgate-decisions.log)")
    p.add_argument("--policy", default=None, help="policy file when the run's own file is gone (default: bundled)")
    p.add_argument("--model", default=None, help="model folder or MLflow URI instead of the one the run names")
    p.add_argument("--reference", default=None,
                   help="reference book (e.g. the training tape) for the training population when the model "
                        "carries no profile")
    p.add_argument("--no-inputs", action="store_true", help="do not recompute model inputs from the run's tape")
    p.add_argument("--lang", choices=["en", "zh"], default="en", help="language of display names and texts")
    p.add_argument("--max-waterfalls", type=whole(0), default=50, help="assets drawn one by one (default 50)")
    p.add_argument("--check", action="store_true", help="open the file in headless Chromium and check it")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")


def run(args: argparse.Namespace) -> int:
    from reports.run_report import render_run_report
    from reports.sources import assemble_run
    from scoring.audit import DEFAULT_LOG

    got = assemble_run(args.run, log_path=args.log or DEFAULT_LOG, policy_path=args.policy, model_ref=args.model,
                       reference=args.reference, with_inputs=not args.no_inputs)
    html = render_run_report(got.run, got.spec, got.policy, language=args.lang, max_waterfalls=args.max_waterfalls)
    out = atomic_write(args.out, lambda tmp: Path(tmp).write_text(html, encoding="utf-8"))
    result: dict[str, object] = {"run_id": got.run.run_id, "out": str(out), "bytes": len(html.encode("utf-8")),
                                 "notes": got.notes}
    status = 0
    if args.check:
        from reports.browser import check_page

        page = check_page(out, screenshot=Path(out).with_suffix(".png"))
        result.update({"check_ok": page.ok, "load_seconds": round(page.load_seconds, 2), "images": page.images,
                       "problems": page.problems(), "screenshot": str(page.screenshot)})
        status = 0 if page.ok else 1
    if args.json:
        print_json(result)
        return status
    for n in got.notes:
        print(f"note: {n}", file=sys.stderr)
    print(f"{out}: report of run {got.run.run_id}, {len(html.encode('utf-8')):,} bytes")
    if args.check:
        print(f"browser check: {'OK' if page.ok else 'FAILED'} in {page.load_seconds:.2f} s, {page.images} images"
              + "".join(f"\n  {p}" for p in page.problems()))
    return status
