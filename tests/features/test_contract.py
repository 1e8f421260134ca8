"""The data contract: every kind of bad input is reported as (row, column, value, rule)."""

from __future__ import annotations

import pandas as pd
import pytest

from features.contract import check_lease_tape, check_performance
from features.schema import LEASE_FIELDS, field_catalogue_markdown

GOOD = {
    "contract_id": "C1", "lessee_id": "L1", "dealer_id": "D1", "origination_date": "2023-01-15",
    "cutoff_date": "2024-06-30", "lease_type": "sale_leaseback", "term_months": "36",
    "vehicle_price": "120000", "down_payment": "24000", "financed_amount": "96000", "residual_value": "0",
    "annual_rate": "0.12", "monthly_rent": "3200", "lessee_age": "34", "monthly_income": "9000",
    "employment_type": "salaried", "years_in_job": "5", "province": "Henan", "city_tier": "3",
    "bureau_score": "650", "bureau_inquiries_6m": "1", "existing_debt_payment": "1000",
    "has_guarantor": "false", "vehicle_make": "BYD", "vehicle_condition": "new", "is_nev": "true",
    "vehicle_age_months": "0", "mileage_km": "", "gps_installed": "true", "months_on_book": "17",
    "instalments_paid": "17", "current_dpd": "0", "worst_dpd": "0", "outstanding_principal": "55000",
}


def tape(*overrides: dict[str, str]) -> pd.DataFrame:
    rows = []
    for i, o in enumerate(overrides):
        row = dict(GOOD, contract_id=f"C{i + 1}")
        row.update(o)
        rows.append(row)
    return pd.DataFrame(rows, dtype=object).replace({"": None})


def problems(frame: pd.DataFrame) -> set[tuple[int, str, str, str]]:
    p = check_lease_tape(frame).problems
    return {(int(r.row), r.column, r.value, r.rule) for r in p.itertuples()}


def test_clean_tape_has_no_problems() -> None:
    result = check_lease_tape(tape({}, {}))
    assert result.ok
    assert not result.invalid.any()
    assert result.records["term_months"].tolist() == [36, 36]
    assert pd.isna(result.records["mileage_km"]).all()


def test_missing_required_column_is_a_file_level_problem() -> None:
    frame = tape({}).drop(columns=["monthly_income"])
    p = check_lease_tape(frame).problems
    assert p.iloc[0]["row"] == 0 and p.iloc[0]["rule"] == "required_column"
    assert "required column 'monthly_income' is missing" in p.iloc[0]["message"]


@pytest.mark.parametrize(
    "override, expected",
    [
        ({"term_months": "three years"}, (1, "term_months", "three years", "type")),
        ({"term_months": "36.5"}, (1, "term_months", "36.5", "type")),
        ({"origination_date": "15/01/2023"}, (1, "origination_date", "15/01/2023", "type")),
        ({"has_guarantor": "maybe"}, (1, "has_guarantor", "maybe", "type")),
        ({"down_payment": "-5"}, (1, "down_payment", "-5", "range")),
        ({"annual_rate": "12"}, (1, "annual_rate", "12", "range")),
        ({"lessee_age": "12"}, (1, "lessee_age", "12", "range")),
        ({"financed_amount": "250000"}, (1, "financed_amount", "250000", "ltv_max")),
        ({"residual_value": "96000"}, (1, "residual_value", "96000", "residual_max")),
        ({"monthly_rent": "100"}, (1, "monthly_rent", "100", "rent_covers_principal")),
        ({"origination_date": "2024-07-01", "months_on_book": "0", "instalments_paid": "0"},
         (1, "cutoff_date", "2024-06-30", "date_order")),
        ({"months_on_book": "5", "instalments_paid": "5"}, (1, "months_on_book", "5", "months_on_book_dates")),
        ({"instalments_paid": "18"}, (1, "instalments_paid", "18", "instalments_max")),
        ({"current_dpd": "30", "worst_dpd": "10"}, (1, "worst_dpd", "10", "worst_dpd_min")),
        ({"province": "Atlantis"}, (1, "province", "Atlantis", "category")),
        ({"lease_type": "operating"}, (1, "lease_type", "operating", "category")),
        ({"monthly_income": ""}, (1, "monthly_income", "", "not_null")),
        ({"years_in_job": "30", "lessee_age": "30"}, (1, "years_in_job", "30", "job_tenure_age")),
    ],
)
def test_each_rule_names_row_column_value(override: dict[str, str], expected: tuple[int, str, str, str]) -> None:
    found = problems(tape(override))
    assert expected in found


