"""The issue's measured targets on a 50,000-contract synthetic book, with the full default search.

* calibration error (mean |expected - observed| over PD deciles) on the out-of-time vintages <= 0.01;
* out-of-time AUC within 0.01 of the AUC of the generator's true PD (``pd_24m``) on the same rows.

The second target is NOT met at this size; the test keeps the target as written and is marked as
an expected failure (strict, so it reports when it starts to pass). Measured on this book (seed 7,
cut-off 2025-06-30; 8,723 out-of-time contracts, 221 defaults; about 520 training defaults): model
AUC 0.766, oracle AUC 0.780, gap 0.015 (0.013 at 60,000 contracts). The truth PD is the Bayes-optimal
PD given the tape, so the gap is estimation error with few defaults; it shrinks with the book (see
docs/sample_book.md and docs/training.md for the figures at 200,000 and 1,000,000 contracts).
"""

from __future__ import annotations

import datetime as dt

import pytest

from features.synthetic import generate_book
from training.run import RunConfig, TrainingOutcome, fit_and_evaluate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def measured() -> TrainingOutcome:
    book = generate_book(50_000, seed=7, cutoff=dt.date(2025, 6, 30))
    return fit_and_evaluate(book.contracts, book.performance, truth=book.truth, seed=0,
                            config=RunConfig(shap_sample=500, sweep_assets=100))


def test_out_of_time_calibration_error_at_most_one_point(measured: TrainingOutcome) -> None:
    assert measured.metrics["n_oot"] > 5_000
    assert measured.metrics["calibration_error_oot"] <= 0.01
    assert measured.metrics["monotonicity_violations_oot"] == 0


@pytest.mark.xfail(strict=True, reason="not met at 50,000 contracts: measured gap 0.015 (AUC 0.766 vs oracle "
                                       "0.780), estimation error with about 520 training defaults")
def test_out_of_time_auc_within_one_point_of_the_oracle(measured: TrainingOutcome) -> None:
    gap = measured.metrics["auc_oracle_oot"] - measured.metrics["auc_oot"]
    assert gap <= 0.01, (f"AUC {measured.metrics['auc_oot']:.4f} vs oracle {measured.metrics['auc_oracle_oot']:.4f}: "
                         f"gap {gap:.4f}")


def test_model_is_not_worse_than_the_transparent_scorecard(measured: TrainingOutcome) -> None:
    assert measured.metrics["auc_oot"] >= measured.metrics["scorecard_auc_oot"] - 0.01
