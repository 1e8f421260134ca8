"""Product risk assessment by the analytic hierarchy process (AHP), linked to the pool's measured figures.

``assessment`` sits above ``features``, ``models`` and ``scoring``: it reads a screening run's (and a
monitoring run's) ``summary.json``; nothing below imports it. The cores are pure:
:mod:`assessment.ahp` (one matrix), :mod:`assessment.group` (experts -> group, global weights),
:mod:`assessment.sensitivity`, :mod:`assessment.indicators` (figures by key path) and
:func:`assessment.assess.assess`; :mod:`assessment.judgments` reads the TOML file and
:mod:`assessment.outputs` writes the results.
"""

from assessment.ahp import (
    CR_THRESHOLD,
    RANDOM_INDEX,
    SAATY_SCALE,
    MatrixResult,
    Revision,
    analyse_matrix,
    compatibility,
    consistency_ratio,
    eigen_priorities,
    geometric_priorities,
    suggest_revision,
)
from assessment.assess import LEVELS, assess, level_of
from assessment.errors import IndicatorError, JudgmentsError
from assessment.group import GroupNode, aggregate, aggregate_matrices, aggregate_priorities, global_weights
from assessment.indicators import INDICATORS, Figures, Indicator, load_figures, rate, resolve_path
from assessment.judgments import Expert, Judgments, Node, load_judgments, parse_judgments
from assessment.outputs import ASSESSMENT_JSON, WEIGHTS_CSV, weights_frame, write_assessment
from assessment.sensitivity import Stability, stability

__all__ = [
    "ASSESSMENT_JSON",
    "CR_THRESHOLD",
    "INDICATORS",
    "LEVELS",
    "RANDOM_INDEX",
    "SAATY_SCALE",
    "WEIGHTS_CSV",
    "Expert",
    "Figures",
    "GroupNode",
    "Indicator",
    "IndicatorError",
    "Judgments",
    "JudgmentsError",
    "MatrixResult",
    "Node",
    "Revision",
    "Stability",
    "aggregate",
    "aggregate_matrices",
    "aggregate_priorities",
    "analyse_matrix",
    "assess",
    "compatibility",
    "consistency_ratio",
    "eigen_priorities",
    "geometric_priorities",
    "global_weights",
    "level_of",
    "load_figures",
    "load_judgments",
    "parse_judgments",
    "rate",
    "resolve_path",
    "stability",
    "suggest_revision",
    "weights_frame",
    "write_assessment",
]
