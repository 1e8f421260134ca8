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


#: Reason templates (English, Chinese).
_REASONS = {
    "pd_too_low": (("{where} outside the {conf:.0%} interval: {d} defaults observed against {e:.1f} expected ({n} "
                   "assets): PDs too low (more defaults than predicted), Jeffreys p = {pv:.3g}"),
                   ("{where_zh}超出 {conf:.0%} 置信区间：实际违约 {d} 笔，预期 {e:.1f} 笔（{n} 笔资产）："
                   "违约概率偏低（违约多于预测），Jeffreys p = {pv:.3g}")),
    "pd_too_high": (("{where} outside the {conf:.0%} interval: {d} defaults observed against {e:.1f} expected ({n} "
                    "assets): PDs too high (fewer defaults than predicted), Jeffreys p = {pv:.3g}"),
                    ("{where_zh}超出 {conf:.0%} 置信区间：实际违约 {d} 笔，预期 {e:.1f} 笔（{n} 笔资产）："
                    "违约概率偏高（违约少于预测），Jeffreys p = {pv:.3g}")),
    "auc": ("AUC {auc:.3f} on realised outcomes is below {floor:.2f}",
            "按实际结果计算的 AUC 为 {auc:.3f}，低于 {floor:.2f}"),
    "rank_early": ("rank ordering not judged yet: {d} defaults, {need} needed",
                   "排序能力暂不评价：违约 {d} 笔，需要 {need} 笔"),
    "psi": ("input {f} has shifted: PSI {psi:.3f} above {limit:.2f}",
            "模型变量{fz}（{f}）发生漂移：PSI {psi:.3f} 高于 {limit:.2f}"),
    "psi_none": ("input drift not measured: {why}", "未测量变量漂移：{why}"),
    "holds": (("whole pool: {d} defaults observed against {e:.1f} expected, inside the {w:.0%} interval; no band "
              "outside the {r:.0%} interval"),
              "整个资产池：实际违约 {d} 笔，预期 {e:.1f} 笔，在 {w:.0%} 置信区间内；没有违约概率区间超出 {r:.0%} 置信区间"),
}
_HORIZON = (
    ("The model's PD is the probability of default within {h} months of origination. The pool was {s:.1f} months "
    "seasoned (balance-weighted) at the cut-off and has been observed for {p} months since, so the PD is not a "
    "forecast of this window: each PD is spread evenly over its {h} months as a constant monthly hazard h and each "
    "asset is expected to default with 1 - (1 - h)^m over its m months at risk after the cut-off (to its default, "
    "prepayment, maturity or the last period). A seasoning curve that peaks early makes this an approximation."),
    ("模型的违约概率是自起租起 {h} 个月内违约的概率。资产池在初始起算日的加权账龄为 {s:.1f} 个月，此后观察了 {p} 个月，"
    "因此该违约概率并非对观察期的预测：每个违约概率在 {h} 个月内平均分摊为固定的月度违约强度 h，每笔资产在起算日后"
    "m 个风险月（至违约、早偿、到期或最后一期）的预期违约概率为 1 - (1 - h)^m。账龄曲线前高后低，故此为近似。"),
)

