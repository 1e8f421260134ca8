"""Errors raised on purpose by :mod:`training`; each subclasses the poolgate base and a built-in."""

from __future__ import annotations

from features.exceptions import PoolgateError

__all__ = ["MetricsError", "RegistryError", "TrainingError"]


class TrainingError(PoolgateError, ValueError):
    """Training data cannot support a run (too few vintages, no labelled rows, one class only)."""


class MetricsError(TrainingError):
    """Arrays given to a metric cannot be measured (length mismatch, one class only, bad range)."""


class RegistryError(PoolgateError, LookupError):
    """The model registry lacks what was asked for (no such model, version or alias)."""
