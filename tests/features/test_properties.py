"""Property-based tests: tapes generated from the schema, damaged cell by cell and as whole files.

Valid rows come from the seeded synthetic book (``tests.models.book``) written as text, as a lessor's CSV
holds them; hypothesis then picks how many rows, which cells to damage and how (each kind of bad cell:
wrong type, out of range, unknown code, impossible date, empty required cell, empty or repeated id,
quotes, commas and newlines inside a cell, very long cells, Chinese text, a BOM, GB18030 bytes, and damage
to the whole file: truncated, empty, random bytes). Properties:

- ``validate`` returns a report or raises its one-line :class:`PoolgateError`, never anything else;
- ``screen`` writes exactly one decision per input row, in order; every ``invalid`` row carries its
  reasons; a valid row's decision is the same whichever other rows are bad (concentration limits lifted);
- reading through a mapping never loses, invents or reorders a row, and chunking does not change it.

``make test`` runs a bounded profile (``ci``, few examples); ``make fuzz`` runs the ``fuzz`` profile with
1,000 examples per property (``HYPOTHESIS_PROFILE=fuzz``; ``POOLGATE_FUZZ_EXAMPLES=N`` sets another count).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from features.exceptions import PoolgateError
from features.mapping import load_mapping, mapping_from_dict, read_mapped
from features.schema import LEASE_FIELDS
from features.validate import validate_tape
from tests.models.book import make_book

settings.register_profile("ci", max_examples=12, deadline=None, derandomize=True,
                          phases=(Phase.explicit, Phase.reuse, Phase.generate),  # no minutes spent shrinking
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("fuzz", max_examples=int(os.environ.get("POOLGATE_FUZZ_EXAMPLES", "1000")), deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

FIELDS = {f.name: f for f in LEASE_FIELDS}
NUMERIC = [f.name for f in LEASE_FIELDS if f.kind in ("int", "float") and f.maximum is not None]
CATEGORY = [f.name for f in LEASE_FIELDS if f.kind == "category"]
DATES = [f.name for f in LEASE_FIELDS if f.kind == "date"]
REQUIRED = [f.name for f in LEASE_FIELDS if not f.nullable and f.name != "contract_id"]
TEXT = [f.name for f in LEASE_FIELDS if f.kind == "string" and f.name != "contract_id"]
CELL_DAMAGE = ("type", "range", "code", "date", "empty", "id_empty", "id_repeat", "quoting", "long", "chinese")


@lru_cache(maxsize=1)
def valid_rows() -> pd.DataFrame:
    """60 canonical rows as text cells (the synthetic book on one cut-off, 2023-06-30), valid but for a few."""
    records, _, _ = make_book(60, seed=5)
    raw = records.astype(object).where(records.notna(), None).astype(str).replace("None", "")
    raw = raw.astype(object).reset_index(drop=True)
    raw["cutoff_date"], raw["origination_date"] = "2023-06-30", "2022-06-15"   # one pool cut-off
    raw["months_on_book"] = raw["instalments_paid"] = "12"
    raw["term_months"] = raw["term_months"].where(raw["term_months"].isin(["24", "36", "48", "60"]), "36")
    return raw


@st.composite
def damaged_tapes(draw: st.DrawFn) -> tuple[pd.DataFrame, set[int]]:
    """A tape of 1-15 valid rows with 0-6 damaged cells; returns it and the 0-based rows touched."""
    base = valid_rows()
    picks = draw(st.lists(st.integers(0, len(base) - 1), min_size=1, max_size=15, unique=True))
    tape = base.iloc[picks].reset_index(drop=True).copy()
    touched: set[int] = set()
    for _ in range(draw(st.integers(0, 6))):
        row = draw(st.integers(0, len(tape) - 1))
        kind = draw(st.sampled_from(CELL_DAMAGE))
        if kind == "type":
            tape.loc[row, draw(st.sampled_from(NUMERIC + DATES))] = draw(st.sampled_from(["abc", "1,2", "--", "1e"]))
        elif kind == "range":
            name = draw(st.sampled_from(NUMERIC))
            f = FIELDS[name]
            tape.loc[row, name] = str(draw(st.sampled_from([f.maximum * 10 + 1, (f.minimum or 0) - 1])))  # type: ignore[operator]
        elif kind == "code":
            tape.loc[row, draw(st.sampled_from(CATEGORY))] = draw(st.sampled_from(["ZZZ", "未知", "new "]))
        elif kind == "date":
            tape.loc[row, draw(st.sampled_from(DATES))] = draw(st.sampled_from(["2023-02-30", "2023-13-01", "0000-00-00"]))
        elif kind == "empty":
            tape.loc[row, draw(st.sampled_from(REQUIRED))] = ""
        elif kind == "id_empty":
            tape.loc[row, "contract_id"] = ""
        elif kind == "id_repeat":
            other = draw(st.integers(0, len(tape) - 1))
            if other == row:
                continue
            tape.loc[row, "contract_id"] = tape.loc[other, "contract_id"]
            touched.add(other)
        elif kind == "quoting":
            tape.loc[row, draw(st.sampled_from(TEXT))] = draw(st.sampled_from(['a,"b"\nc', '"', "x\r\ny", ",,"]))
        elif kind == "long":
            tape.loc[row, draw(st.sampled_from(TEXT + NUMERIC))] = "9" * draw(st.integers(1_000, 20_000))
        else:
            tape.loc[row, draw(st.sampled_from(TEXT))] = "上海市浦东新区"
        touched.add(row)
    return tape, touched


def _write(tape: pd.DataFrame, path: Path, *, bom: bool = False, encoding: str = "utf-8") -> Path:
    text = tape.to_csv(index=False, lineterminator="\n")
    path.write_bytes(("\ufeff" if bom else "").encode("utf-8") + text.encode(encoding, errors="replace"))
    return path


def _one_line(exc: PoolgateError) -> None:
    assert "\n" not in str(exc) and "Traceback" not in str(exc), str(exc)


@given(tape=damaged_tapes(), bom=st.booleans(), gb=st.booleans(),
       whole=st.sampled_from(["none", "none", "truncate", "empty", "garbage"]), cut=st.floats(0.0, 1.0))
def test_validate_never_raises_past_its_one_line_error(tape: tuple[pd.DataFrame, set[int]], bom: bool, gb: bool,
                                                      whole: str, cut: float) -> None:
    frame, _ = tape
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(frame, Path(tmp) / "t.csv", bom=bom, encoding="gb18030" if gb else "utf-8")
        data = path.read_bytes()
        if whole == "truncate":
            path.write_bytes(data[: int(len(data) * cut)])
        elif whole == "empty":
            path.write_bytes(b"")
        elif whole == "garbage":
            path.write_bytes(bytes(range(256)) * 3)
        try:
            report = validate_tape(path, kind="lease")
        except PoolgateError as exc:
            _one_line(exc)
            return
        if whole == "none":
            assert report.n_rows == len(frame)
        problems = report.problems
        assert set(problems["row"]) <= set(range(1, report.n_rows + 1))


@given(tape=damaged_tapes(), chunk=st.integers(1, 7))
def test_the_mapping_reader_never_loses_or_invents_a_row(tape: tuple[pd.DataFrame, set[int]], chunk: int) -> None:
    frame, _ = tape
    renamed = frame.rename(columns=lambda c: f"src {c}")
    mapping = mapping_from_dict({"name": "renamed", "id": "src contract_id", "fields": {
        f.name: f"src {f.name}" for f in LEASE_FIELDS if f.name != "contract_id"}}, origin="renamed")
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(renamed, Path(tmp) / "t.csv")
        whole = read_mapped(path, mapping)
        chunked = read_mapped(path, mapping, chunksize=chunk)
        native = read_mapped(_write(frame, Path(tmp) / "n.csv"), load_mapping("native"))
    ids = [i if i != "" else None for i in frame["contract_id"]]
    for read in (whole, chunked, native):
        assert len(read.records) == len(frame)
        assert [None if pd.isna(v) else v for v in read.ids] == ids
    pd.testing.assert_frame_equal(whole.records, chunked.records)
    pd.testing.assert_frame_equal(whole.problems, chunked.problems, check_dtype=False)  # text: object or string


@pytest.fixture(scope="module")
def screening(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from models import LeaseModel
    from scoring.policy import default_policy_path, load_policy
    from scoring.registry import ModelRef
    from tests.scoring.conftest import bundle_dir

    folder = tmp_path_factory.mktemp("props")
    bundle = bundle_dir.__wrapped__(tmp_path_factory)  # type: ignore[attr-defined]
    policy_path = folder / "policy.toml"
    policy_path.write_text(re.sub(r"max_share = [0-9.]+", "max_share = 1.0",
                                  default_policy_path().read_text(encoding="utf-8")), encoding="utf-8")
    model = LeaseModel.load(bundle)
    return model, ModelRef(uri=str(bundle), version="", digest="test"), load_policy(policy_path), folder


def _screen(screening, frame: pd.DataFrame, name: str) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    import datetime as dt

    from scoring.screen import screen_tape

    model, ref, policy, folder = screening
    path = _write(frame, folder / f"{name}.csv")
    out = folder / name
    screen_tape(path, model=model, model_ref=ref, policy=policy, out_dir=out, log_path=folder / "log.jsonl",
                cutoff=dt.date(2023, 6, 30), chunksize=4)
    return pd.read_parquet(out / "decisions.parquet")


@given(tape=damaged_tapes())
def test_screen_decides_every_row_once_and_a_valid_rows_decision_does_not_depend_on_the_others(
        screening, tape: tuple[pd.DataFrame, set[int]]) -> None:  # type: ignore[no-untyped-def]
    frame, touched = tape
    damaged = _screen(screening, frame, "damaged")
    assert damaged["row"].tolist() == list(range(1, len(frame) + 1))
    invalid = damaged[damaged["status"] == "invalid"]
    assert all(json.loads(r) for r in invalid["invalid_reasons"]), "an invalid row without its reasons"
    if len(touched) == len(frame):
        return
    reference = _screen(screening, frame.drop(index=sorted(touched)).reset_index(drop=True), "reference")
    kept = damaged.drop(index=sorted(touched)).reset_index(drop=True)
    assert kept["asset_id"].tolist() == reference["asset_id"].tolist()
    for column in ("status", "decided_by", "failed_rules", "invalid_reasons"):
        assert kept[column].tolist() == reference[column].tolist(), column
    pd.testing.assert_series_equal(kept["pd"], reference["pd"], check_exact=False, rtol=1e-12)
