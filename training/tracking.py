"""Logging a training run to MLflow: the only module that writes runs.

Where runs go is MLflow's business: its default (``sqlite:///mlflow.db`` in the working folder,
artifacts beside it) or ``MLFLOW_TRACKING_URI``. Nothing here sets a tracking URI.

A run holds: parameters, metrics, the feature specification (JSON and the TOML it came from), the
train / validation / test data as MLflow datasets whose digest is a SHA-256 of every cell, the code
version (tag ``poolgate.code_version``), plots (ROC, KS, calibration, SHAP summary), tables (CSV),
the out-of-time rows for promotion (``oot/test.parquet``) and the model, logged as a
models-from-code pyfunc (``scoring/pyfunc.py`` with the LeaseModel folder and the policy TOML as
artifacts) and registered. The LeaseModel folder's ``bundle.json`` carries the training-population
profile (metadata ``population``) that screening reports compare a pool against.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import io
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.data.pandas_dataset import from_pandas
from mlflow.models import ModelSignature
from mlflow.types.schema import AnyType, ColSpec, Schema

from features.io import write_table
from features.pause import pause_point
from features.schema import LEASE_FIELDS
from features.staging import make_staging, owner_alive, remove_stale, this_owner
from reports.fonts import cjk_fallback
from training.errors import TrainingError
from training.run import TrainingOutcome

__all__ = [
    "OOT_ARTIFACT",
    "OWNER_TAG",
    "LoggedRun",
    "code_version",
    "default_policy_path",
    "end_killed_runs",
    "frame_digest",
    "log_training_run",
    "model_signature",
    "pyfunc_path",
]

log = logging.getLogger(__name__)

OOT_ARTIFACT = "oot/test.parquet"
_PIP = ("mlflow", "lightgbm", "pandas", "numpy", "scikit-learn", "scipy", "pyarrow")


@dataclass(frozen=True)
class LoggedRun:
    """Identifiers of a logged run and its registered model version."""

    run_id: str
    experiment_id: str
    logged_model_uri: str
    model_version: str


def code_version() -> str:
    """The git commit of the source tree (``+dirty`` when it has uncommitted changes), else the
    installed poolgate package version (``poolgate==0.1.0``)."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        return f"{commit}+dirty" if dirty else commit
    except (OSError, subprocess.SubprocessError):
        try:
            return f"poolgate=={importlib.metadata.version('poolgate')}"
        except importlib.metadata.PackageNotFoundError:
            return "unknown"


def frame_digest(frame: pd.DataFrame) -> str:
    """SHA-256 over every cell, the column names and the row count (order-sensitive); 16 hex digits
    are shown by MLflow, the full digest is logged as a tag."""
    h = hashlib.sha256()
    h.update("\x1f".join(map(str, frame.columns)).encode("utf-8"))
    h.update(str(len(frame)).encode("ascii"))
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def default_policy_path() -> Path:
    """The screening policy shipped with poolgate (``scoring/default_policy.toml``)."""
    return Path(str(resources.files("scoring").joinpath("default_policy.toml")))


def pyfunc_path() -> Path:
    """The models-from-code file of the screening pyfunc (``scoring/pyfunc.py``), not imported here."""
    path = Path(str(resources.files("scoring").joinpath("pyfunc.py")))
    if not path.is_file():
        raise TrainingError(f"the screening pyfunc {path} is missing; the model cannot be logged")
    return path


def _pip_requirements() -> list[str]:
    out = []
    for name in _PIP:
        try:
            out.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            out.append(name)
    return out


