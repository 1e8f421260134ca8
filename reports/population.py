"""Training-population profile and PSI, as the reports use them.

The functions live in :mod:`models.population` (training stores the profile in the model bundle's
metadata, and ``training`` may not import ``reports``); this module keeps the names reports and
their callers import.
"""

from __future__ import annotations

from models.population import (
    PSI_ALERT,
    PSI_WARN,
    population_profile,
    profile_frame,
    profile_scores,
    psi_against_profile,
    psi_level,
)

__all__ = [
    "PSI_ALERT",
    "PSI_WARN",
    "population_profile",
    "profile_frame",
    "profile_scores",
    "psi_against_profile",
    "psi_level",
]
