"""A small sample book, a screening run whose PDs are the true ones, and a deal sized to its pool."""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from features.contract import check_lease_tape
from features.synthetic import write_book
from scoring.audit import file_digest

CUTOFF = dt.date(2025, 6, 30)
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Sample:
    folder: Path
    pool: Path
    performance: Path
    truth: pd.DataFrame


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    folder = tmp_path_factory.mktemp("book")
    files = write_book(folder, 8_000, 5, CUTOFF).paths
    return Sample(folder, files["pool"], files["pool_performance"], pd.read_parquet(files["truth"]))


def make_run(sample: Sample, folder: Path, pd_scale: float = 1.0) -> Path:
    """A screening output folder admitting the valid, current, seasoned pool rows with PD = scale x true pd_24m."""
    raw = pd.read_parquet(sample.pool)
    check = check_lease_tape(raw)
    rec = check.records
    ok = ~np.asarray(check.invalid, dtype=bool) & (pd.to_numeric(rec["current_dpd"]) == 0).to_numpy() \
        & (pd.to_numeric(rec["months_on_book"]) >= 3).to_numpy()
    truth = sample.truth.set_index("contract_id")
    pd_true = truth["pd_24m"].reindex(raw["contract_id"].astype(str)).to_numpy()
    decisions = pd.DataFrame({"row": np.arange(1, len(raw) + 1), "asset_id": raw["contract_id"].astype(str),
                              "status": np.where(ok, "admit", "reject"),
                              "pd": np.where(ok, np.minimum(pd_true * pd_scale, 0.999), np.nan)})
    folder.mkdir(parents=True, exist_ok=True)
    decisions.to_parquet(folder / "decisions.parquet", index=False)
    summary = {"run": {"run_id": f"fake{pd_scale:g}", "tape": str(sample.pool), "input_digest": file_digest(sample.pool),
                       "cutoff": CUTOFF.isoformat(), "model_uri": "truth", "model_version": ""}}
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return folder


def deal_dict(balance: float, **changes: Any) -> dict[str, Any]:
    """The bundled deal, its classes rescaled to ``balance`` (CNY), with top-level ``changes``."""
    data = tomllib.loads((ROOT / "data_samples" / "deal.toml").read_text(encoding="utf-8"))
    scale = balance / data["cutoff_balance"]
    data["cutoff_balance"] = balance
    for c in data["classes"]:
        c["balance"] = c["balance"] * scale
    data["classes"][-1]["balance"] = balance - sum(c["balance"] for c in data["classes"][:-1])
    data["liquidity"]["limit"] = data["liquidity"]["limit"] * scale
    data.update(changes)
    return data


def write_deal(path: Path, data: dict[str, Any]) -> Path:
    """Write ``data`` as TOML (the few shapes a deal file uses)."""
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(v, ensure_ascii=False)

    lines: list[str] = []
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    arrays = {k: v for k, v in data.items() if isinstance(v, list) and v and isinstance(v[0], dict)}
    for k, v in data.items():
        if k not in tables and k not in arrays:
            lines.append(f"{k} = {value(v)}")
    for k, v in tables.items():
        lines.append(f"[{k}]")
        lines += [f"{kk} = {value(vv)}" for kk, vv in v.items()]
    for k, items in arrays.items():
        for item in items:
            lines.append(f"[[{k}]]")
            lines += [f"{kk} = {value(vv)}" for kk, vv in item.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def pool_balance(run: Path) -> float:
    from monitoring.inputs import load_pool

    return float(load_pool(run).assets["balance"].sum())
