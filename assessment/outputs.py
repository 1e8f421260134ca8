"""Files of an assessment: ``assessment.json`` (everything) and ``weights.csv`` (one row per node).

Both are written atomically (a temporary file in the target folder, then :func:`os.replace`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from features.io import write_json, write_table

__all__ = ["ASSESSMENT_JSON", "WEIGHTS_CSV", "weights_frame", "write_assessment"]

ASSESSMENT_JSON = "assessment.json"
WEIGHTS_CSV = "weights.csv"


def weights_frame(result: Mapping[str, Any]) -> pd.DataFrame:
    """One row per node below the goal, in hierarchy order.

    Columns: ``node``, ``parent``, ``criterion``, ``depth``, ``leaf``, ``en``, ``zh``; ``local_M`` and
    ``global_M`` for M in ``aij`` (the group's weights), ``aij_gm``, ``aip``; for leaves ``rank`` (by
    global AIJ weight), ``rating`` (group), ``contribution``, ``indicator``, ``measured``,
    ``measured_rating``, ``disagree``; then ``local_E`` and ``global_E`` for each expert E.
    """
    w = result["weights"]
    leaves = {x["name"]: x for x in result["leaves"]}
    rows = []
    for n in result["nodes"]:
        if n["parent"] is None:
            continue
        name = n["name"]
        row: dict[str, Any] = {k: n[k] for k in ("parent", "criterion", "depth", "leaf", "en", "zh")}
        row = {"node": name, **row}
        for m in result["methods"]:
            row[f"local_{m}"] = w[m]["local"][name]
            row[f"global_{m}"] = w[m]["global"][name]
        leaf = leaves.get(name, {})
        for k in ("rank", "rating", "contribution", "indicator", "measured", "measured_rating", "disagree"):
            row[k] = leaf.get(k)
        for e in result["experts"]:
            row[f"local_{e['id']}"] = w[f"expert:{e['id']}"]["local"][name]
            row[f"global_{e['id']}"] = w[f"expert:{e['id']}"]["global"][name]
        rows.append(row)
    frame = pd.DataFrame(rows)
    return frame.astype({"rank": "Int64", "measured_rating": "Int64"})


def write_assessment(result: Mapping[str, Any], out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``assessment.json`` and ``weights.csv`` into ``out_dir`` (created); returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return {"json": write_json(dict(result), out / ASSESSMENT_JSON),
            "weights": write_table(weights_frame(result), out / WEIGHTS_CSV)}
