"""Judging a fitted :class:`models.LeaseModel` on labelled records: metrics and a monotonicity sweep.

Used by a training run (on its out-of-time vintages) and by promotion (challenger and champion on
the same rows). Pure: a model and frames in, numbers and small frames out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models import LeaseModel
from training.metrics import auc_by_group, decile_table, summary_metrics

__all__ = ["Evaluation", "evaluate_model", "monotonicity_sweep"]


@dataclass(frozen=True)
class Evaluation:
    """A model measured on one labelled sample.

    Attributes
    ----------
    metrics : dict
        :func:`training.metrics.summary_metrics` of the calibrated PD, plus
        ``monotonicity_violations`` (count) from :func:`monotonicity_sweep`.
    deciles : DataFrame
        Expected against observed default rate by PD decile.
    auc_by_vintage : dict
        Vintage label -> AUC (NaN for a vintage with one class).
    monotonicity : DataFrame
        Per constrained feature: ``feature``, ``direction``, ``grid_points``, ``checks``, ``violations``.
    pd : ndarray, shape (n,)
        The PDs that were measured.
    """

    metrics: dict[str, float]
    deciles: pd.DataFrame
    auc_by_vintage: dict[str, float]
    monotonicity: pd.DataFrame
    pd: np.ndarray


def monotonicity_sweep(model: LeaseModel, records: pd.DataFrame, *, n_assets: int = 200, grid_points: int = 25,
                       seed: int = 0, tolerance: float = 1e-9) -> pd.DataFrame:
    """Move each constrained feature across its range for many assets and count wrong-way steps.

    For a random sample of ``n_assets`` rows, each model input with a risk direction ``d`` (+1 or
    -1 in the feature specification) is set in turn to ``grid_points`` values spanning its
    observed range (quantiles of the sample, ascending), all other inputs held fixed. A violation
    is one step between neighbouring grid values where the raw score moves against ``d`` by more
    than ``tolerance`` (log-odds). Calibration is increasing, so the same holds for the PD.

    Returns
    -------
    DataFrame
        One row per constrained feature: ``feature``, ``direction``, ``grid_points``, ``checks``
        (assets x steps) and ``violations``.
    """
    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(len(records), size=min(n_assets, len(records)), replace=False))
    x = model.transform(records.iloc[take].reset_index(drop=True))
    rows = []
    for name, direction in model.spec.directions.items():
        if not direction or name not in x.columns:
            continue
        values = pd.to_numeric(x[name], errors="coerce").dropna().to_numpy(dtype=float)
        if values.size == 0:
            rows.append({"feature": name, "direction": direction, "grid_points": 0, "checks": 0, "violations": 0})
            continue
        grid = np.unique(np.quantile(values, np.linspace(0, 1, grid_points)))
        stacked = pd.concat([x] * grid.size, ignore_index=True)
        stacked[name] = np.repeat(grid, len(x)).astype(x[name].dtype)
        raw = model.raw_score_inputs(stacked).reshape(grid.size, len(x))
        steps = direction * np.diff(raw, axis=0)
        rows.append({"feature": name, "direction": int(direction), "grid_points": int(grid.size),
                     "checks": int(steps.size), "violations": int((steps < -tolerance).sum())})
    return pd.DataFrame(rows, columns=["feature", "direction", "grid_points", "checks", "violations"])


def evaluate_model(model: LeaseModel, records: pd.DataFrame, y: np.ndarray, vintage: np.ndarray | None = None,
                   *, n_bins: int = 10, sweep_assets: int = 200, seed: int = 0) -> Evaluation:
    """Measure a model on labelled records (e.g. the out-of-time vintages).

    Parameters
    ----------
    model : LeaseModel
        The fitted model.
    records : DataFrame, shape (n, ...)
        Canonical lease records.
    y : ndarray of int, shape (n,)
        Observed default within the horizon (0/1).
    vintage : ndarray of str, shape (n,), optional
        Vintage label of each row, for AUC by vintage.
    n_bins : int, default 10
        PD bins of the calibration measures (deciles).
    sweep_assets : int, default 200
        Assets in the monotonicity sweep.
    seed : int, default 0
        Seed of the sweep's sample.
    """
    p = model.predict_pd(records)
    metrics = summary_metrics(y, p, n_bins)
    sweep = monotonicity_sweep(model, records, n_assets=sweep_assets, seed=seed)
    metrics["monotonicity_violations"] = float(sweep["violations"].sum())
    by_vintage = auc_by_group(y, p, vintage) if vintage is not None else {}
    return Evaluation(metrics=metrics, deciles=decile_table(y, p, n_bins), auc_by_vintage=by_vintage,
                      monotonicity=sweep, pd=p)
