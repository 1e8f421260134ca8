"""Figures files for the tests: a screening summary made by scoring's own ``pool_summary`` on a tiny
pool (so the indicator paths are checked against the real producer) and the monitoring fixture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.io import write_json
from scoring.decisions import POOL_COLUMNS, POOL_FORWARD_COLUMNS
from scoring.policy import load_policy
from scoring.summary import pool_summary

MONITOR_FIXTURE = Path(__file__).parent / "data" / "monitor_summary.json"


def screen_summary() -> dict[str, Any]:
    """Ten admitted assets: lessee L0 holds 3 of them (balance 300 of 1,000), Henan 60 %, dealer D1 50 %;
    PD 2.6 % from origination and 3.6 % over the remaining term (balance-weighted), LGD 0.7."""
    n = 10
    pool = pd.DataFrame({
        "row": np.arange(1, n + 1), "asset_id": [f"A{i:02d}" for i in range(n)],
        "lessee_id": ["L0", "L0", "L0"] + [f"L{i}" for i in range(1, 8)],
        "dealer_id": ["D1"] * 5 + ["D2"] * 3 + ["D3"] * 2,
        "province": ["Henan"] * 6 + ["Hebei"] * 4, "city_tier": 3.0, "vehicle_make": ["BYD"] * 7 + ["Geely"] * 3,
        "vehicle_condition": ["used"] * 4 + ["new"] * 6, "is_nev": False, "term_months": 36.0,
        "months_on_book": 6.0, "annual_rate": 0.12, "ltv": 0.8, "outstanding_principal": 100.0,
        "pd": [0.02] * 8 + [0.05, 0.05], "score": 620.0, "status": "admit",
        "pd_remaining": [0.03] * 8 + [0.06, 0.06], "prepay_probability": 0.1, "expected_life_months": 20.0,
    }).reindex(columns=[*POOL_COLUMNS, *POOL_FORWARD_COLUMNS])  # columns not set here stay empty
    summary = pool_summary(pool, load_policy(), {"admit": n})
    summary["run"] = {"run_id": "run-fixture-0001"}
    return summary


def write_screen_run(folder: Path) -> Path:
    """A run folder holding only ``summary.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    write_json(screen_summary(), folder / "summary.json")
    return folder
