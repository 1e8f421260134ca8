"""The decision record, declared once, and the decisions of one chunk of raw tape rows.

:func:`decide_chunk` runs the per-asset steps (data contract, model, eligibility, decision band,
reason codes) on a frame of raw rows; :func:`decide_frame` is the same for a whole frame and is what
the served pyfunc answers. Concentration limits need the whole admitted pool and are applied later
(:mod:`scoring.concentration`). :func:`check_decisions` checks a decisions frame against the
declaration before it leaves (file or HTTP response).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from features.contract import RepeatedIds, check_lease_tape
from features.exceptions import PoolgateError
from scoring._model import display_names, score_and_explain
from scoring.decide import STATUSES, band_messages, decide, decided_by
from scoring.eligibility import eligibility
from scoring.policy import Policy
from scoring.quantities import compute_quantity
from scoring.reasons import reason_codes

__all__ = [
    "POOL_COLUMNS",
    "POOL_FORWARD_COLUMNS",
    "ChunkDecisions",
    "DecisionRecordError",
    "RunMeta",
    "check_decisions",
    "decide_chunk",
    "decide_frame",
    "decision_columns",
    "decision_frame",
    "decision_schema",
]

#: (name, dtype, meaning) of the columns every decision record starts with.
_HEAD: tuple[tuple[str, str, str], ...] = (
    ("row", "int64", "1-based data row of the tape (the CSV header not counted)"),
    ("asset_id", "string", "contract_id as written in the tape ('' when empty)"),
    ("status", "string", "admit, refer, reject or invalid"),
    ("decided_by", "string", ("contract (invalid row), eligibility, pd_admit, pd_refer, pd_reject, or the "
                              "conc_* code of the concentration limit that dropped the asset")),
    ("pd", "float64", ("probability of default the bands applied to (fraction; the policy's [decision] pd: over "
                       "the remaining term by default); empty for invalid rows")),
    ("pd_12m", "float64", "forward PD: default within 12 months of the cut-off (fraction); empty without a forward model"),
    ("pd_remaining", "float64", ("forward PD: default over the remaining term, prepayment competing (fraction); "
                                 "empty without a forward model")),
    ("prepay_probability", "float64", "probability of prepaying over the remaining term (fraction)"),
    ("expected_life_months", "float64", "expected months from the cut-off to prepayment, default or maturity"),
    ("score", "float64", "score points from the policy's scaling; empty for invalid rows"),
    ("raw_score", "float64", "model log-odds before calibration"),
    ("base_value", "float64", "model's expected raw score over the training data (reference point)"),
    ("failed_rules", "string", "JSON list of {code, message}: eligibility rules, then concentration"),
    ("invalid_reasons", "string", "JSON list of {column, value, rule, message} from the data contract"),
    ("note", "string", "why the PD band referred or rejected the asset ('' otherwise)"),
)
_REASON = (("feature", "string"), ("value", "string"), ("logodds", "float64"), ("points", "float64"),
           ("text", "string"))
_TAIL: tuple[tuple[str, str, str], ...] = (
    ("model_uri", "string", "model used (registry URI or folder)"),
    ("model_version", "string", "registered model version ('' for a folder)"),
    ("policy_hash", "string", "sha256 of the policy's canonical content"),
    ("run_id", "string", "screening run id (see docs/screening.md)"),
)

#: Small per-asset columns kept in memory for concentration limits and the pool summary.
POOL_COLUMNS = ("row", "asset_id", "lessee_id", "dealer_id", "province", "city_tier", "vehicle_make",
                "vehicle_condition", "is_nev", "term_months", "months_on_book", "annual_rate", "ltv",
                "outstanding_principal", "pd", "score", "status")
#: Forward figures kept beside them for the pool summary (empty without a forward model).
POOL_FORWARD_COLUMNS = ("pd_remaining", "prepay_probability", "expected_life_months")
_FORWARD = {"pd_12m": "pd_12m", "pd_remaining": "pd_remaining", "prepay_probability": "prepay",
            "expected_life_months": "remaining_life"}


class DecisionRecordError(PoolgateError, RuntimeError):
    """A decisions frame does not match the declared decision record (a bug, never bad input)."""


def decision_columns(top_n: int) -> list[tuple[str, str]]:
    """(name, dtype) of every decision record column for ``top_n`` reason codes, in file order."""
    cols = [(n, t) for n, t, _ in _HEAD]
    for i in range(1, top_n + 1):
        cols += [(f"reason_{i}_{part}", t) for part, t in _REASON]
    return cols + [(n, t) for n, t, _ in _TAIL]


_ARROW_TYPES = {"string": pa.string(), "float64": pa.float64(), "int64": pa.int64()}


def decision_schema(top_n: int) -> pa.Schema:
    """Arrow schema of the decision record (:func:`decision_columns`), as written to the decision files."""
    return pa.schema([(name, _ARROW_TYPES[kind]) for name, kind in decision_columns(top_n)])


def decision_frame(table: pa.Table) -> pd.DataFrame:
    """The decision records of an Arrow ``table`` as a DataFrame with the declared dtypes (text as ``string``)."""
    return table.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)


@dataclass(frozen=True)
class RunMeta:
    """Identifiers written into every decision of a run."""

    model_uri: str = ""
    model_version: str = ""
    policy_hash: str = ""
    run_id: str = ""


@dataclass(frozen=True)
class ChunkDecisions:
    """Decisions of one chunk.

    Attributes
    ----------
    table : pyarrow.Table
        One decision record per input row, in input order (:func:`decision_schema`).
    contributions : DataFrame
        ``row``, ``asset_id``, ``base_value`` and one log-odds column per model input, for the rows
        that passed the data contract.
    pool : DataFrame
        :data:`POOL_COLUMNS` of those rows.
    contrib_seconds : float
        Wall time spent computing the contributions (for benchmarks).
    unseen : dict of str to (int, int)
        Per categorical model input, over the valid rows: values not among the levels fixed at training
        (the model reads them as missing) and values present (:attr:`scoring._model.Scored.unseen`).
    """

    table: pa.Table
    contributions: pd.DataFrame
    pool: pd.DataFrame
    contrib_seconds: float = 0.0
    unseen: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def decisions(self) -> pd.DataFrame:
        """``table`` as a DataFrame (:func:`decision_frame`)."""
        return decision_frame(self.table)


def _json_list(items: list[dict[str, Any]]) -> str:
    return json.dumps(items, ensure_ascii=False, separators=(",", ":"))


def _rule_items(codes: list[Any], messages: list[Any]) -> list[str]:
    """JSON text of each ``{"code", "message"}`` item, exactly as :func:`_json_list` writes it inside a list."""
    if all(isinstance(v, str) for v in codes) and all(isinstance(v, str) for v in messages):
        enc = json.encoder.encode_basestring  # the string encoder of json.dumps(..., ensure_ascii=False)
        return ['{"code":' + enc(c) + ',"message":' + enc(m) + "}" for c, m in zip(codes, messages)]
    return [_json_list([{"code": c, "message": m}])[1:-1] for c, m in zip(codes, messages)]


def _text_column(values: pd.Series) -> np.ndarray:
    return values.astype(object).where(values.notna(), "").astype(str).to_numpy(dtype=object)


def _contract(raw: pd.DataFrame, row_offset: int, cutoff: dt.date | None, repeated: RepeatedIds | None,
              ids: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, dict[int, list[dict[str, Any]]]]:
    """Typed records, invalid mask and the problems of each row that has any (by position); ``ids`` are
    the rows' contract ids as text ('' when empty)."""
    n = len(raw)
    check = check_lease_tape(raw, row_offset=row_offset)
    invalid = check.invalid.copy()
    problems: dict[int, list[dict[str, Any]]] = {}
    whole_file = []
    for p in check.problems.itertuples(index=False):
        item = {"column": p.column, "value": p.value, "rule": p.rule, "message": p.message}
        if p.row == 0:
            whole_file.append(item)
        else:
            problems.setdefault(int(p.row) - row_offset - 1, []).append(item)
    if whole_file:  # a required column is missing: no row can be scored
        invalid[:] = True
        problems = {i: whole_file + problems.get(i, []) for i in range(n)}
    records = check.records
    if cutoff is not None and "cutoff_date" in records.columns:
        dates = records["cutoff_date"]
        off = (dates.notna() & (dates != pd.Timestamp(cutoff))).to_numpy(dtype=bool)
        for i in np.flatnonzero(off).tolist():
            problems.setdefault(i, []).append({"column": "cutoff_date", "value": str(raw["cutoff_date"].iloc[i]),
                                "rule": "cutoff_mismatch",
                                "message": f"cutoff_date differs from the screening cut-off {cutoff.isoformat()}"})
        invalid |= off
    if repeated is not None and "contract_id" in raw.columns:
        # every copy of an id the whole tape repeats, in whichever chunk, said the same way (the
        # chunk's own copies, which the contract's unique rule found, are said again with the first row)
        first = repeated.first_rows(pd.Series(ids))
        for i in np.flatnonzero(first).tolist():
            problems[i] = [p for p in problems.get(i, []) if not (p["rule"] == "unique" and p["column"] == "contract_id")]
            problems.setdefault(i, []).append({"column": "contract_id", "value": ids[i], "rule": "unique",
                                "message": RepeatedIds.message(int(first[i]), i + row_offset + 1)})
            invalid[i] = True
    return records, invalid, problems


