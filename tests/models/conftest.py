"""Shared fixtures of the model tests: one small synthetic book and one model fitted on it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from models import LeaseModel, fit_lease_model
from tests.models.book import make_book


@dataclass(frozen=True)
class Fitted:
    model: LeaseModel
    train: pd.DataFrame
    y_train: np.ndarray
    valid: pd.DataFrame
    y_valid: np.ndarray
    test: pd.DataFrame
    y_test: np.ndarray
    pd_test: np.ndarray


@pytest.fixture(scope="session")
def fitted() -> Fitted:
    train, y_train, _ = make_book(3000, seed=1)
    valid, y_valid, _ = make_book(1500, seed=2)
    test, y_test, pd_test = make_book(3000, seed=3)
    model = fit_lease_model(train, y_train, valid, y_valid, params={"n_jobs": 1}, with_scorecard=True)
    return Fitted(model, train, y_train, valid, y_valid, test, y_test, pd_test)
