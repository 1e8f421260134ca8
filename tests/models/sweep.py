"""The monotonicity sweep shared by the model tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd


def monotone_violations(predict: Callable[[pd.DataFrame], np.ndarray], X: pd.DataFrame,
                        ranges: Mapping[str, list[float]], directions: Mapping[str, int],
                        points: int = 25) -> dict[str, int]:
    """For each feature with a non-zero direction, set it to ``points`` values across its range for
    every row of ``X`` and count the steps where ``predict`` moves against the direction."""
    out: dict[str, int] = {}
    for name, direction in directions.items():
        if direction == 0:
            continue
        lo, hi = ranges[name]
        grid = np.linspace(lo, hi, points)
        swept = pd.concat([X.assign(**{name: value}) for value in grid], ignore_index=True)
        values = np.asarray(predict(swept)).reshape(grid.size, len(X)).T  # (row, grid point)
        out[name] = int((np.diff(values, axis=1) * direction < -1e-12).sum())
    return out
