"""Back-test of the model that screened the pool: calibration by PD band, rank ordering, input drift.

**Horizon.** The screening PD is the probability of default (``default_dpd``+ days past due or charged
off) within ``horizon_months`` of *origination*; the pool is seasoned at the cut-off and is watched for
the periods after it, so the PD is not directly the chance of default in the window. The back-test
spreads each PD over its horizon as a constant monthly hazard ``h = 1 - (1 - PD)^(1/H)`` and expects
``1 - (1 - h)^m`` defaults of an asset at risk for ``m`` months after the cut-off (to its default,
prepayment, maturity or the last period observed). A seasoning curve that is not flat makes this an
approximation; the report says so.

**Calibration.** Per PD band and for the whole pool, the observed defaults ``d`` of ``n`` assets are
compared with the mean expected probability ``p`` by the Jeffreys test that supervisors' validation
guides use (ECB instructions for IRB validation): the posterior of the default rate is
``Beta(d + 1/2, n - d + 1/2)``; ``p`` outside its central interval at a confidence level means the
PDs are too low (``p`` below the interval: more defaults than predicted) or too high (above it).

**Rank ordering.** AUC and the Kolmogorov-Smirnov statistic of the PD on the realised outcomes (default
in the window or not), once ``min_defaults`` defaults are seen.

**Drift.** PSI of each model input of the admitted pool against the training population profile in the
model bundle's metadata, within the range the pool covers (:func:`monitoring.drift.pool_psi`), computed by
the caller.

**Verdict.** ``retrain`` when the pool's PDs are outside the ``retrain_confidence`` interval, the AUC is
below ``auc_retrain`` or an input's PSI is above ``psi_retrain``; ``watch`` when outside
``watch_confidence``, a band is outside ``retrain_confidence``, the AUC is below ``auc_watch`` or a PSI is
above ``psi_watch``; else ``holds``. Every reason is written out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import roc_auc_score

from monitoring.deal import BacktestSettings

__all__ = ["VERDICTS", "backtest", "expected_default_probability", "jeffreys"]

VERDICTS = ("holds", "watch", "retrain")


def expected_default_probability(pd_: np.ndarray, months_at_risk: np.ndarray, horizon_months: int) -> np.ndarray:
    """Chance of default within ``months_at_risk`` under a constant hazard matching ``pd_`` over the horizon.

    Parameters
    ----------
    pd_ : ndarray
        PD within ``horizon_months`` (fractions).
    months_at_risk : ndarray
        Months each asset was at risk in the window (>= 0).
    horizon_months : int
        The model's PD horizon (months).
    """
    p = np.clip(np.asarray(pd_, dtype=float), 0.0, 1.0 - 1e-12)
    h = 1.0 - (1.0 - p) ** (1.0 / horizon_months)
    return 1.0 - (1.0 - h) ** np.asarray(months_at_risk, dtype=float)


def jeffreys(defaults: int, n: int, expected_rate: float, confidence: float) -> dict[str, Any]:
    """Jeffreys test of ``defaults`` out of ``n`` against ``expected_rate`` (all fractions).

    Returns
    -------
    dict
        ``lower``, ``upper`` (the central ``confidence`` interval of Beta(d + 1/2, n - d + 1/2)),
        ``p_value`` (two-sided: twice the smaller tail of the posterior at ``expected_rate``) and
        ``outcome``: ``consistent``, ``pd_too_low`` (more defaults than the PDs predict) or ``pd_too_high``.
    """
    if n <= 0:
        return {"lower": None, "upper": None, "p_value": None, "outcome": "no assets"}
    post = stats.beta(defaults + 0.5, n - defaults + 0.5)
    lower, upper = post.ppf((1 - confidence) / 2), post.ppf((1 + confidence) / 2)
    cdf = float(post.cdf(expected_rate))
    outcome = "pd_too_low" if expected_rate < lower else "pd_too_high" if expected_rate > upper else "consistent"
    return {"lower": float(lower), "upper": float(upper), "p_value": float(min(1.0, 2 * min(cdf, 1 - cdf))),
            "outcome": outcome}


def _ks(y: np.ndarray, score: np.ndarray) -> float:
    return float(stats.ks_2samp(score[y == 1], score[y == 0]).statistic)


def backtest(pd_: np.ndarray, defaulted: np.ndarray, months_at_risk: np.ndarray, settings: BacktestSettings, *,
             periods: int, seasoning_months: float, psi: pd.DataFrame | None = None,
             psi_note: str = "") -> dict[str, Any]:
    """Back-test the screening PDs of the admitted assets on what happened after the cut-off.

    Parameters
    ----------
    pd_ : ndarray, shape (n,)
        Screening PDs (fractions, within ``settings.horizon_months`` of origination).
    defaulted : ndarray of bool, shape (n,)
        Defaulted in the window.
    months_at_risk : ndarray, shape (n,)
        Months at risk in the window (see :class:`monitoring.pool.AssetEvents`).
    settings : BacktestSettings
        The deal file's ``[backtest]`` table.
    periods : int
        Periods observed after the cut-off (months).
    seasoning_months : float
        Balance-weighted months on book of the pool at the cut-off.
    psi : DataFrame, optional
        :func:`models.population.psi_against_profile` of the pool's model inputs; None when not measured.
    psi_note : str
        Why drift was not measured (shown when ``psi`` is None).

    Returns
    -------
    dict
        JSON-safe: ``verdict``, ``reasons``, ``horizon`` (plain text), ``pool`` and ``bands`` (assets,
        defaults, expected, rates, Jeffreys test), ``rank_ordering`` (AUC, KS), ``drift``.
    """
    s = settings
    p = np.asarray(pd_, dtype=float)
    y = np.asarray(defaulted, dtype=bool)
    expected = expected_default_probability(p, months_at_risk, s.horizon_months)
    reasons: list[str] = []
    level = 0

    def raise_to(v: int, why: str) -> None:
        nonlocal level
        level = max(level, v)
        reasons.append(why)

    def group(mask: np.ndarray, label: str) -> dict[str, Any]:
        n, d, e = int(mask.sum()), int(y[mask].sum()), float(expected[mask].sum())
        rate = e / n if n else 0.0
        out = {"band": label, "assets": n, "defaults": d, "expected_defaults": e,
               "observed_rate": d / n if n else None, "expected_rate": rate if n else None,
               "mean_pd": float(p[mask].mean()) if n else None}
        out["jeffreys_watch"] = jeffreys(d, n, rate, s.watch_confidence)
        out["jeffreys_retrain"] = jeffreys(d, n, rate, s.retrain_confidence)
        return out

    pool = group(np.ones(len(p), dtype=bool), "all")
    edges = (0.0,) + s.band_edges + (1.0,)
    band_of = np.searchsorted(np.asarray(s.band_edges), p, side="left")
    bands = []
    for b in range(len(edges) - 1):
        label = f"({edges[b]:.3g}, {edges[b + 1]:.3g}]" if b else f"[0, {edges[1]:.3g}]"
        bands.append(group(band_of == b, label))

    def said(g: dict[str, Any], key: str) -> str:
        j = g[key]
        side = "too low (more defaults than predicted)" if j["outcome"] == "pd_too_low" else \
            "too high (fewer defaults than predicted)"
        return (f"{g['defaults']} defaults observed against {g['expected_defaults']:.1f} expected "
                f"({g['assets']} assets): PDs {side}, Jeffreys p = {j['p_value']:.3g}")

    if pool["jeffreys_retrain"]["outcome"] not in ("consistent", "no assets"):
        raise_to(2, f"whole pool outside the {s.retrain_confidence:.0%} interval: " + said(pool, "jeffreys_retrain"))
    elif pool["jeffreys_watch"]["outcome"] not in ("consistent", "no assets"):
        raise_to(1, f"whole pool outside the {s.watch_confidence:.0%} interval: " + said(pool, "jeffreys_watch"))
    for g in bands:
        if g["jeffreys_retrain"]["outcome"] not in ("consistent", "no assets"):
            raise_to(1, f"PD band {g['band']} outside the {s.retrain_confidence:.0%} interval: "
                     + said(g, "jeffreys_retrain"))

    n_def = int(y.sum())
    rank: dict[str, Any] = {"defaults": n_def, "auc": None, "ks": None}
    if 0 < n_def < len(y):
        rank["auc"] = float(roc_auc_score(y, p))
        rank["ks"] = _ks(y, p)
    if n_def >= s.min_defaults and rank["auc"] is not None:
        if rank["auc"] < s.auc_retrain:
            raise_to(2, f"AUC {rank['auc']:.3f} on realised outcomes is below {s.auc_retrain:.2f}")
        elif rank["auc"] < s.auc_watch:
            raise_to(1, f"AUC {rank['auc']:.3f} on realised outcomes is below {s.auc_watch:.2f}")
    else:
        reasons.append(f"rank ordering not judged yet: {n_def} defaults, {s.min_defaults} needed")

    drift: dict[str, Any] = {"measured": psi is not None, "note": psi_note, "features": []}
    if psi is not None and len(psi):
        drift["features"] = [{k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in r.items()}
                             for r in psi.to_dict(orient="records")]
        worst = psi.iloc[0]
        if worst["psi"] > s.psi_retrain:
            raise_to(2, f"input {worst['feature']} has drifted: PSI {worst['psi']:.3f} above {s.psi_retrain:.2f}")
        elif worst["psi"] > s.psi_watch:
            raise_to(1, f"input {worst['feature']} has shifted: PSI {worst['psi']:.3f} above {s.psi_watch:.2f}")
    elif psi is None:
        reasons.append(f"input drift not measured: {psi_note}")
    if level == 0:
        reasons.insert(0, f"whole pool: {pool['defaults']} defaults observed against {pool['expected_defaults']:.1f} "
                          f"expected, inside the {s.watch_confidence:.0%} interval; no band outside the "
                          f"{s.retrain_confidence:.0%} interval")
    horizon = (f"The model's PD is the probability of default within {s.horizon_months} months of origination. "
               f"The pool was {seasoning_months:.1f} months seasoned (balance-weighted) at the cut-off and has "
               f"been observed for {periods} months since, so the PD is not a forecast of this window: each PD is "
               f"spread evenly over its {s.horizon_months} months as a constant monthly hazard and each asset is "
               f"expected to default with 1 - (1 - h)^m over its m months at risk after the cut-off (to its "
               f"default, prepayment, maturity or the last period). A seasoning curve that peaks early makes "
               f"this an approximation.")
    return {"verdict": VERDICTS[level], "reasons": reasons, "horizon": horizon, "horizon_months": s.horizon_months,
            "periods": periods, "pool": pool, "bands": bands, "rank_ordering": rank, "drift": drift}
