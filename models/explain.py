"""Exact per-prediction explanations of the booster: LightGBM's ``pred_contrib`` (TreeSHAP).

LightGBM computes the same path-dependent TreeSHAP values as ``shap.TreeExplainer`` on the raw
log-odds output, without the extra dependency and faster. For every row the contributions plus the
base value add up to the raw score.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

__all__ = ["Explanation", "contributions"]


@dataclass(frozen=True)
class Explanation:
    """Contributions of each model input to the raw log-odds of each row.

    Attributes
    ----------
    contributions : DataFrame, shape (n, k)
        Log-odds contribution of each feature (positive raises the PD); index of the records.
    base_value : ndarray, shape (n,)
        Expected raw score (the same value on every row).
    raw_score : ndarray, shape (n,)
        Raw log-odds; equals ``contributions.sum(axis=1) + base_value``.
    """

    contributions: pd.DataFrame
    base_value: np.ndarray
    raw_score: np.ndarray

    def points(self, calibration_b: float, factor: float) -> pd.DataFrame:
        """Contributions in score points: ``-calibration_b * c * factor`` (``factor = pdo / ln 2``).

        Negative points lower the score (raise the risk).
        """
        return -calibration_b * factor * self.contributions


def contributions(booster: lgb.Booster, X: pd.DataFrame) -> Explanation:
    """Explain the raw scores of ``booster`` on model inputs ``X`` (shape (n, k)).

    Returns
    -------
    Explanation
    """
    contrib = np.asarray(booster.predict(X, pred_contrib=True), dtype="float64")
    values = contrib[:, :-1]
    base = contrib[:, -1].copy()
    frame = pd.DataFrame(values, index=X.index, columns=list(X.columns))
    return Explanation(contributions=frame, base_value=base, raw_score=values.sum(axis=1) + base)
