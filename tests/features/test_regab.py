"""ABS-EE XML streaming, code lists, built-in Reg AB II mappings and labels from reporting periods."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.exceptions import ConfigError, TapeError
from features.mapping import load_mapping, read_mapped
from features.regab import (
    describe_code,
    detect_asset_class,
    iter_regab_xml,
    read_regab_xml,
    sniff_asset_class,
)
from features.regab_labels import (
    DefaultRule,
    attach_labels,
    label_regab_tapes,
    regab_default_labels,
)

LOAN_NS = "http://www.sec.gov/edgar/document/absee/autoloan/assetdata"
LEASE_NS = "http://www.sec.gov/edgar/document/absee/autolease/assetdata"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "regab"
WORLD_OMNI = SHARED / "worldomni_2020a_autoloan_tape.csv"


def _xml(ns: str, assets: list[dict[str, str | list[str]]]) -> str:
    """A small ABS-EE asset-data document in the schema's namespace (our own test data)."""
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<assetData xmlns="{ns}">']
    for asset in assets:
        parts.append("  <assets>")
        for name, value in asset.items():
            for v in value if isinstance(value, list) else [value]:
                parts.append(f"    <{name}>{v}</{name}>")
        parts.append("  </assets>")
    parts.append("</assetData>\n")
    return "\n".join(parts)


def _loan(number: str, **extra: str | list[str]) -> dict[str, str | list[str]]:
    base: dict[str, str | list[str]] = {
        "assetTypeNumber": "SPONSOR", "assetNumber": number, "reportingPeriodBeginningDate": "07-01-2020",
        "reportingPeriodEndingDate": "07-31-2020", "originationDate": "08/2019", "originalLoanAmount": "25000.50",
        "originalLoanTerm": "72", "originalInterestRatePercentage": "0.0599", "vehicleManufacturerName": "TOYOTA",
        "vehicleNewUsedCode": "1", "vehicleModelYear": "2019", "vehicleTypeCode": "1", "vehicleValueAmount": "27000",
        "obligorCreditScore": "701", "coObligorIndicator": "false", "paymentToIncomePercentage": "0.091",
        "obligorGeographicLocation": "NC", "reportingPeriodActualEndBalanceAmount": "22000",
        "reportingPeriodScheduledPaymentAmount": "410.22", "currentDelinquencyStatus": "0",
        "subvented": "0", "obligorIncomeVerificationLevelCode": "2", "obligorEmploymentVerificationCode": "2",
    }
    base.update(extra)
    return base


@pytest.fixture()
def loan_xml(tmp_path: Path) -> Path:
    path = tmp_path / "absee_loan.xml"
    path.write_text(_xml(LOAN_NS, [
        _loan("A1"),
        _loan("A2", vehicleNewUsedCode="7", obligorCreditScore="NONE", subvented=["1", "2"]),
        _loan("A3", coObligorIndicator="true", paymentToIncomePercentage=""),
    ]), encoding="utf-8")
    return path


def test_xml_stream_reads_every_asset_namespace_agnostic(loan_xml: Path) -> None:
    chunks = list(iter_regab_xml(loan_xml, columns=["assetNumber", "subvented", "notAnElement"], chunksize=2))
    assert [len(c) for c in chunks] == [2, 1]
    assert list(chunks[1].index) == [2]
    whole = pd.concat(chunks)
    assert whole["assetNumber"].tolist() == ["A1", "A2", "A3"]
    assert whole["subvented"].tolist() == ["0", "1;2", "0"]  # repeated element joined
    assert whole["notAnElement"].isna().all()


def test_xml_seen_elements_and_all_columns(loan_xml: Path) -> None:
    seen: set[str] = set()
    frame = read_regab_xml(loan_xml)
    list(iter_regab_xml(loan_xml, columns=["assetNumber"], seen=seen))
    assert "obligorCreditScore" in seen and "obligorCreditScore" in frame.columns
    assert frame.loc[2, "paymentToIncomePercentage"] == ""


