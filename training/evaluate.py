"""Measuring the training recipe on any tape read through a mapping, beside the usual tools.

The recipe is the one of ``poolgate train``: model inputs from the feature specification (only the
features whose canonical inputs the tape maps) plus the mapping's extra features, the declared risk
directions from the specification and the mapping's ``monotone`` hints, and one model selection
(:mod:`training.select`): the additive logistic regression, the WoE scorecard, monotone trees from
stumps to LightGBM's defaults (deeper on large tapes) and trees boosted on the logistic regression,
every one validated the way the model is used (time-ordered when the mapping maps
``origination_date``, stratified folds otherwise); the winner is their stack (weights fitted to the
least validation log loss) when, with cross-fitted weights, it beats the logistic regression, which
otherwise wins alone; refitted on every training row and calibrated on its validation scores.

On the same split the same inputs also feed three challengers: LightGBM with default settings, a
logistic regression with its penalty chosen by cross-validation (median imputation, missing flags,
standardisation, one-hot categories) and the WoE logistic scorecard (:class:`models.WoEScorecard`).
Each is also a candidate of the selection in its directed form (``lightgbm_default``, ``linear``,
``woe``), so the recipe can lose to one only by validation noise or by the price of the directions,
which it reports: ``direction_cost`` on the selection's validation rows (the winner's parts with every
direction freed minus the winner) and ``direction_cost_test`` on the test rows (the freed parts fitted on
the training rows as the winner was, minus the recipe). The test-row figure is measured where the
challengers are: on Lending Club the validation rows put the price at 0.0007 and the test folds at 0.0032.
How large the noise is, each challenger says too: its AUC minus the recipe's on the same rows and the
standard error of that gap (DeLong's, paired; :func:`training.metrics.auc_gap`).

:func:`evaluate_holdout` fits on one tape and measures on another (e.g. later vintages);
:func:`evaluate_cv` runs stratified K-fold cross-validation with the whole recipe, selection
included, inside each training fold.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from features.contract import blank_sentinels
from features.exceptions import ConfigError, NotFittedError
from features.mapping import TARGET_VALUES_KEPT, ExtraFeature, MappedTape, extra_input_name, mapped_spec
from features.pipeline import FeatureBuilder
from features.spec import FeatureSpec, load_spec
from models import WoEScorecard
from models.calibration import CalibrationError
from training.errors import TrainingError
from training.metrics import auc, auc_gap, brier, gini, ks, mean_se
from training.select import KFOLD_BELOW_ROWS, Selection, select_model, validation_scheme

__all__ = [
    "EvaluateConfig",
    "MappedInputs",
    "Recipe",
    "challenger_pds",
    "dates_of",
    "evaluate_cv",
    "evaluate_holdout",
    "fit_recipe",
    "labelled",
    "out_of_range",
    "within_price_and_noise",
]

log = logging.getLogger(__name__)

CHALLENGERS = ("lightgbm_default", "logistic_tuned", "woe_scorecard")


@dataclass(frozen=True)
class EvaluateConfig:
    """Settings of an evaluation.

    Parameters
    ----------
    folds : int, default 5
        Folds of the outer cross-validation (without a test tape).
    validation_share : float, default 0.25
        Share of the training rows held out for the selection when there is one validation part
        (from ``cv_below_rows`` rows; fraction). With origination dates it is the latest rows.
    min_level_count : int, default 10
        Categorical levels seen fewer times in the training rows become missing (guards against
        high-cardinality columns on small samples).
    challengers : bool, default True
        Also fit and measure the three challengers.
    cv_below_rows : int, default 20,000
        With fewer training rows than this the candidates are validated on several folds
        (rolling-origin with dates, stratified without; :func:`training.select.validation_scheme`).
    inner_folds : int, default 5
        Folds of the stratified inner cross-validation (tapes without dates).
    num_threads : int, default 2
        LightGBM threads.
    max_rounds, early_stopping_rounds : int, default 2,000 and 100
        Most trees per candidate; rounds without a better validation log loss before stopping.
    """

    folds: int = 5
    validation_share: float = 0.25
    min_level_count: int = 10
    challengers: bool = True
    cv_below_rows: int = KFOLD_BELOW_ROWS
    inner_folds: int = 5
    num_threads: int = 2
    max_rounds: int = 2_000
    early_stopping_rounds: int = 100

    def __post_init__(self) -> None:
        if isinstance(self.folds, bool) or not isinstance(self.folds, int) or self.folds < 2:
            raise ConfigError(f"folds must be a whole number >= 2; got {self.folds!r}")
        if not 0.05 <= self.validation_share <= 0.5:
            raise ConfigError(f"validation_share must be between 0.05 and 0.5; got {self.validation_share!r}")
        if isinstance(self.min_level_count, bool) or not isinstance(self.min_level_count, int) \
                or self.min_level_count < 1:
            raise ConfigError(f"min_level_count must be a whole number >= 1; got {self.min_level_count!r}")
        if isinstance(self.inner_folds, bool) or not isinstance(self.inner_folds, int) or self.inner_folds < 2:
            raise ConfigError(f"inner_folds must be a whole number >= 2; got {self.inner_folds!r}")
        if not isinstance(self.cv_below_rows, int) or self.cv_below_rows < 0:
            raise ConfigError(f"cv_below_rows must be a whole number >= 0; got {self.cv_below_rows!r}")
        if isinstance(self.num_threads, bool) or not isinstance(self.num_threads, int) or self.num_threads < 1:
            raise ConfigError(f"num_threads must be a whole number >= 1; got {self.num_threads!r}")
        if self.max_rounds < 1 or self.early_stopping_rounds < 1:
            raise ConfigError(f"max_rounds and early_stopping_rounds must be >= 1; got {self.max_rounds}, "
                              f"{self.early_stopping_rounds}")


def _mapped_inputs(records: pd.DataFrame, extras: Sequence[ExtraFeature], spec: FeatureSpec | None
                   ) -> tuple[FeatureSpec | None, list[str]]:
    """:func:`features.mapping.mapped_spec` over the columns of ``records`` that are not all empty."""
    present = {c for c in records.columns if records[c].notna().any()}
    return mapped_spec(spec if spec is not None else load_spec(), present, extras)


class MappedInputs(TransformerMixin, BaseEstimator):
    """Model inputs from a mapped tape's records: specification features whose inputs are mapped, plus extras.

    The same inputs ``poolgate train --mapping`` builds (:func:`features.mapping.mapped_spec`): the
    specification cut to the features whose canonical inputs are present, each extra feature added
    as the model input ``x_<column>``, all computed by one :class:`features.pipeline.FeatureBuilder`.

    Parameters
    ----------
    spec : FeatureSpec, optional
        The feature specification (the shipped one when None).
    extras : sequence of ExtraFeature
        The mapping's extra features (source columns used as they are).
    min_level_count : int, default 1
        Categorical levels rarer than this at ``fit`` become missing.

    Attributes
    ----------
    spec_ : FeatureSpec
        The specification used: the computable features (those whose canonical inputs are present
        and not all empty at ``fit``) and the extras.
    builder_ : FeatureBuilder
    feature_names_out_ : list of str
    directions_ : dict of str to int
        Monotone direction of every input (0 for none).
    categorical_ : list of str
    dropped_ : list of str
        Specification features left out because their canonical inputs are not all present.
    """

    def __init__(self, spec: FeatureSpec | None = None, extras: Sequence[ExtraFeature] = (), *,
                 min_level_count: int = 1) -> None:
        self.spec = spec
        self.extras = extras
        self.min_level_count = min_level_count

    def _with_extra_columns(self, X: pd.DataFrame) -> pd.DataFrame:
        if not self.extras:
            return X
        extra = pd.DataFrame({extra_input_name(f.column): X[f.column] for f in self.extras}, index=X.index)
        return pd.concat([X.drop(columns=[c for c in extra.columns if c in X.columns]), extra], axis=1)

    def fit(self, X: pd.DataFrame, y: Any = None) -> MappedInputs:
        """Choose the computable features and learn categorical levels from ``X``."""
        full, dropped = _mapped_inputs(X, self.extras, self.spec)
        if dropped:  # evaluate says it once a run (_announce_inputs); a fold would repeat it
            log.debug("features not computable from the mapped fields (left out): %s", ", ".join(dropped))
        if full is None:
            raise ConfigError("no model input: the mapping maps no field a feature needs and declares no "
                              "[features]")
        self.spec_ = full
        self.builder_ = FeatureBuilder(full, min_level_count=self.min_level_count).fit(self._with_extra_columns(X))
        self.feature_names_out_ = list(full.names)
        self.directions_ = dict(full.directions)
        self.categorical_ = list(full.categorical)
        self.dropped_ = list(dropped)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Model inputs, columns :attr:`feature_names_out_`, categorical columns as ``category``."""
        if not hasattr(self, "feature_names_out_"):
            raise NotFittedError("MappedInputs.transform called before fit")
        return self.builder_.transform(self._with_extra_columns(X))


