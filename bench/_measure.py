"""Measuring a command: wall time and peak resident memory of a child process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence


def run_measured(argv: Sequence[str]) -> tuple[float, float]:
    """Run ``argv`` as a child process; return (seconds, peak RSS in MiB of that child).

    The child is started through a tiny wrapper so that its own ``ru_maxrss`` is read, not the
    maximum over every child this benchmark process ever had.
    """
    code = ("import resource, subprocess, sys, json;"
            "r = subprocess.run(sys.argv[1:]);"
            "u = resource.getrusage(resource.RUSAGE_CHILDREN);"
            "print(json.dumps({'rc': r.returncode, 'maxrss_kib': u.ru_maxrss}), file=sys.stderr)")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    last = proc.stderr.strip().splitlines()[-1]
    info = json.loads(last)
    if info["rc"] != 0:
        raise RuntimeError(f"{' '.join(argv)} failed (exit {info['rc']}):\n{proc.stderr[-2000:]}")
    return seconds, info["maxrss_kib"] / 1024.0
