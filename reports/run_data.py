"""Read one screening run's output folder into the plain pieces the run report draws.

A run folder (``poolgate screen --out DIR``) holds ``decisions.parquet`` (or ``decisions.csv``), one
decision record per input row (``scoring.decisions.decision_columns``), ``summary.json`` (the pool
summary) and, when the run kept them, ``contributions.parquet`` (``row``, ``asset_id``,
``base_value`` and one log-odds column per model input). :func:`load_run` reads them and normalises
the decision record into the columns the report uses; :func:`run_data_from_frames` does the same
for frames already in memory (tests, benchmarks).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.exceptions import TapeError
from features.io import read_json_object

__all__ = ["PROVENANCE_KEYS", "RunData", "load_run", "run_data_from_frames"]

#: Provenance the report header shows, looked up in summary.json (top level or under "run").
PROVENANCE_KEYS = ("time", "model_name", "model_version", "model_alias", "model_uri", "policy_name",
                   "policy_version", "policy_sha256", "input_digest", "log_hash", "audit_ok", "audit_message")
_ALIASES = {"policy_sha256": ("policy_hash", "policy_sha256"), "time": ("time", "created", "started_at", "finished_at"),
            "log_hash": ("log_hash", "record_hash", "decision_log_hash"), "input_digest": ("input_digest", "tape_digest"),
            "model_alias": ("model_alias", "alias")}
_REASON = re.compile(r"^reason_(\d+)_(feature|text)$")


@dataclass
class RunData:
    """A screening run as the report sees it.

    Attributes
    ----------
    run_id : str
    decisions : DataFrame
        One row per input row: ``asset_id``, ``status``, ``pd`` (fraction), ``score`` (points),
        ``failed_rules`` / ``failed_messages`` (tuples of rule codes and texts), ``reason_features``
        / ``reason_texts`` (tuples, strongest first) and, when known, ``balance`` (CNY).
    summary : dict
        ``summary.json`` as read.
    provenance : dict
        :data:`PROVENANCE_KEYS` found for the run.
    contributions : DataFrame or None
        Log-odds contribution per model input, indexed like ``decisions``.
    base_value : Series or None
        The model's base value (log-odds) per asset, same index.
    inputs : DataFrame or None
        Model input values, same index (colours the beeswarm, labels the waterfalls, feeds PSI).
    profile : dict or None
        Training-population profile (``{"features": ..., "scores": ...}``, see :mod:`models.population`).
    profile_source : str
        Where the profile came from, in words (shown in the report).
    concentration : dict
        Limit code -> ``{"share", "ok", "largest", "dropped"}`` measured on the pool.
    summary_skip : tuple of str
        Summary keys drawn elsewhere in the report (left out of the pool-summary tables).
    """

    run_id: str
    decisions: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    contributions: pd.DataFrame | None = None
    base_value: pd.Series | None = None
    inputs: pd.DataFrame | None = None
    profile: dict[str, Any] | None = None
    profile_source: str = "none given"
    concentration: dict[str, dict[str, Any]] = field(default_factory=dict)
    summary_skip: tuple[str, ...] = ()

    @property
    def n_assets(self) -> int:
        """Input rows of the run (every row has exactly one decision)."""
        return len(self.decisions)


def _json_items(text: Any, key: str) -> tuple[str, ...]:
    if text is None or (isinstance(text, float) and np.isnan(text)) or text is pd.NA or text == "":
        return ()
    items = json.loads(str(text))
    return tuple(str(i.get(key, "")) for i in items if isinstance(i, Mapping))


def _normalise(raw: pd.DataFrame) -> pd.DataFrame:
    """The report's columns from a decision record (see :class:`RunData`)."""
    need = [c for c in ("asset_id", "status", "pd") if c not in raw.columns]
    if need:
        raise TapeError(f"decisions: columns {', '.join(need)} missing; is this a poolgate decisions file? "
                        f"(columns found: {', '.join(map(str, raw.columns[:12]))})")
    out = pd.DataFrame({"asset_id": raw["asset_id"].astype(object).where(raw["asset_id"].notna(), "").astype(str),
                        "status": raw["status"].astype(str),
                        "pd": pd.to_numeric(raw["pd"], errors="coerce").astype(float),
                        "score": pd.to_numeric(raw.get("score", np.nan), errors="coerce")},
                       index=raw.index)
    out["score"] = out["score"].astype(float)
    failed = raw["failed_rules"] if "failed_rules" in raw.columns else pd.Series("[]", index=raw.index)
    out["failed_rules"] = [_json_items(t, "code") for t in failed]
    out["failed_messages"] = [_json_items(t, "message") for t in failed]
    slots = sorted({int(m.group(1)) for c in raw.columns if (m := _REASON.match(str(c)))})
    feats = [raw[f"reason_{i}_feature"].astype(object).where(raw[f"reason_{i}_feature"].notna(), "")
             for i in slots if f"reason_{i}_feature" in raw.columns]
    texts = [raw[f"reason_{i}_text"].astype(object).where(raw[f"reason_{i}_text"].notna(), "")
             for i in slots if f"reason_{i}_text" in raw.columns]
    out["reason_features"] = ([tuple(str(v) for v in row if v) for row in zip(*feats)] if feats
                              else [()] * len(raw))
    out["reason_texts"] = ([tuple(str(v) for v in row if v) for row in zip(*texts)] if texts
                           else [()] * len(raw))
    out["decided_by"] = (raw["decided_by"].astype(object).where(raw["decided_by"].notna(), "").astype(str)
                         if "decided_by" in raw.columns else "")
    for col in ("outstanding_principal", "balance"):
        if col in raw.columns:
            out["balance"] = pd.to_numeric(raw[col], errors="coerce").astype(float)
    return out


