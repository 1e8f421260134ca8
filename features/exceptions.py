"""Domain exceptions shared by every poolgate package.

Each exception also subclasses the built-in that a caller would naturally catch, so
``except ValueError`` keeps working. Messages name what was wrong, where, the value
received and what is allowed.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConfigError",
    "FileValueError",
    "LeakageError",
    "NotFittedError",
    "PoolgateError",
    "TapeError",
]


class PoolgateError(Exception):
    """Base class of every error poolgate raises on purpose."""


class TapeError(PoolgateError, ValueError):
    """A tape (CSV / Parquet / XML file) cannot be read or breaks the data contract as a whole."""


class ConfigError(PoolgateError, ValueError):
    """A configuration file (mapping, policy, feature specification) is invalid."""


class FileValueError(ConfigError):
    """A value in a settings file (policy, deal, judgments) is invalid.

    Carries ``file``, ``key``, ``value`` and ``allowed``; the message names all four.
    """

    def __init__(self, file: str, key: str, value: Any, allowed: str, *, where: str = "") -> None:
        self.file, self.key, self.value, self.allowed = file, key, value, allowed
        super().__init__(f"{file}{where}: {key} = {value!r} is invalid; allowed: {allowed}")


class LeakageError(PoolgateError, ValueError):
    """A performance or outcome field was offered as a model input."""


class NotFittedError(PoolgateError, RuntimeError):
    """A transformer or model was used before ``fit``."""