_HORIZON_FORWARD = (
    ("The screening used forward PDs at the cut-off; this back-test takes the {h}-month forward PD and the defaults "
    "of the first {p} periods after the cut-off (the one-year back-test supervisors describe). Before {h} periods "
    "have passed, each PD is spread as a constant monthly hazard over its {h} months and an asset is expected to "
    "default with 1 - (1 - h)^m over its m months at risk."),
    ("入池筛选使用初始起算日的前瞻违约概率；本检验以 {h} 个月前瞻违约概率对比起算日后前 {p} 个期间的违约（即监管所述的一年期回溯检验）。"
    "未满 {h} 个期间时，每个违约概率在 {h} 个月内平均分摊为固定的月度违约强度 h，每笔资产的预期违约概率为 1 - (1 - h)^m。"),
)


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
             psi_note: str = "", horizon_months: int | None = None, forward: bool = False) -> dict[str, Any]:
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
    horizon_months : int, optional
        The PD's horizon; default ``settings.horizon_months``.
    forward : bool
        The PD is a forward PD at the cut-off (of ``horizon_months`` from the cut-off), not from origination.

    Returns
    -------
    dict
        JSON-safe: ``verdict``, ``reasons``, ``horizon`` (plain text), ``pool`` and ``bands`` (assets,
        defaults, expected, rates, Jeffreys test), ``rank_ordering`` (AUC, KS), ``drift``.
    """
    s = settings
    p = np.asarray(pd_, dtype=float)
    y = np.asarray(defaulted, dtype=bool)
    horizon_m = int(horizon_months or s.horizon_months)
    expected = expected_default_probability(p, months_at_risk, horizon_m)
    reasons: list[str] = []
    reasons_zh: list[str] = []
    level = 0

    def say(v: int, key: str, **kw: Any) -> None:
        nonlocal level
        level = max(level, v)
        reasons.append(_REASONS[key][0].format(**kw))
        reasons_zh.append(_REASONS[key][1].format(**kw))

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

    def test(v: int, g: dict[str, Any], key: str, where: str, conf: float) -> None:
        j = g[key]
        say(v, j["outcome"], where=where, where_zh="整个资产池" if where == "whole pool" else f"违约概率区间 {g['band']}",
            conf=conf, d=g["defaults"], e=g["expected_defaults"], n=g["assets"], pv=j["p_value"])

    if pool["jeffreys_retrain"]["outcome"] not in ("consistent", "no assets"):
        test(2, pool, "jeffreys_retrain", "whole pool", s.retrain_confidence)
    elif pool["jeffreys_watch"]["outcome"] not in ("consistent", "no assets"):
        test(1, pool, "jeffreys_watch", "whole pool", s.watch_confidence)
    for g in bands:
        if g["jeffreys_retrain"]["outcome"] not in ("consistent", "no assets"):
            test(1, g, "jeffreys_retrain", f"PD band {g['band']}", s.retrain_confidence)

    n_def = int(y.sum())
    rank: dict[str, Any] = {"defaults": n_def, "auc": None, "ks": None}
    if 0 < n_def < len(y):
        rank["auc"] = float(roc_auc_score(y, p))
        rank["ks"] = _ks(y, p)
    if n_def >= s.min_defaults and rank["auc"] is not None:
        if rank["auc"] < s.auc_retrain:
            say(2, "auc", auc=rank["auc"], floor=s.auc_retrain)
        elif rank["auc"] < s.auc_watch:
            say(1, "auc", auc=rank["auc"], floor=s.auc_watch)
    else:
        say(0, "rank_early", d=n_def, need=s.min_defaults)

    drift: dict[str, Any] = {"measured": psi is not None, "note": psi_note, "features": []}
    if psi is not None and len(psi):
        drift["features"] = [{k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in r.items()}
                             for r in psi.to_dict(orient="records")]
        worst = psi.iloc[0]
        shown = worst.get("display_zh", worst["feature"])
        if worst["psi"] > s.psi_retrain:
            say(2, "psi", f=worst["feature"], fz=shown, psi=worst["psi"], limit=s.psi_retrain)
        elif worst["psi"] > s.psi_watch:
            say(1, "psi", f=worst["feature"], fz=shown, psi=worst["psi"], limit=s.psi_watch)
    elif psi is None:
        say(0, "psi_none", why=psi_note)
    if level == 0:
        reasons.insert(0, _REASONS["holds"][0].format(d=pool["defaults"], e=pool["expected_defaults"],
                                                      w=s.watch_confidence, r=s.retrain_confidence))
        reasons_zh.insert(0, _REASONS["holds"][1].format(d=pool["defaults"], e=pool["expected_defaults"],
                                                         w=s.watch_confidence, r=s.retrain_confidence))
    kw = {"h": horizon_m, "s": seasoning_months, "p": periods}
    horizon, horizon_zh = (t.format(**kw) for t in (_HORIZON_FORWARD if forward else _HORIZON))
    return {"verdict": VERDICTS[level], "reasons": reasons, "reasons_zh": reasons_zh, "horizon": horizon,
            "horizon_zh": horizon_zh, "horizon_months": horizon_m, "pd_basis": "forward" if forward else "origination",
            "periods": periods, "pool": pool, "bands": bands, "rank_ordering": rank, "drift": drift}
