"""Screening runs end to end on a small tape: outputs, identities, reruns, failures."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models import LeaseModel
from scoring import audit
from scoring.decisions import check_decisions, decide_frame
from scoring.policy import Policy, default_policy_path, load_policy
from scoring.registry import load_model
from scoring.screen import OUTPUT_FILES, screen_tape
from tests.scoring.conftest import candidate_rows

POLICY = load_policy()


def _screen(tape: Path, bundle_dir: Path, out: Path, log: Path, policy: Policy = POLICY, **kw: object):
    loaded = load_model(str(bundle_dir))
    return screen_tape(tape, model=loaded.model, model_ref=loaded.ref, policy=policy, out_dir=out,
                       log_path=log, chunksize=64, **kw)


def test_every_row_once_in_order_with_invalid_rows_explained(tape: Path, bundle_dir: Path, tmp_path: Path) -> None:
    res = _screen(tape, bundle_dir, tmp_path / "out", tmp_path / "log")
    dec = pd.read_parquet(tmp_path / "out" / "decisions.parquet")
    assert dec["row"].tolist() == list(range(1, 301))
    assert sum(res.counts.values()) == 300 and res.counts["invalid"] == 5
    check_decisions(dec.astype({c: "string" for c in dec.columns if dec[c].dtype == object
                                or str(dec[c].dtype) in ("str", "string")}), POLICY.reasons.top_n, n_rows=300)
    bad = dec.set_index("row").loc[[1, 3, 6, 9, 12]]
    assert (bad["status"] == "invalid").all()
    rules = [json.loads(t)[0]["rule"] for t in bad["invalid_reasons"]]
    assert rules == ["unique", "type", "range", "not_null", "unique"]
    overdue = dec.set_index("row").loc[15]
    assert overdue["status"] == "reject" and "overdue_at_cutoff" in overdue["failed_rules"]
    csv = pd.read_csv(tmp_path / "out" / "decisions.csv")
    assert csv["row"].tolist() == dec["row"].tolist() and csv["status"].tolist() == dec["status"].tolist()
    assert res.record["counts"] == res.counts and res.record["run_id"] == res.run_id


def test_contributions_plus_base_equal_raw_score(tape: Path, bundle_dir: Path, tmp_path: Path,
                                                 model: LeaseModel) -> None:
    _screen(tape, bundle_dir, tmp_path / "out", tmp_path / "log")
    dec = pd.read_parquet(tmp_path / "out" / "decisions.parquet").set_index("row")
    con = pd.read_parquet(tmp_path / "out" / "contributions.parquet").set_index("row")
    feats = model.feature_names
    assert list(con.columns) == ["asset_id", "base_value", *feats]
    total = con[feats].sum(axis=1) + con["base_value"]
    assert np.abs(total - dec.loc[con.index, "raw_score"]).max() <= 1e-6
    # and the raw score is the model's own, on the same rows
    rows = candidate_rows()
    valid = rows.iloc[con.index.to_numpy() - 1]
    assert np.abs(model.raw_score(valid) - dec.loc[con.index, "raw_score"].to_numpy()).max() <= 1e-6
    top = dec.loc[con.index, "reason_1_feature"]
    has = top != ""
    assert (con[feats].idxmax(axis=1)[has] == top[has]).all()


def test_rerun_is_byte_identical_and_logged_twice(tape: Path, bundle_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "log"
    a = _screen(tape, bundle_dir, tmp_path / "a", log)
    b = _screen(tape, bundle_dir, tmp_path / "b", log)
    assert a.run_id == b.run_id
    for name in OUTPUT_FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    report = audit.verify(log)
    assert report.ok and report.records == 2


def test_one_bundle_reached_two_ways_gives_two_runs_each_verified(tape: Path, bundle_dir: Path, tmp_path: Path) -> None:
    """The decision files record the model's URI: '@champion' and '/1' of one bundle are two runs."""
    from dataclasses import replace

    loaded = load_model(str(bundle_dir))
    log = tmp_path / "log"
    runs = {}
    for name, uri, version in (("champion", "models:/pd@champion", "1"), ("one", "models:/pd/1", "1")):
        runs[name] = screen_tape(tape, model=loaded.model, model_ref=replace(loaded.ref, uri=uri, version=version),
                                 policy=POLICY, out_dir=tmp_path / name, log_path=log, chunksize=64)
    assert runs["champion"].run_id != runs["one"].run_id
    for name in runs:
        assert audit.run_files_problems(tmp_path / name, log) == [], name


