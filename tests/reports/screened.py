"""A small model, a 200-row candidate tape and a loosened policy, screened through the CLI.

Shared by the report tests that need a real screening run (not a generated one, see fake_run.py).
"""

from __future__ import annotations

import re
from pathlib import Path

from models import LeaseModel, fit_lease_model
from poolgate.cli import main
from scoring.policy import default_policy_path
from tests.models.book import make_book
from tests.scoring.conftest import candidate_rows


def small_model() -> tuple[LeaseModel, object]:
    """A quick LeaseModel and the frame of its training records."""
    train, y_train, _ = make_book(2000, seed=11)
    valid, y_valid, _ = make_book(1000, seed=12)
    return fit_lease_model(train, y_train, valid, y_valid, params={"n_jobs": 1, "n_estimators": 60}), train


def screen_small_pool(tmp: Path, bundle: Path) -> dict[str, Path]:
    """Screen 200 candidates with ``bundle``; return the paths of the tape, policy, log and run folder."""
    policy = tmp / "policy.toml"  # limits loosened: a 200-row tape cannot meet the deal's concentration limits
    policy.write_text(re.sub(r"max_share = [0-9.]+", "max_share = 1.0",
                             default_policy_path().read_text(encoding="utf-8")), encoding="utf-8")
    rows = candidate_rows(200, seed=21)
    rows["cutoff_date"], rows["origination_date"] = "2023-06-30", "2022-06-15"
    rows["months_on_book"], rows["instalments_paid"] = "12", "12"
    rows["term_months"] = rows["term_months"].where(rows["term_months"].isin(["24", "36", "48", "60"]), "36")
    rows.to_csv(tmp / "pool.csv", index=False)
    paths = {"policy": policy, "tape": tmp / "pool.csv", "log": tmp / "decisions.log", "run": tmp / "run"}
    assert main(["screen", "--tape", str(paths["tape"]), "--cutoff", "2023-06-30", "--model", str(bundle),
                 "--policy", str(policy), "--log", str(paths["log"]), "--out", str(paths["run"]), "--json"]) == 0
    return paths
