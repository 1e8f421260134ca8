"""Chinese text is drawn with real glyphs: in the charts (a CJK font found explicitly) and in Chromium.

The browser tests ask Chromium which platform fonts drew each element's Chinese text
(``CSS.getPlatformFontsForNode``) and require that the CJK characters were drawn by fonts that
fontconfig lists as covering Chinese (``fc-list :lang=zh``); a character no font has would be drawn as
the missing-glyph box of a Latin font and fail the test. They skip without Chromium or without any
Chinese font (``.ci/run`` installs ``fonts-noto-cjk`` where it can).
"""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest

from reports import charts
from reports.browser import CjkText, check_page, find_chromium
from reports.fonts import cjk_font, has_cjk

LABELS = ["月租金收入比", "车辆价格", "征信评分 bureau score"]


def _zh_families() -> set[str]:
    fc = shutil.which("fc-list")
    if fc is None:
        return set()
    out = subprocess.run([fc, ":lang=zh", "family"], capture_output=True, text=True, check=False).stdout
    return {name.strip() for line in out.splitlines() for name in line.split(",") if name.strip()}


needs_cjk_font = pytest.mark.skipif(cjk_font() is None, reason="no CJK font installed (apt-get install fonts-noto-cjk)")


def test_has_cjk_finds_han_and_full_width_forms_only() -> None:
    assert has_cjk("违约") and has_cjk("PD（12个月）") and not has_cjk("PD 12 months, résumé")


@needs_cjk_font
def test_a_chart_with_chinese_labels_finds_a_cjk_font_and_misses_no_glyph() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # matplotlib warns "Glyph ... missing from font(s)" for a box
        png = charts.bar_chart(LABELS, [3.0, 2.0, 1.0], title="原因代码 reason codes")
    assert base64.b64decode(png)[:4] == b"\x89PNG"


@needs_cjk_font
def test_without_the_fallback_the_same_labels_would_be_boxes() -> None:
    """The check above can fail: DejaVu Sans alone has no Chinese glyph."""
    fig = charts._figure(4, 2)
    fig.add_subplot().set_title(LABELS[0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(io.BytesIO(), format="png")
    assert any("missing from font" in str(w.message) for w in caught)


def _check_glyphs(found: list[CjkText], zh: set[str]) -> None:
    assert found, "no Chinese text found on the page"
    for item in found:
        drawn = sum(n for family, n in item.fonts.items() if family in zh)
        assert drawn >= item.cjk_chars, f"{item.text!r}: {item.cjk_chars} CJK characters, fonts used {item.fonts}"


needs_browser = pytest.mark.skipif(find_chromium() is None or not _zh_families(),
                                   reason="needs Chromium and a Chinese font (apt-get install chromium fonts-noto-cjk)")


@needs_browser
def test_chinese_policy_report_and_model_card_draw_real_glyphs(tmp_path: Path) -> None:
    from reports.model_card import render_model_card
    from reports.run_data import load_run
    from reports.run_report import render_run_report
    from tests.reports.fake_run import make_run
    from tests.reports.test_model_card import _card_data

    fake = make_run(80, seed=2)
    run = load_run(fake.write(tmp_path / "run"), inputs=fake.inputs, profile=fake.profile)
    report = tmp_path / "report.zh.html"
    report.write_text(render_run_report(run, fake.spec, fake.policy, language="zh", max_waterfalls=1),
                      encoding="utf-8")
    card = tmp_path / "card.html"
    card.write_text(render_model_card(_card_data(n=600)), encoding="utf-8")
    zh = _zh_families()
    for page in (report, card):
        result = check_page(page, fonts=True)
        assert result.problems() == []
        _check_glyphs(result.cjk_text, zh)


def test_the_glyph_check_catches_text_drawn_by_a_font_without_chinese() -> None:
    """What Chromium reports for a box: the CJK characters counted against a Latin font."""
    zh = {"Noto Sans CJK SC"}
    _check_glyphs([CjkText(text="违约 PD", cjk_chars=2, fonts={"Liberation Sans": 3, "Noto Sans CJK SC": 2})], zh)
    with pytest.raises(AssertionError, match="2 CJK characters"):
        _check_glyphs([CjkText(text="违约 PD", cjk_chars=2, fonts={"Liberation Sans": 5})], zh)
