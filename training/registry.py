"""The governed model registry: ``challenger`` and ``champion`` aliases, promotion gates, history.

Every registered version of the default model gets the alias ``challenger``. :func:`promote`
measures the challenger and the current ``champion`` on the same out-of-time rows (by default
the test vintages logged by the challenger's training run), checks the written gates
(:mod:`training.gates`) and moves ``champion`` only when all of them pass; the first model becomes
champion when it passes the absolute gates.

Every alias change and every refusal is appended to the registered model's history: one
registered-model tag per event, ``poolgate.history.000001``, ``...000002``, each a JSON object
with ``time`` (UTC), ``event``, ``version``, ``reason``, ``metrics`` and, for promotions, the
gate results and the gates file hash. Each version also carries a ``poolgate.status`` tag
(``challenger``, ``champion``, ``refused``, ``superseded``, ``retired``; ``unmarked`` when a training run
stopped between registering a version and marking it). ``poolgate models`` reads both.

A change of aliases is several registry calls, and a process killed between two of them would leave
aliases that the history does not explain. So each change is written ahead: the whole change (alias
moves, status tags and the history event, with an id) goes first into the registered-model tag
``poolgate.pending``, then the calls are made, the event is recorded with its id, and the tag is
removed. The next registry command of poolgate (``train``, ``promote``, ``models``) that finds the tag
completes the change (every step is idempotent; the event is not recorded twice), so the aliases
always match what the history says. :func:`check_consistency` replays the history against the aliases.

Models are read back from the registry as their LeaseModel folder (text and JSON); no pickle and
no stored code is executed.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import logging
import tempfile
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from features.exceptions import TapeError
from features.io import read_table
from features.pause import pause_point
from models import LeaseModel
from training.errors import RegistryError
from training.evaluation import evaluate_model
from training.gates import GateResult, Gates, check_gates, load_gates

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "HEADLINE_METRICS",
    "PromotionDecision",
    "check_consistency",
    "history",
    "list_versions",
    "load_version",
    "mark_challenger",
    "promote",
    "record_event",
    "recover",
]

log = logging.getLogger(__name__)

CHALLENGER = "challenger"
CHAMPION = "champion"
HISTORY_PREFIX = "poolgate.history."
STATUS_TAG = "poolgate.status"
UNMARKED = "unmarked"  # registered by a training run that stopped before marking it challenger
PENDING_TAG = "poolgate.pending"
HEADLINE_METRICS = ("auc_oot", "ks_oot", "brier_oot", "calibration_error_oot", "auc_oracle_oot",
                    "monotonicity_violations_oot")
_GATE_METRICS = ("auc", "ks", "calibration_error", "monotonicity_violations", "brier", "log_loss", "n")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def _registered(client: MlflowClient, name: str) -> Any:
    try:
        return client.get_registered_model(name)
    except MlflowException:
        raise RegistryError(f"no registered model named {name!r} in the registry at "
                            f"{mlflow.get_registry_uri()}; train one with `poolgate train`") from None


def _alias_version(client: MlflowClient, name: str, alias: str) -> str | None:
    model = _registered(client, name)
    version = model.aliases.get(alias)
    return str(version) if version is not None else None


def record_event(name: str, event: str, *, version: str | None, reason: str,
                 metrics: dict[str, float] | None = None, extra: dict[str, Any] | None = None,
                 client: MlflowClient | None = None) -> dict[str, Any]:
    """Append one event to the registered model's history (a new ``poolgate.history.NNNNNN`` tag).

    Returns
    -------
    dict
        The event as stored.
    """
    client = client or MlflowClient()
    model = _registered(client, name)
    taken = [int(k[len(HISTORY_PREFIX):]) for k in model.tags if k.startswith(HISTORY_PREFIX)]
    seq = max(taken, default=0) + 1
    entry: dict[str, Any] = {"seq": seq, "time": _now(), "user": _user(), "event": event, "version": version,
                             "reason": reason, "metrics": metrics or {}}
    entry.update(extra or {})
    client.set_registered_model_tag(name, f"{HISTORY_PREFIX}{seq:06d}", json.dumps(entry, sort_keys=True,
                                                                                   default=str))
    log.info("registry %s: %s version %s: %s", name, event, version, reason)
    return entry


def history(name: str, *, client: MlflowClient | None = None) -> list[dict[str, Any]]:
    """Every recorded event of a registered model, oldest first (an interrupted change is completed first)."""
    client = client or MlflowClient()
    recover(name, client=client)
    return _history(client, name)


def _history(client: MlflowClient, name: str) -> list[dict[str, Any]]:
    model = _registered(client, name)
    keys = sorted(k for k in model.tags if k.startswith(HISTORY_PREFIX))
    return [json.loads(model.tags[k]) for k in keys]


def _apply_change(client: MlflowClient, name: str, change: dict[str, Any]) -> dict[str, Any]:
    """Make the alias moves and status tags of ``change`` and record its event once; each step idempotent."""
    current = _registered(client, name).aliases
    for alias, version in change["aliases"].items():
        if version is None:
            if alias in current:
                client.delete_registered_model_alias(name, alias)
        elif str(current.get(alias)) != version:
            client.set_registered_model_alias(name, alias, version)
            pause_point("registry.alias")
    for version, status in change["status"].items():
        client.set_model_version_tag(name, version, STATUS_TAG, status)
    done = next((e for e in _history(client, name) if e.get("change_id") == change["id"]), None)
    event = change["event"]
    if done is None:
        done = record_event(name, event["event"], version=event["version"], reason=event["reason"],
                            metrics=event["metrics"], extra={**event["extra"], "change_id": change["id"]},
                            client=client)
    pause_point("registry.history")
    client.delete_registered_model_tag(name, PENDING_TAG)
    return done


def _change(client: MlflowClient, name: str, *, aliases: dict[str, str | None], status: dict[str, str],
            event: str, version: str, reason: str, metrics: dict[str, float],
            extra: dict[str, Any]) -> dict[str, Any]:
    """Write a registry change ahead (tag ``poolgate.pending``), make it, and return its history event."""
    recover(name, client=client)
    change = {"id": uuid.uuid4().hex, "aliases": aliases, "status": status,
              "event": {"event": event, "version": version, "reason": reason, "metrics": metrics, "extra": extra}}
    client.set_registered_model_tag(name, PENDING_TAG, json.dumps(change, sort_keys=True, default=str))
    pause_point("registry.pending")
    return _apply_change(client, name, change)


def recover(name: str, *, client: MlflowClient | None = None) -> bool:
    """Complete a registry change that a killed process left written ahead but not finished.

    Returns
    -------
    bool
        True when a change was completed.
    """
    client = client or MlflowClient()
    text = _registered(client, name).tags.get(PENDING_TAG)
    if text is None:
        return False
    change = json.loads(text)
    _apply_change(client, name, change)
    event = change["event"]
    log.info("registry %s: completed a change an interrupted run left unfinished: %s version %s", name,
             event["event"], event["version"])
    return True


def check_consistency(name: str, *, client: MlflowClient | None = None) -> list[str]:
    """Replay the history and compare with the registry: the problems found (empty when consistent).

    ``challenger_set v`` gives ``challenger`` to v; ``champion_set v`` gives ``champion`` to v and
    takes ``challenger`` from it; a refusal moves nothing. The aliases must be exactly what the replay
    gives, every alias must point to a registered version, the history must be numbered 1, 2, ...
    without gaps or repeats, and no change may be pending.
    """
    client = client or MlflowClient()
    model = _registered(client, name)
    problems = []
    if PENDING_TAG in model.tags:
        problems.append("a change is pending (poolgate.pending)")
    events = _history(client, name)
    seqs = [int(e["seq"]) for e in events]
    if seqs != list(range(1, len(events) + 1)):
        problems.append(f"history numbers are {seqs}, not 1..{len(events)}")
    expected: dict[str, str] = {}
    for e in events:
        if e["event"] == "challenger_set":
            expected[CHALLENGER] = str(e["version"])
        elif e["event"] == "champion_set":
            expected[CHAMPION] = str(e["version"])
            if expected.get(CHALLENGER) == str(e["version"]):
                del expected[CHALLENGER]
    actual = {alias: str(v) for alias, v in model.aliases.items()}
    if actual != expected:
        problems.append(f"aliases {actual} but the history gives {expected}")
    versions = {str(mv.version) for mv in client.search_model_versions(f"name='{name}'")}
    problems += [f"alias {a} points to version {v}, which is not registered" for a, v in actual.items()
                 if v not in versions]
    return problems


def mark_challenger(name: str, version: str, *, run_id: str, metrics: dict[str, float],
                    client: MlflowClient | None = None) -> None:
    """Give a newly registered version the ``challenger`` alias and record it.

    The previous challenger (if any) loses the alias and gets status ``superseded``; the event names it.
    """
    client = client or MlflowClient()
    pause_point("registry.challenger")
    recover(name, client=client)
    previous = _alias_version(client, name, CHALLENGER)
    client.set_model_version_tag(name, str(version), "poolgate.metrics", json.dumps(metrics, sort_keys=True))
    reason = "registered by a training run"
    status = {str(version): CHALLENGER}
    if previous is not None and previous != str(version):
        reason += f"; replaces challenger version {previous}"
        status[previous] = "superseded"
    _change(client, name, aliases={CHALLENGER: str(version)}, status=status, event="challenger_set",
            version=str(version), reason=reason, metrics=metrics,
            extra={"run_id": run_id, "previous_challenger": previous})


def load_version(name: str, version: str, *, dst: str | Path | None = None) -> LeaseModel:
    """Read a registered version's LeaseModel folder (text and JSON only) from the registry."""
    try:
        local = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}",
                                                    dst_path=str(dst) if dst else None)
    except MlflowException as exc:
        raise RegistryError(f"cannot download model {name!r} version {version}: {exc}") from None
    return LeaseModel.load(Path(local) / "artifacts" / "bundle")


