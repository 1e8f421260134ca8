"""Measured indicators: key paths, the built-in registry against real and fixture summaries, ratings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assessment.errors import IndicatorError
from assessment.indicators import INDICATORS, Indicator, load_figures, rate, resolve_path
from tests.assessment.figures import MONITOR_FIXTURE, write_screen_run


def test_resolve_path() -> None:
    data = {"a": {"b": [{"k": "x", "v": 1}, {"k": "y", "v": 2}]}, "n": None}
    assert resolve_path(data, "a.b[1].v") == 2
    assert resolve_path(data, "a.b[k=y].v") == 2
    assert resolve_path(data, "a.b[-1].k") == "y"
    assert resolve_path(data, "n") is None
    with pytest.raises(KeyError, match="no key 'c'"):
        resolve_path(data, "a.c")
    with pytest.raises(KeyError, match="no element of 'b' with k = z"):
        resolve_path(data, "a.b[k=z].v")
    with pytest.raises(KeyError, match=r"has no element \[5\]"):
        resolve_path(data, "a.b[5]")
    with pytest.raises(KeyError, match="not a list"):
        resolve_path(data, "a[0]")


def test_screen_indicators_read_a_real_pool_summary(tmp_path: Path) -> None:
    figures = load_figures("screen", write_screen_run(tmp_path / "run"))
    got = {k: figures.value(i) for k, i in INDICATORS.items() if i.source == "screen"}
    assert got == pytest.approx({
        "expected_loss_share": 0.0252, "wa_pd": 0.026, "wa_pd_remaining": 0.036, "wa_ltv": 0.8,
        "largest_lessee_share": 0.3,
        "top_lessees_share": 1.0, "largest_province_share": 0.6, "largest_dealer_share": 0.5,
        "largest_make_share": 0.7, "used_share": 0.4,
    })
    assert len(figures.sha256) == 64 and figures.path.endswith("summary.json")


def test_monitor_indicators_read_the_fixture() -> None:
    figures = load_figures("monitor", MONITOR_FIXTURE)
    got = {k: figures.value(i) for k, i in INDICATORS.items() if i.source == "monitor"}
    assert got == {"delinquency_60_plus": 0.0042, "delinquency_60_plus_3m": 0.0039, "cumulative_default": 0.0176,
                   "cpr": 0.094, "cumulative_net_loss": 0.0071}


def test_a_declared_indicator_reads_a_trigger_of_the_monitor() -> None:
    figures = load_figures("monitor", MONITOR_FIXTURE)
    assert figures.value(Indicator("cnl_trigger", "monitor", "triggers[code=cnl].value", "x", "x")) == 0.0071


def test_monitor_indicators_name_figures_the_monitor_writes() -> None:
    from monitoring.run import LATEST_KEYS, SUMMARY_SCHEMA

    fixture = json.loads(MONITOR_FIXTURE.read_text(encoding="utf-8"))
    assert fixture["schema"] == SUMMARY_SCHEMA
    assert set(fixture["latest"]) <= set(LATEST_KEYS)
    for ind in INDICATORS.values():
        if ind.source == "monitor":
            head, key = ind.path.split(".", 1)
            assert head == "latest" and key in LATEST_KEYS, ind


def test_missing_figure_names_file_indicator_and_path(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_text(json.dumps({"latest": {"cpr": "fast"}}), encoding="utf-8")
    figures = load_figures("monitor", tmp_path)
    with pytest.raises(IndicatorError, match=r"summary.json: indicator delinquency_60_plus reads "
                                             r"latest.delinquency_60_plus_share: no key"):
        figures.value(INDICATORS["delinquency_60_plus"])
    with pytest.raises(IndicatorError, match="'fast' is not a finite number"):
        figures.value(INDICATORS["cpr"])
    with pytest.raises(IndicatorError, match="no key 'none'"):
        figures.value(Indicator("mine", "monitor", "latest.none", "mine", "mine"))


def test_null_figure_is_none(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text(json.dumps({"pool": {"expected_loss_share": None}}), encoding="utf-8")
    assert load_figures("screen", tmp_path).value(INDICATORS["expected_loss_share"]) is None


def test_missing_or_bad_file(tmp_path: Path) -> None:
    with pytest.raises(IndicatorError, match="no such file; give the screening run's output folder"):
        load_figures("screen", tmp_path / "nowhere")
    (tmp_path / "summary.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(IndicatorError, match="not a JSON object"):
        load_figures("monitor", tmp_path)


def test_rate_ascending_and_descending() -> None:
    t = [0.005, 0.01, 0.02, 0.04]
    assert [rate(x, t) for x in (0.0, 0.005, 0.0051, 0.01, 0.015, 0.02, 0.04, 0.05)] == [1, 1, 2, 2, 3, 3, 4, 5]
    d = [0.9, 0.8, 0.7, 0.6]  # a higher figure is a lower risk
    assert [rate(x, d) for x in (0.95, 0.9, 0.85, 0.6, 0.5)] == [1, 1, 2, 4, 5]
