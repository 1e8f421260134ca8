"""``poolgate train`` and ``promote`` killed with SIGKILL while reading, measuring and writing the registry.

After each kill, once a poolgate registry command has run (``models`` here), the aliases are exactly
what the history says (:func:`training.registry.check_consistency`), and no event is recorded twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.kill import child_env, kill_at, run

NAME = "poolgate-pd"


@pytest.fixture()
def registry(tmp_path: Path) -> Iterator[Path]:
    """MLflow in ``tmp_path`` for this process too (the children get the same URI)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", child_env(tmp_path)["MLFLOW_TRACKING_URI"])
        yield tmp_path


def _state() -> tuple[list[str], dict[str, str], list[tuple[str, str]]]:
    from mlflow import MlflowClient

    from training.registry import _history, check_consistency

    client = MlflowClient()
    aliases = {a: str(v) for a, v in client.get_registered_model(NAME).aliases.items()}
    events = [(e["event"], str(e["version"])) for e in _history(client, NAME)]
    return check_consistency(NAME, client=client), aliases, events


def _runs() -> list:  # type: ignore[type-arg]
    from mlflow import MlflowClient

    client = MlflowClient()
    return client.search_runs([client.get_experiment_by_name("kill").experiment_id])


@pytest.mark.slow
def test_train_and_promote_killed_leave_a_consistent_registry(registry: Path) -> None:
    book = registry / "book"
    run(["sample", "--contracts", "3000", "--seed", "5", "--out", str(book)], registry)
    train = ["train", "--tape", str(book / "contracts.parquet"), "--performance", str(book / "performance.parquet"),
             "--experiment", "kill", "--threads", "1"]

    kill_at(train, registry, "train.read")                     # reading: nothing registered
    assert "no registered model" in run(["models"], registry, ok=(2,)).stderr

    kill_at(train, registry, "train.log")                      # killed while logging: its run stays RUNNING
    assert [r.info.status for r in _runs()] == ["RUNNING"]

    kill_at(train, registry, "registry.alias")                 # version 1 has the alias, no event yet
    assert sorted(r.info.status for r in _runs()) == ["FINISHED", "KILLED"]   # the next train ended the killed one
    problems, aliases, events = _state()
    assert aliases == {"challenger": "1"} and events == []
    assert any("pending" in p for p in problems) and any("history gives {}" in p for p in problems)
    run(["models"], registry)                                  # the next registry command completes it
    assert _state() == ([], {"challenger": "1"}, [("challenger_set", "1")])

    strict, lenient = registry / "strict.toml", registry / "lenient.toml"
    gates = ("version = 1\n[absolute]\nmin_auc = {auc}\nmin_ks = 0.0\nmax_calibration_error = 1.0\n"
             "max_monotonicity_violations = 1000\n[relative]\nmax_auc_drop = 1.0\nmax_ks_drop = 1.0\n"
             "max_calibration_error_increase = 1.0\n")
    strict.write_text(gates.format(auc=0.999), encoding="utf-8")     # refused: the challenger stays
    lenient.write_text(gates.format(auc=0.0), encoding="utf-8")      # promoted
    kill_at(["promote", "--gates", str(strict)], registry, "promote.measure")    # measuring: nothing changed
    assert _state() == ([], {"challenger": "1"}, [("challenger_set", "1")])

    kill_at(["promote", "--gates", str(strict)], registry, "registry.pending")   # written ahead, nothing made
    run(["models"], registry)
    assert _state() == ([], {"challenger": "1"}, [("challenger_set", "1"), ("promotion_refused", "1")])

    kill_at(["promote", "--gates", str(strict)], registry, "registry.history")   # recorded, tag not removed
    run(["models"], registry)
    problems, _, events = _state()
    assert problems == [] and events[2:] == [("promotion_refused", "1")]         # once, not again

    kill_at(["promote", "--gates", str(lenient)], registry, "registry.alias")    # champion moved, challenger kept
    problems, aliases, _ = _state()
    assert aliases == {"challenger": "1", "champion": "1"} and problems
    run(["models"], registry)
    problems, aliases, events = _state()
    assert problems == [] and aliases == {"champion": "1"} and events[-1] == ("champion_set", "1")
    assert len(events) == 4

    # killed after registering version 2 and before marking it: no alias moves, and models names it
    kill_at(train, registry, "registry.challenger")
    assert _state() == ([], {"champion": "1"}, events)
    shown = run(["models"], registry)
    assert "version(s) 2 of poolgate-pd are unmarked: the training run that registered them stopped" in shown.stderr
    from training.registry import list_versions

    assert [(v["version"], v["status"], v["aliases"]) for v in list_versions(NAME)] == [
        ("2", "unmarked", []), ("1", "champion", ["champion"])]