def test_xml_errors_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_text("<assetData><assets><assetNumber>1</assets>", encoding="utf-8")
    with pytest.raises(TapeError, match="broken.xml: not well-formed XML"):
        list(iter_regab_xml(broken))
    empty = tmp_path / "none.xml"
    empty.write_text(f'<assetData xmlns="{LOAN_NS}"></assetData>', encoding="utf-8")
    with pytest.raises(TapeError, match="no <assets> element"):
        list(iter_regab_xml(empty))


def test_asset_class_is_told_from_namespace_and_columns(loan_xml: Path, tmp_path: Path) -> None:
    assert sniff_asset_class(loan_xml) == "autoloan"
    lease = tmp_path / "lease.xml"
    lease.write_text(_xml(LEASE_NS, [{"assetNumber": "L1"}]), encoding="utf-8")
    assert sniff_asset_class(lease) == "autolease"
    assert detect_asset_class(["assetNumber", "originalLeaseTermNumber", "lesseeCreditScore"]) == "autolease"
    assert detect_asset_class(["assetNumber"]) is None


def test_code_lists_differ_between_asset_classes() -> None:
    assert describe_code("autoloan", "zeroBalanceCode", "4") == "charged off"
    assert describe_code("autolease", "zeroBalanceCode", "3") == "charged off"
    assert describe_code("autolease", "terminationIndicator", "3") == "repossession"
    with pytest.raises(ConfigError, match="code '7' is not defined; allowed: 1, 2"):
        describe_code("autoloan", "vehicleNewUsedCode", "7")


def test_regab_autoloan_mapping_on_xml_decodes_and_reports(loan_xml: Path) -> None:
    tape = read_mapped(loan_xml, load_mapping("regab-autoloan"))
    rec = tape.records
    assert rec["contract_id"].tolist() == ["A1", "A2", "A3"]
    assert rec.loc[0, "origination_date"] == pd.Timestamp("2019-08-01")
    assert rec.loc[0, "cutoff_date"] == pd.Timestamp("2020-07-31")
    assert rec.loc[0, "annual_rate"] == pytest.approx(0.0599)
    assert rec.loc[0, "vehicle_condition"] == "new"
    assert rec["has_guarantor"].tolist() == [False, False, True]
    assert pd.isna(rec.loc[1, "vehicle_condition"]) and pd.isna(rec.loc[1, "bureau_score"])
    assert pd.isna(rec.loc[2, "paymentToIncomePercentage"])  # empty element: missing, not a problem
    report = tape.decode_report()
    assert set(zip(report["column"], report["rule"], report["value"])) == {
        ("vehicleNewUsedCode", "code", "7"), ("obligorCreditScore", "type", "NONE")}
    assert (tape.problems["row"] == 2).all()


def test_xml_element_absent_everywhere_is_a_file_level_problem(tmp_path: Path) -> None:
    asset = _loan("B1")
    del asset["vehicleTypeCode"]
    path = tmp_path / "no_type.xml"
    path.write_text(_xml(LOAN_NS, [asset]), encoding="utf-8")
    tape = read_mapped(path, load_mapping("regab-autoloan"))
    absent = tape.problems[tape.problems["rule"] == "column_absent"]
    assert absent[["row", "column"]].values.tolist() == [[0, "vehicleTypeCode"]]
    assert len(tape.records) == 1


