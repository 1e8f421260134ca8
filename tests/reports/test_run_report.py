"""The screening-run report: numbers equal the run's files, and the page passes a real browser."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from reports.browser import check_page, find_chromium
from reports.run_data import load_run
from reports.run_report import render_run_report
from reports.summary_view import flatten_numbers
from tests.reports.fake_run import make_run


class _Metrics(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.images: list[str] = []
        self.alts: list[str] = []
        self.scripts = 0
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if "data-metric" in a:
            self.values[str(a["data-metric"])] = str(a.get("data-value") or "")
        if tag == "img":
            self.images.append(str(a.get("src", "")))
            self.alts.append(str(a.get("alt", "")))
        if tag == "script":
            self.scripts += 1
        for key in ("src", "href"):
            v = a.get(key) or ""
            if v and not v.startswith(("data:", "#")):
                self.external.append(v)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, _Metrics]:
    fake = make_run(300, seed=3)
    run_dir = fake.write(tmp_path_factory.mktemp("run"))
    run = load_run(run_dir, inputs=fake.inputs, profile=fake.profile, profile_source="made-up profile")
    html = render_run_report(run, fake.spec, fake.policy, max_waterfalls=5)
    out = run_dir / "report.html"
    out.write_text(html, encoding="utf-8")
    parser = _Metrics()
    parser.feed(html)
    return run_dir, out, parser


def test_every_summary_number_is_shown_and_equal(rendered: tuple[Path, Path, _Metrics]) -> None:
    run_dir, _, page = rendered
    summary = json.loads((run_dir / "summary.json").read_text())
    expected = {k: v for k, v in flatten_numbers(summary).items()
                if not k.startswith("summary.concentration")}
    shown = {k: float(v) for k, v in page.values.items() if k.startswith("summary.") and v}
    assert expected, "the summary has numbers"
    assert set(expected) <= set(shown), sorted(set(expected) - set(shown))[:5]
    for key, value in expected.items():
        assert shown[key] == pytest.approx(value, rel=1e-12), key


def test_decision_counts_and_rule_counts_equal_the_decisions_file(rendered: tuple[Path, Path, _Metrics]) -> None:
    run_dir, _, page = rendered
    d = pd.read_csv(run_dir / "decisions.csv")
    for status, n in d["status"].value_counts().items():
        assert int(page.values[f"decisions.{status}.count"]) == n
    assert int(page.values["decisions.total"]) == len(d)
    rules: dict[str, int] = {}
    for text in d["failed_rules"].fillna("[]"):
        for item in json.loads(text):
            rules[item["code"]] = rules.get(item["code"], 0) + 1
    assert rules
    for code, n in rules.items():
        assert int(page.values[f"rule.{code}.count"]) == n
    sel = d[d["status"].isin(["refer", "reject"])]
    first = sel["reason_1_feature"].dropna().value_counts()
    top = first.index[0]
    carried = sum((sel[c] == top).sum() for c in d.columns if c.startswith("reason_") and c.endswith("_feature"))
    assert int(page.values[f"reason.{top}.count"]) == carried


def test_concentration_limits_come_from_the_policy_and_values_from_the_summary(
        rendered: tuple[Path, Path, _Metrics]) -> None:
    run_dir, _, page = rendered
    summary = json.loads((run_dir / "summary.json").read_text())
    for item in summary["concentration"]:
        assert float(page.values[f"limit.{item['code']}.max_share"]) == item["max_share"]
        assert float(page.values[f"limit.{item['code']}.share"]) == pytest.approx(item["value"])


def test_page_is_self_contained(rendered: tuple[Path, Path, _Metrics]) -> None:
    page = rendered[2]
    assert page.scripts == 0
    assert page.external == []
    assert page.images and all(src.startswith("data:image/png;base64,") for src in page.images)
    assert sum(alt.startswith("waterfall") for alt in page.alts) == 5  # capped by max_waterfalls


def test_text_from_the_run_is_escaped(tmp_path: Path) -> None:
    fake = make_run(60, seed=1)
    fake.decisions["asset_id"] = fake.decisions["asset_id"].astype(str).str.replace("C100001", "<script>x</script>")
    fake.decisions["asset_id"] = fake.decisions["asset_id"].astype("string")
    fake.contributions["asset_id"] = fake.contributions["asset_id"].str.replace("C100001", "<script>x</script>")
    run = load_run(fake.write(tmp_path))
    html = render_run_report(run, fake.spec, fake.policy, max_waterfalls=60)
    assert "<script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html


def test_a_concentration_drop_and_an_already_held_candidate_are_named_in_the_rule_table(tmp_path: Path) -> None:
    fake = make_run(60, seed=1)
    limit = fake.policy.concentration[0]
    failed = fake.decisions["failed_rules"].astype(str).tolist()
    failed[0] = json.dumps([{"code": limit.code, "message": "dropped"}])
    failed[1] = json.dumps([{"code": "already_in_pool", "message": "held"}])
    fake.decisions["failed_rules"] = pd.Series(failed, dtype="string")
    html = render_run_report(load_run(fake.write(tmp_path)), fake.spec, fake.policy, max_waterfalls=5)
    assert f"concentration limit ({limit.group}" in html and f"≤ {limit.max_share:.2%} of the pool" in html
    assert "contract_id against the existing pool" in html


def test_a_pd_at_the_cutoff_is_not_drawn_over_the_training_origination_pd(tmp_path: Path) -> None:
    pages = {}
    for basis in ("origination", "remaining"):
        fake = make_run(60, seed=1)
        fake.summary.setdefault("run", {})["pd_basis"] = basis
        run = load_run(fake.write(tmp_path / basis), inputs=fake.inputs, profile=fake.profile, profile_source="made up")
        pages[basis] = render_run_report(run, fake.spec, fake.policy, max_waterfalls=5)
    assert "PD distribution, pool against training" in pages["origination"]
    assert "PD distribution, pool against training" not in pages["remaining"]
    assert "pd_basis remaining" in pages["remaining"] and "not drawn over each other" in pages["remaining"]


@pytest.mark.slow
def test_report_passes_headless_chromium(rendered: tuple[Path, Path, _Metrics]) -> None:
    if find_chromium() is None:
        pytest.skip("headless browser check skipped: no Chromium on this machine (apt-get install chromium)")
    _, out, page = rendered
    shot = out.with_suffix(".png")
    result = check_page(out, screenshot=shot)
    assert result.problems() == []
    assert result.images == len(page.images) and result.broken_images == []
    assert all(u.startswith(("data:", "file:")) for u in result.requests)
    assert shot.exists() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_chinese_labels_come_from_the_specification_and_the_policy(tmp_path: Path) -> None:
    fake = make_run(80, seed=2)
    run = load_run(fake.write(tmp_path), inputs=fake.inputs, profile=fake.profile)
    html = render_run_report(run, fake.spec, fake.policy, language="zh", max_waterfalls=1)
    top = next(f for f in fake.spec.model_inputs if f.name == "payment_to_income")
    assert top.display_zh in html
    assert fake.policy.reasons.template("payment_to_income", "zh") in html