@dataclass
class Recipe:
    """A model fitted by the training recipe (:func:`fit_recipe`): the inputs and the selection."""

    inputs: MappedInputs
    selection: Selection
    n_fit: int

    def predict_pd(self, records: pd.DataFrame) -> np.ndarray:
        """Calibrated PD of each record, shape (n,)."""
        return self.selection.predict_pd(self.inputs.transform(records))

    def directions_freed(self, records: pd.DataFrame, y: np.ndarray) -> Callable[[pd.DataFrame], np.ndarray] | None:
        """The winner's parts with every direction freed, fitted on the same training records: a function
        of records giving their log-odds (:meth:`training.select.Selection.directions_freed`)."""
        score = self.selection.directions_freed(self.inputs.transform(records), y)
        if score is None:
            return None
        return lambda new: score(self.inputs.transform(new))

    def summary(self) -> dict[str, Any]:
        """The chosen model: winner, shape, trees, blend weights and the tree family's settings."""
        sel = self.selection
        trees = sel.trees if sel.tree_weight > 0 else None  # a winner without trees keeps them at weight 0
        return {**(sel.params if sel.tree_weight > 0 else {}), "winner": sel.winner, "kind": sel.kind,
                "trees": trees, "selection": sel.scheme.kind, "weights": sel.weights,
                "tree_weight": sel.tree_weight, "linear_weight": sel.linear_weight,
                "scorecard_weight": sel.scorecard_weight}


