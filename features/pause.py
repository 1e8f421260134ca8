"""A test hook to stop a process at a named point, so that a test can kill it there.

``POOLGATE_TEST_PAUSE_AT=<stage>`` in the environment makes :func:`pause_point` of that stage print
``poolgate: paused at <stage> (pid N)`` on stderr and sleep until the process is killed. Without the
variable (every normal run) a pause point does nothing but read one environment variable. The
kill tests (``tests/cli/test_kill.py``) use it to send SIGKILL at a chosen stage of ``screen``,
``train`` and ``promote`` instead of at a random delay. The stages are listed in
``docs/architecture.md`` ("Killed runs").
"""

from __future__ import annotations

import os
import sys
import time

__all__ = ["PAUSE_ENV", "pause_point"]

PAUSE_ENV = "POOLGATE_TEST_PAUSE_AT"


def pause_point(stage: str) -> None:
    """Sleep for ever here when ``POOLGATE_TEST_PAUSE_AT`` names ``stage`` (tests only); else return."""
    if os.environ.get(PAUSE_ENV) != stage:
        return
    print(f"poolgate: paused at {stage} (pid {os.getpid()})", file=sys.stderr, flush=True)
    while True:
        time.sleep(3600)
