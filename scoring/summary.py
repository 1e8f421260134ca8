"""The pool summary: a prospectus-style pool table of the admitted assets.

Weighted averages are weighted by outstanding principal (CNY). Expected loss is
``sum(pd_remaining * lgd * outstanding_principal)`` with the policy's LGD, the PD over each asset's
remaining term from the cut-off (prepayment competing); with a model that has no forward part it is
the origination PD (``expected_loss_pd`` says which). Beside it: expected defaults and prepayments
(count and balance) and the expected weighted average life (balance-weighted expected months to
prepayment, default or maturity). Shares are fractions of the pool's outstanding principal.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from scoring.concentration import limit_values
from scoring.policy import Policy

__all__ = ["pool_summary", "score_band", "term_bucket"]

_TERM_EDGES = (12, 24, 36, 48, 60)


def term_bucket(term_months: np.ndarray) -> np.ndarray:
    """Original-term bucket labels: ``<=12``, ``13-24``, ..., ``49-60``, ``>60`` (months)."""
    t = np.asarray(term_months, dtype="float64")
    labels = ["<=12"] + [f"{a + 1}-{b}" for a, b in pairwise(_TERM_EDGES)] + [f">{_TERM_EDGES[-1]}"]
    idx = np.searchsorted(np.asarray(_TERM_EDGES, dtype="float64"), t, side="left")
    return np.asarray(labels, dtype=object)[idx]


def score_band(score: np.ndarray, edges: tuple[float, ...]) -> np.ndarray:
    """Score band labels from the ascending lower ``edges``: ``<e0``, ``e0-e1``, ..., ``>=ek``."""
    s = np.asarray(score, dtype="float64")
    if not edges:
        return np.full(s.shape, "all", dtype=object)
    labels = [f"<{edges[0]:g}"] + [f"{a:g}-{b:g}" for a, b in pairwise(edges)] + [f">={edges[-1]:g}"]
    return np.asarray(labels, dtype=object)[np.searchsorted(np.asarray(edges), s, side="right")]


def _wavg(values: pd.Series | np.ndarray, weights: np.ndarray) -> float | None:
    v = np.asarray(values, dtype="float64")
    ok = ~np.isnan(v) & (weights > 0)
    w = weights[ok].sum()
    return round(float((v[ok] * weights[ok]).sum() / w), 6) if w > 0 else None


def _distribution(keys: np.ndarray, balance: np.ndarray) -> list[dict[str, Any]]:
    frame = pd.DataFrame({"group": pd.Series(keys).astype(str).to_numpy(), "balance": balance})
    g = frame.groupby("group", sort=True)["balance"].agg(["size", "sum"]).reset_index()
    total = float(balance.sum())
    g = g.sort_values(["sum", "group"], ascending=[False, True], kind="stable")
    return [{"group": str(r.group), "count": int(r.size), "balance": round(float(r.sum), 2),
             "share": round(float(r.sum) / total, 6) if total > 0 else 0.0} for r in g.itertuples(index=False)]


def pool_summary(pool: pd.DataFrame, policy: Policy, counts: Mapping[str, int]) -> dict[str, Any]:
    """Summarise the final admitted pool.

    Parameters
    ----------
    pool : DataFrame
        :data:`scoring.decisions.POOL_COLUMNS` of every valid asset with its final status (after
        concentration limits); only ``admit`` rows form the pool.
    policy : Policy
        LGD, score bands and concentration limits.
    counts : mapping of str to int
        Number of decisions by status over the whole tape (invalid rows included).

    Returns
    -------
    dict
        ``counts``, ``pool`` (count, balance in CNY, weighted averages, expected loss), ``distributions``
        (province, city_tier, make, new_used, nev, term, score_band) and ``concentration`` (each limit,
        the pool's value and whether it holds). JSON-ready; amounts rounded to 0.01 CNY, fractions to 1e-6.
    """
    admitted = pool[pool["status"].astype(str) == "admit"].reset_index(drop=True)
    bal = admitted["outstanding_principal"].to_numpy(dtype="float64")
    total = float(bal.sum())
    pd_ = admitted["pd"].to_numpy(dtype="float64")
    pd_rem = admitted["pd_remaining"].to_numpy(dtype="float64") if "pd_remaining" in admitted else np.full(len(bal), np.nan)
    forward = len(bal) > 0 and not np.isnan(pd_rem).any()
    loss_pd = pd_rem if forward else pd_
    expected_loss = float((loss_pd * policy.lgd * bal).sum())
    remaining = admitted["term_months"].to_numpy(dtype="float64") - admitted["months_on_book"].to_numpy("float64")
    table = {
        "assets": len(admitted),
        "lessees": int(admitted["lessee_id"].astype(str).nunique()),
        "outstanding_principal": round(total, 2),
        "average_outstanding_principal": round(total / len(admitted), 2) if len(admitted) else None,
        "wa_pd": _wavg(pd_, bal),
        "wa_score": _wavg(admitted["score"], bal),
        "wa_annual_rate": _wavg(admitted["annual_rate"], bal),
        "wa_original_term_months": _wavg(admitted["term_months"], bal),
        "wa_remaining_term_months": _wavg(remaining, bal),
        "wa_seasoning_months": _wavg(admitted["months_on_book"], bal),
        "wa_ltv": _wavg(admitted["ltv"], bal),
        "lgd": policy.lgd,
        "expected_loss": round(expected_loss, 2),
        "expected_loss_share": round(expected_loss / total, 6) if total > 0 else None,
        "expected_loss_pd": "pd_remaining" if forward else "pd",
    }
    if forward:
        prepay = admitted["prepay_probability"].to_numpy(dtype="float64")
        table.update({
            "wa_pd_remaining": _wavg(pd_rem, bal),
            "expected_defaults": round(float(pd_rem.sum()), 4),
            "expected_default_balance": round(float((pd_rem * bal).sum()), 2),
            "expected_prepayments": round(float(prepay.sum()), 4),
            "expected_prepayment_balance": round(float((prepay * bal).sum()), 2),
            "expected_wal_months": _wavg(admitted["expected_life_months"], bal),
        })
    dist = {
        "province": _distribution(admitted["province"].to_numpy(), bal),
        "city_tier": _distribution(admitted["city_tier"].map(lambda v: f"{v:.0f}").to_numpy(), bal),
        "make": _distribution(admitted["vehicle_make"].to_numpy(), bal),
        "new_used": _distribution(admitted["vehicle_condition"].to_numpy(), bal),
        "nev": _distribution(np.where(admitted["is_nev"].to_numpy(dtype=bool), "nev", "fuel"), bal),
        "term": _distribution(term_bucket(admitted["term_months"].to_numpy()), bal),
        "score_band": _distribution(score_band(admitted["score"].to_numpy(), policy.score_bands), bal),
    }
    conc = [{**v, "value": round(float(v["value"]), 6)} for v in limit_values(admitted, policy)]  # type: ignore[arg-type]
    return {"counts": {s: int(counts.get(s, 0)) for s in ("admit", "refer", "reject", "invalid")},
            "pool": table, "distributions": dist, "concentration": conc}
