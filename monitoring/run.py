"""``monitor``: the pool's life from a screening run, a performance tape and the deal file, written out.

:func:`compute_monitoring` is the pure part (frames in, frames and dicts out); :func:`monitor` reads
the inputs, refuses bad ones before anything is written, computes, writes ``monthly.parquet``,
``monthly.csv``, ``vintages.parquet``, ``backtest.json`` and ``summary.json`` into a staging folder
inside ``out`` and moves them into place together, then appends a monitoring record to the
hash-chained decision log, then (optionally) logs the back-test to MLflow.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.exceptions import PoolgateError
from features.pause import pause_point
from features.staging import make_staging, remove_stale
from monitoring.backtest import backtest
from monitoring.deal import Deal, DealError, load_deal
from monitoring.inputs import (
    MonitorInputError,
    Performance,
    ScreenedPool,
    load_pool,
    periods_between,
    read_performance,
)
from monitoring.pool import BUCKETS, STATES, asset_positions, month_index, month_numbers, pool_figures
from monitoring.vintages import vintage_curves
from monitoring.waterfall import run_waterfall
from scoring import audit
from scoring.lookup import find_run_dir

__all__ = ["OUTPUT_FILES", "SUMMARY_SCHEMA", "Monitoring", "compute_monitoring", "monitor", "pool_drift"]

log = logging.getLogger(__name__)
OUTPUT_FILES = ("monthly.parquet", "monthly.csv", "vintages.parquet", "assets.parquet", "backtest.json", "summary.json")
SUMMARY_SCHEMA = "poolgate.monitoring.summary/1"
#: Figures of the latest period copied into ``summary.json`` ``latest`` (stable key names, documented).
LATEST_KEYS = ("period", "month", "pool_balance", "pool_factor", "assets", "collection_rate",
               "delinquency_30_plus_share", "delinquency_60_plus_share", "delinquency_60_plus_3m", "smm",
               "cpr", "abs_speed", "cumulative_defaults", "cumulative_gross_default_share",
               "cumulative_recoveries", "recovery_rate_cumulative", "cumulative_net_loss",
               "cumulative_net_loss_share", "notes_balance", "overcollateralisation",
               "overcollateralisation_share", "liquidity_outstanding", "liquidity_draws")


@dataclass(frozen=True)
class Monitoring:
    """What :func:`compute_monitoring` returns: the tables and the two JSON documents."""

    monthly: pd.DataFrame
    vintages: pd.DataFrame
    assets: pd.DataFrame
    backtest: dict[str, Any]
    triggers: list[dict[str, Any]]
    roll_rates: dict[str, Any]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return None if not np.isfinite(f) else round(f, 10)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (pd.Timestamp, dt.date)):
        return value.isoformat()[:10]
    return value


def compute_monitoring(assets: pd.DataFrame, perf: pd.DataFrame, deal: Deal, *, periods: int,
                       psi: pd.DataFrame | None = None, psi_note: str = "", pd_basis: str = "origination") -> Monitoring:
    """Every figure of the monitoring, from frames (no I/O).

    Parameters
    ----------
    assets : DataFrame
        The admitted pool (:data:`monitoring.pool.ASSET_COLUMNS`).
    perf : DataFrame
        Typed performance rows (canonical layout).
    deal : Deal
        The deal file.
    periods : int
        Periods after the cut-off to report (>= 1).
    psi, psi_note
        Input drift for the back-test (see :func:`monitoring.backtest.backtest`).
    pd_basis : str
        The PD the screening's bands used (``summary.json`` ``run.pd_basis``): ``origination`` (the PD of
        the deal's ``[backtest] horizon_months`` from origination) or a forward PD at the cut-off; for the
        latter the back-test takes the run's 12-month forward PD (``pd_12m``) against the defaults of the
        first 12 periods, the textbook one-year back-test; every asset counts for the whole window, as the
        forward PD already allows for prepayment and maturity.
    """
    cutoff_month = int(month_index(np.array([np.datetime64(deal.cutoff_date, "D")]))[0])
    figs = pool_figures(assets, perf, cutoff_month=cutoff_month, periods=periods, default_dpd=deal.default_dpd)
    wf, triggers = run_waterfall(figs.monthly, deal)
    monthly = pd.concat([figs.monthly, wf], axis=1)
    vint = vintage_curves(assets, figs.events, periods)
    bal = assets["balance"].to_numpy(dtype="float64")
    seasoning = float(np.sum(bal * assets["months_on_book"].to_numpy(dtype="float64")) / max(bal.sum(), 1e-9))
    ev = figs.events
    pd12 = assets["pd_12m"].to_numpy(dtype="float64") if "pd_12m" in assets.columns else None
    if pd_basis != "origination" and pd12 is not None and np.isfinite(pd12).all():
        window = min(periods, 12)
        # pd_12m already allows for prepayment and maturity (the forward model's competing hazards): every
        # asset counts for the whole window, not only the months it stayed (that would allow for them twice)
        bt = backtest(pd12, (ev.default_period > 0) & (ev.default_period <= window),
                      np.full(len(pd12), float(window)), deal.backtest, periods=window,
                      seasoning_months=seasoning, psi=psi, psi_note=psi_note, horizon_months=12, forward=True)
    else:
        bt = backtest(assets["pd"].to_numpy(dtype="float64"), ev.default_period > 0, ev.exposure_months,
                      deal.backtest, periods=periods, seasoning_months=seasoning, psi=psi, psi_note=psi_note)
    latest = figs.roll_counts[-1]
    roll = {"from": list(BUCKETS), "to": list(STATES), "latest_period": periods,
            "latest_counts": latest.tolist(), "all_periods_counts": figs.roll_counts[1:].sum(axis=0).tolist()}
    ev = figs.events
    state = np.select([ev.default_period > 0, ev.prepay_period > 0, ev.matured_period > 0, ev.balance > 0],
                      ["defaulted", "prepaid", "matured", "in_pool"], "not_reported")
    asset_table = pd.DataFrame({
        "asset_id": assets["asset_id"].astype(str).to_numpy(), "state": state, "balance": ev.balance,
        "cutoff_balance": bal, "pd": assets["pd"].to_numpy(dtype="float64"),
        "default_period": ev.default_period, "prepay_period": ev.prepay_period,
        "matured_period": ev.matured_period, "months_at_risk": ev.exposure_months,
        "charged_off": ev.charged_off, "recovered": ev.recovered, "last_period": ev.last_period})
    return Monitoring(monthly=monthly, vintages=vint, assets=asset_table, backtest=bt, triggers=triggers,
                      roll_rates=roll)


def pool_drift(pool: ScreenedPool) -> tuple[pd.DataFrame | None, str, Any]:
    """PSI of the admitted pool's model inputs against the training profile of the run's model.

    Returns ``(psi table or None, note, loaded model or None)``; the model is the one the run names.
    """
    from monitoring.drift import pool_psi
    from scoring.registry import load_model

    uri = str(pool.run.get("model_uri") or "")
    version = str(pool.run.get("model_version") or "")
    if uri.startswith("models:/") and version:   # the version that screened, not where the alias points now
        uri = f"models:/{uri[len('models:/'):].split('@')[0].split('/')[0]}/{version}"
    try:
        loaded = load_model(uri)
    except PoolgateError as exc:
        return None, f"the run's model {uri!r} could not be loaded ({exc})", None
    except Exception as exc:  # noqa: BLE001 - MLflow raises its own errors for unknown models
        return None, f"the run's model {uri!r} could not be loaded ({type(exc).__name__}: {exc})", None
    if pool.run.get("model_digest") and loaded.ref.digest != pool.run.get("model_digest"):
        return None, f"the model at {uri} is not the one that screened (digest differs)", None
    profile = loaded.model.metadata.get("population")
    if not isinstance(profile, dict) or "features" not in profile:
        return None, f"the model {uri} carries no training population profile in its metadata", loaded
    inputs = loaded.model.transform(pool.records)
    note = ("PSI of the admitted pool's model inputs at the cut-off against the training population, within "
            "the range the pool covers (training bins the eligible pool cannot reach are left out)")
    psi = pool_psi(profile["features"], inputs)
    spec = loaded.model.spec   # the inputs' names as the reports show them (a Chinese page shows 新能源车)
    names = {f.name: (f.display_en, f.display_zh) for f in spec.features}
    psi["display_en"] = [names.get(f, (f, f))[0] for f in psi["feature"]]
    psi["display_zh"] = [names.get(f, (f, f))[1] for f in psi["feature"]]
    return psi, note, loaded


def _stage(out: Path, files: dict[str, Callable[[Path], object]]) -> dict[str, str]:
    out.mkdir(parents=True, exist_ok=True)
    remove_stale(out, (".monitor-staging-*",))   # what a monitor killed here left (never a live run's)
    staging = make_staging(out, ".monitor-staging-")
    try:
        digests: dict[str, str] = {}
        for name, write in files.items():
            write(staging / name)
            with open(staging / name, "rb") as fh:
                os.fsync(fh.fileno())
            digests[name] = audit.file_digest(staging / name)
        pause_point("monitor.write")
        for name in files:
            os.replace(staging / name, out / name)
        return digests
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _summary(comp: Monitoring, deal: Deal, pool: ScreenedPool, perf: Performance, asof: dt.date,
             monitor_id: str, periods: int) -> dict[str, Any]:
    m = comp.monthly
    last = m.iloc[-1]
    latest = {k: last[k] for k in LATEST_KEYS}
    latest["notes"] = {c.name: {"rank": c.rank, "balance": last[f"class_{c.name}_balance"],
                                "factor": last[f"class_{c.name}_factor"],
                                "credit_enhancement": last[f"class_{c.name}_credit_enhancement"]}
                       for c in deal.classes}
    latest["delinquency"] = {b: {"count": last[f"dq_{b}_count"], "balance": last[f"dq_{b}_balance"]}
                             for b in BUCKETS}
    bt = comp.backtest
    return _jsonable({
        "schema": SUMMARY_SCHEMA, "monitor_id": monitor_id, "asof": asof, "periods": periods,
        "cutoff": deal.cutoff_date, "cutoff_balance": float(pool.assets["balance"].sum()),
        "cutoff_assets": len(pool.assets),
        "deal": {"name": deal.name, "version": deal.version, "sha256": deal.sha256, "file": deal.source,
                 "cutoff_balance": deal.cutoff_balance,
                 "classes": [{"name": c.name, "rank": c.rank, "balance": c.balance, "coupon": c.coupon}
                             for c in deal.classes],
                 "principal": deal.principal, "liquidity": {"provider": deal.liquidity.provider,
                                                            "covers": list(deal.liquidity.covers),
                                                            "limit": deal.liquidity.limit}},
        "run": {k: pool.run.get(k) for k in ("run_id", "model_uri", "model_version", "model_digest", "policy_hash",
                                              "tape", "input_digest")} | {"run_dir": str(pool.run_dir)},
        "performance": {"file": str(perf.path), "digest": perf.digest, "rows": perf.n_rows,
                        "rows_used": len(perf.rows), "left_out_by_rule": perf.left_out},
        "latest": latest, "triggers": comp.triggers,
        "backtest": {"verdict": bt["verdict"], "reasons": bt["reasons"], "reasons_zh": bt["reasons_zh"],
                     "horizon": bt["horizon"],
                     "defaults": bt["pool"]["defaults"], "expected_defaults": bt["pool"]["expected_defaults"],
                     "auc": bt["rank_ordering"]["auc"], "ks": bt["rank_ordering"]["ks"]},
        "roll_rates": comp.roll_rates,
    })


def monitor(run: str, performance: str | os.PathLike[str], deal_path: str | os.PathLike[str], out: str | os.PathLike[str],
            *, asof: dt.date | None = None, log_path: str | os.PathLike[str] = audit.DEFAULT_LOG,
            perf_frame: pd.DataFrame | None = None, drift: bool = True, track: bool = True,
            now: Callable[[], dt.datetime] | None = None) -> dict[str, Any]:
    """Monitor the pool a screening run admitted, for every period after the cut-off up to ``asof``.

    Parameters
    ----------
    run : str
        Screening output folder or run id (found through the decision log).
    performance : path-like
        Performance tape (canonical layout, CSV or Parquet); with ``perf_frame`` only its name and digest.
    deal_path : path-like
        The deal file (TOML).
    out : path-like
        Output folder.
    asof : date, optional
        Last date to report; default the last month of the tape.
    log_path : path-like
        Decision log that receives the monitoring record.
    perf_frame : DataFrame, optional
        The performance rows already in the canonical layout (a mapped Reg AB tape).
    drift : bool
        Load the run's model for the input drift (PSI) of the back-test.
    track : bool
        Log the back-test to MLflow as a run linked to the screening model's version.

    Returns
    -------
    dict
        The summary (as written to ``summary.json``) plus ``out``, ``log_hash`` and ``mlflow_run_id``.

    Raises
    ------
    DealError, MonitorInputError
        On bad input; nothing is written then.
    AuditError
        If the decision log could not take the record (checked before anything is read or written).
    """
    audit.check_appendable(log_path)  # the record is appended last: a log that cannot take it stops the run now
    deal = load_deal(deal_path)
    run_dir = find_run_dir(run, log_path)
    pool = load_pool(run_dir, with_records=drift)
    cut = str(pool.run.get("cutoff"))
    if cut != deal.cutoff_date.isoformat():
        raise DealError(deal.source, "cutoff_date", deal.cutoff_date.isoformat(),
                        f"the screening run's cut-off {cut} (rule same_cutoff)")
    pool_balance = float(pool.assets["balance"].sum())
    if abs(pool_balance - deal.cutoff_balance) > deal.balance_tolerance * deal.cutoff_balance + 1.0:
        raise DealError(deal.source, "cutoff_balance", deal.cutoff_balance,
                        f"within {deal.balance_tolerance:.1%} of the admitted pool's balance {pool_balance:,.2f} CNY "
                        f"of run {pool.run.get('run_id')} (rule balance_matches_pool)")
    perf = read_performance(performance, pool.tape_ids, frame=perf_frame)
    if asof is not None and asof <= deal.cutoff_date:
        raise MonitorInputError(f"--asof = {asof.isoformat()}: rule after_cutoff (must be after the cut-off "
                                f"{deal.cutoff_date.isoformat()})")
    month_no = month_numbers(perf.rows["month"])
    admitted = asset_positions(perf.rows["contract_id"], pd.Index(pool.assets["asset_id"])) >= 0
    cutoff_no = int(month_index(np.array([np.datetime64(deal.cutoff_date, "D")]))[0])
    if not (admitted & (month_no > cutoff_no)).any():
        raise MonitorInputError(f"{perf.path}: row 0, contract_id: rule has_pool_rows (no row of an admitted asset "
                                f"after the cut-off {deal.cutoff_date.isoformat()})")
    last_no = int(month_no[admitted].max())
    del month_no, admitted
    last_month = (pd.Timestamp(year=last_no // 12, month=last_no % 12 + 1, day=1) + pd.offsets.MonthEnd(0)).date()
    if asof is not None and asof > last_month:
        raise MonitorInputError(f"--asof = {asof.isoformat()}: rule within_tape (the performance tape reports the "
                                f"admitted assets to {last_month.isoformat()}; the figures would stop there while "
                                f"the outputs said {asof.isoformat()}: give that month or leave --asof out)")
    end = min(asof, last_month) if asof is not None else last_month
    periods = periods_between(deal.cutoff_date, end)
    if periods < 1:
        raise MonitorInputError(f"--asof = {end.isoformat()}: rule full_period (no month-end after the cut-off "
                                "up to it)")
    psi, note, loaded = (pool_drift(pool) if drift else (None, "not requested (--no-drift)", None))
    comp = compute_monitoring(pool.assets, perf.rows, deal, periods=periods, psi=psi, psi_note=note,
                              pd_basis=str(pool.run.get("pd_basis") or "origination"))
    asof_date = asof or end
    monitor_id = hashlib.sha256("|".join([str(pool.run.get("run_id")), perf.digest, deal.sha256,
                                          asof_date.isoformat()]).encode()).hexdigest()[:16]
    summary = _summary(comp, deal, pool, perf, asof_date, monitor_id, periods)
    bt_doc = _jsonable({"monitor_id": monitor_id, "run_id": pool.run.get("run_id"),
                        "model_uri": pool.run.get("model_uri"), "model_version": pool.run.get("model_version"),
                        **comp.backtest})

    def write_json(doc: dict[str, Any]) -> Callable[[Path], object]:
        return lambda p: p.write_text(json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                                      encoding="utf-8")

    monthly = comp.monthly.copy()
    monthly["month"] = monthly["month"].dt.date
    digests = _stage(Path(out), {
        "monthly.parquet": lambda p: monthly.to_parquet(p, index=False),
        "monthly.csv": lambda p: monthly.to_csv(p, index=False),
        "vintages.parquet": lambda p: comp.vintages.to_parquet(p, index=False),
        "assets.parquet": lambda p: comp.assets.to_parquet(p, index=False),
        "backtest.json": write_json(bt_doc),
        "summary.json": write_json(summary),
    })
    record = audit.append(log_path, {
        "record": "monitoring", "monitor_id": monitor_id, "screen_run_id": pool.run.get("run_id"),
        "deal_hash": deal.sha256, "deal_version": deal.version, "deal_file": deal.source,
        "performance": str(perf.path), "performance_digest": perf.digest, "asof": asof_date.isoformat(),
        "periods": periods, "out_dir": str(Path(out).resolve()), "digests": digests,
        "verdict": comp.backtest["verdict"], "model_uri": pool.run.get("model_uri"),
        "model_version": pool.run.get("model_version")}, now=now)
    mlflow_run = None
    if track:
        from monitoring._tracking import log_backtest

        mlflow_run = log_backtest(comp.backtest, summary, loaded)
    return {**summary, "out": str(out), "log_hash": record["hash"], "digests": digests, "mlflow_run_id": mlflow_run}
