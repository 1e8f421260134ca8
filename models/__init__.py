"""The default model: monotone LightGBM PD model, Platt calibration, score scaling, WoE scorecard
challenger and exact explanations, bundled as :class:`LeaseModel` (text + JSON, no pickles).

``models`` imports only ``features``.
"""

from models.bundle import BUNDLE_FORMAT, LeaseModel, fit_lease_model
from models.calibration import CalibrationError, PlattCalibration, fit_platt
from models.explain import Explanation, contributions
from models.hazard import ForwardFigures, ForwardModel, fit_forward_model
from models.linear import LINEAR_MARGIN, LinearScorecard, fit_boosted_trees
from models.pd_model import PDClassifier
from models.scaling import ScoreScaling
from models.scorecard import Binning, WoEScorecard

__all__ = [
    "BUNDLE_FORMAT",
    "LINEAR_MARGIN",
    "Binning",
    "CalibrationError",
    "Explanation",
    "ForwardFigures",
    "ForwardModel",
    "LeaseModel",
    "LinearScorecard",
    "PDClassifier",
    "PlattCalibration",
    "ScoreScaling",
    "WoEScorecard",
    "contributions",
    "fit_boosted_trees",
    "fit_forward_model",
    "fit_lease_model",
    "fit_platt",
]
