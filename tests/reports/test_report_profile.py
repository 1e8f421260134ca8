"""`poolgate report` of a run whose model carries its training profile: the stability section needs no flag."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from models.population import population_profile
from poolgate.cli import main
from tests.reports.screened import screen_small_pool, small_model


@pytest.fixture(scope="module")
def run_with_profile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | list[str]]:
    tmp = tmp_path_factory.mktemp("profiled")
    model, train = small_model()
    x = model.transform(train)   # as training.run.fit_and_evaluate stores it
    p = model.predict_pd_inputs(x)
    model.metadata["population"] = population_profile(x, p, model.score(p))
    paths = screen_small_pool(tmp, model.save(tmp / "bundle"))
    return {"run": paths["run"], "log": paths["log"], "inputs": list(x.columns)}


def test_report_shows_psi_of_every_input_from_the_bundle_profile(run_with_profile: dict[str, Path | list[str]],
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert main(["report", "--run", str(run_with_profile["run"]), "--out", str(out), "--log",
                 str(run_with_profile["log"]), "--max-waterfalls", "1"]) == 0
    html = out.read_text(encoding="utf-8")
    assert "metadata (profile of its training data)" in html   # the profile's source, as shown
    assert "No training-population profile was found" not in html
    metrics = dict(re.findall(r'data-metric="psi\.([^"]+)" data-value="([^"]*)"', html))
    assert set(metrics) == set(run_with_profile["inputs"])
    assert all(float(v) >= 0.0 for v in metrics.values())
    assert "PD distribution, pool against training" in html
