"""SEC Reg AB II reporting periods as the canonical performance history, with the loss fields.

A series of ABS-EE tapes of one trust (or one file with several periods) says, per asset and reporting
period, what was due, what was paid, the balance, the days past due and, when it happened, the
charge-off, the repossession and the recovery. :func:`regab_performance` turns those rows into the
canonical performance table (``PERFORMANCE_FIELDS`` plus ``PERFORMANCE_LOSS_FIELDS``), so ``poolgate
monitor --mapping regab-autoloan|regab-autolease`` reads a trust's filings as it reads the native tape:

| canonical | auto loan (Schedule AL) | auto lease |
|---|---|---|
| ``contract_id`` | ``assetNumber`` | ``assetNumber`` |
| ``month`` | ``reportingPeriodEndingDate`` | ``reportingPeriodEndDate`` |
| ``dpd`` | ``currentDelinquencyStatus`` | ``currentDelinquencyStatus`` |
| ``amount_due`` | ``reportingPeriodScheduledPaymentAmount`` | same |
| ``amount_paid`` | ``totalActualAmountPaid`` | same |
| ``outstanding_principal`` | ``reportingPeriodActualEndBalanceAmount`` | ``reportingPeriodEndingActualBalanceAmount`` |
| ``charged_off_amount`` | ``chargedoffPrincipalAmount`` | ``chargedOffAmount`` |
| ``recovered_amount`` | ``recoveredAmount`` | ``liquidationProceedsAmount`` |
| ``repossessed`` | ``repossessedIndicator`` | ``terminationIndicator`` = 3 |
| ``months_on_book`` | months from ``originationDate`` | same |
| ``status`` | charged-off zero-balance code (loan 4, lease 3) or a charge-off: ``defaulted``; zero-balance code 1 before the original term (``originalLoanTerm`` / ``originalLeaseTermNumber``): ``prepaid``, at or after it: ``terminated``; else ``current`` | same |

Amounts stay in the filing's currency (USD for SEC filings); no exchange rate is applied. Cells the
filing leaves empty are empty (the data contract then decides); empty loss cells are 0.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from features.exceptions import TapeError
from features.io import iter_table
from features.mapping import tape_columns
from features.regab import AssetClass, iter_regab_xml
from features.regab_labels import _parse_period, _text

__all__ = ["PERFORMANCE_COLUMNS", "read_regab_performance", "regab_performance"]

PERFORMANCE_COLUMNS: dict[str, dict[str, str]] = {
    "autoloan": {"period": "reportingPeriodEndingDate", "balance": "reportingPeriodActualEndBalanceAmount",
                 "charged": "chargedoffPrincipalAmount", "recovered": "recoveredAmount",
                 "repossessed": "repossessedIndicator", "term": "originalLoanTerm"},
    "autolease": {"period": "reportingPeriodEndDate", "balance": "reportingPeriodEndingActualBalanceAmount",
                  "charged": "chargedOffAmount", "recovered": "liquidationProceedsAmount",
                  "repossessed": "terminationIndicator", "term": "originalLeaseTermNumber"},
}
_COMMON = ("assetNumber", "originationDate", "currentDelinquencyStatus", "reportingPeriodScheduledPaymentAmount",
           "totalActualAmountPaid", "zeroBalanceCode")
_CHARGE_OFF = {"autoloan": "4", "autolease": "3"}


def _number(frame: pd.DataFrame, column: str, fill: float | None = None) -> pd.Series:
    values = pd.to_numeric(_text(frame, column), errors="coerce")
    return values.fillna(fill) if fill is not None else values


def regab_performance(periods: pd.DataFrame, asset_class: AssetClass) -> pd.DataFrame:
    """Reporting-period rows (XSD element names) -> canonical performance rows (see the module table).

    Raises
    ------
    TapeError
        If ``assetNumber`` or the period date is missing or unreadable.
    """
    cols = PERFORMANCE_COLUMNS[asset_class]
    for needed in ("assetNumber", cols["period"]):
        if needed not in periods.columns:
            raise TapeError(f"{asset_class} reporting periods: column {needed!r} is missing")
    end = _parse_period(_text(periods, cols["period"]), cols["period"])
    month = end + pd.offsets.MonthEnd(0)
    orig = pd.to_datetime(_text(periods, "originationDate"), format="%m/%Y", errors="coerce")
    mob = (month.dt.year - orig.dt.year) * 12 + (month.dt.month - orig.dt.month)
    charged = _number(periods, cols["charged"], 0.0)
    zb = _text(periods, "zeroBalanceCode").fillna("")
    term = _number(periods, cols["term"])
    repo_text = _text(periods, cols["repossessed"]).fillna("").str.lower()
    repossessed = repo_text.eq("3") if asset_class == "autolease" else repo_text.isin({"true", "1"})
    closed = zb.str.split(";").map(lambda codes: "1" in codes)
    defaulted = zb.str.split(";").map(lambda codes: _CHARGE_OFF[asset_class] in codes) | (charged > 0)
    early = (mob < term).fillna(False)
    status = np.select([defaulted.to_numpy(bool), (closed & early).to_numpy(bool), closed.to_numpy(bool)],
                       ["defaulted", "prepaid", "terminated"], "current")
    return pd.DataFrame({
        "contract_id": _text(periods, "assetNumber"), "month": month.dt.date,
        "months_on_book": mob.astype("Int64"), "dpd": _number(periods, "currentDelinquencyStatus"),
        "amount_due": _number(periods, "reportingPeriodScheduledPaymentAmount"),
        "amount_paid": _number(periods, "totalActualAmountPaid"),
        "outstanding_principal": _number(periods, cols["balance"]), "status": status,
        "charged_off_amount": charged, "recovered_amount": _number(periods, cols["recovered"], 0.0),
        "repossessed": repossessed.to_numpy(bool),
    })


def read_regab_performance(paths: Sequence[str | os.PathLike[str]], *, asset_class: AssetClass) -> pd.DataFrame:
    """Read ABS-EE tapes (XML, CSV or Parquet) of ``asset_class`` and return :func:`regab_performance` of them."""
    wanted = list(_COMMON) + list(PERFORMANCE_COLUMNS[asset_class].values())
    frames: list[pd.DataFrame] = []
    for path in paths:
        if str(path).lower().endswith(".xml"):
            frames.extend(iter_regab_xml(path, columns=wanted))
        else:
            header = tape_columns(path)
            frames.extend(iter_table(path, chunksize=None, columns=[c for c in wanted if c in header]))
    if not frames:
        raise TapeError("no reporting-period tapes given")
    return regab_performance(pd.concat(frames, ignore_index=True), asset_class)
