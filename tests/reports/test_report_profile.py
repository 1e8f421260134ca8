"""`poolgate report` of a run whose model carries its training profile: the stability section needs no flag."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from models import fit_lease_model
from models.population import population_profile
from poolgate.cli import main
from scoring.policy import default_policy_path
from tests.models.book import make_book
from tests.scoring.conftest import candidate_rows


@pytest.fixture(scope="module")
def run_with_profile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | list[str]]:
    tmp = tmp_path_factory.mktemp("profiled")
    train, y_train, _ = make_book(2000, seed=11)
    valid, y_valid, _ = make_book(1000, seed=12)
    model = fit_lease_model(train, y_train, valid, y_valid, params={"n_jobs": 1, "n_estimators": 60})
    x = model.transform(train)   # as training.run.fit_and_evaluate stores it
    p = model.predict_pd_inputs(x)
    model.metadata["population"] = population_profile(x, p, model.score(p))
    bundle = model.save(tmp / "bundle")
    policy = tmp / "policy.toml"  # limits loosened: a 200-row tape cannot meet the deal's concentration limits
    policy.write_text(re.sub(r"max_share = [0-9.]+", "max_share = 1.0",
                             default_policy_path().read_text(encoding="utf-8")), encoding="utf-8")
    rows = candidate_rows(200, seed=21)
    rows["cutoff_date"], rows["origination_date"] = "2023-06-30", "2022-06-15"
    rows["months_on_book"], rows["instalments_paid"] = "12", "12"
    rows["term_months"] = rows["term_months"].where(rows["term_months"].isin(["24", "36", "48", "60"]), "36")
    rows.to_csv(tmp / "pool.csv", index=False)
    log, out = tmp / "decisions.log", tmp / "run"
    assert main(["screen", "--tape", str(tmp / "pool.csv"), "--cutoff", "2023-06-30", "--model", str(bundle),
                 "--policy", str(policy), "--log", str(log), "--out", str(out), "--json"]) == 0
    return {"run": out, "log": log, "inputs": list(x.columns)}


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
