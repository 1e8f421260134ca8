"""Platt calibration of the raw log-odds: ``pd = sigmoid(a + b * raw)``, fitted on held-out data.

A single increasing map (``b > 0``) keeps the model's ranking and its monotone directions, and makes
a log-odds contribution ``c`` worth ``b * c`` in calibrated log-odds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from features.exceptions import ConfigError, PoolgateError

__all__ = ["CalibrationError", "PlattCalibration", "fit_platt"]


class CalibrationError(PoolgateError, ValueError):
    """The held-out data cannot calibrate the model (one class only, or a reversed ranking)."""


@dataclass(frozen=True)
class PlattCalibration:
    """``pd = sigmoid(a + b * raw)``.

    Attributes
    ----------
    a : float
        Intercept, in log-odds.
    b : float
        Slope on the raw log-odds; positive.
    n : int
        Held-out rows it was fitted on (0 for the identity map).
    """

    a: float = 0.0
    b: float = 1.0
    n: int = 0

    def predict(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated PD (fraction in [0, 1]) from raw log-odds, shape (n,)."""
        return np.asarray(expit(self.a + self.b * np.asarray(raw, dtype="float64")), dtype="float64")

    def log_odds(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated log-odds of default ``a + b * raw``, shape (n,)."""
        return self.a + self.b * np.asarray(raw, dtype="float64")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {"method": "platt", "a": float(self.a), "b": float(self.b), "n": int(self.n)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlattCalibration:
        """Read :meth:`to_dict` output.

        Raises
        ------
        ConfigError
            If the method is not ``platt`` or ``b`` is not positive.
        """
        if data.get("method") != "platt":
            raise ConfigError(f"calibration: method must be 'platt', got {data.get('method')!r}")
        a, b = float(data["a"]), float(data["b"])
        if not (np.isfinite(a) and np.isfinite(b) and b > 0):
            raise ConfigError(f"calibration: needs finite a and b > 0, got a={a!r}, b={b!r}")
        return cls(a=a, b=b, n=int(data.get("n", 0)))


def fit_platt(raw: np.ndarray, y: np.ndarray, blocks: np.ndarray | None = None) -> PlattCalibration:
    """Fit Platt scaling by unpenalised logistic regression of ``y`` on the raw log-odds.

    Parameters
    ----------
    raw : ndarray, shape (n,)
        Raw log-odds of the booster on held-out rows (not the rows it was trained on).
    y : ndarray, shape (n,)
        Observed defaults, 0 or 1.
    blocks : ndarray of int, shape (n,), optional
        Time-ordered validation blocks (rolling-origin folds, the latest block the highest code), each
        scored by its own model. Each such model has its own level, so pooling the blocks can bend
        the slope, even reverse it, although each block ranks its rows the right way. With blocks the
        slope is fitted with one intercept per block (a block with one class only adds nothing and is
        left out), and the intercept is the latest block's: the level of the latest vintages, scored by the model
        fitted on the most data, is the one nearest to deployment.

    Raises
    ------
    CalibrationError
        If ``y`` has one class only, the shapes differ, or the fitted slope is not positive
        (the model ranks the held-out rows backwards).
    """
    raw = np.asarray(raw, dtype="float64").ravel()
    y = np.asarray(y).ravel()
    if raw.shape != y.shape:
        raise CalibrationError(f"calibration: raw scores have {raw.size} rows but labels have {y.size}")
    classes = np.unique(y)
    if not np.array_equal(classes, [0, 1]):
        raise CalibrationError(f"calibration: held-out labels must contain both 0 and 1, got {classes.tolist()}")
    y = y.astype(int)
    block = np.zeros(raw.size, dtype=np.int64) if blocks is None else np.asarray(blocks).ravel()
    both = [c for c in np.unique(block) if np.unique(y[block == c]).size == 2]
    if len(both) > 1:
        keep = np.isin(block, both)
        dummies = (block[keep][:, None] == np.asarray(both)[None, :]).astype("float64")
        model = LogisticRegression(C=np.inf, fit_intercept=False, max_iter=1000).fit(
            np.column_stack([raw[keep], dummies]), y[keep])
        a, b = float(model.coef_[0, -1]), float(model.coef_[0, 0])
        how = "with one intercept per validation block"
    else:
        model = LogisticRegression(C=np.inf, max_iter=1000).fit(raw.reshape(-1, 1), y)
        a, b = float(model.intercept_[0]), float(model.coef_[0, 0])
        how = ""
    if not b > 0:
        raise CalibrationError(f"calibration: fitted slope b={b:.4g}{' ' + how if how else ''} is not positive; the "
                               "model ranks the held-out rows backwards, so it cannot be calibrated")
    return PlattCalibration(a=a, b=b, n=int(raw.size))