def test_financing_above_the_price_is_a_credit_question_not_a_data_error() -> None:
    # taxes, insurance and fees financed: loan-to-value 1.08 is a real contract (the policy may refuse it)
    assert check_lease_tape(tape({"financed_amount": "130000", "monthly_rent": "4200"})).ok
    assert check_lease_tape(tape({"financed_amount": "240000", "monthly_rent": "7800"})).ok  # exactly 2
    assert {r for *_, r in problems(tape({"financed_amount": "240001", "monthly_rent": "7800"}))} == {"ltv_max"}


def test_thin_file_lessee_may_have_no_bureau_score() -> None:
    assert check_lease_tape(tape({"bureau_score": ""})).ok


def test_duplicated_contract_ids_flag_every_copy() -> None:
    frame = tape({}, {}, {})
    frame.loc[2, "contract_id"] = "C1"
    found = problems(frame)
    assert (1, "contract_id", "C1", "unique") in found and (3, "contract_id", "C1", "unique") in found
    assert not any(r == 2 for r, *_ in found)


def test_row_numbers_continue_across_chunks_and_other_rows_stay_valid() -> None:
    result = check_lease_tape(tape({}, {"term_months": "x"}), row_offset=1000)
    assert result.problems["row"].tolist() == [1002]
    assert result.invalid.tolist() == [False, True]


def test_typed_parquet_values_are_accepted() -> None:
    frame = check_lease_tape(tape({})).records
    assert check_lease_tape(frame).ok


def test_performance_table_rules() -> None:
    perf = pd.DataFrame({
        "contract_id": ["C1", "C1", "C2"], "month": ["2024-01-31", "2024-01-31", "2024-02-30"],
        "months_on_book": ["1", "1", "1"], "dpd": ["0", "0", "0"], "amount_due": ["3200"] * 3,
        "amount_paid": ["3200"] * 3, "outstanding_principal": ["90000"] * 3,
        "status": ["current", "current", "late"],
    })
    found = {(int(r.row), r.column, r.rule) for r in check_performance(perf).problems.itertuples()}
    assert {(1, "month", "unique"), (2, "month", "unique"), (3, "month", "type"), (3, "status", "category")} <= found


def test_field_catalogue_is_generated_from_the_schema() -> None:
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "fields.md").read_text(encoding="utf-8")
    assert field_catalogue_markdown() in doc, "docs/fields.md is stale: run python -m features.schema"
    assert all(f"`{f.name}`" in doc for f in LEASE_FIELDS)


def test_months_on_book_is_capped_at_term_for_ended_contracts() -> None:
    ended = {"origination_date": "2019-01-15", "term_months": "36", "months_on_book": "36",
             "instalments_paid": "36", "outstanding_principal": "0"}
    assert check_lease_tape(tape(ended)).ok
    assert (1, "months_on_book", "30", "months_on_book_dates") in problems(
        tape(dict(ended, months_on_book="30", instalments_paid="30")))


def test_blank_text_is_missing_in_any_source() -> None:
    frame = tape({})
    frame["bureau_score"] = "  "           # JSON request or Parquet text column: blank means missing
    frame["monthly_income"] = ""
    found = problems(frame)
    assert (1, "monthly_income", "", "not_null") in found
    assert not any(c == "bureau_score" for _, c, _, _ in found)