def _check_y(y: np.ndarray, what: str) -> None:
    if y.size == 0 or y.min() == y.max():
        raise TrainingError(f"the {what} need both defaults and non-defaults; got {y.size} rows with "
                            f"{int(y.sum())} defaults")


def dates_of(records: pd.DataFrame) -> pd.Series | None:
    """The records' origination dates when the mapping maps them (and some are filled), else None."""
    if "origination_date" not in records.columns or not records["origination_date"].notna().any():
        return None
    return records["origination_date"]


def fit_recipe(records: pd.DataFrame, y: np.ndarray, *, extras: Sequence[ExtraFeature] = (), seed: int = 0,
               config: EvaluateConfig | None = None, spec: FeatureSpec | None = None) -> Recipe:
    """Fit the training recipe on labelled records: every candidate validated as the model is used.

    The candidates, their early stopping, the blend weights and the calibration are chosen on
    time-ordered validation when the records carry origination dates, on stratified folds when they
    do not (:func:`training.select.validation_scheme`, :func:`training.select.select_model`).

    Parameters
    ----------
    records : DataFrame
        Mapped records (canonical fields and extra features).
    y : ndarray of 0/1, shape (n,)
    extras : sequence of ExtraFeature
    seed : int
        Seed of the folds and the models.
    config : EvaluateConfig, optional
    spec : FeatureSpec, optional
    """
    config = config or EvaluateConfig()
    y = np.asarray(y, dtype=np.int64)
    _check_y(y, "training rows")
    inputs = MappedInputs(spec, extras, min_level_count=config.min_level_count).fit(records)
    x = inputs.transform(records)
    scheme = validation_scheme(y, dates=dates_of(records), folds=config.inner_folds, seed=seed,
                               holdout_share=config.validation_share, kfold_below_rows=config.cv_below_rows)
    selection = select_model(x, y, scheme=scheme, directions=inputs.directions_, categorical=inputs.categorical_,
                             seed=seed, num_threads=config.num_threads, max_rounds=config.max_rounds,
                             early_stopping_rounds=config.early_stopping_rounds)
    return Recipe(inputs, selection, len(y))


