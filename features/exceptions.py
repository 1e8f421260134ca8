"""Domain exceptions shared by every poolgate package.

Each exception also subclasses the built-in that a caller would naturally catch, so
``except ValueError`` keeps working. Messages name what was wrong, where, the value
received and what is allowed.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
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


class LeakageError(PoolgateError, ValueError):
    """A performance or outcome field was offered as a model input."""


class NotFittedError(PoolgateError, RuntimeError):
    """A transformer or model was used before ``fit``."""
