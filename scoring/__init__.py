"""Pool-entry screening: eligibility policy, PD decision bands, reason codes, concentration limits,
pool summary and the tamper-evident decision log (see docs/screening.md).

``scoring`` imports ``features`` and ``models``, never ``training``. MLflow is imported only by
:mod:`scoring.registry` (when a model URI is given) and by :mod:`scoring.pyfunc`, the
models-from-code file that MLflow loads (not imported here).
"""

from scoring.audit import AuditError, VerifyReport, append, find_run, verify
from scoring.concentration import Drop, apply_limits, limit_values
from scoring.decide import STATUSES, decide
from scoring.decisions import (
    ChunkDecisions,
    DecisionRecordError,
    RunMeta,
    check_decisions,
    decide_chunk,
    decide_frame,
    decision_columns,
)
from scoring.eligibility import EligibilityResult, eligibility
from scoring.policy import Policy, PolicyError, default_policy_path, load_policy, parse_policy
from scoring.reasons import ReasonCodes, reason_codes
from scoring.registry import DEFAULT_MODEL_URI, LoadedModel, ModelRef, load_model
from scoring.screen import ScreenResult, screen_tape
from scoring.summary import pool_summary

__all__ = [
    "DEFAULT_MODEL_URI",
    "STATUSES",
    "AuditError",
    "ChunkDecisions",
    "DecisionRecordError",
    "Drop",
    "EligibilityResult",
    "LoadedModel",
    "ModelRef",
    "Policy",
    "PolicyError",
    "ReasonCodes",
    "RunMeta",
    "ScreenResult",
    "VerifyReport",
    "append",
    "apply_limits",
    "check_decisions",
    "decide",
    "decide_chunk",
    "decide_frame",
    "decision_columns",
    "default_policy_path",
    "eligibility",
    "find_run",
    "limit_values",
    "load_model",
    "load_policy",
    "parse_policy",
    "pool_summary",
    "reason_codes",
    "screen_tape",
    "verify",
]
