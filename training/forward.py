"""The forward model of a retraining run: snapshots, the hazards, and their figures at the cut-off.

:func:`fit_forward` builds snapshots of the book (:mod:`features.snapshots`, checked by the leakage
guard on a sample of contracts), splits them out of time by snapshot date (the newest 6 usable
months test, the 6 before validation, the rest fitting), chooses each hazard's tree family on the
validation months (:func:`choose_hazard_families`: the model-selection issue's families of
:data:`training.select.TREE_FAMILIES`, stumps to LightGBM's 31 leaves, with the declared directions,
the simplest within one standard error of the least validation log loss), fits the three hazards of
:mod:`models.hazard` and measures:

* the hazards on the test months (``forward_auc_<hazard>_oot``, ``forward_events_<hazard>_oot``);
* at the cut-off, on the book's contracts running then (last history row current, under 90 dpd), the
  model's PD over 12 months and the remaining term; with ``truth`` (synthetic books) against the
  generator's forward oracle (``pd_12m_fwd``, ``pd_remaining_fwd``) and the outcomes the generator
  drew after the cut-off: AUC of both, calibration error (mean over PD deciles of |mean PD - realised
  rate|), mean PD by seasoning bucket (0-5, 6-11, 12-23, 24+ months on book) against the oracle's, and
  expected defaults (sum of PD x outstanding principal) against the oracle's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from features.exceptions import ConfigError
from features.io import TapeBatches
from features.pipeline import FeatureBuilder
from features.snapshots import build_snapshots, snapshot_split, verify_snapshots
from features.spec import FeatureSpec
from models.hazard import (
    HAZARDS,
    LAG_MONTHS,
    ForwardModel,
    cutoff_state,
    fit_forward_model,
    forward_inputs,
    hazard_directions,
    hazard_rows,
)
from models.pd_model import PDClassifier
from training.errors import TrainingError
from training.metrics import calibration_error
from training.select import TREE_FAMILIES

__all__ = ["HAZARD_FAMILIES", "SEASONING_BUCKETS", "ForwardConfig", "ForwardResult", "HazardChoice", "attach_forward",
           "check_hazard_events", "choose_hazard_families", "fit_forward", "forward_figures"]

log = logging.getLogger(__name__)

#: The monthly history: a frame, or a tape read in batches (:class:`features.io.TapeBatches`; every
#: pass over it holds one batch; :func:`fit_forward` reads it four times).
History: TypeAlias = pd.DataFrame | TapeBatches

SEASONING_BUCKETS: tuple[tuple[str, int, int], ...] = (("0_5", 0, 5), ("6_11", 6, 11), ("12_23", 12, 23),
                                                        ("24plus", 24, 10_000))
#: Tree families each hazard chooses from (:data:`training.select.TREE_FAMILIES` up to LightGBM's own
#: 31 leaves), simplest first.
HAZARD_FAMILIES: tuple[str, ...] = ("stumps", "trees_4", "trees_8", "lightgbm_default")
#: Every candidate boosts up to this many trees, stopped early on the validation months.
_ROUNDS: dict[str, Any] = {"n_estimators": 3000, "early_stopping_rounds": 50}


@dataclass(frozen=True)
class ForwardConfig:
    """Settings of the forward model.

    Parameters
    ----------
    fraction : float
        Share of snapshot rows kept (every row followed by an event is kept). Default 0.1: a
        200,000-contract book gives about 4 million snapshots, of which about 0.45 million are fitted.
    max_rows : int
        The share is lowered to ``max_rows`` / history rows when that is smaller, so that a large book
        keeps about ``max_rows`` non-event snapshots (plus its events). Default 1,000,000: a
        1,000,000-contract book (24 million history rows) keeps about 4 % of them.
    test_months, valid_months : int
        Snapshot months of the test and validation parts (newest first). Default 6 and 6.
    families : tuple of str
        Tree families (:data:`training.select.TREE_FAMILIES` names) each hazard chooses from on the
        validation months (:func:`choose_hazard_families`). Default :data:`HAZARD_FAMILIES`; one name
        fixes the family.
    choose_rows : int
        The families are compared on at most this many fitting rows of each hazard (a seeded uniform
        sample); the chosen one is then fitted on all of them. Default 200,000.
    learning_rate : float or None
        Learning rate of every family (None: the families' own, 0.03-0.1). Default 0.1: the families'
        own rates gave stumps about 1,600 trees on a 200,000-contract book, and every tree is scored on
        each of the ten million asset-months rolled forward from the cut-off on a 1,000,000-contract
        book.
    linear_base : bool
        Boost the trees on an additive logistic regression (as the origination model). Default False
        (:func:`models.hazard.fit_forward_model` says why).
    refit : bool
        Fit the hazards again on the fitting and validation months together (complexity chosen on the
        first fit). Default False.
    threads : int
        LightGBM threads. Default 1.
    verify_contracts : int
        Contracts whose snapshots the leakage guard recomputes. Default 100.
    """

    fraction: float = 0.1
    max_rows: int = 1_000_000
    test_months: int = 6
    valid_months: int = 6
    families: tuple[str, ...] = HAZARD_FAMILIES
    choose_rows: int = 200_000
    learning_rate: float | None = 0.1
    linear_base: bool = False
    refit: bool = False
    threads: int = 1
    verify_contracts: int = 100


@dataclass(frozen=True)
class HazardChoice:
    """The tree family chosen for one hazard and what every candidate scored on the validation months.

    ``scores`` maps family -> (validation log loss, trees after early stopping); ``error`` is the
    standard error of the winner's loss difference to the best family's; ``rows`` the fitting rows the
    families were compared on.
    """

    hazard: str
    family: str
    params: Mapping[str, Any]
    scores: Mapping[str, tuple[float, int]]
    error: float
    rows: int


#: What each hazard's rows are and what its events are called, in plain words (for messages).
_HAZARD_WORDS: dict[str, tuple[str, str]] = {
    "default": ("contracts current at a month-end: does the delinquency that ends in default start the next month?",
                "defaults"),
    "prepay": ("contracts current at a month-end: do they prepay the next month?", "prepayments"),
    "open": ("contracts past due at a month-end: does that delinquency end in default?", "defaults"),
}
#: What a training run does without a forward model (the end of the ``no forward model`` warning).
_FALLBACK = ("the model is registered without a forward model, so screening bands on the origination PD: a policy "
             "with pd = \"remaining\" or \"12m\" falls back to pd = \"origination\" (summary.json run.pd_basis)")


def check_hazard_events(rows: Mapping[str, np.ndarray], fit: np.ndarray, valid: np.ndarray, *,
                        spans: Mapping[str, str] | None = None) -> None:
    """Refuse, in plain words, a hazard without both events and non-events among its fitting or validation rows.

    A hazard is fitted on its fitting rows and stopped early on its validation rows, so both parts
    need an event and a non-event; a short or young history may have no past-due contract ending in
    default in the validation months, for example.

    Parameters
    ----------
    rows, fit, valid
        As :func:`models.hazard.fit_forward_model`.
    spans : mapping of str to str, optional
        The snapshot months of ``fitting`` and ``validation`` as text (e.g. ``"2024-01 to 2024-06"``).

    Raises
    ------
    TrainingError
        Naming the first such hazard (and what its rows are), the part, its events among its rows and
        its months, and the other part's events among its rows.
    """
    spans = spans or {}
    for hazard in HAZARDS:
        y = np.asarray(rows[f"y_{hazard}"])
        counts: dict[str, tuple[int, int]] = {}
        for name, part in (("fitting", fit), ("validation", valid)):
            mask = np.asarray(rows[hazard]) & part
            counts[name] = (int(y[mask].sum()), int(mask.sum()))
        for name, (events, n) in counts.items():
            if 0 < events < n:
                continue
            what, called = _HAZARD_WORDS[hazard]
            lacking = "no rows" if n == 0 else f"no {called}" if events == 0 else f"nothing but {called}"
            other = "validation" if name == "fitting" else "fitting"
            span = f", snapshot months {spans[name]}" if name in spans else ""
            raise TrainingError(
                f"the {hazard} hazard ({what}) has {lacking} in its {name} part ({events:,} {called} among {n:,} "
                f"snapshot rows{span}; {other} part: {counts[other][0]:,} among {counts[other][1]:,}); each hazard "
                f"needs {called} and rows without one in both its fitting and its validation part")


def _family(name: str, learning_rate: float | None) -> Mapping[str, Any]:
    found = [f for f in TREE_FAMILIES if f.name == name]
    if not found:
        raise ConfigError(f"ForwardConfig.families: unknown tree family {name!r}; allowed: "
                          f"{', '.join(f.name for f in TREE_FAMILIES)}")
    rate = {} if learning_rate is None else {"learning_rate": float(learning_rate)}
    return {**found[0].params, **_ROUNDS, **rate}


def choose_hazard_families(X: pd.DataFrame, rows: Mapping[str, np.ndarray], fit: np.ndarray, valid: np.ndarray, *,
                           directions: Mapping[str, Mapping[str, int]], families: Sequence[str] = HAZARD_FAMILIES,
                           choose_rows: int = 200_000, learning_rate: float | None = None, seed: int = 0,
                           threads: int = 1) -> dict[str, HazardChoice]:
    """Choose each hazard's tree family on the validation months (later than every fitting month).

    Every family of ``families`` (simplest first) is fitted on the hazard's fitting rows (a seeded
    uniform sample of ``choose_rows`` of them when there are more) with the hazard's monotone
    constraints, stopped early on its validation rows, and scored by its validation log loss, as
    :mod:`training.select` scores its tree families. The winner is the simplest family whose loss is
    within one standard error of the least (the error of the paired per-row loss difference): a
    difference smaller than that is noise, and the simpler model holds up better on later months.
    (The origination model's selection now stacks its candidates; the hazards keep one family each.)

    Parameters
    ----------
    X, rows, fit, valid
        As :func:`models.hazard.fit_forward_model`.
    directions : mapping
        Monotone constraints per hazard (:func:`models.hazard.hazard_directions`).
    learning_rate : float, optional
        Replaces every family's learning rate (default: the families' own).

    Returns
    -------
    dict
        Hazard name -> :class:`HazardChoice`.

    Raises
    ------
    TrainingError
        If a hazard lacks events or non-events among its fitting or validation rows
        (:func:`check_hazard_events`).
    """
    settings = {name: _family(name, learning_rate) for name in families}
    check_hazard_events(rows, fit, valid)
    out: dict[str, HazardChoice] = {}
    for k, hazard in enumerate(HAZARDS):
        y = rows[f"y_{hazard}"]
        a = np.flatnonzero(rows[hazard] & fit)
        b = np.flatnonzero(rows[hazard] & valid)
        if len(a) > choose_rows:
            gen = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), 29, k])))
            a = np.sort(gen.choice(a, size=choose_rows, replace=False))
        Xa, Xb, ya, yb = X.iloc[a], X.iloc[b], y[a], y[b]
        losses: dict[str, np.ndarray] = {}
        scores: dict[str, tuple[float, int]] = {}
        for name, params in settings.items():
            if len(settings) == 1:
                break
            clf = PDClassifier(**params, monotone_constraints=dict(directions[hazard]), random_state=seed,
                               n_jobs=threads).fit(Xa, ya, eval_set=(Xb, yb))
            p = np.clip(clf.predict_proba(Xb)[:, 1], 1e-15, 1 - 1e-15)
            losses[name] = -(yb * np.log(p) + (1 - yb) * np.log(1 - p))
            scores[name] = (float(losses[name].mean()), int(clf.best_iteration_))
            log.info("hazard %s, family %-16s validation log loss %.6f, %d trees", hazard, name, *scores[name])
        if not losses:
            only = next(iter(settings))
            out[hazard] = HazardChoice(hazard, only, settings[only], {}, float("nan"), len(a))
            continue
        best = min(losses, key=lambda n: losses[n].mean())
        chosen, error = best, 0.0
        for name in settings:                    # simplest first
            diff = losses[name] - losses[best]
            se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else 0.0
            if diff.mean() <= se:
                chosen, error = name, se
                break
        out[hazard] = HazardChoice(hazard, chosen, settings[chosen], scores, error, len(a))
    return out


@dataclass(frozen=True)
class ForwardResult:
    """The fitted forward model, its metrics (flat name -> number) and the per-asset table at the cut-off."""

    model: ForwardModel
    metrics: dict[str, float]
    at_cutoff: pd.DataFrame
    seconds: dict[str, float]


def _running_at_cutoff(performance: pd.DataFrame | Iterable[pd.DataFrame], book_ids: pd.Index) -> pd.Index:
    """Contracts whose last history row (most months on book; of equal ones, the last in the file) is
    current and under 90 dpd, sorted; the history whole or in batches. Every history row's contract is
    in ``book_ids`` (:func:`features.snapshots.build_snapshots` checked it); per book contract only the
    last row's months on book and state so far are kept."""
    last_mob = np.full(len(book_ids), -np.inf)
    running = np.zeros(len(book_ids), dtype=bool)
    for batch in [performance] if isinstance(performance, pd.DataFrame) else performance:
        if not len(batch):
            continue
        code = book_ids.get_indexer(batch["contract_id"].astype(str))
        mob = pd.to_numeric(batch["months_on_book"]).to_numpy(dtype="float64")
        ok = ((batch["status"].astype(str) == "current") & (pd.to_numeric(batch["dpd"]) < 90)).to_numpy()
        order = np.lexsort((mob, code))                       # stable: equal months keep the file order
        code, mob, ok = code[order], mob[order], ok[order]
        tail = np.r_[code[1:] != code[:-1], True]             # each contract's last row in this batch
        code, mob, ok = code[tail], mob[tail], ok[tail]
        later = mob >= last_mob[code]
        last_mob[code[later]] = mob[later]
        running[code[later]] = ok[later]
    return pd.Index(np.sort(book_ids.to_numpy()[running]).astype(str))


