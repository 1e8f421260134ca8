"""Mapping files: loading and validation, decoding cells, reading CSV / Parquet through a mapping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.contract import check_lease_tape
from features.exceptions import ConfigError, TapeError
from features.mapping import (
    BUILTIN_MAPPINGS,
    apply_mapping,
    extra_input_name,
    iter_mapped,
    load_mapping,
    mapping_from_dict,
    read_mapped,
    spec_with_extras,
)
from features.schema import LEASE_FIELDS

LENDER_TOML = """
name = "lender-x"
id = "LoanNo"
target = "bad"
positive = ["Y"]

[fields]
bureau_score = "Score"
annual_rate = { column = "RatePct", scale = 0.01 }
origination_date = { column = "Opened", date_format = "%m/%Y" }
vehicle_condition = { column = "NewUsed", codes = { "N" = "new", "U" = "used" } }
has_guarantor = { column = "CoBorrower", codes = { "1" = true, "0" = false } }
term_months = "Term"

[features]
"Employment.Type" = { kind = "categorical" }
"ltv" = { kind = "numeric", monotone = 1 }
"""


def _lender_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "LoanNo": ["L1", "L2", "L3", "L4"],
        "bad": ["Y", "N", "", "n"],
        "Score": ["720", "655", "abc", ""],
        "RatePct": ["6.5", "12", "9.9", "x"],
        "Opened": ["03/2019", "12/2020", "2020-01-01", "07/2018"],
        "NewUsed": ["N", "U", "D", "u"],
        "CoBorrower": ["1", "0", "0", "2"],
        "Term": ["36", "48", "36.5", "60"],
        "Employment.Type": ["Salaried", "Self employed", "", "Salaried"],
        "ltv": ["0.8", "1.1", "n/a", "0.75"],
        "Ignored": ["a", "b", "c", "d"],
    })


@pytest.fixture()
def lender_mapping(tmp_path: Path):
    path = tmp_path / "lender.toml"
    path.write_text(LENDER_TOML, encoding="utf-8")
    return load_mapping(path)


def test_every_builtin_mapping_loads() -> None:
    for name in BUILTIN_MAPPINGS:
        mapping = load_mapping(name)
        assert mapping.name == name and mapping.fields


def test_native_mapping_is_the_identity_over_the_schema() -> None:
    native = load_mapping("native")
    assert [(r.field, r.column) for r in native.fields] == [(f.name, f.name) for f in LEASE_FIELDS]
    assert native.id_column == "contract_id" and not native.features


def test_apply_decodes_scales_codes_dates_and_target(lender_mapping) -> None:
    tape = apply_mapping(_lender_frame(), lender_mapping, source="lender.csv")
    rec = tape.records
    assert rec["contract_id"].tolist() == ["L1", "L2", "L3", "L4"]
    assert rec["annual_rate"].iloc[:3].tolist() == pytest.approx([0.065, 0.12, 0.099])
    assert rec.loc[0, "origination_date"] == pd.Timestamp("2019-03-01")
    assert rec["vehicle_condition"].tolist()[:2] == ["new", "used"]
    assert rec.loc[3, "vehicle_condition"] == "used"  # codes compare case-insensitively
    assert rec["has_guarantor"].tolist()[:3] == [True, False, False]
    assert rec["Employment.Type"].dtype == "string" and rec["ltv"].dtype == np.float64
    assert "Ignored" not in rec.columns
    assert tape.target is not None and tape.target.tolist()[:2] == [1, 0] and tape.target.iloc[3] == 0
    assert pd.isna(tape.target.iloc[2])
    assert tape.feature_kinds == {"Employment.Type": "categorical", "ltv": "numeric"}
    assert tape.monotone == {"Employment.Type": 0, "ltv": 1}


def test_every_undecodable_cell_is_reported_and_no_row_dropped(lender_mapping) -> None:
    tape = apply_mapping(_lender_frame(), lender_mapping, row_offset=100)
    assert len(tape.records) == 4
    got = set(zip(tape.problems["row"], tape.problems["column"], tape.problems["value"], tape.problems["rule"]))
    assert got == {
        (103, "bad", "", "target_missing"),
        (103, "Score", "abc", "type"),
        (104, "RatePct", "x", "type"),
        (103, "Opened", "2020-01-01", "date_format"),
        (103, "NewUsed", "D", "code"),
        (104, "CoBorrower", "2", "code"),
        (103, "Term", "36.5", "type"),
        (103, "ltv", "n/a", "numeric"),
    }
    assert pd.isna(tape.records.loc[2, "bureau_score"]) and pd.isna(tape.records.loc[3, "bureau_score"])
    report = tape.decode_report()
    assert list(report.columns) == ["column", "rule", "value", "count"] and report["count"].sum() == 8


def test_missing_column_names_file_column_and_mapping(lender_mapping) -> None:
    frame = _lender_frame().drop(columns=["Score"])
    with pytest.raises(TapeError, match=r"lender\.csv: column 'Score' named by mapping .*lender\.toml is not in"):
        apply_mapping(frame, lender_mapping, source="lender.csv")


def test_mapping_of_features_alone_uses_row_numbers_as_ids() -> None:
    mapping = mapping_from_dict({"features": {"x": {"kind": "numeric"}}}, origin="inline")
    tape = apply_mapping(pd.DataFrame({"x": ["1", "2"]}), mapping, row_offset=10)
    assert tape.records.columns.tolist() == ["contract_id", "x"]
    assert tape.ids.tolist() == ["11", "12"] and tape.target is None


def test_default_positive_and_target_override() -> None:
    mapping = mapping_from_dict({"fields": {"bureau_score": "s"}}, origin="inline").with_target("y")
    frame = pd.DataFrame({"s": ["700", "650", "600"], "y": ["1.0", "TRUE", "0"]})
    assert apply_mapping(frame, mapping).target.tolist() == [1, 1, 0]  # type: ignore[union-attr]


def test_age_is_counted_from_a_birth_date_to_origination() -> None:
    mapping = mapping_from_dict({"fields": {
        "lessee_age": {"column": "Date.of.Birth", "birth_date_format": "%d-%m-%y"},
        "origination_date": {"column": "DisbursalDate", "date_format": "%d-%m-%y"}}}, origin="inline")
    frame = pd.DataFrame({
        # born 1966 (strptime alone reads 2066), the day before and on the 30th birthday, born 2000,
        # an unreadable birth date, no origination date
        "Date.of.Birth": ["08-04-66", "16-03-88", "15-03-88", "01-01-00", "31-02-90", "01-01-80"],
        "DisbursalDate": ["10-08-18", "15-03-18", "15-03-18", "03-08-18", "03-08-18", ""],
    })
    tape = apply_mapping(frame, mapping)
    assert tape.records["lessee_age"].tolist()[:5] == [52, 29, 30, 18, pd.NA]
    assert pd.isna(tape.records["lessee_age"].iloc[5])
    assert tape.problems[["row", "column", "value", "rule"]].values.tolist() == [
        [5, "Date.of.Birth", "31-02-90", "date_format"]]
    four_digit = mapping_from_dict({"fields": {"lessee_age": {"column": "b", "birth_date_format": "%Y-%m-%d"},
                                               "origination_date": "o"}}, origin="inline")
    ages = apply_mapping(pd.DataFrame({"b": ["1950-06-01", "2030-01-01"], "o": ["2020-06-01", "2020-06-01"]}),
                         four_digit).records["lessee_age"]
    assert ages.tolist() == [70, -10]  # a four-digit year is taken as written
    # a year no lease date has (nanoseconds hold 1678-2261) is a reported problem, not a crash
    typo = apply_mapping(pd.DataFrame({"b": ["0966-01-01", "2300-01-01"], "o": ["2020-06-01", "0966-06-01"]}),
                         four_digit)
    assert typo.records["lessee_age"].isna().all()
    assert typo.problems[["row", "column", "rule"]].values.tolist() == [
        [1, "b", "date_format"], [2, "b", "date_format"], [2, "o", "type"]]
    dated = mapping_from_dict({"fields": {"origination_date": {"column": "o", "date_format": "%d/%m/%Y"}}},
                              origin="inline")
    assert apply_mapping(pd.DataFrame({"o": ["01/01/0966"]}), dated).problems["rule"].tolist() == ["date_format"]
    # the records keep the mapping's field order
    ordered = mapping_from_dict({"fields": {"origination_date": "o", "lessee_age": {
        "column": "b", "birth_date_format": "%Y-%m-%d"}, "term_months": "t"}}, origin="inline")
    frame3 = pd.DataFrame({"o": ["2020-06-01"], "b": ["1990-01-01"], "t": ["36"]})
    assert list(apply_mapping(frame3, ordered).records.columns) == [
        "contract_id", "origination_date", "lessee_age", "term_months"]


def test_spreadsheet_number_formats_are_read_in_the_sources_unit() -> None:
    mapping = mapping_from_dict({"fields": {"annual_rate": {"column": "r", "scale": 0.01}, "financed_amount": "a",
                                            "term_months": "t"},
                                 "features": {"u": {"kind": "numeric"}}}, origin="inline")
    frame = pd.DataFrame({"r": [" 13.56%", "7%", "12,5", "x"], "a": ["1,234,567.5", "12,34", "100000", ""],
                          "t": ["36", "36", "60", "1,2"], "u": ["45.3%", "1,000", "", "-2.5 %"]})
    tape = apply_mapping(frame, mapping)
    rec = tape.records
    assert rec["annual_rate"].tolist()[:2] == pytest.approx([0.1356, 0.07])  # the % goes, scale 0.01 stays
    assert rec["financed_amount"].iloc[0] == 1234567.5 and rec["u"].tolist()[:2] == [45.3, 1000.0]
    assert rec["u"].iloc[3] == -2.5
    # a decimal comma or a misplaced separator is no number: reported, never guessed
    assert tape.problems[["row", "column", "value"]].values.tolist() == [
        [2, "a", "12,34"], [3, "r", "12,5"], [4, "r", "x"], [4, "t", "1,2"]]


def test_a_gbk_export_is_read_through_a_mapping_that_declares_its_encoding(tmp_path: Path) -> None:
    tape = tmp_path / "export.csv"
    tape.write_bytes("合同编号,省份,评分\nC1,河南,650\nC2,四川,\n".encode("gb18030"))
    declared = {"id": "合同编号", "fields": {"province": {"column": "省份", "codes": {"河南": "Henan", "四川": "Sichuan"}},
                                         "bureau_score": "评分"}}
    read = read_mapped(tape, mapping_from_dict({**declared, "encoding": "gb18030"}, origin="inline"))
    assert read.records["province"].tolist() == ["Henan", "Sichuan"] and read.problems.empty
    assert read.records["contract_id"].tolist() == ["C1", "C2"]
    with pytest.raises(TapeError, match=r"export.csv: line 1 \(byte 0\) is not UTF-8 text .*encoding = \"gb18030\""):
        read_mapped(tape, mapping_from_dict(declared, origin="inline"))
    latin = tmp_path / "latin.csv"
    latin.write_bytes("id,score\nC1,650\nC\xe9,700\n".encode("latin-1"))
    with pytest.raises(TapeError, match="is not UTF-8 text .*declares its encoding"):
        read_mapped(latin, mapping_from_dict({"id": "id", "fields": {"bureau_score": "score"}}, origin="inline"))
    wrong = mapping_from_dict({"id": "id", "fields": {"bureau_score": "score"}, "encoding": "ascii"}, origin="inline")
    with pytest.raises(TapeError, match="not ascii text .*check the mapping's encoding"):
        read_mapped(latin, wrong)


def test_repeated_ids_are_reported_after_the_first() -> None:
    mapping = mapping_from_dict({"id": "k", "fields": {"bureau_score": "s"}}, origin="inline")
    tape = apply_mapping(pd.DataFrame({"k": ["a", "b", "a", ""], "s": ["1", "2", "3", "4"]}), mapping)
    assert tape.problems[["row", "rule"]].values.tolist() == [[3, "unique"], [4, "id_missing"]]


@pytest.mark.parametrize(("data", "message"), [
    ({"fields": {"credit_score": "x"}}, r"\[fields\] credit_score: unknown canonical field 'credit_score'"),
    ({"features": {"x": {"kind": "text"}}}, r"kind must be \"numeric\" or \"categorical\"; got 'text'"),
    ({"features": {"x": {"kind": "numeric", "monotone": 2}}}, r"monotone must be -1, 0 or 1; got 2"),
    ({"features": {"x": {"kind": "categorical", "monotone": 1}}}, r"categorical feature cannot be monotone"),
    ({"features": {"x": {"kind": "numeric", "direction": 1}}}, r"unknown key 'direction'; allowed keys: kind"),
    ({"fields": {"bureau_score": "s"}, "sheet": 1}, r"mapping inline: sheet: unknown key; allowed keys: name"),
    ({"fields": {"annual_rate": {"column": "r", "scale": -1}}}, r"'scale' must be a positive number; got -1"),
    ({"fields": {"term_months": {"column": "t", "date_format": "%Y"}}}, r"'date_format' applies to date fields"),
    ({"fields": {"vehicle_condition": {"column": "c", "codes": {"1": "nearly new"}}}},
     r"code '1' maps to 'nearly new'; vehicle_condition must be one of new, used"),
    ({"fields": {"bureau_score": {"col": "s"}}}, r"unknown key 'col'; allowed keys: column"),
    ({"fields": {"lessee_age": {"column": "dob", "birth_date_format": "%d-%m-%y"}}},
     r"\[fields\] lessee_age: an age from a birth date needs origination_date mapped too"),
    ({"fields": {"term_months": {"column": "t", "birth_date_format": "%Y"}}},
     r"'birth_date_format' applies to lessee_age only; not to term_months"),
    ({"fields": {"lessee_age": {"column": "a", "birth_date_format": "dd-mm-yy"}, "origination_date": "o"}},
     r"'birth_date_format' must be a strptime format with a year \(%y or %Y\) such as '%d-%m-%y'; got 'dd-mm-yy'"),
    ({"fields": {"lessee_age": {"column": "a", "birth_date_format": "%d-%m"}, "origination_date": "o"}},
     r"must be a strptime format with a year"),
    ({"format": "xlsx", "fields": {"bureau_score": "s"}}, r"format: must be one of csv, parquet, regab-xml"),
    ({"encoding": "klingon", "fields": {"bureau_score": "s"}}, r"encoding: unknown text encoding 'klingon'"),
    ({"encoding": "gbk", "format": "parquet", "fields": {"bureau_score": "s"}},
     r"encoding: applies to CSV tapes only; format is parquet"),
    ({"id": "a", "fields": {"contract_id": "b"}}, r"give the id column once"),
    ({"name": "empty"}, r"maps no canonical field and declares no \[features\]"),
    ({"name": 5, "fields": {"bureau_score": "s"}}, r"mapping inline: name: must be a non-empty text; got 5"),
    ({"description": ["a"], "fields": {"bureau_score": "s"}}, r"description: must be a non-empty text; got \['a'\]"),
    ({"features": {"bureau_score": {"kind": "numeric"}}}, r"may not carry a canonical field name"),
    ({"target": "bad", "features": {"bad": {"kind": "numeric"}}}, r"target 'bad' is also listed in \[features\]"),
])
def test_invalid_mappings_fail_clearly(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        mapping_from_dict(data, origin="inline")


def test_load_mapping_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file and not a built-in mapping"):
        load_mapping(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML"):
        load_mapping(bad)


def test_read_csv_and_parquet_through_a_mapping_chunked_or_whole(tmp_path: Path, lender_mapping) -> None:
    frame = _lender_frame()
    csv = tmp_path / "lender.csv"
    frame.to_csv(csv, index=False)
    whole = read_mapped(csv, lender_mapping)
    chunks = list(iter_mapped(csv, lender_mapping, chunksize=3))
    assert [len(c.records) for c in chunks] == [3, 1]
    joined = read_mapped(csv, lender_mapping, chunksize=3)
    pd.testing.assert_frame_equal(whole.records, joined.records)
    pd.testing.assert_frame_equal(whole.problems, joined.problems)
    parquet = tmp_path / "lender.parquet"
    typed = frame.assign(Score=pd.to_numeric(frame["Score"], errors="coerce"))
    typed.to_parquet(parquet, index=False)
    from_parquet = read_mapped(parquet, lender_mapping)
    assert from_parquet.records["bureau_score"].tolist()[:2] == [720.0, 655.0]
    with pytest.raises(TapeError, match=r"lender\.csv: column 'Score' named by mapping"):
        frame.drop(columns=["Score"]).to_csv(csv, index=False)
        read_mapped(csv, lender_mapping)


def test_mapped_records_feed_the_contract_check(lender_mapping) -> None:
    tape = apply_mapping(_lender_frame(), lender_mapping)
    mapped = [c for c in tape.canonical_fields]
    result = check_lease_tape(tape.records[mapped], required=mapped)
    # decode problems left empty cells; the contract then reports them (bureau_score may be empty)
    assert set(result.problems["column"]) <= set(mapped)
    assert result.problems.query("column == 'annual_rate'")["rule"].tolist() == ["not_null"]


def test_docs_list_every_column_of_the_regab_mappings() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "mappings.md").read_text(encoding="utf-8")
    for name in ("regab-autoloan", "regab-autolease"):
        mapping = load_mapping(name)
        for rule in mapping.fields:
            assert f"`{rule.field}`" in doc and f"`{rule.column}`" in doc, (name, rule)
        for feat in mapping.features:
            assert f"`{feat.column}`" in doc, (name, feat)


def test_target_override_cannot_name_an_input() -> None:
    mapping = mapping_from_dict({"features": {"bad": {"kind": "numeric"}, "ok": {"kind": "numeric"}}}, origin="m")
    with pytest.raises(ConfigError, match=r"m: target 'bad' is also listed in \[features\]"):
        mapping.with_target("bad")
    assert mapping.with_target("ok2").target == "ok2"


def test_a_target_that_feeds_a_field_or_names_the_id_is_refused() -> None:
    """The outcome as the source of a canonical field is a model input too (a walkthrough's challengers
    and a registered model reached AUC 1.0 that way)."""
    data = {"id": "app", "fields": {"vehicle_condition": {"column": "used", "codes": {"1": "used", "0": "new"}},
                                   "monthly_income": "income"}}
    mapping = mapping_from_dict(data, origin="m")
    with pytest.raises(ConfigError, match=r"m: target 'used' is also the column of field vehicle_condition in "
                                          r"\[fields\]; the outcome cannot be a model input"):
        mapping.with_target("used")
    with pytest.raises(ConfigError, match=r"m: target 'app' is also the id column"):
        mapping.with_target("app")
    with pytest.raises(ConfigError, match=r"m: target 'income' is also the column of field monthly_income"):
        mapping_from_dict({**data, "target": "income"}, origin="m")
    assert mapping.with_target("bad").target == "bad"


def test_extras_become_specification_features_named_x_in_snake_case() -> None:
    from features.spec import load_spec, spec_from_dict

    mapping = mapping_from_dict({"features": {
        "Status of existing checking account": {"kind": "categorical"},
        "mths_since_last_delinq": {"kind": "numeric", "monotone": -1}}}, origin="m")
    assert extra_input_name("Employment.Type") == "x_employment_type"
    spec = spec_with_extras(load_spec(), mapping.features)
    assert spec is not None
    assert spec.names[-2:] == ["x_status_of_existing_checking_account", "x_mths_since_last_delinq"]
    feat = spec.feature("x_mths_since_last_delinq")
    assert (feat.source, feat.inputs, feat.direction, feat.display_en) == (
        "mapping", ("x_mths_since_last_delinq",), -1, "mths_since_last_delinq")
    assert spec_from_dict(spec.to_dict()).features == spec.features  # stored in bundle.json and read back
    alone = spec_with_extras(None, mapping.features)
    assert alone is not None and alone.names == spec.names[-2:]
    with pytest.raises(ConfigError, match=r"mapping m: \[features\]: 'A b' and 'a-b' both become the model input "
                                          r"'x_a_b'; rename one of them"):
        mapping_from_dict({"features": {"A b": {"kind": "numeric"}, "a-b": {"kind": "numeric"}}}, origin="m")
    bad = spec.to_dict()
    bad["feature"][-1]["inputs"] = ["bureau_score"]
    with pytest.raises(ConfigError, match="a feature from a mapping is named x_... and is its own one input"):
        spec_from_dict(bad)


def test_mapping_files_that_python_would_choke_on_are_refused_in_one_line(tmp_path: Path) -> None:
    """A walkthrough found tracebacks for each of these (UnicodeDecodeError, 'bad directive', ArrowInvalid)."""
    latin = tmp_path / "latin.toml"
    latin.write_bytes('name = "café"\n[fields]\nfinanced_amount = "Amt"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin.toml: not UTF-8 text \(byte 11: b'\\xe9'\); save the mapping"):
        load_mapping(latin)
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b'\xef\xbb\xbfid = "Id"\n[fields]\nfinanced_amount = "Amt"\n')  # as some editors save it
    assert load_mapping(bom).id == "Id"
    for rule, said in (({"column": "d", "date_format": "%Q-%Y"}, "'date_format' must be a strptime format"),
                       ({"column": "d", "date_format": "%"}, "'date_format' must be a strptime format")):
        with pytest.raises(ConfigError, match=said):
            mapping_from_dict({"fields": {"origination_date": rule}}, origin="m")
    with pytest.raises(ConfigError, match="'birth_date_format' must be a strptime format with a year"):
        mapping_from_dict({"fields": {"lessee_age": {"column": "b", "birth_date_format": "%Q-%y"}}}, origin="m")
    with pytest.raises(ConfigError, match=r"code '0' maps to 'maybe', which is not a bool value \(true or false\)"):
        mapping_from_dict({"fields": {"has_guarantor": {"column": "g", "codes": {"0": "maybe", "1": True}}}},
                          origin="m")
    with pytest.raises(ConfigError, match=r"code '36' maps to 'three years', which is not a int value \(a number\)"):
        mapping_from_dict({"fields": {"term_months": {"column": "t", "codes": {"36": "three years"}}}}, origin="m")
    assert mapping_from_dict({"fields": {"term_months": {"column": "t", "codes": {"3Y": 36}}}}, origin="m")
    with pytest.raises(ConfigError, match=r"code 'x' maps to '36.5', which is not a int value"):
        mapping_from_dict({"fields": {"term_months": {"column": "t", "codes": {"x": "36.5"}}}}, origin="m")
    # the load check is the cells' decoder: a code meaning "empty" is fine, as it is in a cell
    assert mapping_from_dict({"fields": {"bureau_score": {"column": "s", "codes": {"0": ""}}}}, origin="m")


def test_a_csv_row_with_more_fields_than_the_header_is_refused_through_a_mapping_too(tmp_path: Path) -> None:
    tape = tmp_path / "shift.csv"
    tape.write_text("Id,Amt,Score,Name\n1,25000,700,a\n2,25,000,700,b\n3,30000,650,c\n", encoding="utf-8")
    mapping = mapping_from_dict({"id": "Id", "fields": {"financed_amount": "Amt", "bureau_score": "Score"}},
                                origin="m")  # Name is not read: the shifted row used to lose 700 and b silently
    with pytest.raises(TapeError, match="shift.csv: not a well-formed CSV file: .*Expected 4 fields in line 3, saw 5"):
        read_mapped(tape, mapping)
    with pytest.raises(TapeError, match=r"shift.csv: cannot be read as Parquet \(the mapping's format"):
        read_mapped(tape, mapping_from_dict({"id": "Id", "format": "parquet", "fields": {"financed_amount": "Amt"}},
                                            origin="m"))


def test_typed_parquet_dates_read_through_a_mapping_as_their_text_does(tmp_path: Path) -> None:
    text = pd.DataFrame({"id": ["a", "b", "c"], "opened": ["2024-06-30", "2024-07-01", None]})
    typed = text.assign(opened=pd.to_datetime(text["opened"]))  # a timestamp column, NaT for the empty cell
    typed.to_parquet(tmp_path / "typed.parquet", index=False)
    iso = mapping_from_dict({"id": "id", "fields": {"origination_date": "opened"}}, origin="m")
    declared = mapping_from_dict({"id": "id", "fields": {"origination_date": {"column": "opened",
                                                                               "date_format": "%d/%m/%Y"}}}, origin="m")
    want = apply_mapping(text, iso).records["origination_date"]
    for mapping in (iso, declared):  # a format declared for a text export does not apply to typed dates
        got = read_mapped(tmp_path / "typed.parquet", mapping)
        assert got.problems.empty  # before: every date a 'type' problem ('2024-06-30 00:00:00'), NaT one too
        pd.testing.assert_series_equal(got.records["origination_date"], want)


def test_a_fields_own_missing_texts_read_as_empty_in_text_and_typed_tapes() -> None:
    mapping = mapping_from_dict({"id": "id", "fields": {"bureau_score": {"column": "s", "missing": ["0"]},
                                                        "term_months": "t"}}, origin="m")
    text = apply_mapping(pd.DataFrame({"id": ["a", "b", "c"], "s": ["0", "650", " 0 "], "t": ["0", "36", "0"]}),
                         mapping)
    typed = apply_mapping(pd.DataFrame({"id": ["a", "b", "c"], "s": [0.0, 650.0, np.nan], "t": [0, 36, 0]}), mapping)
    for tape in (text, typed):
        assert tape.problems.empty
        assert tape.records["bureau_score"].isna().tolist() == [True, False, True]
        assert tape.records["term_months"].tolist() == [0, 36, 0]   # another column's 0 stays a 0
    with pytest.raises(ConfigError, match=r"\[fields\] bureau_score: 'missing' must be a list of non-empty texts"):
        mapping_from_dict({"fields": {"bureau_score": {"column": "s", "missing": [0]}}}, origin="m")


def test_a_code_wins_over_the_mappings_missing_texts() -> None:
    """无 is 'no score' in one column and 'no guarantor' (a false) in another."""
    mapping = mapping_from_dict({"id": "id", "missing": ["无"], "fields": {
        "bureau_score": "s", "has_guarantor": {"column": "g", "codes": {"有": True, "无": False}}}}, origin="m")
    tape = apply_mapping(pd.DataFrame({"id": ["a", "b", "c"], "s": ["无", "650", "无"], "g": ["有", "无", ""]}), mapping)
    assert tape.problems.empty
    assert tape.records["bureau_score"].isna().tolist() == [True, False, True]
    assert tape.records["has_guarantor"].tolist()[:2] == [True, False] and pd.isna(tape.records["has_guarantor"][2])


def test_full_width_numbers_read_as_their_ascii_forms() -> None:
    mapping = mapping_from_dict({"id": "id", "fields": {"financed_amount": "a", "term_months": "t",
                                                        "annual_rate": {"column": "r", "scale": 0.01}}}, origin="m")
    tape = apply_mapping(pd.DataFrame({"id": ["a", "b"], "a": ["１０９，４００．００", "50000"], "t": ["３６", "24"],
                                       "r": ["13.56％", "9"]}), mapping)
    assert tape.problems.empty
    assert tape.records["financed_amount"].tolist() == [109_400.0, 50_000.0]
    assert tape.records["term_months"].tolist() == [36, 24]
    assert tape.records["annual_rate"].round(6).tolist() == [0.1356, 0.09]


def test_a_wrong_chinese_encoding_names_the_line_and_the_likely_one(tmp_path: Path) -> None:
    import codecs

    rare = tmp_path / "gb18030.csv"   # 𠮷 is in GB18030, not in GBK
    rare.write_bytes("id,s\na,1\nb,𠮷\n".encode("gb18030"))
    bom = tmp_path / "bom.csv"
    bom.write_bytes(codecs.BOM_UTF8 + "id,s\na,无\n".encode())
    for path, encoding, said in ((rare, "gbk", r"not gbk text at line 3 .*try encoding = \"gb18030\""),
                                 (bom, "gb18030", r"not gb18030 text at line 2 .*UTF-8 byte-order mark")):
        with pytest.raises(TapeError, match=said):
            read_mapped(path, mapping_from_dict({"id": "id", "encoding": encoding, "fields": {"bureau_score": "s"}},
                                                origin="m"))
