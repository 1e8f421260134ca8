"""Run several poolgate commands in one interpreter, as a child process of a test.

``python -m tests.cli.run_commands COMMANDS.json``: the file holds a list of argument lists. Before
each command a line ``### <arguments>`` goes to stderr and after it ``### exit <status>``, so a test
can tell which command printed what. One interpreter for all of them keeps the test fast (the
imports are paid once); warnings keep Python's default filters, as in a normal run of ``poolgate``.
"""

from __future__ import annotations

import json
import sys
import time

from poolgate.cli import main


def run(path: str) -> int:
    """Run every command listed in the JSON file ``path``; 0 when each exits with its expected status."""
    with open(path, encoding="utf-8") as fh:
        commands: list[dict[str, object]] = json.load(fh)
    failed = 0
    for item in commands:
        argv = [str(a) for a in item["argv"]]  # type: ignore[attr-defined]
        print(f"### {' '.join(argv)}", file=sys.stderr, flush=True)
        start = time.perf_counter()
        code = main(argv)
        sys.stdout.flush()
        print(f"### exit {code} ({time.perf_counter() - start:.1f} s)", file=sys.stderr, flush=True)
        failed += code not in item.get("ok", [0])  # type: ignore[operator]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1]))
