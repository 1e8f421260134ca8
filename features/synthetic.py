"""A synthetic Chinese auto-lease book: contracts, monthly performance, a candidate pool, the truth.

The assumptions (and the public figures behind them) are in ``docs/sample_book.md``. Contracts are
generated in fixed blocks of :data:`BLOCK` contracts, each from its own random stream
(``SeedSequence([seed, stream, block])``) with every draw made at full block size, so the output
depends only on ``(n_contracts, seed, cutoff, profile)`` and a smaller book is a prefix of a bigger
one. Everything is vectorised numpy; :func:`write_book` streams block by block, so memory stays
flat whatever the size.

Files written by :func:`write_book` (``.parquet`` or ``.csv``):

* ``contracts``: the book's canonical lease records at the cut-off (vintages 2018-01 to 2024-12);
  clean (``poolgate validate`` exits 0).
* ``performance``: one row per contract and month-end (``PERFORMANCE_FIELDS``).
* ``pool``: the candidate pool tape at the cut-off, with about 1.5 % defective rows.
* ``truth``: per contract the exact PDs, the log-odds pieces and the simulated outcome (including
  months after the cut-off); for measuring models only, never an input.
* ``pool_performance``: the pool's life after the cut-off: one row per pool contract and month-end
  to the end of its life, with charge-offs and recoveries (``features._synth_pool_life``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from features._synth_draw import annuity_rent, draw_block, make_dealers, origination_weights
from features._synth_forward import FORWARD_COLUMNS, forward_truth
from features._synth_history import STATUS_CODES, build_history
from features._synth_pool import apply_defects, pool_selection
from features._synth_pool_life import pool_life_rng, pool_life_table
from features._synth_profiles import EMPLOYMENT, FIRST_YEAR, LAST_VINTAGE_YEAR, PROFILES, TERMS, Profile
from features._synth_risk import default_probability, monthly_hazards, risk_components, sample_events
from features.exceptions import ConfigError
from features.schema import (
    LEASE_FIELDS,
    LEASE_TYPES,
    PERFORMANCE_FIELDS,
    PERFORMANCE_LOSS_FIELDS,
    PROVINCES,
    VEHICLE_CONDITIONS,
)

__all__ = ["BLOCK", "FILES", "Book", "BookFiles", "book_schemas", "generate_book", "iter_book", "write_book"]

BLOCK = 25_000
FILES = ("contracts", "performance", "pool", "truth", "pool_performance")
MAX_CONTRACTS = 50_000_000
_BOOK, _FRESH = 0, 1
_BASE_MONTH = np.datetime64(f"{FIRST_YEAR}-01", "M")
_ARROW = {"string": pa.string(), "category": pa.string(), "int": pa.int64(), "float": pa.float64(),
          "bool": pa.bool_(), "date": pa.date32()}
_COMPONENTS = ("c_payment_to_income", "c_loan_to_value", "c_age", "c_credit_quality", "c_thin_file",
               "c_inquiries", "c_job_tenure", "c_employment", "c_city_tier", "c_income", "c_guarantor",
               "c_gps", "c_vehicle", "c_term")


@dataclass(frozen=True)
class Book:
    """The tables of a synthetic book as frames (see the module docstring)."""

    contracts: pd.DataFrame
    performance: pd.DataFrame
    pool: pd.DataFrame
    truth: pd.DataFrame
    pool_performance: pd.DataFrame


@dataclass(frozen=True)
class BookFiles:
    """What :func:`write_book` wrote: the path and the number of data rows of each file."""

    paths: dict[str, Path]
    rows: dict[str, int]


def book_schemas() -> dict[str, pa.Schema]:
    """Arrow schemas of the files (``pool`` keeps ``monthly_income`` as text: it holds defects)."""
    lease = pa.schema([(f.name, _ARROW[f.kind]) for f in LEASE_FIELDS])
    pool = pa.schema([(f.name, pa.string() if f.name == "monthly_income" else _ARROW[f.kind])
                      for f in LEASE_FIELDS])
    perf = pa.schema([(f.name, _ARROW[f.kind]) for f in PERFORMANCE_FIELDS])
    truth = pa.schema(
        [("contract_id", pa.string()), ("in_book", pa.bool_()), ("vintage", pa.string()),
         ("pd_12m", pa.float64()), ("pd_24m", pa.float64()), ("pd_lifetime", pa.float64()),
         ("risk_logit", pa.float64())] + [(c, pa.float64()) for c in _COMPONENTS]
        + [("outcome", pa.string()), ("default_month", pa.int64()), ("prepay_month", pa.int64()),
           ("outcome_observed", pa.bool_()), ("pool_defect", pa.string())]
        + [(c, pa.float64()) for c in FORWARD_COLUMNS])
    pool_perf = pa.schema([(f.name, _ARROW[f.kind]) for f in PERFORMANCE_FIELDS + PERFORMANCE_LOSS_FIELDS])
    return {"contracts": lease, "performance": perf, "pool": pool, "truth": truth, "pool_performance": pool_perf}


@dataclass(frozen=True)
class _Setup:
    profile: Profile
    seed: int
    cutoff: dt.date
    cutoff_month: int          # month index of the cut-off (0 = January 2018)
    month_end_cutoff: bool
    book_probs: np.ndarray     # origination month probabilities of the book
    fresh_probs: np.ndarray | None
    n_contracts: int
    n_fresh: int
    width: int


def _setup(n_contracts: int, seed: int, cutoff: dt.date, profile: str) -> _Setup:
    if profile not in PROFILES:
        raise ConfigError(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    if not isinstance(n_contracts, (int, np.integer)) or not 1 <= n_contracts <= MAX_CONTRACTS:
        raise ConfigError(f"n_contracts must be a whole number from 1 to {MAX_CONTRACTS:,}, got {n_contracts!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a whole number >= 0, got {seed!r}")
    if not isinstance(cutoff, dt.date):
        raise ConfigError(f"cutoff must be a date, got {cutoff!r}")
    cm = (cutoff.year - FIRST_YEAR) * 12 + cutoff.month - 1
    if not 7 <= cm <= 12 * (LAST_VINTAGE_YEAR - FIRST_YEAR + 10):
        raise ConfigError(f"cutoff must be between {FIRST_YEAR}-08-01 and {LAST_VINTAGE_YEAR + 9}-12-31 "
                          f"(vintages start in {FIRST_YEAR}-01), got {cutoff.isoformat()}")
    prof = PROFILES[profile]
    last = min(12 * (LAST_VINTAGE_YEAR - FIRST_YEAR + 1) - 1, cm - 1)
    fresh_months = np.arange(max(last + 1, cm - 5), cm)
    fresh = None
    if len(fresh_months):
        fresh = np.zeros(cm)
        fresh[fresh_months] = 1.0 / len(fresh_months)
    month_end = (cutoff + dt.timedelta(days=1)).day == 1
    return _Setup(profile=prof, seed=int(seed), cutoff=cutoff, cutoff_month=cm, month_end_cutoff=month_end,
                  book_probs=origination_weights(prof, last), fresh_probs=fresh, n_contracts=int(n_contracts),
                  n_fresh=(max(1, int(n_contracts) // 400) if fresh is not None else 0),
                  width=max(TERMS) + 3)


def _ids(prefix: bytes, numbers: np.ndarray, digits: int = 8) -> pa.Array:
    """Fixed-width text ids such as ``LC00000042``, built without a Python loop."""
    powers = 10 ** np.arange(digits - 1, -1, -1, dtype=np.int64)
    body = ((numbers.astype(np.int64)[:, None] // powers) % 10 + 48).astype(np.uint8)
    head = np.broadcast_to(np.frombuffer(prefix, dtype=np.uint8), (len(numbers), len(prefix)))
    raw = np.ascontiguousarray(np.concatenate([head, body], axis=1)).view(f"S{len(prefix) + digits}").ravel()
    return pa.array(raw, type=pa.binary()).cast(pa.string())


def _codes(codes: np.ndarray, vocab: tuple[str, ...] | list[str]) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(list(vocab))).dictionary_decode()


def _month_end(month_index: np.ndarray) -> np.ndarray:
    return (_BASE_MONTH + month_index + 1).astype("datetime64[D]") - np.timedelta64(1, "D")


def _simulate(s: _Setup, stream: int, block: int, size: int, first_number: int) -> dict[str, pa.Table]:
    """Generate one block of ``size`` contracts numbered from ``first_number + 1``."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([s.seed, stream, block])))
    dealers = make_dealers(s.profile)
    probs = s.book_probs if stream == _BOOK else s.fresh_probs
    assert probs is not None
    full = draw_block(s.profile, rng, BLOCK, probs, dealers)
    u_transient = rng.random((BLOCK, s.width), dtype=np.float32)[:size]
    makes = full.pop("make_names")
    a = {k: v[:size] for k, v in full.items()}
    # repeat customers: a lessee signing a second contract keeps the personal fields of the first
    # (income and debts are verified again for each contract)
    idx = np.arange(size)
    root = np.maximum.accumulate(np.where(a["repeat_lessee"] & (idx > 0), 0, idx))
    for name in ("lessee_age", "employment_type", "years_in_job", "province", "city_tier", "z", "thin",
                 "bureau_score", "bureau_inquiries_6m"):
        a[name] = a[name][root]
    rent = annuity_rent(a["financed_amount"], a["residual_value"], a["annual_rate"], a["term_months"])
    comps = risk_components(a, rent, s.profile)
    risk = np.sum([comps[c] for c in _COMPONENTS], axis=0)
    h_def, h_pre = monthly_hazards(risk, a, s.profile, s.width)
    surv, (pd12, pd24, pdlife) = default_probability(h_def, h_pre, (12, 24, s.width + 3))
    event, kind = sample_events(surv, h_def, h_pre, a["term_months"], a["u_event"], a["u_type"])
    to_cutoff = s.cutoff_month - a["o"]
    observed = np.maximum(to_cutoff - (0 if s.month_end_cutoff else 1), 0)
    hist = build_history(a, rent, risk, event, kind, u_transient, to_cutoff, observed, s.profile.transient_rate)

    numbers = first_number + 1 + idx
    contract_id = _ids(b"LC", numbers)
    orig = (_BASE_MONTH + a["o"]).astype("datetime64[D]") + (a["day"] - 1).astype("timedelta64[D]")
    lease = {
        "contract_id": contract_id,
        "lessee_id": _ids(b"LS", first_number + 1 + root),
        "dealer_id": _ids(b"DL", a["dealer"] + 1, 4),
        "origination_date": pa.array(orig),
        "cutoff_date": pa.array(np.full(size, np.datetime64(s.cutoff, "D"))),
        "lease_type": _codes(a["lease_type"], LEASE_TYPES),
        "term_months": a["term_months"], "vehicle_price": a["vehicle_price"],
        "down_payment": a["down_payment"], "financed_amount": a["financed_amount"],
        "residual_value": a["residual_value"], "annual_rate": a["annual_rate"], "monthly_rent": rent,
        "lessee_age": a["lessee_age"], "monthly_income": a["monthly_income"],
        "employment_type": _codes(a["employment_type"], EMPLOYMENT), "years_in_job": a["years_in_job"],
        "province": _codes(a["province"], PROVINCES), "city_tier": a["city_tier"],
        "bureau_score": pa.array(a["bureau_score"], from_pandas=True),
        "bureau_inquiries_6m": a["bureau_inquiries_6m"], "existing_debt_payment": a["existing_debt_payment"],
        "has_guarantor": a["has_guarantor"], "vehicle_make": _codes(a["vehicle_make"], list(makes)),
        "vehicle_condition": _codes(a["used"].astype(np.int64), VEHICLE_CONDITIONS), "is_nev": a["is_nev"],
        "vehicle_age_months": a["vehicle_age_months"],
        "mileage_km": pa.array(a["mileage_km"], from_pandas=True), "gps_installed": a["gps_installed"],
        "months_on_book": hist.months_on_book, "instalments_paid": hist.instalments_paid,
        "current_dpd": hist.current_dpd, "worst_dpd": hist.worst_dpd,
        "outstanding_principal": hist.outstanding,
    }
    schemas = book_schemas()
    contracts = pa.table({k: lease[k] for k in schemas["contracts"].names}, schema=schemas["contracts"])

    in_pool = pool_selection(hist.months_on_book, hist.current_dpd, hist.active, a["u_pool"], stream == _FRESH)
    chosen = np.flatnonzero(in_pool)
    pool, kinds = apply_defects(contracts.take(pa.array(chosen)), a["u_defect"][chosen],
                                a["u_defect_kind"][chosen], s.cutoff)
    pool = pool.cast(schemas["pool"])
    defect = np.full(size, "", dtype=object)
    defect[chosen] = kinds

    default_m = np.where(kind == 1, event + 3, -1)
    prepay_m = np.where(kind == 2, event, -1)
    truth_cols = {
        "contract_id": contract_id, "in_book": np.full(size, stream == _BOOK),
        "vintage": pa.array(np.datetime_as_string(_BASE_MONTH + a["o"], unit="M")),
        "pd_12m": np.round(pd12, 7), "pd_24m": np.round(pd24, 7), "pd_lifetime": np.round(pdlife, 7),
        "risk_logit": np.round(risk, 4), **{c: np.round(comps[c].astype(float), 4) + 0.0 for c in _COMPONENTS},
        "outcome": _codes(kind, ("matured", "default", "prepay")),
        "default_month": pa.array(default_m, mask=default_m < 0),
        "prepay_month": pa.array(prepay_m, mask=prepay_m < 0),
        "outcome_observed": hist.end_month <= observed,
        "pool_defect": pa.array(defect, type=pa.string(), mask=defect == ""),
        **{c: pa.array(np.round(v, 7), from_pandas=True) for c, v in forward_truth(   # _synth_forward
            h_def, h_pre, a["term_months"], observed, hist.current_dpd, hist.active, risk, a["o"],
            s.profile.transient_rate).items()},
    }
    truth = pa.table(truth_cols, schema=schemas["truth"])
    out = {"pool": pool, "truth": truth}
    out["pool_performance"] = pool_life_table(   # the pool's life after the cut-off (_synth_pool_life)
        a, rent, risk, event, kind, u_transient, observed, chosen, profile_name=s.profile.name,
        transient_rate=s.profile.transient_rate, rng=pool_life_rng(s.seed, stream, block), block_size=BLOCK,
        contract_id=contract_id, month_end=_month_end, schema=schemas["pool_performance"])
    if stream == _BOOK:
        ci = hist.row_contract
        perf = {
            "contract_id": contract_id.take(pa.array(ci)),
            "month": pa.array(_month_end(a["o"][ci] + hist.row_mob)),
            "months_on_book": hist.row_mob, "dpd": hist.row_dpd, "amount_due": hist.row_due,
            "amount_paid": hist.row_paid, "outstanding_principal": hist.row_outstanding,
            "status": _codes(hist.row_status, STATUS_CODES),
        }
        out["contracts"] = contracts
        out["performance"] = pa.table(perf, schema=schemas["performance"])
    return out


