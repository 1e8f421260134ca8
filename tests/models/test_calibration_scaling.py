"""Platt calibration and score scaling on literal and seeded numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import expit

from features.exceptions import ConfigError
from models import CalibrationError, PlattCalibration, ScoreScaling, fit_platt


def test_platt_recovers_a_known_map() -> None:
    rng = np.random.default_rng(0)
    raw = rng.normal(-1.0, 1.5, 20_000)
    y = (rng.random(raw.size) < 1 / (1 + np.exp(-(-0.5 + 0.8 * raw)))).astype(int)
    cal = fit_platt(raw, y)
    assert cal.a == pytest.approx(-0.5, abs=0.08)
    assert cal.b == pytest.approx(0.8, abs=0.05)
    assert cal.n == raw.size
    p = cal.predict(raw)
    assert p.mean() == pytest.approx(y.mean(), abs=1e-3)  # unpenalised logistic fit matches the rate
    np.testing.assert_allclose(cal.log_odds(raw), -0.5 + 0.8 * raw, atol=0.2)


def test_platt_keeps_the_order() -> None:
    cal = PlattCalibration(a=-2.0, b=0.7)
    raw = np.array([-3.0, -1.0, 0.0, 2.5])
    assert np.all(np.diff(cal.predict(raw)) > 0)
    assert cal.predict(np.array([0.0]))[0] == pytest.approx(1 / (1 + math.exp(2.0)))


def test_platt_errors() -> None:
    with pytest.raises(CalibrationError, match=r"held-out labels must contain both 0 and 1, got \[0\]"):
        fit_platt(np.arange(5.0), np.zeros(5, dtype=int))
    with pytest.raises(CalibrationError, match=r"raw scores have 3 rows but labels have 2"):
        fit_platt(np.arange(3.0), np.array([0, 1]))
    rng = np.random.default_rng(1)
    raw = rng.normal(size=2000)
    backwards = (rng.random(2000) < 1 / (1 + np.exp(2 * raw))).astype(int)
    with pytest.raises(CalibrationError, match=r"slope b=-\S+ is not positive; the model ranks the held-out rows backwards"):
        fit_platt(raw, backwards)
    with pytest.raises(ConfigError, match=r"needs finite a and b > 0, got a=0.0, b=-1.0"):
        PlattCalibration.from_dict({"method": "platt", "a": 0.0, "b": -1.0})
    assert PlattCalibration.from_dict(PlattCalibration(0.1, 0.9, 10).to_dict()) == PlattCalibration(0.1, 0.9, 10)


def test_scaling_anchors() -> None:
    s = ScoreScaling(base_score=600, base_odds=50, pdo=20)
    assert s.score(np.array([1 / 51]))[0] == pytest.approx(600.0)  # odds 50 : 1
    assert s.score(np.array([1 / 101]))[0] == pytest.approx(620.0)  # odds 100 : 1, doubled
    assert s.score(np.array([1 / 26]))[0] == pytest.approx(580.0)  # odds 25 : 1, halved
    assert s.factor == pytest.approx(20 / math.log(2))


def test_scaling_round_trip_and_extremes() -> None:
    s = ScoreScaling(base_score=650, base_odds=30, pdo=40)
    p = np.array([1e-6, 0.001, 0.02, 0.3, 0.5, 0.97, 0.999999])
    np.testing.assert_allclose(s.pd(s.score(p)), p, rtol=1e-9)
    pts = np.array([300.0, 500.0, 650.0, 900.0])
    np.testing.assert_allclose(s.score(s.pd(pts)), pts, rtol=1e-9)
    assert np.all(np.isfinite(s.score(np.array([0.0, 1.0]))))
    assert np.all(np.diff(s.score(p)) < 0)  # higher PD, fewer points


def test_points_from_log_odds_match_score_moves() -> None:
    s = ScoreScaling()
    p0, p1 = 0.05, 0.08
    delta = math.log(p1 / (1 - p1)) - math.log(p0 / (1 - p0))
    moved = s.score(np.array([p1]))[0] - s.score(np.array([p0]))[0]
    assert float(s.points_from_log_odds(np.array([delta]))[0]) == pytest.approx(moved)


def test_scaling_errors() -> None:
    with pytest.raises(ConfigError, match=r"pdo \(points to double the odds\) must be > 0, got 0"):
        ScoreScaling(pdo=0)
    with pytest.raises(ConfigError, match=r"base_odds must be > 0, got -1"):
        ScoreScaling(base_odds=-1)
    with pytest.raises(ConfigError, match=r"missing \['pdo'\], unknown \['points'\]"):
        ScoreScaling.from_dict({"base_score": 600, "base_odds": 50, "points": 20})
    assert ScoreScaling.from_dict(ScoreScaling(610, 40, 25).to_dict()) == ScoreScaling(610, 40, 25)


def test_blocks_with_their_own_levels_do_not_reverse_the_slope() -> None:
    # two validation blocks, each ranked the right way by its own model, at levels that pooled
    # together make the raw score look backwards (the older block: high scores, few defaults)
    rng = np.random.default_rng(3)
    raw = rng.normal(size=4_000)
    block = np.repeat([0, 1], 2_000)
    y = (rng.random(4_000) < expit(np.where(block == 0, -4.0, -1.0) + 0.8 * raw)).astype(int)
    shown = raw + np.where(block == 0, 3.0, -3.0)
    with pytest.raises(CalibrationError, match="not positive"):
        fit_platt(shown, y)
    cal = fit_platt(shown, y, block)
    assert cal.b == pytest.approx(0.8, abs=0.1)
    latest = block == 1
    assert cal.predict(shown[latest]).mean() == pytest.approx(y[latest].mean(), abs=1e-4)
