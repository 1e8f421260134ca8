"""Shared fixtures of the training tests: a small synthetic book and MLflow in a temporary folder."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from features.synthetic import Book, generate_book, write_book
from training.run import RunConfig
from training.search import SearchConfig

CUTOFF = dt.date(2025, 6, 30)

#: A search small enough for tests: two candidates, one rung (the book is below the subsample size).
TINY = RunConfig(search=SearchConfig(n_candidates=2, keep=1, max_rounds=300, early_stopping_rounds=20),
                 shap_sample=300, sweep_assets=50)


@pytest.fixture(scope="session")
def small_book() -> Book:
    """12,000 contracts (about 4,300 train, 1,900 validation and 2,000 test rows after labelling)."""
    return generate_book(12_000, seed=3, cutoff=CUTOFF)


@pytest.fixture(scope="session")
def small_book_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same book written as Parquet tapes (contracts, performance, pool, truth)."""
    return write_book(tmp_path_factory.mktemp("book"), 12_000, 3, CUTOFF).paths


def _tracking_dir(tmp: Path) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp / 'mlflow.db'}")
        mp.chdir(tmp)   # artifacts go beside the database, inside the temporary folder
        yield tmp


@pytest.fixture()
def mlflow_dir(tmp_path: Path) -> Iterator[Path]:
    """MLflow tracking and registry in a fresh temporary folder for one test."""
    yield from _tracking_dir(tmp_path)


@pytest.fixture(scope="module")
def module_mlflow_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """MLflow tracking and registry in a temporary folder shared by one test module."""
    yield from _tracking_dir(tmp_path_factory.mktemp("mlflow"))
