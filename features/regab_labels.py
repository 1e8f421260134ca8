"""Default labels from a series of SEC Reg AB II (ABS-EE) reporting periods.

A single ABS-EE tape is a snapshot: it says how each asset stands at the end of one reporting
period. A series of tapes of the same trust (or one file holding several periods) is a monthly
performance history, from which :func:`regab_default_labels` derives one label per asset:

* the asset **defaults** (label 1) when, in a reporting period inside the horizon, any enabled rule
  holds: its zero-balance code says charged off (auto loan code 4, auto lease code 3); a charged-off
  amount above zero (``chargedoffPrincipalAmount`` / ``chargedOffAmount``); the vehicle was
  repossessed (loan ``repossessedIndicator`` true, lease ``terminationIndicator`` 3); or
  ``currentDelinquencyStatus`` (days past due) is at least the threshold;
* it is **good** (label 0) when it did not default and was either observed to the end of the horizon
  or closed in the horizon with a non-default zero-balance code (loan 1 prepaid or matured, lease 1
  terminated);
* otherwise it is **censored** (last seen before the horizon ended, or removed by a repurchase, a
  third-party sale or a servicing transfer): its label is empty, or 0 with ``censored="good"``.

The horizon starts at ``start`` (a cut-off date) or, by default, at each asset's first reporting
period, and covers the periods whose end month is 0 to ``horizon_months`` months later; the start
period itself counts, so an asset already in default at the start is labelled 1 (``default_at_start``
says so, for callers that screen such assets out).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from features.exceptions import ConfigError, TapeError
from features.io import iter_table
from features.mapping import MappedTape, tape_columns
from features.regab import DATE_FORMAT, MONTH_FORMAT, AssetClass, detect_asset_class, iter_regab_xml

__all__ = [
    "LABEL_COLUMNS",
    "DefaultRule",
    "attach_labels",
    "label_regab_tapes",
    "period_columns",
    "read_regab_periods",
    "regab_default_labels",
]

logger = logging.getLogger(__name__)

LABEL_COLUMNS = ["contract_id", "start", "label", "reason", "default_period", "default_at_start",
                 "last_period", "n_periods", "censored"]
_MISSING = {"", "NA", "N/A", "nan", "None"}


@dataclass(frozen=True)
class _Columns:
    period: str
    charged_off_amount: str
    charge_off_codes: frozenset[str]
    closed_good_codes: frozenset[str]
    repossession: str
    repossession_values: frozenset[str]


_CLASS_COLUMNS: dict[str, _Columns] = {
    "autoloan": _Columns("reportingPeriodEndingDate", "chargedoffPrincipalAmount", frozenset({"4"}),
                         frozenset({"1"}), "repossessedIndicator", frozenset({"true", "1"})),
    "autolease": _Columns("reportingPeriodEndDate", "chargedOffAmount", frozenset({"3"}),
                          frozenset({"1"}), "terminationIndicator", frozenset({"3"})),
}
_ID = "assetNumber"
_ZERO_BALANCE = "zeroBalanceCode"
_DPD = "currentDelinquencyStatus"


@dataclass(frozen=True)
class DefaultRule:
    """What counts as a default, and within which horizon.

    Parameters
    ----------
    dpd_threshold : int, default 90
        Days past due (``currentDelinquencyStatus``) at or above which a period is a default.
    horizon_months : int or None, default 12
        Months after the start within which a default counts; None: the whole series.
    charge_off : bool, default True
        A charged-off zero-balance code is a default.
    charged_off_amount : bool, default True
        A charged-off amount above zero is a default.
    repossession : bool, default True
        A repossession (loan indicator, lease termination code 3) is a default.
    censored : {"missing", "good"}, default "missing"
        Label of an asset whose outcome over the horizon is unknown: empty, or 0.
    """

    dpd_threshold: int = 90
    horizon_months: int | None = 12
    charge_off: bool = True
    charged_off_amount: bool = True
    repossession: bool = True
    censored: Literal["missing", "good"] = "missing"

    def __post_init__(self) -> None:
        if isinstance(self.dpd_threshold, bool) or not isinstance(self.dpd_threshold, int) or self.dpd_threshold < 1:
            raise ConfigError(f"dpd_threshold must be a whole number of days >= 1; got {self.dpd_threshold!r}")
        if self.horizon_months is not None and (isinstance(self.horizon_months, bool)
                                                or not isinstance(self.horizon_months, int)
                                                or self.horizon_months < 1):
            raise ConfigError(f"horizon_months must be a whole number >= 1 or None; got {self.horizon_months!r}")
        if self.censored not in ("missing", "good"):
            raise ConfigError(f"censored must be 'missing' or 'good'; got {self.censored!r}")


def period_columns(asset_class: AssetClass) -> list[str]:
    """The elements :func:`regab_default_labels` reads for ``asset_class``."""
    c = _CLASS_COLUMNS[asset_class]
    return [_ID, c.period, _ZERO_BALANCE, c.charged_off_amount, c.repossession, _DPD]


def _resolve_class(columns: Sequence[str], asset_class: AssetClass | None) -> AssetClass:
    if asset_class is not None:
        if asset_class not in _CLASS_COLUMNS:
            raise ConfigError(f"asset_class must be 'autoloan' or 'autolease'; got {asset_class!r}")
        return asset_class
    found = detect_asset_class(columns)
    if found is None:
        raise ConfigError("cannot tell auto-loan from auto-lease periods from the columns "
                          f"({', '.join(columns)}); pass asset_class='autoloan' or 'autolease'")
    return found


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series([None] * len(frame), index=frame.index, dtype=object)
    cells = [None if _is_missing(v) else str(v).strip() for v in frame[column].tolist()]
    return pd.Series([None if c in _MISSING else c for c in cells], index=frame.index, dtype=object)


def _parse_period(text: pd.Series, column: str) -> pd.Series:
    parsed = pd.to_datetime(text, format=DATE_FORMAT, errors="coerce")
    for fmt in (MONTH_FORMAT, "%Y-%m-%d"):
        todo = parsed.isna() & text.notna()
        if todo.any():
            parsed[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce")
    bad = parsed.isna()
    if bad.any():
        first = text[bad].iloc[0]
        raise TapeError(f"{column}: {int(bad.sum())} reporting periods are empty or not a date "
                        f"(MM-DD-YYYY or MM/YYYY), first value {first!r}")
    return parsed


def regab_default_labels(periods: pd.DataFrame, *, rule: DefaultRule | None = None,
                         asset_class: AssetClass | None = None,
                         start: str | pd.Timestamp | None = None) -> pd.DataFrame:
    """One default label per asset from its reporting periods.

    Parameters
    ----------
    periods : DataFrame
        Rows of one or several ABS-EE tapes (XSD element names as columns, text or typed cells);
        must hold ``assetNumber`` and the reporting-period end date; the rule columns it lacks
        cannot fire (a warning names them).
    rule : DefaultRule, optional
        Default :class:`DefaultRule` () (90 days, 12 months, every rule on, censored -> empty).
    asset_class : {"autoloan", "autolease"}, optional
        Default: told from the columns.
    start : date, optional
        Common start of the horizon (the pool cut-off); default each asset's first period.

    Returns
    -------
    DataFrame
        :data:`LABEL_COLUMNS`, one row per asset, sorted by ``contract_id``: ``label`` (Int8, 1
        default, 0 good, empty when censored), ``reason`` (rules that fired in the first default
        period, joined with ``+``: ``charge_off``, ``charged_off_amount``, ``repossession``, ``dpd``),
        ``default_period``, ``default_at_start``, ``last_period``, ``n_periods`` (periods in the
        horizon) and ``censored``.

    Raises
    ------
    TapeError
        If ``assetNumber`` or the period column is missing, or a period date cannot be read.
    ConfigError
        If the asset class cannot be told, or ``rule`` is invalid.
    """
    rule = rule or DefaultRule()
    klass = _resolve_class(list(periods.columns), asset_class)
    cols = _CLASS_COLUMNS[klass]
    for needed in (_ID, cols.period):
        if needed not in periods.columns:
            raise TapeError(f"{klass} reporting periods: column {needed!r} is missing; labels need "
                            f"{_ID} and {cols.period}")
    wanted = {"charge_off": (rule.charge_off, _ZERO_BALANCE), "charged_off_amount":
              (rule.charged_off_amount, cols.charged_off_amount), "repossession": (rule.repossession,
              cols.repossession), "dpd": (True, _DPD)}
    absent = [col for on, col in wanted.values() if on and col not in periods.columns]
    if absent:
        logger.warning("%s reporting periods lack %s; those default rules cannot fire", klass, ", ".join(absent))

    ids = _text(periods, _ID)
    if ids.isna().any():
        raise TapeError(f"{_ID}: {int(ids.isna().sum())} reporting-period rows have no asset number")
    when = _parse_period(_text(periods, cols.period), cols.period)
    month = (when.dt.year * 12 + when.dt.month).to_numpy()
    zb = _text(periods, _ZERO_BALANCE).map(lambda v: frozenset() if v is None else frozenset(v.split(";")))
    fired = pd.DataFrame(index=periods.index)
    fired["charge_off"] = zb.map(lambda s: bool(s & cols.charge_off_codes)) & rule.charge_off
    amount = pd.to_numeric(_text(periods, cols.charged_off_amount), errors="coerce")
    fired["charged_off_amount"] = (amount > 0).fillna(False) & rule.charged_off_amount
    repo = _text(periods, cols.repossession).map(lambda v: v is not None and v.lower() in cols.repossession_values)
    fired["repossession"] = repo.astype(bool) & rule.repossession
    dpd = pd.to_numeric(_text(periods, _DPD), errors="coerce")
    fired["dpd"] = (dpd >= rule.dpd_threshold).fillna(False)
    good_close = zb.map(lambda s: bool(s & cols.closed_good_codes))

    reason = np.full(len(fired), "", dtype=object)
    for name in fired.columns:
        hit = fired[name].to_numpy(dtype=bool)
        reason[hit] = reason[hit] + np.where(reason[hit] == "", "", "+") + name
    table = pd.DataFrame({"id": ids.to_numpy(), "when": when.to_numpy(), "month": month,
                          "event": fired.any(axis=1).to_numpy(), "good_close": good_close.to_numpy(dtype=bool),
                          "reason": reason})
    if start is not None:
        start_ts = pd.Timestamp(start)
        table["start_month"] = start_ts.year * 12 + start_ts.month
        table["start"] = start_ts
    else:
        first = table.groupby("id")["when"].transform("min")
        table["start_month"] = first.dt.year * 12 + first.dt.month
        table["start"] = first
    offset = table["month"] - table["start_month"]
    inside = offset >= 0
    if rule.horizon_months is not None:
        inside &= offset <= rule.horizon_months
    table["offset"] = offset
    window = table[inside].sort_values(["id", "when"], kind="stable")

    out = pd.DataFrame({"contract_id": sorted(table["id"].unique())}).set_index("contract_id", drop=False)
    out["start"] = table.groupby("id")["start"].first()
    out["last_period"] = table.groupby("id")["when"].max()
    out["n_periods"] = window.groupby("id").size().reindex(out.index, fill_value=0).astype("int64")
    events = window[window["event"]].groupby("id").first()
    out["default_period"] = events["when"].reindex(out.index)
    out["reason"] = events["reason"].reindex(out.index).fillna("").astype(object)
    out["default_at_start"] = (events["offset"] == 0).reindex(out.index, fill_value=False).astype(bool)
    defaulted = out["default_period"].notna().to_numpy()
    closed_good = window[window["good_close"]].groupby("id").size().reindex(out.index, fill_value=0) > 0
    if rule.horizon_months is None:
        observed = pd.Series(True, index=out.index)
    else:
        observed = (window.groupby("id")["offset"].max().reindex(out.index) >= rule.horizon_months).fillna(False)
    censored = ~defaulted & ~closed_good.to_numpy() & ~observed.to_numpy(dtype=bool)
    label = pd.array(np.where(defaulted, 1, 0), dtype="Int8")
    if rule.censored == "missing":
        label[censored] = pd.NA
    out["label"] = label
    out["censored"] = censored
    return out[LABEL_COLUMNS].reset_index(drop=True)


def read_regab_periods(paths: Sequence[str | os.PathLike[str]], *,
                       asset_class: AssetClass | None = None) -> pd.DataFrame:
    """Read the label columns of several ABS-EE tapes (XML, CSV or Parquet) into one frame.

    Only :func:`period_columns` are kept; a CSV/Parquet tape that lacks one of the optional rule
    columns is read without it. Without ``asset_class`` the class is told from each file (namespace
    or header); all files must agree.

    Raises
    ------
    TapeError
        If a file cannot be read or the files mix asset classes.
    ConfigError
        If the asset class cannot be told.
    """
    from features.regab import sniff_asset_class  # local: only this reader needs it

    if not paths:
        raise TapeError("no reporting-period tapes given")
    frames: list[pd.DataFrame] = []
    klass: AssetClass | None = asset_class
    for path in paths:
        name = str(path)
        if name.lower().endswith(".xml"):
            found = asset_class or sniff_asset_class(path)
            if found is None:
                seen: set[str] = set()
                next(iter_regab_xml(path, columns=[], chunksize=1000, seen=seen))
                found = detect_asset_class(seen)
            klass = _agree(klass, found, name)
            frames.extend(iter_regab_xml(path, columns=period_columns(klass)))
        else:
            header = tape_columns(path)
            klass = _agree(klass, asset_class or _resolve_class(header, None), name)
            cols = [c for c in period_columns(klass) if c in header]
            frames.extend(iter_table(path, chunksize=None, columns=cols))
    return pd.concat(frames, ignore_index=True)


def _agree(current: AssetClass | None, found: AssetClass | None, name: str) -> AssetClass:
    if found is None:
        raise ConfigError(f"{name}: cannot tell whether the tape holds auto loans or auto leases; "
                          "pass asset_class")
    if current is not None and current != found:
        raise TapeError(f"{name}: holds {found} assets but an earlier tape holds {current} assets")
    return found


def label_regab_tapes(paths: Sequence[str | os.PathLike[str]], *, rule: DefaultRule | None = None,
                      asset_class: AssetClass | None = None,
                      start: str | pd.Timestamp | None = None) -> pd.DataFrame:
    """:func:`read_regab_periods` then :func:`regab_default_labels`."""
    periods = read_regab_periods(paths, asset_class=asset_class)
    return regab_default_labels(periods, rule=rule, asset_class=asset_class, start=start)


def attach_labels(tape: MappedTape, labels: pd.DataFrame) -> MappedTape:
    """A copy of ``tape`` whose target is the label of each ``contract_id`` (empty when unlabelled).

    ``labels`` is the output of :func:`regab_default_labels` (or any frame with ``contract_id`` and
    ``label``); a contract id labelled twice is an error.

    Raises
    ------
    TapeError
        If ``labels`` lacks the columns or repeats a contract id.
    """
    for col in ("contract_id", "label"):
        if col not in labels.columns:
            raise TapeError(f"labels: column {col!r} is missing; expected {', '.join(LABEL_COLUMNS)}")
    dup = labels["contract_id"].duplicated()
    if dup.any():
        raise TapeError(f"labels: contract_id {labels['contract_id'][dup].iloc[0]!r} is labelled more than once")
    lookup = pd.Series(labels["label"].to_numpy(), index=labels["contract_id"].astype(str).to_numpy())
    values = tape.ids.astype(object).map(lambda v: lookup.get(v, pd.NA) if v is not None and v is not pd.NA else pd.NA)
    target = pd.Series(pd.array(values.tolist(), dtype="Int8"), index=tape.records.index, name="target")
    return replace(tape, target=target)
