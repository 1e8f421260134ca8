"""Eligibility: which of the policy's criteria each asset fails (a pure function over typed records)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.policy import EligibilityRule, Policy
from scoring.quantities import compute_quantity

__all__ = ["EligibilityResult", "eligibility", "rule_failures"]


@dataclass(frozen=True)
class EligibilityResult:
    """Failed rules of every row.

    Attributes
    ----------
    failures : DataFrame
        One row per (asset, failed rule): ``pos`` (0-based position in the input), ``code``,
        ``message``; ordered by position, then by the rule's order in the policy.
    eligible : ndarray of bool, shape (n,)
        True where no rule failed.
    """

    failures: pd.DataFrame
    eligible: np.ndarray


def _fmt(template: str, value: object, rule: EligibilityRule) -> str:
    allowed = ", ".join(map(str, rule.allowed)) if rule.allowed is not None else ""
    lo = rule.minimum if rule.minimum is not None else float("nan")
    hi = rule.maximum if rule.maximum is not None else float("nan")
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return f"{rule.quantity} is empty (rule {rule.code})"
    try:
        return template.format(value=value, min=lo, max=hi, allowed=allowed)
    except (ValueError, TypeError):  # a numeric format applied to a text value
        return f"{rule.quantity} = {value} fails rule {rule.code}"


def rule_failures(records: pd.DataFrame, rule: EligibilityRule) -> tuple[np.ndarray, pd.Series]:
    """Mask of rows failing ``rule`` and the tested quantity.

    Parameters
    ----------
    records : DataFrame, shape (n, ...)
        Typed canonical lease records (as returned by ``features.contract.check_lease_tape``).
    rule : EligibilityRule

    Returns
    -------
    failed : ndarray of bool, shape (n,)
    values : Series, shape (n,)
    """
    values = compute_quantity(records, rule.quantity)
    missing = values.isna().to_numpy()
    if rule.allowed is not None:
        ok = np.array(values.isin(list(rule.allowed)).fillna(False), dtype=bool)
        if not pd.api.types.is_bool_dtype(values):  # text read from CSV: compare as text too
            ok |= np.array(values.astype("string").isin([str(a) for a in rule.allowed]).fillna(False), dtype=bool)
        failed = ~ok & ~missing
    else:
        num = values.astype("float64").to_numpy(na_value=np.nan)
        with np.errstate(invalid="ignore"):
            failed = np.zeros(len(num), dtype=bool)
            if rule.minimum is not None:
                failed |= num < rule.minimum
            if rule.maximum is not None:
                failed |= num > rule.maximum
    if rule.if_missing == "fail":
        failed = failed | missing
    return failed, values


def eligibility(records: pd.DataFrame, policy: Policy) -> EligibilityResult:
    """Test every eligibility rule of ``policy`` on every row.

    Parameters
    ----------
    records : DataFrame, shape (n, ...)
        Typed canonical lease records; rows that broke the data contract should be excluded by the
        caller (their quantities may be meaningless).
    policy : Policy

    Returns
    -------
    EligibilityResult
        Messages are in the policy's ``language``.
    """
    n = len(records)
    eligible = np.ones(n, dtype=bool)
    parts: list[pd.DataFrame] = []
    for order, rule in enumerate(policy.eligibility):
        failed, values = rule_failures(records, rule)
        if not failed.any():
            continue
        eligible &= ~failed
        pos = np.flatnonzero(failed)
        template = rule.texts[policy.language]
        shown = values.iloc[pos].astype(object).to_numpy()
        parts.append(pd.DataFrame({
            "pos": pos, "order": order, "code": rule.code,
            "message": [_fmt(template, v, rule) for v in shown],
        }))
    if parts:
        failures = pd.concat(parts, ignore_index=True).sort_values(["pos", "order"], kind="stable")
        failures = failures.drop(columns="order").reset_index(drop=True)
    else:
        failures = pd.DataFrame({"pos": pd.Series(dtype="int64"), "code": pd.Series(dtype=object),
                                 "message": pd.Series(dtype=object)})
    return EligibilityResult(failures=failures, eligible=eligible)
