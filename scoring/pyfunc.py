"""The MLflow pyfunc that serves screening decisions (an MLflow *models-from-code* file).

``training`` logs this file with ``mlflow.pyfunc.log_model(python_model="scoring/pyfunc.py",
artifacts={"bundle": <LeaseModel folder>, "policy": <policy TOML>})``. Loading it parses the
LightGBM model text, the bundle JSON and the policy TOML: no pickle is read.

``predict`` takes a frame of raw tape rows (canonical lease fields, as CSV text or typed values)
and returns one decision record per row, in input order (:func:`scoring.decisions.decide_frame`):
the same columns and values as ``decisions.parquet`` of the batch path, before concentration
limits (those need the whole pool). ``model_uri`` and ``model_version`` come from the optional
``model_config`` keys of the same names ('' when absent); ``run_id`` is ''.
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc.model import PythonModel


class PoolgateModel(PythonModel):
    """Screening decisions for raw tape rows: validation, eligibility, PD, score, band, reason codes."""

    def load_context(self, context: Any) -> None:
        from models import LeaseModel
        from scoring.decisions import RunMeta
        from scoring.policy import load_policy

        self.model = LeaseModel.load(context.artifacts["bundle"])
        self.policy = load_policy(context.artifacts["policy"])
        config = getattr(context, "model_config", None) or {}
        self.meta = RunMeta(model_uri=str(config.get("model_uri", "")),
                            model_version=str(config.get("model_version", "")), policy_hash=self.policy.sha256)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
                ) -> pd.DataFrame:
        from scoring.decisions import decide_frame

        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        return decide_frame(frame.reset_index(drop=True), self.model, self.policy, meta=self.meta)


mlflow.models.set_model(PoolgateModel())
