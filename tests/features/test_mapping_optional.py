"""Optional mapping columns: partial Reg AB extracts and a user's own ``optional = [...]``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from features.exceptions import ConfigError, TapeError
from features.mapping import (
    apply_mapping,
    iter_mapped,
    load_mapping,
    mapped_spec,
    mapping_from_dict,
    read_mapped,
)
from features.spec import load_spec
from tests.features.test_regab import WORLD_OMNI, _loan

LENDER = {
    "name": "lender",
    "id": "LoanNo",
    "target": "bad",
    "fields": {"bureau_score": "Score", "term_months": "Term"},
    "features": {"ltv": {"kind": "numeric"}, "Region": {"kind": "categorical"}},
}


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"LoanNo": ["A", "B"], "bad": ["1", "0"], "Score": ["700", "650"], "Term": ["36", "48"],
                         "ltv": ["0.8", "0.9"], "Region": ["N", "S"]})


def test_optional_true_covers_every_column_but_the_id_and_the_target() -> None:
    mapping = mapping_from_dict({**LENDER, "optional": True}, origin="lender")
    assert mapping.optional == {"Score", "Term", "ltv", "Region"}
    assert mapping_from_dict(LENDER, origin="lender").optional == frozenset()
    assert load_mapping("regab-autoloan").optional >= {"obligorEmploymentVerificationCode", "originationDate"}
    assert "assetNumber" not in load_mapping("regab-autoloan").optional
    assert "contract_id" not in load_mapping("native").optional


@pytest.mark.parametrize(("value", "message"), [
    (["Nope"], r"optional: 'Nope' is not a column of \[fields\] or \[features\]"),
    (["LoanNo"], r"optional: 'LoanNo' is the id column"),
    (["bad"], r"optional: 'bad' is the target column"),
    ("Score", r"optional: must be true, false or a list of source column names; got 'Score'"),
])
def test_a_bad_optional_key_is_a_config_error(value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        mapping_from_dict({**LENDER, "optional": value}, origin="lender")


def test_an_absent_optional_column_is_left_out_and_named() -> None:
    mapping = mapping_from_dict({**LENDER, "optional": ["Score", "Region"]}, origin="lender")
    tape = apply_mapping(_frame().drop(columns=["Score", "Region"]), mapping, source="lender.csv")
    assert tape.absent == ("Score", "Region")
    assert tape.records.columns.tolist() == ["contract_id", "term_months", "ltv"]
    assert [r.field for r in tape.mapping.fields] == ["term_months"] and tape.feature_kinds == {"ltv": "numeric"}
    assert tape.problems.empty and tape.target is not None and tape.target.tolist() == [1, 0]
    full = apply_mapping(_frame(), mapping)  # a tape that holds them reads them
    assert full.absent == () and "bureau_score" in full.records.columns


def test_an_absent_column_not_marked_optional_stays_a_one_line_error() -> None:
    mapping = mapping_from_dict({**LENDER, "optional": ["Region"]}, origin="lender")
    with pytest.raises(TapeError, match=r"^lender\.csv: column 'Score' named by mapping lender is not in the tape "
                       r"\(also absent: Term\); mark it optional"):
        apply_mapping(_frame().drop(columns=["Score", "Term", "Region"]), mapping, source="lender.csv")


def test_a_tape_with_none_of_the_mapped_columns_is_refused() -> None:
    mapping = mapping_from_dict({**LENDER, "optional": True}, origin="lender")
    with pytest.raises(TapeError, match=r"the tape holds none of the columns mapping lender reads"):
        apply_mapping(_frame()[["LoanNo", "bad"]], mapping, source="t.csv")


def test_without_reads_two_tapes_on_the_same_inputs() -> None:
    mapping = mapping_from_dict({**LENDER, "optional": True}, origin="lender")
    tape = apply_mapping(_frame(), mapping).without(["ltv", "Term", "Unknown"])
    assert tape.absent == ("ltv", "Term") and tape.records.columns.tolist() == ["contract_id", "bureau_score",
                                                                               "Region"]


def _regab_extract(tmp_path: Path, drop: list[str], suffix: str = ".csv") -> Path:
    frame = pd.DataFrame([_loan(str(1000 + i)) for i in range(6)]).drop(columns=drop)
    path = tmp_path / f"extract{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_builtin_regab_mapping_reads_a_partial_extract(tmp_path: Path, suffix: str) -> None:
    drop = ["obligorEmploymentVerificationCode", "originalInterestRatePercentage"]
    path = _regab_extract(tmp_path, drop, suffix)
    chunks = list(iter_mapped(path, load_mapping("regab-autoloan"), chunksize=4))
    assert len(chunks) == 2 and all(c.absent == ("originalInterestRatePercentage",
                                                 "obligorEmploymentVerificationCode") for c in chunks)
    tape = read_mapped(path, load_mapping("regab-autoloan"))
    assert len(tape.records) == 6 and tape.problems.empty
    assert "annual_rate" not in tape.records and "obligorEmploymentVerificationCode" not in tape.records
    assert tape.records["bureau_score"].tolist() == [701] * 6


def test_mapped_spec_leaves_out_an_extra_column_without_values() -> None:
    mapping = mapping_from_dict(LENDER, origin="lender")
    spec, dropped = mapped_spec(load_spec(), {"bureau_score", "ltv"}, mapping.features)
    assert spec is not None and "x_ltv" in spec.names and "x_region" not in spec.names
    assert "x_region" in dropped
    spec, _ = mapped_spec(load_spec(), {"bureau_score", "x_region"}, mapping.features)  # canonical copy names
    assert spec is not None and "x_region" in spec.names and "x_ltv" not in spec.names


def test_validate_json_names_the_absent_columns_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from poolgate.cli import main

    path = _regab_extract(tmp_path, ["obligorEmploymentVerificationCode", "vehicleModelYear"])
    main(["validate", "--tape", str(path), "--mapping", "regab-autoloan", "--json"])
    out, err = capsys.readouterr()
    assert json.loads(out)["absent_columns"] == ["vehicleModelYear", "obligorEmploymentVerificationCode"]
    lines = [line for line in err.splitlines() if "obligorEmploymentVerificationCode" in line]
    expected = (f"{path}: 2 columns of mapping regab-autoloan not in the tape, left out (optional): "
                "vehicleModelYear, obligorEmploymentVerificationCode")
    assert lines == [expected]


def test_a_loan_tape_read_as_leases_is_pointed_to_the_loan_mapping(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from poolgate.cli import main

    path = _regab_extract(tmp_path, ["vehicleModelYear"])
    main(["validate", "--tape", str(path), "--mapping", "regab-autolease", "--json"])
    err = capsys.readouterr().err
    assert ("the tape holds 20 of the 21 columns of the built-in mapping regab-autoloan and 10 of mapping "
            "regab-autolease's: is it a tape for --mapping regab-autoloan?") in err
    main(["validate", "--tape", str(path), "--mapping", "regab-autoloan", "--json"])  # the right one: no hint
    assert "is it a tape for" not in capsys.readouterr().err


def test_evaluate_leaves_out_what_only_the_test_tape_lacks(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          caplog: pytest.LogCaptureFixture) -> None:
    from poolgate.cli import main
    from tests.training.test_evaluate import _tape_frame

    train, test, mapping = tmp_path / "train.csv", tmp_path / "test.csv", tmp_path / "toy.toml"
    _tape_frame(400, 5).to_csv(train, index=False)
    _tape_frame(200, 6).drop(columns=["pti"]).to_csv(test, index=False)
    mapping.write_text('target = "bad"\noptional = ["pti"]\n[fields]\nbureau_score = "score"\n'
                       '[features]\npti = { kind = "numeric", monotone = 1 }\n"region code" = { kind = "categorical" }\n',
                       encoding="utf-8")
    assert main(["evaluate", "--tape", str(train), "--test-tape", str(test), "--mapping", str(mapping),
                 "--threads", "1", "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["absent_columns"] == {"train": [], "test": ["pti"]}
    assert "x_pti" not in result["inputs"] and "x_region_code" in result["inputs"]
    assert "columns held by only one of the two tapes, left out of both: pti" in caplog.text
    assert "test.csv: 1 column of mapping" in err


@pytest.mark.skipif(not WORLD_OMNI.is_file(), reason=f"reference tape not present: {WORLD_OMNI}")
def test_world_omni_extract_without_an_optional_column(tmp_path: Path) -> None:
    frame = pd.read_csv(WORLD_OMNI, dtype=str, nrows=500).drop(columns=["obligorEmploymentVerificationCode"])
    frame.to_csv(tmp_path / "extract.csv", index=False)
    tape = read_mapped(tmp_path / "extract.csv", load_mapping("regab-autoloan"))
    assert tape.absent == ("obligorEmploymentVerificationCode",) and len(tape.records) == 500
