"""Concentration limits on the admitted pool: drop the riskiest assets of a breaching group.

Every limit caps the share of the admitted pool's outstanding principal that one group may hold:
a single lessee, the ``n`` largest lessees together, a province, a dealer, a make, used cars,
new-energy vehicles. Limits are checked in policy order. Where a group breaks its limit, its
admitted assets are dropped riskiest first (highest PD, ties by asset id, then row) until the
group's share of the *remaining* pool is within the limit. Dropping shrinks the pool, which can make
another group break a limit it met before, so the pass over all limits repeats until none is broken.
The result depends only on the assets, their PDs and the policy: it is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.policy import ConcentrationLimit, Policy

__all__ = ["GROUP_COLUMNS", "Drop", "apply_limits", "limit_values"]

_EPS = 1e-12  # relative tolerance on shares, so a limit met exactly is not broken by rounding
_KEY_COLUMN = {"lessee": "lessee_id", "province": "province", "dealer": "dealer_id", "make": "vehicle_make"}


@dataclass(frozen=True)
class Drop:
    """One admitted asset dropped by a limit: its ``row``, the limit ``code`` and the ``message``."""

    row: int
    code: str
    message: str


#: The columns the limits group assets by (an existing pool must hold them; :func:`apply_limits`).
GROUP_COLUMNS = ("lessee_id", "province", "dealer_id", "vehicle_make", "vehicle_condition", "is_nev")

def _risk_order(pool: pd.DataFrame) -> pd.DataFrame:
    """Admitted assets, riskiest first (pd descending, then asset id, then row)."""
    admitted = pool[pool["status"].astype(str) == "admit"]
    keys = pd.DataFrame({"pd": -admitted["pd"].to_numpy(dtype="float64"),
                         "asset_id": admitted["asset_id"].astype(str).to_numpy(),
                         "row": admitted["row"].to_numpy()})
    order = keys.sort_values(["pd", "asset_id", "row"], kind="stable").index.to_numpy()
    return admitted.iloc[order].reset_index(drop=True)


def _group_codes(assets: pd.DataFrame, limit: ConcentrationLimit) -> tuple[np.ndarray, np.ndarray]:
    """Integer group of every asset and the label of each group (-1: not in any capped group)."""
    if limit.group in ("used", "nev"):
        member = (assets["vehicle_condition"].astype(str) == "used").to_numpy() if limit.group == "used" \
            else assets["is_nev"].to_numpy(dtype=bool)
        return np.where(member, 0, -1), np.array(["used" if limit.group == "used" else "nev"], dtype=object)
    column = _KEY_COLUMN["lessee" if limit.group == "top_lessees" else limit.group]
    codes, labels = pd.factorize(assets[column].astype(str), sort=True)
    return codes.astype("int64"), np.asarray(labels, dtype=object)


def _message(limit: ConcentrationLimit, language: str, group: str, share: float) -> str:
    return limit.texts[language].format(group=group, share=share, max=limit.max_share, n=limit.n)


def _apply_group_limit(limit: ConcentrationLimit, codes: np.ndarray, labels: np.ndarray, balance: np.ndarray,
                       alive: np.ndarray, language: str, drops: list[Drop], rows: np.ndarray,
                       fixed: np.ndarray) -> bool:
    """Drop riskiest members of every group above the limit; True if anything was dropped.

    ``fixed`` assets (already in the pool) count in the shares but are never dropped.
    """
    s = limit.max_share
    live = alive & (codes >= 0)
    sums = np.bincount(codes[live], weights=balance[live], minlength=len(labels))
    changed = False
    total = float(balance[alive].sum())
    for g in np.flatnonzero(sums > s * total * (1 + _EPS)):  # the pool only shrinks: others wait a pass
        total = float(balance[alive].sum())
        held = float(balance[alive & (codes == g)].sum())
        members = np.flatnonzero(alive & (codes == g) & ~fixed)  # candidates only, already in risk order
        if held <= s * total * (1 + _EPS) or not members.size:
            continue
        need = (held - s * total) / (1.0 - s) if s < 1 else 0.0
        cum = np.cumsum(balance[members])
        k = min(int(np.searchsorted(cum, need * (1 - _EPS), side="left")) + 1, members.size)
        gone = members[:k]
        alive[gone] = False
        text = _message(limit, language, str(labels[g]), held / total)
        drops.extend(Drop(int(rows[i]), limit.code, text) for i in gone)
        changed = True
    return changed


def _apply_top_lessees(limit: ConcentrationLimit, codes: np.ndarray, labels: np.ndarray, balance: np.ndarray,
                       alive: np.ndarray, language: str, drops: list[Drop], rows: np.ndarray,
                       fixed: np.ndarray) -> bool:
    """Drop the riskiest assets of the ``n`` largest lessees until together they are within the limit.

    The assets are dropped as one group (as for a single group limit); when the drops change which
    lessees are the ``n`` largest, the step repeats with the new ones.
    """
    changed = False
    s = limit.max_share
    while alive.any():
        sums = np.bincount(codes[alive], weights=balance[alive], minlength=len(labels))
        top = np.lexsort((labels.astype(str), -sums))[:limit.n]  # largest first, ties by lessee id
        total = float(sums.sum())
        held = float(sums[top].sum())
        if held <= s * total * (1 + _EPS):
            break
        members = np.flatnonzero(alive & np.isin(codes, top) & ~fixed)  # candidates, in risk order
        if not members.size:
            break
        need = (held - s * total) / (1.0 - s) if s < 1 else 0.0
        k = min(int(np.searchsorted(np.cumsum(balance[members]), need * (1 - _EPS), side="left")) + 1,
                members.size)
        alive[members[:k]] = False
        text = _message(limit, language, f"top {limit.n}", held / total)
        drops.extend(Drop(int(rows[i]), limit.code, text) for i in members[:k])
        changed = True
    return changed


def apply_limits(pool: pd.DataFrame, policy: Policy, existing: pd.DataFrame | None = None) -> list[Drop]:
    """Find the admitted assets that concentration limits drop.

    Parameters
    ----------
    pool : DataFrame
        :data:`scoring.decisions.POOL_COLUMNS` of the assets that passed the data contract; only
        those with status ``admit`` are considered. Balances are ``outstanding_principal`` (CNY).
    policy : Policy
    existing : DataFrame, optional
        The pool as it stands (a revolving deal's replenishment): the group columns and
        ``outstanding_principal`` (CNY, current balance) of the assets already in it. They count in every
        share but are never dropped; only candidates are.

    Returns
    -------
    list of Drop
        In the order the assets were dropped; messages in the policy's language.
    """
    assets = _risk_order(pool)
    if assets.empty or not policy.concentration:
        return []
    n_candidates = len(assets)
    if existing is not None and len(existing):
        cols = [*GROUP_COLUMNS, "outstanding_principal"]
        assets = pd.concat([assets, existing[cols].assign(row=-1)], ignore_index=True)
    fixed = np.arange(len(assets)) >= n_candidates
    balance = assets["outstanding_principal"].to_numpy(dtype="float64")
    rows = assets["row"].to_numpy()
    alive = np.ones(len(assets), dtype=bool)
    groups = {lim.code: _group_codes(assets, lim) for lim in policy.concentration}
    drops: list[Drop] = []
    changed = True
    while changed and alive.any():
        changed = False
        for lim in policy.concentration:
            codes, labels = groups[lim.code]
            step = _apply_top_lessees if lim.group == "top_lessees" else _apply_group_limit
            changed |= step(lim, codes, labels, balance, alive, policy.language, drops, rows, fixed)
    return drops


def limit_values(pool: pd.DataFrame, policy: Policy) -> list[dict[str, object]]:
    """Each limit with the largest share it measures in ``pool`` (all rows given are the pool).

    Returns
    -------
    list of dict
        ``code``, ``group``, ``max_share``, ``value`` (largest share, fraction), ``largest`` (the
        group holding it) and ``holds``.
    """
    out: list[dict[str, object]] = []
    balance = pool["outstanding_principal"].to_numpy(dtype="float64")
    total = float(balance.sum())
    for lim in policy.concentration:
        if total <= 0:
            out.append({"code": lim.code, "group": lim.group, "max_share": lim.max_share, "value": 0.0,
                        "largest": "", "holds": True})
            continue
        codes, labels = _group_codes(pool.reset_index(drop=True), lim)
        inside = codes >= 0
        sums = np.bincount(codes[inside], weights=balance[inside], minlength=len(labels))
        if lim.group == "top_lessees":
            top = np.lexsort((labels.astype(str), -sums))[:lim.n]
            value, largest = float(sums[top].sum()) / total, f"top {lim.n}"
        elif sums.size:
            g = int(np.lexsort((labels.astype(str), -sums))[0])
            value, largest = float(sums[g]) / total, str(labels[g])
        else:
            value, largest = 0.0, ""
        out.append({"code": lim.code, "group": lim.group, "max_share": lim.max_share, "value": value,
                    "largest": largest, "holds": value <= lim.max_share * (1 + _EPS)})
    return out
