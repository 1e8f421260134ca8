"""Finding a screening run's outputs and one asset's decision in them (for ``poolgate explain``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq

from features.exceptions import PoolgateError
from features.io import read_json_object
from scoring import audit

__all__ = ["AssetDecision", "NotFoundError", "asset_decisions", "find_run_dir"]


class NotFoundError(PoolgateError, LookupError):
    """A run or an asset cannot be found."""


@dataclass(frozen=True)
class AssetDecision:
    """One decision record (``decision``), its contributions (feature -> log-odds, empty for an invalid
    row), and the run's ``summary`` facts (run id, model, policy, points per log-odds)."""

    decision: dict[str, Any]
    contributions: dict[str, float]
    run: dict[str, Any]


def find_run_dir(run: str, log_path: str | os.PathLike[str]) -> Path:
    """The output folder of ``run``: the folder itself, or a run id looked up in the decision log.

    Raises
    ------
    NotFoundError
        If ``run`` is neither a folder with ``decisions.parquet`` nor a run id in the log.
    """
    p = Path(run)
    if p.is_dir():
        if not (p / "decisions.parquet").is_file():
            raise NotFoundError(f"{p}: not a screening output folder (no decisions.parquet)")
        return p
    try:
        record = audit.find_run(log_path, run)
    except audit.AuditError as exc:
        raise NotFoundError(f"run {run!r}: not a folder, and {exc}") from None
    folder = Path(record["out_dir"])
    if not (folder / "decisions.parquet").is_file():
        raise NotFoundError(f"run {run!r}: its output folder {folder} (from the decision log) no longer holds "
                            "decisions.parquet")
    return folder


def asset_decisions(run_dir: str | os.PathLike[str], asset_id: str) -> list[AssetDecision]:
    """Every decision of ``asset_id`` in a run's outputs (more than one only for a repeated contract id).

    Raises
    ------
    NotFoundError
        If no decision has that asset id.
    """
    folder = Path(run_dir)
    table = pq.read_table(folder / "decisions.parquet", filters=pc.field("asset_id") == asset_id)
    if table.num_rows == 0:
        raise NotFoundError(f"{folder}: no decision for asset {asset_id!r} (asset ids are contract_id values)")
    decisions = table.to_pandas()
    contrib = pq.read_table(folder / "contributions.parquet",
                            filters=pc.field("row").isin(decisions["row"].tolist())).to_pandas()
    summary_path = folder / "summary.json"
    run = (read_json_object(summary_path, what="the summary of a poolgate screen run").get("run", {})
           if summary_path.is_file() else {})
    out: list[AssetDecision] = []
    for rec in decisions.to_dict(orient="records"):
        row = contrib[contrib["row"] == rec["row"]]
        values: dict[str, float] = {}
        if len(row):
            values = {k: float(v) for k, v in row.iloc[0].items() if k not in ("row", "asset_id", "base_value")}
        out.append(AssetDecision({k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in rec.items()},
                                 values, run))
    return out