def test_cutoff_mismatch_makes_rows_invalid(tape: Path, bundle_dir: Path, tmp_path: Path) -> None:
    first = pd.read_csv(tape, dtype=str)["cutoff_date"].iloc[0]
    res = _screen(tape, bundle_dir, tmp_path / "out", tmp_path / "log", cutoff=dt.date.fromisoformat(first))
    dec = pd.read_parquet(tmp_path / "out" / "decisions.parquet")
    other = pd.read_csv(tape, dtype=str)["cutoff_date"] != first
    assert other.any() and (dec.loc[other.to_numpy(), "status"] == "invalid").all()
    assert "cutoff_mismatch" in dec.loc[other.to_numpy(), "invalid_reasons"].iloc[0]
    assert res.counts["invalid"] >= int(other.sum())


def test_failure_midway_leaves_no_outputs_and_no_log_record(tape: Path, bundle_dir: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import scoring.screen as screen_mod

    real = screen_mod.decide_chunk
    calls = {"n": 0}

    def failing(*args: object, **kw: object):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed")
        return real(*args, **kw)

    log = tmp_path / "log"
    _screen(tape, bundle_dir, tmp_path / "old", log)
    before = log.read_bytes()
    # a Parquet tape: features.io.iter_table leaves a CSV reader to the garbage collector when
    # the consumer stops early, which pytest (warnings as errors) reports
    tape = tape.with_suffix(".parquet")
    candidate_rows().to_parquet(tape, index=False)
    monkeypatch.setattr(screen_mod, "decide_chunk", failing)
    with pytest.raises(RuntimeError, match="killed"):
        _screen(tape, bundle_dir, tmp_path / "out", log)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == []  # no files, no staging left
    assert log.read_bytes() == before and audit.verify(log).ok


def test_failure_while_writing_the_files_leaves_no_outputs_and_no_log_record(
        tape: Path, bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow.csv as pacsv

    import scoring.screen as screen_mod

    class FullDisk(pacsv.CSVWriter):  # the CSV is written by a worker thread: its error must reach the caller
        def write_table(self, table: object, max_chunksize: int | None = None) -> None:
            raise OSError("No space left on device")

    log = tmp_path / "log"
    _screen(tape, bundle_dir, tmp_path / "old", log)
    before = log.read_bytes()
    monkeypatch.setattr(screen_mod.pacsv, "CSVWriter", FullDisk)
    with pytest.raises(OSError, match="No space left"):
        _screen(tape, bundle_dir, tmp_path / "out", log)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == []  # no files, no staging left
    assert log.read_bytes() == before and audit.verify(log).ok


def test_online_frame_answers_like_the_batch(tape: Path, bundle_dir: Path, tmp_path: Path, model: LeaseModel) -> None:
    _screen(tape, bundle_dir, tmp_path / "out", tmp_path / "log")
    batch = pd.read_parquet(tmp_path / "out" / "decisions.parquet")
    online = decide_frame(candidate_rows(), model, POLICY)
    dropped = batch["decided_by"].str.startswith("conc_").to_numpy()
    assert dropped.any() and (online.loc[dropped, "status"] == "admit").all()
    same = ["row", "asset_id", "status", "decided_by", "pd", "score", "failed_rules", "invalid_reasons", "note",
            *[c for c in batch.columns if c.startswith("reason_")]]
    kept = ~dropped
    pd.testing.assert_frame_equal(online.loc[kept, same].astype(object).reset_index(drop=True),
                                  batch.loc[kept, same].astype(object).reset_index(drop=True), check_dtype=False)


def test_missing_required_column_makes_every_row_invalid(bundle_dir: Path, tmp_path: Path) -> None:
    tape = tmp_path / "pool.csv"
    candidate_rows(50, seed=41).iloc[:20].drop(columns=["gps_installed"]).to_csv(tape, index=False)
    res = _screen(tape, bundle_dir, tmp_path / "out", tmp_path / "log")
    dec = pd.read_parquet(tmp_path / "out" / "decisions.parquet")
    assert res.counts["invalid"] == 20 and (dec["status"] == "invalid").all()
    first = json.loads(dec["invalid_reasons"].iloc[0])[0]
    assert first["rule"] == "required_column" and first["column"] == "gps_installed"


def test_unreadable_tape_is_a_tape_error_and_writes_nothing(bundle_dir: Path, tmp_path: Path) -> None:
    from features.exceptions import TapeError

    tape = tmp_path / "pool.csv"
    tape.write_text("contract_id,lessee_id\n", encoding="utf-8")
    with pytest.raises(TapeError, match="the tape has a header but no rows"):
        _screen(tape, bundle_dir, tmp_path / "out", tmp_path / "log")
    assert list((tmp_path / "out").iterdir()) == [] and not (tmp_path / "log").exists()


@pytest.mark.parametrize("kind", ["ordinary_file", "no_such_folder"])
def test_a_log_that_cannot_take_the_record_is_refused_before_any_output(
        tape: Path, bundle_dir: Path, tmp_path: Path, kind: str) -> None:
    if kind == "ordinary_file":
        log = tmp_path / "ordinary.csv"
        log.write_text("a,b\n1,2\n", encoding="utf-8")
        match = r"ordinary.csv: the last line is not a decision-log record"
    else:
        if not Path("/proc/self").is_dir():
            pytest.skip("needs Linux /proc")
        log, match = Path("/proc/nolog/x.log"), r"/proc/nolog/x.log: cannot be created"
    with pytest.raises(audit.AuditError, match=match):
        _screen(tape, bundle_dir, tmp_path / "out", log)
    assert not (tmp_path / "out").exists()
    if kind == "ordinary_file":
        assert log.read_text(encoding="utf-8") == "a,b\n1,2\n"


def _existing(ids: list[str]) -> pd.DataFrame:
    """A pool as it stands (``monitoring.replenish.existing_pool``): its contracts, group fields, balances."""
    return pd.DataFrame({"contract_id": ids, "lessee_id": [f"E{i}" for i in range(len(ids))], "province": "P",
                         "dealer_id": "D", "vehicle_make": "M", "vehicle_condition": "new", "is_nev": False,
                         "outstanding_principal": 1.0})


def test_a_candidate_the_pool_holds_or_has_held_is_rejected_as_ineligible(
        tape: Path, bundle_dir: Path, tmp_path: Path) -> None:
    loose = tmp_path / "policy.toml"  # no binding concentration limit: a 300-row tape cannot meet them
    loose.write_text(re.sub(r"max_share = [0-9.]+", "max_share = 1.0", default_policy_path().read_text("utf-8")),
                     encoding="utf-8")
    policy = load_policy(loose)
    existing = _existing(["E1", "E2"])
    log = tmp_path / "log"
    base = _screen(tape, bundle_dir, tmp_path / "base", log, policy, existing=existing, held=pd.Series(dtype=object))
    before = pd.read_parquet(tmp_path / "base" / "decisions.parquet").set_index("row")
    admitted = before.index[before["status"] == "admit"]
    referred = before.index[(before["status"] == "refer") | (before["decided_by"] == "pd_reject")]
    assert base.summary["run"]["existing_pool"]["already_in_pool"] == 0 and len(admitted) >= 2 and len(referred)
    hits = {int(admitted[0]): "in_pool", int(admitted[1]): "prepaid", int(referred[0]): "matured"}
    held = pd.Series(list(hits.values()), index=[" " + before.at[r, "asset_id"] for r in hits])  # ids as written
    held[before.at[3, "asset_id"]] = "in_pool"          # row 3 breaks the data contract: it stays invalid
    res = _screen(tape, bundle_dir, tmp_path / "out", log, policy, existing=existing, held=held)
    after = pd.read_parquet(tmp_path / "out" / "decisions.parquet").set_index("row")

    refused = after.loc[list(hits)]
    assert (refused["status"] == "reject").all() and (refused["decided_by"] == "eligibility").all()
    assert (refused["note"] == "").all() and refused["pd"].notna().all() and (refused["reason_1_feature"] != "").all()
    for row, state in hits.items():
        last = json.loads(after.at[row, "failed_rules"])[-1]
        assert last["code"] == "already_in_pool"
        assert f"contract_id {before.at[row, 'asset_id']} " in last["message"] and f"cut-off: {state})" in last["message"]
    assert after.at[3, "status"] == "invalid" and "already_in_pool" not in after.at[3, "failed_rules"]
    others = after.index.difference(list(hits))           # nothing else changed but the run id
    cols = [c for c in after.columns if c != "run_id"]
    pd.testing.assert_frame_equal(after.loc[others, cols], before.loc[others, cols])
    assert sum(res.counts.values()) == 300 and res.counts["admit"] == base.counts["admit"] - 2
    assert res.summary["run"]["existing_pool"]["already_in_pool"] == 3 and res.record["counts"] == res.counts
    assert res.summary["counts"] == res.counts and res.run_id != base.run_id
    # without held, the pool's own contracts are the ones refused (state in_pool)
    existing = _existing(["E1", before.at[int(admitted[0]), "asset_id"]])
    plain = _screen(tape, bundle_dir, tmp_path / "plain", log, policy, existing=existing)
    row = pd.read_parquet(tmp_path / "plain" / "decisions.parquet").set_index("row").loc[int(admitted[0])]
    assert row["status"] == "reject" and "cut-off: in_pool)" in row["failed_rules"]
    assert plain.summary["run"]["existing_pool"]["already_in_pool"] == 1
    with pytest.raises(ValueError, match="held .* needs existing"):
        _screen(tape, bundle_dir, tmp_path / "x", log, policy, held=held)


def test_the_decisions_do_not_depend_on_the_chunk_size(tape: Path, bundle_dir: Path, tmp_path: Path) -> None:
    # the tape repeats an id at rows 1 and 12: with chunks of 7 rows the copies fall in different chunks
    loaded = load_model(str(bundle_dir))
    runs = {}
    for size in (7, 64, None):
        out = tmp_path / f"out{size}"
        runs[size] = screen_tape(tape, model=loaded.model, model_ref=loaded.ref, policy=POLICY, out_dir=out,
                                 log_path=tmp_path / "log", chunksize=size)
    # the same decisions, cell for cell (the Parquet files' row groups follow the chunks)
    frames = {size: pd.read_parquet(tmp_path / f"out{size}" / "decisions.parquet") for size in runs}
    pd.testing.assert_frame_equal(frames[7], frames[None])
    pd.testing.assert_frame_equal(frames[64], frames[None])
    csv = {size: (tmp_path / f"out{size}" / "decisions.csv").read_bytes() for size in runs}
    assert csv[7] == csv[64] == csv[None]
    assert runs[7].counts == runs[None].counts and runs[7].run_id == runs[None].run_id
    dec = pd.read_parquet(tmp_path / "out7" / "decisions.parquet").set_index("row")
    assert (dec.loc[[1, 12], "status"] == "invalid").all()


def test_category_values_the_model_never_saw_are_counted_and_said(tape: Path, bundle_dir: Path, tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    """A tape coded otherwise than the training book (Chinese makes for English ones) reads them as missing:
    the run says so instead of scoring it as if the makes were empty."""
    frame = pd.read_csv(tape, dtype=str)
    frame["vehicle_make"] = np.where(np.arange(len(frame)) % 2 == 0, "丰田", frame["vehicle_make"])
    coded = tmp_path / "coded.csv"
    frame.to_csv(coded, index=False)
    with caplog.at_level("WARNING", logger="scoring.screen"):
        res = _screen(coded, bundle_dir, tmp_path / "out", tmp_path / "log")
    seen = res.summary["run"]["unseen_levels"]["vehicle_make"]
    valid = res.counts["admit"] + res.counts["refer"] + res.counts["reject"]
    assert 0.4 * valid < seen["unseen"] < 0.6 * valid and seen["values"] >= seen["unseen"]
    assert any("vehicle_make:" in r.getMessage() and "read as missing" in r.getMessage() for r in caplog.records)
    plain = _screen(tape, bundle_dir, tmp_path / "plain", tmp_path / "log")
    assert "vehicle_make" not in plain.summary["run"]["unseen_levels"]
