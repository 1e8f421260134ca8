"""A screening run: tape in, decisions, contributions, pool summary and one decision-log record out.

The tape is streamed in chunks (:func:`features.io.iter_table`). Each chunk is validated, scored,
explained and decided (:func:`scoring.decisions.decide_chunk`); in a replenishment, a candidate the
pool already holds or has held is refused (rule ``already_in_pool``, :func:`_refuse_held`). Its
contributions go straight into the (temporary) contributions file, written by a worker thread, its
decision records into a temporary Arrow part file, and only the small per-asset columns needed for the pool
(:data:`scoring.decisions.POOL_COLUMNS`) stay in memory. Concentration limits then run on the whole admitted set, and the decision parts are streamed
once more into the final files, with the assets the limits dropped turned into ``reject``
(``decided_by`` = the limit's ``conc_*`` code, the limit's message appended to ``failed_rules``).

Outputs in ``out_dir``: ``decisions.parquet`` and ``decisions.csv`` (one row per input row, input
order), ``contributions.parquet`` (every feature's log-odds contribution of every valid row, plus the
base value) and ``summary.json``. The decision log is checked first (it must accept a record); each
output is written to a temporary file and moved into place; the log record is appended last. A run that
fails midway leaves none of the new files and no log record.

The run id is derived from the content: sha256 of (tape digest, model digest, policy hash, cut-off),
first 16 hex digits. So the same tape, model and policy give the same run id and byte-identical
decisions (no time is written into them); the time of each run is in the decision log only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from features.contract import RepeatedIds
from features.exceptions import TapeError
from features.io import iter_table, write_json
from features.pause import pause_point
from features.staging import make_staging, remove_stale
from models import LeaseModel
from scoring import audit
from scoring._model import pd_basis, pd_basis_fallback
from scoring.concentration import GROUP_COLUMNS, apply_limits, limit_values
from scoring.decide import STATUSES
from scoring.decisions import (
    DecisionRecordError,
    RunMeta,
    check_decisions,
    decide_chunk,
    decision_frame,
    decision_schema,
)
from scoring.policy import Policy
from scoring.registry import ModelRef
from scoring.summary import pool_summary

__all__ = ["ALREADY_IN_POOL", "OUTPUT_FILES", "ScreenResult", "run_id_for", "screen_tape"]

log = logging.getLogger(__name__)

OUTPUT_FILES = ("decisions.parquet", "decisions.csv", "contributions.parquet", "summary.json")

#: Eligibility rule of a replenishment: a contract the pool holds or has held is not bought again.
ALREADY_IN_POOL = "already_in_pool"
#: Its message by policy language (not a policy figure: like the data contract's ``unique``, it holds in
#: every deal); ``{value}`` is the contract id, ``{state}`` its state at the cut-off.
_ALREADY_IN_POOL_TEXT = {
    "en": ("contract_id {value} was bought into the pool before (its state at the cut-off: {state}); "
           "a contract enters the pool once"),
    "zh": "合同编号 {value} 此前已购入资产池（基准日状态：{state}），同一合同只能入池一次",
}


@dataclass(frozen=True)
class ScreenResult:
    """What a screening run produced: ``run_id``, ``out_dir``, ``counts`` by status, the pool
    ``summary`` (as in summary.json), the decision-log ``record`` appended, and ``seconds``: wall time
    of the whole run (``total``) and of the LightGBM contributions inside it (``contributions``)."""

    run_id: str
    out_dir: Path
    counts: dict[str, int]
    summary: dict[str, Any]
    record: dict[str, Any]
    seconds: dict[str, float]


#: A categorical input whose values are unseen in training at least this often gets a warning (fraction).
UNSEEN_WARN = 0.05


def run_id_for(input_digest: str, model_digest: str, policy_hash: str, cutoff: dt.date | None,
               model_uri: str = "", model_version: str | None = None) -> str:
    """Content-derived run id: first 16 hex digits of sha256 over the run's inputs and everything else the
    decision files record (the model's URI and version as well as its digest: one bundle reached as
    ``@champion`` and as ``/1`` writes different files, so the two runs must not share an id)."""
    key = (f"{input_digest}|{model_digest}|{policy_hash}|{cutoff.isoformat() if cutoff else ''}|{model_uri}|"
           f"{model_version or ''}")
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def _write_part(table: pa.Table, path: Path) -> None:
    """Stage decision records as an uncompressed Arrow IPC file (read back memory-mapped)."""
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


class _Sink:
    """One output file written in order by its own thread.

    Arrow's Parquet and CSV writers and hashing release the GIL: each chunk's contributions are written
    while the next chunk is read and checked (single-threaded work that leaves a core idle), and the
    two decision files and the pool summary are produced side by side once the contributions (which use
    every core) are done. At most ``depth`` tables wait for the writer.
    """

    def __init__(self, writer: Any, path: Path, depth: int = 2) -> None:
        self._writer, self._path, self._depth = writer, path, depth
        self._thread = ThreadPoolExecutor(max_workers=1)
        self._pending: list[Future[Any]] = []
        self._open = True

    def write(self, table: pa.Table) -> None:
        self._pending.append(self._thread.submit(self._writer.write_table, table))
        while len(self._pending) > self._depth:
            self._pending.pop(0).result()

    def finish(self) -> str:
        """Wait for every write, close the file and return its sha256 (re-raises a failed write)."""
        for job in self._pending:
            job.result()
        self._pending = []
        return self._thread.submit(self._close_and_digest).result()

    def _close_and_digest(self) -> str:
        self._open = False
        self._writer.close()
        return audit.file_digest(self._path)

    def close(self) -> None:
        """Stop the thread and close the file (after a failure: nothing more is written)."""
        self._thread.shutdown(wait=True, cancel_futures=True)
        if self._open:
            self._open = False
            self._writer.close()


def _reject_rows(table: pa.Table, refusals: Mapping[int, tuple[str, str]], rows_hit: np.ndarray,
                 decided_by: str | None = None) -> pa.Table:
    """Turn the rows of ``refusals`` (row -> (rule code, message)) into rejects, with their reason.

    The rule is appended to ``failed_rules``. ``decided_by`` None: each row's rule code (a concentration
    limit, which only admitted assets meet); otherwise that value for every hit row and its ``note``
    cleared (an eligibility rule: the PD band no longer settles the status, see
    :func:`scoring.decide.band_messages`). ``rows_hit`` are the keys of ``refusals``, sorted. Only those
    columns of the hit rows are touched; every other cell is passed through as it is.
    """
    rows = table.column("row").to_numpy()
    hit = np.isin(rows, rows_hit)
    if not hit.any():
        return table
    rules = [refusals[int(r)] for r in rows[hit]]
    old = pc.filter(table.column("failed_rules"), pa.array(hit)).to_pylist()
    failed = [json.dumps(json.loads(text) + [{"code": code, "message": message}], ensure_ascii=False,
                         separators=(",", ":")) for text, (code, message) in zip(old, rules)]
    new = {"status": ["reject"] * len(rules), "failed_rules": failed,
           "decided_by": [code for code, _ in rules] if decided_by is None else [decided_by] * len(rules)}
    if decided_by is not None:
        new["note"] = [""] * len(rules)
    mask = pa.array(hit)
    for name, values in new.items():
        i = table.schema.get_field_index(name)
        column = pc.replace_with_mask(table.column(name).combine_chunks(), mask, pa.array(values, pa.string()))
        table = table.set_column(i, table.schema.field(i), column)
    return table


def _refuse_held(table: pa.Table, pool: pd.DataFrame, held: pd.Series,
                 language: str) -> tuple[pa.Table, pd.DataFrame, int]:
    """Refuse the valid candidates the pool already holds or has held (rule :data:`ALREADY_IN_POOL`).

    ``held`` maps a stripped contract id to its state at the cut-off. Such a candidate becomes ``reject``
    (``decided_by`` ``eligibility``, the rule appended to its ``failed_rules``; its PD, score and reason
    codes stay); an invalid row stays invalid. Returns the edited decisions, ``pool`` with the same
    statuses, and the number refused.
    """
    ids = table.column("asset_id").to_pandas().astype(str).str.strip()
    state = ids.map(held)
    hit = (state.notna() & (table.column("status").to_pandas() != "invalid")).to_numpy(dtype=bool)
    if not hit.any():
        return table, pool, 0
    rows = table.column("row").to_numpy()[hit]
    template = _ALREADY_IN_POOL_TEXT[language]
    refusals = {int(r): (ALREADY_IN_POOL, template.format(value=v, state=st))
                for r, v, st in zip(rows, ids[hit], state[hit])}
    pool = pool.copy()
    pool.loc[pool["row"].isin(rows), "status"] = "reject"
    return _reject_rows(table, refusals, np.sort(rows), decided_by="eligibility"), pool, int(hit.sum())


def screen_tape(
    tape: str | os.PathLike[str],
    *,
    model: LeaseModel,
    model_ref: ModelRef,
    policy: Policy,
    out_dir: str | os.PathLike[str],
    log_path: str | os.PathLike[str],
    cutoff: dt.date | None = None,
    chunksize: int = 100_000,
    on_chunk: Callable[[int], None] | None = None,
    existing: pd.DataFrame | None = None,
    held: pd.Series | None = None,
) -> ScreenResult:
    """Screen every row of ``tape`` and write the outputs (see the module docstring).

    Parameters
    ----------
    tape : path-like
        Candidate pool tape (CSV or Parquet) of canonical lease records.
    model : LeaseModel
    model_ref : ModelRef
        URI, version and digest of ``model`` (written into every decision and the log).
    policy : Policy
    out_dir : path-like
        Output folder (created if needed); existing output files are replaced.
    log_path : path-like
        Decision log to append to; checked before anything is written (:func:`scoring.audit.check_appendable`).
    cutoff : date, optional
        Pool cut-off; rows with another ``cutoff_date`` are ``invalid`` (rule ``cutoff_mismatch``).
    chunksize : int, default 100_000
        Rows per chunk.
    on_chunk : callable, optional
        Called with the number of rows of each chunk done (progress bars).
    existing : DataFrame, optional
        The pool as it stands, for a replenishment: its assets count in the concentration limits (see
        :func:`scoring.concentration.apply_limits`) but are not screened again, and a candidate among
        them is refused (rule :data:`ALREADY_IN_POOL`).
    held : Series of str, optional
        With ``existing``: the state at the cut-off (``in_pool``, ``prepaid``, ``matured``, ``defaulted``,
        ...) of every contract the pool holds or has held, indexed by ``contract_id``; a candidate among
        them is refused (rule :data:`ALREADY_IN_POOL`). Default: ``existing["contract_id"]``, ``in_pool``.

    Raises
    ------
    TapeError
        If the tape as a whole cannot be read.
    AuditError
        If the decision log could not be appended to (checked before any output is written).
    ValueError
        If ``held`` is given without ``existing``.
    """
    started = time.perf_counter()
    if held is not None and existing is None:
        raise ValueError("screen_tape: held (the contracts a pool holds or has held) needs existing (that pool)")
    audit.check_appendable(log_path)
    contrib_seconds = 0.0
    unseen: dict[str, tuple[int, int]] = {}   # categorical input -> (values unseen in training, values present)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    input_digest = audit.file_digest(tape)
    run_id = run_id_for(input_digest, model_ref.digest, policy.sha256, cutoff, model_ref.uri, model_ref.version)
    existing_digest = None
    held_ids: pd.Series | None = None
    if existing is not None:   # a replenishment: the pool as it stands is an input too
        digest = hashlib.sha256(pd.util.hash_pandas_object(existing, index=False).to_numpy().tobytes())
        if held is not None:
            digest.update(pd.util.hash_pandas_object(held, index=True).to_numpy().tobytes())
        else:
            held = pd.Series("in_pool", index=existing["contract_id"].astype(str).to_numpy(), dtype=object)
        existing_digest = digest.hexdigest()
        run_id = hashlib.sha256(f"{run_id}|{existing_digest}".encode()).hexdigest()[:16]
        held_ids = pd.Series(held.astype(str).to_numpy(), index=held.index.astype(str).str.strip())
        held_ids = held_ids[~held_ids.index.duplicated()]
    meta = RunMeta(model_uri=model_ref.uri, model_version=model_ref.version, policy_hash=policy.sha256,
                   run_id=run_id)
    fallback = pd_basis_fallback(model, policy.decision.pd, model_uri=model_ref.uri,
                                 policy=policy.source or policy.name)
    if fallback:
        log.warning("%s", fallback)
    top_n = policy.reasons.top_n
    schema = decision_schema(top_n)
    remove_stale(out, (".screen-*", ".*.tmp"))  # what runs killed here left (never a live run's)
    staging = make_staging(out, ".screen-")
    tmp = {name: staging / name for name in OUTPUT_FILES}
    contrib_sink: _Sink | None = None
    try:
        parts: list[Path] = []
        pools: list[pd.DataFrame] = []
        counts = {s: 0 for s in STATUSES}
        already_in_pool = 0
        repeated = RepeatedIds.of_tape(tape)
        n_rows = 0
        try:
            with contextlib.closing(iter_table(tape, chunksize=chunksize)) as chunks:  # type: ignore[type-var]
                for chunk in chunks:
                    pause_point("screen.read")
                    res = decide_chunk(chunk, model, policy, meta=meta, row_offset=n_rows, cutoff=cutoff,
                                       repeated=repeated)
                    pause_point("screen.score")
                    table, chunk_pool = res.table, res.pool
                    if held_ids is not None:
                        table, chunk_pool, refused = _refuse_held(table, chunk_pool, held_ids, policy.language)
                        already_in_pool += refused
                    frame = decision_frame(table)
                    check_decisions(frame, top_n, n_rows=len(chunk))
                    for status, c in frame["status"].value_counts().items():
                        counts[str(status)] += int(c)
                    del frame
                    contrib_seconds += res.contrib_seconds
                    for name, (new, present) in res.unseen.items():
                        seen_before = unseen.get(name, (0, 0))
                        unseen[name] = (seen_before[0] + new, seen_before[1] + present)
                    parts.append(staging / f"decisions-{len(parts):05d}.arrow")
                    _write_part(table, parts[-1])
                    if len(res.contributions):
                        contrib = pa.Table.from_pandas(res.contributions, preserve_index=False)
                        contrib = contrib.replace_schema_metadata(None)
                        if contrib_sink is None:  # written while the next chunk is read and checked
                            contrib_sink = _Sink(pq.ParquetWriter(tmp["contributions.parquet"], contrib.schema),
                                                 tmp["contributions.parquet"])
                        contrib_sink.write(contrib)
                    pools.append(chunk_pool)
                    n_rows += len(chunk)
                    if on_chunk is not None:
                        on_chunk(len(chunk))
            contrib_digest = contrib_sink.finish() if contrib_sink is not None else None
        finally:
            if contrib_sink is not None:
                contrib_sink.close()
        if contrib_digest is None:
            pq.write_table(pa.table({"row": pa.array([], pa.int64())}), tmp["contributions.parquet"])
            contrib_digest = audit.file_digest(tmp["contributions.parquet"])
        del repeated
        nonempty = [p for p in pools if len(p)]
        pool = pd.concat(nonempty, ignore_index=True) if nonempty else pools[0]
        drops = {d.row: d for d in apply_limits(pool, policy, existing)}
        if drops:
            pool.loc[pool["row"].isin(list(drops)), "status"] = "reject"
        admitted = int((pool["status"].astype(str) == "admit").sum()) + len(drops)
        log.info("%d rows decided; concentration limits dropped %d of %d admitted assets", n_rows, len(drops),
                 admitted)
        if admitted and len(drops) > admitted / 2:
            log.warning("concentration limits dropped %d of %d admitted assets: check that the policy's limits "
                        "suit a pool of this size (a top-N or single-lessee share below N / pool size cannot hold)",
                        len(drops), admitted)

        # every dropped asset was admitted (apply_limits considers no other)
        counts["admit"] -= len(drops)
        counts["reject"] += len(drops)
        if sum(counts.values()) != n_rows:  # pragma: no cover - guarded by check_decisions
            raise TapeError(f"{tape}: {sum(counts.values())} decisions for {n_rows} rows")

        dropped_rows = np.array(sorted(drops), dtype="int64")
        limit_refusals = {row: (d.code, d.message) for row, d in drops.items()}
        written = {s: 0 for s in STATUSES}
        expected_row = 1
        with ThreadPoolExecutor(max_workers=1) as summarizer:
            summary_job = summarizer.submit(pool_summary, pool, policy, dict(counts))
            sinks = {"decisions.parquet": _Sink(pq.ParquetWriter(tmp["decisions.parquet"], schema),
                                                tmp["decisions.parquet"]),
                     "decisions.csv": _Sink(pacsv.CSVWriter(tmp["decisions.csv"], schema), tmp["decisions.csv"])}
            try:
                for path in parts:
                    with pa.memory_map(str(path)) as source:
                        table = _reject_rows(pa.ipc.open_file(source).read_all(), limit_refusals, dropped_rows)
                    frame = decision_frame(table)
                    check_decisions(frame, top_n)
                    if len(frame) and int(frame["row"].iat[0]) != expected_row:
                        raise TapeError(f"{tape}: decisions out of order at row {expected_row}")  # pragma: no cover
                    expected_row += len(frame)
                    for status, c in frame["status"].value_counts().items():
                        written[str(status)] += int(c)
                    del frame
                    for sink in sinks.values():
                        sink.write(table)
                    del table
                digests = {name: sink.finish() for name, sink in sinks.items()}
            finally:
                for sink in sinks.values():
                    sink.close()
            digests["contributions.parquet"] = contrib_digest
            summary = summary_job.result()
        if written != counts:  # pragma: no cover - a bug, not bad input
            raise DecisionRecordError(f"decision record: counts written {written} differ from those decided {counts}")
        summary["run"] = {"run_id": run_id, "tape": str(tape), "input_digest": input_digest,
                          "cutoff": cutoff.isoformat() if cutoff else None, "rows": n_rows,
                          "model_uri": model_ref.uri, "model_version": model_ref.version,
                          "model_digest": model_ref.digest, "policy_name": policy.name,
                          "policy_version": policy.version, "policy_hash": policy.sha256,
                          "policy_file": policy.source, "admitted_before_limits": admitted, "concentration_drops": len(drops),
                          "pd_basis": pd_basis(model, policy.decision.pd),
                          "points_per_logodds": -policy.score.factor * (
                              1.0 if pd_basis(model, policy.decision.pd) != "origination" else float(model.calibration.b)),
                          "digests": digests}
        # category values the model never saw read as missing: said, so that a tape coded otherwise than
        # the training book (Chinese makes for English ones) is not scored as if the values were empty
        summary["run"]["unseen_levels"] = {name: {"values": present, "unseen": new}
                                           for name, (new, present) in sorted(unseen.items()) if new}
        for name, (new, present) in sorted(unseen.items()):
            if present and new / present >= UNSEEN_WARN:
                log.warning("%s: %d of %d values (%.0f%%) are not among the levels the model was trained on and "
                            "are read as missing; is the tape coded as the training book was?", name, new, present,
                            100.0 * new / present)
        if existing is not None:
            # the limits hold on the pool after the purchase: the assets still in it and the candidates admitted
            cols = ["outstanding_principal", *GROUP_COLUMNS]
            bought = pool.loc[pool["status"].astype(str) == "admit", cols]
            combined = pd.concat([bought, existing[cols]], ignore_index=True)
            summary["run"]["existing_pool"] = {
                "assets": len(existing), "digest": existing_digest,
                "balance": round(float(existing["outstanding_principal"].sum()), 2),
                "held": len(held_ids) if held_ids is not None else 0, ALREADY_IN_POOL: already_in_pool,
                "after_purchase": {"assets": len(combined),
                                   "balance": round(float(combined["outstanding_principal"].sum()), 2),
                                   "concentration": [{**v, "value": round(float(v["value"]), 6)}  # type: ignore[arg-type]
                                                     for v in limit_values(combined, policy)]}}
        write_json(summary, tmp["summary.json"])
        for name in OUTPUT_FILES:
            with open(tmp[name], "rb") as fh:
                os.fsync(fh.fileno())
        for name in OUTPUT_FILES:  # summary.json (the digests of the others) last
            os.replace(tmp[name], out / name)
            pause_point("screen.write")
        seconds = {"total": round(time.perf_counter() - started, 3), "contributions": round(contrib_seconds, 3)}
        record = audit.append(log_path, {
            "run_id": run_id, "model_uri": model_ref.uri, "model_version": model_ref.version,
            "model_digest": model_ref.digest, "policy_hash": policy.sha256, "policy_version": policy.version,
            "input_digest": input_digest, "tape": str(tape), "cutoff": summary["run"]["cutoff"],
            "out_dir": str(out.resolve()), "decisions_digest": digests["decisions.parquet"],
            "decisions_csv_digest": digests["decisions.csv"],
            "contributions_digest": digests["contributions.parquet"],
            "summary_digest": audit.file_digest(out / "summary.json"), "rows": n_rows, "counts": counts,
            "seconds": seconds,
        })
        return ScreenResult(run_id=run_id, out_dir=out, counts=counts, summary=summary, record=record,
                            seconds=seconds)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
