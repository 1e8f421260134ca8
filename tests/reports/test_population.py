"""Training profile and PSI: the same index as training.metrics.psi, from a few kilobytes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from models.population import profile_frame, profile_scores, psi_against_profile, psi_level
from training.metrics import psi


def _frames(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    train = pd.DataFrame({"x": rng.normal(0, 1, 5000), "c": rng.choice(["a", "b", "c"], 5000, p=[.5, .3, .2])})
    train.loc[:99, "x"] = np.nan
    pool = pd.DataFrame({"x": rng.normal(0.5, 1, 800), "c": rng.choice(["a", "b", "c"], 800, p=[.25, .25, .5])})
    return train, pool


def test_psi_from_the_profile_equals_psi_from_the_data() -> None:
    train, pool = _frames()
    table = psi_against_profile(profile_frame(train), pool).set_index("feature")
    for col in train.columns:
        assert table.loc[col, "psi"] == pytest.approx(psi(train[col], pool[col]), rel=1e-9)


def test_profile_is_json_and_an_unchanged_population_is_stable() -> None:
    train, _ = _frames()
    prof = json.loads(json.dumps(profile_frame(train)))
    assert sum(prof["x"]["shares"].values()) == pytest.approx(1.0)
    assert prof["x"]["shares"]["missing"] == pytest.approx(0.02)
    table = psi_against_profile(prof, train)
    assert (table["psi"] < 1e-12).all() and (table["level"] == "stable").all()


def test_shifted_pool_is_flagged_and_levels_follow_the_thresholds() -> None:
    train, pool = _frames()
    table = psi_against_profile(profile_frame(train), pool).set_index("feature")
    assert table.loc["c", "level"] == "shift" and table.loc["c", "largest_bin"] == "c"
    assert [psi_level(v) for v in (0.05, 0.1, 0.2, 0.26)] == ["stable", "stable", "watch", "shift"]


def test_score_quantiles() -> None:
    s = profile_scores(np.linspace(0.01, 0.2, 1001), np.linspace(500, 700, 1001))
    assert s["n"] == 1001 and len(s["pd_quantiles"]) == 101
    assert s["pd_quantiles"][0] == pytest.approx(0.01) and s["score_quantiles"][50] == pytest.approx(600)


def test_a_yes_no_input_rare_in_training_keeps_a_bin_for_each_answer() -> None:
    from models.population import bin_edges

    rng = np.random.default_rng(0)
    train = pd.DataFrame({"is_nev": (rng.random(10_000) < 0.053).astype(float)})  # 5 % new-energy vehicles
    pool = pd.DataFrame({"is_nev": (rng.random(3_000) < 0.30).astype(float)})     # 30 % in the pool
    profile = profile_frame(train)
    assert profile["is_nev"]["edges"] == [0.0, 1.0]  # deciles alone gave [0.0]: one bin, PSI 0
    row = psi_against_profile(profile, pool).iloc[0]
    assert row["psi"] == pytest.approx(psi(train["is_nev"], pool["is_nev"]), abs=1e-9)
    assert row["psi"] > 0.25 and row["level"] == "shift"
    # a value holding a decile's rows gets its own bin; a continuous input keeps its nine deciles
    mass = np.r_[np.zeros(9_000), rng.exponential(size=1_000)]
    bins = np.searchsorted(bin_edges(mass), mass, side="right")
    assert set(bins[:9_000].tolist()) == {1} and (bins[9_000:] > 1).all()  # the zeros, and only they
    assert len(bin_edges(rng.normal(size=10_000))) == 9