def test_regab_autolease_mapping_on_flat_csv(tmp_path: Path) -> None:
    path = tmp_path / "lease.csv"
    pd.DataFrame({
        "assetNumber": ["L1", "L2"], "originationDate": ["03/2018", "13/2018"],
        "reportingPeriodEndDate": ["06-30-2020", "06-30-2020"], "originalLeaseTermNumber": ["36", "39"],
        "acquisitionCost": ["31000", "28000"], "vehicleValueAmount": ["33000", "29500"],
        "contractResidualValue": ["18000", "16000"], "reportingPeriodScheduledPaymentAmount": ["399", "350"],
        "lesseeCreditScore": ["760", "690"], "coLesseePresentIndicator": ["true", "false"],
        "vehicleManufacturerName": ["NISSAN", "NISSAN"], "vehicleNewUsedCode": ["1", "1"],
        "currentDelinquencyStatus": ["0", "31"], "reportingPeriodEndingActualBalanceAmount": ["25000", "24000"],
        "paymentToIncomePercentage": ["0.08", "0.12"], "lesseeGeographicLocation": ["CA", "TX"],
        "vehicleModelYear": ["2018", "2018"], "vehicleTypeCode": ["3", "1"], "subvented": ["0", "2"],
        "lesseeIncomeVerificationLevelCode": ["2", "2"], "lesseeEmploymentVerificationCode": ["2", "2"],
        "unusedColumn": ["x", "y"],
    }).to_csv(path, index=False)
    tape = read_mapped(path, load_mapping("regab-autolease"))
    assert tape.records["residual_value"].tolist() == [18000.0, 16000.0]
    assert "unusedColumn" not in tape.records.columns
    assert tape.problems[["row", "column", "rule"]].values.tolist() == [[2, "originationDate", "date_format"]]


# --- labels -----------------------------------------------------------------------------------


def _periods(rows: list[tuple[str, str, dict[str, str]]]) -> pd.DataFrame:
    records = [{"assetNumber": a, "reportingPeriodEndingDate": d, "zeroBalanceCode": "", "currentDelinquencyStatus": "0",
                "chargedoffPrincipalAmount": "", "repossessedIndicator": "false", **extra} for a, d, extra in rows]
    return pd.DataFrame(records)


MONTHS = [f"{m:02d}-28-2020" for m in range(1, 13)] + ["01-28-2021"]


def test_labels_each_rule_and_censoring() -> None:
    rows: list[tuple[str, str, dict[str, str]]] = []
    for i, day in enumerate(MONTHS):
        rows.append(("good", day, {}))
        rows.append(("dpd", day, {"currentDelinquencyStatus": "95" if i == 4 else "0"}))
        if i <= 6:
            rows.append(("chargeoff", day, {"zeroBalanceCode": "4", "chargedoffPrincipalAmount": "900"}
                         if i == 6 else {}))
        if i <= 3:
            rows.append(("short", day, {}))
            rows.append(("repo", day, {"repossessedIndicator": "true"} if i == 3 else {}))
            rows.append(("prepaid", day, {"zeroBalanceCode": "1"} if i == 3 else {}))
    labels = regab_default_labels(_periods(rows), rule=DefaultRule(horizon_months=12)).set_index("contract_id")
    assert labels.loc["good", "label"] == 0 and not labels.loc["good", "censored"]
    assert labels.loc["dpd", "label"] == 1 and labels.loc["dpd", "reason"] == "dpd"
    assert labels.loc["dpd", "default_period"] == pd.Timestamp("2020-05-28")
    assert labels.loc["chargeoff", "reason"] == "charge_off+charged_off_amount"
    assert labels.loc["repo", "reason"] == "repossession"
    assert labels.loc["prepaid", "label"] == 0
    assert pd.isna(labels.loc["short", "label"]) and labels.loc["short", "censored"]
    lenient = regab_default_labels(_periods(rows), rule=DefaultRule(censored="good")).set_index("contract_id")
    assert lenient.loc["short", "label"] == 0


def test_labels_threshold_and_horizon_are_configurable() -> None:
    rows = [("late", d, {"currentDelinquencyStatus": "60" if i == 8 else "0"}) for i, d in enumerate(MONTHS)]
    assert regab_default_labels(_periods(rows)).loc[0, "label"] == 0
    assert regab_default_labels(_periods(rows), rule=DefaultRule(dpd_threshold=60)).loc[0, "label"] == 1
    short = regab_default_labels(_periods(rows), rule=DefaultRule(dpd_threshold=60, horizon_months=6))
    assert short.loc[0, "label"] == 0  # the event falls after the 6-month horizon
    late_start = regab_default_labels(_periods(rows), rule=DefaultRule(dpd_threshold=60), start="2020-10-01")
    # from October the event (September) is before the start and only 3 of 12 months are observed
    assert pd.isna(late_start.loc[0, "label"]) and bool(late_start.loc[0, "censored"])
    with pytest.raises(ConfigError, match="dpd_threshold must be a whole number of days >= 1; got 0"):
        DefaultRule(dpd_threshold=0)


