"""The transparent challenger: a weight-of-evidence binned logistic scorecard.

Each model input is cut into a few bins (quantiles for numbers, one bin per level for categories,
small bins merged into a neighbour), adjacent bins are merged until the default rate runs one way
(the specification's risk direction, or the data's own trend when the direction is 0), and every bin
gets its weight of evidence ``WoE = ln(share of non-defaults / share of defaults)``. A logistic
regression on the WoE columns gives the PD; with a :class:`~models.scaling.ScoreScaling` every bin is
worth a fixed number of points, which is what a credit committee reads. Missing values (and levels
not seen at fit) get their own bin, or WoE 0 when none was missing at fit.

Stored as JSON (:meth:`WoEScorecard.to_dict`), never pickled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from features.exceptions import ConfigError, NotFittedError, TapeError
from models.scaling import ScoreScaling

__all__ = ["Binning", "LogOddsClassifierMixin", "WoEScorecard"]

_FORMAT = "poolgate.WoEScorecard/1"
_SMOOTH = 0.5  # added to good and bad counts of each bin so that a pure bin has a finite WoE


@dataclass(frozen=True)
class Binning:
    """The bins of one feature.

    Attributes
    ----------
    name : str
        Feature name.
    kind : {"numeric", "categorical"}
    edges : tuple of float
        Numeric: upper edges of all bins but the last; bin ``i`` holds ``edges[i-1] < x <= edges[i]``.
    levels : dict of str to int
        Categorical: level -> bin index.
    woe : tuple of float
        WoE of each bin.
    missing_woe : float
        WoE of missing values (and unseen levels); 0 when none were missing at fit.
    labels : tuple of str
        Readable description of each bin.
    """

    name: str
    kind: str
    edges: tuple[float, ...]
    levels: dict[str, int]
    woe: tuple[float, ...]
    missing_woe: float
    labels: tuple[str, ...]

    def transform(self, values: pd.Series) -> np.ndarray:
        """WoE of each value, shape (n,)."""
        woe = np.asarray(self.woe, dtype="float64")
        if self.kind == "numeric":
            x = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            idx = np.searchsorted(np.asarray(self.edges, dtype="float64"), x, side="left")
            out = woe[np.minimum(idx, len(woe) - 1)]
            out[np.isnan(x)] = self.missing_woe
            return out
        if not woe.size:  # no level was present at fit (e.g. every level too rare): all values are "missing"
            return np.full(len(values), self.missing_woe)
        codes = values.astype(object).map(lambda v: -1 if pd.isna(v) else self.levels.get(str(v), -1))
        idx = codes.to_numpy(dtype="int64")
        return np.where(idx >= 0, woe[np.maximum(idx, 0)], self.missing_woe)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "edges": list(self.edges), "levels": dict(self.levels),
                "woe": list(self.woe), "missing_woe": self.missing_woe, "labels": list(self.labels)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Binning:
        return cls(name=str(d["name"]), kind=str(d["kind"]), edges=tuple(float(e) for e in d["edges"]),
                   levels={str(k): int(v) for k, v in d["levels"].items()},
                   woe=tuple(float(w) for w in d["woe"]), missing_woe=float(d["missing_woe"]),
                   labels=tuple(str(s) for s in d["labels"]))


def _woe(good: np.ndarray, bad: np.ndarray, total_good: float, total_bad: float) -> np.ndarray:
    return np.log(((good + _SMOOTH) / (total_good + _SMOOTH)) / ((bad + _SMOOTH) / (total_bad + _SMOOTH)))


def _merge_small(counts: np.ndarray, groups: list[list[int]], min_count: float) -> list[list[int]]:
    """Merge groups of adjacent bins whose row count is below ``min_count`` into a neighbour."""
    groups = [list(g) for g in groups]
    while len(groups) > 1:
        sizes = [counts[g].sum() for g in groups]
        i = int(np.argmin(sizes))
        if sizes[i] >= min_count:
            break
        j = i - 1 if i == len(groups) - 1 or (i > 0 and sizes[i - 1] <= sizes[i + 1]) else i + 1
        lo, hi = min(i, j), max(i, j)
        groups[lo:hi + 1] = [groups[lo] + groups[hi]]
    return groups


def _merge_monotone(n: np.ndarray, bad: np.ndarray, groups: list[list[int]], direction: int) -> list[list[int]]:
    """Merge adjacent groups until the risk moves in ``direction`` (+1 rising, -1 falling).

    Risk is measured as the smoothed odds ``(bad + s) / (good + s)`` that the WoE is computed from, not
    the raw default rate: two bins of nearly equal rates can swap order once smoothed, and the WoE (and
    with it the scorecard) would then step the wrong way.
    """
    groups = [list(g) for g in groups]
    while len(groups) > 1:
        rates = [(bad[g].sum() + _SMOOTH) / (n[g].sum() - bad[g].sum() + _SMOOTH) for g in groups]
        steps = np.diff(rates) * direction
        bad_steps = np.flatnonzero(steps < 0)
        if bad_steps.size == 0:
            break
        i = int(bad_steps[0])
        groups[i:i + 2] = [groups[i] + groups[i + 1]]
    return groups


def _fmt(v: float) -> str:
    return f"{v:.4g}"


class LogOddsClassifierMixin:
    """``predict_pd``, ``predict_proba`` and ``predict`` of a model that gives ``decision_function`` log-odds."""

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:  # pragma: no cover - every user defines it
        raise NotImplementedError

    def predict_pd(self, X: pd.DataFrame) -> np.ndarray:
        """Probability of default (fraction), shape (n,)."""
        return np.asarray(expit(self.decision_function(X)), dtype="float64")

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Shape (n, 2): columns no default, default."""
        p = self.predict_pd(X)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """0/1 at a PD of 0.5, shape (n,)."""
        return (self.decision_function(X) > 0).astype("int64")