def _logistic(x: pd.DataFrame, categorical: Sequence[str], seed: int) -> Any:
    numeric = [c for c in x.columns if c not in categorical]
    steps = []
    if numeric:
        steps.append(("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True,
                                                         keep_empty_features=True), StandardScaler()), numeric))
    if categorical:
        steps.append(("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="(missing)"),
                                           OneHotEncoder(handle_unknown="ignore", min_frequency=10)),
                      list(categorical)))
    return make_pipeline(ColumnTransformer(steps),
                         LogisticRegressionCV(Cs=10, l1_ratios=(0.0,), cv=5, scoring="roc_auc", max_iter=2000,
                                              random_state=seed, use_legacy_attributes=False))


def _as_object(x: pd.DataFrame, categorical: Sequence[str]) -> pd.DataFrame:
    out = x.copy()
    for c in categorical:
        out[c] = out[c].astype(object).where(out[c].notna(), np.nan)
    return out


def challenger_pds(records_train: pd.DataFrame, y_train: np.ndarray, records_test: pd.DataFrame, *,
                   extras: Sequence[ExtraFeature] = (), seed: int = 0, config: EvaluateConfig | None = None,
                   spec: FeatureSpec | None = None) -> dict[str, np.ndarray]:
    """PDs on the test records of the three challengers, fitted on every training row.

    Returns
    -------
    dict
        ``lightgbm_default``, ``logistic_tuned``, ``woe_scorecard`` -> ndarray of shape (n_test,).
    """
    config = config or EvaluateConfig()
    y_train = np.asarray(y_train, dtype=np.int64)
    inputs = MappedInputs(spec, extras, min_level_count=config.min_level_count).fit(records_train)
    x_train, x_test = inputs.transform(records_train), inputs.transform(records_test)
    out: dict[str, np.ndarray] = {}
    plain = lgb.LGBMClassifier(random_state=seed, n_jobs=config.num_threads, verbose=-1)
    plain.fit(x_train, y_train)
    out["lightgbm_default"] = np.asarray(plain.predict_proba(x_test))[:, 1]
    cat = inputs.categorical_
    logistic = _logistic(x_train, cat, seed).fit(_as_object(x_train, cat), y_train)
    out["logistic_tuned"] = logistic.predict_proba(_as_object(x_test, cat))[:, 1]
    card = WoEScorecard(directions=inputs.directions_, random_state=seed).fit(x_train, y_train)
    out["woe_scorecard"] = card.predict_pd(x_test)
    return out


def _metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    return {"auc": auc(y, p), "ks": ks(y, p), "gini": gini(y, p), "brier": brier(y, p)}


def labelled(tape: MappedTape, what: str) -> tuple[pd.DataFrame, np.ndarray, int]:
    """The rows of ``tape`` with a target, their 0/1 labels, and how many rows had none.

    Raises
    ------
    ConfigError
        If the tape has no target column (set ``target`` in the mapping or pass ``--target``).
    """
    if tape.target is None:
        where = f"{what} {tape.source}" if tape.source else what
        raise ConfigError(f"{where}: no target; name the default column with target = ... in the mapping "
                          "or --target")
    has = tape.target.notna().to_numpy()
    y = tape.target[has].to_numpy(dtype=np.int64)
    if y.size and y.min() == y.max() and tape.target_values:  # most often a positive list that misses
        where = f"{what} {tape.source}" if tape.source else what
        seen = ", ".join(f"{v!r} x{n:,}" for v, n in tape.target_values[:5])
        more = len(tape.target_values) - 5
        if more > 0:  # the tape keeps counts of the TARGET_VALUES_KEPT most frequent values only
            capped = len(tape.target_values) == TARGET_VALUES_KEPT
            seen += f" and {'at least ' if capped else ''}{more} more values"
        positive = json.dumps(list(tape.mapping.positive), ensure_ascii=False)
        every = bool(y[0])
        raise ConfigError(f"{where}: {'every' if every else 'no'} labelled row is a default: target "
                          f"{tape.mapping.target} holds {seen}, and positive = {positive} matches "
                          f"{'all' if every else 'none'} of them; list the values that mean default in the "
                          "mapping's positive = [...]")
    return tape.records[has], y, int((~has).sum())


