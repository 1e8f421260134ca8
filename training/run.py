"""A training run: labels -> out-of-time split -> selection -> evaluation -> MLflow -> challenger.

The model is chosen by :mod:`training.select` on the training and validation vintages, validated the
way it will be used: on later vintages than those it was fitted on. From
:attr:`RunConfig.cv_below_rows` rows (training plus validation vintages) the validation vintages are
the one validation part; below, rolling-origin folds over the origination dates of both parts. The
candidates (the logistic regression, the WoE scorecard, monotone trees from stumps to LightGBM's
defaults and deeper on large books, trees boosted on the logistic regression) all keep the
declared risk directions; the winner, their stack (weights fitted to the least validation log
loss), is refitted on both parts and calibrated on its validation scores, and the price of the directions is measured (``direction_cost_validation``, and on the test vintages ``direction_cost_oot``).
``poolgate evaluate`` runs the same selection (:mod:`training.evaluate`).

:func:`fit_and_evaluate` does the work and returns plain objects (no MLflow); :func:`train_run`
adds the edge: it logs the outcome with :mod:`training.tracking`, registers the model and gives
the new version the ``challenger`` alias with :mod:`training.registry`.
"""

from __future__ import annotations

import logging
import math
import os
import time
import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from features.exceptions import ConfigError
from features.io import TapeBatches
from features.labels import default_labels
from features.pipeline import FeatureBuilder
from features.spec import FeatureSpec, load_spec
from models import LeaseModel, ScoreScaling
from models.population import population_profile
from training import plots
from training.errors import TrainingError
from training.evaluation import Evaluation, evaluate_model
from training.metrics import auc, auc_gap, calibration_error, psi, psi_by_feature, summary_metrics
from training.search import SearchConfig, SearchResult, Trial
from training.select import KFOLD_BELOW_ROWS, Selection, select_model, validation_scheme
from training.splits import SplitConfig, VintageSplit, split_by_vintage

__all__ = ["RunConfig", "RunResult", "TrainingOutcome", "fit_and_evaluate", "labels_from_target", "scaling_from_policy",
           "train_run"]

log = logging.getLogger(__name__)

MODEL_NAME = "poolgate-pd"


