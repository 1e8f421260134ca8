"""SEC Regulation AB II Schedule AL asset data (Form ABS-EE, exhibit EX-102): XML reading and code lists.

An ABS-EE asset-data file is an ``assetData`` root holding one ``assets`` element per lease or
loan, whose children are the Schedule AL data points (``assetNumber``, ``originationDate``, ...).
:func:`iter_regab_xml` streams such a file with :func:`xml.etree.ElementTree.iterparse`, clearing
every element once read, so memory stays flat however many assets the file holds. Namespaces are
ignored (the auto-lease and auto-loan schemas use different ones). Cells come out as text; an
element the schema lets repeat (``zeroBalanceCode``, ``subvented``, ``modificationTypeCode``, ...)
is joined with ``;``.

The code lists below restate the enumerations of the SEC schemas (``eis_ABS_AutoLeaseAssetData.xsd``,
``eis_ABS_AutoLoanAssetData.xsd``) in short words. Dates in the schemas are ``MM-DD-YYYY``
(:data:`DATE_FORMAT`) or ``MM/YYYY`` (:data:`MONTH_FORMAT`).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal

import pandas as pd

from features.exceptions import ConfigError, TapeError

__all__ = [
    "ASSET_CLASSES",
    "CODE_LISTS",
    "DATE_FORMAT",
    "MONTH_FORMAT",
    "AssetClass",
    "describe_code",
    "detect_asset_class",
    "iter_regab_xml",
    "read_regab_xml",
    "sniff_asset_class",
]

AssetClass = Literal["autolease", "autoloan"]
ASSET_CLASSES: tuple[str, ...] = ("autolease", "autoloan")
DATE_FORMAT = "%m-%d-%Y"
MONTH_FORMAT = "%m/%Y"
MULTI_SEPARATOR = ";"

_PAYMENT = {"1": "bi-weekly", "2": "monthly", "3": "quarterly", "98": "other"}
_NEW_USED = {"1": "new", "2": "used"}
_VEHICLE_TYPE = {"1": "car", "2": "truck", "3": "SUV", "4": "motorcycle", "98": "other", "99": "unknown"}
_VALUE_SOURCE = {"1": "invoice price", "2": "MSRP", "3": "Kelley Blue Book", "98": "other"}
_INCOME_VERIFICATION = {"1": "not stated, not verified", "2": "stated, not verified",
                        "3": "stated, verified below level 4", "4": "stated, level 4 verified",
                        "5": "stated, level 5 verified"}
_EMPLOYMENT_VERIFICATION = {"1": "not stated, not verified", "2": "stated, not verified",
                            "3": "stated, level 3 verified"}
_ADVANCING = {"1": "no advancing", "2": "interest only", "3": "principal only",
              "4": "principal and interest", "99": "unknown"}
_DEMAND_STATUS = {"0": "pending repurchase or replacement", "1": "repurchased or replaced",
                  "2": "demand in dispute", "3": "demand withdrawn", "4": "demand rejected", "98": "other"}
_REPURCHASE_REASON = {"1": "fraud", "2": "early payment default", "3": "other recourse obligation",
                      "4": "representations and warranties breach", "5": "servicer breach", "98": "other",
                      "99": "unknown"}

#: asset class -> element -> code -> meaning (short restatement of the XSD enumerations).
CODE_LISTS: dict[str, dict[str, dict[str, str]]] = {
    "autolease": {
        "paymentTypeCode": {**_PAYMENT, "4": "prepaid"},
        "subvented": {"0": "no", "1": "rate or finance charge subvention", "2": "residual subvention",
                      "98": "other subvention"},
        "vehicleNewUsedCode": _NEW_USED,
        "vehicleTypeCode": _VEHICLE_TYPE,
        "vehicleValueSourceCode": _VALUE_SOURCE,
        "baseResidualSourceCode": {"1": "Black Book", "2": "Automotive Lease Guide", "98": "other"},
        "lesseeIncomeVerificationLevelCode": _INCOME_VERIFICATION,
        "lesseeEmploymentVerificationCode": _EMPLOYMENT_VERIFICATION,
        "servicingAdvanceMethodCode": _ADVANCING,
        "zeroBalanceCode": {"1": "terminated", "2": "repurchased or replaced", "3": "charged off",
                            "4": "servicing transfer", "99": "unavailable"},
        "assetSubjectDemandStatusCode": _DEMAND_STATUS,
        "repurchaseOrReplacementReasonCode": _REPURCHASE_REASON,
        "modificationTypeCode": {"1": "payment amount", "2": "term", "3": "extension", "98": "other"},
        "terminationIndicator": {"1": "payoff", "2": "return", "3": "repossession", "4": "repurchase",
                                 "98": "other"},
    },
    "autoloan": {
        "interestCalculationTypeCode": {"1": "simple", "98": "other"},
        "originalInterestRateTypeCode": {"1": "fixed", "2": "adjustable", "98": "other"},
        "paymentTypeCode": {**_PAYMENT, "4": "balloon"},
        "subvented": {"0": "no", "1": "rate subvention", "2": "cash rebate", "98": "other subvention"},
        "vehicleNewUsedCode": _NEW_USED,
        "vehicleTypeCode": _VEHICLE_TYPE,
        "vehicleValueSourceCode": _VALUE_SOURCE,
        "obligorIncomeVerificationLevelCode": _INCOME_VERIFICATION,
        "obligorEmploymentVerificationCode": _EMPLOYMENT_VERIFICATION,
        "servicingAdvanceMethodCode": {**_ADVANCING, "99": "unavailable"},
        "zeroBalanceCode": {"1": "prepaid or matured", "2": "third-party sale", "3": "repurchased or replaced",
                            "4": "charged off", "5": "servicing transfer", "99": "unavailable"},
        "assetSubjectDemandStatusCode": _DEMAND_STATUS,
        "repurchaseReplacementReasonCode": _REPURCHASE_REASON,
        "modificationTypeCode": {"1": "APR", "2": "principal", "3": "term", "4": "extension", "98": "other"},
    },
}

# Elements found in one asset class only; used to tell the two apart from a header.
_LEASE_ONLY = frozenset({"originalLeaseTermNumber", "acquisitionCost", "baseResidualValue", "terminationIndicator",
                         "lesseeCreditScore", "coLesseePresentIndicator", "reportingPeriodEndDate",
                         "chargedOffAmount"})
_LOAN_ONLY = frozenset({"originalLoanTerm", "originalLoanAmount", "originalInterestRatePercentage",
                        "obligorCreditScore", "coObligorIndicator", "repossessedIndicator",
                        "reportingPeriodEndingDate", "chargedoffPrincipalAmount"})


def describe_code(asset_class: str, element: str, code: str) -> str:
    """The meaning of an enumerated code, e.g. ``describe_code("autoloan", "zeroBalanceCode", "4")``.

    Raises
    ------
    ConfigError
        If the asset class or element has no code list, or the code is not in it.
    """
    if asset_class not in CODE_LISTS:
        raise ConfigError(f"asset class {asset_class!r} unknown; allowed: {', '.join(ASSET_CLASSES)}")
    codes = CODE_LISTS[asset_class].get(element)
    if codes is None:
        raise ConfigError(f"{asset_class} element {element!r} has no code list; coded elements: "
                          f"{', '.join(CODE_LISTS[asset_class])}")
    key = str(code).strip()
    if key not in codes:
        raise ConfigError(f"{asset_class} {element}: code {key!r} is not defined; allowed: {', '.join(codes)}")
    return codes[key]


def detect_asset_class(columns: Iterable[str]) -> AssetClass | None:
    """``"autolease"`` or ``"autoloan"`` from the element names present, None if they do not tell."""
    names = set(columns)
    lease, loan = len(names & _LEASE_ONLY), len(names & _LOAN_ONLY)
    if lease > loan:
        return "autolease"
    if loan > lease:
        return "autoloan"
    return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def sniff_asset_class(path: str | os.PathLike[str]) -> AssetClass | None:
    """The asset class of an ABS-EE XML file from its root namespace (``.../autolease/...``), or None."""
    try:
        for _event, elem in ET.iterparse(str(path), events=("start",)):
            ns = elem.tag[1:].split("}", 1)[0].lower() if elem.tag.startswith("{") else ""
            for name in ASSET_CLASSES:
                if f"/{name}/" in ns or ns.endswith(f"/{name}"):
                    return name  # type: ignore[return-value]
            return None
    except ET.ParseError as exc:
        raise TapeError(f"{path}: not well-formed XML: {exc}") from None
    return None


def iter_regab_xml(path: str | os.PathLike[str], *, columns: Iterable[str] | None = None,
                   chunksize: int = 50_000, seen: set[str] | None = None) -> Iterator[pd.DataFrame]:
    """Stream the ``assets`` of an ABS-EE asset-data XML file as frames of text cells.

    Parameters
    ----------
    path : str or path
    columns : iterable of str, optional
        Element names to keep (each becomes a column, empty where an asset lacks it); default every
        element met in the chunk.
    chunksize : int, default 50 000
        Assets per frame.
    seen : set of str, optional
        Filled with the name of every element met under an ``assets`` element (so a caller can tell
        an element that no asset reports from one that is sometimes empty).

    Yields
    ------
    DataFrame
        Index continues across chunks: the 0-based position of the asset in the file.

    Raises
    ------
    TapeError
        If the file is missing, empty, not well-formed XML, or holds no ``assets`` element.
    """
    p = Path(path)
    if not p.is_file():
        raise TapeError(f"{p}: no such file")
    if p.stat().st_size == 0:
        raise TapeError(f"{p}: the file is empty (0 bytes); expected ABS-EE asset-data XML")
    if chunksize < 1:
        raise ValueError(f"chunksize must be >= 1; got {chunksize}")
    keep = None if columns is None else list(dict.fromkeys(columns))
    wanted = None if keep is None else set(keep)
    rows: list[dict[str, str]] = []
    start = 0
    root: ET.Element | None = None
    try:
        for event, elem in ET.iterparse(str(p), events=("start", "end")):
            if root is None:
                root = elem
            if event != "end" or _local(elem.tag) != "assets":
                continue
            row: dict[str, str] = {}
            for child in elem:
                name = _local(child.tag)
                if seen is not None:
                    seen.add(name)
                if wanted is not None and name not in wanted:
                    continue
                text = (child.text or "").strip()
                row[name] = f"{row[name]}{MULTI_SEPARATOR}{text}" if name in row else text
            rows.append(row)
            elem.clear()
            root.clear()  # drop the finished assets from the tree
            if len(rows) >= chunksize:
                yield _frame(rows, keep, start)
                start += len(rows)
                rows = []
    except ET.ParseError as exc:
        raise TapeError(f"{p}: not well-formed XML: {exc}") from None
    if rows:
        yield _frame(rows, keep, start)
    elif start == 0:
        raise TapeError(f"{p}: no <assets> element found; expected ABS-EE asset-data XML (Schedule AL)")


def _frame(rows: list[dict[str, str]], keep: list[str] | None, start: int) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows, columns=keep) if keep is not None else pd.DataFrame.from_records(rows)
    frame = frame.astype(object).where(frame.notna(), None)
    frame.index = pd.RangeIndex(start, start + len(frame))
    return frame


def read_regab_xml(path: str | os.PathLike[str], *, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """Read a whole ABS-EE asset-data XML file (streamed) into one frame of text cells."""
    return pd.concat(list(iter_regab_xml(path, columns=columns)))
