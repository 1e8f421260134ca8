"""Out-of-time split of a labelled book by origination vintage.

The rule, in words:

1. Every contract gets a vintage: its origination period (quarter by default; month, half-year or
   year on request), e.g. ``2021Q3``.
2. Labels come from :func:`features.labels.default_labels` (a 24-month horizon by default). Only
   contracts whose outcome is known (``observed``) are used.
3. A vintage is *fully labelled* when at least ``min_observed_share`` of its contracts are observed.
   Recent vintages whose contracts have not yet had the horizon to run are left out whole: using
   only their observed rows would keep the early defaults and drop the survivors, and so overstate
   their default rate.
4. Among the fully labelled vintages, taken from the latest backwards: whole vintages go to
   **test** until it holds at least ``test_share`` of the labelled rows, then whole vintages go to
   **validation** until it holds at least ``validation_share``; every earlier fully labelled
   vintage is **train**.

So the model is tuned on validation vintages and judged on later ones it never saw, the way it
will be used on the next pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from training.errors import TrainingError

__all__ = ["SplitConfig", "SplitPart", "VintageSplit", "split_by_vintage", "vintage_of"]

Period = Literal["month", "quarter", "half", "year"]
_LABEL_COLUMNS = ("default", "observed")


@dataclass(frozen=True)
class SplitConfig:
    """How to cut the book.

    Parameters
    ----------
    period : {"month", "quarter", "half", "year"}
        Length of one origination vintage. Default ``"quarter"``.
    test_share, validation_share : float
        Minimum fraction of the labelled rows (of fully labelled vintages) that the test and the
        validation vintages hold; whole vintages are added until it is reached. Default 0.2 each.
    min_observed_share : float
        Fraction of a vintage's contracts that must have an observed outcome for the vintage to
        count as fully labelled. Default 0.95.
    """

    period: Period = "quarter"
    test_share: float = 0.2
    validation_share: float = 0.2
    min_observed_share: float = 0.95

    def __post_init__(self) -> None:
        if self.period not in ("month", "quarter", "half", "year"):
            raise TrainingError(f"split period must be month, quarter, half or year; got {self.period!r}")
        for name in ("test_share", "validation_share"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise TrainingError(f"split {name} must be a fraction strictly between 0 and 1; got {value!r}")
        if self.test_share + self.validation_share >= 1.0:
            raise TrainingError(f"split test_share + validation_share must leave rows to train on; got "
                                f"{self.test_share} + {self.validation_share}")
        if not 0.0 < self.min_observed_share <= 1.0:
            raise TrainingError(f"split min_observed_share must be in (0, 1]; got {self.min_observed_share!r}")


@dataclass(frozen=True)
class SplitPart:
    """One side of the split.

    Attributes
    ----------
    records : DataFrame
        Canonical lease records (the book's columns), in book order.
    y : ndarray of int, shape (n,)
        1 when the contract defaulted within the horizon.
    vintage : ndarray of str, shape (n,)
        Vintage label of each row.
    """

    records: pd.DataFrame
    y: np.ndarray
    vintage: np.ndarray

    @property
    def vintages(self) -> list[str]:
        """The distinct vintages in this part, oldest first."""
        return sorted(set(self.vintage.tolist()))

    def __len__(self) -> int:
        return len(self.records)


@dataclass(frozen=True)
class VintageSplit:
    """Train, validation and test parts plus what was left out and why.

    ``left_out`` counts the book's contracts in no part: ``in_excluded_vintages`` (a vintage not yet
    fully labelled) and ``not_observed_in_kept_vintages`` (a contract whose outcome window is not seen).
    """

    train: SplitPart
    validation: SplitPart
    test: SplitPart
    excluded: dict[str, str] = field(default_factory=dict)
    config: SplitConfig = field(default_factory=SplitConfig)
    left_out: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        """Row counts, default rates and vintages of each part (for logging)."""
        out: dict[str, object] = {"period": self.config.period}
        for name in ("train", "validation", "test"):
            part: SplitPart = getattr(self, name)
            out[f"{name}_rows"] = len(part)
            out[f"{name}_default_rate"] = round(float(part.y.mean()), 6) if len(part) else None
            out[f"{name}_vintages"] = f"{part.vintages[0]}..{part.vintages[-1]}" if len(part) else ""
        out["excluded_vintages"] = dict(self.excluded)
        out["rows_left_out"] = dict(self.left_out)  # contracts of the book in no part, and why
        return out


def vintage_of(origination_date: pd.Series, period: Period = "quarter") -> pd.Series:
    """Vintage label of each origination date.

    Labels sort in time order: ``2021-07`` (month), ``2021Q3`` (quarter), ``2021H2`` (half),
    ``2021`` (year).

    Raises
    ------
    TrainingError
        If a date cannot be parsed (the message names the row and value).
    """
    dates = pd.to_datetime(origination_date, errors="coerce")
    bad = dates.isna()
    if bad.any():
        where = bad[bad].index[0]
        raise TrainingError(f"origination_date at row {where} is not a date: {origination_date.loc[where]!r}")
    year = dates.dt.year.astype(str)
    if period == "month":
        return year + "-" + dates.dt.month.map("{:02d}".format)
    if period == "quarter":
        return year + "Q" + dates.dt.quarter.astype(str)
    if period == "half":
        return year + "H" + np.where(dates.dt.month <= 6, "1", "2")
    return year


def _take(book: pd.DataFrame, labelled: pd.DataFrame, vintage: pd.Series, chosen: list[str]) -> SplitPart:
    mask = (vintage.isin(chosen) & labelled["observed"]).to_numpy()
    return SplitPart(records=book.loc[mask].reset_index(drop=True),
                     y=labelled.loc[mask, "default"].to_numpy(dtype=np.int64),
                     vintage=vintage.loc[mask].to_numpy(dtype=str))


def split_by_vintage(book: pd.DataFrame, labels: pd.DataFrame, config: SplitConfig | None = None) -> VintageSplit:
    """Split a labelled book out of time by origination vintage (see the module text for the rule).

    Parameters
    ----------
    book : DataFrame
        Canonical lease records with at least ``contract_id`` and ``origination_date``.
    labels : DataFrame
        Output of :func:`features.labels.default_labels`: ``contract_id``, ``default`` (0/1) and
        ``observed`` (bool). Contracts of the book without a label row count as not observed.
    config : SplitConfig, optional
        Period and sizes; defaults to :class:`SplitConfig()`.

    Raises
    ------
    TrainingError
        If a column is missing, or there are too few fully labelled vintages for three parts.
    """
    config = config or SplitConfig()
    for name, frame, cols in (("book", book, ("contract_id", "origination_date")),
                              ("labels", labels, ("contract_id", *_LABEL_COLUMNS))):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise TrainingError(f"{name} lacks column(s) {', '.join(missing)} needed for the vintage split")
    book = book.reset_index(drop=True)
    lab = labels.drop_duplicates("contract_id").set_index("contract_id")
    labelled = pd.DataFrame({
        "observed": lab["observed"].reindex(book["contract_id"]).fillna(False).astype(bool).to_numpy(),
        "default": lab["default"].reindex(book["contract_id"]).fillna(0).astype(np.int64).to_numpy(),
    })
    vintage = vintage_of(book["origination_date"], config.period)
    share = labelled["observed"].groupby(vintage).mean().sort_index()
    rows = labelled["observed"].groupby(vintage).sum().sort_index()
    full = [v for v in share.index if share[v] >= config.min_observed_share]
    contracts = labelled["observed"].groupby(vintage).size()
    excluded = {v: f"only {share[v]:.1%} of contracts observed ({int(rows[v]):,} of {int(contracts[v]):,}; "
                   f"< {config.min_observed_share:.0%})"
                for v in share.index if v not in full}
    total = float(rows[full].sum())
    latest_first = sorted(full, reverse=True)
    test: list[str] = []
    validation: list[str] = []
    for v in latest_first:
        if rows[test].sum() < config.test_share * total:
            test.append(v)
        elif rows[validation].sum() < config.validation_share * total:
            validation.append(v)
    train = [v for v in full if v not in test and v not in validation]
    if not train or not validation or not test:
        raise TrainingError(
            f"too few fully labelled {config.period} vintages for train / validation / test: "
            f"{len(full)} fully labelled of {len(share)} ({', '.join(full) or 'none'}); "
            f"a vintage needs >= {config.min_observed_share:.0%} of its contracts observed; a book spanning a few "
            f"months can be split by month (poolgate train --period month), and one without vintages measured by "
            f"cross-validation (poolgate evaluate)")
    left_out = {"in_excluded_vintages": int(contracts.drop(full).sum()),
                "not_observed_in_kept_vintages": int((contracts[full] - rows[full]).sum())}
    return VintageSplit(train=_take(book, labelled, vintage, train),
                        validation=_take(book, labelled, vintage, validation),
                        test=_take(book, labelled, vintage, test),
                        excluded=excluded, config=config, left_out=left_out)
