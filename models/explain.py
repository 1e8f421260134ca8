"""Exact per-prediction explanations of the booster: path-dependent TreeSHAP.

The values are LightGBM's ``pred_contrib`` and ``shap.TreeExplainer``'s on the raw log-odds, computed
by :func:`models.treeshap.tree_shap` from per-leaf tables (several times faster than ``pred_contrib``,
which remains the path of trees too deep for the tables). For every row the contributions plus the
base value add up to the raw score.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

from models.treeshap import tree_shap

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
    values, base = tree_shap(booster, X)
    frame = pd.DataFrame(values, index=X.index, columns=list(X.columns))
    return Explanation(contributions=frame, base_value=base, raw_score=values.sum(axis=1) + base)
