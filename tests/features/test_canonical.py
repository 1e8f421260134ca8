"""The canonical copy of a mapped tape: same rows, canonical text, undecodable cells kept for the contract."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.canonical import canonical_text, write_canonical
from features.contract import check_lease_tape
from features.mapping import apply_mapping, extra_input_name, load_mapping
from features.validate import validate_tape
from tests.features.test_mapping import LENDER_TOML, _lender_frame

SAMPLE_POOL = Path(__file__).resolve().parents[2] / "data_samples" / "pool.parquet"


def test_native_copy_of_the_sample_pool_validates_exactly_as_the_pool(tmp_path: Path) -> None:
    copy = write_canonical(SAMPLE_POOL, load_mapping("native"), tmp_path / "c.parquet", chunksize=1_000)
    assert copy.rows == 4350 and copy.fields[0] == "contract_id" and len(copy.fields) == 34
    direct, mapped = validate_tape(SAMPLE_POOL), validate_tape(copy.path)
    key = ["row", "column", "value", "rule"]
    pd.testing.assert_frame_equal(direct.problems[key].astype(str), mapped.problems[key].astype(str))
    assert direct.n_invalid_rows == mapped.n_invalid_rows == 86


def test_undecodable_cells_keep_their_source_text_so_the_contract_rejects_them(tmp_path: Path) -> None:
    (tmp_path / "lender.toml").write_text(LENDER_TOML, encoding="utf-8")
    tape = apply_mapping(_lender_frame(), load_mapping(tmp_path / "lender.toml"))
    text = canonical_text(tape)
    extras = [extra_input_name(f.column) for f in tape.mapping.features]
    assert extras and list(text.columns) == tape.canonical_fields + extras  # extras after the fields, as x_...
    for feat, name in zip(tape.mapping.features, extras, strict=True):
        src = tape.records[feat.column].astype("string").reset_index(drop=True)
        pd.testing.assert_series_equal(text[name], src, check_names=False)
    assert text.loc[0, "annual_rate"] == "0.065" and text.loc[0, "origination_date"] == "2019-03-01"
    assert text.loc[0, "vehicle_condition"] == "new" and text.loc[0, "has_guarantor"] == "true"
    # row 3: score "abc", date in another format, code "D"; row 4: rate "x", guarantor code "2"
    assert (text.loc[2, "bureau_score"], text.loc[2, "origination_date"], text.loc[2, "vehicle_condition"]) == (
        "abc", "2020-01-01", "D")
    assert (text.loc[3, "annual_rate"], text.loc[3, "has_guarantor"]) == ("x", "2")
    assert pd.isna(text.loc[3, "bureau_score"])            # empty in the source: stays empty
    found = check_lease_tape(text, required=tape.canonical_fields).problems
    cells = {(int(r.row), r.column, r.value) for r in found.itertuples()}
    assert {(3, "bureau_score", "abc"), (3, "vehicle_condition", "D"), (4, "annual_rate", "x"),
            (4, "has_guarantor", "2")} <= cells


def test_unreadable_source_is_a_clear_error(tmp_path: Path) -> None:
    from features.exceptions import TapeError

    (tmp_path / "t.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(TapeError, match=r"column 'assetNumber' named by mapping regab-autoloan is not in the tape"):
        write_canonical(tmp_path / "t.csv", load_mapping("regab-autoloan"), tmp_path / "c.parquet")
    assert not (tmp_path / "c.parquet").exists()