def fit_forward(contracts: pd.DataFrame, performance: History, *, spec: FeatureSpec,
                truth: pd.DataFrame | None = None, config: ForwardConfig | None = None,
                seed: int = 0) -> ForwardResult:
    """Fit the forward model on a book and its history and measure it (see the module docstring).

    Parameters
    ----------
    contracts : DataFrame
        The book (canonical lease records, status fields as of the cut-off).
    performance : DataFrame or TapeBatches
        Its monthly history (``PERFORMANCE_FIELDS``), whole or read in batches (snapshots, the leakage
        guard and the contracts running at the cut-off each take one pass; never held whole).
    spec : FeatureSpec
        Origination inputs (``model_inputs``) and behaviour inputs (``snapshot_inputs``).
    truth : DataFrame, optional
        The generator's truth (``contract_id``, ``pd_12m_fwd``, ``pd_remaining_fwd``, ``outcome``,
        ``default_month``): adds the oracle figures.
    """
    config = config or ForwardConfig()
    t0 = time.perf_counter()
    seconds: dict[str, float] = {}
    fraction = min(config.fraction, config.max_rows / max(len(performance), 1))
    snaps = build_snapshots(contracts, performance, fraction=fraction, seed=seed)
    verify_snapshots(snaps, contracts, performance, n_contracts=config.verify_contracts, seed=seed)
    part = snapshot_split(snaps, test_months=config.test_months, valid_months=config.valid_months,
                          horizon_months=LAG_MONTHS).to_numpy()
    # the book is looked up by position, not copied: on a large book every copy (and the snapshots'
    # records, a row of the book per snapshot) weighs in the run's peak memory
    book_ids = pd.Index(contracts["contract_id"].astype(str))
    inputs = [c for c in contracts.columns if c in set(spec.required_fields)]
    records = contracts[inputs].iloc[book_ids.get_indexer(snaps["contract_id"].to_numpy())].reset_index(drop=True)
    builder = FeatureBuilder(spec, min_level_count=10).fit(contracts)
    seconds["snapshots"] = round(time.perf_counter() - t0, 2)
    t1 = time.perf_counter()
    X = forward_inputs(builder, spec, records, snaps)
    rows = hazard_rows(snaps, fraction=fraction, seed=seed)
    n_snapshots = len(snaps)
    fit, valid = part == "train", part == "validation"
    month = pd.to_datetime(snaps["snapshot_date"]).dt.strftime("%Y-%m").to_numpy()
    spans = {name: f"{month[m].min()} to {month[m].max()}" for name, m in (("fitting", fit), ("validation", valid))
             if m.any()}
    del records, snaps, month
    check_hazard_events(rows, fit, valid, spans=spans)
    choices = choose_hazard_families(X, rows, fit, valid, directions=hazard_directions(builder, spec, list(X.columns)),
                                     families=config.families, choose_rows=config.choose_rows,
                                     learning_rate=config.learning_rate, seed=seed, threads=config.threads)
    seconds["choose"] = round(time.perf_counter() - t1, 2)
    chosen = {h: {"family": c.family, "compared_on_rows": c.rows,
                  "validation_log_loss": {f: v[0] for f, v in c.scores.items()},
                  "trees": {f: v[1] for f, v in c.scores.items()}} for h, c in choices.items()}
    model = fit_forward_model(X, rows, fit, valid, builder=builder, spec=spec,
                              params={h: {**c.params, "n_jobs": config.threads} for h, c in choices.items()},
                              fraction=fraction, linear_base=config.linear_base, refit=config.refit,
                              random_state=seed,
                              metadata={"fraction": fraction, "snapshots": n_snapshots, "hazard_families": chosen})
    seconds["fit"] = round(time.perf_counter() - t1, 2)
    metrics: dict[str, float] = {"forward_snapshots": float(n_snapshots), "forward_fraction": fraction}
    for h, c in choices.items():
        metrics[f"forward_trees_{h}"] = float(model.parts[h].trees.num_trees())
        metrics[f"forward_chosen_{h}_{c.family}"] = 1.0      # metrics are numbers: the name carries the family
        for f, (loss, _) in c.scores.items():
            metrics[f"forward_validation_logloss_{h}_{f}"] = loss
    test = part == "test"
    for h in HAZARDS:
        m = rows[h] & test
        y = rows[f"y_{h}"][m]
        metrics[f"forward_rows_{h}_fit"] = float((rows[h] & (part == "train")).sum())
        metrics[f"forward_events_{h}_oot"] = float(y.sum())
        if 0 < y.sum() < len(y):
            metrics[f"forward_auc_{h}_oot"] = float(roc_auc_score(y, model.predict_hazard(h, X.loc[m])))
    t2 = time.perf_counter()
    running = _running_at_cutoff(performance, book_ids)
    at = contracts.iloc[book_ids.get_indexer(running)].assign(contract_id=running.to_numpy()).reset_index(drop=True)
    table, figures = forward_figures(model, at, truth)
    metrics.update(figures)
    seconds["cutoff"] = round(time.perf_counter() - t2, 2)
    return ForwardResult(model=model, metrics=metrics, at_cutoff=table, seconds=seconds)


