"""The one place screening talks to a fitted :class:`models.LeaseModel`.

Screening needs, for each valid record, the model inputs, every feature's contribution in log-odds,
the base value, the raw score and the calibrated PD. The contributions are computed once
(LightGBM ``pred_contrib``); the raw score is their sum plus the base value and the PD is the
model's Platt calibration of it, so no second pass over the trees is made.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Scored", "display_names", "score_and_explain"]


@dataclass(frozen=True)
class Scored:
    """Model output for ``n`` records with ``k`` model inputs.

    Attributes
    ----------
    feature_names : list of str, length k
    inputs : DataFrame, shape (n, k)
        Model inputs.
    contributions : ndarray, shape (n, k)
        Log-odds contributions (TreeSHAP).
    base_value : ndarray, shape (n,)
        Expected raw score over the training data (the same for every row).
    raw : ndarray, shape (n,)
        Raw log-odds ``contributions.sum(1) + base_value``.
    pd : ndarray, shape (n,)
        Calibrated probability of default (fraction).
    calibration_slope : float
        ``b`` of ``pd = sigmoid(a + b * raw)``.
    contrib_seconds : float
        Wall time of the contributions (LightGBM ``pred_contrib``), for benchmarks.
    """

    feature_names: list[str]
    inputs: pd.DataFrame
    contributions: np.ndarray
    base_value: np.ndarray
    raw: np.ndarray
    pd: np.ndarray
    calibration_slope: float
    contrib_seconds: float = 0.0


def score_and_explain(model: Any, records: pd.DataFrame) -> Scored:
    """Inputs, contributions, raw score and PD of typed canonical ``records`` under ``model``."""
    names = list(model.feature_names)
    inputs = model.transform(records)
    t0 = time.perf_counter()
    explanation = model.explain_inputs(inputs)
    seconds = time.perf_counter() - t0
    contrib = np.asarray(explanation.contributions, dtype="float64")
    base = np.asarray(explanation.base_value, dtype="float64").reshape(-1)
    raw = contrib.sum(axis=1) + base
    calibration = model.calibration
    return Scored(names, inputs, contrib, base, raw, calibration.predict(raw), float(calibration.b),
                  seconds)


def display_names(model: Any, language: str) -> dict[str, str]:
    """Feature name -> display name in ``language`` ("en" or "zh") from the model's feature specification."""
    spec = getattr(model, "spec", None)
    if spec is None:
        return {}
    return {f.name: getattr(f, f"display_{language}", f.name) for f in spec.features}
