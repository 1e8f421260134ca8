"""The investor report: self-contained, both languages, Chinese chart text without tofu, browser-checked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitoring import monitor
from poolgate.cli import main
from reports.browser import check_page, find_chromium
from reports.investor_report import load_monitor_output, render_investor_report
from reports.monitor_charts import MissingGlyphError, cjk_charts, cjk_font, line_chart
from tests.monitoring.conftest import Sample, deal_dict, make_run, pool_balance, write_deal


@pytest.fixture(scope="module")
def monitored(sample: Sample, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("ir")
    run = make_run(sample, base / "screen")
    deal = write_deal(base / "deal.toml", deal_dict(pool_balance(run)))
    monitor(str(run), sample.performance, deal, base / "mon", log_path=base / "log.jsonl", drift=False, track=False)
    return base / "mon"


@pytest.mark.parametrize("language, words", [("en", ["Pool and notes", "Triggers", "Back-test", "note factor",
                                                    "class A · interest paid (CNY)", "class A · principal paid (CNY)"]),
                                             ("zh", ["资产池与证券概况", "触发事件", "回溯检验", "证券本金因子",
                                                     "档次 A · 支付利息（元）", "档次 A · 偿付本金（元）",
                                                     "服务费与受托管理费", "累计净损失率", "优先级利息", ">全部<"])])
def test_report_is_self_contained_and_shows_the_monitor_figures(monitored: Path, language: str,
                                                                words: list[str]) -> None:
    mon = load_monitor_output(monitored)
    html = render_investor_report(mon, language=language)
    assert not re.search(r"""(src|href)=["']https?:""", html)
    for w in words:
        assert w in html
    balance = f"{mon.summary['latest']['pool_balance']:,.0f}"
    assert balance in html
    assert mon.summary["deal"]["sha256"] in html
    assert html.count("data:image/png;base64,") == 6
    assert not re.search(r">\s*-0(\.0+)?\s*<", html)  # nothing paid is 0, not -0
    periods = len(mon.monthly)
    shown = {"en": f"The table shows the last 12 of {periods} periods", "zh": f"表中为 {periods} 个期间中的最近 12 个"}
    assert periods > 12 and html.count(shown[language]) == 2  # collections and losses say they are cut


@pytest.mark.skipif(cjk_font() is None, reason="no CJK font installed (fonts-noto-cjk)")
def test_chinese_chart_text_has_every_glyph_and_a_missing_one_is_an_error() -> None:
    with cjk_charts("zh") as ok:
        assert ok
        line_chart([1, 2, 3], {"累计净损失率": [0.0, 0.001, 0.002]}, title="逾期 60 天以上余额占比")
    with pytest.raises(MissingGlyphError), cjk_charts("zh"):
        line_chart([1, 2], {"\ue000": [0.0, 1.0]}, title="\ue001")


@pytest.mark.skipif(find_chromium() is None, reason="chromium not installed")
def test_report_opens_cleanly_in_chromium(monitored: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report_zh.html"
    assert main(["investor-report", "--monitor", str(monitored), "--out", str(out), "--lang", "zh"]) == 0
    capsys.readouterr()
    page = check_page(out)
    assert page.ok, page.problems()
    assert page.images == 6 and not page.broken_images


def test_a_folder_that_is_not_a_monitor_output_is_one_line_exit_2(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["investor-report", "--monitor", str(tmp_path), "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "summary.json: missing" in err[0]
    assert not (tmp_path / "r.html").exists()


def test_a_monitor_file_changed_after_the_run_is_named(monitored: Path, tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    import json
    import logging
    import shutil

    log = monitored.parent / "log.jsonl"
    copy = tmp_path / "mon"
    shutil.copytree(monitored, copy)
    args = ["investor-report", "--monitor", str(copy), "--out", str(tmp_path / "r.html"), "--log", str(log), "--json"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["log_problems"] == []  # as the monitor wrote and logged them
    summary = json.loads((copy / "summary.json").read_text(encoding="utf-8"))
    summary["latest"]["cumulative_net_loss_share"] = 0.00188  # the headline card's figure, edited
    (copy / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="poolgate.commands.investor_report"):
        assert main(args) == 0
    (problem,) = json.loads(capsys.readouterr().out)["log_problems"]
    assert problem.startswith(f"{copy / 'summary.json'}: differs from the digest the decision log recorded")
    assert [r.getMessage() for r in caplog.records if r.name == "poolgate.commands.investor_report"] == [problem]


def test_the_classes_are_listed_in_the_deals_order_of_payment(sample: Sample, tmp_path: Path) -> None:
    run = make_run(sample, tmp_path / "screen")
    data = deal_dict(pool_balance(run))
    for cls, name in zip(data["classes"], ("Senior", "Mezz", "Equity"), strict=True):   # alphabetically reversed
        cls["name"] = name
    monitor(str(run), sample.performance, write_deal(tmp_path / "deal.toml", data), tmp_path / "mon",
            log_path=tmp_path / "log.jsonl", drift=False, track=False)
    html = render_investor_report(load_monitor_output(tmp_path / "mon"))
    for what in ("interest paid", "principal paid"):
        at = [html.index(f"class {name} · {what}") for name in ("Senior", "Mezz", "Equity")]
        assert at == sorted(at), what


def test_every_trigger_measure_has_its_chinese_name() -> None:
    from monitoring.deal import _LIQUIDITY_COVERS, MEASURES
    from reports.investor_report import _COVERS_ZH, _MEASURE_ZH

    assert set(_MEASURE_ZH) == set(MEASURES) and set(_COVERS_ZH) == set(_LIQUIDITY_COVERS)
