"""``poolgate risk-assess`` end to end: outputs, --json, bad input (exit 2, one line), the HTML pages."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from assessment import assess, load_figures, load_judgments
from poolgate.cli import main
from reports.assessment_report import render_assessment
from reports.browser import find_chromium
from reports.monitor_charts import cjk_font
from tests.assessment.figures import MONITOR_FIXTURE, write_screen_run

SAMPLE = Path(__file__).resolve().parents[2] / "data_samples" / "risk_assessment.toml"


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["risk-assess", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def screen_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_screen_run(tmp_path_factory.mktemp("screen"))


def test_json_run_writes_every_output(tmp_path: Path, screen_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code, stdout, _ = run_cli(["--judgments", str(SAMPLE), "--run", str(screen_run), "--monitor",
                               str(MONITOR_FIXTURE), "--out", str(out), "--json"], capsys)
    assert code == 0
    assert stdout.count("\n") == 1
    got = json.loads(stdout)
    assert got["principal_risk"]["criterion"] == "credit"
    assert [(m["node"], m["expert"]) for m in got["inconsistent"]] == [("credit", "E3")]
    assert got["sources"]["screen"]["run_id"] == "run-fixture-0001"
    assert got["sources"]["monitor"]["run_id"] == "mon-fixture-0001"
    assert sorted(p.name for p in out.iterdir()) == ["assessment.html", "assessment.json", "assessment.zh.html",
                                                     "weights.csv"]
    written = json.loads((out / "assessment.json").read_text(encoding="utf-8"))
    assert written["composite"] == got["composite"]
    assert written["judgments"]["sha256"] == load_judgments(SAMPLE).sha256
    html = (out / "assessment.html").read_text(encoding="utf-8")
    score = re.search(r'data-metric="composite.score" data-value="([^"]+)"', html)
    assert score is not None and float(score.group(1)) == written["composite"]["score"]
    cr = re.search(r'data-metric="cr.credit.E3" data-value="([^"]+)"', html)
    e3 = next(m for m in written["matrices"] if m["node"] == "credit" and m["expert"] == "E3")
    assert cr is not None and float(cr.group(1)) == e3["cr"]
    zh = (out / "assessment.zh.html").read_text(encoding="utf-8")
    assert '<html lang="zh-Hans">' in zh and "信用风险" in zh and "判断矩阵一致性" in zh
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html


def test_second_run_is_byte_identical(tmp_path: Path, screen_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("a", "b"):
        assert run_cli(["--judgments", str(SAMPLE), "--run", str(screen_run), "--out", str(tmp_path / name),
                        "--json"], capsys)[0] == 0
    for f in ("assessment.json", "weights.csv", "assessment.html", "assessment.zh.html"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


def test_text_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["--judgments", str(SAMPLE), "--out", str(tmp_path)], capsys)
    assert code == 0
    assert "principal risk: Credit risk" in out
    assert "inconsistent: expert E3, node credit: CR 0.127; suggested revision a[prepayment, residual_value] 1/5 -> 1" \
        in err


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    text = SAMPLE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "judgments.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(("old", "new", "parts"), [
    ('product_risk = [[1, 3], [4]]', 'product_risk = [[1, 30], [4]]',
     ["expert E1", "node product_risk", "a[operational, other] = 30", "between 1/9 and 9"]),
    ('product_risk = [[1, 3], [4]]', 'product_risk = [[1, 3, 2], [4]]', ["expert E1", "node product_risk", "[3, 1]"]),
    ('concentration = [[1, "1/3"], ["1/3"]]', 'concentration = [[1, 0], ["1/3"]]',
     ["expert E1", "node concentration", "a[single_lessee, dealer] = 0", "positive"]),
    ('indicator = "cpr"', 'indicator = "cpr_typo"', ["node prepayment", "indicator = 'cpr_typo'", "known indicator"]),
    ('name = "market"', 'name = "liquidity"', ["node liquidity", "duplicate node"]),
])
def test_bad_input_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str,
                                      parts: list[str]) -> None:
    path = _edited(tmp_path, old, new)
    code, out, err = run_cli(["--judgments", str(path), "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"poolgate risk-assess: error: {path}")
    for p in parts:
        assert p in err, err
    assert not (tmp_path / "out").exists()


def test_strict_refuses_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["--judgments", str(SAMPLE), "--out", str(tmp_path / "out"), "--strict"], capsys)
    assert code == 2
    assert "expert E3, node credit: CR = 0.12" in err and "--strict" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_missing_monitoring_figure_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "mon").mkdir()
    (tmp_path / "mon" / "summary.json").write_text(json.dumps({"latest": {"cpr": 0.1}}), encoding="utf-8")
    code, _, err = run_cli(["--judgments", str(SAMPLE), "--monitor", str(tmp_path / "mon"),
                            "--out", str(tmp_path / "out")], capsys)
    assert code == 2
    assert "summary.json: indicator delinquency_60_plus reads latest.delinquency_60_plus_share: no key" in err


def _result(screen_run: Path) -> dict[str, Any]:
    return assess(load_judgments(SAMPLE), screen=load_figures("screen", screen_run),
                  monitor=load_figures("monitor", MONITOR_FIXTURE))


def test_chinese_charts_have_every_glyph(screen_run: Path) -> None:
    # pytest turns warnings into errors: matplotlib's "Glyph ... missing from font(s)" would fail here
    if cjk_font() is None:
        pytest.skip("no CJK font installed (fonts-noto-cjk); charts fall back to English labels")
    html = render_assessment(_result(screen_run), language="zh")
    assert "chart labels are in English" not in html and "图表标签使用英文" not in html


@pytest.mark.skipif(find_chromium() is None, reason="no Chromium")
def test_pages_pass_the_browser_check(tmp_path: Path, screen_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fc = shutil.which("fc-list")
    found = subprocess.run([fc, ":lang=zh", "family"], check=False, capture_output=True, text=True) if fc else None
    zh_fonts = found.stdout if found else ""
    assert zh_fonts.strip(), "Chromium needs a font with Chinese glyphs (fonts-noto-cjk) or the page shows boxes"
    code, stdout, _ = run_cli(["--judgments", str(SAMPLE), "--run", str(screen_run), "--out", str(tmp_path),
                               "--check", "--json"], capsys)
    got = json.loads(stdout)
    assert code == 0, got["check"]
    for lang in ("en", "zh"):
        assert got["check"][lang]["ok"] and got["check"][lang]["images"] == 2
        assert Path(got["check"][lang]["screenshot"]).stat().st_size > 10_000