def test_lease_codes_are_not_loan_codes() -> None:
    lease = pd.DataFrame({"assetNumber": ["L1", "L2"], "reportingPeriodEndDate": ["06-30-2020"] * 2,
                          "zeroBalanceCode": ["3", "4"], "terminationIndicator": ["", "3"],
                          "chargedOffAmount": ["", ""], "currentDelinquencyStatus": ["0", "0"]})
    labels = regab_default_labels(lease, rule=DefaultRule(horizon_months=None))
    assert labels["reason"].tolist() == ["charge_off", "repossession"]
    with pytest.raises(ConfigError, match="pass asset_class"):
        regab_default_labels(lease[["assetNumber", "zeroBalanceCode"]])


def test_labels_from_xml_series_attach_to_first_tape(tmp_path: Path) -> None:
    paths = []
    for i, end in enumerate(["07-31-2020", "08-31-2020", "09-30-2020"]):
        path = tmp_path / f"period{i}.xml"
        assets = [_loan("A1", reportingPeriodEndingDate=end),
                  _loan("A2", reportingPeriodEndingDate=end, currentDelinquencyStatus=str(45 * i))]
        path.write_text(_xml(LOAN_NS, assets), encoding="utf-8")
        paths.append(path)
    labels = label_regab_tapes(paths, rule=DefaultRule(horizon_months=2))
    assert labels["label"].tolist() == [0, 1]
    tape = attach_labels(read_mapped(paths[0], load_mapping("regab-autoloan")), labels)
    assert tape.target is not None and tape.target.tolist() == [0, 1]


def test_one_csv_with_several_periods(tmp_path: Path) -> None:
    rows = [("A1", d, {"currentDelinquencyStatus": "120" if i == 2 else "0"}) for i, d in enumerate(MONTHS)]
    rows += [("A2", d, {}) for d in MONTHS[:5]]
    path = tmp_path / "periods.csv"
    _periods(rows).drop(columns=["repossessedIndicator"]).assign(originalLoanTerm="60").to_csv(path, index=False)
    labels = label_regab_tapes([path], rule=DefaultRule(horizon_months=6))
    assert labels["contract_id"].tolist() == ["A1", "A2"] and labels["n_periods"].tolist() == [7, 5]
    assert labels.loc[0, "label"] == 1 and labels.loc[0, "reason"] == "dpd"
    assert pd.isna(labels.loc[1, "label"]) and bool(labels.loc[1, "censored"])  # seen 4 of 6 months


# --- the real World Omni 2020-A tape (skips where ../shared is absent) ---------------------------


@pytest.mark.skipif(not WORLD_OMNI.is_file(), reason=f"reference tape not present: {WORLD_OMNI}")
def test_world_omni_tape_through_regab_autoloan() -> None:
    tape = read_mapped(WORLD_OMNI, load_mapping("regab-autoloan"), chunksize=3000)
    rec = tape.records
    assert len(rec) == 7572 and list(rec.index) == list(range(7572))  # no row dropped, order kept
    assert rec["annual_rate"].between(0.0, 0.25).all()
    assert rec["bureau_score"].between(300, 900).all()
    assert rec["term_months"].between(12, 96).all()
    assert set(rec["vehicle_condition"]) == {"new", "used"}
    assert rec["origination_date"].notna().all() and (rec["origination_date"] <= rec["cutoff_date"]).all()
    report = tape.decode_report()
    # Every cell decodes; the one thing reported is the asset numbers, which the publisher's export
    # rounded (18-digit ids through floating point) so that 2,159 distinct ids remain for 7,572 loans.
    assert set(report["rule"]) == {"unique"} and set(report["column"]) == {"assetNumber"}
    assert rec["contract_id"].nunique() == 2159
    assert int(report["count"].sum()) == 7572 - 2159  # every repeat after the first, across chunks
