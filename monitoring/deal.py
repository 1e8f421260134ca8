"""The deal file: a versioned TOML file of the securitisation's structure, validated and hashed.

It holds what surveillance of the pool needs and nothing of the screening (that is the policy): the
cut-off date and balance, the note classes (senior, mezzanine, subordinated) with their balances and
coupons, how principal is paid, the fees, the liquidity-support facility, the triggers (each with a
threshold or a schedule by period and what a breach does) and the settings of the model back-test.
:func:`load_deal` checks every key and value and raises :class:`DealError` naming the file, the key,
the value and what is allowed; unknown keys are refused. :attr:`Deal.sha256` is the sha256 of the
canonical content (the parsed TOML as key-sorted JSON), so comments and layout do not change it; it goes
into every monitoring record. The format is described in ``docs/monitoring.md``.

Units: money in CNY, periods in months after the cut-off, rates and shares as fractions a year
(coupons, fees) or of a balance (thresholds).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from features.exceptions import FileValueError
from features.io import TomlTable, read_toml
from scoring.policy import canonical_hash

__all__ = [
    "ACTIONS",
    "MEASURES",
    "RANKS",
    "BacktestSettings",
    "Deal",
    "DealError",
    "Liquidity",
    "NoteClass",
    "Trigger",
    "load_deal",
    "parse_deal",
]

RANKS = ("senior", "mezzanine", "subordinated")
#: What a trigger may measure (monthly figures of ``monthly.parquet``); ``direction`` says which side breaches.
MEASURES = {
    "cumulative_net_loss_share": "charged-off principal less recoveries since the cut-off / cut-off balance",
    "cumulative_gross_default_share": "principal of defaulted assets since the cut-off / cut-off balance",
    "delinquency_60_plus_3m": "3-month average of the 61+ days past due balance / pool balance",
    "delinquency_30_plus_share": "31+ days past due balance / pool balance at the period end",
    "liquidity_draws": "periods with a liquidity draw since the cut-off (count)",
    "liquidity_outstanding_share": "liquidity draws not yet repaid / facility limit",
    "pool_factor": "pool balance / cut-off balance",
}
#: What a breach does: ``accelerate`` sends the excess spread to the notes' principal (turbo) instead of
#: releasing it to the subordinated holder; ``sequential`` switches pro-rata principal to sequential;
#: ``servicer_replacement`` and ``clean_up_call`` are events reported to the trustee (the cash flow does
#: not change: replacing the servicer or exercising the call is a decision of the parties).
ACTIONS = ("accelerate", "sequential", "servicer_replacement", "clean_up_call")
_LIQUIDITY_COVERS = ("fees", "senior_interest", "mezzanine_interest")


class DealError(FileValueError):
    """A deal file is invalid. Carries ``file``, ``key``, ``value`` and ``allowed``."""


@dataclass(frozen=True)
class NoteClass:
    """One class of notes: ``balance`` (CNY at the cut-off) and ``coupon`` (fraction a year)."""

    name: str
    rank: str
    balance: float
    coupon: float


@dataclass(frozen=True)
class Liquidity:
    """The liquidity-support facility: what shortfalls it ``covers`` and its ``limit`` (CNY)."""

    provider: str
    covers: tuple[str, ...]
    limit: float


@dataclass(frozen=True)
class Trigger:
    """A trigger on one monthly measure.

    ``schedule`` is a tuple of (last period, threshold) steps, ascending by period: the threshold of
    period ``p`` is that of the first step with ``last period >= p`` (the last step holds after it).
    A fixed threshold is a one-step schedule. ``direction`` is ``above`` (breach when the measure
    exceeds the threshold) or ``below``. Breaches are not curable: once breached, the action holds.
    """

    code: str
    measure: str
    schedule: tuple[tuple[int, float], ...]
    direction: str
    action: str
    texts: dict[str, str]

    def threshold(self, period: int) -> float:
        """The threshold in ``period`` (months after the cut-off)."""
        for last, value in self.schedule:
            if period <= last:
                return value
        return self.schedule[-1][1]

    def breached(self, value: float, period: int) -> bool:
        """Whether ``value`` breaches the threshold of ``period`` (NaN never breaches)."""
        if not math.isfinite(value):
            return False
        limit = self.threshold(period)
        return value > limit if self.direction == "above" else value < limit


@dataclass(frozen=True)
class BacktestSettings:
    """How the back-test of the screening model judges it (see :mod:`monitoring.backtest`).

    ``horizon_months``: the model's PD is of default within this many months of origination.
    ``band_edges``: upper PD edges of the bands (fractions), the last band is open.
    ``watch_confidence`` / ``retrain_confidence``: two-sided Jeffreys levels for the whole pool; a band
    outside ``retrain_confidence`` is a watch. ``auc_watch`` / ``auc_retrain``: rank ordering floors,
    applied once ``min_defaults`` defaults are seen. ``psi_watch`` / ``psi_retrain``: drift of a model
    input against the training population.
    """

    horizon_months: int
    band_edges: tuple[float, ...]
    watch_confidence: float
    retrain_confidence: float
    auc_watch: float
    auc_retrain: float
    min_defaults: int
    psi_watch: float
    psi_retrain: float


@dataclass(frozen=True)
class Deal:
    """A validated deal file (see the module docstring); amounts in CNY."""

    name: str
    version: str
    cutoff_date: dt.date
    cutoff_balance: float
    balance_tolerance: float
    overcollateralisation: float
    default_dpd: int
    classes: tuple[NoteClass, ...]
    principal: str
    servicing_fee: float
    trustee_fee: float
    liquidity: Liquidity
    triggers: tuple[Trigger, ...]
    backtest: BacktestSettings
    sha256: str
    source: str = field(default="", compare=False)

    @property
    def notes_balance(self) -> float:
        """Sum of the classes' balances at the cut-off (CNY)."""
        return float(sum(c.balance for c in self.classes))


