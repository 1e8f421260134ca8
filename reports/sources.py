"""Gather what the run report needs from the places a screening run left it (the I/O edge).

:func:`assemble_run` starts from a run folder or run id and collects: the run's files
(:func:`reports.run_data.load_run`); the decision log's verdict (:func:`scoring.audit.verify`), the
run's own log record (time and hash) and whether the files still have the digests that record
holds; the policy the run used (its file, when its hash still matches, else the one given); the
model the run names (for its feature specification and the training profile in its metadata);
the model inputs of the tape, recomputed only when the tape is still there with the digest the run
recorded; and the training-population profile (model metadata ``population``, or a reference book
scored by the run's model).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from features.contract import check_lease_tape
from features.exceptions import PoolgateError
from features.io import read_table
from features.spec import FeatureSpec, load_spec
from models.population import profile_frame, profile_scores
from reports.run_data import RunData, load_run
from scoring import audit
from scoring.lookup import find_run_dir
from scoring.policy import Policy, load_policy

__all__ = ["AssembledRun", "assemble_run", "model_inputs", "reference_profile"]

log = logging.getLogger(__name__)
_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))?$")


@dataclass
class AssembledRun:
    """The run with everything around it: ready for :func:`reports.run_report.render_run_report`."""

    run: RunData
    spec: FeatureSpec
    policy: Policy
    notes: list[str]


def model_inputs(tape: str | os.PathLike[str], model: Any) -> pd.DataFrame:
    """Model inputs of every valid row of ``tape`` with its 1-based ``row`` number (as in the decisions).

    With a forward model (:mod:`models.hazard`) these are its inputs: the origination inputs and the
    behaviour at the cut-off, a superset of what either band model's contributions name.
    """
    raw = read_table(tape)
    check = check_lease_tape(raw)
    valid = ~pd.Series(check.invalid, index=check.records.index).to_numpy(dtype=bool)
    records = check.records.loc[valid]
    forward = getattr(model, "forward", None)
    if forward is not None:
        from models.hazard import cutoff_state

        inputs = forward.inputs(records, cutoff_state(records)).reset_index(drop=True)
    else:
        inputs = model.transform(records).reset_index(drop=True)
    inputs.insert(0, "row", (pd.RangeIndex(len(raw))[valid] + 1).to_numpy())
    return inputs


def reference_profile(book: str | os.PathLike[str], model: Any, policy: Policy) -> tuple[dict[str, Any], int]:
    """Training-population profile from a reference book (e.g. the training tape) scored by ``model``.

    Every row is used, as training does: cells that break the contract are missing in the typed
    records and the model treats them as missing values.
    """
    raw = read_table(book)
    records = check_lease_tape(raw).records
    x = model.transform(records)
    p = model.predict_pd_inputs(x)
    return {"features": profile_frame(x), "scores": profile_scores(p, policy.score.score(p))}, len(records)


def _audit(log_path: Path, run_id: str, run_dir: Path, summary: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not log_path.exists():
        out["audit_message"] = f"(decision log {log_path} not found)"
        return out
    report = audit.verify(log_path)
    problems = [f"line {line}: {msg}" for line, msg in report.problems]
    try:
        rec = audit.find_run(log_path, run_id)
    except audit.AuditError as exc:
        problems.append(str(exc))
        rec = {}
    if rec:
        out["time"], out["log_hash"] = rec.get("time"), rec.get("hash")
        problems += [f"{name} differs from the digest in the run's log record"
                     for name in audit.changed_files(run_dir, rec)]
    out["audit_ok"] = not problems
    out["audit_message"] = ("; ".join(problems[:3]) if problems
                            else f"{report.records} records, chain intact; files match the run's record")
    return out


def assemble_run(run: str, *, log_path: str | os.PathLike[str] = audit.DEFAULT_LOG,
                 policy_path: str | os.PathLike[str] | None = None, model_ref: str | None = None,
                 reference: str | os.PathLike[str] | None = None, with_inputs: bool = True) -> AssembledRun:
    """Collect a screening run and its context for the report.

    Parameters
    ----------
    run : str
        Run folder (``poolgate screen --out``) or run id (looked up in the decision log).
    log_path : path-like
        The decision log.
    policy_path : path-like, optional
        Policy to use when the run's own policy file is gone or changed (default: the bundled one).
    model_ref : str, optional
        Model to use instead of the one the run names (a LeaseModel folder or MLflow URI).
    reference : path-like, optional
        Reference book (e.g. the training tape) for the training population, when the model's
        metadata carries no ``population`` profile.
    with_inputs : bool
        Recompute model inputs from the run's tape (colours the beeswarm, values in waterfalls, PSI).
    """
    from scoring.registry import load_model

    log_file = Path(log_path)
    run_dir = find_run_dir(run, log_file)
    base = load_run(run_dir)
    info = base.summary.get("run", {})
    notes: list[str] = []
    policy = None
    own = info.get("policy_file")
    if own and Path(own).is_file():
        candidate = load_policy(own)
        if candidate.sha256 == info.get("policy_hash"):
            policy = candidate
    if policy is None:
        policy = load_policy(policy_path)
        notes.append(f"policy texts read from {policy.source}")
    loaded = None
    try:
        loaded = load_model(model_ref or info.get("model_uri"))
    except PoolgateError as exc:
        notes.append(f"model not loaded ({exc}); display names from the shipped feature specification")
    model = loaded.model if loaded else None
    spec = model.spec if model is not None else load_spec()
    inputs = None
    tape = info.get("tape")
    if with_inputs and model is not None and tape and Path(tape).is_file():
        if audit.file_digest(tape) == info.get("input_digest"):
            inputs = model_inputs(tape, model)
        else:
            notes.append(f"tape {tape} has changed since the run; model inputs not recomputed")
    profile, source = None, "none: the model's metadata has no population profile and no reference book was given"
    if model is not None and isinstance(model.metadata.get("population"), dict):
        profile, source = model.metadata["population"], "the model bundle's metadata (profile of its training data)"
    elif model is not None and reference is not None:
        profile, n = reference_profile(reference, model, policy)
        source = f"reference book {reference} ({n:,} contracts) scored by the run's model"
    prov = _audit(log_file, base.run_id, run_dir, base.summary)
    m = _URI.match(str(info.get("model_uri", "")))
    if m:
        prov.update({"model_name": m.group("name"), "model_alias": m.group("alias") or ""})
    data = load_run(run_dir, inputs=inputs, profile=profile, profile_source=source, provenance=prov)
    return AssembledRun(run=data, spec=spec, policy=policy, notes=notes)
