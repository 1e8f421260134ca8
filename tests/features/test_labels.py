"""Default labels from tiny literal performance histories."""

from __future__ import annotations

import pandas as pd
import pytest

from features.exceptions import ConfigError, TapeError
from features.labels import LABEL_COLUMNS, default_labels


def _history(rows: list[tuple[str, int, int, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["contract_id", "months_on_book", "dpd", "status"])


def _label(frame: pd.DataFrame, cid: str) -> dict[str, object]:
    return frame.set_index("contract_id").loc[cid].to_dict()


def test_ninety_days_past_due_within_the_horizon_is_a_default() -> None:
    perf = _history([("A", 1, 0, "current"), ("A", 2, 15, "current"), ("A", 3, 45, "current"),
                     ("A", 4, 75, "current"), ("A", 5, 95, "defaulted")])
    out = default_labels(perf, horizon_months=24)
    assert list(out.columns) == LABEL_COLUMNS
    assert _label(out, "A") == {"default": 1, "observed": True, "months_observed": 5}


def test_defaulted_status_counts_even_below_the_dpd_threshold() -> None:
    perf = _history([("B", 1, 0, "current"), ("B", 2, 40, "defaulted")])
    assert _label(default_labels(perf), "B")["default"] == 1


def test_default_after_the_horizon_is_not_counted_but_the_horizon_is_observed() -> None:
    perf = _history([("C", m, 0, "current") for m in range(1, 13)] + [("C", 13, 91, "defaulted")])
    out = default_labels(perf, horizon_months=12)
    assert _label(out, "C") == {"default": 0, "observed": True, "months_observed": 12}


def test_running_contract_short_of_the_horizon_is_not_observed() -> None:
    perf = _history([("D", m, 0, "current") for m in range(1, 11)])
    assert _label(default_labels(perf, horizon_months=24), "D") == {
        "default": 0, "observed": False, "months_observed": 10}


def test_prepaid_or_matured_before_the_horizon_is_an_observed_non_default() -> None:
    perf = _history([("E", 1, 0, "current"), ("E", 2, 0, "prepaid"),
                     ("F", 1, 0, "current"), ("F", 2, 0, "terminated")])
    out = default_labels(perf, horizon_months=24)
    assert _label(out, "E") == {"default": 0, "observed": True, "months_observed": 2}
    assert _label(out, "F")["observed"]


def test_transient_delinquency_that_cures_is_not_a_default() -> None:
    perf = _history([("G", 1, 0, "current"), ("G", 2, 20, "current"), ("G", 3, 50, "current"),
                     ("G", 4, 0, "current")])
    out = default_labels(perf, horizon_months=4)
    assert _label(out, "G") == {"default": 0, "observed": True, "months_observed": 4}


def test_threshold_is_a_parameter() -> None:
    perf = _history([("H", 1, 0, "current"), ("H", 2, 65, "current"), ("H", 3, 0, "current")])
    assert _label(default_labels(perf, horizon_months=3, dpd_threshold=60), "H")["default"] == 1
    assert _label(default_labels(perf, horizon_months=3, dpd_threshold=90), "H")["default"] == 0


def test_csv_text_and_any_row_order_give_the_same_labels() -> None:
    perf = _history([("A", 2, 95, "defaulted"), ("B", 1, 0, "current"), ("A", 1, 30, "current")])
    text = perf.astype(str)
    pd.testing.assert_frame_equal(default_labels(text), default_labels(perf))
    assert default_labels(perf)["contract_id"].tolist() == ["A", "B"]


def test_missing_column_is_named() -> None:
    with pytest.raises(TapeError, match="lacks column.*dpd"):
        default_labels(pd.DataFrame({"contract_id": ["A"], "months_on_book": [1], "status": ["current"]}))


def test_non_numeric_dpd_is_reported_with_row_and_value() -> None:
    perf = _history([("A", 1, 0, "current")]).astype(str)
    perf.loc[0, "dpd"] = "ten"
    with pytest.raises(TapeError, match=r"row 1, column 'dpd': value 'ten'"):
        default_labels(perf)


def test_a_negative_dpd_refuses_the_history_as_validate_does() -> None:
    perf = _history([("A", 1, 0, "current"), ("A", 2, -30, "current")])
    with pytest.raises(TapeError, match=r"row 2, column 'dpd': value -30(\.0)? is below 0 \(rule range"):
        default_labels(perf)


@pytest.mark.parametrize("kwargs, message", [({"horizon_months": 0}, "horizon_months must be >= 1"),
                                             ({"dpd_threshold": 0}, "dpd_threshold must be >= 1")])
def test_bad_parameters(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        default_labels(_history([("A", 1, 0, "current")]), **kwargs)
