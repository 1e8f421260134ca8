"""Small-sample selection of the recipe: inner cross-validation, simple candidates, a chosen WoE blend.

On a few thousand rows one held-out validation part is too noisy to choose a model: a 25 % part of
1,000 rows holds about 75 defaults, and the candidate that wins there is often not the best one.
:func:`search_cv` therefore scores every candidate by stratified K-fold cross-validation inside the
training rows (LightGBM's ``cv`` with early stopping on the mean held-out log loss):

* the candidates are fixed and simple (:data:`SMALL_CANDIDATES`): boosted stumps with strong
  shrinkage (an additive, scorecard-like model), 3- and 4-leaf trees, and two larger trees, all with
  the monotone constraints of the recipe;
* the winner has the best mean held-out AUC at its own best round; its tree count is scaled by
  ``K / (K - 1)`` and it is refitted on every training row;
* the out-of-fold log-odds of the winner and of the WoE scorecard (:class:`models.WoEScorecard`,
  fitted on the same inner folds) choose a blend weight ``w`` from :data:`BLEND_WEIGHTS` by
  out-of-fold AUC: ``score = w * boosted + (1 - w) * scorecard``; ``w = 1`` is the boosted model
  alone;
* the additive logistic regression (:class:`models.LinearScorecard`, its penalty chosen on the same
  inner folds) is scored the same way and replaces the blend (``partner = "linear"``, ``w = 0``)
  only when its out-of-fold AUC is higher by more than :data:`LINEAR_MARGIN`: where risk is close
  to linear in a few strong inputs and defaults are few, trees and bins cut a straight line into
  steps.

Platt calibration is fitted on the out-of-fold score of the chosen model.

Only training rows are used; the test rows of an evaluation are never seen.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from models import LinearScorecard, PlattCalibration, WoEScorecard, fit_platt
from models.linear import LINEAR_MARGIN
from training.errors import TrainingError
from training.search import lgb_params

__all__ = ["BLEND_WEIGHTS", "LINEAR_MARGIN", "SMALL_CANDIDATES", "SMALL_SAMPLE_ROWS", "CVCandidate", "CVSelection", "search_cv"]

log = logging.getLogger(__name__)

#: Below this many fitting rows the recipe chooses its model here (``poolgate train`` and ``evaluate``).
SMALL_SAMPLE_ROWS = 20_000

#: Candidates scored by inner cross-validation, simplest first (ties go to the simpler one).
SMALL_CANDIDATES: tuple[dict[str, Any], ...] = (
    {"num_leaves": 2, "min_child_samples": 20, "learning_rate": 0.02, "reg_lambda": 5.0,
     "colsample_bytree": 1.0, "subsample": 0.8},
    {"num_leaves": 2, "min_child_samples": 50, "learning_rate": 0.05, "reg_lambda": 1.0,
     "colsample_bytree": 0.8, "subsample": 0.8},
    {"num_leaves": 3, "min_child_samples": 30, "learning_rate": 0.02, "reg_lambda": 5.0,
     "colsample_bytree": 0.8, "subsample": 0.8},
    {"num_leaves": 4, "min_child_samples": 100, "learning_rate": 0.03, "reg_lambda": 1.0,
     "colsample_bytree": 0.8, "subsample": 0.8},
    {"num_leaves": 8, "min_child_samples": 50, "learning_rate": 0.02, "reg_lambda": 10.0,
     "colsample_bytree": 0.7, "subsample": 0.8},
    {"num_leaves": 16, "min_child_samples": 100, "learning_rate": 0.02, "reg_lambda": 10.0,
     "colsample_bytree": 0.7, "subsample": 0.8},
)

#: Weights of the boosted log-odds in the blend with the scorecard's log-odds (1.0: boosted alone).
BLEND_WEIGHTS: tuple[float, ...] = (1.0, 0.75, 0.5, 0.25, 0.0)


@dataclass(frozen=True)
class CVCandidate:
    """Inner cross-validation of one candidate."""

    candidate: int
    params: dict[str, Any]
    best_iteration: int
    cv_auc: float
    cv_auc_std: float
    cv_logloss: float
    seconds: float


@dataclass
class CVSelection:
    """The refitted winner, its blend with the scorecard and the calibration.

    Attributes
    ----------
    booster : lightgbm.Booster
        The winner refitted on every training row with ``trees`` trees.
    trees : int
        Trees of the refit (inner best round scaled by K / (K - 1)).
    scorecard : WoEScorecard
        The scorecard fitted on every training row (used when ``weight < 1``).
    weight : float
        Weight of the boosted log-odds in the blend (fraction; 1.0 = boosted alone).
    linear : LinearScorecard
        The additive logistic regression fitted on every training row.
    partner : {"scorecard", "linear"}
        What makes up the ``1 - weight`` part of the score (``linear`` only with ``weight`` 0).
    linear_oof_auc : float
        Out-of-fold AUC of the linear model.
    calibration : PlattCalibration
        Fitted on the out-of-fold blended score.
    params : dict
        The winner's settings.
    candidates : list of CVCandidate
    oof_auc : dict of float to float
        Out-of-fold AUC of every blend weight.
    oof_raw : ndarray, shape (n,)
        Out-of-fold blended log-odds of every training row at the chosen weight (what the
        calibration was fitted on; an honest held-out score of each row).
    """

    booster: lgb.Booster
    trees: int
    scorecard: WoEScorecard
    weight: float
    calibration: PlattCalibration
    params: dict[str, Any]
    candidates: list[CVCandidate]
    oof_auc: dict[float, float]
    oof_raw: np.ndarray
    linear: LinearScorecard
    partner: str
    linear_oof_auc: float

    @property
    def partner_model(self) -> WoEScorecard | LinearScorecard:
        """The model blended with the boosted trees."""
        return self.linear if self.partner == "linear" else self.scorecard

    def raw_score(self, x: pd.DataFrame) -> np.ndarray:
        """Blended log-odds before calibration, shape (n,)."""
        if self.weight == 0.0:  # the partner alone
            return np.asarray(self.partner_model.decision_function(x), dtype="float64")
        score = self.weight * np.asarray(self.booster.predict(x, raw_score=True), dtype="float64")
        if self.weight < 1.0:
            score = score + (1.0 - self.weight) * self.partner_model.decision_function(x)
        return score

    def predict_pd(self, x: pd.DataFrame) -> np.ndarray:
        """Calibrated PD, shape (n,)."""
        return self.calibration.predict(self.raw_score(x))


def _dataset(x: pd.DataFrame, y: np.ndarray, categorical: Sequence[str], seed: int, threads: int) -> lgb.Dataset:
    params = {"max_bin": 255, "seed": seed, "feature_pre_filter": False, "verbosity": -1, "num_threads": threads}
    return lgb.Dataset(x, label=y, categorical_feature=list(categorical) or "auto", params=params,
                       free_raw_data=False)


def search_cv(x: pd.DataFrame, y: np.ndarray, *, monotone_constraints: Mapping[str, int],
              directions: Mapping[str, int], categorical: Sequence[str] = (), folds: int = 5, seed: int = 0,
              max_rounds: int = 2_000, early_stopping_rounds: int = 100, num_threads: int = 2,
              candidates: Sequence[Mapping[str, Any]] = SMALL_CANDIDATES,
              blend_weights: Sequence[float] = BLEND_WEIGHTS, with_linear: bool = True) -> CVSelection:
    """Choose, refit and calibrate the recipe's model by inner cross-validation on the training rows.

    Parameters
    ----------
    x : DataFrame
        Model inputs of the training rows (categorical columns of ``category`` dtype).
    y : ndarray of 0/1, shape (n,)
    monotone_constraints : mapping of str to int
        Feature -> -1 / 0 / +1 for the boosted trees (categorical features must be 0 or absent).
    directions : mapping of str to int
        Feature -> risk direction for the scorecard's bin merging.
    categorical : sequence of str
    folds : int, default 5
        Inner folds.
    seed : int
    max_rounds, early_stopping_rounds : int
        Most trees per inner fit; rounds without a better mean held-out log loss before stopping.
    num_threads : int
    candidates : sequence of dict
        LightGBM settings in :class:`models.PDClassifier` terms.
    blend_weights : sequence of float
        Weights of the boosted log-odds tried against the scorecard's (fractions in [0, 1]).
    with_linear : bool, default True
        Also try the additive logistic regression in place of the blend (it is fitted either way).

    Raises
    ------
    TrainingError
        If a class has fewer rows than ``folds`` or no candidate is given.
    """
    y = np.asarray(y, dtype=np.int64)
    if min(int(y.sum()), int(len(y) - y.sum())) < folds:
        raise TrainingError(f"inner {folds}-fold cross-validation needs at least {folds} defaults and "
                            f"non-defaults; got {int(y.sum())} defaults in {len(y)} rows")
    if not candidates or not blend_weights:
        raise TrainingError("search_cv needs at least one candidate and one blend weight")
    columns = list(x.columns)
    splits = list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))
    data = _dataset(x, y, categorical, seed, num_threads)
    results: list[CVCandidate] = []
    oof_by: dict[int, np.ndarray] = {}
    for i, cand in enumerate(candidates):
        t0 = time.perf_counter()
        params = lgb_params(dict(cand), columns=columns, monotone_constraints=monotone_constraints, seed=seed,
                            num_threads=num_threads)
        params["metric"] = ["binary_logloss", "auc"]
        hist = lgb.cv(params, data, num_boost_round=max_rounds, folds=splits, return_cvbooster=True,
                      callbacks=[lgb.early_stopping(early_stopping_rounds, first_metric_only=True, verbose=False)])
        cvbooster: lgb.CVBooster = hist["cvbooster"]  # type: ignore[assignment]
        logloss: list[float] = hist["valid binary_logloss-mean"]  # type: ignore[assignment]
        aucs: list[float] = hist["valid auc-mean"]  # type: ignore[assignment]
        auc_std: list[float] = hist["valid auc-stdv"]  # type: ignore[assignment]
        best = len(logloss)  # the history ends at the best round when it stops early
        oof = np.zeros(len(y))
        for (_, held), booster in zip(splits, cvbooster.boosters, strict=True):
            oof[held] = booster.predict(x.iloc[held], raw_score=True, num_iteration=best)
        oof_by[i] = oof
        results.append(CVCandidate(i, dict(cand), best, float(aucs[-1]), float(auc_std[-1]), float(logloss[-1]),
                                   round(time.perf_counter() - t0, 2)))
        log.info("inner CV candidate %d: %d trees, AUC %.4f +- %.4f, log loss %.5f", i, best,
                 results[-1].cv_auc, results[-1].cv_auc_std, results[-1].cv_logloss)
    win = min(results, key=lambda r: (-round(r.cv_auc, 4), r.cv_logloss, r.candidate))
    card_oof = np.zeros(len(y))
    for fit_rows, held in splits:
        card = WoEScorecard(directions=dict(directions), random_state=seed).fit(x.iloc[fit_rows], y[fit_rows])
        card_oof[held] = card.decision_function(x.iloc[held])
    oof_auc = {float(w): float(roc_auc_score(y, w * oof_by[win.candidate] + (1 - w) * card_oof))
               for w in blend_weights}
    weight = max(oof_auc, key=lambda w: (round(oof_auc[w], 4), w))  # ties: more weight on the boosted trees
    linear = LinearScorecard(directions=dict(directions), random_state=seed).fit(x, y, cv=splits)
    lin_oof = np.zeros(len(y))
    for fit_rows, held in splits:
        lin = LinearScorecard(directions=dict(directions), C=linear.C_, random_state=seed)
        lin_oof[held] = lin.fit(x.iloc[fit_rows], y[fit_rows]).decision_function(x.iloc[held])
    linear_auc = float(roc_auc_score(y, lin_oof))
    partner = "scorecard"
    oof_raw = weight * oof_by[win.candidate] + (1 - weight) * card_oof
    best_blend = oof_auc[weight]
    if with_linear and linear_auc > best_blend + LINEAR_MARGIN:
        partner, weight, oof_raw = "linear", 0.0, lin_oof
    trees = max(1, round(win.best_iteration * folds / (folds - 1)))
    params = lgb_params(win.params, columns=columns, monotone_constraints=monotone_constraints, seed=seed,
                        num_threads=num_threads)
    booster = lgb.train(params, data, num_boost_round=trees)
    scorecard = WoEScorecard(directions=dict(directions), random_state=seed).fit(x, y)
    calibration = fit_platt(oof_raw, y)
    log.info("inner CV winner: candidate %d, %d trees after refit, blend weight %.2f with the %s (out-of-fold "
             "AUC: best blend with the scorecard %.4f, linear model %.4f)", win.candidate, trees, weight, partner,
             best_blend, linear_auc)
    return CVSelection(booster, trees, scorecard, weight, calibration, win.params, results, oof_auc, oof_raw,
                       linear, partner, linear_auc)
