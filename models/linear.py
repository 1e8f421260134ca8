"""An additive logistic regression on the model inputs: :class:`LinearScorecard`.

Where the risk is close to linear in a few strong inputs (a lender's own interest rate, say) and the
sample holds a few hundred defaults, a penalised logistic regression is hard to beat: trees and WoE
bins cut a straight line into steps. The recipe's model selection (:mod:`training.select`) therefore
scores this model beside the trees and uses it, alone, as the base of the trees or in a blend, when
validation says so.

Each numeric input is filled with its median, held within its 0.5 % and 99.5 % training quantiles
when it takes more than :data:`CLIP_ABOVE_DISTINCT` values (a few extreme amounts would otherwise
set the log-odds of the rows that hold them: Give Me Some Credit's utilisation runs to 50,708 and
its debt ratio to 329,664, and the unclipped model validated at 0.70 against 0.85 clipped), then
standardised, and gets a standardised missing flag when it was missing at fit; each categorical input
is one-hot coded (levels seen fewer than ``min_level_count`` times share one "other" column, which also
takes levels never seen at fit; a missing value is a level of its own). The L2 penalty ``C`` is chosen by cross-validated AUC unless given.
A numeric input with a risk direction must keep it: a coefficient of the wrong sign is dropped (the
worst first) and the rest refitted, as :class:`models.WoEScorecard` does.

The model is exactly additive: :meth:`LinearScorecard.contributions` gives each input's log-odds
(the sum of its terms) and ``contributions.sum(axis=1) + intercept_`` is :meth:`decision_function`.
Every term is measured from its training average (numbers and missing flags are centred, and each
categorical input's mean contribution over the training rows is moved into the intercept), so a
contribution says how far the input moved the log-odds from an average training row, as TreeSHAP's
do, and ``intercept_`` is the mean log-odds over the training rows. Stored as JSON (:meth:`to_dict`),
never pickled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold

from features.exceptions import ConfigError, NotFittedError, TapeError
from models.scorecard import LogOddsClassifierMixin

if TYPE_CHECKING:
    from models.pd_model import PDClassifier

__all__ = ["LINEAR_MARGIN", "LinearScorecard", "fit_boosted_trees"]

_FORMAT = "poolgate.LinearScorecard/1"

#: A model with the linear part replaces the trees (and their blend with the scorecard) only when its
#: held-out AUC is higher by more than this: on a few thousand rows smaller differences are noise
#: (German credit: a 0.0016 lead of the linear model on the inner folds turned into a 0.046 loss on
#: the held-out fold).
LINEAR_MARGIN = 0.002
_MISSING = "\x00missing"  # cannot be the text of a real level read from a tape
#: A numeric input is held within these training quantiles (and 1 minus it) ...
CLIP_SHARE = 0.005
#: ... when it takes more than this many distinct values at fit (flags and small counts keep every
#: value: a flag set on 0.3 % of the rows would be clipped away).
CLIP_ABOVE_DISTINCT = 10


def _held(term: Mapping[str, Any], v: np.ndarray) -> np.ndarray:
    """A numeric term's values as the model reads them: missing as the median, held within the
    training quantiles ``low`` and ``high`` when the term has them (models stored before there were
    none are read unclipped)."""
    filled = np.where(np.isnan(v), term["median"], v)
    return np.clip(filled, term["low"], term["high"]) if "low" in term else filled


def _is_categorical(s: pd.Series) -> bool:
    return isinstance(s.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(s)


def _text(s: pd.Series) -> np.ndarray:
    """Cells as str, missing as ``(missing)`` (object array)."""
    obj = s.astype(object)
    return np.where(obj.isna().to_numpy(), _MISSING, obj.astype(str).to_numpy()).astype(object)


class LinearScorecard(LogOddsClassifierMixin, ClassifierMixin, BaseEstimator):
    """L2-penalised logistic regression on standardised numbers and one-hot categories.

    Parameters
    ----------
    directions : mapping of str to int, optional
        Feature -> expected risk direction (-1, 0, +1); a numeric input's coefficient must follow it.
    C : float, optional
        Inverse L2 penalty; chosen from ``Cs`` by cross-validated AUC when None.
    Cs : int, default 10
        Values of ``C`` tried (log-spaced from 1e-4 to 1e4).
    min_level_count : int, default 10
        Categorical levels seen fewer times at fit share the "other" column.
    random_state : int, default 0

    Attributes
    ----------
    terms_ : list of dict
        One per input, in column order: ``name``, ``kind`` and its fitted values (numeric: ``median``,
        ``low`` and ``high`` when it is held within quantiles, ``mean``, ``scale``, ``coef``, and
        ``missing_mean``, ``missing_scale``, ``missing_coef`` when it was missing at fit; categorical:
        ``levels`` (level -> coefficient), ``other``).
    intercept_ : float
    C_ : float
        The penalty used.
    dropped_ : list of str
        Inputs whose coefficient came out against their risk direction (coefficient 0).
    feature_names_in_ : ndarray of str
    classes_ : ndarray, ``[0, 1]``
    """

    def __init__(self, *, directions: Mapping[str, int] | None = None, C: float | None = None, Cs: int = 10,
                 min_level_count: int = 10, random_state: int = 0) -> None:
        self.directions = directions
        self.C = C
        self.Cs = Cs
        self.min_level_count = min_level_count
        self.random_state = random_state

    # -- fit ------------------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: Any, cv: Iterable[tuple[np.ndarray, np.ndarray]] | int = 5) -> LinearScorecard:
        """Code every column of ``X`` (model inputs, shape (n, k)), choose ``C`` and fit.

        Parameters
        ----------
        X : DataFrame
        y : array of 0/1, shape (n,)
        cv : int or iterable of (fit rows, held-out rows), default 5
            Folds for choosing ``C`` (stratified and shuffled with ``random_state`` when an int);
            unused when ``C`` is given.

        Raises
        ------
        ConfigError
            If a parameter is out of range.
        TapeError
            If ``X`` is not a DataFrame or the labels are not 0/1 with both classes.
        """
        if self.C is not None and not float(self.C) > 0:
            raise ConfigError(f"LinearScorecard: C must be > 0, got {self.C!r}")
        if isinstance(self.min_level_count, bool) or not isinstance(self.min_level_count, int) \
                or self.min_level_count < 1:
            raise ConfigError(f"LinearScorecard: min_level_count must be a whole number >= 1, "
                              f"got {self.min_level_count!r}")
        if not isinstance(X, pd.DataFrame):
            raise TapeError(f"LinearScorecard.fit: expected the model-input DataFrame, got {type(X).__name__}")
        labels = np.asarray(y).ravel()
        if labels.size != len(X) or set(np.unique(labels).tolist()) != {0, 1}:
            raise TapeError(f"LinearScorecard.fit: need {len(X)} labels of 0/1 with both classes present")
        labels = labels.astype(int)
        terms: list[dict[str, Any]] = []
        for col in X.columns:
            if _is_categorical(X[col]):
                counts = pd.Series(_text(X[col])).value_counts()
                levels = sorted(str(v) for v, n in counts.items() if n >= self.min_level_count)
                rare = counts < self.min_level_count
                terms.append({"name": str(col), "kind": "categorical", "levels": dict.fromkeys(levels, 0.0),
                              "other": 0.0, "has_other": bool(rare.any()),
                              "shares": {lv: float(counts[lv]) / len(X) for lv in levels},
                              "other_share": float(counts[rare].sum()) / len(X), "offset": 0.0})
            else:
                v = X[col].to_numpy(dtype="float64", na_value=np.nan)
                ok = ~np.isnan(v)
                median = float(np.median(v[ok])) if ok.any() else 0.0
                term: dict[str, Any] = {"name": str(col), "kind": "numeric", "median": median}
                if np.unique(v[ok]).size > CLIP_ABOVE_DISTINCT:
                    low, high = np.quantile(v[ok], [CLIP_SHARE, 1.0 - CLIP_SHARE])
                    term.update(low=float(low), high=float(high))
                filled = _held(term, v)
                constant = np.ptp(filled) == 0  # a 1e-16 rounding "spread" must not become the scale
                term.update(mean=median if constant else float(filled.mean()),
                            scale=1.0 if constant else float(filled.std()), coef=0.0)
                if not ok.all():
                    share = float((~ok).mean())
                    term.update(missing_mean=share, missing_scale=float(np.sqrt(share * (1 - share))) or 1.0,
                                missing_coef=0.0)
                terms.append(term)
        self.terms_ = terms
        design, owners = self._design(X)
        if self.C is None:
            folds = (list(StratifiedKFold(n_splits=cv, shuffle=True, random_state=self.random_state)
                          .split(np.zeros(len(labels)), labels)) if isinstance(cv, int) else list(cv))
            search = LogisticRegressionCV(Cs=self.Cs, l1_ratios=(0.0,), cv=folds, scoring="roc_auc", max_iter=2000,
                                          random_state=self.random_state, use_legacy_attributes=False)
            search.fit(design, labels)
            self.C_ = float(np.ravel(search.C_)[0])
        else:
            self.C_ = float(self.C)
        # a numeric input with a risk direction keeps it: the worst wrong-way coefficient is dropped
        # and the rest refitted until none is left
        directions = {k: int(v) for k, v in (self.directions or {}).items()}
        sign = np.array([directions.get(terms[o]["name"], 0) if terms[o]["kind"] == "numeric" and is_value else 0
                         for o, is_value in owners], dtype="float64")
        active = np.ones(design.shape[1], dtype=bool)
        coef = np.zeros(design.shape[1])
        design = design.tocsc()
        intercept = float(np.log(labels.mean() / (1.0 - labels.mean())))
        self.dropped_: list[str] = []
        while active.any():
            lr = LogisticRegression(C=self.C_, max_iter=2000, random_state=self.random_state)
            lr.fit(design[:, active], labels)
            fitted = lr.coef_[0].astype("float64")
            wrong = -fitted * sign[active]
            if wrong.max() <= 0:
                coef[active], intercept = fitted, float(lr.intercept_[0])
                break
            worst = np.flatnonzero(active)[int(np.argmax(wrong))]
            active[worst] = False
            self.dropped_.append(terms[owners[worst][0]]["name"])
        self._store(coef, owners)
        # one-hot columns are not centred for the fit (the unpenalised intercept absorbs any shift);
        # their contributions are: each categorical term's mean over the training rows moves to the
        # intercept, so every contribution is measured from the training average, as TreeSHAP's are
        for term in terms:
            if term["kind"] == "categorical":
                term["offset"] = float(sum(term["levels"][lv] * sh for lv, sh in term["shares"].items())
                                       + term["other"] * term["other_share"])
                intercept += term["offset"]
        self.intercept_ = intercept
        self.feature_names_in_ = np.asarray([t["name"] for t in terms], dtype=object)
        self.n_features_in_ = len(terms)
        self.classes_ = np.array([0, 1])
        return self

    def _store(self, coef: np.ndarray, owners: list[tuple[int, Any]]) -> None:
        for c, (i, key) in zip(coef, owners, strict=True):
            term = self.terms_[i]
            if term["kind"] == "numeric":
                term["coef" if key else "missing_coef"] = float(c)
            elif key is None:  # the "other" column
                term["other"] = float(c)
            else:
                term["levels"][key] = float(c)

    def _design(self, X: pd.DataFrame) -> tuple[sparse.csr_matrix, list[tuple[int, Any]]]:
        """The coded columns (sparse: one-hot blocks of many levels stay small) and, for each,
        (term index, True (value) / False (missing flag) / level / None ("other"))."""
        cols: list[Any] = []
        owners: list[tuple[int, Any]] = []
        n = len(X)
        for i, term in enumerate(self.terms_):
            if term["kind"] == "numeric":
                v = X[term["name"]].to_numpy(dtype="float64", na_value=np.nan)
                miss = np.isnan(v)
                cols.append(sparse.csr_matrix(((_held(term, v) - term["mean"]) / term["scale"]).reshape(-1, 1)))
                owners.append((i, True))
                if "missing_coef" in term:
                    cols.append(sparse.csr_matrix(((miss - term["missing_mean"]) / term["missing_scale"])
                                                  .reshape(-1, 1)))
                    owners.append((i, False))
            else:
                levels = list(term["levels"])
                code = pd.Index(levels, dtype=object).get_indexer(_text(X[term["name"]]))  # -1: rare or unseen
                keep = code >= 0 if not term["has_other"] else np.ones(n, dtype=bool)
                column = np.where(code >= 0, code, len(levels))[keep]
                width = len(levels) + (1 if term["has_other"] else 0)
                cols.append(sparse.csr_matrix((np.ones(int(keep.sum())), (np.flatnonzero(keep), column)),
                                              shape=(n, width)))
                owners.extend((i, lv) for lv in levels)
                if term["has_other"]:
                    owners.append((i, None))
        return (sparse.hstack(cols, format="csr") if cols else sparse.csr_matrix((n, 0))), owners

    # -- use ------------------------------------------------------------------------------------
    def _check_fitted(self, X: pd.DataFrame) -> None:
        if not hasattr(self, "terms_"):
            raise NotFittedError("LinearScorecard is not fitted yet; call fit(X, y) first or load it with from_dict")
        missing = [t["name"] for t in self.terms_ if t["name"] not in X.columns]
        if missing:
            raise TapeError(f"LinearScorecard: missing model-input columns {missing}")

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Log-odds contribution of every input of every row, shape (n, k), index of ``X``.

        Exact and additive: ``contributions(X).sum(axis=1) + intercept_`` equals
        :meth:`decision_function`; each column averages 0 over the training rows. A level seen too
        rarely or never at fit counts as the "other" level (or as no level when none was rare at fit).
        """
        self._check_fitted(X)
        out = {}
        for term in self.terms_:
            if term["kind"] == "numeric":
                v = X[term["name"]].to_numpy(dtype="float64", na_value=np.nan)
                miss = np.isnan(v)
                c = term["coef"] * (_held(term, v) - term["mean"]) / term["scale"]
                if "missing_coef" in term:
                    c = c + term["missing_coef"] * (miss - term["missing_mean"]) / term["missing_scale"]
            else:
                text = pd.Series(_text(X[term["name"]]))
                rest = term["other"] if term["has_other"] else 0.0
                c = text.map(term["levels"]).astype("float64").fillna(rest).to_numpy() - term.get("offset", 0.0)
            out[term["name"]] = c
        return pd.DataFrame(out, index=X.index, columns=list(self.feature_names_in_))

    def bounds(self, name: str) -> tuple[float, float] | None:
        """The training quantiles a numeric input ``name`` is held within, or None when it is not clipped
        (its term is then affine in every non-missing value; between the bounds it always is)."""
        term = self.terms_[list(self.feature_names_in_).index(name)]
        return (float(term["low"]), float(term["high"])) if "low" in term else None

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Log-odds of default, shape (n,)."""
        return np.asarray(self.contributions(X).to_numpy().sum(axis=1) + self.intercept_, dtype="float64")

    # -- storage --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, read back by :meth:`from_dict`."""
        if not hasattr(self, "terms_"):
            raise NotFittedError("LinearScorecard.to_dict called before fit")
        return {"format": _FORMAT, "intercept": self.intercept_, "C": self.C_, "dropped": list(self.dropped_),
                "directions": {k: int(v) for k, v in (self.directions or {}).items()},
                "min_level_count": self.min_level_count, "terms": self.terms_}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LinearScorecard:
        """Rebuild a fitted model from :meth:`to_dict` output.

        Raises
        ------
        ConfigError
            If ``data`` is not a stored LinearScorecard.
        """
        if data.get("format") != _FORMAT:
            raise ConfigError(f"not a stored LinearScorecard (format {data.get('format')!r}, expected {_FORMAT!r})")
        model = cls(directions=dict(data.get("directions", {})), C=float(data["C"]),
                    min_level_count=int(data.get("min_level_count", 10)))
        model.terms_ = [dict(t, levels=dict(t["levels"])) if t["kind"] == "categorical" else dict(t)
                        for t in data["terms"]]
        model.intercept_ = float(data["intercept"])
        model.C_ = float(data["C"])
        model.dropped_ = list(data.get("dropped", []))
        model.feature_names_in_ = np.asarray([t["name"] for t in model.terms_], dtype=object)
        model.n_features_in_ = len(model.terms_)
        model.classes_ = np.array([0, 1])
        return model


