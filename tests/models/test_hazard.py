"""The forward (hazard) model: exact explanations, directions, storage without pickles, consistent figures."""

from __future__ import annotations

import datetime as dt
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.pipeline import FeatureBuilder
from features.snapshots import build_snapshots, snapshot_split
from features.spec import load_spec
from features.synthetic import generate_book
from models.hazard import LAG_MONTHS, ForwardModel, fit_forward_model, forward_inputs, hazard_rows

FRACTION = 0.2
PARAMS = {"n_estimators": 300, "learning_rate": 0.1, "num_leaves": 4, "min_child_samples": 100,
          "early_stopping_rounds": 20, "n_jobs": 1}


@pytest.fixture(scope="module")
def fitted() -> tuple[ForwardModel, pd.DataFrame, pd.DataFrame, dict[str, np.ndarray], pd.DataFrame]:
    book = generate_book(8_000, seed=3, cutoff=dt.date(2025, 6, 30))
    spec = load_spec()
    snaps = build_snapshots(book.contracts, book.performance, fraction=FRACTION, seed=0)
    part = snapshot_split(snaps, horizon_months=LAG_MONTHS).to_numpy()
    contracts = book.contracts.set_index("contract_id", drop=False)
    builder = FeatureBuilder(spec, min_level_count=10).fit(book.contracts)
    X = forward_inputs(builder, spec, contracts.loc[snaps["contract_id"]].reset_index(drop=True), snaps)
    rows = hazard_rows(snaps, fraction=FRACTION)
    model = fit_forward_model(X, rows, part == "train", part == "validation", builder=builder, spec=spec,
                              params={h: PARAMS for h in ("default", "prepay", "open")}, fraction=FRACTION,
                              linear_base=True)   # the optional logistic base, so its paths stay tested
    running = book.contracts[(book.contracts["outstanding_principal"] > 0) & (book.contracts["current_dpd"] < 90)
                             & (book.contracts["months_on_book"] < book.contracts["term_months"])]
    return model, X, snaps, rows, running.reset_index(drop=True)


def test_explanations_sum_to_the_band_models_raw_score(fitted) -> None:  # type: ignore[no-untyped-def]
    model, _, _, _, running = fitted
    sample = pd.concat([running[running["current_dpd"] > 0].head(20), running[running["current_dpd"] == 0].head(80)])
    figures = model.at_cutoff(sample)
    exp = model.explain(sample)
    assert figures.past_due.sum() == 20
    np.testing.assert_allclose(exp.contributions.to_numpy().sum(axis=1) + exp.base_value, figures.raw_score,
                               atol=1e-6)
    assert list(exp.contributions.columns) == model.feature_names


def test_figures_are_consistent(fitted) -> None:  # type: ignore[no-untyped-def]
    model, _, _, _, running = fitted
    running = running.head(1500)
    f = model.at_cutoff(running)
    remaining = (running["term_months"] - running["months_on_book"]).to_numpy()
    assert ((f.pd_12m >= 0) & (f.pd_12m <= f.pd_remaining + 1e-12)).all()
    assert (f.pd_remaining + f.prepay <= 1 + 1e-9).all()
    assert ((f.remaining_life >= 0) & (f.remaining_life <= remaining + LAG_MONTHS + 1e-9)).all()
    assert f.pd_remaining[f.past_due].mean() > 3 * f.pd_remaining[~f.past_due].mean()


def test_worse_behaviour_never_lowers_the_pd(fitted) -> None:  # type: ignore[no-untyped-def]
    model, _, _, _, running = fitted
    base = running[running["current_dpd"] == 0].head(200).copy()
    worse = base.copy()
    worse["worst_dpd"] = np.maximum(worse["worst_dpd"], 45)
    assert (model.at_cutoff(worse).pd_remaining >= model.at_cutoff(base).pd_remaining - 1e-12).all()
    late = running[running["current_dpd"] > 0].head(50).copy()
    later = late.assign(current_dpd=late["current_dpd"] + 30, worst_dpd=late["worst_dpd"] + 30)
    assert (model.at_cutoff(later).pd_remaining >= model.at_cutoff(late).pd_remaining - 1e-12).all()


def test_sampling_offset_keeps_the_hazard_calibrated(fitted) -> None:  # type: ignore[no-untyped-def]
    model, X, _, rows, _ = fitted
    m = rows["default"]
    y = rows["y_default"][m]
    w = np.where(y == 1, 1.0, 1.0 / FRACTION)             # inclusion rates: events 1, the rest FRACTION
    h = model.predict_hazard("default", X.loc[m])
    assert (h * w).sum() / w.sum() == pytest.approx((y * w).sum() / w.sum(), rel=0.15)


def test_censored_rows_are_not_negatives(fitted) -> None:  # type: ignore[no-untyped-def]
    _, _, snaps, rows, _ = fitted
    late = (snaps["outcome"].astype(str) == "censored").to_numpy() & (
        snaps["last_month"].to_numpy() < snaps["s"].to_numpy() + LAG_MONTHS)
    assert late.any()
    assert not (rows["default"] & late).any() and not (rows["prepay"] & late).any()


def test_storage_is_text_and_round_trips(fitted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    model, _, _, _, running = fitted
    texts = model.save(tmp_path / "forward")
    assert {p.suffix for p in (tmp_path / "forward").iterdir()} <= {".txt", ".json"}

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("unpickling is not allowed")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    again = ForwardModel.from_texts({p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "forward").iterdir()})
    assert set(texts) == {p.name for p in (tmp_path / "forward").iterdir()}
    a, b = model.at_cutoff(running.head(300)), again.at_cutoff(running.head(300))
    np.testing.assert_array_equal(a.pd_remaining, b.pd_remaining)
    np.testing.assert_array_equal(a.raw_score, b.raw_score)


def test_rolled_scores_equal_plain_scores(fitted) -> None:  # type: ignore[no-untyped-def]
    model, X, _, rows, _ = fitted
    base = X.loc[rows["default"]].head(40).reset_index(drop=True)
    who = np.repeat(np.arange(len(base)), 3)
    stacked = base.iloc[who].reset_index(drop=True)
    stacked["months_on_book_at_s"] = stacked["months_on_book_at_s"] + np.tile([0, 5, 40], len(base))
    stacked["remaining_term_at_s"] = stacked["remaining_term_at_s"] - np.tile([0, 5, 40], len(base))
    for name in ("default", "prepay"):
        part = model.parts[name]
        assert part.linear is not None
        np.testing.assert_allclose(part.raw_rolled(base, who, stacked, ("months_on_book_at_s", "remaining_term_at_s")),
                                   part.raw(stacked), atol=1e-9)