def _table(file: str, prefix: str, table: Any) -> TomlTable:
    return TomlTable(DealError, file, prefix, table)


def load_deal(path: str | os.PathLike[str]) -> Deal:
    """Read and validate a deal file.

    Raises
    ------
    DealError
        If the file is missing, is not TOML, or any key or value is invalid.
    """
    p = Path(path)
    return parse_deal(read_toml(p, DealError, "deal"), source=str(p))


def _classes(file: str, raw: Any) -> tuple[NoteClass, ...]:
    if not isinstance(raw, list) or not raw:
        raise DealError(file, "classes", raw, "an array of tables [[classes]], senior first")
    out: list[NoteClass] = []
    for i, table in enumerate(raw):
        r = _table(file, f"classes[{i}]", table)
        name = r.text("name")
        if any(c.name == name for c in out):
            raise r.fail("name", name, "a name not used by another class")
        rank = r.text("rank", choices=RANKS)
        if out and RANKS.index(rank) < RANKS.index(out[-1].rank):
            raise r.fail("rank", rank, f"classes in order of seniority (after a {out[-1].rank} class)")
        out.append(NoteClass(name, rank, r.number("balance", low=0.0), r.number("coupon", low=0.0, high=1.0)))
        r.done()
    if out[0].rank != "senior":
        raise DealError(file, "classes[0].rank", out[0].rank, "senior (the first class is the most senior)")
    return tuple(out)


def _trigger(file: str, index: int, table: Any, seen: set[str]) -> Trigger:
    r = _table(file, f"triggers[{index}]", table)
    code = r.text("code")
    if code in seen:
        raise r.fail("code", code, "a code not used by another trigger")
    seen.add(code)
    measure = r.text("measure", choices=tuple(MEASURES))
    direction = r.text("direction", "above", choices=("above", "below"))
    action = r.text("action", choices=ACTIONS)
    threshold = r.get("threshold", None)
    schedule_raw = r.get("schedule", None)
    texts = {lang: r.text(lang) for lang in ("en", "zh")}
    r.done()   # a misspelt key is named as such, not read as a missing threshold
    if (threshold is None) == (schedule_raw is None):
        raise r.fail("threshold", threshold, "either threshold or schedule = [[last period, threshold], ...]")
    # a share is a fraction: 1.5 meant as 1.5 % would be a trigger that can never breach
    high = None if measure == "liquidity_draws" else 1.0
    if threshold is not None:
        schedule: tuple[tuple[int, float], ...] = ((10**6, r.number("threshold", low=0.0, high=high)),)
    else:
        ok = isinstance(schedule_raw, list) and schedule_raw and all(
            isinstance(s, list) and len(s) == 2 and isinstance(s[0], int) and not isinstance(s[0], bool)
            and s[0] >= 1 and isinstance(s[1], (int, float)) and not isinstance(s[1], bool) and s[1] >= 0
            and (high is None or s[1] <= high) for s in schedule_raw)
        periods = [s[0] for s in schedule_raw] if ok else []
        if not ok or periods != sorted(set(periods)):
            bound = "threshold >= 0" if high is None else "threshold from 0 to 1 (a fraction)"
            raise r.fail("schedule", schedule_raw, f"a list of [last period (months >= 1), {bound}] "
                                                   "with strictly ascending periods")
        schedule = tuple((int(a), float(b)) for a, b in schedule_raw)
    return Trigger(code, measure, schedule, direction, action, texts)


