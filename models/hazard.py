"""The forward model: monthly default and prepayment hazards from a state at a month-end, and the PD
over the next 12 months and the remaining term at the cut-off, prepayment competing.

Three monotone LightGBM models (optionally boosted on an additive logistic regression, as
:func:`models.linear.fit_boosted_trees` fits them; off by default, see :func:`fit_forward_model`) read
the origination inputs (the feature builder of the specification) plus the behaviour at the month-end
``s`` (the specification's ``snapshot`` inputs):

* ``default``: for a contract current at ``s`` (0 dpd), the probability that the delinquency that ends
  in default starts in month ``s + 1`` (its first 90+ dpd month-end comes ``lag`` = 3 months later);
* ``prepay``: for a contract current at ``s`` that does not start such a run, the probability it
  prepays in month ``s + 1``;
* ``open``: for a contract past due at ``s``, the probability that the run it is in ends in default.

At the cut-off, a current asset is rolled forward month by month as if it stays current (months on
book and remaining term advance, payment behaviour stays clean): with ``h_d(j)``, ``h_p(j)`` the
hazards of month ``s + j`` and ``S(j) = prod_{i<=j} (1 - h_d(i)) (1 - h_p(i))``,

``PD(H) = sum_{j <= H - lag} S(j-1) h_d(j)``, ``prepay = sum_j S(j-1) (1 - h_d(j)) h_p(j)``,

the cumulative incidence of default with prepayment competing, over ``H`` = 12 months and over the
remaining term (every month to maturity; the run may end after it). A past-due asset defaults with
``p_open`` (within ``lag`` months) or cures and then follows the same roll.

**Which model sets the band, and its explanation.** The band reads ``pd_remaining``, a function of
the ``default`` hazards over the remaining months (and of ``open`` for a past-due asset). The reason
codes are the exact contributions (TreeSHAP, plus the logistic terms with a logistic base) to the raw log-odds of the
hazard at the cut-off state: ``default`` for a current asset, ``open`` for a past-due one; they sum
to that raw score (``base_value`` holds the sampling offset). Models are stored as LightGBM text and
JSON; nothing is pickled.

**Sampling.** Snapshots may be thinned (:func:`features.snapshots.build_snapshots` ``fraction``), all
rows followed by an event kept. The hazards are then fitted on the events plus a ``fraction`` share of
the non-events and their log-odds shifted by ``ln(fraction)`` (the exact prior correction of a
logistic model under outcome-based sampling).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.exceptions import ConfigError
from features.io import atomic_write
from features.pipeline import FeatureBuilder
from features.spec import FeatureSpec
from models.explain import Explanation, contributions
from models.linear import LinearScorecard, fit_boosted_trees

__all__ = ["FORWARD_FORMAT", "HAZARDS", "ForwardFigures", "ForwardModel", "HazardPart", "cutoff_state",
           "fit_forward_model", "forward_inputs", "hazard_directions", "hazard_rows"]

FORWARD_FORMAT = "poolgate.ForwardModel/1"
HAZARDS = ("default", "prepay", "open")
LAG_MONTHS = 3        # a run of missed instalments reaches 90+ dpd at its fourth month-end
HORIZON_MONTHS = 12


@dataclass
class HazardPart:
    """One fitted monthly hazard: trees (LightGBM text), an optional logistic base, a log-odds offset."""

    trees: lgb.Booster
    linear: LinearScorecard | None
    offset: float
    ranges: dict[str, tuple[float, float]]   # behaviour inputs are held to the range seen at fit

    def _clip(self, X: pd.DataFrame) -> pd.DataFrame:
        """Behaviour inputs outside the fitted range become its edge (the logistic base would extrapolate a
        line fitted on, e.g., paid-to-due ratios that are all 1 for current contracts)."""
        if not self.ranges:
            return X
        X = X.copy(deep=False)
        for name, (lo, hi) in self.ranges.items():
            X[name] = X[name].clip(lo, hi)
        return X

    def raw_rolled(self, base: pd.DataFrame, who: np.ndarray, stacked: pd.DataFrame,
                   rolled: Sequence[str]) -> np.ndarray:
        """:meth:`raw` of ``stacked`` rows that repeat the ``base`` rows ``who`` and differ from them only in
        the numeric ``rolled`` columns, shape (len(stacked),).

        The trees score every stacked row; the logistic base is additive, so its terms of the other inputs
        are computed once per base row, and each rolled input's term, affine in a non-missing value held
        within its training quantiles (:meth:`models.LinearScorecard.bounds`), from two probe rows (the
        same numbers as :meth:`raw`, without coding every categorical input again).
        """
        stacked = self._clip(stacked)
        out = np.asarray(self.trees.predict(stacked, raw_score=True), dtype="float64") + self.offset
        if self.linear is None or not len(base):
            return out
        b = self._clip(base)
        terms = self.linear.contributions(b)
        fixed = terms.drop(columns=list(rolled)).to_numpy().sum(axis=1) + float(self.linear.intercept_)
        out += fixed[who]
        for name in rolled:
            held = self.linear.bounds(name)
            lo, hi = held or (0.0, 1.0)
            probe = b.iloc[[0, 0]].copy()
            probe[name] = [lo, hi]
            at = self.linear.contributions(probe)[name].to_numpy()
            v = stacked[name].to_numpy(dtype="float64")
            v = np.clip(v, lo, hi) if held else v
            out += at[0] + ((at[1] - at[0]) / (hi - lo) * (v - lo) if hi > lo else 0.0)
        return out

    def raw(self, X: pd.DataFrame) -> np.ndarray:
        """Raw log-odds of the hazard, shape (n,)."""
        X = self._clip(X)
        out = np.asarray(self.trees.predict(X, raw_score=True), dtype="float64") + self.offset
        if self.linear is not None:
            out = out + self.linear.decision_function(X)
        return out

    def explain(self, X: pd.DataFrame) -> Explanation:
        """Exact contributions; ``contributions.sum(axis=1) + base_value == raw(X)``."""
        X = self._clip(X)
        tree = contributions(self.trees, X)
        values, base = tree.contributions, tree.base_value + self.offset
        if self.linear is not None:
            values = values + self.linear.contributions(X).reindex(columns=values.columns, fill_value=0.0)
            base = base + float(self.linear.intercept_)
        return Explanation(contributions=values, base_value=base, raw_score=values.to_numpy().sum(axis=1) + base)


@dataclass(frozen=True)
class ForwardFigures:
    """Per asset at the cut-off (each shape (n,)): fractions, months, and the band model's raw score."""

    pd_12m: np.ndarray
    pd_remaining: np.ndarray
    prepay: np.ndarray
    remaining_life: np.ndarray     # expected months to prepayment, default month-end or maturity
    raw_score: np.ndarray          # log-odds of the hazard at the cut-off state (default or open)
    past_due: np.ndarray           # bool: the open model set the band