def test_a_chunked_reader_closes_its_file_when_the_consumer_stops(tmp_path) -> None:
    from features.io import iter_table

    path = tmp_path / "pool.csv"
    tape({}, {}, {}).to_csv(path, index=False)
    chunks = iter_table(path, chunksize=1)
    next(chunks)
    chunks.close()  # pytest turns an unclosed-file ResourceWarning into an error


def test_first_rows_reports_the_row_an_id_was_first_met_on_in_earlier_chunks() -> None:
    import numpy as np

    from features.contract import FirstRows

    seen = FirstRows()
    first = seen.earlier(pd.Series(["A", "B", None, "A", " "]), np.array([1, 2, 3, 4, 5]))
    assert first.tolist() == [0, 0, 0, 0, 0]          # repeats within a chunk are check_lease_tape's job
    first = seen.earlier(pd.Series(["C", "A", " B ", None, "D"]), np.array([6, 7, 8, 9, 10]))
    assert first.tolist() == [0, 1, 2, 0, 0]          # ids are trimmed like the contract trims them
    assert seen.earlier(pd.Series(["D", "C"]), np.array([11, 12])).tolist() == [10, 6]


def test_dates_pandas_cannot_hold_are_invalid_cells_not_a_crash() -> None:
    """A year-2300 date (text or a Parquet date) is reported, not an OutOfBoundsDatetime traceback."""
    import datetime as dt

    frame = tape({}, {"origination_date": "2300-01-01"}, {})
    assert (2, "origination_date", "2300-01-01", "type") in problems(frame)
    typed = frame.copy()
    typed["origination_date"] = [dt.date(2020, 1, 1), dt.date(2300, 1, 1), None]
    result = check_lease_tape(typed)
    p = result.problems
    bad = p[(p["column"] == "origination_date") & (p["rule"] == "type")]
    assert list(bad["row"]) == [2] and "from 1678 to 2261" in bad["message"].iloc[0]
    assert bool(result.invalid[1]) and pd.isna(result.records["origination_date"].iloc[1])


def test_a_count_no_64_bit_integer_holds_is_an_invalid_cell_not_a_crash() -> None:
    frame = tape({}, {"lessee_age": "1e19"}, {"current_dpd": "9223372036854775808"})
    found = problems(frame)
    assert (2, "lessee_age", "1e19", "type") in found
    assert (3, "current_dpd", "9223372036854775808", "type") in found


def test_a_zoned_parquet_timestamp_is_read_as_its_local_date() -> None:
    frame = tape({}, {}, {})
    zoned = frame.copy()
    zoned["cutoff_date"] = pd.to_datetime(frame["cutoff_date"]).dt.tz_localize("Asia/Shanghai")
    plain, read = check_lease_tape(frame), check_lease_tape(zoned)
    assert read.records["cutoff_date"].equals(plain.records["cutoff_date"])
    assert list(read.invalid) == list(plain.invalid)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_column_named_twice_in_the_header_refuses_the_tape(tmp_path, suffix: str) -> None:  # type: ignore[no-untyped-def]
    """pandas would read the second copy as 'gps_installed.1' and keep the first, wrong one, without a word."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from features.exceptions import TapeError
    from features.io import iter_table, read_table, tape_columns
    from features.mapping import load_mapping, read_mapped

    path = tmp_path / f"twice{suffix}"
    if suffix == ".csv":
        path.write_text("contract_id,gps_installed,term_months,gps_installed\nC1,false,36,true\n", encoding="utf-8")
    else:
        pq.write_table(pa.table([["C1"], [False], [36], [True]],
                                names=["contract_id", "gps_installed", "term_months", "gps_installed"]), path)
    said = f"{path}: column 'gps_installed' is in the header twice (columns 2 and 4); a tape names each column once"
    for read in (read_table, tape_columns, lambda p: list(iter_table(p, chunksize=1)),
                 lambda p: read_mapped(p, load_mapping("native"))):
        with pytest.raises(TapeError) as info:
            read(path)
        assert str(info.value) == said
