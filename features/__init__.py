"""Canonical lease record, tape I/O and validation (and, as they land, derived features and labels).

``features`` imports no other poolgate package.
"""

from features.contract import PROBLEM_COLUMNS, CheckResult, check_lease_tape, check_performance
from features.exceptions import ConfigError, LeakageError, NotFittedError, PoolgateError, TapeError
from features.io import atomic_write, iter_table, read_table, tape_format, write_json, write_table
from features.labels import LABEL_COLUMNS, default_labels
from features.pipeline import FeatureBuilder
from features.schema import LEASE_FIELDS, PERFORMANCE_FIELDS, Field, lease_field
from features.spec import FeatureSpec, load_spec
from features.synthetic import generate_book, write_book
from features.validate import TapeReport, validate_tape

__all__ = [
    "LABEL_COLUMNS",
    "LEASE_FIELDS",
    "PERFORMANCE_FIELDS",
    "PROBLEM_COLUMNS",
    "CheckResult",
    "ConfigError",
    "FeatureBuilder",
    "FeatureSpec",
    "Field",
    "LeakageError",
    "NotFittedError",
    "PoolgateError",
    "TapeError",
    "TapeReport",
    "atomic_write",
    "check_lease_tape",
    "check_performance",
    "default_labels",
    "generate_book",
    "iter_table",
    "lease_field",
    "load_spec",
    "read_table",
    "tape_format",
    "validate_tape",
    "write_book",
    "write_json",
    "write_table",
]
