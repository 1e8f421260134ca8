"""`poolgate report` end to end: a real screening run of a small fitted model, then its report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from poolgate.cli import main
from reports.browser import find_chromium
from tests.reports.screened import screen_small_pool, small_model


@pytest.fixture(scope="module")
def screened(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("e2e")
    model, train = small_model()
    bundle = model.save(tmp / "bundle")
    train.to_csv(tmp / "book.csv", index=False)
    return {"bundle": bundle, "book": tmp / "book.csv", **screen_small_pool(tmp, bundle)}


def _metrics(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-metric="([^"]+)" data-value="([^"]*)"', html))


def test_report_of_a_real_run(screened: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    argv = ["report", "--run", str(screened["run"]), "--out", str(out), "--log", str(screened["log"]),
            "--reference", str(screened["book"]), "--max-waterfalls", "3", "--json"]
    check = find_chromium() is not None
    capsys.readouterr()
    assert main(argv + (["--check"] if check else [])) == 0
    result = json.loads(capsys.readouterr().out)
    html = out.read_text(encoding="utf-8")
    assert "audit verify passed" in html and "reference book" in html
    decisions = pd.read_parquet(screened["run"] / "decisions.parquet")
    m = _metrics(html)
    for status, n in decisions["status"].value_counts().items():
        assert int(m[f"decisions.{status}.count"]) == n
    assert any(k.startswith("psi.") for k in m)  # inputs recomputed from the tape, profile from the book
    if check:
        assert result["check_ok"], result["problems"]
    else:
        pytest.skip("report written and compared; browser check skipped: no Chromium on this machine")


def test_report_flags_a_decisions_file_edited_after_the_run(screened: dict[str, Path], tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    for f in screened["run"].iterdir():
        (run / f.name).write_bytes(f.read_bytes())
    with open(run / "decisions.csv", "a", encoding="utf-8") as fh:
        fh.write("\n")
    log = json.loads(screened["log"].read_text().splitlines()[-1])
    assert log["out_dir"] == str(screened["run"].resolve())
    out = tmp_path / "r.html"
    assert main(["report", "--run", str(run), "--out", str(out), "--log", str(screened["log"]),
                 "--model", str(screened["bundle"]), "--no-inputs", "--max-waterfalls", "1"]) == 0
    html = out.read_text(encoding="utf-8")
    assert "audit verify FAILED" in html and "decisions.csv differs from the digest" in html
