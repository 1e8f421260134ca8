"""``poolgate investor-report``: the monthly investor report of a monitored pool, one self-contained HTML file."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from features.io import atomic_write
from poolgate._console import print_json
from scoring.audit import DEFAULT_LOG, monitor_files_problems

NAME = "investor-report"
HELP = "write the monthly investor report (self-contained HTML, English or Chinese) of a poolgate monitor output"
DESCRIPTION = ("Write one HTML file (no network, images inline, printable) in the shape of a servicer report: pool "
               "and notes, collections, delinquency stack, cumulative net loss against its trigger line, CPR, vintage "
               "curves, the period's waterfall, triggers, liquidity support and the back-test of the screening "
               "model. Reads the --monitor folder, and checks its files against the monitor's record in the "
               "decision log when there is one (a changed file is named in a warning). See docs/monitoring.md.")
ORDER = 75

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--monitor", required=True, help="output folder of poolgate monitor")
    p.add_argument("--out", required=True, help="HTML file to write")
    p.add_argument("--lang", choices=["en", "zh"], default="en", help="language of the report (default en)")
    p.add_argument("--check", action="store_true", help="open the file in headless Chromium and check it")
    p.add_argument("--log", default=DEFAULT_LOG,
                   help=f"decision log holding the monitor's record, to check its files against (default "
                        f"./{DEFAULT_LOG}; not checked when there is none)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")


def run(args: argparse.Namespace) -> int:
    from reports.investor_report import load_monitor_output, render_investor_report

    mon = load_monitor_output(args.monitor)
    changed: list[str] = []
    if Path(args.log).is_file():  # the figures must be those the monitor wrote and logged
        changed = monitor_files_problems(args.monitor, str(mon.summary.get("monitor_id")), args.log)
        for problem in changed:
            log.warning("%s", problem)
    html = render_investor_report(mon, language=args.lang)
    out = atomic_write(args.out, lambda tmp: Path(tmp).write_text(html, encoding="utf-8"))
    result: dict[str, object] = {"out": str(out), "bytes": len(html.encode("utf-8")), "language": args.lang,
                                 "monitor_id": mon.summary.get("monitor_id"), "log_problems": changed}
    status = 0
    if args.check:
        from reports.browser import check_page

        page = check_page(out, screenshot=Path(out).with_suffix(".png"), full_page=True)
        result.update({"check_ok": page.ok, "load_seconds": round(page.load_seconds, 2), "images": page.images,
                       "problems": page.problems(), "screenshot": str(page.screenshot)})
        status = 0 if page.ok else 1
    if args.json:
        print_json(result)
        return status
    print(f"{out}: investor report ({args.lang}) of monitor {mon.summary.get('monitor_id')}, "
          f"{len(html.encode('utf-8')):,} bytes")
    if args.check:
        print(f"browser check: {'OK' if page.ok else 'FAILED'} in {page.load_seconds:.2f} s, {page.images} images"
              + "".join(f"\n  {p}" for p in page.problems()))
    return status
