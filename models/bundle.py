"""The fitted default model as one object and one folder: :class:`LeaseModel`.

A bundle is the feature builder, the booster, the Platt calibration, the score scaling, an optional
WoE scorecard challenger, an optional additive logistic regression, the blend weight and partner, and
a metadata dict. The raw score is the booster's log-odds, or with a blend weight ``w < 1`` (chosen by
the recipe's model selection, :mod:`training.select`) ``w * booster + (1 - w) * partner`` log-odds,
where the partner is the scorecard or the logistic regression, or (large samples) ``booster +
linear`` with the trees boosted on top of the logistic regression's log-odds; in general ``w *
booster + v * partner`` with ``v = partner_weight``; a stack of the selection weighs the trees, the
logistic regression and the scorecard at once (``booster + a * linear + b * scorecard``, the trees'
own weights held in the booster's leaves). Every part is additive, so the explanations stay exact.
On disk it is a folder of text files only:

- ``booster.txt``: LightGBM model text (raw log-odds output);
- ``bundle.json``: builder parameters (the feature specification included), feature names,
  calibration, scaling, metadata and the SHA-256 of the other files;
- ``scorecard.json``: the challenger, when there is one;
- ``linear.json``: the logistic regression, when there is one;
- ``forward/``: the forward model (:mod:`models.hazard`: ``forward.json`` and LightGBM text and
  logistic JSON per hazard), when the model was trained with snapshots.

Loading parses text and JSON; it never unpickles anything.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError

from features.exceptions import ConfigError
from features.io import atomic_write, write_json
from features.pipeline import FeatureBuilder
from features.spec import FeatureSpec
from models.calibration import PlattCalibration, fit_platt
from models.explain import Explanation, contributions
from models.pd_model import PDClassifier
from models.scaling import ScoreScaling

if TYPE_CHECKING:
    from models.hazard import ForwardModel
    from models.linear import LinearScorecard
    from models.scorecard import WoEScorecard

__all__ = ["BUNDLE_FORMAT", "READABLE_FORMATS", "LeaseModel", "fit_lease_model"]

log = logging.getLogger(__name__)

BUNDLE_FORMAT = "poolgate.LeaseModel/2"
#: Formats :meth:`LeaseModel.load` reads. A bundle whose score uses the logistic regression or an
#: explicit partner weight is written as ``/2``, so an older poolgate refuses it instead of scoring the
#: trees alone; others are still written as ``/1``.
READABLE_FORMATS = ("poolgate.LeaseModel/1", "poolgate.LeaseModel/2", "poolgate.LeaseModel/3",
                    "poolgate.LeaseModel/4")
#: A bundle with a forward model (``forward/``, :mod:`models.hazard`) is written as ``/3``, so an older
#: poolgate refuses it instead of screening on the origination PD alone.
FORWARD_BUNDLE_FORMAT = "poolgate.LeaseModel/3"
#: A stack (both the logistic regression and the scorecard in the score, ``linear_weight`` and
#: ``scorecard_weight``) is written as ``/4``, so an older poolgate refuses it instead of reading one part.
STACK_BUNDLE_FORMAT = "poolgate.LeaseModel/4"
_FORWARD_DIR = "forward"
_BOOSTER, _BUNDLE, _SCORECARD, _LINEAR = "booster.txt", "bundle.json", "scorecard.json", "linear.json"
PARTNERS = ("scorecard", "linear")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _write_text(path: Path, text: str) -> str:
    """Write ``text`` to ``path`` atomically; return its SHA-256."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return _sha256(text)


