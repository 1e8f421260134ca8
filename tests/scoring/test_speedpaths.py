"""The fast paths of screening give exactly what the plain, cell-by-cell versions give."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from features.contract import coerce_column
from features.schema import LEASE_FIELDS
from scoring.concentration import Drop
from scoring.decisions import _json_list, _rule_items, decision_frame, decision_schema
from scoring.policy import load_policy
from scoring.reasons import _top_order, reason_codes, reason_text, value_text
from scoring.screen import _reject_rows

POLICY = load_policy()


def _inputs(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Model inputs with repeated values, both zeros, missing cells, a category and an integer column."""
    pti = rng.choice([0.62, 0.3, -0.0, 0.0, np.nan], size=n)
    return pd.DataFrame({
        "payment_to_income": pti,
        "ltv": rng.random(n).round(3),
        "province": pd.Categorical(rng.choice(np.array(["Henan", "Hebei", None], dtype=object), size=n)),
        "term_months": pd.array(rng.choice([12, 24, 36], size=n), dtype="Int64"),
    })


def _check_against_cells(policy: object, n: int = 400, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    inputs = _inputs(n, rng)
    names = list(inputs.columns)
    contrib = rng.normal(size=(n, len(names))).round(1)  # rounding makes ties
    rc = reason_codes(contrib, inputs, names, {"ltv": "Loan to value"}, policy, -28.85)  # type: ignore[arg-type]
    assert (rc.features != "").any() and (rc.features == "").any()
    for i in range(n):
        for j in range(rc.features.shape[1]):
            name = rc.features[i, j]
            if not name:
                assert rc.texts[i, j] == "" and rc.value_texts[i, j] == "" and rc.values[i, j] is None
                continue
            cell = inputs[name].astype(object).iloc[i]
            value = None if pd.isna(cell) else cell
            assert rc.values[i, j] == value or (value is None and rc.values[i, j] is None)
            assert rc.value_texts[i, j] == value_text(value)
            display = {"ltv": "Loan to value"}.get(name, name)
            assert rc.texts[i, j] == reason_text(policy, name, value, display, rc.logodds[i, j],  # type: ignore[arg-type]
                                                 rc.points[i, j])


def test_reason_texts_shared_by_equal_values_match_each_cell_on_its_own() -> None:
    _check_against_cells(POLICY)


def test_templates_quoting_the_contribution_are_worded_row_by_row() -> None:
    reasons = dataclasses.replace(POLICY.reasons, default={"en": "{display} {value} added {logodds:.2f}",
                                                           "zh": "{display} {value} {points:.1f}"})
    _check_against_cells(dataclasses.replace(POLICY, reasons=reasons), seed=1)


def test_zero_and_negative_zero_keep_their_own_texts() -> None:
    inputs = pd.DataFrame({"ltv": [0.0, -0.0]})
    rc = reason_codes(np.array([[0.5], [0.5]]), inputs, ["ltv"], {}, POLICY, -20.0)
    assert rc.value_texts[:, 0].tolist() == ["0.0", "-0.0"]
    assert rc.texts[:, 0].tolist() == ["loan-to-value 0.0% is high", "loan-to-value -0.0% is high"]


def test_top_order_is_a_stable_descending_sort() -> None:
    rng = np.random.default_rng(3)
    c = rng.integers(-2, 3, size=(500, 7)).astype(float)  # many ties
    np.testing.assert_array_equal(_top_order(c, 3), np.argsort(-c, axis=1, kind="stable")[:, :3])
    c[0, 2] = np.nan  # not finite: the sort itself decides
    np.testing.assert_array_equal(_top_order(c, 3), np.argsort(-c, axis=1, kind="stable")[:, :3])


def test_rule_json_items_are_what_json_dumps_writes() -> None:
    codes = ["age", 'quote"d', "tab\there", "承租人"]
    messages = ["a \\ backslash", "line\nbreak", "\x01 control", "年龄 17 岁"]
    items = _rule_items(codes, messages)
    assert "[" + ",".join(items) + "]" == _json_list([{"code": c, "message": m} for c, m in zip(codes, messages)])
    assert _rule_items([1], ["m"]) == ['{"code":1,"message":"m"}']  # not text: the json module writes it


def test_parquet_date_objects_convert_like_their_text() -> None:
    field = next(f for f in LEASE_FIELDS if f.name == "origination_date")
    dates = pd.Series([dt.date(2024, 1, 31), None, dt.date(2025, 6, 30)], dtype=object)
    text = pd.Series(["2024-01-31", "", "2025-06-30"], dtype=object)
    fast, bad_fast = coerce_column(dates, field)
    slow, bad_slow = coerce_column(text, field)
    pd.testing.assert_series_equal(fast, slow)
    assert not bad_fast.any() and not bad_slow.any()
    mixed = pd.Series([dt.date(2024, 1, 31), "not a date"], dtype=object)  # not all dates: the text path
    values, bad = coerce_column(mixed, field)
    assert bad.tolist() == [False, True] and values.isna().tolist() == [False, True]


def _decisions(rows: list[int], statuses: list[str]) -> pa.Table:
    n = len(rows)
    data: dict[str, pa.Array] = {}
    for f in decision_schema(1):
        if f.name == "row":
            data[f.name] = pa.array(rows, pa.int64())
        elif f.name == "status":
            data[f.name] = pa.array(statuses, pa.string())
        elif f.name == "failed_rules":
            data[f.name] = pa.array(["[]"] * n, pa.string())
        elif f.type == pa.string():
            data[f.name] = pa.array(["x"] * n, pa.string())
        else:
            data[f.name] = pa.array([0.01] * n, f.type)
    return pa.Table.from_pydict(data, schema=decision_schema(1))


def test_concentration_drops_edit_only_the_dropped_rows() -> None:
    table = _decisions([4, 5, 6], ["admit", "admit", "refer"])
    drops = {5: Drop(5, "conc_make", "make BYD would hold 31.0% of the pool balance, above 30%")}
    out = _reject_rows(table, {r: (d.code, d.message) for r, d in drops.items()}, np.array([5]))
    frame = decision_frame(out)
    assert frame["status"].tolist() == ["admit", "reject", "refer"]
    assert frame["decided_by"].tolist() == ["x", "conc_make", "x"]
    assert json.loads(frame["failed_rules"].iat[1]) == [{"code": "conc_make", "message": drops[5].message}]
    assert frame["failed_rules"].iat[0] == "[]"
    assert out.schema == table.schema
    assert out.drop_columns(["status", "decided_by", "failed_rules"]).equals(
        table.drop_columns(["status", "decided_by", "failed_rules"]))
    assert _reject_rows(table, {99: ("conc_make", "")}, np.array([99])) is table


@pytest.mark.parametrize("kind", ["string", "float64", "int64"])
def test_decision_frame_has_the_declared_dtypes(kind: str) -> None:
    frame = decision_frame(_decisions([1], ["admit"]))
    want = {"string": pd.StringDtype(), "float64": np.dtype("float64"), "int64": np.dtype("int64")}[kind]
    cols = [f.name for f in decision_schema(1) if str(f.type) == {"string": "string", "float64": "double",
                                                                   "int64": "int64"}[kind]]
    assert cols and all(frame[c].dtype == want for c in cols)