def _oot_rows(client: MlflowClient, run_id: str, dst: Path) -> pd.DataFrame:
    try:
        path = client.download_artifacts(run_id, "oot/test.parquet", str(dst))
    except (MlflowException, OSError) as exc:
        raise RegistryError(f"run {run_id} has no out-of-time rows (oot/test.parquet) to evaluate on: {exc}") \
            from None
    return read_table(path)


@dataclass(frozen=True)
class PromotionDecision:
    """The outcome of one promotion attempt.

    Attributes
    ----------
    promoted : bool
        The challenger became champion.
    model_name : str
    challenger_version : str
    champion_before, champion_after : str or None
        Champion version before and after.
    reason : str
        One line: why promoted or refused.
    gates : list of GateResult
        Every gate, with measured value and threshold.
    challenger_metrics, champion_metrics : dict
        Measured on the same rows (``champion_metrics`` empty without a champion).
    data : str
        What the rows were (the run whose test vintages were used, or the caller's label).
    rows : int
        Rows evaluated.
    gates_sha256 : str
        Hash of the gates file applied.
    time : str
        UTC time of the decision.
    """

    promoted: bool
    model_name: str
    challenger_version: str
    champion_before: str | None
    champion_after: str | None
    reason: str
    gates: list[GateResult]
    challenger_metrics: dict[str, float]
    champion_metrics: dict[str, float]
    data: str
    rows: int
    gates_sha256: str
    time: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        out = asdict(self)
        out["gates"] = [asdict(g) for g in self.gates]
        return out


