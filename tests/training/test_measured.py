"""The issue's measured targets on a 200,000-contract synthetic book, with the full default search.

* calibration error (mean |expected - observed| over PD deciles) on the out-of-time vintages <= 0.01;
* out-of-time AUC within 0.01 of the AUC of the generator's true PD (``pd_24m``) on the same rows.

The truth PD is the Bayes-optimal PD given the tape, so the gap is estimation error and shrinks as the
book grows. Measured (seed 0 recipe, book seeds as shown, cut-off 2025-06-30; gap = oracle - model):
20,000 contracts 0.028 (the committed sample), 50,000 0.015, 100,000 0.012, 200,000 0.006 / 0.0115 /
0.0106 / 0.0072 (book seeds 7 / 11 / 23 / 5) and 400,000 0.0068 / 0.0076 / 0.0061 under the first
recipe, 1,000,000 0.004 (make bench). With the trees boosted on the logistic regression: 200,000 0.0073
/ 0.0089 / 0.0089, 400,000 0.0042 / 0.0069 / 0.0060 (book seeds 7 / 11 / 23). With the one model
selection (training.select) and its stack check: 200,000 0.0046 / 0.0077 / 0.0065, calibration error
0.0037 / 0.0014 / 0.0019 (book seeds 7 / 11 / 23); with the logistic regression's inputs held within
their training quantiles 0.0048 / 0.0076 / 0.0066, calibration error 0.0037 / 0.0015 / 0.0020. This test used 400,000 contracts while the recipe
was not reliably within 0.01 at 200,000; it now uses 200,000, the size the target is set at, which
takes 45 s to train instead of 111 s. docs/training.md has the tables.
"""

from __future__ import annotations

import datetime as dt

import pytest

from features.synthetic import generate_book
from training.run import RunConfig, TrainingOutcome, fit_and_evaluate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def measured() -> TrainingOutcome:
    book = generate_book(200_000, seed=7, cutoff=dt.date(2025, 6, 30))
    return fit_and_evaluate(book.contracts, book.performance, truth=book.truth, seed=0,
                            config=RunConfig(shap_sample=500, sweep_assets=100))


def test_out_of_time_calibration_error_at_most_one_point(measured: TrainingOutcome) -> None:
    assert measured.metrics["n_oot"] > 30_000
    assert measured.metrics["calibration_error_oot"] <= 0.01
    assert measured.metrics["monotonicity_violations_oot"] == 0


def test_out_of_time_auc_within_one_point_of_the_oracle(measured: TrainingOutcome) -> None:
    gap = measured.metrics["auc_oracle_oot"] - measured.metrics["auc_oot"]
    assert gap <= 0.01, (f"AUC {measured.metrics['auc_oot']:.4f} vs oracle {measured.metrics['auc_oracle_oot']:.4f}: "
                         f"gap {gap:.4f}")


def test_model_is_not_worse_than_the_transparent_scorecard(measured: TrainingOutcome) -> None:
    assert measured.metrics["auc_oot"] >= measured.metrics["scorecard_auc_oot"] - 0.01
