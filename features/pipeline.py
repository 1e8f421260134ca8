"""From canonical lease records to model inputs: the scikit-learn transformer :class:`FeatureBuilder`.

The feature specification (:mod:`features.spec`) says what to compute; this module computes it.
Numeric features come out as ``float64`` (missing stays ``NaN``: LightGBM routes missing values
natively, so a thin-file lessee's bureau score is never imputed). Categorical features come out as
pandas ``category`` columns whose levels are fixed at ``fit``; a level not seen at ``fit`` (or rarer
than ``min_level_count``) becomes missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from features.contract import coerce_column
from features.exceptions import ConfigError, NotFittedError, TapeError
from features.schema import lease_field
from features.spec import FeatureDef, FeatureSpec, load_spec, spec_from_dict

__all__ = ["FeatureBuilder", "compute_features"]

_FORMAT = "poolgate.FeatureBuilder/1"


def _numeric(values: pd.Series, field_name: str, *, canonical: bool = True) -> np.ndarray:
    """Canonical field as float64 (booleans as 0 / 1, bad or empty cells as NaN); a mapping's extra
    column (``canonical=False``) as a number where its text is one, else NaN."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return values.astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    if not canonical:
        return pd.to_numeric(values.astype("string").str.strip(), errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan)
    typed, _ = coerce_column(values, lease_field(field_name))
    if isinstance(typed.dtype, pd.BooleanDtype):
        typed = typed.astype("Float64")
    return typed.to_numpy(dtype="float64", na_value=np.nan)


def _text(values: pd.Series) -> pd.Series:
    """Canonical field as trimmed text with missing values kept missing."""
    out = values.astype("string").str.strip()
    return out.mask(out == "")


def _numeric_feature(feature: FeatureDef, frame: pd.DataFrame) -> np.ndarray:
    cols = [_numeric(frame[name], name, canonical=feature.source == "spec") for name in feature.inputs]
    with np.errstate(divide="ignore", invalid="ignore"):
        match feature.transform:
            case "identity":
                out = cols[0].copy()
            case "ratio":
                out = cols[0] / cols[1]
            case "sum_ratio":
                out = (cols[0] + cols[1]) / cols[2]
            case "sum":
                out = cols[0] + cols[1]
            case "years_plus_months":
                out = cols[0] + cols[1] / 12.0
            case "is_missing":
                out = np.isnan(cols[0]).astype("float64")
            case other:  # pragma: no cover - the spec loader refuses unknown transforms
                raise ConfigError(f"feature {feature.name!r}: unknown transform {other!r}")
    if feature.clip is not None:
        out = np.clip(out, feature.clip[0], feature.clip[1])  # NaN stays NaN, inf is clipped
    out[np.isinf(out)] = np.nan
    return out


def compute_features(spec: FeatureSpec, records: pd.DataFrame, *, model_inputs_only: bool = True) -> pd.DataFrame:
    """Compute the features of ``spec`` from canonical records, before categorical levels are fixed.

    Parameters
    ----------
    spec : FeatureSpec
        The feature specification.
    records : DataFrame, shape (n, ...)
        Canonical lease records (typed, or text cells as read from CSV).
    model_inputs_only : bool, default True
        Compute only the model inputs; ``False`` also computes documented-only features (such as
        seasoning) whose input fields are present.

    Returns
    -------
    DataFrame, shape (n, k)
        Numeric features as float64, categorical ones as trimmed text; same index as ``records``.
    """
    feats = spec.model_inputs if model_inputs_only else tuple(
        f for f in spec.features if f.model_input or all(n in records.columns for n in f.inputs))
    data: dict[str, Any] = {}
    for f in feats:
        if f.kind == "categorical":
            data[f.name] = _text(records[f.inputs[0]])
        else:
            data[f.name] = _numeric_feature(f, records)
    return pd.DataFrame(data, index=records.index)