class WoEScorecard(LogOddsClassifierMixin, ClassifierMixin, BaseEstimator):
    """WoE-binned logistic regression over the model inputs.

    Parameters
    ----------
    directions : mapping of str to int, optional
        Feature -> expected risk direction (-1, 0, +1), usually ``FeatureSpec.directions``;
        numeric bins are merged until the default rate follows it (0 or absent: the data's trend).
    max_bins : int, default 6
        Quantile bins per numeric feature before merging.
    min_bin_share : float, default 0.05
        Bins (and categorical levels) holding fewer rows than this share are merged.
    C : float, default 1.0
        Inverse L2 penalty of the logistic regression.
    random_state : int, default 0
        Seed passed to the logistic regression.

    Attributes
    ----------
    binnings_ : list of Binning
    coef_ : ndarray, shape (k,)
        Logistic coefficient of each feature's WoE, never positive (higher WoE, lower PD); 0 for a
        feature dropped because its fitted coefficient came out positive.
    intercept_ : float
    feature_names_in_ : ndarray of str
    classes_ : ndarray, ``[0, 1]``
    """

    def __init__(self, *, directions: Mapping[str, int] | None = None, max_bins: int = 6,
                 min_bin_share: float = 0.05, C: float = 1.0, random_state: int = 0) -> None:
        self.directions = directions
        self.max_bins = max_bins
        self.min_bin_share = min_bin_share
        self.C = C
        self.random_state = random_state

    def _bin_numeric(self, name: str, x: np.ndarray, y: np.ndarray, direction: int) -> Binning:
        ok = ~np.isnan(x)
        xs, ys = x[ok], y[ok]
        total_good, total_bad = float((y == 0).sum()), float((y == 1).sum())
        edges = np.unique(np.quantile(xs, np.linspace(0, 1, self.max_bins + 1)[1:-1])) if xs.size else np.array([])
        edges = edges[edges < xs.max()] if xs.size else edges
        idx = np.searchsorted(edges, xs, side="left")
        n = np.bincount(idx, minlength=edges.size + 1).astype("float64")
        bad = np.bincount(idx, weights=ys, minlength=edges.size + 1)
        groups = _merge_small(n, [[i] for i in range(edges.size + 1)], self.min_bin_share * len(y))
        if direction == 0 and len(groups) > 1:
            rates = np.array([bad[g].sum() / max(n[g].sum(), 1) for g in groups])
            # flat default rates (zero variance) have no trend: treat as rising, like a zero correlation
            direction = -1 if np.ptp(rates) > 0 and np.corrcoef(np.arange(len(groups)), rates)[0, 1] < 0 else 1
        groups = _merge_monotone(n, bad, groups, direction)
        new_edges = [float(edges[g[-1]]) for g in groups[:-1]]
        gn = np.array([n[g].sum() for g in groups])
        gb = np.array([bad[g].sum() for g in groups])
        woe = _woe(gn - gb, gb, total_good, total_bad)
        bounds = [-np.inf, *new_edges, np.inf]
        labels = tuple(f"({_fmt(bounds[i])}, {_fmt(bounds[i + 1])}]" for i in range(len(groups)))
        miss_n, miss_b = float((~ok).sum()), float(y[~ok].sum())
        missing_woe = float(_woe(np.array(miss_n - miss_b), np.array(miss_b), total_good, total_bad)) if miss_n else 0.0
        return Binning(name, "numeric", tuple(new_edges), {}, tuple(float(w) for w in woe), missing_woe, labels)

    def _bin_categorical(self, name: str, values: pd.Series, y: np.ndarray) -> Binning:
        total_good, total_bad = float((y == 0).sum()), float((y == 1).sum())
        text = values.astype(object).where(values.notna(), None)
        present = text.notna().to_numpy()
        frame = pd.DataFrame({"level": text[present].astype(str).to_numpy(), "y": y[present]})
        stats = frame.groupby("level", sort=True)["y"].agg(["count", "sum"])
        small = stats["count"] < self.min_bin_share * len(y)
        levels: dict[str, int] = {}
        woe: list[float] = []
        labels: list[str] = []
        for level, row in stats[~small].iterrows():
            levels[str(level)] = len(woe)
            woe.append(float(_woe(np.array(row["count"] - row["sum"]), np.array(row["sum"]), total_good, total_bad)))
            labels.append(str(level))
        if small.any():
            rest = stats[small]
            for level in rest.index:
                levels[str(level)] = len(woe)
            woe.append(float(_woe(np.array(rest["count"].sum() - rest["sum"].sum()), np.array(rest["sum"].sum()),
                                  total_good, total_bad)))
            labels.append("other: " + ", ".join(str(v) for v in rest.index))
        miss_n, miss_b = float((~present).sum()), float(y[~present].sum())
        missing_woe = float(_woe(np.array(miss_n - miss_b), np.array(miss_b), total_good, total_bad)) if miss_n else 0.0
        return Binning(name, "categorical", (), levels, tuple(woe), missing_woe, tuple(labels))

    def fit(self, X: pd.DataFrame, y: Any) -> WoEScorecard:
        """Bin every column of ``X`` (model inputs, shape (n, k)), then fit the logistic regression.

        Raises
        ------
        ConfigError
            If a parameter is out of range.
        TapeError
            If ``X`` is not a DataFrame or the labels are not 0/1 with both classes.
        """
        if not isinstance(self.max_bins, int) or self.max_bins < 2:
            raise ConfigError(f"WoEScorecard: max_bins must be an integer >= 2, got {self.max_bins!r}")
        if not 0 <= self.min_bin_share < 0.5:
            raise ConfigError(f"WoEScorecard: min_bin_share must be in [0, 0.5), got {self.min_bin_share!r}")
        if not isinstance(X, pd.DataFrame):
            raise TapeError(f"WoEScorecard.fit: expected the model-input DataFrame, got {type(X).__name__}")
        labels = np.asarray(y).ravel().astype("float64")
        if labels.size != len(X) or set(np.unique(labels).tolist()) != {0.0, 1.0}:
            raise TapeError(f"WoEScorecard.fit: need {len(X)} labels of 0/1 with both classes present")
        directions = dict(self.directions or {})
        binnings = []
        for col in X.columns:
            if isinstance(X[col].dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(X[col]):
                binnings.append(self._bin_categorical(col, X[col], labels))
            else:
                x = X[col].to_numpy(dtype="float64", na_value=np.nan)
                binnings.append(self._bin_numeric(col, x, labels, int(directions.get(col, 0))))
        self.binnings_ = binnings
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.n_features_in_ = X.shape[1]
        W = self._woe_matrix(X)
        # WoE rises as risk falls, so every coefficient must be <= 0; a positive one (two correlated
        # inputs sharing one effect) would turn a feature's bins upside down and break its risk
        # direction. The most positive is dropped and the rest refitted until none is left.
        active = np.ones(W.shape[1], dtype=bool)
        coef = np.zeros(W.shape[1])
        intercept = float(np.log(labels.mean() / (1.0 - labels.mean())))
        while active.any():
            lr = LogisticRegression(C=self.C, max_iter=2000, random_state=self.random_state)
            lr.fit(W[:, active], labels.astype(int))
            fitted = lr.coef_[0].astype("float64")
            if fitted.max() <= 0:
                coef[active], intercept = fitted, float(lr.intercept_[0])
                break
            active[np.flatnonzero(active)[int(np.argmax(fitted))]] = False
        self.coef_ = coef
        self.intercept_ = intercept
        self.classes_ = np.array([0, 1])
        return self

    def _woe_matrix(self, X: pd.DataFrame) -> np.ndarray:
        missing = [b.name for b in self.binnings_ if b.name not in X.columns]
        if missing:
            raise TapeError(f"WoEScorecard: missing model-input columns {missing}")
        return np.column_stack([b.transform(X[b.name]) for b in self.binnings_])

    def _check_fitted(self) -> None:
        if not hasattr(self, "binnings_"):
            raise NotFittedError("WoEScorecard is not fitted yet; call fit(X, y) first or load it with from_dict")

    def woe_transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """WoE of every feature of every row, shape (n, k), same index as ``X``."""
        self._check_fitted()
        return pd.DataFrame(self._woe_matrix(X), index=X.index, columns=[b.name for b in self.binnings_])

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Log-odds of default, shape (n,)."""
        self._check_fitted()
        return np.asarray(self._woe_matrix(X) @ self.coef_ + self.intercept_, dtype="float64")

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Log-odds contribution ``coef * WoE`` of every feature of every row, shape (n, k), index of ``X``.

        Exact and additive: ``contributions(X).sum(axis=1) + intercept_`` equals
        :meth:`decision_function` (the reference point is the intercept, a row whose every WoE is 0).
        """
        self._check_fitted()
        return pd.DataFrame(self._woe_matrix(X) * self.coef_, index=X.index,
                            columns=[b.name for b in self.binnings_])

    def points_table(self, scaling: ScoreScaling) -> pd.DataFrame:
        """Points of every bin: columns ``feature, bin, woe, points``.

        A row's score is the sum of its bins' points and equals ``scaling.score(predict_pd(X))``:
        each bin is worth ``-factor * coef * woe`` plus an equal share of ``offset - factor * intercept``.
        """
        self._check_fitted()
        share = (scaling.offset - scaling.factor * self.intercept_) / len(self.binnings_)
        rows = []
        for b, c in zip(self.binnings_, self.coef_, strict=True):
            for label, w in zip([*b.labels, "missing"], [*b.woe, b.missing_woe], strict=True):
                rows.append({"feature": b.name, "bin": label, "woe": w, "points": share - scaling.factor * c * w})
        return pd.DataFrame(rows, columns=["feature", "bin", "woe", "points"])

    def points(self, X: pd.DataFrame, scaling: ScoreScaling) -> np.ndarray:
        """Total scorecard points of each row, shape (n,) (the sum of its bins' points)."""
        self._check_fitted()
        return scaling.offset - scaling.factor * self.decision_function(X)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fitted state (bins, WoE, coefficients)."""
        self._check_fitted()
        return {
            "format": _FORMAT,
            "params": {"directions": dict(self.directions or {}), "max_bins": self.max_bins,
                       "min_bin_share": self.min_bin_share, "C": self.C, "random_state": self.random_state},
            "binnings": [b.to_dict() for b in self.binnings_],
            "coef": [float(c) for c in self.coef_],
            "intercept": self.intercept_,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WoEScorecard:
        """Rebuild a fitted scorecard from :meth:`to_dict` output.

        Raises
        ------
        ConfigError
            If ``data`` is not a saved scorecard.
        """
        if data.get("format") != _FORMAT:
            raise ConfigError(f"not a saved WoEScorecard: format {data.get('format')!r}, expected {_FORMAT!r}")
        card = cls(**data["params"])
        card.binnings_ = [Binning.from_dict(b) for b in data["binnings"]]
        if len(data["coef"]) != len(card.binnings_):
            raise ConfigError(f"saved WoEScorecard: {len(data['coef'])} coefficients for "
                              f"{len(card.binnings_)} features")
        card.coef_ = np.asarray(data["coef"], dtype="float64")
        card.intercept_ = float(data["intercept"])
        card.feature_names_in_ = np.asarray([b.name for b in card.binnings_], dtype=object)
        card.n_features_in_ = len(card.binnings_)
        card.classes_ = np.array([0, 1])
        return card
