"""`poolgate report` end to end: a real screening run of a small fitted model, then its report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from models import fit_lease_model
from poolgate.cli import main
from reports.browser import find_chromium
from scoring.policy import default_policy_path
from tests.models.book import make_book
from tests.scoring.conftest import candidate_rows


@pytest.fixture(scope="module")
def screened(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("e2e")
    train, y_train, _ = make_book(2000, seed=11)
    valid, y_valid, _ = make_book(1000, seed=12)
    bundle = fit_lease_model(train, y_train, valid, y_valid, params={"n_jobs": 1, "n_estimators": 60}) \
        .save(tmp / "bundle")
    train.to_csv(tmp / "book.csv", index=False)
    policy = tmp / "policy.toml"  # limits loosened: a 200-row tape cannot meet the deal's concentration limits
    policy.write_text(re.sub(r"max_share = [0-9.]+", "max_share = 1.0",
                             default_policy_path().read_text(encoding="utf-8")), encoding="utf-8")
    rows = candidate_rows(200, seed=21)
    rows["cutoff_date"], rows["origination_date"] = "2023-06-30", "2022-06-15"
    rows["months_on_book"], rows["instalments_paid"] = "12", "12"
    rows["term_months"] = rows["term_months"].where(rows["term_months"].isin(["24", "36", "48", "60"]), "36")
    rows.to_csv(tmp / "pool.csv", index=False)
    paths = {"bundle": bundle, "book": tmp / "book.csv", "policy": policy, "tape": tmp / "pool.csv",
             "log": tmp / "decisions.log", "run": tmp / "run"}
    assert main(["screen", "--tape", str(paths["tape"]), "--cutoff", "2023-06-30", "--model", str(bundle),
                 "--policy", str(policy), "--log", str(paths["log"]), "--out", str(paths["run"]), "--json"]) == 0
    return paths


def _metrics(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-metric="([^"]+)" data-value="([^"]*)"', html))


def test_report_of_a_real_run(screened: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    argv = ["report", "--run", str(screened["run"]), "--out", str(out), "--log", str(screened["log"]),
            "--reference", str(screened["book"]), "--max-waterfalls", "3", "--json"]
    check = find_chromium() is not None
    capsys.readouterr()
    assert main(argv + (["--check"] if check else [])) == 0
    result = json.loads(capsys.readouterr().out)
    html = out.read_text(encoding="utf-8")
    assert "audit verify passed" in html and "reference book" in html
    decisions = pd.read_parquet(screened["run"] / "decisions.parquet")
    m = _metrics(html)
    for status, n in decisions["status"].value_counts().items():
        assert int(m[f"decisions.{status}.count"]) == n
    assert any(k.startswith("psi.") for k in m)  # inputs recomputed from the tape, profile from the book
    if check:
        assert result["check_ok"], result["problems"]
    else:
        pytest.skip("report written and compared; browser check skipped: no Chromium on this machine")


def test_report_flags_a_decisions_file_edited_after_the_run(screened: dict[str, Path], tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    for f in screened["run"].iterdir():
        (run / f.name).write_bytes(f.read_bytes())
    with open(run / "decisions.csv", "a", encoding="utf-8") as fh:
        fh.write("\n")
    log = json.loads(screened["log"].read_text().splitlines()[-1])
    assert log["out_dir"] == str(screened["run"].resolve())
    out = tmp_path / "r.html"
    assert main(["report", "--run", str(run), "--out", str(out), "--log", str(screened["log"]),
                 "--model", str(screened["bundle"]), "--no-inputs", "--max-waterfalls", "1"]) == 0
    html = out.read_text(encoding="utf-8")
    assert "audit verify FAILED" in html and "decisions.csv differs from the digest" in html
