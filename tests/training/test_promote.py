"""The governed registry through the commands: train, promote (pass and refuse), models and the history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from poolgate.cli import main

STRICT = """
[absolute]
min_auc = 0.99
min_ks = 0.2
max_calibration_error = 0.05
max_monotonicity_violations = 0
[relative]
max_auc_drop = 0.005
max_ks_drop = 0.02
max_calibration_error_increase = 0.01
"""


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    rc = main(list(argv))
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, f"--json must print one line on stdout, got: {out[:500]}"
    return rc, json.loads(lines[0])


def _train(capsys: pytest.CaptureFixture[str], files: dict[str, Path], seed: int) -> dict[str, Any]:
    rc, out = _run(capsys, "train", "--tape", str(files["contracts"]), "--performance", str(files["performance"]),
                   "--truth", str(files["truth"]), "--seed", str(seed), "--threads", "1", "--json")
    assert rc == 0
    return out


def test_train_promote_refuse_and_history(capsys: pytest.CaptureFixture[str], mlflow_dir: Path,
                                          small_book_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    first = _train(capsys, small_book_files, seed=0)
    assert first["model_version"] == "1" and first["model_uri"] == "models:/poolgate-pd/1"
    for key in ("auc_oot", "ks_oot", "brier_oot", "calibration_error_oot", "auc_oracle_oot"):
        assert isinstance(first["metrics"][key], float), key
    assert (mlflow_dir / "mlflow.db").is_file()

    # the first model becomes champion when it passes the absolute gates
    rc, decision = _run(capsys, "promote", "--json")
    assert rc == 0 and decision["promoted"] is True
    assert decision["champion_before"] is None and decision["champion_after"] == "1"
    assert [g["passed"] for g in decision["gates"]][4:] == [None, None, None]

    # nothing left to promote
    assert main(["promote"]) == 2
    assert "has no 'challenger' version to promote" in capsys.readouterr().err

    second = _train(capsys, small_book_files, seed=1)
    assert second["model_version"] == "2"

    # written gates the challenger cannot meet: refused, champion stays
    strict = mlflow_dir / "strict.toml"
    strict.write_text(STRICT, encoding="utf-8")
    rc, refused = _run(capsys, "promote", "--gates", str(strict), "--json")
    assert rc == 1 and refused["promoted"] is False and refused["champion_after"] == "1"
    assert "refused: AUC" in refused["reason"] and "must be >= 0.9900" in refused["reason"]
    assert refused["champion_metrics"]["auc"] > 0.5   # the champion was measured on the same rows
    assert refused["rows"] == decision["rows"] or refused["rows"] > 0

    rc, listing = _run(capsys, "models", "--json")
    assert rc == 0
    by_version = {v["version"]: v for v in listing["versions"]}
    assert by_version["1"]["aliases"] == ["champion"] and by_version["1"]["status"] == "champion"
    assert by_version["2"]["aliases"] == ["challenger"] and by_version["2"]["status"] == "refused"
    events = listing["history"]
    assert [(e["event"], e["version"]) for e in events] == [
        ("challenger_set", "1"), ("champion_set", "1"), ("challenger_set", "2"), ("promotion_refused", "2")]
    for e in events:
        assert e["time"].endswith("+00:00") and e["reason"] and e["metrics"]
    assert events[3]["gates_sha256"] and events[3]["champion_before"] == "1"

    # the human-readable listing shows the same history
    assert main(["models"]) == 0
    text = capsys.readouterr().out
    assert "promotion_refused" in text and "champion_set" in text

    # a champion that cannot read the rows the challenger is judged on (one trained through a mapping, the
    # other on canonical fields): named, with what to do, and nothing recorded
    import training.registry
    from features.exceptions import TapeError

    measure = training.registry._measure
    calls: list[int] = []

    def champion_reads_other_inputs(*args: Any, **kwargs: Any) -> dict[str, float]:
        calls.append(1)
        if len(calls) == 2:  # the challenger first, then the champion
            raise TapeError("FeatureBuilder.transform: missing canonical columns ['financed_amount']")
        return measure(*args, **kwargs)

    monkeypatch.setattr(training.registry, "_measure", champion_reads_other_inputs)
    assert main(["promote"]) == 2
    err = capsys.readouterr().err
    assert "champion version 1 of 'poolgate-pd' cannot score the rows the challenger (version 2) is judged on" in err
    assert "missing canonical columns ['financed_amount']" in err and "--model-name" in err
    assert "Traceback" not in err
    monkeypatch.setattr(training.registry, "_measure", measure)
    rc, listing = _run(capsys, "models", "--json")
    assert [e["event"] for e in listing["history"]][-1] == "promotion_refused"  # nothing recorded

    # gates the challenger meets against the champion: champion moves, the old one is retired
    lenient = mlflow_dir / "lenient.toml"
    lenient.write_text(STRICT.replace("min_auc = 0.99", "min_auc = 0.5").replace("max_auc_drop = 0.005",
                       "max_auc_drop = 0.2").replace("max_ks_drop = 0.02", "max_ks_drop = 0.2"), encoding="utf-8")
    rc, moved = _run(capsys, "promote", "--gates", str(lenient), "--json")
    assert rc == 0 and moved["promoted"] is True, moved["reason"]
    assert moved["champion_before"] == "1" and moved["champion_after"] == "2"
    assert "against champion version 1" in moved["reason"]
    rc, listing = _run(capsys, "models", "--json")
    by_version = {v["version"]: v for v in listing["versions"]}
    assert by_version["2"]["aliases"] == ["champion"] and by_version["1"]["status"] == "retired"
    assert by_version["1"]["aliases"] == []
    assert listing["history"][-1]["event"] == "champion_set"