def _backtest(file: str, raw: Any) -> BacktestSettings:
    r = _table(file, "backtest", raw)
    edges = r.get("band_edges")
    if not isinstance(edges, list) or not edges or any(
            isinstance(e, bool) or not isinstance(e, (int, float)) or not 0 < e < 1 for e in edges) \
            or list(edges) != sorted(set(edges)):
        raise r.fail("band_edges", edges, "a strictly ascending list of PDs between 0 and 1 (band upper edges)")
    watch = r.number("watch_confidence", low=0.5, high=0.9999)
    retrain = r.number("retrain_confidence", low=watch, high=0.99999)
    auc_retrain = r.number("auc_retrain", low=0.5, high=1.0)
    auc_watch = r.number("auc_watch", low=auc_retrain, high=1.0)
    psi_watch = r.number("psi_watch", low=0.0)
    out = BacktestSettings(horizon_months=r.whole("horizon_months", low=1),
                           band_edges=tuple(float(e) for e in edges), watch_confidence=watch,
                           retrain_confidence=retrain, auc_watch=auc_watch, auc_retrain=auc_retrain,
                           min_defaults=r.whole("min_defaults", low=1), psi_watch=psi_watch,
                           psi_retrain=r.number("psi_retrain", low=psi_watch))
    r.done()
    return out


def parse_deal(data: dict[str, Any], *, source: str = "<deal>") -> Deal:
    """Validate parsed TOML ``data`` and build a :class:`Deal` (see :func:`load_deal`)."""
    top = _table(source, "", dict(data))
    name = top.text("name")
    version = top.text("version")
    cutoff = top.get("cutoff_date")
    if not isinstance(cutoff, dt.date) or isinstance(cutoff, dt.datetime):
        raise top.fail("cutoff_date", cutoff, "a TOML date such as 2025-06-30 (no quotes)")
    balance = top.number("cutoff_balance", low=1.0)
    tolerance = top.number("balance_tolerance", low=0.0, high=0.5, default=0.0)
    oc = top.number("overcollateralisation", low=0.0, default=0.0)
    default_dpd = top.whole("default_dpd", low=1, default=90)
    classes = _classes(source, top.get("classes"))
    total = sum(c.balance for c in classes) + oc
    if abs(total - balance) > 1.0:
        raise top.fail("classes", f"{total:,.2f}", f"class balances plus overcollateralisation adding up to "
                                                   f"cutoff_balance {balance:,.2f} CNY (within 1 CNY)")
    principal = top.text("principal", "sequential", choices=("sequential", "pro_rata"))
    fees = _table(source, "fees", top.get("fees"))
    servicing = fees.number("servicing", low=0.0, high=0.2)
    trustee = fees.number("trustee", low=0.0, high=0.2)
    fees.done()
    liq = _table(source, "liquidity", top.get("liquidity"))
    covers = liq.get("covers")
    if not isinstance(covers, list) or not covers or any(c not in _LIQUIDITY_COVERS for c in covers):
        raise liq.fail("covers", covers, "a non-empty list of " + ", ".join(_LIQUIDITY_COVERS))
    liquidity = Liquidity(liq.text("provider"), tuple(covers), liq.number("limit", low=0.0))
    liq.done()
    raw = top.get("triggers", [])
    if not isinstance(raw, list):
        raise top.fail("triggers", raw, "an array of tables [[triggers]]")
    seen: set[str] = set()
    triggers = tuple(_trigger(source, i, t, seen) for i, t in enumerate(raw))
    backtest = _backtest(source, top.get("backtest"))
    top.done()
    return Deal(name=name, version=version, cutoff_date=cutoff, cutoff_balance=balance, balance_tolerance=tolerance,
                overcollateralisation=oc, default_dpd=default_dpd, classes=classes, principal=principal,
                servicing_fee=servicing, trustee_fee=trustee, liquidity=liquidity, triggers=triggers,
                backtest=backtest, sha256=canonical_hash(data), source=source)