def _provenance(summary: Mapping[str, Any], raw: pd.DataFrame) -> dict[str, Any]:
    pools = [summary.get("run", {}), summary.get("provenance", {}), summary]
    out: dict[str, Any] = {}
    for key in PROVENANCE_KEYS:
        for name in _ALIASES.get(key, (key,)):
            for src in pools:
                if isinstance(src, Mapping) and src.get(name) not in (None, ""):
                    out.setdefault(key, src[name])
    for key, col in (("model_uri", "model_uri"), ("model_version", "model_version"), ("policy_sha256", "policy_hash")):
        if key not in out and col in raw.columns and len(raw):
            values = raw[col].dropna().astype(str).unique()
            if len(values):
                out[key] = values[0]
    return out


def _concentration(summary: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    conc = summary.get("concentration", summary.get("concentration_limits"))
    items = list(conc.values()) if isinstance(conc, Mapping) else list(conc or [])
    if isinstance(conc, Mapping):
        items = [{"code": k, **v} for k, v in conc.items() if isinstance(v, Mapping)]
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        if isinstance(item, Mapping) and "code" in item:
            share = item.get("share", item.get("value"))
            limit = item.get("max_share", item.get("limit"))
            ok = item.get("holds", item.get("ok"))
            if ok is None and share is not None and limit is not None:
                ok = float(share) <= float(limit) + 1e-12
            out[str(item["code"])] = {"share": share, "ok": ok, "largest": item.get("largest", ""),
                                      "dropped": item.get("dropped")}
    return out


def run_data_from_frames(decisions: pd.DataFrame, summary: Mapping[str, Any] | None = None, *,
                         contributions: pd.DataFrame | None = None, inputs: pd.DataFrame | None = None,
                         profile: Mapping[str, Any] | None = None, profile_source: str = "none given",
                         provenance: Mapping[str, Any] | None = None, run_id: str | None = None) -> RunData:
    """Build :class:`RunData` from a decision-record frame and the run's other outputs.

    Parameters
    ----------
    decisions : DataFrame
        Decision records (``scoring.decisions.decision_columns``), one per input row.
    summary : mapping, optional
        The pool summary.
    contributions : DataFrame, optional
        ``row`` (or ``asset_id``), ``base_value`` and one log-odds column per model input.
    inputs : DataFrame, optional
        ``row`` (or ``asset_id``) and the model input values.
    provenance : mapping, optional
        Header facts (:data:`PROVENANCE_KEYS`) that override those found in the summary.
    """
    summary = dict(summary or {})
    norm = _normalise(decisions)
    key = "row" if "row" in decisions.columns else "asset_id"
    position = pd.Series(norm.index, index=decisions[key].to_numpy())

    def aligned(frame: pd.DataFrame | None) -> pd.DataFrame | None:
        if frame is None:
            return None
        k = key if key in frame.columns else "asset_id"
        idx = (position.reindex(frame[k].to_numpy()) if k == key
               else pd.Series(norm.index, index=norm["asset_id"].to_numpy()).reindex(frame[k].astype(str).to_numpy()))
        keep = idx.notna().to_numpy()
        out = frame.loc[keep].drop(columns=[c for c in ("row", "asset_id") if c in frame.columns])
        out.index = idx[keep].astype("int64").to_numpy()
        return out

    contrib = aligned(contributions)
    base = None
    if contrib is not None and "base_value" in contrib.columns:
        base = contrib.pop("base_value").astype(float)
    elif contrib is not None and "base_value" in decisions.columns:
        base = pd.to_numeric(decisions["base_value"], errors="coerce").loc[contrib.index].astype(float)
    conc = _concentration(summary)
    dropped = norm["decided_by"].value_counts()
    for code, item in conc.items():
        if item.get("dropped") is None:
            item["dropped"] = int(dropped.get(code, 0))
    prov = _provenance(summary, decisions)
    prov.update({k: v for k, v in (provenance or {}).items() if v is not None})
    run_info: Mapping[str, Any] = summary["run"] if isinstance(summary.get("run"), Mapping) else {}
    rid = run_id or str(summary.get("run_id") or run_info.get("run_id") or prov.get("run_id") or
                        (decisions["run_id"].dropna().astype(str).iloc[0]
                         if "run_id" in decisions.columns and decisions["run_id"].notna().any() else "unknown"))
    skip = tuple(k for k in ("concentration", "concentration_limits", "run", "provenance", *PROVENANCE_KEYS,
                             "run_id", "policy_hash") if k in summary)
    return RunData(run_id=rid, decisions=norm, summary=summary, provenance=prov, contributions=contrib,
                   base_value=base, inputs=aligned(inputs), profile=dict(profile) if profile else None,
                   profile_source=profile_source, concentration=conc, summary_skip=skip)


def load_run(run_dir: str | os.PathLike[str], *, inputs: pd.DataFrame | None = None,
             profile: Mapping[str, Any] | None = None, profile_source: str = "none given",
             provenance: Mapping[str, Any] | None = None) -> RunData:
    """Read a run folder written by ``poolgate screen``.

    Raises
    ------
    TapeError
        If the folder or its decisions file is missing, or the decisions are not a decision record.
    """
    d = Path(run_dir)
    if not d.is_dir():
        raise TapeError(f"{d}: no such run folder (expected the --out folder of poolgate screen)")
    if (d / "decisions.parquet").exists():
        decisions = pd.read_parquet(d / "decisions.parquet")
    elif (d / "decisions.csv").exists():
        decisions = pd.read_csv(d / "decisions.csv", dtype={"asset_id": str}, keep_default_na=False,
                                na_values=[""])
    else:
        raise TapeError(f"{d}: no decisions.parquet or decisions.csv in the run folder")
    summary: dict[str, Any] = {}
    if (d / "summary.json").exists():
        summary = read_json_object(d / "summary.json", what="the summary of a poolgate screen run")
    contributions = pd.read_parquet(d / "contributions.parquet") if (d / "contributions.parquet").exists() else None
    if inputs is None and (d / "inputs.parquet").exists():
        inputs = pd.read_parquet(d / "inputs.parquet")
    return run_data_from_frames(decisions, summary, contributions=contributions, inputs=inputs, profile=profile,
                                profile_source=profile_source, provenance=provenance)