def attach_forward(outcome: Any, book: pd.DataFrame, performance: History, *, truth: pd.DataFrame | None = None,
                   seed: int = 0, config: ForwardConfig | None = None) -> None:
    """Fit the forward model for a training run and attach it: ``outcome.model.forward``, its metrics
    (``forward_*``) into ``outcome.metrics``, its settings into ``outcome.params`` and its wall time
    into ``outcome.seconds["forward"]``.

    The behaviour inputs are the model specification's ``snapshot`` features (the shipped
    specification's when a mapped subset has none). A history without the amounts the snapshots need
    (``month``, ``amount_due``, ``amount_paid``), or a hazard without events in its fitting or validation
    months (:func:`check_hazard_events`), leaves the model without a forward part: one warning says why
    and that screening then bands on the origination PD (``_FALLBACK``), and ``forward_fitted`` = 0.
    """
    from features.exceptions import PoolgateError
    from features.spec import load_spec, spec_from_dict

    t0 = time.perf_counter()
    spec = outcome.model.spec
    if not spec.snapshot_inputs:
        shipped = load_spec()
        spec = spec_from_dict({"version": spec.version, "feature": [f.to_dict() for f in spec.features]
                               + [f.to_dict() for f in shipped.features if f.source == "snapshot"]},
                              source="specification with the shipped snapshot inputs")
    config = config or ForwardConfig()
    try:
        result = fit_forward(book, performance, spec=spec, truth=truth, config=config, seed=seed)
    except PoolgateError as exc:
        log.warning("no forward model: %s; %s", exc, _FALLBACK)
        outcome.metrics["forward_fitted"] = 0.0
        outcome.seconds["forward"] = time.perf_counter() - t0
        return
    outcome.model.forward = result.model
    outcome.metrics.update(result.metrics)
    outcome.metrics["forward_fitted"] = 1.0
    outcome.params.update({"forward.fraction": config.fraction, "forward.max_rows": config.max_rows,
                           "forward.lag_months": LAG_MONTHS,
                           "forward.linear_base": config.linear_base, "forward.families": ",".join(config.families),
                           "forward.choose_rows": config.choose_rows, "forward.learning_rate": config.learning_rate,
                           **{f"forward.{h}.family": v["family"]
                              for h, v in result.model.metadata.get("hazard_families", {}).items()}})
    outcome.seconds["forward"] = time.perf_counter() - t0
    log.info("forward model: %s", ", ".join(f"{k} {v:.4g}" for k, v in sorted(result.metrics.items())
                                            if "auc" in k or "calibration" in k))


