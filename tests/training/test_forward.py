"""The forward model in a training run: fitted on snapshots, measured at the cut-off against the oracle."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from features.exceptions import ConfigError
from features.spec import load_spec
from features.synthetic import Book
from models.hazard import HAZARDS, ForwardModel
from training.errors import TrainingError
from training.forward import ForwardConfig, attach_forward, choose_hazard_families, fit_forward

#: One family (no choosing): fast enough for the tests that are not about the choice.
CONFIG = ForwardConfig(fraction=0.2, families=("trees_8",))


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


def _hazard_rows(n: int, y: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    rows = {h: np.ones(n, dtype=bool) for h in HAZARDS}
    rows.update({f"y_{h}": y for h in HAZARDS})
    fit = np.arange(n) < int(0.7 * n)
    return rows, fit, ~fit


def test_noise_chooses_the_simplest_family() -> None:
    gen = np.random.default_rng(5)
    n = 6_000
    X = pd.DataFrame({"a": gen.normal(size=n), "b": gen.normal(size=n)})
    rows, fit, valid = _hazard_rows(n, (gen.random(n) < 0.1).astype(np.int64))
    out = choose_hazard_families(X, rows, fit, valid, directions={h: {} for h in HAZARDS},
                                 families=("stumps", "trees_8"))
    assert {c.family for c in out.values()} == {"stumps"}
    assert set(out["default"].scores) == {"stumps", "trees_8"}


def test_an_interaction_needs_deeper_trees() -> None:
    gen = np.random.default_rng(6)
    n = 8_000
    X = pd.DataFrame({"a": gen.normal(size=n), "b": gen.normal(size=n)})
    p = np.where(X["a"].to_numpy() * X["b"].to_numpy() > 0, 0.3, 0.03)      # stumps cannot fit it
    rows, fit, valid = _hazard_rows(n, (gen.random(n) < p).astype(np.int64))
    out = choose_hazard_families(X, rows, fit, valid, directions={h: {} for h in HAZARDS},
                                 families=("stumps", "trees_8"), choose_rows=3_000)
    choice = out["default"]
    assert choice.family == "trees_8" and choice.rows == 3_000
    assert choice.scores["trees_8"][0] < choice.scores["stumps"][0]


def test_an_unknown_family_is_named() -> None:
    X = pd.DataFrame({"a": [0.0, 1.0]})
    rows, fit, valid = _hazard_rows(2, np.array([0, 1]))
    with pytest.raises(ConfigError, match="unknown tree family 'trees_7'.*stumps"):
        choose_hazard_families(X, rows, fit, valid, directions={h: {} for h in HAZARDS}, families=("trees_7",))


def test_the_choice_is_reported(small_book: Book) -> None:
    outcome = _Outcome(model=_Model(spec=load_spec()))
    attach_forward(outcome, small_book.contracts, small_book.performance,
                   config=ForwardConfig(fraction=0.2, families=("stumps", "trees_8")))
    chosen = outcome.model.forward.metadata["hazard_families"]
    for h in HAZARDS:
        assert outcome.params[f"forward.{h}.family"] == chosen[h]["family"] in ("stumps", "trees_8")
        assert set(chosen[h]["validation_log_loss"]) == {"stumps", "trees_8"}
        assert outcome.metrics[f"forward_validation_logloss_{h}_stumps"] > 0
        assert outcome.metrics[f"forward_chosen_{h}_{chosen[h]['family']}"] == 1.0
    # the model card's forward section names each hazard's family beside every family's loss
    from types import SimpleNamespace

    from reports.html import Document
    from reports.model_card import _forward

    doc = Document(title="card")
    _forward(doc, SimpleNamespace(metrics={**outcome.metrics}))  # type: ignore[arg-type]
    html = doc.render()
    for h in HAZARDS:
        assert re.search(f"<td[^>]*>{h}</td><td[^>]*>{chosen[h]['family']}</td>", html)
    assert "trees_8 0." in html


def test_a_hazard_without_validation_events_is_named_in_plain_words() -> None:
    X = pd.DataFrame({"a": np.arange(20, dtype=float)})
    rows, fit, valid = _hazard_rows(20, np.array([0, 1] * 10))
    rows["y_open"] = np.where(valid, 0, rows["y_open"])      # no past-due contract ends in default in validation
    with pytest.raises(TrainingError, match=(
            r"the open hazard \(contracts past due at a month-end: does that delinquency end in default\?\) has no "
            r"defaults in its validation part \(0 defaults among 6 snapshot rows; fitting part: 7 among 14\)")):
        choose_hazard_families(X, rows, fit, valid, directions={h: {} for h in HAZARDS}, families=("stumps",))


def test_a_young_book_without_late_defaults_says_which_hazard_and_that_screening_uses_the_origination_pd(
        caplog: pytest.LogCaptureFixture) -> None:
    from features.synthetic import generate_book
    from tests.training.conftest import CUTOFF

    book = generate_book(800, seed=1, cutoff=CUTOFF)      # no open-hazard default in the validation months
    outcome = _Outcome(model=_Model(spec=load_spec()))
    attach_forward(outcome, book.contracts, book.performance, config=ForwardConfig(families=("stumps",)))
    assert outcome.metrics["forward_fitted"] == 0.0 and outcome.model.forward is None
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert re.search(r"^no forward model: the open hazard \(.*\) has no defaults in its validation part \(0 defaults "
                     r"among \d+ snapshot rows, snapshot months \d{4}-\d\d to \d{4}-\d\d; fitting part: \d+ among \d+\)",
                     warnings[0])
    assert "screening bands on the origination PD" in warnings[0] and "PDClassifier" not in warnings[0]


def test_screening_says_when_the_policy_asks_for_a_pd_the_model_cannot_give(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from models import fit_lease_model
    from scoring.policy import load_policy, parse_policy
    from scoring.registry import load_model
    from scoring.screen import screen_tape
    from tests.models.book import make_book

    train, y_train, _ = make_book(600, seed=11)
    valid, y_valid, _ = make_book(300, seed=12)
    plain = fit_lease_model(train, y_train, valid, y_valid, params={"n_jobs": 1, "n_estimators": 20})
    loaded = load_model(str(plain.save(tmp_path / "bundle")))
    assert loaded.model.forward is None
    tape = tmp_path / "pool.csv"
    make_book(50, seed=13)[0].to_csv(tape, index=False)
    remaining = load_policy()
    assert remaining.decision.pd == "remaining"
    text = Path(remaining.source).read_text(encoding="utf-8").replace('pd = "remaining"', 'pd = "origination"')
    origination = parse_policy(tomllib.loads(text), source="origination.toml")
    for name, policy in (("remaining", remaining), ("origination", origination)):
        caplog.clear()
        res = screen_tape(tape, model=loaded.model, model_ref=loaded.ref, policy=policy, out_dir=tmp_path / name,
                          log_path=tmp_path / f"{name}.log")
        assert res.summary["run"]["pd_basis"] == "origination"
        said = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "forward model" in r.getMessage()]
        if name == "origination":
            assert said == []
            continue
        assert len(said) == 1
        assert re.fullmatch(rf'policy {re.escape(remaining.source)} asks for pd = "remaining" \(default over the '
                            rf'remaining term from the cut-off\), but model {re.escape(loaded.ref.uri)} has no forward '
                            r'model .*: the bands apply to the origination PD instead \(summary.json run.pd_basis = '
                            r'"origination"\)', said[0])
