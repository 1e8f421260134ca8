"""``poolgate risk-assess``: product risk assessment by AHP over expert judgments and the pool's figures."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from assessment.ahp import scale_text
from features.io import atomic_write
from poolgate._console import print_json, print_table
from scoring.audit import DEFAULT_LOG

NAME = "risk-assess"
HELP = "assess the product's risks by AHP: expert judgments, consistency, weights, measured figures"
DESCRIPTION = ("Read a judgments file (risk hierarchy, experts, pairwise comparisons on Saaty's 1-9 scale, "
               "ratings of every leaf risk); compute every matrix's priorities (eigenvector and geometric mean), "
               "lambda_max, CI and CR with the suggested revision of inconsistent ones; aggregate the experts "
               "(AIJ and AIP, expert weights honoured); global weights, composite score and level, rankings, the "
               "principal risk, measured ratings from a screening run (--run) and a monitoring run (--monitor), "
               "and the sensitivity of the top risk to each criterion's weight. Writes OUT/assessment.json, "
               "OUT/weights.csv, OUT/assessment.html (English) and OUT/assessment.zh.html (Chinese). "
               "See docs/risk_assessment.md.")
ORDER = 95
HTML_FILES = {"en": "assessment.html", "zh": "assessment.zh.html"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--judgments", required=True, help="judgments TOML (e.g. data_samples/risk_assessment.toml)")
    p.add_argument("--run", default=None,
                   help="screening output folder (poolgate screen --out) or its run id, for measured figures")
    p.add_argument("--log", default=DEFAULT_LOG, help=f"decision log to find a run id in (default ./{DEFAULT_LOG})")
    p.add_argument("--monitor", default=None, help="monitoring output folder (poolgate monitor --out)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--strict", action="store_true",
                   help="refuse to aggregate when any expert's matrix has CR above 0.10 (exit 2)")
    p.add_argument("--check", action="store_true", help="open the HTML pages in headless Chromium and check them")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")


def _run_dir(run: str, log: str) -> Path:
    """The folder itself, or a run id looked up in the decision log."""
    if Path(run).is_dir():
        return Path(run)
    from scoring.lookup import find_run_dir

    return find_run_dir(run, log)


def _write_text(path: Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _check(paths: dict[str, Path]) -> dict[str, Any]:
    from reports.browser import check_page

    out: dict[str, Any] = {}
    for lang, path in paths.items():
        page = check_page(path, screenshot=path.with_suffix(".png"), full_page=True)
        out[lang] = {"ok": page.ok, "load_seconds": round(page.load_seconds, 2), "images": page.images,
                     "problems": page.problems(), "screenshot": str(page.screenshot)}
    return out


def run(args: argparse.Namespace) -> int:
    from assessment import assess, load_figures, load_judgments, write_assessment
    from reports.assessment_report import render_assessment

    judgments = load_judgments(args.judgments)
    screen = load_figures("screen", _run_dir(args.run, args.log)) if args.run else None
    monitor = load_figures("monitor", args.monitor) if args.monitor else None
    result = assess(judgments, screen=screen, monitor=monitor, strict=args.strict)
    html = {lang: render_assessment(result, language=lang) for lang in HTML_FILES}  # before any file is written
    files = write_assessment(result, args.out)
    pages = {lang: _write_text(Path(args.out) / name, html[lang]) for lang, name in HTML_FILES.items()}
    checks = _check(pages) if args.check else {}
    status = 0 if all(c["ok"] for c in checks.values()) else 1
    bad = [m for m in result["matrices"] if not m["consistent"]]
    if args.json:
        print_json({"out": str(Path(args.out)), "files": {**{k: str(v) for k, v in files.items()},
                                                          **{f"html_{k}": str(v) for k, v in pages.items()}},
                    "judgments_sha256": judgments.sha256, "composite": result["composite"],
                    "principal_risk": result["principal_risk"], "ranking": result["ranking"],
                    "inconsistent": [{"node": m["node"], "expert": m["expert"], "cr": m["cr"],
                                      "revision": m["revision"]} for m in bad],
                    "sources": result["sources"], **({"check": checks} if checks else {})})
        return status
    _print_summary(result, bad)
    print(f"\noutputs in {args.out}/: " + ", ".join(p.name for p in [*files.values(), *pages.values()]))
    for lang, c in checks.items():
        print(f"browser check ({lang}): {'OK' if c['ok'] else 'FAILED'} in {c['load_seconds']:.2f} s, "
              f"{c['images']} images" + "".join(f"\n  {p}" for p in c["problems"]))
    return status


def _print_summary(result: dict[str, Any], bad: list[dict[str, Any]]) -> None:
    j = result["judgments"]
    names = {n["name"]: n["en"] for n in result["nodes"]}
    comp = result["composite"]
    levels = j["levels_en"]
    print(f"{j['title']} (version {j['version']}, sha256 {j['sha256'][:12]}), {len(result['experts'])} experts")
    print(f"composite risk score {comp['score']:.3f} of {j['scale']}: {levels[comp['level'] - 1]}"
          + (f"; with {comp['measured_leaves']} measured ratings {comp['score_with_measured']:.3f}: "
             f"{levels[comp['level_with_measured'] - 1]}" if comp["measured_leaves"] else ""))
    p = result["principal_risk"]
    print(f"principal risk: {names[p['criterion']]} (weight {p['weight']:.3f}), led by "
          + ", ".join(names[x] for x in p["leaves"]))
    nodes = {n["name"]: n for n in result["nodes"]}
    for n in p["measures"]:
        print(f"  measures against {names[n]}: {nodes[n]['measures_en']}")
    print()
    print_table(pd.DataFrame([{"criterion": names[c["name"]], "weight": f"{c['weight']:.3f}",
                               "score": f"{c['score']:.2f}", "level": levels[c["level"] - 1]}
                              for c in sorted(result["criteria"], key=lambda c: c["rank"])]))
    print()
    leaves = sorted(result["leaves"], key=lambda x: x["rank"])
    print_table(pd.DataFrame([{"rank": x["rank"], "risk": names[x["name"]], "global weight": f"{x['global_weight']:.4f}",
                               "expert rating": f"{x['rating']:.2f}",
                               "measured": "" if x["measured_rating"] is None else str(x["measured_rating"]),
                               "disagree": "yes" if x["disagree"] else ""} for x in leaves]))
    print()
    if bad:
        for m in bad:
            rv = m["revision"]
            hint = (f"; suggested revision a[{rv['row']}, {rv['col']}] {scale_text(rv['current'])} -> "
                    f"{scale_text(rv['suggested'])} gives CR {rv['cr_after']:.3f}") if rv else ""
            print(f"inconsistent: expert {m['expert']}, node {m['node']}: CR {m['cr']:.3f}{hint}", file=sys.stderr)
    else:
        print(f"all {result['consistency']['matrices']} matrices consistent (CR <= {j['cr_threshold']:.2f})")
    for s in result["sensitivity"]["leaves"]:
        print(f"top risk {names[result['sensitivity']['top_leaf']]} stays on top while {names[s['criterion']]} "
              f"weighs {s['low']:.3f} to {s['high']:.3f} (now {s['weight']:.3f})")
