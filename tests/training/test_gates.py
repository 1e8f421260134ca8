"""Promotion gates: the packaged file loads, bad files are named, pass and refuse cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.exceptions import ConfigError
from training.gates import check_gates, load_gates

GOOD = {"auc": 0.80, "ks": 0.45, "calibration_error": 0.005, "monotonicity_violations": 0}


def test_packaged_gates_load_with_hash() -> None:
    g = load_gates()
    assert g.max_monotonicity_violations == 0 and 0 < g.min_auc < 1
    assert len(g.sha256) == 64 and g.source.endswith("gates.toml")


def test_first_model_passes_absolute_gates_and_skips_relative_ones() -> None:
    results = check_gates(GOOD, None, load_gates())
    assert all(r.passed for r in results[:4])
    assert [r.passed for r in results[4:]] == [None, None, None]


def test_monotonicity_violation_refuses() -> None:
    results = {r.gate: r for r in check_gates({**GOOD, "monotonicity_violations": 3}, None, load_gates())}
    assert results["max_monotonicity_violations"].passed is False
    assert "3 monotonicity violations, at most 0 allowed" in results["max_monotonicity_violations"].detail


def test_relative_gates_compare_with_champion() -> None:
    g = load_gates()
    worse = {**GOOD, "auc": GOOD["auc"] - 0.02}
    results = {r.gate: r for r in check_gates(worse, GOOD, g)}
    assert results["max_auc_drop"].passed is False
    assert results["max_auc_drop"].value == pytest.approx(0.02)
    assert results["max_ks_drop"].passed is True
    assert all(r.passed for r in check_gates(GOOD, worse, g))


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "gates.toml"
    p.write_text(text, encoding="utf-8")
    return p


FULL = """
[absolute]
min_auc = 0.6
min_ks = 0.2
max_calibration_error = 0.02
max_monotonicity_violations = 0
[relative]
max_auc_drop = 0.01
max_ks_drop = 0.02
max_calibration_error_increase = 0.01
"""


def test_bad_gate_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="gates file not found"):
        load_gates(tmp_path / "none.toml")
    with pytest.raises(ConfigError, match=r"gate 'min_auc' must be a number >= 0; got 'high'"):
        load_gates(_write(tmp_path, FULL.replace("min_auc = 0.6", 'min_auc = "high"')))
    with pytest.raises(ConfigError, match=r"\[absolute\] has unknown gate\(s\) min_gini"):
        load_gates(_write(tmp_path, FULL.replace("[absolute]", "[absolute]\nmin_gini = 0.4")))
    with pytest.raises(ConfigError, match=r"gate 'max_ks_drop' is missing"):
        load_gates(_write(tmp_path, FULL.replace("max_ks_drop = 0.02", "")))
    with pytest.raises(ConfigError, match=r"section \[relative\] is missing"):
        load_gates(_write(tmp_path, FULL.split("[relative]")[0]))
    with pytest.raises(ConfigError, match=r"'min_auc' is a fraction and must be <= 1; got 60.0"):
        load_gates(_write(tmp_path, FULL.replace("min_auc = 0.6", "min_auc = 60")))
    assert load_gates(_write(tmp_path, FULL)).max_auc_drop == 0.01
