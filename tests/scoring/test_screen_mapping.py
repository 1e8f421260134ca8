"""`poolgate screen --mapping`: a tape in a lessor's own column names gets the same decisions."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from poolgate.cli import main
from tests.cli.test_mapping_cli import renamed
from tests.scoring.conftest import candidate_rows


def _screen(capsys: pytest.CaptureFixture[str], tape: Path, bundle_dir: Path, out: Path, cutoff: str,
            *extra: str) -> dict:
    rc = main(["screen", "--tape", str(tape), "--cutoff", cutoff, "--model", str(bundle_dir), "--out", str(out),
               "--log", str(out.parent / "decisions.log"), "--json", *extra])
    assert rc == 0
    return json.loads(capsys.readouterr().out)


def test_screen_through_a_mapping_decides_as_on_the_canonical_tape(
        tmp_path: Path, bundle_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = candidate_rows()
    rows.loc[20, "vehicle_condition"] = "D"          # a code the mapping's table lacks: invalid, value named
    cutoff = rows.loc[20, "cutoff_date"]              # rows of other cut-offs are invalid in both runs
    canonical = tmp_path / "pool.csv"
    rows.to_csv(canonical, index=False)
    source, mapping = renamed(rows, tmp_path)

    direct = _screen(capsys, canonical, bundle_dir, tmp_path / "direct", cutoff)
    mapped = _screen(capsys, source, bundle_dir, tmp_path / "mapped", cutoff, "--mapping", str(mapping))
    assert mapped["counts"] == direct["counts"]
    assert sum(mapped["counts"].values()) == len(rows) and mapped["counts"]["invalid"] < len(rows)
    assert Path(mapped["mapped_tape"]) == tmp_path / "mapped" / "mapped_tape.parquet"

    a = pd.read_parquet(tmp_path / "direct" / "decisions.parquet")
    b = pd.read_parquet(tmp_path / "mapped" / "decisions.parquet")
    same = [c for c in a.columns if c != "run_id"]
    pd.testing.assert_frame_equal(a[same], b[same])
    reasons = json.loads(b.loc[20, "invalid_reasons"])
    assert [(r["column"], r["value"]) for r in reasons] == [("vehicle_condition", "D")]
    record = json.loads((tmp_path / "decisions.log").read_text(encoding="utf-8").splitlines()[-1])
    assert record["tape"] == mapped["mapped_tape"]   # the log names the canonical copy that was screened