def _write(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def cutoff_state(records: pd.DataFrame) -> pd.DataFrame:
    """Snapshot behaviour at the cut-off from the canonical status fields, one row per record.

    ``months_on_book_at_s`` = ``months_on_book``; ``remaining_term_at_s`` = term minus it;
    ``current_dpd_at_s`` / ``worst_dpd_at_s`` the record's; ``paid_to_due_at_s`` = instalments paid
    / instalments due (months on book, at most the term; 1 before the first due date).
    """
    def num(name: str) -> np.ndarray:
        return pd.to_numeric(records[name], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)

    mob, term = num("months_on_book"), num("term_months")
    due = np.minimum(mob, term)
    return pd.DataFrame({
        "months_on_book_at_s": mob,
        "remaining_term_at_s": term - mob,
        "current_dpd_at_s": num("current_dpd"),
        "worst_dpd_at_s": num("worst_dpd"),
        "paid_to_due_at_s": np.where(due > 0, num("instalments_paid") / np.where(due > 0, due, 1.0), 1.0),
        "instalments_paid_at_s": num("instalments_paid"),
        "months_delinquent_at_s": np.full(len(records), np.nan),
    }, index=records.index)


def forward_inputs(builder: FeatureBuilder, spec: FeatureSpec, records: pd.DataFrame,
                   state: pd.DataFrame) -> pd.DataFrame:
    """Origination inputs of ``records`` then the specification's snapshot inputs from ``state``, shape (n, k)."""
    X = builder.transform(records).reset_index(drop=True)
    for f in spec.snapshot_inputs:
        X[f.name] = pd.to_numeric(state[f.name], errors="coerce").to_numpy(dtype="float64")
    return X


class ForwardModel:
    """The three hazards, the feature builder and the snapshot inputs; see the module docstring."""

    def __init__(self, builder: FeatureBuilder, snapshot_spec: FeatureSpec, parts: Mapping[str, HazardPart],
                 metadata: Mapping[str, Any] | None = None, *, lag: int = LAG_MONTHS) -> None:
        missing = [h for h in HAZARDS if h not in parts]
        if missing:
            raise ConfigError(f"ForwardModel: missing hazards {missing}; needs {', '.join(HAZARDS)}")
        self.builder = builder
        self.snapshot_spec = snapshot_spec
        self.parts = dict(parts)
        self.lag = int(lag)
        self.metadata: dict[str, Any] = dict(metadata or {})

    @property
    def snapshot_names(self) -> list[str]:
        return [f.name for f in self.snapshot_spec.snapshot_inputs]

    @property
    def feature_names(self) -> list[str]:
        """Inputs in model order: origination inputs, then behaviour at ``s``."""
        return list(self.builder.get_feature_names_out()) + self.snapshot_names

    def inputs(self, records: pd.DataFrame, state: pd.DataFrame) -> pd.DataFrame:
        """Model inputs from origination records and behaviour at ``s`` (aligned row by row)."""
        return forward_inputs(self.builder, self.snapshot_spec, records, state)

    def predict_hazard(self, hazard: str, X: pd.DataFrame) -> np.ndarray:
        """Monthly probability of ``hazard`` (``default``, ``prepay`` or ``open``), shape (n,)."""
        return _sigmoid(self.parts[hazard].raw(X))

    def at_cutoff(self, records: pd.DataFrame, *, max_months: int = 120, batch_rows: int = 400_000) -> ForwardFigures:
        """PD over 12 months and the remaining term, prepayment, remaining life, for records at the cut-off.

        The months ahead of every asset are scored in stacked batches of at most ``batch_rows``
        asset-months (memory about ``batch_rows`` x inputs x 8 bytes).
        """
        state = cutoff_state(records)
        X = self.inputs(records, state)
        n = len(X)
        dpd = np.nan_to_num(state["current_dpd_at_s"].to_numpy(), nan=0.0)
        past_due = dpd > 0
        raw = self.parts["default"].raw(X)
        if past_due.any():
            raw[past_due] = self.parts["open"].raw(X.loc[past_due])
        p_open = np.where(past_due, _sigmoid(raw), 0.0)
        mob = np.nan_to_num(state["months_on_book_at_s"].to_numpy(), nan=0.0)
        remaining = np.clip(np.nan_to_num(state["remaining_term_at_s"].to_numpy(), nan=0.0), 0, max_months).astype(int)
        pd12, pd_rem, prepay, life = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
        roll = X.copy()
        roll["current_dpd_at_s"] = 0.0
        # a past-due asset that does not default cures: it has paid its arrears
        roll["paid_to_due_at_s"] = np.where(past_due, 1.0, roll["paid_to_due_at_s"].to_numpy())
        ends = np.cumsum(remaining)
        first = 0
        while first < n:
            last = int(np.searchsorted(ends, ends[first - 1] + batch_rows if first else batch_rows, side="right"))
            last = max(last, first + 1)
            assets = np.arange(first, min(last, n))
            reps = remaining[assets]
            who = np.repeat(assets, reps)                                 # asset of each stacked row
            j = np.arange(len(who)) - np.repeat(np.cumsum(reps) - reps, reps) + 1   # months after the cut-off
            rows = roll.iloc[who].reset_index(drop=True)
            ahead = {"months_on_book_at_s": mob[who] + j - 1,            # the state month before month s + j
                     "remaining_term_at_s": remaining[who] - (j - 1)}
            rolled = tuple(name for name in ahead if name in rows.columns)
            for name in rolled:
                rows[name] = ahead[name]
            base = roll.iloc[assets].reset_index(drop=True)
            local = who - first
            h_d = _sigmoid(self.parts["default"].raw_rolled(base, local, rows, rolled)) if len(rows) else np.zeros(0)
            h_p = _sigmoid(self.parts["prepay"].raw_rolled(base, local, rows, rolled)) if len(rows) else np.zeros(0)
            step = np.log(np.maximum((1.0 - h_d) * (1.0 - h_p), 1e-300))
            cum = np.cumsum(step)
            start = np.repeat(np.cumsum(reps) - reps, reps)
            before = cum - step - np.concatenate([[0.0], cum])[start]     # log S(j - 1), within the asset
            s_prev = np.exp(before)
            d = s_prev * h_d
            p = s_prev * (1.0 - h_d) * h_p
            size = n
            pd_rem += np.bincount(who, d, minlength=size)
            pd12 += np.bincount(who, d * (j <= HORIZON_MONTHS - self.lag), minlength=size)
            prepay += np.bincount(who, p, minlength=size)
            life += np.bincount(who, d * (j + self.lag) + p * j, minlength=size)
            first = int(assets[-1]) + 1
        surv = 1.0 - pd_rem - prepay
        life += surv * remaining
        opened = np.maximum(self.lag - np.floor(dpd / 30.0), 1.0)
        return ForwardFigures(
            pd_12m=p_open + (1.0 - p_open) * pd12,
            pd_remaining=p_open + (1.0 - p_open) * pd_rem,
            prepay=(1.0 - p_open) * prepay,
            remaining_life=p_open * opened + (1.0 - p_open) * life,
            raw_score=raw,
            past_due=past_due,
        )

    def explain(self, records: pd.DataFrame) -> Explanation:
        """Exact contributions to :attr:`ForwardFigures.raw_score` (the band model's log-odds at the cut-off)."""
        state = cutoff_state(records)
        X = self.inputs(records, state)
        past_due = np.nan_to_num(state["current_dpd_at_s"].to_numpy(), nan=0.0) > 0
        out = self.parts["default"].explain(X)
        if past_due.any():
            other = self.parts["open"].explain(X.loc[past_due])
            values = out.contributions.copy()
            values.loc[past_due] = other.contributions.to_numpy()
            base = out.base_value.copy()
            base[past_due] = other.base_value
            out = Explanation(contributions=values, base_value=base, raw_score=values.to_numpy().sum(axis=1) + base)
        out.contributions.index = records.index
        return out

    # -- storage ----------------------------------------------------------------------------------
    def save(self, folder: str | Path) -> dict[str, str]:
        """Write ``forward.json`` and one LightGBM text (and logistic JSON) per hazard; returns name -> text."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        texts: dict[str, str] = {}
        meta: dict[str, Any] = {"format": FORWARD_FORMAT, "lag": self.lag, "builder": self.builder.to_dict(),
                                "snapshot_spec": self.snapshot_spec.to_dict(), "feature_names": self.feature_names,
                                "metadata": self.metadata, "hazards": {}}
        for name, part in self.parts.items():
            texts[f"{name}.txt"] = part.trees.model_to_string()
            entry: dict[str, Any] = {"trees": f"{name}.txt", "offset": part.offset,
                                     "ranges": {k: list(v) for k, v in part.ranges.items()}}
            if part.linear is not None:
                texts[f"{name}_linear.json"] = json.dumps(part.linear.to_dict(), indent=2, sort_keys=True,
                                                          ensure_ascii=False) + "\n"
                entry["linear"] = f"{name}_linear.json"
            meta["hazards"][name] = entry
        texts["forward.json"] = json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        for name, text in texts.items():
            _write(folder / name, text)
        return texts

    @classmethod
    def from_texts(cls, texts: Mapping[str, str]) -> ForwardModel:
        """Rebuild from the texts :meth:`save` wrote (parsing text and JSON only)."""
        from features.spec import spec_from_dict

        meta = json.loads(texts["forward.json"])
        if meta.get("format") != FORWARD_FORMAT:
            raise ConfigError(f"forward.json: format {meta.get('format')!r}, expected {FORWARD_FORMAT!r}")
        parts = {}
        for name, entry in meta["hazards"].items():
            linear = LinearScorecard.from_dict(json.loads(texts[entry["linear"]])) if "linear" in entry else None
            parts[name] = HazardPart(trees=lgb.Booster(model_str=texts[entry["trees"]]), linear=linear,
                                     offset=float(entry["offset"]),
                                     ranges={k: (float(v[0]), float(v[1])) for k, v in entry["ranges"].items()})
        model = cls(FeatureBuilder.from_dict(meta["builder"]),
                    spec_from_dict(meta["snapshot_spec"], source="forward.json snapshot_spec"), parts,
                    meta.get("metadata", {}), lag=int(meta["lag"]))
        if model.feature_names != meta["feature_names"]:
            raise ConfigError(f"forward.json: feature_names {meta['feature_names']} differ from the model's "
                              f"{model.feature_names}")
        return model


def hazard_rows(snapshots: pd.DataFrame, *, fraction: float, seed: int = 0) -> dict[str, np.ndarray]:
    """Row masks and labels of the three hazards from snapshots (:func:`features.snapshots.build_snapshots`).

    A row is usable when its next month is known: the outcome came (not ``censored``) or the history
    runs ``lag`` months past ``s`` (a miss in month ``s + 1`` has had time to become a default).
    ``fraction`` is the snapshots' sampling share: the default hazard keeps a prepayment row (always
    kept by the sampling) only with that chance, so that every non-event has the same inclusion rate.

    Returns
    -------
    dict
        ``default``, ``prepay``, ``open``: boolean masks; ``y_default``, ``y_prepay``, ``y_open``: 0/1.
    """
    s = snapshots["s"].to_numpy()
    outcome = snapshots["outcome"].astype(str).to_numpy()
    event = snapshots["event_month"].to_numpy()
    entry = snapshots["entry_month"].to_numpy()
    usable = (outcome != "censored") | (snapshots["last_month"].to_numpy() >= s + LAG_MONTHS)
    current = snapshots["current_dpd_at_s"].to_numpy() <= 0
    y_def = (outcome == "default") & (entry == s + 1)
    y_pre = (outcome == "prepay") & (event == s + 1)
    u = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), 17]))).random(len(s))
    thin = ~y_pre | (u < fraction) if fraction < 1.0 else np.ones(len(s), dtype=bool)
    return {
        "default": usable & current & thin, "y_default": y_def.astype(np.int64),
        "prepay": usable & current & ~y_def, "y_prepay": y_pre.astype(np.int64),
        "open": usable & ~current & thin, "y_open": ((outcome == "default") & (entry <= s)).astype(np.int64),
    }


def hazard_directions(builder: FeatureBuilder, spec: FeatureSpec, columns: Sequence[str]) -> dict[str, dict[str, int]]:
    """Monotone constraints of each hazard over ``columns``: the specification's risk directions for
    ``default`` and ``open`` (origination inputs and behaviour at ``s``), none for ``prepay`` (the
    directions are about default, not prepayment)."""
    directions = {**builder.spec_.directions, **{f.name: f.direction for f in spec.snapshot_inputs}}
    directions = {k: v for k, v in directions.items() if k in columns}
    return {"default": directions, "open": directions, "prepay": {k: 0 for k in directions}}


def fit_forward_model(X: pd.DataFrame, rows: Mapping[str, np.ndarray], fit: np.ndarray, valid: np.ndarray, *,
                      builder: FeatureBuilder, spec: FeatureSpec, params: Mapping[str, Mapping[str, Any]],
                      fraction: float, linear_base: bool = False, refit: bool = False, random_state: int = 0,
                      metadata: Mapping[str, Any] | None = None) -> ForwardModel:
    """Fit the three hazards on snapshot model inputs.

    Parameters
    ----------
    X : DataFrame, shape (n, k)
        Model inputs of the snapshot rows (:meth:`ForwardModel.inputs` order).
    rows : mapping
        From :func:`hazard_rows`.
    fit, valid : ndarray of bool, shape (n,)
        Fitting and early-stopping rows (the out-of-time split by snapshot date).
    builder, spec
        The fitted origination feature builder and the specification (its snapshot inputs and all
        risk directions become monotone constraints, :func:`hazard_directions`).
    params : mapping of str to mapping
        :class:`models.PDClassifier` settings per hazard (``default``, ``prepay``, ``open``).
    fraction : float
        The snapshots' sampling share (the offset of ``default`` and ``prepay`` is ``ln(fraction)``).
    linear_base : bool, default False
        Boost the trees on an additive logistic regression (:func:`models.linear.fit_boosted_trees`).
        Off by default: the trees are monotone each, so on top of a straight logistic line they can
        steepen a risk effect but never flatten it, and the hazards of the low-risk assets (high
        income, long job tenure, high bureau scores, where the effects flatten) came out too low
        (measured in ``docs/training.md``).
    refit : bool, default False
        Fit each hazard again on the fitting and validation rows together, with the tree count and the
        logistic penalty chosen on the first fit (:func:`models.linear.fit_boosted_trees`).
    """
    directions = hazard_directions(builder, spec, list(X.columns))
    parts: dict[str, HazardPart] = {}
    for name in HAZARDS:
        mask = rows[name]
        y = rows[f"y_{name}"]
        a, b = mask & fit, mask & valid
        if y[a].min(initial=1) == y[a].max(initial=0) or y[b].min(initial=1) == y[b].max(initial=0):
            raise ConfigError(f"fit_forward_model: the {name} hazard needs events and non-events in both the "
                              f"fitting ({int(y[a].sum())} of {int(a.sum())}) and the validation rows "
                              f"({int(y[b].sum())} of {int(b.sum())})")
        linear, trees, _ = fit_boosted_trees(dict(params[name]), X.loc[a].reset_index(drop=True), y[a],
                                             X.loc[b].reset_index(drop=True), y[b], directions=directions[name],
                                             random_state=random_state, linear_base=linear_base, refit=refit)
        offset = math.log(fraction) if name in ("default", "prepay") else 0.0
        seen = X.loc[a | b] if refit else X.loc[a]
        ranges = {f.name: (float(seen[f.name].min()), float(seen[f.name].max())) for f in spec.snapshot_inputs}
        parts[name] = HazardPart(trees=trees.booster_, linear=linear, offset=offset, ranges=ranges)
    return ForwardModel(builder, spec, parts, metadata)
