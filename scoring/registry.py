"""Finding the model to screen with: a LeaseModel folder or an MLflow model URI.

This is the only module of ``scoring`` that imports MLflow. A registered model (logged by
``training`` with :mod:`scoring.pyfunc`) carries the LeaseModel folder as its ``bundle`` artifact;
it is downloaded with :func:`mlflow.artifacts.download_artifacts` and read with
:meth:`models.LeaseModel.load` (text and JSON only: the pyfunc wrapper and any pickle are never
loaded here).
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from features.exceptions import ConfigError
from models import LeaseModel

__all__ = ["DEFAULT_MODEL_URI", "LoadedModel", "ModelRef", "load_model"]

log = logging.getLogger(__name__)

DEFAULT_MODEL_URI = "models:/poolgate-pd@champion"
_REGISTERED = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))$")


@dataclass(frozen=True)
class ModelRef:
    """Which model decided: ``uri`` as given, registry ``version`` ('' for a folder), and ``digest``
    (sha256 of the bundle's ``bundle.json``, which itself records the sha256 of the booster text)."""

    uri: str
    version: str
    digest: str


@dataclass(frozen=True)
class LoadedModel:
    model: LeaseModel
    ref: ModelRef


def _from_folder(folder: Path, uri: str, version: str) -> LoadedModel:
    model = LeaseModel.load(folder)
    digest = hashlib.sha256((folder / "bundle.json").read_bytes()).hexdigest()
    return LoadedModel(model, ModelRef(uri=uri, version=version, digest=digest))


def _resolve_version(uri: str) -> tuple[str, str]:
    """(URI pinned to a version, version) for ``models:/name@alias`` or ``models:/name/3``; else (uri, '')."""
    m = _REGISTERED.match(uri)
    if not m:
        return uri, ""
    if m.group("version"):
        return uri, m.group("version")
    from mlflow import MlflowClient

    mv = MlflowClient().get_model_version_by_alias(m.group("name"), m.group("alias"))
    return f"models:/{m.group('name')}/{mv.version}", str(mv.version)


def load_model(ref: str | None = None) -> LoadedModel:
    """Load the model named by ``ref``: a LeaseModel folder (with ``bundle.json``) or an MLflow model
    URI (``models:/name@alias``, ``models:/name/3``, ``runs:/...``); default :data:`DEFAULT_MODEL_URI`.

    Raises
    ------
    ConfigError
        If the folder is not a bundle, or the URI cannot be resolved or holds no ``bundle`` artifact.
    """
    ref = ref or DEFAULT_MODEL_URI
    path = Path(ref)
    if "://" not in ref and not ref.startswith("models:/") and path.exists():
        if not (path / "bundle.json").is_file():
            raise ConfigError(f"--model {ref}: not a LeaseModel folder (no bundle.json); give a bundle folder "
                              "or an MLflow model URI such as models:/poolgate-pd@champion")
        return _from_folder(path, str(path), "")
    import mlflow
    from mlflow.exceptions import MlflowException

    tmp = Path(tempfile.mkdtemp(prefix="poolgate-model-"))
    try:
        pinned, version = _resolve_version(ref)
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=pinned, dst_path=str(tmp)))
        flavor = mlflow.models.Model.load(str(local)).flavors.get("python_function", {})
        artifacts = flavor.get("artifacts", {})
        if "bundle" not in artifacts:
            raise ConfigError(f"model {ref}: has no 'bundle' artifact (was it logged with scoring/pyfunc.py?)")
        log.info("screening with %s (version %s)", ref, version or "-")
        return _from_folder(local / artifacts["bundle"]["path"], ref, version)
    except MlflowException as exc:
        raise ConfigError(f"model {ref}: cannot be loaded from MLflow ({exc.message}); train and promote a "
                          "model first (poolgate train, poolgate promote) or pass --model FOLDER") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
