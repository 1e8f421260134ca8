"""Metrics on literal arrays whose answers can be worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from training import metrics as m
from training.errors import MetricsError

Y = np.array([0, 0, 1, 1])
S = np.array([0.1, 0.4, 0.35, 0.8])  # pairs (default, non-default): 3 of 4 ordered right


def test_auc_gini_ks_by_hand() -> None:
    assert m.auc(Y, S) == pytest.approx(0.75)
    assert m.gini(Y, S) == pytest.approx(0.5)
    # thresholds: >=0.8 -> tpr .5 fpr 0; >=0.35 -> tpr 1, fpr .5 ... best gap 0.5
    assert m.ks(Y, S) == pytest.approx(0.5)


def test_perfect_and_reversed_ranking() -> None:
    assert m.auc([0, 1], [0.2, 0.9]) == 1.0
    assert m.auc([0, 1], [0.9, 0.2]) == 0.0
    assert m.ks([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == pytest.approx(1.0)


def test_brier_and_logloss_by_hand() -> None:
    y, p = [0, 1], [0.2, 0.6]
    assert m.brier(y, p) == pytest.approx((0.04 + 0.16) / 2)
    assert m.logloss(y, p) == pytest.approx(-(math.log(0.8) + math.log(0.6)) / 2)


def test_decile_table_and_calibration_error() -> None:
    p = np.array([0.1, 0.1, 0.3, 0.3])
    y = np.array([0, 0, 1, 0])
    table = m.decile_table(y, p, n_bins=2)
    assert table["n"].tolist() == [2, 2]
    assert table["expected"].tolist() == pytest.approx([0.1, 0.3])
    assert table["observed"].tolist() == pytest.approx([0.0, 0.5])
    assert table["defaults"].tolist() == [0, 1]
    assert m.calibration_error(y, p, n_bins=2) == pytest.approx((0.1 + 0.2) / 2)


def test_perfectly_calibrated_bins_give_zero_error() -> None:
    p = np.repeat([0.25, 0.5], 4)
    y = np.array([1, 0, 0, 0, 1, 1, 0, 0])
    assert m.calibration_error(y, p, n_bins=2) == pytest.approx(0.0)


def test_auc_by_group_marks_one_class_groups_nan() -> None:
    out = m.auc_by_group([0, 1, 0, 0], [0.1, 0.9, 0.2, 0.3], ["2019H1", "2019H1", "2019H2", "2019H2"])
    assert out["2019H1"] == 1.0
    assert math.isnan(out["2019H2"])


def test_psi_zero_for_same_distribution_and_positive_for_shift() -> None:
    base = np.arange(100, dtype=float)
    assert m.psi(base, base) == pytest.approx(0.0)
    assert m.psi(base, base + 50) > 0.5


def test_psi_categorical_by_hand() -> None:
    e = ["a", "a", "b", "b"]
    a = ["a", "b", "b", "b"]
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert m.psi(e, a) == pytest.approx(expected)


def test_psi_keeps_missing_values_as_a_bin() -> None:
    e = np.array([1.0, 2.0, np.nan, np.nan])
    a = np.array([1.0, 2.0, 1.0, 2.0])
    assert m.psi(e, a, n_bins=2) > 1.0


def test_psi_by_feature_names_columns() -> None:
    train = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "a", "b", "b"]})
    out = m.psi_by_feature(train, train.copy(), n_bins=2)
    assert set(out) == {"x", "c"} and all(v == pytest.approx(0.0) for v in out.values())
    with pytest.raises(MetricsError, match="lacks columns present in train: c"):
        m.psi_by_feature(train, train[["x"]])


def test_summary_metrics_keys() -> None:
    out = m.summary_metrics(Y, [0.1, 0.4, 0.35, 0.8], n_bins=2)
    assert out["auc"] == pytest.approx(0.75)
    assert out["n"] == 4 and out["default_rate"] == 0.5
    assert {"gini", "ks", "brier", "log_loss", "calibration_error", "mean_pd"} <= set(out)


@pytest.mark.parametrize(("y", "s", "message"), [
    ([0, 1], [0.1], "differ in length: 2 outcomes, 1 scores"),
    ([0, 2], [0.1, 0.2], "must be 0 or 1; row 1 has 2"),
    ([1, 1], [0.1, 0.2], "needs both defaults and non-defaults; all 2 outcomes are 1"),
    ([], [], "no rows to measure"),
    ([0, 1], [0.1, np.nan], "must be finite; row 1"),
])
def test_bad_input_is_named(y: list[float], s: list[float], message: str) -> None:
    with pytest.raises(MetricsError, match=message):
        m.auc(y, s)


def test_probability_out_of_range() -> None:
    with pytest.raises(MetricsError, match=r"must lie in \[0, 1\]; got min 0.1, max 1.5"):
        m.brier([0, 1], [0.1, 1.5])


def test_auc_gap_and_its_delong_variance_by_hand() -> None:
    y = [1, 1, 0, 0]
    a = [0.9, 0.4, 0.5, 0.1]  # one default below one non-default: AUC 0.75
    b = [0.9, 0.6, 0.5, 0.1]  # AUC 1.0
    gap, var = m.auc_gap(y, a, b)
    assert gap == pytest.approx(m.auc(y, a) - m.auc(y, b)) == pytest.approx(-0.25)
    # per default, the share of non-defaults it outranks: 1, 0.5 (a) and 1, 1 (b); per non-default, the
    # share of defaults above it: 0.5, 1 (a) and 1, 1 (b)
    by_hand = np.var([0, -0.5], ddof=1) / 2 + np.var([-0.5, 0], ddof=1) / 2
    assert var == pytest.approx(by_hand) == pytest.approx(0.125)
    assert m.auc_gap(y, a, a) == (0.0, 0.0)
    with pytest.raises(MetricsError, match="an AUC gap needs both defaults and non-defaults"):
        m.auc_gap([1, 1], [0.1, 0.2], [0.2, 0.1])
    with pytest.raises(MetricsError, match="differ in length: 4 outcomes, 3 scores"):
        m.auc_gap(y, a, b[:3])


def test_the_error_of_a_mean_over_disjoint_folds_adds_their_variances() -> None:
    assert m.mean_se([0.0004, 0.0009, 0.0003]) == pytest.approx(np.sqrt(0.0016) / 3)  # 0.04 / 3
    assert m.mean_se([0.0001]) == pytest.approx(0.01)  # one fold: its own error


def test_auc_gap_standard_error_matches_a_paired_bootstrap() -> None:
    rng = np.random.default_rng(5)
    n = 4_000
    y = (rng.uniform(size=n) < 0.1).astype(int)
    a = y * 0.8 + rng.normal(size=n)
    b = a + rng.normal(scale=0.6, size=n)  # correlated with a, noisier: the pairing shrinks the error
    gap, var = m.auc_gap(y, a, b)
    assert gap > 0.01  # a is the better score
    boot = []
    for _ in range(400):
        i = rng.integers(0, n, n)
        boot.append(m.auc(y[i], a[i]) - m.auc(y[i], b[i]))
    assert np.sqrt(var) == pytest.approx(float(np.std(boot)), rel=0.2)
    alone = np.std([m.auc(y[i], a[i]) for i in (rng.integers(0, n, n) for _ in range(200))])
    assert np.sqrt(var) < 0.8 * alone  # the paired error is below either AUC's own
