"""The one place screening talks to a fitted :class:`models.LeaseModel`.

Screening needs, for each valid record, the model inputs, every feature's contribution in log-odds,
the base value, the raw score and the calibrated PD. The contributions are computed once
(LightGBM ``pred_contrib``); the raw score is their sum plus the base value and the PD is the
model's Platt calibration of it, so no second pass over the trees is made.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from models.hazard import cutoff_state

__all__ = ["Scored", "display_names", "pd_basis", "pd_basis_fallback", "score_and_explain"]


@dataclass(frozen=True)
class Scored:
    """Model output for ``n`` records with ``k`` model inputs.

    Attributes
    ----------
    feature_names : list of str, length k
    inputs : DataFrame, shape (n, k)
        Model inputs.
    contributions : ndarray, shape (n, k)
        Log-odds contributions (TreeSHAP).
    base_value : ndarray, shape (n,)
        Expected raw score over the training data (the same for every row).
    raw : ndarray, shape (n,)
        Raw log-odds ``contributions.sum(1) + base_value``.
    pd : ndarray, shape (n,)
        Calibrated probability of default (fraction).
    calibration_slope : float
        ``b`` of ``pd = sigmoid(a + b * raw)``.
    contrib_seconds : float
        Wall time of the contributions (LightGBM ``pred_contrib``), for benchmarks.
    unseen : dict of str to (int, int)
        Per categorical input: values present in the records but not among the levels fixed at
        training (read as missing), and values present.
    """

    feature_names: list[str]
    inputs: pd.DataFrame
    contributions: np.ndarray
    base_value: np.ndarray
    raw: np.ndarray
    pd: np.ndarray
    calibration_slope: float
    contrib_seconds: float = 0.0
    pd_12m: np.ndarray | None = None
    pd_remaining: np.ndarray | None = None
    prepay: np.ndarray | None = None
    remaining_life: np.ndarray | None = None
    basis: str = "origination"
    unseen: dict[str, tuple[int, int]] = field(default_factory=dict)


def pd_basis(model: Any, wanted: str) -> str:
    """The PD the bands apply to: the policy's ``wanted`` basis, or ``origination`` when ``model`` has no
    forward part (a bundle trained before forward models; the run records which one was used)."""
    if wanted == "origination" or getattr(model, "forward", None) is None:
        return "origination"
    return wanted


#: The forward PDs a policy may ask for, in words (:func:`pd_basis_fallback`).
_BASIS_WORDS = {"remaining": "default over the remaining term from the cut-off",
                "12m": "default within 12 months of the cut-off"}


def pd_basis_fallback(model: Any, wanted: str, *, model_uri: str, policy: str) -> str | None:
    """The one-line warning of a run whose policy asks for a forward PD that ``model`` cannot give.

    None when :func:`pd_basis` gives the ``wanted`` basis; otherwise the line names the policy, the PD
    it asks for, the model (``model_uri``), that it has no forward model, and the basis used instead.
    """
    used = pd_basis(model, wanted)
    if used == wanted:
        return None
    return (f"policy {policy} asks for pd = \"{wanted}\" ({_BASIS_WORDS.get(wanted, 'a forward PD')}), but model "
            f"{model_uri} has no forward model (its training run logged forward_fitted = 0, or it predates forward "
            f"models): the bands apply to the {used} PD instead (summary.json run.pd_basis = \"{used}\")")


def score_and_explain(model: Any, records: pd.DataFrame, basis: str = "origination") -> Scored:
    """Inputs, contributions, raw score and PD of typed canonical ``records`` under ``model``.

    With ``basis`` ``remaining`` or ``12m`` and a model with a forward part (:mod:`models.hazard`),
    the PD is that forward PD at the cut-off, and the inputs, contributions and raw score are those
    of the forward model's band model (the default hazard at the cut-off state, or the past-due
    model); the hazard log-odds count one for one as PD log-odds in score points
    (``calibration_slope`` 1). The forward figures are returned whenever the model has them.
    """
    forward = getattr(model, "forward", None)
    if forward is not None:
        t0 = time.perf_counter()
        fig = forward.at_cutoff(records)
        if pd_basis(model, basis) != "origination":
            explanation = forward.explain(records)
            seconds = time.perf_counter() - t0
            contrib = np.asarray(explanation.contributions, dtype="float64")
            base = np.asarray(explanation.base_value, dtype="float64").reshape(-1)
            inputs = forward.inputs(records, cutoff_state(records))
            chosen = fig.pd_remaining if basis == "remaining" else fig.pd_12m
            return Scored(list(forward.feature_names), inputs, contrib, base, contrib.sum(axis=1) + base,
                          np.clip(chosen, 0.0, 1.0), 1.0, seconds, fig.pd_12m, fig.pd_remaining, fig.prepay,
                          fig.remaining_life, basis, dict(getattr(forward.builder, "last_unseen_", {})))
        origination = _origination(model, records)
        return Scored(origination.feature_names, origination.inputs, origination.contributions,
                      origination.base_value, origination.raw, origination.pd, origination.calibration_slope,
                      origination.contrib_seconds, fig.pd_12m, fig.pd_remaining, fig.prepay, fig.remaining_life,
                      unseen=origination.unseen)
    return _origination(model, records)


def _origination(model: Any, records: pd.DataFrame) -> Scored:
    names = list(model.feature_names)
    inputs = model.transform(records)
    t0 = time.perf_counter()
    explanation = model.explain_inputs(inputs)
    seconds = time.perf_counter() - t0
    contrib = np.asarray(explanation.contributions, dtype="float64")
    base = np.asarray(explanation.base_value, dtype="float64").reshape(-1)
    raw = contrib.sum(axis=1) + base
    calibration = model.calibration
    return Scored(names, inputs, contrib, base, raw, calibration.predict(raw), float(calibration.b),
                  seconds, unseen=dict(getattr(model.builder, "last_unseen_", {})))


def display_names(model: Any, language: str) -> dict[str, str]:
    """Feature name -> display name in ``language`` ("en" or "zh") from the model's feature specification."""
    spec = getattr(model, "spec", None)
    if spec is None:
        return {}
    return {f.name: getattr(f, f"display_{language}", f.name) for f in spec.features}