def fit_boosted_trees(params: Mapping[str, Any], X_fit: pd.DataFrame, y_fit: Any, X_valid: pd.DataFrame,
                      y_valid: Any, *, directions: Mapping[str, int], random_state: int = 0,
                      linear_base: bool = True, refit: bool = False, X_refit: pd.DataFrame | None = None
                      ) -> tuple[LinearScorecard | None, PDClassifier, np.ndarray]:
    """Monotone boosted trees stopped early on ``X_valid``, by default on top of a logistic regression.

    With ``linear_base`` the logistic regression is fitted on ``X_fit`` first and the trees start from
    its log-odds (LightGBM ``init_score``), so they fit only what it misses (thresholds,
    interactions); the raw score is ``linear.decision_function(X) + trees.raw_score(X)``, both
    exactly explainable. Without it the trees start from a constant.

    With ``refit`` the complexity already chosen (the logistic regression's penalty, by
    cross-validation on ``X_fit``; the number of trees, by early stopping on ``X_valid``) is kept and
    both parts are fitted again on all rows, ``X_fit`` and ``X_valid`` together: the held-out rows
    have done their job of choosing, and a third more data is worth more than anything they could
    still tell. The tree count is not scaled up for the extra rows (early stopping is flat near its
    optimum; the small-sample path, which refits on 5/4 of its inner folds' rows, does scale it). The
    returned raw log-odds of ``X_valid`` stay those of the first fit, which did not see them, so
    calibration is still fitted on held-out scores.

    Parameters
    ----------
    params : mapping
        :class:`models.PDClassifier` settings (``n_estimators``, ``early_stopping_rounds``, ...).
    X_fit, y_fit, X_valid, y_valid
        Model inputs and 0/1 labels of the fitting and the held-out rows.
    directions : mapping of str to int
        Risk directions: monotone constraints of the trees and sign rules of the linear model.
    random_state : int, default 0
    linear_base : bool, default True
    refit : bool, default False
    X_refit : DataFrame, optional
        With ``refit``: the model inputs of the ``X_fit`` rows then the ``X_valid`` rows, built by a
        feature builder fitted on all of them, so categorical levels too rare in the fitting part
        alone are kept. Default: ``X_fit`` and ``X_valid`` stacked.

    Returns
    -------
    (LinearScorecard or None, PDClassifier, ndarray)
        The logistic regression (None without ``linear_base``), the trees, and the raw log-odds of the
        ``X_valid`` rows before any refit (what calibration is fitted on).
    """
    from models.pd_model import PDClassifier

    if X_refit is not None and not refit:
        raise ValueError("fit_boosted_trees: X_refit is only used with refit=True")
    trees = PDClassifier(**params, monotone_constraints=dict(directions), random_state=random_state)
    linear = None
    if linear_base:
        linear = LinearScorecard(directions=directions, random_state=random_state).fit(X_fit, y_fit)
        base_valid = linear.decision_function(X_valid)
        trees.fit(X_fit, y_fit, eval_set=(X_valid, y_valid), init_score=linear.decision_function(X_fit),
                  eval_init_score=base_valid)
        raw_valid = base_valid + trees.raw_score(X_valid)
    else:
        trees.fit(X_fit, y_fit, eval_set=(X_valid, y_valid))
        raw_valid = trees.raw_score(X_valid)
    if not refit:
        return linear, trees, raw_valid
    X_all = pd.concat([X_fit, X_valid], ignore_index=True) if X_refit is None else X_refit
    y_all = np.concatenate([np.asarray(y_fit), np.asarray(y_valid)])
    if len(X_all) != len(y_all) or list(X_all.columns) != list(X_fit.columns):
        raise ValueError(f"fit_boosted_trees: X_refit must hold the {len(y_all)} rows of X_fit and X_valid with "
                         f"their columns; got {len(X_all)} rows, columns {list(X_all.columns)}")
    init = None
    if linear is not None:
        linear = LinearScorecard(directions=directions, C=linear.C_, random_state=random_state).fit(X_all, y_all)
        init = linear.decision_function(X_all)
    again = {**trees.get_params(), "n_estimators": trees.best_iteration_}
    trees = PDClassifier(**again).fit(X_all, y_all, init_score=init)
    return linear, trees, raw_valid
