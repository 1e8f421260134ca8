"""The model card: numbers equal the measures of the same arrays, and the page passes a real browser."""

from __future__ import annotations

from html import escape as html_escape
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.spec import load_spec
from reports.browser import check_page, find_chromium
from reports.model_card import ModelCardData, card_texts, render_model_card
from training.metrics import auc, ks


class _Values(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.images = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if "data-metric" in a:
            self.values[str(a["data-metric"])] = str(a.get("data-value") or "")
        self.images += tag == "img"


def _card_data(n: int = 3000, seed: int = 0) -> ModelCardData:
    rng = np.random.default_rng(seed)
    true = 1 / (1 + np.exp(-(-3.0 + rng.standard_normal(n))))
    y = (rng.random(n) < true).astype(float)
    spec = load_spec()
    mono = pd.DataFrame({"feature": [f.name for f in spec.model_inputs if f.direction],
                         "direction": [f.direction for f in spec.model_inputs if f.direction]})
    mono["grid_points"], mono["checks"], mono["violations"] = 25, 4800, 0
    return ModelCardData(
        name="poolgate-pd", version="2", spec=spec, y=y, pd_model=np.clip(true * 1.05, 0, 1),
        pd_challenger=np.clip(true + rng.normal(0, 0.01, n), 1e-4, 1), vintage=rng.choice(["2022Q1", "2022Q2"], n),
        aliases=["champion"], run_id="abc123", created="2026-11-26T07:00:00+00:00", status="champion",
        split={"train_rows": 20000, "train_default_rate": 0.061, "train_vintages": "2019Q1..2021Q2",
               "validation_rows": 4000, "validation_default_rate": 0.058, "validation_vintages": "2021Q3..2021Q4",
               "test_rows": n, "test_default_rate": float(y.mean()), "test_vintages": "2022Q1..2022Q2"},
        fingerprints={"train": "f" * 64}, metrics={"auc_oot": 0.71}, monotonicity=mono,
        history=[{"time": "2026-11-26T07:00:00+00:00", "event": "challenger_set", "version": "2", "user": "ci",
                  "reason": "registered by a training run", "metrics": {"auc_oot": 0.71}},
                 {"time": "2026-11-26T07:05:00+00:00", "event": "promoted", "version": "2", "user": "ci",
                  "reason": "all gates passed", "metrics": {"auc": 0.71}}])


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModelCardData, Path, _Values]:
    data = _card_data()
    out = tmp_path_factory.mktemp("card") / "card.html"
    out.write_text(render_model_card(data), encoding="utf-8")
    parser = _Values()
    parser.feed(out.read_text(encoding="utf-8"))
    return data, out, parser


def test_metrics_equal_those_of_the_arrays(card: tuple[ModelCardData, Path, _Values]) -> None:
    data, _, page = card
    assert float(page.values["metric.model.auc"]) == pytest.approx(auc(data.y, data.pd_model), abs=1e-12)
    assert float(page.values["metric.model.ks"]) == pytest.approx(ks(data.y, data.pd_model), abs=1e-12)
    assert data.pd_challenger is not None
    assert float(page.values["metric.challenger.auc"]) == pytest.approx(auc(data.y, data.pd_challenger), abs=1e-12)
    assert int(page.values["data.train.rows"]) == 20000


def test_card_shows_directions_history_and_limitations(card: tuple[ModelCardData, Path, _Values]) -> None:
    data, out, page = card
    html = out.read_text(encoding="utf-8")
    for f in data.spec.model_inputs:
        assert html_escape(f.display_en) in html
    assert "higher value, lower risk" in html and "promoted" in html and "all gates passed" in html
    assert html_escape(card_texts()["limitations"][0]) in html
    assert all(v == "0" for k, v in page.values.items() if k.startswith("monotonicity."))
    assert page.images == 4  # ROC, KS, calibration, AUC by vintage


@pytest.mark.slow
def test_model_card_passes_headless_chromium(card: tuple[ModelCardData, Path, _Values]) -> None:
    if find_chromium() is None:
        pytest.skip("headless browser check skipped: no Chromium on this machine (apt-get install chromium)")
    _, out, page = card
    result = check_page(out, screenshot=out.with_suffix(".png"), full_page=True)
    assert result.problems() == []
    assert result.images == page.images
    assert out.with_suffix(".png").stat().st_size > 10_000


def test_how_the_model_was_chosen_shows_every_candidate_and_the_price_of_the_directions() -> None:
    data = _card_data(500)
    candidates = [{"name": "linear", "kind": "logistic regression", "auc": 0.7012, "log_loss": 0.21, "trees": 0,
                   "seconds": 1.0, "gap_to_best": 0.0105, "gap_se": 0.004},
                  {"name": "trees_8", "kind": "boosted trees", "auc": 0.7117, "log_loss": 0.2, "trees": 140,
                   "seconds": 2.0, "gap_to_best": 0.0, "gap_se": 0.0}]
    data.bundle_metadata = {"selection_table": {
        "scheme": {"kind": "rolling_origin", "folds": 4, "validation_rows": 6000, "detail": "..."},
        "candidates": candidates, "winner": "trees_8", "direction_cost": 0.0034,
        "validation_auc_directions_freed": 0.7151}, "best_iteration": 140, "blend_weight": 1.0,
        "partner_weight": 0.0}
    page = render_model_card(data)
    parser = _Values()
    parser.feed(page)
    assert parser.values["selection.linear.auc"] == "0.7012" and parser.values["selection.trees_8.auc"] == "0.7117"
    assert "rolling-origin folds" in page and "6,000 validation rows" in page
    assert "+0.0034 against the winner" in page and "0.7151" in page
    assert "standard error 0." not in page.split("+0.0034 against the winner", 1)[1][:40]  # none recorded
    assert "fitted on the same rows as the model" not in page  # no out-of-time price logged
    data.metrics = {**data.metrics, "direction_cost_oot": -0.0123, "direction_cost_oot_se": 0.0041}
    data.bundle_metadata["selection_table"]["direction_cost_se"] = 0.0011
    data.bundle_metadata["selection_table"]["stack_check"] = {"stack_auc": 0.7101, "baseline": "linear",
                                                             "baseline_auc": 0.7012, "parts": 4, "kept": True}
    page = render_model_card(data)
    assert ("on the out-of-time vintages, fitted on the same rows as the model, -0.0123 AUC against it "
            "(standard error 0.0041)") in page
    assert "+0.0034 against the winner (standard error 0.0011)" in page
    assert "validation AUC 0.7101, against 0.7012 of the logistic regression alone" in page
    assert "the stack is kept" in page
    assert "holds against the data" not in page  # no direction binds
    data.bundle_metadata["selection_table"]["directions_binding"] = [
        {"input": "term_months", "direction": 1, "price": 0.0014}, {"input": "monthly_income", "direction": -1,
                                                                   "price": -0.0002}]
    page = render_model_card(data)
    assert "freeing each alone: term_months (+1, +0.0014), monthly_income (-1, -0.0002)." in page
    legacy = _card_data(500)
    legacy.bundle_metadata = {"selection": "inner_cv"}
    assert "predates the candidate table" in render_model_card(legacy)