def iter_book(n_contracts: int, *, seed: int, cutoff: dt.date,
              profile: str = "non_captive") -> Iterator[tuple[int, dict[str, pa.Table]]]:
    """Yield ``(contracts done, tables)`` block by block; the last item holds the pre-cut-off pipeline.

    The pipeline (contracts signed after the book's last vintage and before the cut-off, about one
    per 400 book contracts) appears only in ``pool`` and ``truth``.
    """
    s = _setup(n_contracts, seed, cutoff, profile)
    done = 0
    block = 0
    while done < s.n_contracts:
        size = min(BLOCK, s.n_contracts - done)
        tables = _simulate(s, _BOOK, block, size, done)
        done += size
        block += 1
        yield done, tables
    for b, start in enumerate(range(0, s.n_fresh, BLOCK)):
        size = min(BLOCK, s.n_fresh - start)
        yield done, _simulate(s, _FRESH, b, size, s.n_contracts + start)


def generate_book(n_contracts: int, *, seed: int, cutoff: dt.date, profile: str = "non_captive") -> Book:
    """Generate a whole book in memory (for tests and small books; use :func:`write_book` for big ones).

    Parameters
    ----------
    n_contracts : int
        Contracts in the book (the pool adds about one pipeline contract per 400).
    seed : int
        Random seed (>= 0); the same arguments give identical frames.
    cutoff : date
        Pool cut-off date; status fields and the performance history stop there.
    profile : {"non_captive", "captive"}
        Lessor profile (see ``docs/sample_book.md``).

    Raises
    ------
    ConfigError
        If an argument is out of range.
    """
    parts: dict[str, list[pa.Table]] = {name: [] for name in FILES}
    for _, tables in iter_book(n_contracts, seed=seed, cutoff=cutoff, profile=profile):
        for name, table in tables.items():
            parts[name].append(table)
    schemas = book_schemas()
    frames = {name: pa.concat_tables(parts[name]).to_pandas(date_as_object=False) if parts[name]
              else schemas[name].empty_table().to_pandas() for name in FILES}
    return Book(**frames)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class _Sink:
    """One output file written into a temporary file beside its target."""

    def __init__(self, target: Path, schema: pa.Schema, fmt: str) -> None:
        self.target = target
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        self.tmp = Path(name)
        self.tmp.chmod(0o666 & ~_umask())   # mkstemp makes 0600 files; give the usual permissions
        self.rows = 0
        self.writer: pq.ParquetWriter | pacsv.CSVWriter
        if fmt == "parquet":
            self.writer = pq.ParquetWriter(self.tmp, schema, compression="zstd")
        else:
            self.writer = pacsv.CSVWriter(str(self.tmp), schema,
                                          write_options=pacsv.WriteOptions(quoting_style="none"))

    def write(self, table: pa.Table) -> None:
        self.writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        self.writer.close()

    def commit(self) -> Path:
        os.replace(self.tmp, self.target)
        return self.target


