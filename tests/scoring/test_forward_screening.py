"""Screening with a forward model: the bands on the remaining-term PD, the forward fields, the pool's
expected loss, defaults, prepayments and WAL, and exact explanations of the band model."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.pipeline import FeatureBuilder
from features.snapshots import build_snapshots, snapshot_split
from features.spec import load_spec
from features.synthetic import generate_book
from models import LeaseModel, fit_lease_model
from models.hazard import LAG_MONTHS, fit_forward_model, forward_inputs, hazard_rows
from scoring.policy import PolicyError, load_policy, parse_policy
from scoring.registry import load_model
from scoring.screen import screen_tape

CUTOFF = dt.date(2025, 6, 30)
PARAMS = {"n_estimators": 200, "learning_rate": 0.1, "num_leaves": 4, "min_child_samples": 100,
          "early_stopping_rounds": 20, "n_jobs": 1}


@pytest.fixture(scope="module")
def forward_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A LeaseModel with a forward part fitted on an 8,000-contract sample book, and its pool tape."""
    book = generate_book(8_000, seed=21, cutoff=CUTOFF)
    spec = load_spec()
    c = book.contracts
    half = len(c) // 2
    y = (book.truth.set_index("contract_id").loc[c["contract_id"], "pd_24m"].to_numpy() > 0.03).astype(int)
    model = fit_lease_model(c.iloc[:half], y[:half], c.iloc[half:], y[half:], params={"n_jobs": 1, "n_estimators": 40})
    snaps = build_snapshots(c, book.performance, fraction=0.3, seed=0)
    part = snapshot_split(snaps, horizon_months=LAG_MONTHS).to_numpy()
    builder = FeatureBuilder(spec, min_level_count=10).fit(c)
    X = forward_inputs(builder, spec, c.set_index("contract_id", drop=False).loc[snaps["contract_id"]], snaps)
    model.forward = fit_forward_model(X, hazard_rows(snaps, fraction=0.3), part == "train", part == "validation",
                                      builder=builder, spec=spec, params=dict.fromkeys(("default", "prepay", "open"), PARAMS),
                                      fraction=0.3, linear_base=False)
    folder = tmp_path_factory.mktemp("fwd")
    bundle = model.save(folder / "bundle")
    pool = folder / "pool.parquet"
    book.pool.to_parquet(pool)
    return bundle, pool


def _screen(bundle: Path, pool: Path, out: Path, policy_text: str | None = None):  # type: ignore[no-untyped-def]
    loaded = load_model(str(bundle))
    policy = load_policy()
    if policy_text is not None:
        path = out.parent / f"{out.name}.toml"
        path.write_text(policy_text, encoding="utf-8")
        policy = load_policy(path)
    return screen_tape(pool, model=loaded.model, model_ref=loaded.ref, policy=policy, out_dir=out,
                       log_path=out.parent / "log.jsonl", cutoff=CUTOFF)


def test_bands_apply_to_the_remaining_term_pd(forward_bundle: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, pool = forward_bundle
    assert json.loads((bundle / "bundle.json").read_text())["format"] == "poolgate.LeaseModel/3"
    res = _screen(bundle, pool, tmp_path / "run")
    d = pd.read_parquet(tmp_path / "run" / "decisions.parquet")
    valid = d[d["status"] != "invalid"]
    np.testing.assert_allclose(valid["pd"], valid["pd_remaining"])
    assert (valid["pd_12m"] <= valid["pd_remaining"] + 1e-12).all()
    assert valid[["prepay_probability", "expected_life_months"]].notna().all().all()
    assert d.loc[d["status"] == "invalid", "pd_remaining"].isna().all()
    assert res.summary["run"]["pd_basis"] == "remaining"
    # reason codes are the band model's exact contributions: they sum to its raw score
    contrib = pd.read_parquet(tmp_path / "run" / "contributions.parquet")
    values = contrib.drop(columns=["row", "asset_id", "base_value"]).to_numpy().sum(axis=1) + contrib["base_value"]
    raw = valid.set_index("row").loc[contrib["row"], "raw_score"].to_numpy()
    np.testing.assert_allclose(values, raw, atol=1e-6)
    assert "worst_dpd_at_s" in contrib.columns


def test_pool_summary_expected_loss_defaults_prepayments_wal(forward_bundle: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, pool = forward_bundle
    res = _screen(bundle, pool, tmp_path / "run")
    d = pd.read_parquet(tmp_path / "run" / "decisions.parquet")
    admitted = d[d["status"] == "admit"]
    tape = pd.read_parquet(pool)
    bal = admitted["row"].map(lambda r: tape["outstanding_principal"].iloc[r - 1]).to_numpy(dtype=float)
    table = res.summary["pool"]
    lgd = load_policy().lgd
    assert table["expected_loss_pd"] == "pd_remaining"
    assert table["expected_loss"] == pytest.approx((admitted["pd_remaining"] * lgd * bal).sum(), rel=1e-6)
    assert table["expected_defaults"] == pytest.approx(admitted["pd_remaining"].sum(), abs=1e-3)
    assert table["expected_prepayments"] == pytest.approx(admitted["prepay_probability"].sum(), abs=1e-3)
    wal = (admitted["expected_life_months"] * bal).sum() / bal.sum()
    assert table["expected_wal_months"] == pytest.approx(wal, rel=1e-5)
    assert 0 < table["expected_wal_months"] < table["wa_remaining_term_months"] + LAG_MONTHS


def test_policy_can_name_the_origination_pd(forward_bundle: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, pool = forward_bundle
    text = Path(load_policy().source).read_text(encoding="utf-8").replace('pd = "remaining"', 'pd = "origination"')
    res = _screen(bundle, pool, tmp_path / "run", text)
    d = pd.read_parquet(tmp_path / "run" / "decisions.parquet")
    valid = d[d["status"] != "invalid"]
    model = LeaseModel.load(bundle)
    assert res.summary["run"]["pd_basis"] == "origination"
    assert not np.allclose(valid["pd"], valid["pd_remaining"])
    assert valid["pd_remaining"].notna().all()                      # still reported
    assert model.forward is not None


def test_a_model_without_forward_part_falls_back_and_says_so(forward_bundle: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, pool = forward_bundle
    model = LeaseModel.load(bundle)
    model.forward = None
    plain = model.save(tmp_path / "plain")
    assert not (plain / "forward").exists()
    res = _screen(plain, pool, tmp_path / "run")
    assert res.summary["run"]["pd_basis"] == "origination"
    assert res.summary["pool"]["expected_loss_pd"] == "pd"
    d = pd.read_parquet(tmp_path / "run" / "decisions.parquet")
    assert d["pd_remaining"].isna().all()


def test_unknown_pd_basis_is_refused() -> None:
    policy = load_policy()
    data = json.loads(json.dumps(dataclasses.asdict(policy.decision)))
    assert data["pd"] == "remaining"
    text = Path(policy.source).read_text(encoding="utf-8").replace('pd = "remaining"', 'pd = "lifetime"')
    import tomllib

    with pytest.raises(PolicyError, match=r"decision.pd = 'lifetime' is invalid; allowed: remaining, 12m, origination"):
        parse_policy(tomllib.loads(text), source="deal.toml")