def decide_chunk(raw: pd.DataFrame, model: Any, policy: Policy, *, meta: RunMeta = RunMeta(),
                 row_offset: int = 0, cutoff: dt.date | None = None,
                 repeated: RepeatedIds | None = None) -> ChunkDecisions:
    """Decide every row of ``raw`` (before concentration limits).

    Parameters
    ----------
    raw : DataFrame, shape (n, ...)
        Raw tape rows (CSV text or typed Parquet values), any index.
    model : models.LeaseModel
        Fitted model (contributions, calibration, feature specification).
    policy : Policy
    meta : RunMeta
        Model URI and version, policy hash and run id written into every record.
    row_offset : int, default 0
        Data rows before this chunk in the tape, so ``row`` numbers are global.
    cutoff : date, optional
        Screening cut-off; a row whose ``cutoff_date`` differs is invalid (rule ``cutoff_mismatch``).
    repeated : features.contract.RepeatedIds, optional
        The ids the whole tape repeats (:meth:`features.contract.RepeatedIds.of_tape`): every copy is
        invalid (rule ``unique``) in whichever chunk it falls, so the decisions do not depend on the
        chunk size.

    Returns
    -------
    ChunkDecisions
        No row is dropped: a row that breaks the data contract gets status ``invalid`` with its reasons.
    """
    raw = raw.reset_index(drop=True)  # blank cells are missing values: the data contract treats them so
    n = len(raw)
    top_n = policy.reasons.top_n
    asset_id = (_text_column(raw["contract_id"]) if "contract_id" in raw.columns
                else np.full(n, "", dtype=object))
    records, invalid, problems = _contract(raw, row_offset, cutoff, repeated, asset_id)
    valid = np.flatnonzero(~invalid)
    rows = np.arange(n, dtype="int64") + row_offset + 1

    status = np.full(n, "invalid", dtype=object)
    by = np.full(n, "contract", dtype=object)
    note = np.full(n, "", dtype=object)
    nums = {c: np.full(n, np.nan) for c in ("pd", *_FORWARD, "score", "raw_score", "base_value")}
    failed_json = np.full(n, "[]", dtype=object)
    reason_cols: dict[str, np.ndarray] = {}
    for i in range(1, top_n + 1):
        for part, kind in _REASON:
            reason_cols[f"reason_{i}_{part}"] = (np.full(n, np.nan) if kind == "float64"
                                                 else np.full(n, "", dtype=object))
    contrib_seconds = 0.0
    unseen: dict[str, tuple[int, int]] = {}

    if valid.size:
        recs = records.iloc[valid]
        scored = score_and_explain(model, recs, policy.decision.pd)
        contrib_seconds, unseen = scored.contrib_seconds, scored.unseen
        score = policy.score.score(scored.pd)
        elig = eligibility(recs, policy)
        st = decide(scored.pd, elig.eligible, policy)
        status[valid] = st
        by[valid] = decided_by(st, elig.eligible)
        note[valid] = band_messages(scored.pd, st, elig.eligible, policy)
        nums["pd"][valid], nums["score"][valid] = scored.pd, score
        for column, attr in _FORWARD.items():
            values = getattr(scored, attr)
            if values is not None:
                nums[column][valid] = values
        nums["raw_score"][valid], nums["base_value"][valid] = scored.raw, scored.base_value
        if not elig.failures.empty:  # failures are sorted by position
            f = elig.failures
            pos = f["pos"].to_numpy()
            starts = np.flatnonzero(np.r_[True, pos[1:] != pos[:-1]])
            rule_json = _rule_items(f["code"].tolist(), f["message"].tolist())
            for a, b in zip(starts, np.r_[starts[1:], len(pos)]):
                failed_json[valid[int(pos[a])]] = "[" + ",".join(rule_json[a:b]) + "]"
        points_per_logodds = -policy.score.factor * scored.calibration_slope
        rc = reason_codes(scored.contributions, scored.inputs, scored.feature_names,
                          display_names(model, policy.language), policy, points_per_logodds)
        for i in range(top_n):
            reason_cols[f"reason_{i + 1}_feature"][valid] = rc.features[:, i]
            reason_cols[f"reason_{i + 1}_value"][valid] = rc.value_texts[:, i]
            reason_cols[f"reason_{i + 1}_logodds"][valid] = rc.logodds[:, i]
            reason_cols[f"reason_{i + 1}_points"][valid] = rc.points[:, i]
            reason_cols[f"reason_{i + 1}_text"][valid] = rc.texts[:, i]
        contributions = pd.DataFrame(scored.contributions, columns=scored.feature_names)
        contributions.insert(0, "base_value", scored.base_value)
        contributions.insert(0, "asset_id", asset_id[valid])
        contributions.insert(0, "row", rows[valid])
        pool = _pool_columns(recs, rows[valid], asset_id[valid], scored.pd, score, st,
                             {c: nums[c][valid] for c in _FORWARD})
    else:
        contributions = pd.DataFrame({"row": pd.Series(dtype="int64"), "asset_id": pd.Series(dtype=object),
                                      "base_value": pd.Series(dtype="float64")})
        pool = pd.DataFrame({c: [] for c in POOL_COLUMNS + POOL_FORWARD_COLUMNS})

    invalid_json = np.full(n, "[]", dtype=object)
    for i, items in problems.items():
        if items:
            invalid_json[i] = _json_list(items)
    data: dict[str, Any] = {"row": rows, "asset_id": asset_id, "status": status, "decided_by": by,
                            **nums, "failed_rules": failed_json, "invalid_reasons": invalid_json, "note": note,
                            **reason_cols, "model_uri": meta.model_uri, "model_version": meta.model_version,
                            "policy_hash": meta.policy_hash, "run_id": meta.run_id}
    return ChunkDecisions(table=_arrow_table(data, top_n, n), contributions=contributions, pool=pool,
                          contrib_seconds=contrib_seconds, unseen=unseen)