def _measure(model: LeaseModel, frame: pd.DataFrame, sweep_assets: int, seed: int) -> dict[str, float]:
    y = frame["default"].to_numpy(dtype="int64")
    vintage = frame["vintage"].astype(str).to_numpy() if "vintage" in frame.columns else None
    records = frame.drop(columns=[c for c in ("default", "vintage") if c in frame.columns])
    ev = evaluate_model(model, records, y, vintage, sweep_assets=sweep_assets, seed=seed)
    return {k: float(ev.metrics[k]) for k in _GATE_METRICS}


def promote(name: str = "poolgate-pd", *, gates: Gates | None = None, data: pd.DataFrame | None = None,
            data_label: str | None = None, sweep_assets: int = 200, seed: int = 0,
            client: MlflowClient | None = None) -> PromotionDecision:
    """Evaluate challenger and champion on the same out-of-time rows and move ``champion`` if the gates pass.

    Parameters
    ----------
    name : str, default "poolgate-pd"
        Registered model name.
    gates : Gates, optional
        The gates (the packaged ``training/gates.toml`` when omitted).
    data : DataFrame, optional
        Labelled rows to judge on: canonical records plus ``default`` (0/1) and optionally
        ``vintage``. By default the test vintages logged by the challenger's training run.
    data_label : str, optional
        How to describe ``data`` in the history.
    sweep_assets : int, default 200
        Assets in each model's monotonicity sweep.
    seed : int, default 0
        Seed of the sweep's sample.

    Raises
    ------
    RegistryError
        If the model or its challenger does not exist, or the evaluation rows cannot be found.
    """
    client = client or MlflowClient()
    gates = gates or load_gates()
    recover(name, client=client)
    challenger = _alias_version(client, name, CHALLENGER)
    if challenger is None:
        raise RegistryError(f"model {name!r} has no {CHALLENGER!r} version to promote; "
                            "train one with `poolgate train`")
    champion = _alias_version(client, name, CHAMPION)
    run_id = client.get_model_version(name, challenger).run_id
    if data is None and not run_id:
        raise RegistryError(f"challenger version {challenger} of {name!r} has no training run to take "
                            "out-of-time rows from; give the rows to judge on (--tape/--performance)")
    with tempfile.TemporaryDirectory(prefix="poolgate-promote-") as tmp:
        pause_point("promote.measure")
        if data is None:
            data = _oot_rows(client, str(run_id), Path(tmp))
            data_label = f"test vintages of run {run_id} (challenger version {challenger})"
        missing = [c for c in ("contract_id", "default") if c not in data.columns]
        if missing:
            raise RegistryError(f"evaluation rows lack column(s) {', '.join(missing)}")
        c_metrics = _measure(load_version(name, challenger, dst=Path(tmp) / "c"), data, sweep_assets, seed)
        h_metrics: dict[str, float] = {}
        if champion is not None and champion != challenger:
            try:
                h_metrics = _measure(load_version(name, champion, dst=Path(tmp) / "h"), data, sweep_assets, seed)
            except TapeError as exc:  # e.g. a challenger trained through a mapping, a champion on canonical fields
                raise RegistryError(
                    f"champion version {champion} of {name!r} cannot score the rows the challenger (version "
                    f"{challenger}) is judged on ({data_label or 'the rows given'}): {exc}. The two models read "
                    "different inputs, so the gates cannot compare them on these rows; give rows both read "
                    "(--tape/--performance), or register the challenger under another --model-name") from None
    results = check_gates(c_metrics, h_metrics or None, gates)
    failed = [g for g in results if g.passed is False]
    promoted = not failed
    gate_dicts = [asdict(g) for g in results]
    data_text = data_label or "caller's rows"
    extra: dict[str, Any] = {"champion_before": champion, "champion_metrics": h_metrics, "gates": gate_dicts,
             "gates_file": gates.source, "gates_sha256": gates.sha256, "data": data_text,
             "rows": len(data)}
    if promoted:
        reason = ("first champion: passed the absolute gates" if not h_metrics
                  else f"passed every gate against champion version {champion}")
        status = {challenger: CHAMPION}
        if champion is not None and champion != challenger:
            status[champion] = "retired"
        event = _change(client, name, aliases={CHAMPION: challenger, CHALLENGER: None}, status=status,
                        event="champion_set", version=challenger, reason=reason, metrics=c_metrics, extra=extra)
    else:
        reason = "refused: " + "; ".join(g.detail for g in failed)
        event = _change(client, name, aliases={}, status={challenger: "refused"}, event="promotion_refused",
                        version=challenger, reason=reason, metrics=c_metrics, extra=extra)
    return PromotionDecision(promoted=promoted, model_name=name, challenger_version=challenger,
                             champion_before=champion, champion_after=challenger if promoted else champion,
                             reason=reason, gates=results, challenger_metrics=c_metrics,
                             champion_metrics=h_metrics, data=data_text, rows=len(data),
                             gates_sha256=gates.sha256, time=event["time"])


def list_versions(name: str, *, client: MlflowClient | None = None) -> list[dict[str, Any]]:
    """Every registered version, newest first: ``version``, ``aliases``, ``status``, ``run_id``,
    ``created`` (UTC) and the headline out-of-time metrics recorded at registration.

    A version without a status tag is ``unmarked``: the training run that registered it stopped (killed,
    or failed) before :func:`mark_challenger`. It holds no alias, so nothing screens with it."""
    client = client or MlflowClient()
    recover(name, client=client)
    rows = []
    for mv in client.search_model_versions(f"name='{name}'"):
        full = client.get_model_version(name, mv.version)
        metrics = json.loads(full.tags.get("poolgate.metrics", "{}"))
        rows.append({
            "version": str(full.version),
            "aliases": sorted(full.aliases),
            "status": full.tags.get(STATUS_TAG) or UNMARKED,
            "run_id": full.run_id,
            "created": dt.datetime.fromtimestamp(full.creation_timestamp / 1000, dt.UTC)
            .isoformat(timespec="seconds"),
            "metrics": metrics,
        })
    return sorted(rows, key=lambda r: int(r["version"]), reverse=True)