@contextmanager
def _quiet_mlflow_hints() -> Iterator[None]:
    """Silence two MLflow hints that say nothing about our data: the integer-column schema hint
    (our integer fields are never empty) and the duplicate local dataset-source registration."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer column", category=UserWarning)
        warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted in multiple ways",
                                category=UserWarning)
        yield


@contextmanager
def _registration_lines_to_log() -> Iterator[None]:
    """MLflow prints "Successfully registered model ..." and "Created version ..." on stderr when it
    registers a version; poolgate logs that itself. Those lines go to the debug log; anything else
    MLflow writes meanwhile goes on to stderr unchanged."""
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stderr(buffer):
            yield
    finally:
        for line in buffer.getvalue().splitlines(keepends=True):
            if line.startswith(("Successfully registered model", "Created version")):
                log.debug("MLflow: %s", line.strip())
            else:
                sys.stderr.write(line)


def _log_datasets(outcome: TrainingOutcome, source: str | None) -> None:
    for context in ("train", "validation", "test"):
        part = getattr(outcome.split, context)
        frame = part.records.copy()
        frame["default"] = part.y
        digest = frame_digest(frame)
        with _quiet_mlflow_hints():
            dataset = from_pandas(frame, source=source or "in-memory book", name=f"book-{context}",
                                              targets="default", digest=digest[:16])
            mlflow.log_input(dataset, context=context)
        mlflow.set_tag(f"poolgate.data_sha256.{context}", digest)


def _input_example(outcome: TrainingOutcome, rows: int = 3) -> pd.DataFrame:
    """A few out-of-time records as plain values (dates as ISO text), the way a JSON request sends them."""
    example = outcome.split.test.records.head(rows).copy()
    for col in example.columns:
        s = example[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            example[col] = s.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_bool_dtype(s):
            example[col] = s.astype(object).where(s.notna(), None)
        elif pd.api.types.is_integer_dtype(s) and s.notna().all():
            example[col] = s.astype(np.int64)
        elif pd.api.types.is_numeric_dtype(s):
            example[col] = s.astype(np.float64)
        else:
            example[col] = s.astype(object).where(s.notna(), None)
    return example


def model_signature(fields: Iterable[str] | None = None, extra: Iterable[str] = ()) -> ModelSignature:
    """Input signature of the screening pyfunc: every canonical lease field by name, required unless
    it may be empty or (with ``fields``, the canonical fields of the training tape, e.g. one read
    through a mapping) the training tape did not carry it. Types are ``any``: the pyfunc takes CSV
    text or typed values and checks every cell against the data contract itself (an invalid row
    becomes an ``invalid`` decision with reasons), which MLflow's type enforcement would pre-empt
    with one error for the whole request. ``extra`` names the mapping's extra inputs (``x_...``
    columns) a model trained through a mapping also reads; they are required."""
    carried = set(fields) if fields is not None else {f.name for f in LEASE_FIELDS}
    names = [(f.name, not f.nullable and f.name in carried) for f in LEASE_FIELDS] + [(n, True) for n in extra]
    return ModelSignature(inputs=Schema([ColSpec(AnyType(), name, required=required) for name, required in names]))


#: Tag of a training run naming the process that logs it (host, pid, start time), so that a run left
#: ``RUNNING`` by a killed process can be told from one still being logged (:func:`end_killed_runs`).
OWNER_TAG = "poolgate.owner"


def end_killed_runs(experiment_id: str) -> list[str]:
    """Mark ``KILLED`` the runs of the experiment still ``RUNNING`` whose logging process is certainly gone
    (this host, no process with its pid and start time: :func:`features.staging.owner_alive`); returns
    their ids. A run of another host, or without the owner tag, is left as it is."""
    client = mlflow.MlflowClient()
    ended = []
    for r in client.search_runs([experiment_id], filter_string="attributes.status = 'RUNNING'"):
        try:
            owner = json.loads(r.data.tags.get(OWNER_TAG, "null"))
        except json.JSONDecodeError:
            continue
        if isinstance(owner, dict) and owner_alive(owner) is False:
            client.set_terminated(r.info.run_id, status="KILLED")
            log.warning("MLflow run %s was left RUNNING by a training process that was killed; marked KILLED",
                        r.info.run_id)
            ended.append(r.info.run_id)
    return ended


def log_training_run(outcome: TrainingOutcome, *, experiment: str, model_name: str, policy_path: Path,
                     source: str | None = None) -> LoggedRun:
    """Log one training outcome as an MLflow run and register its model.

    Parameters
    ----------
    outcome : TrainingOutcome
        What :func:`training.run.fit_and_evaluate` returned.
    experiment : str
        Experiment name (created when missing).
    model_name : str
        Registered model name; the logged model becomes its next version.
    policy_path : Path
        Policy TOML stored with the model (the pyfunc reads it at load time).
    source : str, optional
        Where the book came from, recorded with the datasets.

    Returns
    -------
    LoggedRun
    """
    exp = mlflow.set_experiment(experiment)
    end_killed_runs(exp.experiment_id)
    remove_stale(tempfile.gettempdir(), ("poolgate-run-*",))   # the work folders of runs killed here
    spec = outcome.model.spec
    work = make_staging(tempfile.gettempdir(), "poolgate-run-")
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        run = stack.enter_context(mlflow.start_run(run_name=f"train-seed{outcome.seed}"))
        mlflow.set_tags({"poolgate.code_version": code_version(), "poolgate.seed": str(outcome.seed),
                         "poolgate.spec_digest": spec.digest, "poolgate.model_name": model_name,
                         OWNER_TAG: json.dumps(this_owner())})
        pause_point("train.log")
        mlflow.log_params(outcome.params)
        mlflow.log_metrics({k: float(v) for k, v in outcome.metrics.items()})
        mlflow.log_metrics({f"seconds_{k}": round(v, 2) for k, v in outcome.seconds.items()})
        mlflow.log_dict(spec.to_dict(), "feature_spec/feature_spec.json")
        if Path(spec.source).is_file():
            mlflow.log_artifact(spec.source, "feature_spec")
        mlflow.log_dict(outcome.split.summary(), "split.json")
        _log_datasets(outcome, source)
        for name, fig in outcome.figures.items():
            with cjk_fallback(fig):   # drawn here: Chinese labels in a CJK font, or one line without one
                mlflow.log_figure(fig, f"plots/{name}.png")
        for name, table in outcome.tables.items():
            path = work / f"{name}.csv"
            table.to_csv(path, index=False)
            mlflow.log_artifact(str(path), "tables")
        oot = work / "test.parquet"
        write_table(outcome.oot_frame(), oot)
        mlflow.log_artifact(str(oot), "oot")
        bundle = outcome.model.save(work / "bundle")
        with _quiet_mlflow_hints(), _registration_lines_to_log():
            info = mlflow.pyfunc.log_model(
                name="model", python_model=str(pyfunc_path()),
                artifacts={"bundle": str(bundle), "policy": str(policy_path)},
                registered_model_name=model_name, input_example=_input_example(outcome),
                signature=model_signature(outcome.split.test.records.columns,
                                          extra=[f.name for f in spec.model_inputs if f.source == "mapping"]),
                pip_requirements=_pip_requirements(),
                metadata={"poolgate_spec_digest": spec.digest, "poolgate_seed": outcome.seed},
            )
        if info.registered_model_version is None:
            raise TrainingError(f"MLflow did not register the model under {model_name!r}")
        log.info("logged run %s, registered %s version %s", run.info.run_id, model_name,
                 info.registered_model_version)
        return LoggedRun(run_id=run.info.run_id, experiment_id=run.info.experiment_id,
                         logged_model_uri=info.model_uri, model_version=str(info.registered_model_version))