class FeatureBuilder(TransformerMixin, BaseEstimator):
    """Turn canonical lease records into the model's input frame.

    Parameters
    ----------
    spec : FeatureSpec, optional
        The feature specification; the shipped one (:func:`features.spec.load_spec`) when ``None``.
    min_level_count : int, default 1
        A categorical level seen fewer times than this at ``fit`` is treated as missing.

    Attributes
    ----------
    spec_ : FeatureSpec
        The specification used.
    feature_names_in_ : ndarray of str
        Canonical fields read (those the model inputs need).
    feature_names_out_ : list of str
        Model input names, in order.
    categories_ : dict of str to list of str
        Levels of each categorical feature, fixed at ``fit`` (sorted).
    ranges_ : dict of str to [float, float]
        Observed minimum and maximum of each numeric feature at ``fit`` (NaN when all missing).
    n_features_in_ : int
        Number of canonical fields read.
    """

    def __init__(self, spec: FeatureSpec | None = None, *, min_level_count: int = 1) -> None:
        self.spec = spec
        self.min_level_count = min_level_count

    def _check_columns(self, spec: FeatureSpec, X: Any, step: str) -> None:
        if not isinstance(X, pd.DataFrame):
            raise TapeError(f"FeatureBuilder.{step}: expected a pandas DataFrame of canonical lease records, "
                            f"got {type(X).__name__}")
        missing = [c for c in spec.required_fields if c not in X.columns]
        if missing:
            users = sorted({f.name for f in spec.model_inputs if set(f.inputs) & set(missing)})
            raise TapeError(f"FeatureBuilder.{step}: missing canonical columns {missing}, needed by "
                            f"features {users}")

    def fit(self, X: pd.DataFrame, y: Any = None) -> FeatureBuilder:
        """Learn categorical levels and numeric ranges from canonical records.

        Parameters
        ----------
        X : DataFrame, shape (n, ...)
            Canonical lease records; extra columns are ignored.
        y : ignored

        Raises
        ------
        ConfigError
            If ``min_level_count`` is not a positive integer.
        TapeError
            If ``X`` is not a DataFrame or lacks a canonical field the specification needs.
        """
        if not isinstance(self.min_level_count, int) or isinstance(self.min_level_count, bool) \
                or self.min_level_count < 1:
            raise ConfigError(f"FeatureBuilder: min_level_count must be an integer >= 1, "
                              f"got {self.min_level_count!r}")
        spec = self.spec if self.spec is not None else load_spec()
        self._check_columns(spec, X, "fit")
        raw = compute_features(spec, X)
        categories: dict[str, list[str]] = {}
        ranges: dict[str, list[float]] = {}
        for f in spec.model_inputs:
            col = raw[f.name]
            if f.kind == "categorical":
                counts = col.value_counts(dropna=True)
                categories[f.name] = sorted(str(v) for v, n in counts.items() if n >= self.min_level_count)
            else:
                vals = col.to_numpy(dtype="float64")
                ok = vals[~np.isnan(vals)]
                ranges[f.name] = [float(ok.min()), float(ok.max())] if ok.size else [float("nan")] * 2
        self.spec_ = spec
        self.categories_ = categories
        self.ranges_ = ranges
        self.feature_names_in_ = np.asarray(spec.required_fields, dtype=object)
        self.n_features_in_ = len(spec.required_fields)
        self.feature_names_out_ = spec.names
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "categories_")

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Compute the model inputs.

        Parameters
        ----------
        X : DataFrame, shape (n, ...)
            Canonical lease records; extra columns (ids included) are ignored.

        Returns
        -------
        DataFrame, shape (n, k)
            Columns :attr:`feature_names_out_`; numeric float64, categorical ``category`` with the
            levels fixed at ``fit``. Same index as ``X``.

        Raises
        ------
        NotFittedError
            If called before ``fit``.
        TapeError
            If ``X`` lacks a canonical field the specification needs.
        """
        if not self.__sklearn_is_fitted__():
            raise NotFittedError("FeatureBuilder is not fitted yet; call fit(records) first "
                                 "or load a fitted one with FeatureBuilder.from_dict")
        self._check_columns(self.spec_, X, "transform")
        out = compute_features(self.spec_, X)
        unseen: dict[str, tuple[int, int]] = {}
        for name, levels in self.categories_.items():
            dtype = pd.CategoricalDtype(pd.Index(levels, dtype=object))
            col = out[name].astype(object)
            known = col.isin(levels).to_numpy()  # unseen levels and missing values become NaN
            present = col.notna().to_numpy()
            unseen[name] = (int((present & ~known).sum()), int(present.sum()))
            out[name] = pd.Categorical(col.where(known, None), dtype=dtype)
        self.last_unseen_ = unseen
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Model input names, in output order."""
        if not self.__sklearn_is_fitted__():
            raise NotFittedError("FeatureBuilder is not fitted yet; call fit(records) first")
        return np.asarray(self.feature_names_out_, dtype=object)

    def to_dict(self) -> dict[str, Any]:
        """Fitted state as JSON-safe data (specification included), read back by :meth:`from_dict`."""
        if not self.__sklearn_is_fitted__():
            raise NotFittedError("FeatureBuilder is not fitted yet; nothing to save")
        return {
            "format": _FORMAT,
            "min_level_count": self.min_level_count,
            "spec": self.spec_.to_dict(),
            "categories": {k: list(v) for k, v in self.categories_.items()},
            "ranges": {k: [None if np.isnan(v) else v for v in r] for k, r in self.ranges_.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureBuilder:
        """Rebuild a fitted builder from :meth:`to_dict` output (no code is executed).

        Raises
        ------
        ConfigError
            If ``data`` is not a saved FeatureBuilder or does not match its specification.
        """
        if data.get("format") != _FORMAT:
            raise ConfigError(f"not a saved FeatureBuilder: format {data.get('format')!r}, expected {_FORMAT!r}")
        spec = spec_from_dict(data["spec"], source="bundle.json spec")
        wanted = set(spec.categorical)
        if set(data["categories"]) != wanted:
            raise ConfigError(f"saved FeatureBuilder: categorical levels for {sorted(data['categories'])} "
                              f"but the specification has categorical features {sorted(wanted)}")
        builder = cls(spec, min_level_count=int(data["min_level_count"]))
        builder.spec_ = spec
        builder.categories_ = {k: [str(v) for v in lv] for k, lv in data["categories"].items()}
        builder.ranges_ = {k: [float("nan") if v is None else float(v) for v in r]
                           for k, r in data["ranges"].items()}
        builder.feature_names_in_ = np.asarray(spec.required_fields, dtype=object)
        builder.n_features_in_ = len(spec.required_fields)
        builder.feature_names_out_ = spec.names
        return builder
