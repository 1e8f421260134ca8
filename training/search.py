"""Hyperparameter search for the monotone LightGBM default model: successive halving with early stopping.

The search works on model inputs (the output of the fitted feature pipeline), not on raw records:

* **rung 0**: ``n_candidates`` parameter sets (the first two are fixed anchors, boosted stumps and
  small trees; the others are drawn at random from :class:`SearchSpace` with the seed) are each trained on a random subsample of
  the training rows, stopping early on the validation log loss;
* **rung 1**: the ``keep`` best of them (by validation AUC) are trained on every training row, again
  stopping early; the best by validation AUC wins, ties broken by log loss.

The validation rows are the validation vintages of the out-of-time split, so the search never sees
the test vintages. Every setting that affects the result (seed, thread count, ``deterministic``) is
fixed, so the same data and seed give the same winner and the same number of trees.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from models.pd_model import PDClassifier
from training.errors import TrainingError

__all__ = [
    "ANCHOR_CANDIDATES",
    "SearchConfig",
    "SearchResult",
    "SearchSpace",
    "Trial",
    "lgb_params",
    "search_params",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchSpace:
    """Ranges the random candidates are drawn from (inclusive; ``log`` = drawn uniformly in log scale).

    Parameters
    ----------
    num_leaves : (int, int)
        Leaves per tree, log scale. Default (2, 31): default risk is close to additive in log-odds,
        and on the synthetic book stumps and 3-4-leaf trees rank best out of time.
    min_child_samples : (int, int)
        Minimum rows in a leaf, log scale. Default (30, 1000).
    learning_rate : (float, float)
        Shrinkage, log scale. Default (0.03, 0.2).
    reg_lambda : (float, float)
        L2 penalty on leaf values, log scale. Default (0.01, 30).
    colsample_bytree : (float, float)
        Share of features tried per tree. Default (0.6, 1.0).
    subsample : (float, float)
        Share of rows per tree (re-drawn every tree). Default (0.6, 1.0).
    """

    num_leaves: tuple[int, int] = (2, 31)
    min_child_samples: tuple[int, int] = (30, 1000)
    learning_rate: tuple[float, float] = (0.03, 0.2)
    reg_lambda: tuple[float, float] = (0.01, 30.0)
    colsample_bytree: tuple[float, float] = (0.6, 1.0)
    subsample: tuple[float, float] = (0.6, 1.0)

    def draw(self, rng: np.random.Generator) -> dict[str, Any]:
        """One random parameter set."""
        def log_uniform(lo: float, hi: float) -> float:
            return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))

        return {
            "num_leaves": round(log_uniform(*self.num_leaves)),
            "min_child_samples": round(log_uniform(*self.min_child_samples)),
            "learning_rate": round(log_uniform(*self.learning_rate), 5),
            "reg_lambda": round(log_uniform(*self.reg_lambda), 5),
            "colsample_bytree": round(float(rng.uniform(*self.colsample_bytree)), 4),
            "subsample": round(float(rng.uniform(*self.subsample)), 4),
        }


#: The first candidates of every search (before the random ones): boosted stumps, which fit a
#: log-odds-additive risk like a scorecard does, and small trees that can also catch interactions.
ANCHOR_CANDIDATES: tuple[dict[str, Any], ...] = (
    {"num_leaves": 2, "min_child_samples": 100, "learning_rate": 0.1, "reg_lambda": 1.0,
     "colsample_bytree": 1.0, "subsample": 0.9},
    {"num_leaves": 4, "min_child_samples": 200, "learning_rate": 0.05, "reg_lambda": 1.0,
     "colsample_bytree": 0.9, "subsample": 0.9},
)


@dataclass(frozen=True)
class SearchConfig:
    """Size and stopping rules of the search.

    Parameters
    ----------
    n_candidates : int
        Parameter sets tried on the subsample (rung 0). Default 8.
    keep : int
        Best candidates re-trained on all training rows (rung 1). Default 3.
    subsample_rows : int
        Training rows used in rung 0 (all of them if the training set is smaller). Default 200,000.
    max_rounds : int
        Most trees per fit. Default 2,000.
    early_stopping_rounds : int
        Rounds without improvement of the validation log loss before a fit stops. Default 50.
    seed : int
        Seed of the candidate draws, the subsample and LightGBM. Default 0.
    num_threads : int
        LightGBM threads; fixed so that results repeat. Default 2.
    space : SearchSpace
        Ranges of the random candidates.
    """

    n_candidates: int = 8
    keep: int = 3
    subsample_rows: int = 200_000
    max_rounds: int = 2_000
    early_stopping_rounds: int = 50
    seed: int = 0
    num_threads: int = 2
    space: SearchSpace = field(default_factory=SearchSpace)

    def __post_init__(self) -> None:
        if self.n_candidates < 1:
            raise TrainingError(f"search n_candidates must be >= 1; got {self.n_candidates}")
        if not 1 <= self.keep <= self.n_candidates:
            raise TrainingError(f"search keep must be between 1 and n_candidates ({self.n_candidates}); "
                                f"got {self.keep}")
        if self.max_rounds < 1 or self.early_stopping_rounds < 1 or self.subsample_rows < 1:
            raise TrainingError("search max_rounds, early_stopping_rounds and subsample_rows must be >= 1; got "
                                f"{self.max_rounds}, {self.early_stopping_rounds}, {self.subsample_rows}")


@dataclass(frozen=True)
class Trial:
    """One fit of one candidate on one rung."""

    candidate: int
    rung: int
    rows: int
    params: dict[str, Any]
    best_iteration: int
    val_auc: float
    val_logloss: float
    seconds: float


@dataclass(frozen=True)
class SearchResult:
    """The winner and every trial.

    Attributes
    ----------
    params : dict
        The winner's settings in :class:`models.PDClassifier` terms (``num_leaves``,
        ``min_child_samples``, ``learning_rate``, ``reg_lambda``, ``colsample_bytree``, ``subsample``).
    best_iteration : int
        Trees of the winner at its best validation log loss (rung 1, all training rows).
    trials : list of Trial
        Every fit, in the order run.
    """

    params: dict[str, Any]
    best_iteration: int
    trials: list[Trial]

    def trials_frame(self) -> pd.DataFrame:
        """The trials as a table (one row per fit; the parameters as columns)."""
        rows = []
        for t in self.trials:
            row = {k: v for k, v in asdict(t).items() if k != "params"}
            row.update(t.params)
            rows.append(row)
        return pd.DataFrame(rows)


def lgb_params(candidate: Mapping[str, Any], *, columns: Sequence[str], monotone_constraints: Mapping[str, int],
               seed: int, num_threads: int) -> dict[str, Any]:
    """The LightGBM parameters of one candidate, exactly as :class:`models.PDClassifier` trains with them
    (binary objective, monotone constraints in column order, deterministic mode, fixed threads)."""
    clf = PDClassifier(**candidate, monotone_constraints=dict(monotone_constraints), random_state=seed,
                       n_jobs=num_threads)
    return clf.lgb_params([int(monotone_constraints.get(c, 0)) for c in columns])


def _fit(params: dict[str, Any], train: lgb.Dataset, val: lgb.Dataset, x_val: pd.DataFrame,
         y_val: np.ndarray, config: SearchConfig) -> tuple[int, float, float]:
    booster = lgb.train(params, train, num_boost_round=config.max_rounds, valid_sets=[val],
                        valid_names=["validation"],
                        callbacks=[lgb.early_stopping(config.early_stopping_rounds, verbose=False)])
    best = int(booster.best_iteration or booster.current_iteration())
    p = booster.predict(x_val, num_iteration=best)
    p = np.clip(p, 1e-15, 1 - 1e-15)
    logloss = float(-np.mean(y_val * np.log(p) + (1 - y_val) * np.log(1 - p)))
    return best, float(roc_auc_score(y_val, p)), logloss


def search_params(x_train: pd.DataFrame, y_train: np.ndarray, x_val: pd.DataFrame, y_val: np.ndarray, *,
                  monotone_constraints: Mapping[str, int], categorical: Sequence[str] = (),
                  config: SearchConfig | None = None) -> SearchResult:
    """Find LightGBM parameters and a tree count that score best on the validation vintages.

    Parameters
    ----------
    x_train, x_val : DataFrame
        Model inputs (same columns in the same order; categorical columns of ``category`` dtype).
    y_train, y_val : ndarray of int, shape (n,)
        Default within the horizon (0/1).
    monotone_constraints : mapping of str to int
        Feature name -> -1 / 0 / +1 (usually ``FeatureSpec.directions``); unlisted columns are free.
    categorical : sequence of str
        Names of the categorical columns.
    config : SearchConfig, optional
        Search size, stopping rules and seed.

    Raises
    ------
    TrainingError
        If the shapes disagree or a side has one class only.
    """
    config = config or SearchConfig()
    if list(x_train.columns) != list(x_val.columns):
        raise TrainingError("training and validation inputs have different columns: "
                            f"{list(x_train.columns)} vs {list(x_val.columns)}")
    unknown = sorted(set(monotone_constraints) - set(x_train.columns))
    if unknown:
        raise TrainingError(f"monotone_constraints name features that are not input columns: {', '.join(unknown)}")
    y_train = np.asarray(y_train, dtype=np.int64)
    y_val = np.asarray(y_val, dtype=np.int64)
    for name, y in (("training", y_train), ("validation", y_val)):
        if y.size == 0 or y.min() == y.max():
            raise TrainingError(f"the {name} rows need both defaults and non-defaults; got {y.size} rows "
                                f"with {int(y.sum())} defaults")
    rng = np.random.default_rng(config.seed)
    anchors = [dict(c) for c in ANCHOR_CANDIDATES[:config.n_candidates]]
    candidates = anchors + [config.space.draw(rng) for _ in range(config.n_candidates - len(anchors))]
    columns = list(x_train.columns)
    params_of = [lgb_params(c, columns=columns, monotone_constraints=monotone_constraints, seed=config.seed,
                            num_threads=config.num_threads) for c in candidates]
    # Binning as PDClassifier's Dataset gets it inside lgb.train (same seed, so the same rows are sampled
    # for the bin edges of a large training set); no pre-filter, so min_child_samples may vary per candidate.
    ds_params = {"max_bin": params_of[0]["max_bin"], "seed": config.seed, "feature_pre_filter": False,
                 "verbosity": -1, "num_threads": config.num_threads}
    full = lgb.Dataset(x_train, label=y_train, categorical_feature=list(categorical) or "auto",
                       params=ds_params, free_raw_data=False).construct()
    val = lgb.Dataset(x_val, label=y_val, reference=full, categorical_feature=list(categorical) or "auto",
                      params=ds_params, free_raw_data=False).construct()
    n = len(x_train)
    if config.subsample_rows < n:
        rows = np.sort(rng.choice(n, size=config.subsample_rows, replace=False))
        sub = full.subset(rows.tolist()).construct()
    else:
        sub = full
    trials: list[Trial] = []

    def run_rung(rung: int, data: lgb.Dataset, members: list[int]) -> None:
        for i in members:
            t0 = time.perf_counter()
            best, val_auc, val_ll = _fit(params_of[i], data, val, x_val, y_val, config)
            trial = Trial(candidate=i, rung=rung, rows=data.num_data(), params=candidates[i],
                          best_iteration=best, val_auc=val_auc, val_logloss=val_ll,
                          seconds=round(time.perf_counter() - t0, 2))
            log.info("search rung %d candidate %d: %d trees, validation AUC %.4f, log loss %.5f (%.1f s)",
                     rung, i, best, val_auc, val_ll, trial.seconds)
            trials.append(trial)

    run_rung(0, sub, list(range(len(candidates))))
    if sub is not full:  # rung 1 only when rung 0 saw a subsample; otherwise it would repeat rung 0
        ranked = sorted(trials, key=lambda t: (-t.val_auc, t.val_logloss, t.candidate))
        run_rung(1, full, sorted(t.candidate for t in ranked[:config.keep]))
    last = max(t.rung for t in trials)
    winner = min((t for t in trials if t.rung == last), key=lambda t: (-t.val_auc, t.val_logloss, t.candidate))
    return SearchResult(params=dict(winner.params), best_iteration=winner.best_iteration, trials=trials)