def out_of_range(records: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Read sentinel codes in canonical numbers as missing (:func:`features.contract.sentinel_cells`).

    Tapes write codes into numeric columns: a bureau score of 0 for "no bureau history", 11 to 18
    for "not scored". They are no measurement, and a monotone model would read a score of 0 as the
    worst credit there is. The recipe reads them as missing, as ``poolgate train`` does (for a bureau
    score the thin-file flag then fires); every row is kept.

    Returns
    -------
    (DataFrame, dict)
        The records with those cells empty (the same object when there are none) and the number of
        cells emptied per field.
    """
    out, masks, refusals = blank_sentinels(records)
    for refused in refusals:
        log.warning("%s", refused)
    return out, {name: int(mask.sum()) for name, mask in masks.items()}


def _cleaned(records: pd.DataFrame, what: str) -> tuple[pd.DataFrame, dict[str, int]]:
    records, counts = out_of_range(records)
    if counts:
        log.warning("%s: sentinel codes outside the field's allowed range read as missing: %s", what,
                    ", ".join(f"{k} x{v}" for k, v in counts.items()))
    return records, counts


def _announce_inputs(records: pd.DataFrame, extras: Sequence[ExtraFeature], spec: FeatureSpec | None) -> None:
    """Log once a run which specification features the mapped fields cannot feed."""
    _, dropped = _mapped_inputs(records, extras, spec)
    if dropped:
        log.info("features not computable from the mapped fields (left out): %s", ", ".join(dropped))


def _direction_price(recipe: Recipe, records_train: pd.DataFrame, y_train: np.ndarray, records_test: pd.DataFrame,
                     y_test: np.ndarray, pd_test: np.ndarray) -> dict[str, float | None]:
    """The price of the directions on the test rows: the test AUC of the winner's parts with every direction
    freed (fitted on the training rows as the winner was) minus the recipe's, and its standard error
    (DeLong's, paired); None when none is declared."""
    free = recipe.directions_freed(records_train, y_train)
    if free is None:
        return {"direction_cost_test": None, "direction_cost_test_se": None}
    gap, var = auc_gap(y_test, free(records_test), pd_test)
    return {"direction_cost_test": round(gap, 6), "direction_cost_test_se": round(float(np.sqrt(var)), 6)}


def _gaps_to_recipe(y: np.ndarray, p_recipe: np.ndarray, pds: dict[str, np.ndarray]
                    ) -> dict[str, tuple[float, float]]:
    """Each challenger's AUC minus the recipe's on the same rows, and the variance of that gap (DeLong)."""
    return {name: auc_gap(y, q, p_recipe) for name, q in pds.items()}


def within_price_and_noise(gap: float, se: float, price_test: float | None) -> bool:
    """Whether a challenger's AUC gap above the recipe is explained by the price of the directions on the
    same test rows (a negative or missing price counts as 0) and two standard errors of the gap."""
    return gap <= max(price_test or 0.0, 0.0) + 2 * se


def _mean_or_none(values: Sequence[float | None]) -> float | None:
    """Mean of the values that are not None (rounded to 6 decimals), None when there are none."""
    present = [v for v in values if v is not None]
    return round(float(np.mean(present)), 6) if present else None


def _round(d: dict[str, float]) -> dict[str, float]:
    return {k: round(float(v), 6) for k, v in d.items()}


def evaluate_holdout(train: MappedTape, test: MappedTape, *, seed: int = 0,
                     config: EvaluateConfig | None = None, spec: FeatureSpec | None = None) -> dict[str, Any]:
    """Fit the recipe on ``train`` and measure it on ``test``; the challengers on the same rows.

    Returns
    -------
    dict
        ``auc_test``, ``ks_test``, ``gini_test``, ``brier_test``, ``n_train``, ``n_test``,
        ``default_rate_train``, ``default_rate_test``, ``n_unlabelled_train``, ``n_unlabelled_test``,
        ``out_of_range`` (``train``/``test`` -> field -> cells read as missing, :func:`out_of_range`),
        ``search`` (the winner's shape and settings), ``selection`` (the validation scheme, every
        candidate's validation AUC and log loss, the winner; :meth:`training.select.Selection.table`),
        ``direction_cost`` (validation AUC of the winner's parts with every direction freed minus with
        them; None when no direction is declared), ``direction_cost_test`` (the same price on the test
        rows: test AUC of the freed parts, fitted on the training rows, minus the recipe's), each with
        its standard error (``direction_cost_se``, ``direction_cost_test_se``; DeLong's, paired),
        ``challengers`` (name -> the same metrics, and ``gap_to_recipe_test``, its AUC minus the
        recipe's, with ``gap_to_recipe_se_test``, the standard error of that gap), ``seconds``.
    """
    config = config or EvaluateConfig()
    rec_train, y_train, skip_train = labelled(train, "training tape")
    rec_test, y_test, skip_test = labelled(test, "test tape")
    rec_train, range_train = _cleaned(rec_train, "training tape")
    rec_test, range_test = _cleaned(rec_test, "test tape")
    _check_y(y_test, "test rows")
    _announce_inputs(rec_train, train.mapping.features, spec)
    t0 = time.perf_counter()
    recipe = fit_recipe(rec_train, y_train, extras=train.mapping.features, seed=seed, config=config, spec=spec)
    p = recipe.predict_pd(rec_test)
    out: dict[str, Any] = {f"{k}_test": v for k, v in _round(_metrics(y_test, p)).items()}
    table = recipe.selection.table()
    out.update({"n_train": len(y_train), "n_test": len(y_test), "n_unlabelled_train": skip_train,
                "n_unlabelled_test": skip_test, "default_rate_train": round(float(y_train.mean()), 6),
                "default_rate_test": round(float(y_test.mean()), 6), "inputs": recipe.inputs.feature_names_out_,
                "out_of_range": {"train": range_train, "test": range_test},
                "search": recipe.summary(), "selection": table, "direction_cost": table["direction_cost"],
                "direction_cost_se": table["direction_cost_se"]})
    seconds = {"recipe": round(time.perf_counter() - t0, 2)}
    t0 = time.perf_counter()
    out.update(_direction_price(recipe, rec_train, y_train, rec_test, y_test, p))
    seconds["directions_freed"] = round(time.perf_counter() - t0, 2)
    if config.challengers:
        t0 = time.perf_counter()
        pds = challenger_pds(rec_train, y_train, rec_test, extras=train.mapping.features, seed=seed,
                             config=config, spec=spec)
        out["challengers"] = {name: {f"{k}_test": v for k, v in _round(_metrics(y_test, q)).items()}
                              for name, q in pds.items()}
        for name, (gap, var) in _gaps_to_recipe(y_test, p, pds).items():
            out["challengers"][name].update(gap_to_recipe_test=round(gap, 6),
                                            gap_to_recipe_se_test=round(float(np.sqrt(var)), 6))
        seconds["challengers"] = round(time.perf_counter() - t0, 2)
    out["seconds"] = seconds
    return out


def _selection_summary(tables: list[dict[str, Any]]) -> dict[str, Any]:
    """The folds' selections in brief: the scheme, the winners, each candidate's mean validation AUC,
    the mean price of the directions, and each direction that binds: in how many folds, at what mean
    price (:attr:`training.select.Selection.directions_binding`); the mean price's error is bounded
    from above (:func:`_overlapping_se`), as the folds' validation rows overlap."""
    names = list(dict.fromkeys(c["name"] for t in tables for c in t["candidates"]))
    by_name: dict[str, list[float]] = {}
    for t in tables:
        for c in t["candidates"]:
            by_name.setdefault(c["name"], []).append(c["auc"])
    winners: dict[str, int] = {}
    for t in tables:
        winners[t["winner"]] = winners.get(t["winner"], 0) + 1
    binding: dict[str, list[dict[str, Any]]] = {}
    for t in tables:
        for d in t.get("directions_binding", []):
            binding.setdefault(d["input"], []).append(d)
    # names built on a fold's best tree family (x+linear, blend_x_...) exist only in the folds that chose x
    return {"selection": {"scheme": tables[0]["scheme"]["kind"], "winners": winners,
                          "candidates_mean_validation_auc": {nm: round(float(np.mean(by_name[nm])), 6)
                                                             for nm in names if nm in by_name},
                          "candidates_folds": {nm: len(by_name[nm]) for nm in names if nm in by_name},
                          "directions_binding": sorted(
                              ({"input": nm, "direction": ds[0]["direction"], "folds": len(ds),
                                "price_mean": round(float(np.mean([d["price"] for d in ds])), 6)}
                               for nm, ds in binding.items()), key=lambda d: (-d["folds"], -d["price_mean"]))},
            "direction_cost": _mean_or_none([t["direction_cost"] for t in tables]),
            "direction_cost_se": _overlapping_se([t.get("direction_cost_se") for t in tables])}


def _overlapping_se(ses: list[float | None]) -> float | None:
    """An upper bound of the standard error of a mean of estimates made on overlapping rows: the mean of
    their errors (the error of a sum is at most the sum of the errors, whatever their correlation; equal
    only when they move together). None unless every estimate has one."""
    if not ses or any(s is None for s in ses):
        return None
    return round(float(np.mean(np.asarray(ses, dtype="float64"))), 6)


def evaluate_cv(tape: MappedTape, *, seed: int = 0, config: EvaluateConfig | None = None,
                spec: FeatureSpec | None = None) -> dict[str, Any]:
    """Stratified K-fold cross-validation of the recipe (selection nested in each training fold).

    Returns
    -------
    dict
        ``auc_mean``, ``auc_std``, ``ks_mean``, ``gini_mean``, ``brier_mean``, ``n``, ``folds`` (one
        dict a fold: ``fold``, ``n_train``, ``n_test``, ``auc``, ``ks``, ``gini``, ``brier``,
        ``challengers`` with each one's ``gap_to_recipe`` and ``gap_to_recipe_se``, ``seconds``),
        ``challengers`` (name -> ``auc_mean``, ``auc_std``, ``ks_mean``, ..., ``gap_to_recipe_mean`` and
        ``gap_to_recipe_se``, the standard error of that mean),
        ``n_unlabelled``, ``direction_cost`` (the mean of the selections' price of the directions on
        validation) and ``direction_cost_se`` (an upper bound of its standard error: the mean of the
        selections' errors, as their validation rows overlap), ``direction_cost_test`` (mean over the folds of the price on the test rows; each
        fold's is in ``folds``) and ``direction_cost_test_se`` (the standard error of that mean; each
        fold's selection has the error of its validation price),
        ``seconds`` (wall time of the recipe, of the freed parts and of the challengers, summed over the folds).
    """
    config = config or EvaluateConfig()
    records, y, skipped = labelled(tape, "tape")
    records, range_counts = _cleaned(records, "tape")
    _check_y(y, "labelled rows")
    if int(min(y.sum(), len(y) - y.sum())) < config.folds:
        raise TrainingError(f"{config.folds} folds need at least {config.folds} defaults and non-defaults; "
                            f"got {int(y.sum())} defaults in {len(y)} rows")
    _announce_inputs(records, tape.mapping.features, spec)
    folds: list[dict[str, Any]] = []
    gap_vars: dict[str, list[float]] = {}  # challenger -> each fold's variance of its gap to the recipe
    splitter = StratifiedKFold(n_splits=config.folds, shuffle=True, random_state=seed)
    for k, (tr, te) in enumerate(splitter.split(np.zeros(len(y)), y)):
        t0 = time.perf_counter()
        try:
            recipe = fit_recipe(records.iloc[tr], y[tr], extras=tape.mapping.features, seed=seed, config=config,
                                spec=spec)
        except CalibrationError as exc:  # most often a tape with a handful of defaults: say where and what helps
            raise CalibrationError(f"cross-validation fold {k + 1} of {config.folds}: {exc}; the tape holds "
                                   f"{int(y.sum())} defaults in {len(y)} labelled rows, too few for the recipe "
                                   "to rank rows it was not fitted on") from None
        p_test = recipe.predict_pd(records.iloc[te])
        row: dict[str, Any] = {"fold": k, "n_train": len(tr), "n_test": len(te),
                               **_round(_metrics(y[te], p_test)),
                               **{k: recipe.summary()[k] for k in ("trees", "weights")},
                               "selection": recipe.selection.table()}
        row["seconds"] = {"recipe": round(time.perf_counter() - t0, 2)}
        t1 = time.perf_counter()
        row |= _direction_price(recipe, records.iloc[tr], y[tr], records.iloc[te], y[te], p_test)
        row["seconds"]["directions_freed"] = round(time.perf_counter() - t1, 2)
        if config.challengers:
            t1 = time.perf_counter()
            pds = challenger_pds(records.iloc[tr], y[tr], records.iloc[te], extras=tape.mapping.features,
                                 seed=seed, config=config, spec=spec)
            row["challengers"] = {name: _round(_metrics(y[te], q)) for name, q in pds.items()}
            for name, (gap, var) in _gaps_to_recipe(y[te], p_test, pds).items():
                row["challengers"][name].update(gap_to_recipe=round(gap, 6),
                                                gap_to_recipe_se=round(float(np.sqrt(var)), 6))
                gap_vars.setdefault(name, []).append(var)
            row["seconds"]["challengers"] = round(time.perf_counter() - t1, 2)
        log.info("fold %d: AUC %.4f (%.1f s)", k, row["auc"], time.perf_counter() - t0)
        folds.append(row)

    def summary(values: list[dict[str, float]]) -> dict[str, float]:
        out = {}
        for metric in ("auc", "ks", "gini", "brier"):
            arr = np.array([v[metric] for v in values])
            out[f"{metric}_mean"] = round(float(arr.mean()), 6)
            out[f"{metric}_std"] = round(float(arr.std(ddof=1)), 6)
        return out

    result: dict[str, Any] = {**summary(folds), "n": len(y), "n_unlabelled": skipped,
                              "default_rate": round(float(y.mean()), 6), "out_of_range": range_counts,
                              "folds": folds, **_selection_summary([f["selection"] for f in folds]),
                              "seconds": {part: round(sum(f["seconds"].get(part, 0.0) for f in folds), 2)
                                          for part in ("recipe", "directions_freed", "challengers")}}
    result["direction_cost_test"] = _mean_or_none([f["direction_cost_test"] for f in folds])
    ses = [f["direction_cost_test_se"] for f in folds if f["direction_cost_test_se"] is not None]
    # the folds' test rows are disjoint: their variances add (the validation price's folds overlap, so
    # its top-level error is only bounded from above)
    result["direction_cost_test_se"] = round(mean_se(np.square(ses)), 6) if ses else None
    if config.challengers:
        result["challengers"] = {name: summary([f["challengers"][name] for f in folds]) for name in CHALLENGERS}
        for name, m in result["challengers"].items():  # folds are disjoint rows: their variances add
            gaps = [f["challengers"][name]["gap_to_recipe"] for f in folds]
            m["gap_to_recipe_mean"] = round(float(np.mean(gaps)), 6)
            m["gap_to_recipe_se"] = round(mean_se(gap_vars[name]), 6)
    return result