def write_book(out_dir: str | os.PathLike[str], n_contracts: int, seed: int, cutoff: dt.date, *,
               fmt: str = "parquet", profile: str = "non_captive", performance_fmt: str | None = None,
               truth_fmt: str | None = None, on_progress: Callable[[int], None] | None = None) -> BookFiles:
    """Stream a synthetic book to ``out_dir/{contracts,performance,pool,truth}.<fmt>``.

    Parameters
    ----------
    out_dir : path-like
        Folder (created if missing). Files appear only when all are complete; a failed run
        leaves the folder as it was.
    n_contracts, seed, cutoff, profile
        As in :func:`generate_book`; the files hold exactly the same rows.
    fmt : {"parquet", "csv"}
        File format.
    performance_fmt, truth_fmt : {"parquet", "csv"}, optional
        Format of the performance history and of the truth file (default ``fmt``); as CSV these are
        several times bigger than as Parquet.
    on_progress : callable, optional
        Called with the number of book contracts written so far after each block.

    Returns
    -------
    BookFiles
        Path and row count of each file (``contracts``, ``performance``, ``pool``, ``truth``).
    """
    formats = {"contracts": fmt, "pool": fmt, "truth": truth_fmt or fmt, "performance": performance_fmt or fmt,
               "pool_performance": performance_fmt or fmt}
    for f in set(formats.values()):
        if f not in ("parquet", "csv"):
            raise ConfigError(f"format must be parquet or csv, got {f!r}")
    _setup(n_contracts, seed, cutoff, profile)   # check the arguments before touching the folder
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    schemas = book_schemas()
    sinks = {name: _Sink(out / f"{name}.{formats[name]}", schemas[name], formats[name]) for name in FILES}
    try:
        for done, tables in iter_book(n_contracts, seed=seed, cutoff=cutoff, profile=profile):
            for name, table in tables.items():
                sinks[name].write(table)
            if on_progress is not None:
                on_progress(done)
        for sink in sinks.values():
            sink.close()
        paths = {name: sink.commit() for name, sink in sinks.items()}
        return BookFiles(paths=paths, rows={name: sink.rows for name, sink in sinks.items()})
    except BaseException:
        for sink in sinks.values():
            with contextlib.suppress(OSError, ValueError, pa.ArrowException):  # closed already or broken
                sink.close()
            sink.tmp.unlink(missing_ok=True)
        raise