def forward_figures(model: ForwardModel, records: pd.DataFrame,
                    truth: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict[str, float]]:
    """Forward figures of ``records`` at the cut-off and, with ``truth``, against the oracle.

    Returns the per-asset table (``contract_id``, ``months_on_book``, ``outstanding_principal``, the
    model's ``pd_12m``, ``pd_remaining``, ``prepay``, ``remaining_life`` and, with truth, the oracle's
    and the realised outcomes) and the metrics (``forward_*_cutoff``).
    """
    fig = model.at_cutoff(records)
    state = cutoff_state(records)
    table = pd.DataFrame({
        "contract_id": records["contract_id"].astype(str).to_numpy(),
        "months_on_book": state["months_on_book_at_s"].to_numpy(),
        "outstanding_principal": pd.to_numeric(records["outstanding_principal"]).to_numpy(),
        "pd_12m": fig.pd_12m, "pd_remaining": fig.pd_remaining, "prepay": fig.prepay,
        "remaining_life": fig.remaining_life,
    })
    m: dict[str, float] = {"forward_assets_cutoff": float(len(table)),
                           "forward_mean_pd_12m_cutoff": float(fig.pd_12m.mean()) if len(table) else float("nan"),
                           "forward_mean_pd_remaining_cutoff": float(fig.pd_remaining.mean()) if len(table) else float("nan")}
    if truth is None or table.empty:
        return table, m
    tr = truth.assign(contract_id=truth["contract_id"].astype(str)).set_index("contract_id")
    tr = tr.loc[table["contract_id"]]
    table["oracle_pd_12m"] = tr["pd_12m_fwd"].to_numpy(dtype="float64")
    table["oracle_pd_remaining"] = tr["pd_remaining_fwd"].to_numpy(dtype="float64")
    default_month = tr["default_month"].astype("float64").to_numpy()
    defaulted = (tr["outcome"].astype(str) == "default").to_numpy()
    table["default_remaining"] = defaulted.astype(np.int64)
    table["default_12m"] = (defaulted & (default_month <= table["months_on_book"].to_numpy() + 12)).astype(np.int64)
    keep = table["oracle_pd_remaining"].notna().to_numpy()
    t = table[keep]
    for h, label in (("remaining", "default_remaining"), ("12m", "default_12m")):
        y = t[label].to_numpy()
        if 0 < y.sum() < len(y):
            m[f"forward_auc_pd_{h}_cutoff"] = float(roc_auc_score(y, t[f"pd_{h}"]))
            m[f"forward_auc_oracle_pd_{h}_cutoff"] = float(roc_auc_score(y, t[f"oracle_pd_{h}"]))
            m[f"forward_auc_gap_oracle_pd_{h}_cutoff"] = m[f"forward_auc_oracle_pd_{h}_cutoff"] - m[f"forward_auc_pd_{h}_cutoff"]
        m[f"forward_calibration_error_pd_{h}_cutoff"] = float(calibration_error(y, t[f"pd_{h}"].to_numpy()))
        m[f"forward_realised_{h}_cutoff"] = float(y.mean())
        m[f"forward_mean_oracle_pd_{h}_cutoff"] = float(t[f"oracle_pd_{h}"].mean())
    mob = t["months_on_book"].to_numpy()
    for name, lo, hi in SEASONING_BUCKETS:
        b = (mob >= lo) & (mob <= hi)
        if b.any():
            m[f"forward_assets_mob_{name}_cutoff"] = float(b.sum())
            m[f"forward_mean_pd_remaining_mob_{name}_cutoff"] = float(t["pd_remaining"].to_numpy()[b].mean())
            m[f"forward_mean_oracle_pd_remaining_mob_{name}_cutoff"] = float(t["oracle_pd_remaining"].to_numpy()[b].mean())
    bal = t["outstanding_principal"].to_numpy()
    el, el_oracle = float((t["pd_remaining"] * bal).sum()), float((t["oracle_pd_remaining"] * bal).sum())
    m["forward_expected_default_balance_cutoff"] = el
    m["forward_expected_default_balance_oracle_cutoff"] = el_oracle
    m["forward_expected_default_ratio_cutoff"] = el / el_oracle if el_oracle > 0 else float("nan")
    return table, m
