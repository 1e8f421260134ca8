"""Replenishment: concentration limits count the pool as it stands and drop only candidates."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from monitoring import monitor
from monitoring.inputs import MonitorInputError
from monitoring.replenish import GROUP_COLUMNS, existing_pool, held_contracts
from poolgate.cli import main
from scoring.concentration import apply_limits
from scoring.policy import default_policy_path, load_policy, parse_policy
from tests.monitoring.conftest import Sample, deal_dict, make_run, pool_balance, write_deal


def _candidates(n: int, province: str) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"row": np.arange(1, n + 1), "asset_id": [f"N{i}" for i in range(n)], "status": "admit",
                         "pd": rng.uniform(0.005, 0.05, n), "lessee_id": [f"L{i}" for i in range(n)],
                         "dealer_id": [f"D{i % 50}" for i in range(n)], "province": province,
                         "vehicle_make": [f"M{i % 10}" for i in range(n)], "vehicle_condition": "new",
                         "is_nev": False, "outstanding_principal": 50_000.0})


def _policy_with_province_cap(cap: float):  # type: ignore[no-untyped-def]
    import tomllib

    from scoring.policy import default_policy_path

    data = tomllib.loads(Path(default_policy_path()).read_text(encoding="utf-8"))
    data["concentration"] = [c for c in data["concentration"] if c["group"] == "province"]
    data["concentration"][0]["max_share"] = cap
    return parse_policy(data)


def test_existing_assets_count_in_the_limits_and_only_candidates_are_dropped() -> None:
    policy = _policy_with_province_cap(0.15)
    provinces = [f"P{i}" for i in range(40)]
    spread = _candidates(400, "").assign(province=[provinces[i % 40] for i in range(400)],
                                         row=lambda f: f["row"] + 40, asset_id=lambda f: "S" + f["asset_id"])
    cands = pd.concat([_candidates(40, "Henan"), spread], ignore_index=True)   # Henan 2 M of 22 M CNY
    existing = pd.DataFrame({"lessee_id": [f"E{i}" for i in range(2000)], "dealer_id": "DX",
                             "province": (["Henan"] * 340) + [provinces[i % 40] for i in range(1660)],
                             "vehicle_make": "MX", "vehicle_condition": "used", "is_nev": True,
                             "outstanding_principal": 40_000.0})              # Henan 13.6 M of 80 M CNY
    assert apply_limits(cands, policy) == []      # the candidates alone are within every limit
    both = apply_limits(cands, policy, existing)  # with the pool, Henan holds 15.3 %
    assert both and all(d.row > 0 for d in both)
    dropped = cands.set_index("row").loc[[d.row for d in both], "province"]
    assert set(dropped) == {"Henan"}
    kept = cands[~cands["row"].isin([d.row for d in both])]

    def henan_share(extra: float) -> float:
        henan = kept.loc[kept["province"] == "Henan", "outstanding_principal"].sum() + 340 * 40_000.0 + extra
        return henan / (kept["outstanding_principal"].sum() + existing["outstanding_principal"].sum() + extra)

    assert henan_share(0.0) <= 0.15 + 1e-9
    assert henan_share(50_000.0) > 0.15        # one fewer drop would break the limit


def test_existing_pool_reads_the_assets_still_in_the_pool(sample: Sample, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    run = make_run(sample, tmp_path / "screen")
    deal = write_deal(tmp_path / "deal.toml", deal_dict(pool_balance(run)))
    result = monitor(str(run), sample.performance, deal, tmp_path / "mon", asof=dt.date(2026, 6, 30),
                     log_path=tmp_path / "log.jsonl", drift=False, track=False)
    pool = existing_pool(tmp_path / "mon", cutoff=dt.date(2026, 6, 30))
    assert list(pool.columns) == ["contract_id", *GROUP_COLUMNS, "outstanding_principal"]
    assert len(pool) == result["latest"]["assets"]
    assert pool["outstanding_principal"].sum() == pytest.approx(result["latest"]["pool_balance"])
    with pytest.raises(MonitorInputError, match="rule same_date"):
        existing_pool(tmp_path / "mon", cutoff=dt.date(2026, 7, 31))
    # the command: the existing pool is an input of the run (its id and summary say so)
    from models import fit_lease_model
    from tests.models.book import make_book

    train, y, _ = make_book(1500, seed=21)
    valid, yv, _ = make_book(600, seed=22)
    bundle = fit_lease_model(train, y, valid, yv, params={"n_jobs": 1, "n_estimators": 30}).save(tmp_path / "bundle")
    tape = tmp_path / "candidates.csv"
    cands, _, _ = make_book(200, seed=23)
    cands.assign(cutoff_date="2026-06-30").to_csv(tape, index=False)
    runs = {}
    for name, extra in (("plain", []), ("replenish", ["--existing-pool", str(tmp_path / "mon")])):
        code = main(["screen", "--tape", str(tape), "--cutoff", "2026-06-30", "--model", str(bundle), "--log",
                     str(tmp_path / "log.jsonl"), "--out", str(tmp_path / name), "--json", *extra])
        assert code == 0
        runs[name] = json.loads(capsys.readouterr().out)["run_id"]
    summary = json.loads((tmp_path / "replenish" / "summary.json").read_text(encoding="utf-8"))
    assert summary["run"]["existing_pool"]["assets"] == len(pool)
    # the limits are reported on the pool after the purchase: the assets still in it and those admitted
    decisions = pd.read_parquet(tmp_path / "replenish" / "decisions.parquet")
    bought = cands.set_index("contract_id").loc[decisions.loc[decisions["status"] == "admit", "asset_id"]]
    after = summary["run"]["existing_pool"]["after_purchase"]
    assert after["assets"] == len(pool) + len(bought)
    assert after["balance"] == pytest.approx(pool["outstanding_principal"].sum() + bought["outstanding_principal"].sum())
    combined = pd.concat([pool[["province", "outstanding_principal"]],
                          bought[["province", "outstanding_principal"]]])
    shares = combined.groupby("province")["outstanding_principal"].sum() / combined["outstanding_principal"].sum()
    province = next(c for c in after["concentration"] if c["group"] == "province")
    assert province["value"] == pytest.approx(shares.max(), abs=1e-6) and province["largest"] == shares.idxmax()
    assert runs["plain"] != runs["replenish"]
    assert "existing_pool" not in json.loads((tmp_path / "plain" / "summary.json").read_text())["run"]
    assert load_policy() is not None


def test_a_candidate_the_pool_holds_or_has_held_is_not_bought_again(sample: Sample, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    run = make_run(sample, tmp_path / "screen")
    deal = write_deal(tmp_path / "deal.toml", deal_dict(pool_balance(run)))
    monitor(str(run), sample.performance, deal, tmp_path / "mon", asof=dt.date(2026, 6, 30),
            log_path=tmp_path / "log.jsonl", drift=False, track=False)
    assets = pd.read_parquet(tmp_path / "mon" / "assets.parquet")
    held = held_contracts(tmp_path / "mon", cutoff=dt.date(2026, 6, 30))
    assert held.to_dict() == dict(zip(assets["asset_id"], assets["state"]))
    with pytest.raises(MonitorInputError, match="rule same_date"):
        held_contracts(tmp_path / "mon", cutoff=dt.date(2026, 7, 31))
    # the candidates of a later cut-off: a book from the same generator, whose contract ids overlap the
    # pool's (still in it or gone), as a seller re-offering contracts would
    from features.synthetic import write_book
    from models import fit_lease_model
    from tests.models.book import make_book

    train, y, _ = make_book(1500, seed=21)
    valid, yv, _ = make_book(600, seed=22)
    bundle = fit_lease_model(train, y, valid, yv, params={"n_jobs": 1, "n_estimators": 30}).save(tmp_path / "bundle")
    tape = write_book(tmp_path / "later", 2000, 9, dt.date(2026, 6, 30)).paths["pool"]
    loose = tmp_path / "policy.toml"  # no binding concentration limit: a 125-row tape cannot meet them
    loose.write_text(re.sub(r"max_share = [0-9.]+", "max_share = 1.0",
                            default_policy_path().read_text(encoding="utf-8")), encoding="utf-8")
    runs = {}
    for name, extra in (("plain", []), ("replenish", ["--existing-pool", str(tmp_path / "mon")])):
        code = main(["screen", "--tape", str(tape), "--cutoff", "2026-06-30", "--model", str(bundle), "--policy",
                     str(loose), "--log", str(tmp_path / "log.jsonl"), "--out", str(tmp_path / name), *extra])
        assert code == 0
        runs[name] = pd.read_parquet(tmp_path / name / "decisions.parquet")
    text = capsys.readouterr().out
    plain, rep = runs["plain"], runs["replenish"]
    was = rep["asset_id"].isin(held.index).to_numpy() & (rep["status"] != "invalid").to_numpy()
    assert (plain.loc[was, "status"] == "admit").any()            # what the bug let in
    assert (rep.loc[was, "status"] == "reject").all() and (rep.loc[was, "decided_by"] == "eligibility").all()
    for asset, rules in zip(rep.loc[was, "asset_id"], rep.loc[was, "failed_rules"]):
        last = json.loads(rules)[-1]
        assert last["code"] == "already_in_pool" and f"cut-off: {held[asset]})" in last["message"]
    assert set(held[rep.loc[was, "asset_id"]]) > {"in_pool"}       # gone ones too
    assert not rep.loc[~was, "failed_rules"].str.contains("already_in_pool").any()
    summary = json.loads((tmp_path / "replenish" / "summary.json").read_text(encoding="utf-8"))
    assert summary["run"]["existing_pool"]["already_in_pool"] == int(was.sum())
    assert summary["run"]["existing_pool"]["held"] == len(held)
    assert sum(summary["counts"].values()) == len(rep)
    assert f"(rejected, already_in_pool) {int(was.sum())}" in text
