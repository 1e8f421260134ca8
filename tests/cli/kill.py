"""Run ``poolgate`` as a child process and SIGKILL it at a named stage (``POOLGATE_TEST_PAUSE_AT``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def child_env(cwd: Path, stage: str | None = None) -> dict[str, str]:
    """The environment of a child ``poolgate``: this checkout, MLflow in ``cwd``, one quiet thread pool."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{cwd / 'mlflow.db'}", "OMP_WAIT_POLICY": "passive",
           "PYTHONPATH": str(ROOT)}
    env.pop("POOLGATE_TEST_PAUSE_AT", None)
    if stage is not None:
        env["POOLGATE_TEST_PAUSE_AT"] = stage
    return env


def run(argv: list[str], cwd: Path, *, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    """Run ``poolgate argv`` to the end; fail the test on an unexpected exit status."""
    done = subprocess.run([sys.executable, "-m", "poolgate", *argv], cwd=cwd, env=child_env(cwd),
                          capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode in ok, f"poolgate {' '.join(argv)} exited {done.returncode}:\n{done.stderr[-2000:]}"
    return done


def start_paused(argv: list[str], cwd: Path, stage: str, *, timeout: float = 600) -> subprocess.Popen[bytes]:
    """Start ``poolgate argv`` and return once it is paused at ``stage`` (alive, sleeping there)."""
    err = cwd / f"stderr-{stage}-{time.monotonic_ns()}.txt"
    with err.open("wb") as fh:
        child = subprocess.Popen([sys.executable, "-m", "poolgate", *argv], cwd=cwd, env=child_env(cwd, stage),
                                 stdout=subprocess.DEVNULL, stderr=fh, start_new_session=True)
    mark = f"poolgate: paused at {stage} (pid {child.pid})".encode()
    deadline = time.monotonic() + timeout
    while mark not in err.read_bytes():
        if child.poll() is not None:
            raise AssertionError(f"poolgate {' '.join(argv)} ended ({child.returncode}) before pausing at "
                                 f"{stage}:\n{err.read_text(errors='replace')[-2000:]}")
        if time.monotonic() > deadline:
            kill(child)
            raise AssertionError(f"poolgate {' '.join(argv)} did not reach {stage} in {timeout} s")
        time.sleep(0.1)
    return child


def kill(child: subprocess.Popen[bytes]) -> None:
    """SIGKILL ``child`` and reap it."""
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL


def kill_at(argv: list[str], cwd: Path, stage: str) -> None:
    """Run ``poolgate argv`` until it reaches ``stage``, then SIGKILL it there."""
    kill(start_paused(argv, cwd, stage))
