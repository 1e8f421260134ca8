"""Exact per-prediction explanations of the booster: path-dependent TreeSHAP.

The values are LightGBM's ``pred_contrib`` and ``shap.TreeExplainer``'s on the raw log-odds, computed
by :func:`models.treeshap.tree_shap` from per-leaf tables (several times faster than ``pred_contrib``,
which remains the path of trees too deep for the tables). For every row the contributions plus the
base value add up to the raw score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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

    def to_shap(self, inputs: pd.DataFrame | None = None, feature_names: Sequence[str] | None = None) -> Any:
        """The same explanation as a ``shap.Explanation``, for shap's plots and tools.

        ``shap.plots.waterfall(e[i])`` draws row ``i`` from the base value to its raw score,
        ``shap.plots.beeswarm(e)`` the summary of all rows.

        Parameters
        ----------
        inputs : DataFrame, shape (n, k), optional
            The model inputs explained (same columns): numeric ones become ``data`` (the beeswarm's
            colours; categories are NaN there), every value as it is becomes ``display_data`` (the
            waterfall's labels).
        feature_names : sequence of str, optional
            Names to show, in column order (e.g. the specification's display names); the column
            names when omitted.

        Returns
        -------
        shap.Explanation
            ``values`` (n, k) log-odds contributions, ``base_values`` (n,), ``data`` and
            ``display_data`` (n, k) when ``inputs`` is given, ``feature_names`` (k), ``instance_names``
            (the index as text), ``output_names`` ``"log-odds of default"``.
        """
        import shap

        columns = list(self.contributions.columns)
        data = display = None
        if inputs is not None:
            frame = inputs[columns]
            data = np.column_stack([
                pd.to_numeric(frame[c]).to_numpy(dtype="float64", na_value=np.nan)
                if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
                else np.full(len(frame), np.nan) for c in columns]) if columns else np.empty((len(frame), 0))
            display = frame.astype(object).where(frame.notna(), None).to_numpy()
        names = list(feature_names) if feature_names is not None else columns
        if len(names) != len(columns):
            raise ValueError(f"Explanation.to_shap: {len(names)} feature names for {len(columns)} inputs")
        return shap.Explanation(values=self.contributions.to_numpy(dtype="float64"),
                                base_values=np.asarray(self.base_value, dtype="float64"), data=data,
                                display_data=display, feature_names=names,
                                instance_names=[str(i) for i in self.contributions.index],
                                output_names="log-odds of default")

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
