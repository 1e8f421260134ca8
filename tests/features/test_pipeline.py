"""FeatureBuilder: derived values, missing values, fixed categories, errors, persistence, sklearn habits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from features.exceptions import ConfigError, NotFittedError, TapeError
from features.io import read_table
from features.pipeline import FeatureBuilder
from features.spec import load_spec
from tests.models.book import make_book


@pytest.fixture(scope="module")
def book() -> pd.DataFrame:
    return make_book(400, seed=5)[0]


@pytest.fixture(scope="module")
def fitted(book: pd.DataFrame) -> FeatureBuilder:
    return FeatureBuilder().fit(book)


def _row(book: pd.DataFrame, **values: object) -> pd.DataFrame:
    one = book.iloc[[0]].copy()
    for k, v in values.items():
        one[k] = pd.Series([v], index=one.index, dtype=object if isinstance(v, str) else None)
    return one


def test_output_columns_follow_the_spec(fitted: FeatureBuilder, book: pd.DataFrame) -> None:
    X = fitted.transform(book)
    spec = load_spec()
    assert list(X.columns) == spec.names == list(fitted.get_feature_names_out())
    assert X.index.equals(book.index)
    for name in spec.categorical:
        assert isinstance(X[name].dtype, pd.CategoricalDtype)
    assert all(X[n].dtype == "float64" for n in spec.names if n not in spec.categorical)


def test_derived_ratios_on_a_literal_row(fitted: FeatureBuilder, book: pd.DataFrame) -> None:
    row = _row(book, vehicle_price=200_000.0, financed_amount=150_000.0, down_payment=50_000.0,
               residual_value=20_000.0, monthly_rent=4_000.0, monthly_income=10_000.0,
               existing_debt_payment=2_000.0, lessee_age=40, term_months=36, vehicle_age_months=24)
    X = fitted.transform(row).iloc[0]
    assert X["ltv"] == pytest.approx(0.75)
    assert X["down_payment_ratio"] == pytest.approx(0.25)
    assert X["payment_to_income"] == pytest.approx(0.4)
    assert X["debt_to_income"] == pytest.approx(0.6)
    assert X["residual_ratio"] == pytest.approx(0.1)
    assert X["lessee_age_at_maturity"] == pytest.approx(43.0)
    assert X["vehicle_age_at_maturity"] == pytest.approx(60.0)


def test_zero_income_is_capped_not_infinite(fitted: FeatureBuilder, book: pd.DataFrame) -> None:
    X = fitted.transform(_row(book, monthly_income=0.0)).iloc[0]
    assert X["payment_to_income"] == 5.0
    assert X["debt_to_income"] == 10.0


def test_thin_file_keeps_the_score_missing_and_flags_it(fitted: FeatureBuilder, book: pd.DataFrame) -> None:
    X = fitted.transform(_row(book, bureau_score=np.nan))
    assert np.isnan(X["bureau_score"].iloc[0])
    assert X["thin_file"].iloc[0] == 1.0
    assert fitted.transform(_row(book, bureau_score=700.0))["thin_file"].iloc[0] == 0.0


def test_categories_are_fixed_at_fit_and_unseen_become_missing(fitted: FeatureBuilder, book: pd.DataFrame) -> None:
    X = fitted.transform(_row(book, vehicle_make="Zeekr Prototype", province="Tibet"))
    assert pd.isna(X["vehicle_make"].iloc[0]) and pd.isna(X["province"].iloc[0])
    assert list(X["vehicle_make"].cat.categories) == fitted.categories_["vehicle_make"]
    assert list(fitted.transform(book.iloc[:3])["province"].cat.categories) == fitted.categories_["province"]


def test_rare_levels_become_missing_with_min_level_count(book: pd.DataFrame) -> None:
    frame = book.copy()
    frame.loc[frame.index[0], "vehicle_make"] = "Hongqi"
    builder = FeatureBuilder(min_level_count=2).fit(frame)
    assert "Hongqi" not in builder.categories_["vehicle_make"]
    assert "Hongqi" in FeatureBuilder().fit(frame).categories_["vehicle_make"]
    with pytest.raises(ConfigError, match=r"min_level_count must be an integer >= 1, got 0"):
        FeatureBuilder(min_level_count=0).fit(frame)


def test_text_cells_as_read_from_csv_give_the_same_inputs(fitted: FeatureBuilder, book: pd.DataFrame) -> None:
    text = book.astype(object).where(book.notna(), None).map(lambda v: None if v is None else str(v))
    typed, from_text = fitted.transform(book), fitted.transform(text)
    pd.testing.assert_frame_equal(typed, from_text)


def test_ids_and_extra_columns_are_ignored(fitted: FeatureBuilder, book: pd.DataFrame) -> None:
    other = book.assign(contract_id="X", lessee_id="Y", current_dpd=400, something_else=1.0)
    pd.testing.assert_frame_equal(fitted.transform(book), fitted.transform(other))


def test_missing_columns_are_named(fitted: FeatureBuilder, book: pd.DataFrame) -> None:
    with pytest.raises(TapeError, match=r"transform: missing canonical columns \['monthly_income'\], needed by "
                                         r"features \['debt_to_income', 'monthly_income', 'payment_to_income'\]"):
        fitted.transform(book.drop(columns=["monthly_income"]))
    with pytest.raises(TapeError, match=r"fit: missing canonical columns \['bureau_score'\]"):
        FeatureBuilder().fit(book.drop(columns=["bureau_score"]))
    with pytest.raises(TapeError, match=r"expected a pandas DataFrame of canonical lease records, got ndarray"):
        fitted.transform(book.to_numpy())


def test_not_fitted_is_an_error(book: pd.DataFrame) -> None:
    with pytest.raises(NotFittedError, match=r"FeatureBuilder is not fitted yet; call fit\(records\) first"):
        FeatureBuilder().transform(book)
    with pytest.raises(NotFittedError, match=r"not fitted yet; nothing to save"):
        FeatureBuilder().to_dict()


def test_json_round_trip_gives_identical_inputs(fitted: FeatureBuilder, book: pd.DataFrame) -> None:
    data = json.loads(json.dumps(fitted.to_dict()))
    again = FeatureBuilder.from_dict(data)
    pd.testing.assert_frame_equal(fitted.transform(book), again.transform(book))
    assert again.ranges_.keys() == fitted.ranges_.keys()
    with pytest.raises(ConfigError, match=r"not a saved FeatureBuilder"):
        FeatureBuilder.from_dict({"format": "something else"})


def test_clone_and_params(fitted: FeatureBuilder, book: pd.DataFrame) -> None:
    fresh = clone(fitted)
    assert not hasattr(fresh, "categories_")
    assert fresh.get_params() == {"spec": None, "min_level_count": 1}
    pd.testing.assert_frame_equal(fresh.fit_transform(book), fitted.transform(book))


def test_ranges_are_learned_for_numeric_inputs(fitted: FeatureBuilder, book: pd.DataFrame) -> None:
    lo, hi = fitted.ranges_["ltv"]
    ltv = book["financed_amount"] / book["vehicle_price"]
    assert lo == pytest.approx(ltv.min()) and hi == pytest.approx(ltv.max())
    assert "province" not in fitted.ranges_


def test_the_committed_sample_book_and_pool_go_through() -> None:
    """CSV text of the real sample: every row comes out once, defects become missing, never an error."""
    root = Path(__file__).resolve().parents[2] / "data_samples"
    book = read_table(root / "contracts.parquet")
    builder = FeatureBuilder().fit(book)
    X = builder.transform(book)
    assert len(X) == len(book)
    assert X["ltv"].notna().all() and X["ltv"].between(0, 1).all()
    assert 0.02 < X["thin_file"].mean() < 0.5
    assert X["bureau_score"].isna().sum() == X["thin_file"].sum()
    pool = read_table(root / "pool.parquet")
    Xp = builder.transform(pool)
    assert Xp.index.equals(pool.index)
    assert Xp["monthly_income"].isna().sum() >= 1  # 'N/A' and '8500 CNY' incomes are defects, not crashes
