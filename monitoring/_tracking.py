"""The one place monitoring talks to MLflow: the back-test as a run linked to the screening model's version.

The run (experiment ``poolgate-monitoring``) carries the back-test figures as metrics, the screening run,
deal and tape as parameters, and tags naming the model URI and version; the registered model version
gets the tag ``poolgate.last_monitoring_run`` pointing back at the run, so the model's page in the
registry leads to how its PDs held up. The tracking URI is MLflow's own default (``mlflow.db`` in the
working folder) or ``MLFLOW_TRACKING_URI``; nothing here sets it.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["EXPERIMENT", "log_backtest"]

EXPERIMENT = "poolgate-monitoring"
_REGISTERED = re.compile(r"^models:/(?P<name>[^/@]+)(?:@[^/]+|/\d+)$")


def log_backtest(backtest: dict[str, Any], summary: dict[str, Any], loaded: Any = None) -> str:
    """Log the back-test of one monitoring output; return the MLflow run id."""
    import time

    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    now = int(time.time() * 1000)
    summary_run = summary.get("run", {})
    uri, version = str(summary_run.get("model_uri") or ""), str(summary_run.get("model_version") or "")
    latest = summary.get("latest", {})
    metrics = {
        "backtest_defaults": backtest["pool"]["defaults"], "backtest_expected_defaults": backtest["pool"]["expected_defaults"],
        "backtest_assets": backtest["pool"]["assets"],
        "backtest_verdict_level": ("holds", "watch", "retrain").index(backtest["verdict"]),
        "periods": summary.get("periods", 0),
    }
    for key in ("auc", "ks"):
        if backtest["rank_ordering"].get(key) is not None:
            metrics[f"backtest_{key}"] = backtest["rank_ordering"][key]
    if backtest["drift"]["features"]:
        metrics["psi_max"] = max(f["psi"] for f in backtest["drift"]["features"])
    for i, band in enumerate(backtest["bands"]):
        metrics[f"band{i}_defaults"] = band["defaults"]
        metrics[f"band{i}_expected_defaults"] = band["expected_defaults"]
    for key in ("cumulative_net_loss_share", "delinquency_60_plus_share", "cpr", "pool_factor"):
        if latest.get(key) is not None:
            metrics[key] = latest[key]
    client = MlflowClient()   # no fluent calls: they would leave an active experiment behind in the process
    found = client.get_experiment_by_name(EXPERIMENT)
    experiment_id = found.experiment_id if found is not None else client.create_experiment(EXPERIMENT)
    run = client.create_run(experiment_id, run_name=f"monitor {summary_run.get('run_id')} to {summary.get('asof')}",
                            tags={"poolgate.kind": "monitoring", "poolgate.verdict": backtest["verdict"],
                                  "poolgate.model_uri": uri, "poolgate.model_version": version,
                                  "poolgate.screen_run_id": str(summary_run.get("run_id")),
                                  "poolgate.monitor_id": summary["monitor_id"]})
    run_id = run.info.run_id
    try:
        params = {"screen_run_id": summary_run.get("run_id"), "deal_sha256": summary["deal"]["sha256"],
                  "deal_version": summary["deal"]["version"], "asof": summary["asof"],
                  "performance_digest": summary["performance"]["digest"],
                  "horizon_months": backtest["horizon_months"], "model_uri": uri, "model_version": version}
        client.log_batch(run_id, metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()],
                         params=[Param(k, str(v)) for k, v in params.items()])
        client.log_dict(run_id, backtest, "backtest.json")
    except BaseException:
        client.set_terminated(run_id, status="FAILED")
        raise
    client.set_terminated(run_id)
    m = _REGISTERED.match(uri)
    if m and version:
        MlflowClient().set_model_version_tag(m.group("name"), version, "poolgate.last_monitoring_run", run_id)
    return str(run_id)
