"""Score scaling: PD <-> score points with a base score, base odds and points to double the odds.

``points = offset + factor * ln(odds)`` where ``odds = (1 - pd) / pd`` (good : bad),
``factor = pdo / ln 2`` and ``offset = base_score - factor * ln(base_odds)``. Higher points mean
lower risk; ``pdo`` more points double the good : bad odds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from features.exceptions import ConfigError

__all__ = ["ScoreScaling"]

_PD_FLOOR = 1e-9  # PDs are kept in [1e-9, 1 - 1e-9] so every score is finite


@dataclass(frozen=True)
class ScoreScaling:
    """Points from PD and back.

    Parameters
    ----------
    base_score : float, default 600
        Points at the base odds.
    base_odds : float, default 50
        Good : bad odds at the base score (50 means a PD of 1/51).
    pdo : float, default 20
        Points to double the odds.
    """

    base_score: float = 600.0
    base_odds: float = 50.0
    pdo: float = 20.0

    def __post_init__(self) -> None:
        for name in ("base_score", "base_odds", "pdo"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
                raise ConfigError(f"score scaling: {name} must be a finite number, got {value!r}")
        if self.base_odds <= 0:
            raise ConfigError(f"score scaling: base_odds must be > 0, got {self.base_odds!r}")
        if self.pdo <= 0:
            raise ConfigError(f"score scaling: pdo (points to double the odds) must be > 0, got {self.pdo!r}")

    @property
    def factor(self) -> float:
        """Points per unit of ln(odds): ``pdo / ln 2``."""
        return self.pdo / math.log(2.0)

    @property
    def offset(self) -> float:
        """Points at odds 1 : 1."""
        return self.base_score - self.factor * math.log(self.base_odds)

    def score(self, pd_: np.ndarray) -> np.ndarray:
        """Points from PD (fraction), shape (n,); PDs are clipped to [1e-9, 1 - 1e-9]."""
        p = np.clip(np.asarray(pd_, dtype="float64"), _PD_FLOOR, 1.0 - _PD_FLOOR)
        return self.offset + self.factor * np.log((1.0 - p) / p)

    def pd(self, points: np.ndarray) -> np.ndarray:
        """PD (fraction) from points, shape (n,); the inverse of :meth:`score`."""
        s = np.asarray(points, dtype="float64")
        return 1.0 / (1.0 + np.exp((s - self.offset) / self.factor))

    def points_from_log_odds(self, delta_log_odds: np.ndarray) -> np.ndarray:
        """Points change caused by a change in the log-odds of default (``-factor * delta``)."""
        return -self.factor * np.asarray(delta_log_odds, dtype="float64")

    def to_dict(self) -> dict[str, float]:
        """JSON-safe form (the keys of the policy file's scaling table)."""
        return {"base_score": float(self.base_score), "base_odds": float(self.base_odds), "pdo": float(self.pdo)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScoreScaling:
        """Build from a mapping with keys ``base_score``, ``base_odds``, ``pdo``.

        Raises
        ------
        ConfigError
            If a key is missing or unknown, or a value is out of range.
        """
        keys = {"base_score", "base_odds", "pdo"}
        missing, extra = sorted(keys - set(data)), sorted(set(data) - keys)
        if missing or extra:
            raise ConfigError(f"score scaling: needs keys base_score, base_odds, pdo; "
                              f"missing {missing}, unknown {extra}")
        return cls(base_score=data["base_score"], base_odds=data["base_odds"], pdo=data["pdo"])