def _arrow_table(data: dict[str, Any], top_n: int, n: int) -> pa.Table:
    """The decision records as Arrow, straight from the column arrays (a ``str`` is a constant column;
    NaN becomes an empty cell, as pandas writes it)."""
    schema = decision_schema(top_n)
    arrays = [pa.repeat(pa.scalar(data[f.name], f.type), n) if isinstance(data[f.name], str)
              else pa.array(data[f.name], type=f.type, from_pandas=True) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def _pool_columns(recs: pd.DataFrame, rows: np.ndarray, ids: np.ndarray, pd_: np.ndarray, score: np.ndarray,
                  status: np.ndarray, forward: dict[str, np.ndarray]) -> pd.DataFrame:
    out = pd.DataFrame({"row": rows, "asset_id": ids})
    for c in ("lessee_id", "dealer_id", "province", "vehicle_make", "vehicle_condition"):
        out[c] = recs[c].reset_index(drop=True).fillna("").astype(str)
    out["city_tier"] = recs["city_tier"].astype("float64").to_numpy()
    out["is_nev"] = recs["is_nev"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    for c in ("term_months", "months_on_book", "annual_rate", "outstanding_principal"):
        out[c] = recs[c].astype("float64").to_numpy()
    out["ltv"] = compute_quantity(recs, "loan_to_value").to_numpy()
    out["pd"], out["score"] = pd_, score
    for c in POOL_FORWARD_COLUMNS:
        out[c] = forward[c]
    out["status"] = pd.Categorical(status, categories=list(STATUSES))
    return out[list(POOL_COLUMNS + POOL_FORWARD_COLUMNS)]


def decide_frame(raw: pd.DataFrame, model: Any, policy: Policy, *, meta: RunMeta | None = None,
                 cutoff: dt.date | None = None) -> pd.DataFrame:
    """Decision records for a whole frame of raw tape rows (no concentration limits): the online answer."""
    meta = meta or RunMeta(policy_hash=policy.sha256)
    repeated = RepeatedIds(raw["contract_id"]) if "contract_id" in raw.columns else None   # said as a tape's are
    out = decide_chunk(raw, model, policy, meta=meta, cutoff=cutoff, repeated=repeated).decisions
    check_decisions(out, policy.reasons.top_n, n_rows=len(raw))
    return out


def check_decisions(frame: pd.DataFrame, top_n: int, *, n_rows: int | None = None) -> None:
    """Check ``frame`` against the declared decision record.

    Raises
    ------
    DecisionRecordError
        If a column is missing, extra, out of order or of the wrong type; a status is unknown; row
        numbers are not unique and increasing; a PD is outside [0, 1] or missing for a valid row;
        or (with ``n_rows``) the frame does not hold exactly that many rows.
    """
    want = decision_columns(top_n)
    names = [n for n, _ in want]
    if list(frame.columns) != names:
        raise DecisionRecordError(f"decision record: columns {list(frame.columns)} differ from the declared {names}")
    for name, kind in want:
        dtype = frame[name].dtype
        ok = isinstance(dtype, pd.StringDtype) if kind == "string" else str(dtype) == kind
        if not ok:
            raise DecisionRecordError(f"decision record: column {name} has type {dtype}, declared {kind}")
    unknown = sorted(set(frame["status"].dropna().unique()) - set(STATUSES))
    if unknown or frame["status"].isna().any():
        raise DecisionRecordError(f"decision record: status {unknown or 'empty'} not one of {', '.join(STATUSES)}")
    rows = frame["row"].to_numpy()
    if rows.size and (np.any(np.diff(rows) <= 0)):
        raise DecisionRecordError("decision record: row numbers must be unique and increasing (input order)")
    p = frame["pd"].to_numpy(dtype="float64", na_value=np.nan)
    valid = (frame["status"] != "invalid").to_numpy(dtype=bool)
    if np.isnan(p[valid]).any() or (p[valid] < 0).any() or (p[valid] > 1).any():
        raise DecisionRecordError("decision record: pd must be within [0, 1] for every valid row")
    if n_rows is not None and len(frame) != n_rows:
        raise DecisionRecordError(f"decision record: {len(frame)} decisions for {n_rows} input rows")
