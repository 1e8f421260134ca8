"""The MLflow pyfunc that serves screening decisions (an MLflow *models-from-code* file).

``training`` logs this file with ``mlflow.pyfunc.log_model(python_model="scoring/pyfunc.py",
artifacts={"bundle": <LeaseModel folder>, "policy": <policy TOML>})``. Loading it parses the
LightGBM model text, the bundle JSON and the policy TOML: no pickle is read.

``predict`` takes a frame of raw tape rows (canonical lease fields, as CSV text or typed values)
and returns one decision record per row, in input order: the same columns and values as the batch
path (``poolgate screen``) before concentration limits, which only apply to a whole pool.
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd


class PoolgateModel(mlflow.pyfunc.PythonModel):
    """Screening decisions for raw tape rows: validation, eligibility, PD, score, band, reason codes."""

    def load_context(self, context: Any) -> None:
        from models import LeaseModel
        from scoring.policy import load_policy

        self.model = LeaseModel.load(context.artifacts["bundle"])
        self.policy = load_policy(context.artifacts["policy"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
                ) -> pd.DataFrame:
        from scoring.decisions import decide_frame

        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        frame = frame.reset_index(drop=True)
        return decide_frame(frame, self.model, self.policy).drop(columns=["contributions"], errors="ignore")


mlflow.models.set_model(PoolgateModel())
