"""Shared fixtures of the screening tests: a small fitted LeaseModel folder and a candidate tape."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from models import LeaseModel, fit_lease_model
from tests.models.book import make_book


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LeaseModel folder fitted on 2,000 synthetic contracts (60 trees at most, one thread)."""
    train, y_train, _ = make_book(2000, seed=11)
    valid, y_valid, _ = make_book(1000, seed=12)
    model = fit_lease_model(train, y_train, valid, y_valid, params={"n_jobs": 1, "n_estimators": 60})
    return model.save(tmp_path_factory.mktemp("model") / "bundle")


@pytest.fixture(scope="session")
def model(bundle_dir: Path) -> LeaseModel:
    return LeaseModel.load(bundle_dir)


def candidate_rows(n: int = 300, seed: int = 13) -> pd.DataFrame:
    """``n`` candidate rows as CSV text would give them, with four broken rows and one overdue asset.

    Row 3 (1-based) has a text term, row 6 an impossible age, row 9 no contract id, row 12 repeats
    row 1's contract id; row 15 is 10 days overdue (valid, but ineligible).
    """
    records, _, _ = make_book(n, seed=seed)
    raw = records.astype(object).where(records.notna(), None).astype(str).replace("None", "")
    raw = raw.astype(object)
    raw.loc[2, "term_months"] = "thirty-six"
    raw.loc[5, "lessee_age"] = "200"
    raw.loc[8, "contract_id"] = ""
    raw.loc[11, "contract_id"] = raw.loc[0, "contract_id"]
    raw.loc[14, "current_dpd"] = "10"
    raw.loc[14, "worst_dpd"] = "10"
    return raw


@pytest.fixture()
def tape(tmp_path: Path) -> Path:
    path = tmp_path / "pool.csv"
    candidate_rows().to_csv(path, index=False)
    return path
