"""Retraining runs of the default model: out-of-time split by vintage, model selection validated on later vintages,
metrics, MLflow tracking and the governed champion/challenger registry.

``training`` imports ``features`` and ``models``; MLflow is touched only in
:mod:`training.tracking` (runs) and :mod:`training.registry` (aliases, history, promotion).
"""

from training.errors import MetricsError, RegistryError, TrainingError
from training.evaluation import Evaluation, evaluate_model, monotonicity_sweep
from training.gates import GateResult, Gates, check_gates, load_gates
from training.run import RunConfig, RunResult, TrainingOutcome, fit_and_evaluate, train_run
from training.search import SearchConfig, SearchResult, SearchSpace, search_params
from training.select import Selection, ValidationScheme, select_model, validation_scheme
from training.splits import SplitConfig, SplitPart, VintageSplit, split_by_vintage, vintage_of

__all__ = [
    "Evaluation",
    "GateResult",
    "Gates",
    "MetricsError",
    "RegistryError",
    "RunConfig",
    "RunResult",
    "SearchConfig",
    "SearchResult",
    "SearchSpace",
    "Selection",
    "SplitConfig",
    "SplitPart",
    "TrainingError",
    "TrainingOutcome",
    "ValidationScheme",
    "VintageSplit",
    "check_gates",
    "evaluate_model",
    "fit_and_evaluate",
    "load_gates",
    "monotonicity_sweep",
    "search_params",
    "select_model",
    "split_by_vintage",
    "train_run",
    "validation_scheme",
    "vintage_of",
]
