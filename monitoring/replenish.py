"""The pool as it stands, for screening a revolving deal's replenishment (``poolgate screen --existing-pool``).

A monitoring output (``poolgate monitor --out``) knows each admitted asset's state and balance at its last
period (``assets.parquet``) and which tape the original screening read (``summary.json``). The assets still
in the pool, with their current balances and the group fields of the concentration limits (lessee,
province, dealer, make, new/used, new-energy) from that tape, are what the limits must count besides the
new candidates (:func:`scoring.concentration.apply_limits`, ``existing``). Every asset of the monitored pool,
whether still in it or gone (prepaid, matured, defaulted), is a contract the deal has bought: a candidate
with its ``contract_id`` is refused (:func:`held_contracts`; rule ``already_in_pool`` of
:func:`scoring.screen.screen_tape`).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pandas as pd

from features.contract import check_lease_tape
from features.io import read_json_object, read_table
from monitoring.inputs import MonitorInputError
from scoring.concentration import GROUP_COLUMNS

__all__ = ["GROUP_COLUMNS", "existing_pool", "held_contracts"]



def _monitor_assets(d: Path, cutoff: dt.date | None) -> tuple[dict[str, Any], pd.DataFrame]:
    """The monitor output's summary and its ``asset_id``, ``state``, ``balance`` (checked: present, same date)."""
    for name in ("summary.json", "assets.parquet"):
        if not (d / name).is_file():
            raise MonitorInputError(f"{d / name}: missing; --existing-pool must be a poolgate monitor output folder")
    summary = read_json_object(d / "summary.json", what="the summary of a poolgate monitor run")
    asof = str(summary.get("asof"))
    if cutoff is not None and cutoff.isoformat() != asof:
        raise MonitorInputError(f"{d / 'summary.json'}: asof = {asof!r}: rule same_date (the pool's balances are "
                                f"of that date; the replenishment's cut-off is {cutoff.isoformat()})")
    return summary, pd.read_parquet(d / "assets.parquet", columns=["asset_id", "state", "balance"])


def existing_pool(monitor_dir: str | os.PathLike[str], *, cutoff: dt.date | None = None) -> pd.DataFrame:
    """The assets still in the pool at the monitor's last period: group fields and current balance.

    Parameters
    ----------
    monitor_dir : path-like
        A ``poolgate monitor`` output folder.
    cutoff : date, optional
        The replenishment's cut-off; it must be the monitor's as-of date (the balances are of that date).

    Returns
    -------
    DataFrame
        ``contract_id``, :data:`GROUP_COLUMNS` and ``outstanding_principal`` (CNY at the as-of date).

    Raises
    ------
    MonitorInputError
        If a file is missing, the dates differ, or an asset is not in the original tape.
    """
    d = Path(monitor_dir)
    summary, assets = _monitor_assets(d, cutoff)
    live = assets[assets["state"] == "in_pool"]
    tape = Path(str(summary.get("run", {}).get("tape", "")))
    if not tape.is_file():
        raise MonitorInputError(f"{d / 'summary.json'}: run.tape = {str(tape)!r}: rule tape_present (the group "
                                "fields of the pool's assets come from the tape the pool was screened from)")
    records = check_lease_tape(read_table(tape, columns=["contract_id", *GROUP_COLUMNS]),
                               required=["contract_id", *GROUP_COLUMNS]).records
    records = records.drop_duplicates("contract_id")
    records = records.set_index(records["contract_id"].astype(str).to_numpy())
    missing = ~live["asset_id"].isin(records.index)
    if missing.any():
        raise MonitorInputError(f"{tape}: contract_id = {live['asset_id'][missing].iloc[0]!r}: rule in_run_pool "
                                "(an asset of the monitored pool is not in its screening tape)")
    out = records.loc[live["asset_id"].to_numpy(), ["contract_id", *GROUP_COLUMNS]].reset_index(drop=True)
    out["outstanding_principal"] = live["balance"].to_numpy(dtype="float64")
    return out


def held_contracts(monitor_dir: str | os.PathLike[str], *, cutoff: dt.date | None = None) -> pd.Series:
    """Every contract the monitored pool holds or has held, with its state at the as-of date.

    Parameters
    ----------
    monitor_dir : path-like
        A ``poolgate monitor`` output folder.
    cutoff : date, optional
        The replenishment's cut-off; it must be the monitor's as-of date.

    Returns
    -------
    Series of str
        ``state`` (``in_pool``, ``prepaid``, ``matured``, ``defaulted``, ``not_reported``) indexed by
        ``contract_id``: the ``screen_tape`` argument ``held``.

    Raises
    ------
    MonitorInputError
        If a file is missing or the dates differ.
    """
    _, assets = _monitor_assets(Path(monitor_dir), cutoff)
    return pd.Series(assets["state"].astype(str).to_numpy(), index=assets["asset_id"].astype(str).to_numpy(),
                     name="state")