class LeaseModel:
    """A fitted default model: canonical records in, PD, score points and explanations out.

    Parameters
    ----------
    builder : FeatureBuilder
        Fitted feature builder.
    booster : lightgbm.Booster
        Trees trained on ``builder``'s output; raw log-odds output.
    calibration : PlattCalibration
        ``pd = sigmoid(a + b * raw)``.
    scaling : ScoreScaling, optional
        PD <-> points; the default 600 points at odds 50 : 1, 20 points to double the odds.
    scorecard : WoEScorecard, optional
        The transparent challenger, fitted on the same model inputs.
    metadata : dict, optional
        JSON-safe training facts (rows, default rates, parameters, ...). Callers may add keys.
    blend_weight : float, default 1.0
        Weight ``w`` of the booster's log-odds in the raw score (fraction in [0, 1]); below 1 the
        partner's log-odds make up the rest, so the partner is then required.
    linear : LinearScorecard, optional
        An additive logistic regression on the same model inputs.
    partner : {"scorecard", "linear"}, default "scorecard"
        The model blended with the booster when ``blend_weight < 1``.
    partner_weight : float, optional
        Weight of the partner's log-odds (fraction in [0, 1]); ``1 - blend_weight`` when omitted.
        ``blend_weight = partner_weight = 1`` is the partner with trees boosted on top of its
        log-odds (:func:`models.linear.fit_boosted_trees`).
    linear_weight, scorecard_weight : float, optional
        A stack (:func:`training.select.stack_weights`): the weights (>= 0) of the logistic
        regression's and the scorecard's log-odds, both at once; the booster then holds the weights of
        its own tree parts (:func:`models.trees.weighted_booster`) and ``blend_weight`` is 1 or 0.
        Given instead of ``partner`` and ``partner_weight``.

    Attributes
    ----------
    linear_weight, scorecard_weight : float
        The weights of the two additive parts in the raw score, whichever way they were given.
    """

    def __init__(self, builder: FeatureBuilder, booster: lgb.Booster, calibration: PlattCalibration,
                 scaling: ScoreScaling | None = None, scorecard: WoEScorecard | None = None,
                 metadata: Mapping[str, Any] | None = None, *, blend_weight: float = 1.0,
                 linear: LinearScorecard | None = None, partner: str = "scorecard",
                 partner_weight: float | None = None, linear_weight: float | None = None,
                 scorecard_weight: float | None = None, forward: ForwardModel | None = None) -> None:
        names = list(builder.get_feature_names_out())
        if list(booster.feature_name()) != names:
            raise ConfigError(f"LeaseModel: booster features {booster.feature_name()} differ from the "
                              f"builder's {names}")
        if not 0.0 <= float(blend_weight) <= 1.0:
            raise ConfigError(f"LeaseModel: blend_weight must be within [0, 1]; got {blend_weight!r}")
        if partner not in PARTNERS:
            raise ConfigError(f"LeaseModel: partner must be one of {PARTNERS}; got {partner!r}")
        if linear_weight is None and scorecard_weight is None:
            partner_weight = 1.0 - float(blend_weight) if partner_weight is None else float(partner_weight)
            if not 0.0 <= partner_weight <= 1.0:
                raise ConfigError(f"LeaseModel: partner_weight must be within [0, 1]; got {partner_weight!r}")
            linear_weight = partner_weight if partner == "linear" else 0.0
            scorecard_weight = partner_weight if partner == "scorecard" else 0.0
            shown = f"blend_weight {blend_weight} and partner_weight {partner_weight:g}"
        else:
            if partner_weight is not None:
                raise ConfigError("LeaseModel: give partner_weight or linear_weight and scorecard_weight, not both")
            linear_weight, scorecard_weight = float(linear_weight or 0.0), float(scorecard_weight or 0.0)
            if not (np.isfinite(linear_weight) and np.isfinite(scorecard_weight)) \
                    or min(linear_weight, scorecard_weight) < 0.0:
                raise ConfigError(f"LeaseModel: linear_weight and scorecard_weight must be >= 0; got "
                                  f"{linear_weight!r}, {scorecard_weight!r}")
            shown = f"linear_weight {linear_weight:g} and scorecard_weight {scorecard_weight:g}"
        if linear_weight == 0.0 and scorecard_weight == 0.0 and float(blend_weight) == 0.0:
            raise ConfigError("LeaseModel: every weight is 0; the score would be 0")
        for name, weight, other in (("linear", linear_weight, linear), ("scorecard", scorecard_weight, scorecard)):
            if weight > 0.0:
                if other is None:
                    raise ConfigError(f"LeaseModel: {shown} need a {name} to blend with")
                extra = sorted(set(other.feature_names_in_) - set(names))
                if extra:
                    raise ConfigError(f"LeaseModel: {name} features {extra} are not model inputs")
        self.linear_weight = float(linear_weight)
        self.scorecard_weight = float(scorecard_weight)
        self.linear = linear
        self.blend_weight = float(blend_weight)
        self.builder = builder
        self.booster = booster
        self.calibration = calibration
        self.scaling = scaling if scaling is not None else ScoreScaling()
        self.scorecard = scorecard
        self.validation_pd_: np.ndarray | None = None  # set by fit_lease_model, never saved
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.forward = forward   # the forward PDs at the cut-off (models.hazard), when trained with snapshots

    # -- what the model is --------------------------------------------------------------------
    @property
    def feature_names(self) -> list[str]:
        """Model input names, in order."""
        return list(self.builder.feature_names_out_)

    @property
    def spec(self) -> FeatureSpec:
        """The feature specification the model was trained with."""
        return self.builder.spec_

    # -- predictions --------------------------------------------------------------------------
    def transform(self, records: pd.DataFrame) -> pd.DataFrame:
        """Canonical records (shape (n, ...)) -> model inputs (shape (n, k)), same index."""
        return self.builder.transform(records)

    def raw_score_inputs(self, X: pd.DataFrame) -> np.ndarray:
        """Raw log-odds from model inputs already built by :meth:`transform`, shape (n,)."""
        raw = np.zeros(len(X))
        if self.blend_weight > 0.0:
            raw = self.blend_weight * np.asarray(self.booster.predict(X, raw_score=True), dtype="float64")
        for weight, part in self._parts():
            raw = raw + weight * part.decision_function(X)
        return raw

    def _parts(self) -> list[tuple[float, WoEScorecard | LinearScorecard]]:
        """The additive parts with a weight: (weight, model)."""
        out: list[tuple[float, WoEScorecard | LinearScorecard]] = []
        for weight, part in ((self.linear_weight, self.linear), (self.scorecard_weight, self.scorecard)):
            if weight > 0.0:
                assert part is not None  # checked in __init__
                out.append((weight, part))
        return out

    @property
    def partner(self) -> str:
        """``linear`` when the logistic regression has a weight, else ``scorecard``."""
        return "linear" if self.linear_weight > 0.0 else "scorecard"

    @property
    def partner_weight(self) -> float:
        """Weight of the additive parts (their sum when both have one)."""
        return self.linear_weight + self.scorecard_weight

    @property
    def model_kind(self) -> str:
        """What makes the raw score: ``boosted trees``, ``blend with the scorecard`` / ``... linear``,
        the partner alone (``scorecard`` / ``linear``), or a ``stack`` of trees and both additive models."""
        if self.linear_weight > 0.0 and self.scorecard_weight > 0.0:
            return "stack of " + ("trees, " if self.blend_weight > 0.0 else "") + "logistic regression and scorecard"
        if self.partner_weight == 0.0:
            return "boosted trees"
        if self.blend_weight == 0.0:
            return self.partner
        if self.blend_weight == 1.0 and self.partner_weight == 1.0:
            return "trees boosted on the " + {"linear": "logistic regression"}.get(self.partner, self.partner)
        return f"blend with the {self.partner}"

    def raw_score(self, records: pd.DataFrame) -> np.ndarray:
        """Raw log-odds of default before calibration, shape (n,)."""
        return self.raw_score_inputs(self.transform(records))

    def predict_pd_inputs(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated PD (fraction) from model inputs already built by :meth:`transform`, shape (n,)."""
        return self.calibration.predict(self.raw_score_inputs(X))

    def predict_pd(self, records: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of default (fraction in [0, 1]) of each record, shape (n,)."""
        return self.predict_pd_inputs(self.transform(records))

    def score(self, pd_: np.ndarray) -> np.ndarray:
        """Score points of PDs (higher is safer), shape (n,)."""
        return self.scaling.score(pd_)

    def explain(self, records: pd.DataFrame) -> Explanation:
        """Exact log-odds contributions of each model input (LightGBM ``pred_contrib``).

        With a partner weight ``v > 0`` each contribution is ``w * tree contribution + v * partner
        contribution`` (the scorecard's ``coef * WoE``, or the logistic regression's terms) and the
        base value ``w * tree base value + v * partner intercept`` (``v = 1 - w`` for a blend).

        ``contributions.sum(axis=1) + base_value`` equals :meth:`raw_score` (to 1e-6); a contribution
        ``c`` is worth ``-calibration.b * c * scaling.factor`` score points (see
        :meth:`contribution_points`).
        """
        return self.explain_inputs(self.transform(records))

    def explain_inputs(self, X: pd.DataFrame) -> Explanation:
        """:meth:`explain` from model inputs already built by :meth:`transform` (shape (n, k))."""
        w, parts = self.blend_weight, self._parts()
        if not parts:
            return contributions(self.booster, X)
        values = pd.DataFrame(0.0, index=X.index, columns=self.feature_names)
        base = np.zeros(len(X))
        for v, part in parts:
            values = values + v * part.contributions(X).reindex(columns=self.feature_names, fill_value=0.0)
            base = base + v * float(part.intercept_)
        if w > 0.0:  # with w = 0 the trees are not part of the score
            trees = contributions(self.booster, X)
            values = values + w * trees.contributions
            base = base + w * trees.base_value
        return Explanation(contributions=values, base_value=base, raw_score=values.to_numpy().sum(axis=1) + base)

    def contribution_points(self, explanation: Explanation) -> pd.DataFrame:
        """Contributions of :meth:`explain` in score points (negative lowers the score)."""
        return explanation.points(self.calibration.b, self.scaling.factor)

    def shap_explanation(self, records: pd.DataFrame, *, language: str = "en") -> Any:
        """:meth:`explain` handed over as a ``shap.Explanation``, named in ``language`` ("en" or "zh").

        ``e = model.shap_explanation(records)`` then ``shap.plots.waterfall(e[0])`` or
        ``shap.plots.beeswarm(e)``: values are the log-odds contributions, base values the expected raw
        score, data the model inputs (see :meth:`models.explain.Explanation.to_shap`), feature names
        the specification's display names.
        """
        if language not in ("en", "zh"):
            raise ConfigError(f"LeaseModel.shap_explanation: language must be 'en' or 'zh'; got {language!r}")
        X = self.transform(records)
        shown = {f.name: getattr(f, f"display_{language}") for f in self.spec.features}
        return self.explain_inputs(X).to_shap(X, [shown.get(name, name) for name in self.feature_names])

    def scorecard_pd(self, records: pd.DataFrame) -> np.ndarray:
        """PD of the challenger scorecard, shape (n,).

        Raises
        ------
        ConfigError
            If the bundle has no scorecard.
        """
        if self.scorecard is None:
            raise ConfigError("LeaseModel: this bundle has no scorecard challenger (scorecard.json)")
        return self.scorecard.predict_pd(self.transform(records))

    # -- storage ------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the bundle folder (``booster.txt``, ``bundle.json``, ``scorecard.json``, ``linear.json``).

        Files are written atomically; an existing ``scorecard.json`` or ``linear.json`` is removed when
        the model has none. Returns the folder.
        """
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        files = {_BOOSTER: _write_text(folder / _BOOSTER, self.booster.model_to_string())}
        parts: tuple[tuple[str, WoEScorecard | LinearScorecard | None], ...] = (
            (_SCORECARD, self.scorecard), (_LINEAR, self.linear))
        for name, part in parts:
            if part is None:
                (folder / name).unlink(missing_ok=True)
            else:
                files[name] = _write_text(folder / name, json.dumps(part.to_dict(), indent=2, sort_keys=True,
                                                                    ensure_ascii=False) + "\n")
        if self.forward is not None:
            for name, text in self.forward.save(folder / _FORWARD_DIR).items():
                files[f"{_FORWARD_DIR}/{name}"] = _sha256(text)
        elif (folder / _FORWARD_DIR).is_dir():
            shutil.rmtree(folder / _FORWARD_DIR)
        plain = self.linear_weight == 0.0 and self.scorecard_weight == 1.0 - self.blend_weight
        stack = self.linear_weight > 0.0 and self.scorecard_weight > 0.0
        fmt = (STACK_BUNDLE_FORMAT if stack else FORWARD_BUNDLE_FORMAT if self.forward is not None
               else READABLE_FORMATS[0] if plain else BUNDLE_FORMAT)
        weights = ({"linear_weight": self.linear_weight, "scorecard_weight": self.scorecard_weight} if stack
                   else {"partner": self.partner, "partner_weight": self.partner_weight})
        write_json({
            "format": fmt,
            "feature_names": self.feature_names,
            "builder": self.builder.to_dict(),
            "calibration": self.calibration.to_dict(),
            "scaling": self.scaling.to_dict(),
            "blend_weight": self.blend_weight,
            **weights,
            "metadata": self.metadata,
            "files": files,
            "lightgbm_version": lgb.__version__,
        }, folder / _BUNDLE)
        log.info("saved LeaseModel to %s", folder)
        return folder

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LeaseModel:
        """Read a bundle folder written by :meth:`save` (text and JSON only, no pickle).

        Raises
        ------
        ConfigError
            If a file is missing, is not a bundle, or does not match the checksum recorded in
            ``bundle.json`` (the file was altered after saving).
        """
        folder = Path(path)
        bundle_path = folder / _BUNDLE
        if not bundle_path.is_file():
            raise ConfigError(f"{folder}: not a LeaseModel bundle (no {_BUNDLE})")
        try:
            data = json.loads(bundle_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{bundle_path}: not valid JSON: {exc}") from None
        if data.get("format") not in READABLE_FORMATS:
            raise ConfigError(f"{bundle_path}: format {data.get('format')!r}, expected one of {READABLE_FORMATS}")
        texts: dict[str, str] = {}
        for name, digest in data["files"].items():
            p = folder / name
            if not p.is_file():
                raise ConfigError(f"{folder}: {name} is listed in {_BUNDLE} but missing")
            texts[name] = p.read_text(encoding="utf-8")
            if _sha256(texts[name]) != digest:
                raise ConfigError(f"{p}: checksum differs from the one recorded in {_BUNDLE}; "
                                  "the file was changed after the model was saved")
        builder = FeatureBuilder.from_dict(data["builder"])
        booster = lgb.Booster(model_str=texts[_BOOSTER])
        scorecard = None
        if _SCORECARD in texts:
            from models.scorecard import WoEScorecard
            scorecard = WoEScorecard.from_dict(json.loads(texts[_SCORECARD]))
        linear = None
        if _LINEAR in texts:
            from models.linear import LinearScorecard
            linear = LinearScorecard.from_dict(json.loads(texts[_LINEAR]))
        forward = None
        prefix = f"{_FORWARD_DIR}/"
        if any(name.startswith(prefix) for name in texts):
            from models.hazard import ForwardModel
            forward = ForwardModel.from_texts({k[len(prefix):]: v for k, v in texts.items() if k.startswith(prefix)})
        model = cls(builder, booster, PlattCalibration.from_dict(data["calibration"]),
                    ScoreScaling.from_dict(data["scaling"]), scorecard, data.get("metadata", {}),
                    blend_weight=float(data.get("blend_weight", 1.0)), linear=linear,
                    partner=str(data.get("partner", "scorecard")), partner_weight=data.get("partner_weight"),
                    linear_weight=data.get("linear_weight"), scorecard_weight=data.get("scorecard_weight"),
                    forward=forward)
        if model.feature_names != data["feature_names"]:
            raise ConfigError(f"{bundle_path}: feature_names {data['feature_names']} differ from the "
                              f"builder's {model.feature_names}")
        return model


_CLASSIFIER_KEYS = tuple(PDClassifier().get_params())


def fit_lease_model(
    records_train: pd.DataFrame,
    y_train: Any,
    records_valid: pd.DataFrame,
    y_valid: Any,
    *,
    spec: FeatureSpec | None = None,
    params: Mapping[str, Any] | None = None,
    scaling: ScoreScaling | None = None,
    random_state: int = 0,
    with_scorecard: bool = False,
    min_level_count: int = 1,
    linear_base: bool = False,
    refit: bool = False,
    builder: FeatureBuilder | None = None,
) -> LeaseModel:
    """Fit the feature builder, the monotone classifier and its calibration.

    The builder learns its levels on the training part (with ``refit``, again on both parts); the
    classifier stops early on the validation part; Platt calibration is fitted on the validation
    part's raw scores.

    Parameters
    ----------
    records_train, records_valid : DataFrame
        Canonical lease records (training and held-out validation).
    y_train, y_valid : array-like of 0/1
        Default labels of those records.
    spec : FeatureSpec, optional
        Feature specification; the shipped one when omitted. Its risk directions become the
        monotone constraints.
    params : mapping, optional
        :class:`PDClassifier` keyword arguments (``learning_rate``, ``num_leaves``, ...);
        ``monotone_constraints`` and ``random_state`` are set here and may not be given.
    scaling : ScoreScaling, optional
        Score scaling stored in the bundle.
    random_state : int, default 0
        Seed of the classifier (and scorecard).
    with_scorecard : bool, default False
        Also fit the WoE logistic scorecard challenger on the training part.
    min_level_count : int, default 1
        Categorical levels rarer than this on the training part (with ``refit``: on both parts)
        become missing.
    linear_base : bool, default False
        Fit the logistic regression (:class:`models.LinearScorecard`) on the training part first and
        boost the trees on top of its log-odds (:func:`models.linear.fit_boosted_trees`): the raw
        score is ``linear + trees``, stored as partner ``linear`` with both weights 1.
    refit : bool, default False
        With the logistic regression's penalty (cross-validated on the training part) and the number
        of trees (early stopping on the validation part) kept, fit both again, and the scorecard
        challenger, on the training and validation parts together
        (:func:`models.linear.fit_boosted_trees` ``refit``), with the feature builder fitted again on
        both parts too (categorical levels too rare in the training part alone are kept). The
        calibration stays the one fitted on the validation part's scores from the first fit.
    builder : FeatureBuilder, optional
        A builder already fitted on ``records_train`` (``poolgate train`` fits one for the search);
        ``spec`` and ``min_level_count`` are then ignored. Fitted here when omitted.

    Returns
    -------
    LeaseModel
        Its transient attribute ``validation_pd_`` (not saved) holds the calibrated PDs of
        ``records_valid`` from the fit that had not seen them, also with ``refit``.

    Raises
    ------
    ConfigError
        If ``params`` holds an unknown or reserved key, or a value out of range.
    """
    params = dict(params or {})
    reserved = sorted({"monotone_constraints", "random_state"} & set(params))
    unknown = sorted(set(params) - set(_CLASSIFIER_KEYS))
    if reserved or unknown:
        raise ConfigError(f"fit_lease_model: params {reserved + unknown} not allowed; allowed: "
                          f"{', '.join(k for k in _CLASSIFIER_KEYS if k not in ('monotone_constraints', 'random_state'))}")
    if builder is None:
        builder = FeatureBuilder(spec, min_level_count=min_level_count).fit(records_train)
    elif not hasattr(builder, "spec_"):
        raise NotFittedError("fit_lease_model: the builder given is not fitted")
    X_train, X_valid = builder.transform(records_train), builder.transform(records_valid)
    y_train, y_valid = np.asarray(y_train).astype("int64"), np.asarray(y_valid).astype("int64")
    from models.linear import fit_boosted_trees
    X_all, builder_all = None, None
    if refit:  # levels learned on every row the model is refitted on
        records_all = pd.concat([records_train, records_valid], ignore_index=True)
        builder_all = FeatureBuilder(builder.spec_, min_level_count=builder.min_level_count).fit(records_all)
        X_all = builder_all.transform(records_all)
    linear, clf, raw_valid = fit_boosted_trees(params, X_train, y_train, X_valid, y_valid,
                                               directions=builder.spec_.directions, random_state=random_state,
                                               linear_base=linear_base, refit=refit, X_refit=X_all)
    calibration = fit_platt(raw_valid, y_valid)
    scorecard = None
    if with_scorecard:
        from models.scorecard import WoEScorecard
        X_card, y_card = X_train, y_train
        if X_all is not None:  # the challenger sees the rows the model was fitted on
            X_card, y_card = X_all, np.concatenate([y_train, y_valid])
        scorecard = WoEScorecard(directions=builder.spec_.directions, random_state=random_state).fit(X_card, y_card)
    if builder_all is not None:
        builder = builder_all
    metadata = {
        "n_train": len(X_train),
        "n_valid": len(X_valid),
        "default_rate_train": float(y_train.mean()),
        "default_rate_valid": float(y_valid.mean()),
        "best_iteration": clf.best_iteration_,
        "params": {k: v for k, v in clf.get_params().items() if k != "monotone_constraints"},
        "monotone_constraints": {k: v for k, v in builder.spec_.directions.items() if v},
        "spec_digest": builder.spec_.digest,
    }
    if refit:
        metadata.update(n_refit=len(X_train) + len(X_valid), refit_levels=True)
    log.info("fitted LeaseModel: %d trees%s, %d training rows%s", clf.best_iteration_,
             " on the logistic regression's log-odds" if linear is not None else "", len(X_train),
             f", refitted on {len(X_train) + len(X_valid)}" if refit else "")
    if linear is not None:
        metadata.update(blend_weight=1.0, blend_partner="linear", partner_weight=1.0)
        model = LeaseModel(builder, clf.booster_, calibration, scaling, scorecard, metadata, linear=linear,
                           partner="linear", partner_weight=1.0)
    else:
        model = LeaseModel(builder, clf.booster_, calibration, scaling, scorecard, metadata)
    model.validation_pd_ = calibration.predict(raw_valid)
    return model
