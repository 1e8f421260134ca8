"""Errors of the risk assessment: bad judgments files and figures that cannot be read.

Both subclass :class:`features.exceptions.ConfigError` (so ``PoolgateError`` and ``ValueError``):
the command line prints them as one line and exits with status 2.
"""

from __future__ import annotations

from typing import Any

from features.exceptions import ConfigError, FileValueError

__all__ = ["IndicatorError", "JudgmentsError"]


class JudgmentsError(FileValueError):
    """A judgments file is invalid, or its judgments cannot be used.

    The message names the file, the expert and the node where there is one, the key or judgment,
    the value received and what is allowed. The parts are kept as attributes.
    """

    def __init__(self, file: str, key: str, value: Any, allowed: str, *, expert: str | None = None,
                 node: str | None = None) -> None:
        self.expert, self.node = expert, node
        where = "".join(f", {label} {name}" for label, name in (("expert", expert), ("node", node)) if name)
        super().__init__(file, key, value, allowed, where=where)


class IndicatorError(ConfigError):
    """A measured indicator cannot be read from the figures file it names."""

    def __init__(self, file: str, indicator: str, path: str, problem: str) -> None:
        self.file, self.indicator, self.path, self.problem = file, indicator, path, problem
        super().__init__(f"{file}: indicator {indicator} reads {path}: {problem}")
