"""Benchmark of the screening-run report: 100,000 assets (quick: 10,000).

Target (issue 6): the report of a 100,000-asset run opens in headless Chromium within 5 s and the
file stays under 20 MB. The run is a seeded made-up one in the declared decision-record layout
(``tests/reports/fake_run.py``: decisions, contributions of every model input, model inputs, a
training profile), written to disk and read back as the command would, so the figures include
reading the run. Figures: seconds to read and render, file size, browser load time (navigation to
the load event, every image decoded), images, and whether the page passed the browser check.

Baseline, in the same run: the browser load time of a plain page of the same size with no images
(one ``<pre>`` of text), so the ratio says what the report's images and tables add to loading bytes.
"""

from __future__ import annotations

import time
from pathlib import Path

NAME = "report"
TARGET_LOAD_SECONDS = 5.0
TARGET_MB = 20.0


def run(workdir: Path, quick: bool) -> dict[str, object]:
    from reports.browser import check_page, find_chromium
    from reports.run_data import load_run
    from reports.run_report import render_run_report
    from tests.reports.fake_run import make_run

    n = 10_000 if quick else 100_000
    workdir.mkdir(parents=True, exist_ok=True)
    fake = make_run(n, seed=11, run_id=f"bench-{n}")
    run_dir = fake.write(workdir / "run")
    t0 = time.perf_counter()
    data = load_run(run_dir, inputs=fake.inputs, profile=fake.profile, profile_source="benchmark profile")
    html = render_run_report(data, fake.spec, fake.policy)
    render_seconds = time.perf_counter() - t0
    out = workdir / "report.html"
    out.write_text(html, encoding="utf-8")
    size_mb = out.stat().st_size / 1e6
    figures: dict[str, object] = {"assets": n, "render_seconds": round(render_seconds, 1),
                                  "file_mb": round(size_mb, 2), "file_target_mb": TARGET_MB,
                                  "file_ok": size_mb < TARGET_MB}
    if find_chromium() is None:
        figures["browser"] = "skipped: no Chromium"
        return figures
    page = check_page(out, screenshot=workdir / "report.png")
    plain = workdir / "plain.html"
    plain.write_text("<!DOCTYPE html><html><body><pre>" + "x" * (out.stat().st_size - 60) + "</pre></body></html>")
    base = check_page(plain)
    figures.update({"load_seconds": round(page.load_seconds, 2), "load_target_seconds": TARGET_LOAD_SECONDS,
                    "load_ok": page.load_seconds < TARGET_LOAD_SECONDS, "images": page.images,
                    "browser_check_ok": page.ok, "baseline_plain_load_seconds": round(base.load_seconds, 2),
                    "load_ratio_to_plain": round(page.load_seconds / max(base.load_seconds, 1e-3), 1)})
    return figures
