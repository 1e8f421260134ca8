"""Drift of the admitted pool's model inputs against the training population, within the pool's range.

The admitted pool is selected by the eligibility policy (GPS installed, current at the cut-off, age and
term limits...), so against the whole training book some inputs differ *by construction*: a pool with
GPS on every asset has a PSI of about 0.45 on ``gps_installed`` against a book where 7 % lack it, and
that says nothing about the model. The PSI that the back-test judges is therefore taken within the
pool's range: the training bins (levels) that hold no pool asset are dropped and the training shares of
the rest renormalised, then :func:`models.population.psi_against_profile` compares as usual. A shift
inside the range the pool covers still shows; the unconditional PSI is reported beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from models.population import psi_against_profile

__all__ = ["pool_psi"]


def _labels(prof: Mapping[str, Any], s: pd.Series) -> pd.Series:
    if prof.get("kind") == "numeric":
        x = pd.to_numeric(s, errors="coerce").astype(float)
        codes = pd.Series(np.searchsorted(np.asarray(prof.get("edges", []), dtype=float), x.to_numpy(), side="right"),
                          index=s.index).astype(str)
        return codes.where(x.notna(), "missing")
    return s.astype(object).where(s.notna(), "missing").astype(str)


def pool_psi(profile: Mapping[str, Mapping[str, Any]], inputs: pd.DataFrame) -> pd.DataFrame:
    """PSI per model input within the pool's range, with the unconditional PSI beside it.

    Parameters
    ----------
    profile : mapping
        ``metadata["population"]["features"]`` of the model bundle (:func:`models.population.profile_frame`).
    inputs : DataFrame
        Model inputs of the admitted pool.

    Returns
    -------
    DataFrame
        The columns of :func:`models.population.psi_against_profile` (``psi`` within the pool's range)
        plus ``psi_unconditional`` and ``dropped_training_share`` (the training share of the bins the pool
        does not reach); sorted by ``psi``, largest first.
    """
    restricted: dict[str, dict[str, Any]] = {}
    dropped: dict[str, float] = {}
    for col, prof in profile.items():
        if col not in inputs.columns or not len(inputs):
            continue
        present = set(_labels(prof, inputs[col]).unique())
        shares = {str(k): float(v) for k, v in prof["shares"].items()}
        kept = {k: v for k, v in shares.items() if k in present}
        total = sum(kept.values())
        dropped[col] = 1.0 - total
        restricted[col] = {**prof, "shares": {k: v / total for k, v in kept.items()} if total > 0 else shares}
    within = psi_against_profile(restricted, inputs)
    plain = psi_against_profile(profile, inputs).set_index("feature")["psi"]
    within["psi_unconditional"] = within["feature"].map(plain)
    within["dropped_training_share"] = within["feature"].map(dropped)
    return within.sort_values("psi", ascending=False, kind="stable").reset_index(drop=True)
