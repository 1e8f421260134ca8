"""A seeded, made-up screening run in the declared decision-record layout (for report tests and the benchmark).

The frames follow ``scoring.decisions.decision_columns`` and the contributions layout of
``scoring.decisions.ChunkDecisions``; the numbers are random but consistent (contributions plus
base value equal the raw score; PD is the sigmoid of the raw score; statuses follow the policy's
bands; failed rules and reasons come from the policy and the feature specification).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.io import write_json
from features.spec import FeatureSpec, load_spec
from models.population import profile_frame, profile_scores
from scoring.decisions import decision_columns
from scoring.policy import Policy, load_policy
from scoring.summary import pool_summary


@dataclass
class FakeRun:
    decisions: pd.DataFrame
    contributions: pd.DataFrame
    inputs: pd.DataFrame
    summary: dict[str, Any]
    profile: dict[str, Any]
    spec: FeatureSpec
    policy: Policy

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        self.decisions.to_parquet(folder / "decisions.parquet", index=False)
        self.decisions.to_csv(folder / "decisions.csv", index=False)
        self.contributions.to_parquet(folder / "contributions.parquet", index=False)
        write_json(self.summary, folder / "summary.json")
        return folder


def _inputs(rng: np.random.Generator, n: int, spec: FeatureSpec, shift: float) -> pd.DataFrame:
    cols: dict[str, Any] = {}
    for f in spec.model_inputs:
        if f.kind == "categorical":
            cols[f.name] = rng.choice(["a", "b", "c", "d"], size=n, p=[0.4, 0.3, 0.2, 0.1])
        else:
            x = rng.lognormal(0.0 + shift, 0.5, n)
            if f.name == "bureau_score":
                x = np.where(rng.random(n) < 0.1, np.nan, 500 + 60 * rng.standard_normal(n))
            cols[f.name] = x
    return pd.DataFrame(cols)


def make_run(n: int = 400, *, seed: int = 0, run_id: str = "run-test-0001") -> FakeRun:
    rng = np.random.default_rng(seed)
    spec, policy = load_spec(), load_policy()
    names = spec.names
    k = len(names)
    inputs = _inputs(rng, n, spec, shift=0.15)
    scale = np.linspace(0.6, 0.05, k)
    contrib = rng.standard_normal((n, k)) * scale
    base = np.full(n, -3.3)
    raw = base + contrib.sum(axis=1)
    pd_ = 1.0 / (1.0 + np.exp(-raw))
    score = policy.score.base_score + policy.score.factor * (np.log((1 - pd_) / pd_) - np.log(policy.score.base_odds))

    invalid = rng.random(n) < 0.02
    rules = [r.code for r in policy.eligibility]
    failed: list[list[dict[str, str]]] = [[] for _ in range(n)]
    for i in np.flatnonzero(rng.random(n) < 0.12):
        for code in rng.choice(rules[:6], size=int(rng.integers(1, 3)), replace=False):
            failed[i].append({"code": str(code), "message": f"rule {code} failed"})
    eligible = np.array([not f for f in failed]) & ~invalid
    a, r = policy.decision.admit_pd_max, policy.decision.refer_pd_max
    status = np.where(invalid, "invalid", np.where(~eligible, "reject",
                      np.where(pd_ <= a, "admit", np.where(pd_ <= r, "refer", "reject"))))

    order = np.argsort(-contrib, axis=1)[:, : policy.reasons.top_n]
    rows = np.arange(1, n + 1)
    ids = np.array([f"C{100000 + i}" for i in range(n)], dtype=object)
    data: dict[str, Any] = {
        "row": rows, "asset_id": ids, "status": status,
        "decided_by": np.where(invalid, "contract", np.where(~eligible, "eligibility", "pd_" + status)),
        "pd": np.where(invalid, np.nan, pd_), "score": np.where(invalid, np.nan, score),
        "raw_score": np.where(invalid, np.nan, raw), "base_value": np.where(invalid, np.nan, base),
        "failed_rules": [json.dumps(f) for f in failed],
        "invalid_reasons": np.where(invalid, '[{"column":"term_months","value":"x","rule":"type","message":"bad"}]',
                                    "[]"),
        "note": "",
        **{c: np.full(n, np.nan) for c in ("pd_12m", "pd_remaining", "prepay_probability", "expected_life_months")},
    }
    for j in range(policy.reasons.top_n):
        feat = np.array(names, dtype=object)[order[:, j]]
        lo = contrib[np.arange(n), order[:, j]]
        data[f"reason_{j + 1}_feature"] = np.where(invalid, "", feat)
        data[f"reason_{j + 1}_value"] = np.where(invalid, "", "1.0")
        data[f"reason_{j + 1}_logodds"] = np.where(invalid, np.nan, lo)
        data[f"reason_{j + 1}_points"] = np.where(invalid, np.nan, -policy.score.factor * lo)
        data[f"reason_{j + 1}_text"] = np.where(invalid, "", [f"{f} raised the risk" for f in feat])
    data.update({"model_uri": "models:/poolgate-pd@champion", "model_version": "3",
                 "policy_hash": policy.sha256, "run_id": run_id})
    decisions = pd.DataFrame(data)
    for col, kind in decision_columns(policy.reasons.top_n):
        decisions[col] = decisions[col].astype("string" if kind == "string" else kind)

    valid = ~invalid
    contributions = pd.DataFrame(contrib[valid], columns=names)
    contributions.insert(0, "base_value", base[valid])
    contributions.insert(0, "asset_id", ids[valid])
    contributions.insert(0, "row", rows[valid])
    train_inputs = _inputs(np.random.default_rng(seed + 1), 2000, spec, shift=0.0)
    train_pd = 1.0 / (1.0 + np.exp(-(-3.4 + rng.standard_normal(2000) * 0.8)))
    train_score = policy.score.base_score + policy.score.factor * (
        np.log((1 - train_pd) / train_pd) - np.log(policy.score.base_odds))
    profile = {"features": profile_frame(train_inputs), "scores": profile_scores(train_pd, train_score)}

    pool = pd.DataFrame({
        "row": rows[valid], "asset_id": ids[valid],
        "lessee_id": [f"L{i % (n // 2 + 1)}" for i in range(int(valid.sum()))],
        "dealer_id": rng.choice([f"D{i}" for i in range(30)], size=int(valid.sum())),
        "province": rng.choice(["Anhui", "Jiangsu", "Sichuan", "Henan", "Guangdong"], size=int(valid.sum())),
        "city_tier": rng.integers(1, 6, int(valid.sum())).astype(float),
        "vehicle_make": rng.choice(["BYD", "Geely", "Chery", "Toyota", "Wuling"], size=int(valid.sum())),
        "vehicle_condition": rng.choice(["new", "used"], size=int(valid.sum())),
        "is_nev": rng.random(int(valid.sum())) < 0.3,
        "term_months": rng.choice([24.0, 36.0, 48.0], size=int(valid.sum())),
        "months_on_book": rng.integers(3, 20, int(valid.sum())).astype(float),
        "annual_rate": rng.uniform(0.06, 0.14, int(valid.sum())),
        "ltv": rng.uniform(0.5, 0.9, int(valid.sum())),
        "outstanding_principal": rng.uniform(20_000, 200_000, int(valid.sum())).round(2),
        "pd": pd_[valid], "score": score[valid], "status": status[valid]})
    counts = {s: int((status == s).sum()) for s in ("admit", "refer", "reject", "invalid")}
    summary = pool_summary(pool, policy, counts)
    summary.update({"run_id": run_id, "time": "2026-11-26T08:00:00+00:00", "model_name": "poolgate-pd",
                    "model_version": "3", "model_alias": "champion", "model_uri": "models:/poolgate-pd@champion",
                    "policy_hash": policy.sha256, "input_digest": "ab" * 32, "log_hash": "cd" * 32})
    return FakeRun(decisions=decisions, contributions=contributions, inputs=inputs.assign(row=rows),
                   summary=summary, profile=profile, spec=spec, policy=policy)
