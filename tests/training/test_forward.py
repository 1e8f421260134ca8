"""The forward model in a training run: fitted on snapshots, measured at the cut-off against the oracle."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from features.spec import load_spec
from features.synthetic import Book
from models.hazard import ForwardModel
from training.forward import ForwardConfig, attach_forward, fit_forward

CONFIG = ForwardConfig(fraction=0.2, params={"n_estimators": 300, "learning_rate": 0.1, "num_leaves": 4,
                                             "min_child_samples": 100, "early_stopping_rounds": 20})


@dataclass
class _Outcome:
    model: Any
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class _Model:
    spec: Any
    forward: ForwardModel | None = None


def test_fit_forward_measures_against_the_oracle(small_book: Book) -> None:
    result = fit_forward(small_book.contracts, small_book.performance, spec=load_spec(), truth=small_book.truth,
                         config=CONFIG)
    m = result.metrics
    for key in ("forward_auc_default_oot", "forward_auc_pd_remaining_cutoff", "forward_auc_oracle_pd_remaining_cutoff",
                "forward_calibration_error_pd_remaining_cutoff", "forward_expected_default_ratio_cutoff",
                "forward_mean_pd_remaining_mob_12_23_cutoff", "forward_mean_oracle_pd_remaining_mob_12_23_cutoff"):
        assert key in m, key
    # a 12,000-contract book: loose bounds (the 200,000-contract figures are in docs/training.md)
    assert m["forward_auc_gap_oracle_pd_remaining_cutoff"] < 0.05
    assert m["forward_calibration_error_pd_remaining_cutoff"] < 0.02
    assert 0.7 < m["forward_expected_default_ratio_cutoff"] < 1.3
    table = result.at_cutoff
    assert len(table) == m["forward_assets_cutoff"]
    assert (table["pd_12m"] <= table["pd_remaining"] + 1e-12).all()


def test_a_history_without_amounts_leaves_no_forward_model(small_book: Book, caplog: pytest.LogCaptureFixture) -> None:
    outcome = _Outcome(model=_Model(spec=load_spec()))
    thin = small_book.performance[["contract_id", "months_on_book", "dpd", "status"]]
    attach_forward(outcome, small_book.contracts, thin, config=CONFIG)
    assert outcome.metrics["forward_fitted"] == 0.0
    assert outcome.model.forward is None
    assert "no forward model" in caplog.text and "amount_due" in caplog.text