@dataclass(frozen=True)
class RunConfig:
    """Settings of a training run (the seed is given separately and overrides ``search.seed``).

    Parameters
    ----------
    split : SplitConfig
        Out-of-time split by vintage.
    search : SearchConfig
        Hyperparameter search.
    horizon_months : int
        Default horizon of the labels, months. Default 24.
    dpd_threshold : int
        Days past due that count as default. Default 90.
    with_scorecard : bool
        Keep the WoE scorecard challenger in the bundle and report it side by side. Default True.
    shap_sample : int
        Out-of-time rows explained for the SHAP summary plot. Default 2,000.
    sweep_assets : int
        Assets in the monotonicity sweep. Default 200.
    cv_below_rows : int
        With fewer training plus validation rows than this, the candidates are validated on
        rolling-origin folds over the origination dates instead of the validation vintages alone
        (:func:`training.select.validation_scheme`). Default 20,000.
    inner_folds : int
        Folds of the stratified scheme, used only when the dates give no usable rolling-origin
        block. Default 5.
    min_level_count : int
        Categorical levels seen fewer times in the fitting rows become missing. Default 10.
    """

    split: SplitConfig = field(default_factory=SplitConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    horizon_months: int = 24
    dpd_threshold: int = 90
    with_scorecard: bool = True
    shap_sample: int = 2_000
    sweep_assets: int = 200
    cv_below_rows: int = KFOLD_BELOW_ROWS
    inner_folds: int = 5
    min_level_count: int = 10


@dataclass
class TrainingOutcome:
    """Everything a run computed, before anything is logged.

    Attributes
    ----------
    model : LeaseModel
        The fitted model (challenger scorecard inside when trained); its ``metadata["population"]``
        holds the profile of the training rows (:func:`models.population.population_profile`).
    split : VintageSplit
        The train / validation / test parts.
    search : SearchResult
        The winner and every trial.
    oot : Evaluation
        The model on the test (out-of-time) vintages.
    metrics : dict
        Flat metric name -> value (``auc_oot``, ``ks_oot``, ``brier_oot``, ``calibration_error_oot``,
        ``auc_oracle_oot`` with a truth table, ``scorecard_auc_oot``, ...).
    params : dict
        Flat parameter name -> value, as logged.
    tables : dict
        Name -> frame (deciles, AUC by vintage, PSI by feature, search trials, side-by-side).
    figures : dict
        Name -> matplotlib figure (roc, ks, calibration, shap_summary).
    seed : int
        The run's seed.
    seconds : dict
        Wall time of each stage, seconds.
    """

    model: LeaseModel
    split: VintageSplit
    search: SearchResult
    oot: Evaluation
    metrics: dict[str, float]
    params: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    figures: dict[str, Figure]
    seed: int
    seconds: dict[str, float]

    def oot_frame(self) -> pd.DataFrame:
        """Test records with ``default`` and ``vintage`` columns (what promotion re-scores)."""
        frame = self.split.test.records.copy()
        frame["default"] = self.split.test.y
        frame["vintage"] = self.split.test.vintage
        return frame


@dataclass(frozen=True)
class RunResult:
    """What :func:`train_run` hands back (and ``poolgate train --json`` prints).

    Attributes
    ----------
    run_id : str
        MLflow run id.
    model_uri : str
        Registry URI of the new version (``models:/poolgate-pd/3``).
    model_version : str
        Registered version number.
    metrics : dict
        The run's metrics.
    params : dict
        The run's parameters.
    experiment : str
        MLflow experiment name.
    seconds : dict
        Wall time of each stage (labels_split, search, fit, evaluate, plots, mlflow), seconds;
        ``search_directions_binding`` is the part of ``search`` that priced the binding directions.
    """

    run_id: str
    model_uri: str
    model_version: str
    metrics: dict[str, float]
    params: dict[str, Any]
    experiment: str
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (NaN metrics become None)."""
        out = asdict(self)
        out["metrics"] = {k: (None if isinstance(v, float) and math.isnan(v) else v)
                          for k, v in self.metrics.items()}
        return out


def scaling_from_policy(path: str | os.PathLike[str]) -> ScoreScaling:
    """Score scaling from the ``[score]`` table of a policy TOML (``base_score``, ``base_odds``, ``pdo``).

    Raises
    ------
    ConfigError
        If the file cannot be read or the table lacks a key.
    """
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the policy's [score] table: {exc}") from None
    table = data.get("score", {})
    missing = [k for k in ("base_score", "base_odds", "pdo") if k not in table]
    if missing:
        raise ConfigError(f"{path}: [score] lacks {', '.join(missing)} (needed for the score scaling)")
    return ScoreScaling(base_score=float(table["base_score"]), base_odds=float(table["base_odds"]),
                        pdo=float(table["pdo"]))


def _truth_pd(truth: pd.DataFrame, contract_ids: pd.Series) -> np.ndarray:
    for col in ("contract_id", "pd_24m"):
        if col not in truth.columns:
            raise TrainingError(f"truth table lacks column {col!r}; it needs contract_id and pd_24m")
    pd_true = pd.to_numeric(truth.drop_duplicates("contract_id").set_index("contract_id")["pd_24m"],
                            errors="coerce").reindex(contract_ids.astype(str)).to_numpy(dtype=float)
    if np.isnan(pd_true).any():
        where = contract_ids.iloc[int(np.argmax(np.isnan(pd_true)))]
        raise TrainingError(f"truth table has no pd_24m for contract {where!r} of the out-of-time rows")
    return pd_true


def _flat(prefix: str, values: dict[str, Any]) -> dict[str, Any]:
    return {f"{prefix}{k}": v for k, v in values.items()}


def fit_and_evaluate(book: pd.DataFrame, performance: pd.DataFrame | TapeBatches | None, *,
                     truth: pd.DataFrame | None = None, seed: int = 0, config: RunConfig | None = None, spec: FeatureSpec | None = None,
                     scaling: ScoreScaling | None = None, labels: pd.DataFrame | None = None) -> TrainingOutcome:
    """Train and measure a model on a book and its performance history (no MLflow).

    Parameters
    ----------
    book : DataFrame
        Canonical lease records (typed, e.g. from :func:`features.contract.check_lease_tape`).
    performance : DataFrame, TapeBatches or None
        Monthly performance history of the same contracts (labels: default within the horizon), whole
        or read in batches (:func:`training.data.read_training_data`).
    labels : DataFrame, optional
        Ready labels instead of the history: ``contract_id``, ``default`` (0/1) and ``observed``
        (bool), e.g. from a mapped tape's target (:func:`labels_from_target`).
    truth : DataFrame, optional
        Generator truth with ``contract_id`` and ``pd_24m`` (the oracle PD); adds the oracle
        metrics on the same out-of-time rows.
    seed : int, default 0
        Seed of the search, the model and every sample drawn.
    config : RunConfig, optional
        Split, search and reporting settings.
    spec : FeatureSpec, optional
        Feature specification (the shipped one when omitted).
    scaling : ScoreScaling, optional
        Score scaling stored with the model.

    Raises
    ------
    TrainingError
        If the book cannot be split or a part has one class only.
    """
    config = config or RunConfig()
    search_config = replace(config.search, seed=seed)
    spec = spec or load_spec()
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    if labels is None:
        if performance is None:
            raise TrainingError("training needs labels: a performance history, or a target column read "
                                "through a mapping")
        labels = default_labels(performance, horizon_months=config.horizon_months,
                                dpd_threshold=config.dpd_threshold)
        label_source = f"{config.dpd_threshold}+ dpd within {config.horizon_months} months (performance history)"
    else:
        label_source = "target column of the tape"
    split = split_by_vintage(book, labels, config.split)
    log.info("split: %s", split.summary())
    seconds["labels_split"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    model, selection, p_val, fit_records, fit_y = _select(split, spec=spec, scaling=scaling, seed=seed,
                                                          config=config)
    search = _as_search(selection, len(fit_records))
    seconds["search"], seconds["fit"] = time.perf_counter() - t0, 0.0
    seconds["search_directions_binding"] = selection.seconds.get("directions_binding", 0.0)  # within search
    validated = ~np.isnan(p_val)

    t0 = time.perf_counter()
    test = split.test
    oot = evaluate_model(model, test.records, test.y, test.vintage, sweep_assets=config.sweep_assets, seed=seed)
    metrics: dict[str, float] = {f"{k}_oot": v for k, v in oot.metrics.items()}
    x_fit_model = model.transform(fit_records)
    p_fit = model.predict_pd_inputs(x_fit_model)
    # The training population in a few kilobytes, saved with the bundle: screening reports draw the
    # pool against it and compute each input's PSI without the training data.
    model.metadata["population"] = population_profile(x_fit_model, p_fit, model.score(p_fit))
    metrics.update({f"{k}_validation": v
                    for k, v in summary_metrics(split.validation.y[validated], p_val[validated]).items()})
    if selection.direction_cost is not None:
        metrics["direction_cost_validation"] = selection.direction_cost
    if selection.direction_cost_se is not None:
        metrics["direction_cost_validation_se"] = selection.direction_cost_se
    x_test = model.transform(test.records)
    # the same price out of time: the winner's parts freed, fitted on the same rows, on the test vintages
    freed = selection.directions_freed(x_fit_model, fit_y)
    if freed is not None:
        metrics["direction_cost_oot"], var = auc_gap(test.y, freed(x_test), oot.pd)
        metrics["direction_cost_oot_se"] = float(np.sqrt(var))
    metrics["auc_train"] = auc(split.train.y, p_fit[:len(split.train)])
    metrics["psi_pd_train_oot"] = psi(p_fit[:len(split.train)], oot.pd)
    metrics.update({f"auc_oot_vintage_{v}": a for v, a in oot.auc_by_vintage.items()})
    psi_features = psi_by_feature(x_fit_model.iloc[:len(split.train)], x_test)
    metrics.update({f"psi_oot_{k}": v for k, v in psi_features.items()})

    pds: dict[str, np.ndarray] = {"LightGBM": oot.pd}
    side = {"lightgbm": oot.metrics}
    if model.scorecard is not None:
        p_card = model.scorecard.predict_pd(x_test)
        card = summary_metrics(test.y, p_card)
        metrics.update({f"scorecard_{k}_oot": v for k, v in card.items()})
        pds["WoE scorecard"] = p_card
        side["scorecard"] = card
    if truth is not None:
        p_true = _truth_pd(truth, test.records["contract_id"])
        oracle = summary_metrics(test.y, p_true)
        metrics.update({"auc_oracle_oot": oracle["auc"], "ks_oracle_oot": oracle["ks"],
                        "brier_oracle_oot": oracle["brier"],
                        "calibration_error_oracle_oot": calibration_error(test.y, p_true),
                        "auc_gap_oracle_oot": oracle["auc"] - metrics["auc_oot"]})
        pds["oracle (true PD)"] = p_true
        side["oracle"] = oracle
    seconds["evaluate"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(len(test), size=min(config.shap_sample, len(test)), replace=False))
    explanation = model.explain_inputs(x_test.iloc[take])
    figures = {
        "roc": plots.roc_figure(test.y, pds),
        "ks": plots.ks_figure(test.y, oot.pd),
        "calibration": plots.calibration_figure(test.y, pds),
        "shap_summary": plots.shap_summary_figure(explanation.contributions, x_test.iloc[take], seed=seed),
    }
    seconds["plots"] = time.perf_counter() - t0
    tables = {
        "deciles_oot": oot.deciles,
        "auc_by_vintage_oot": pd.DataFrame({"vintage": list(oot.auc_by_vintage),
                                            "auc": list(oot.auc_by_vintage.values())}),
        "psi_by_feature_train_oot": pd.DataFrame({"feature": list(psi_features),
                                                  "psi": list(psi_features.values())}),
        "search_trials": search.trials_frame(),
        "selection": pd.DataFrame([c.to_dict() for c in selection.candidates]),
        "models_side_by_side_oot": pd.DataFrame(side).T.rename_axis("model").reset_index(),
        "monotonicity_sweep_oot": oot.monotonicity,
        "mean_abs_shap_oot": explanation.contributions.abs().mean().sort_values(ascending=False)
        .rename_axis("feature").reset_index(name="mean_abs_contribution"),
    }
    run_params: dict[str, Any] = {
        "seed": seed,
        "horizon_months": config.horizon_months,
        "dpd_threshold": config.dpd_threshold,
        "labels.source": label_source,
        **_flat("model.", search.params),
        "model.best_iteration": int(model.metadata.get("best_iteration", search.best_iteration)),
        "model.selection": selection.scheme.kind,
        "model.winner": selection.winner,
        "model.refit": bool(model.metadata.get("n_refit")),
        "model.blend_weight": model.blend_weight,
        "model.linear_weight": model.linear_weight,
        "model.scorecard_weight": model.scorecard_weight,
        "model.kind": model.model_kind,
        "calibration.a": model.calibration.a,
        "calibration.b": model.calibration.b,
        **_flat("split.", asdict(config.split)),
        **_flat("selection.", {k: v for k, v in asdict(search_config).items()
                               if k in ("max_rounds", "early_stopping_rounds", "num_threads")}),
        "spec.version": spec.version,
        "spec.digest": spec.digest,
        "rows.book": len(book),
        "rows.train": len(split.train),
        "rows.validation": len(split.validation),
        "rows.fit": len(fit_records),
        "rows.test": len(test),
        **_flat("rows.left_out.", split.left_out),
        "vintages.train": ",".join(split.train.vintages),
        "vintages.validation": ",".join(split.validation.vintages),
        "vintages.test": ",".join(split.test.vintages),
    }
    return TrainingOutcome(model=model, split=split, search=search, oot=oot, metrics=metrics, params=run_params,
                           tables=tables, figures=figures, seed=seed, seconds=seconds)


def _select(split: VintageSplit, *, spec: FeatureSpec, scaling: ScoreScaling | None, seed: int,
            config: RunConfig) -> tuple[LeaseModel, Selection, np.ndarray, pd.DataFrame, np.ndarray]:
    """Choose the model on the training and validation vintages, validated time-ordered.

    From :attr:`RunConfig.cv_below_rows` rows the validation vintages are the one validation part;
    below, rolling-origin folds over the origination dates of both parts
    (:func:`training.select.validation_scheme`). The winner is refitted on both parts.

    Returns the model, the selection, the calibrated validation-fold PDs of the validation vintages
    (NaN where a row was never validated), and the records the model was fitted on with their labels.
    """
    records = pd.concat([split.train.records, split.validation.records], ignore_index=True)
    y = np.concatenate([split.train.y, split.validation.y]).astype(np.int64)
    mask = np.r_[np.zeros(len(split.train), dtype=bool), np.ones(len(split.validation), dtype=bool)]
    builder = FeatureBuilder(spec, min_level_count=config.min_level_count).fit(records)
    x = builder.transform(records)
    scheme = validation_scheme(y, dates=records["origination_date"], validation_mask=mask,
                               folds=config.inner_folds, seed=seed, kfold_below_rows=config.cv_below_rows)
    log.info("selection: %s", scheme.detail)
    sel = select_model(x, y, scheme=scheme, directions=builder.spec_.directions,
                       categorical=builder.spec_.categorical, seed=seed, num_threads=config.search.num_threads,
                       max_rounds=config.search.max_rounds,
                       early_stopping_rounds=config.search.early_stopping_rounds)
    metadata = {
        "n_train": len(split.train),
        "n_valid": len(split.validation),
        "default_rate_train": float(split.train.y.mean()),
        "default_rate_valid": float(split.validation.y.mean()),
        "best_iteration": sel.trees,
        "selection": sel.scheme.kind,
        "selection_table": sel.table(timings=False),   # wall times would change the bundle's digest
        "blend_weight": sel.tree_weight,
        "linear_weight": sel.linear_weight,
        "scorecard_weight": sel.scorecard_weight,
        "stack_weights": sel.weights,
        "params": {**sel.params, "n_estimators": sel.trees},
        "monotone_constraints": {k: v for k, v in builder.spec_.directions.items() if v},
        "spec_digest": builder.spec_.digest,
        "n_refit": len(y),
        "refit_levels": True,
    }
    scorecard = sel.scorecard if config.with_scorecard or sel.scorecard_weight else None
    model = LeaseModel(builder, sel.booster, sel.calibration, scaling, scorecard, metadata,
                       blend_weight=sel.tree_weight, linear=sel.linear if sel.linear_weight else None,
                       linear_weight=sel.linear_weight, scorecard_weight=sel.scorecard_weight)
    raw_val = sel.oof_raw[len(split.train):]
    p_val = np.full(len(raw_val), np.nan)
    ok = ~np.isnan(raw_val)
    p_val[ok] = sel.calibration.predict(raw_val[ok])
    return model, sel, p_val, records, y


def _as_search(sel: Selection, rows: int) -> SearchResult:
    """The selection's candidates as the run's ``search_trials`` table (rung 0, validation AUC and log loss)."""
    trials = [Trial(i, 0, rows, {"name": c.name, "kind": c.kind}, c.trees, c.auc, c.log_loss, c.seconds)
              for i, c in enumerate(sel.candidates)]
    return SearchResult(dict(sel.params), sel.trees, trials)


def train_run(book: pd.DataFrame, performance: pd.DataFrame | TapeBatches | None, *,
              truth: pd.DataFrame | None = None, experiment: str = "poolgate", seed: int = 0, config: RunConfig | None = None,
              model_name: str = MODEL_NAME, policy_path: str | os.PathLike[str] | None = None,
              spec: FeatureSpec | None = None, source: str | None = None,
              labels: pd.DataFrame | None = None) -> RunResult:
    """Train, measure, log to MLflow, register and mark the new version ``challenger``.

    Tracking goes where MLflow points by default (``sqlite:///mlflow.db`` in the working folder)
    or to ``MLFLOW_TRACKING_URI``; nothing here sets it.

    Parameters
    ----------
    book, performance, truth, seed, config, spec, labels
        As :func:`fit_and_evaluate`.
    experiment : str, default "poolgate"
        MLflow experiment name (created when missing).
    model_name : str, default "poolgate-pd"
        Registered model name.
    policy_path : path, optional
        Policy TOML logged with the model (its ``[score]`` table sets the score scaling); the
        screening default ``scoring/default_policy.toml`` when omitted.
    source : str, optional
        Where the book came from (a path), recorded with the datasets.
    """
    from training import registry, tracking

    policy = Path(policy_path) if policy_path is not None else tracking.default_policy_path()
    outcome = fit_and_evaluate(book, performance, truth=truth, seed=seed, config=config, spec=spec,
                               scaling=scaling_from_policy(policy), labels=labels)
    if performance is not None:   # the PD at the cut-off, from snapshots of the book (training.forward)
        from training.forward import attach_forward
        attach_forward(outcome, book, performance, truth=truth, seed=seed)
    t0 = time.perf_counter()
    logged = tracking.log_training_run(outcome, experiment=experiment, model_name=model_name,
                                       policy_path=policy, source=source)
    registry.mark_challenger(model_name, logged.model_version, run_id=logged.run_id,
                             metrics={k: outcome.metrics[k] for k in registry.HEADLINE_METRICS
                                      if k in outcome.metrics})
    seconds = {**{k: round(v, 2) for k, v in outcome.seconds.items()},
               "mlflow": round(time.perf_counter() - t0, 2)}
    return RunResult(run_id=logged.run_id, model_uri=f"models:/{model_name}/{logged.model_version}",
                     model_version=logged.model_version, metrics=outcome.metrics, params=outcome.params,
                     experiment=experiment, seconds=seconds)


def labels_from_target(contract_ids: pd.Series, target: pd.Series) -> pd.DataFrame:
    """Labels for :func:`fit_and_evaluate` from a tape's own 0/1 target, one per row.

    Parameters
    ----------
    contract_ids : Series
        ``contract_id`` of every row of the tape.
    target : Series
        0/1 outcome of the same rows (empty: unlabelled, left out of training).

    Rows whose ``contract_id`` repeats get no label: a label must name one contract, and the data
    contract makes those rows invalid anyway (rule ``unique``), so they are left out of training and
    counted there.

    Raises
    ------
    TrainingError
        If no row is labelled.
    """
    ids = contract_ids.astype("string").reset_index(drop=True)
    values = pd.Series(target).reset_index(drop=True)
    frame = pd.DataFrame({"contract_id": ids.astype(str).to_numpy(),
                          "default": values.fillna(0).astype(np.int64).to_numpy(),
                          "observed": values.notna().to_numpy(dtype=bool)})
    frame = frame[~ids.duplicated(keep=False).to_numpy()]
    if not frame["observed"].any():
        raise TrainingError(f"no row of {len(values)} has both a target value and a contract_id of its own; "
                            "nothing to train on")
    return frame.reset_index(drop=True)
