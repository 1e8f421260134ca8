"""The online path: the pyfunc logged from scoring/pyfunc.py, served by `mlflow models serve` on loopback,
answers raw tape rows with the same decisions and reasons as the batch path."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from scoring.policy import default_policy_path, load_policy
from scoring.registry import load_model
from scoring.screen import screen_tape
from tests.scoring.conftest import candidate_rows

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(url: str, body: dict[str, object]) -> dict[str, object]:
    req = urllib.request.Request(url, data=json.dumps(body).encode("utf-8"),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def logged(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, pd.DataFrame]:
    """(tracking URI, logged model URI, the rows used) of a pyfunc logged from scoring/pyfunc.py and
    registered as poolgate-pd version 1 with alias champion, in a temporary SQLite store."""
    import mlflow
    from mlflow import MlflowClient

    rows = candidate_rows(60, seed=31).iloc[:40]  # includes the broken rows 3, 6, 9, 12 and the overdue 15
    tracking = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    mlflow.set_tracking_uri(tracking)
    try:
        with mlflow.start_run():
            info = mlflow.pyfunc.log_model(
                name="model", python_model=str(ROOT / "scoring" / "pyfunc.py"),
                artifacts={"bundle": str(bundle_dir), "policy": str(default_policy_path())},
                input_example=rows.head(3), registered_model_name="poolgate-pd")
        MlflowClient().set_registered_model_alias("poolgate-pd", "champion", "1")
    finally:
        mlflow.set_tracking_uri(None)
    return tracking, info.model_uri, rows


@pytest.mark.slow
def test_registered_champion_loads_without_pickle(logged: tuple[str, str, pd.DataFrame], bundle_dir: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    tracking, _, _ = logged
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking)
    loaded = load_model()  # the default: models:/poolgate-pd@champion
    direct = load_model(str(bundle_dir))
    assert loaded.ref.uri == "models:/poolgate-pd@champion" and loaded.ref.version == "1"
    assert loaded.ref.digest == direct.ref.digest
    from features.exceptions import ConfigError

    with pytest.raises(ConfigError, match=r"models:/poolgate-pd@nobody: cannot be loaded from MLflow"):
        load_model("models:/poolgate-pd@nobody")


@pytest.mark.slow
def test_served_model_answers_like_the_batch(logged: tuple[str, str, pd.DataFrame], bundle_dir: Path,
                                             tmp_path: Path) -> None:
    tracking, model_uri, rows = logged
    # the batch path, with concentration limits out of the way (they need a whole pool)
    policy = load_policy()
    tape = tmp_path / "pool.csv"
    rows.to_csv(tape, index=False)
    loaded = load_model(str(bundle_dir))
    no_limits = type(policy)(**{**policy.__dict__, "concentration": ()})
    screen_tape(tape, model=loaded.model, model_ref=loaded.ref, policy=no_limits, out_dir=tmp_path / "out",
                log_path=tmp_path / "log")
    batch = pd.read_parquet(tmp_path / "out" / "decisions.parquet")

    port = _free_port()
    bindir = str(Path(sys.executable).parent)  # mlflow starts uvicorn from PATH
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "mlflow"), "models", "serve", "-m", model_uri, "--env-manager",
         "local", "-h", "127.0.0.1", "-p", str(port)],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if server.poll() is not None or time.monotonic() > deadline:
                    err = server.stderr.read().decode() if server.stderr else ""
                    pytest.fail(f"mlflow models serve did not start: {err[-2000:]}")
                time.sleep(0.5)
        answer = _post(f"http://127.0.0.1:{port}/invocations",
                       {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))})
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stderr:
            server.stderr.close()

    online = pd.DataFrame(answer["predictions"])
    assert len(online) == len(rows) == len(batch)
    same = ["row", "asset_id", "status", "decided_by", "failed_rules", "invalid_reasons", "note",
            *[c for c in batch.columns if c.startswith("reason_") and not c.endswith(("logodds", "points"))]]
    left = online[same].fillna("").astype(str)
    right = batch[same].astype(object).where(batch[same].notna(), "").astype(str)
    pd.testing.assert_frame_equal(left, right)
    for col in ["pd", "score", "raw_score", *[c for c in batch.columns if c.endswith(("logodds", "points"))]]:
        a = pd.to_numeric(online[col]).to_numpy(dtype=float)
        b = batch[col].to_numpy(dtype=float)
        assert ((abs(a - b) <= 1e-9) | (pd.isna(a) & pd.isna(b))).all(), col
    assert set(online["status"]) >= {"invalid", "reject"}
