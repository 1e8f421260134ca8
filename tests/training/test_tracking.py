"""One training run logged to MLflow in a temporary folder: what the run and the model hold."""

from __future__ import annotations

import json
import os
import pickle
import re
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from features.synthetic import Book
from models import LeaseModel
from tests.training.conftest import TINY
from training import registry
from training.run import RunResult, train_run
from training.tracking import code_version, frame_digest


@pytest.fixture(scope="module")
def logged(small_book: Book, module_mlflow_dir: Path) -> RunResult:
    return train_run(small_book.contracts, small_book.performance, truth=small_book.truth, seed=0,
                     config=TINY, source="small-book")


def test_result_names_the_run_the_version_and_the_headline_metrics(logged: RunResult) -> None:
    assert re.fullmatch(r"[0-9a-f]{32}", logged.run_id)
    assert logged.model_version == "1" and logged.model_uri == "models:/poolgate-pd/1"
    for key in ("auc_oot", "ks_oot", "brier_oot", "calibration_error_oot", "auc_oracle_oot", "scorecard_auc_oot",
                "monotonicity_violations_oot", "psi_pd_train_oot"):
        assert key in logged.metrics, key
    assert 0.5 < logged.metrics["auc_oot"] < 1.0
    assert json.dumps(logged.to_dict())   # JSON-safe


def test_run_holds_params_metrics_tags_and_artifacts(logged: RunResult, module_mlflow_dir: Path) -> None:
    client = MlflowClient()
    run = client.get_run(logged.run_id)
    assert run.data.params["seed"] == "0" and "model.num_leaves" in run.data.params
    assert run.data.params["split.period"] == "quarter"
    parts = ("rows.train", "rows.validation", "rows.test", "rows.left_out.in_excluded_vintages",
             "rows.left_out.not_observed_in_kept_vintages")  # every contract of the book accounted for
    assert sum(int(run.data.params[k]) for k in parts) == int(run.data.params["rows.book"])
    assert run.data.metrics["auc_oot"] == pytest.approx(logged.metrics["auc_oot"])
    assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?|poolgate==.*", run.data.tags["poolgate.code_version"])
    local = Path(mlflow.artifacts.download_artifacts(run_id=logged.run_id, dst_path=str(module_mlflow_dir / "a")))
    files = {p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file()}
    for name in ("plots/roc.png", "plots/ks.png", "plots/calibration.png", "plots/shap_summary.png",
                 "feature_spec/feature_spec.json", "feature_spec/feature_spec.toml", "split.json",
                 "tables/deciles_oot.csv", "tables/models_side_by_side_oot.csv", "tables/auc_by_vintage_oot.csv",
                 "tables/psi_by_feature_train_oot.csv", "tables/search_trials.csv", "oot/test.parquet"):
        assert name in files, name
    assert (local / "plots/roc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    side = pd.read_csv(local / "tables/models_side_by_side_oot.csv")
    assert set(side["model"]) == {"lightgbm", "scorecard", "oracle"}


def test_training_data_is_logged_with_a_full_digest(logged: RunResult, small_book: Book) -> None:
    run = MlflowClient().get_run(logged.run_id)
    inputs = {d.dataset.name: d for d in run.inputs.dataset_inputs}
    assert set(inputs) == {"book-train", "book-validation", "book-test"}
    contexts = {d.dataset.name: {t.key: t.value for t in d.tags}["mlflow.data.context"] for d in inputs.values()}
    assert contexts["book-train"] == "train"
    full = run.data.tags["poolgate.data_sha256.train"]
    assert len(full) == 64 and inputs["book-train"].dataset.digest == full[:16]


def test_logged_model_has_no_pickle_and_loads_without_unpickling(logged: RunResult, module_mlflow_dir: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 small_book: Book) -> None:
    local = Path(mlflow.artifacts.download_artifacts(logged.model_uri, dst_path=str(module_mlflow_dir / "m")))
    files = [p for p in local.rglob("*") if p.is_file()]
    assert {"MLmodel", "artifacts/bundle/booster.txt", "artifacts/bundle/bundle.json"} <= {
        p.relative_to(local).as_posix() for p in files}
    for p in files:
        assert p.suffix not in (".pkl", ".pickle", ".joblib", ".cloudpickle"), p
        assert "pickle" not in p.name.lower(), p
        assert p.read_bytes()[:1] != b"\x80", f"{p} starts like a pickle stream"
    assert "python_model.pkl" not in (local / "MLmodel").read_text()

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("pickle deserialization was attempted")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    model = mlflow.pyfunc.load_model(logged.model_uri)
    decisions = model.predict(small_book.contracts.head(4))
    assert len(decisions) == 4
    assert list(decisions["asset_id"].astype(str)) == list(small_book.contracts["contract_id"].head(4))
    assert decisions["pd"].between(0, 1).all()


def test_new_version_is_the_challenger_with_history(logged: RunResult) -> None:
    client = MlflowClient()
    assert str(client.get_model_version_by_alias("poolgate-pd", "challenger").version) == "1"
    events = registry.history("poolgate-pd")
    assert events[0]["event"] == "challenger_set" and events[0]["version"] == "1"
    assert events[0]["run_id"] == logged.run_id and "auc_oot" in events[0]["metrics"]


def test_frame_digest_sees_every_cell() -> None:
    a = pd.DataFrame({"x": range(20_000), "y": ["a"] * 20_000})
    b = a.copy()
    b.loc[19_999, "y"] = "b"   # beyond the rows MLflow's own digest samples
    assert frame_digest(a) == frame_digest(a.copy())
    assert frame_digest(a) != frame_digest(b)


def test_code_version_is_the_git_commit_here() -> None:
    if not (Path(__file__).resolve().parents[2] / ".git").exists() or os.environ.get("POOLGATE_NO_GIT"):
        pytest.skip("not a git checkout")
    assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", code_version())


def test_logged_bundle_carries_the_training_population_profile(logged: RunResult, module_mlflow_dir: Path) -> None:
    local = Path(mlflow.artifacts.download_artifacts(logged.model_uri, dst_path=str(module_mlflow_dir / "p")))
    bundle = local / "artifacts" / "bundle"
    model = LeaseModel.load(bundle)   # checksums of bundle.json's files still match
    profile = model.metadata["population"]
    assert set(profile["features"]) == set(model.feature_names)
    for name, column in profile["features"].items():
        assert column["kind"] in ("numeric", "categorical"), name
        assert sum(column["shares"].values()) == pytest.approx(1.0), name
    scores = profile["scores"]
    assert scores["n"] == logged.params["rows.fit"]
    assert len(scores["pd_quantiles"]) == len(scores["score_quantiles"]) == 101
    assert scores["pd_quantiles"] == sorted(scores["pd_quantiles"])
    assert (bundle / "bundle.json").stat().st_size < 200_000
