"""The pool's life after the cut-off: the monthly history of every pool asset, with its losses.

The book's histories stop at the cut-off, but the hazards of ``_synth_risk`` already decide each
contract's whole life (``truth.default_month`` / ``prepay_month`` run past the cut-off). This module
writes the month-ends after the cut-off of the contracts offered in the pool tape, from the same
simulated life (the same event, the same transient-delinquency draws, through
:func:`features._synth_history.build_history`), up to the end of each contract's life, and adds what
losses need:

* **charge-off**: in the month a contract defaults (91+ days past due), its outstanding principal is
  charged off (``charged_off_amount``);
* **repossession and sale**: the vehicle of a defaulted contract is repossessed with probability
  :data:`REPOSSESSION_GPS` (GPS tracker installed) or :data:`REPOSSESSION_NO_GPS`, the month after the
  default, and sold ``lag`` months after the default (uniform on :data:`SALE_LAG_MONTHS`); the sale's
  proceeds net of costs are ``recovery_rate x charged-off principal`` (``recovered_amount``), with the
  rate drawn from a Beta distribution with mean :data:`RECOVERY_MEAN` of the profile. Until the sale the
  contract reports a row each month (status ``defaulted``, days past due still counting, outstanding
  principal 0 after the charge-off). An unrepossessed vehicle recovers nothing.

The resulting recovery, about 0.35 of the charged-off principal (non-captive) and 0.37 (captive),
sits inside the reference ranges (20-40 % and 30-60 %, ``cn_auto_lease_reference.md``, estimates);
the repossession shares, the lag and the Beta spread are our assumptions (``docs/sample_book.md``).

New draws come from their own stream ``SeedSequence([seed, POOL_LIFE_STREAM, stream, block])``, made at
full block size, so the other files of the sample do not change and a smaller book stays a prefix.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa

from features._synth_history import STATUS_CODES, build_history

__all__ = ["POOL_LIFE_STREAM", "RECOVERY_MEAN", "REPOSSESSION_GPS", "REPOSSESSION_NO_GPS", "SALE_LAG_MONTHS",
           "pool_life_rng", "pool_life_table"]

POOL_LIFE_STREAM = 7_001
REPOSSESSION_GPS = 0.85
REPOSSESSION_NO_GPS = 0.45
SALE_LAG_MONTHS = (2, 5)        # inclusive: months from the default to the sale of the vehicle
RECOVERY_MEAN = {"non_captive": 0.42, "captive": 0.55}   # net sale proceeds / charged-off principal
_RECOVERY_CONCENTRATION = 12.0  # Beta(a, b) with a + b = 12
_MAX_DPD = 3_000
_DEFAULTED = STATUS_CODES.index("defaulted")
_HISTORY_KEYS = ("term_months", "day", "o", "residual_value", "financed_amount", "annual_rate")


def pool_life_rng(seed: int, stream: int, block: int) -> np.random.Generator:
    """The random stream of the pool's life for one block (separate from the book's own streams)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, POOL_LIFE_STREAM, stream, block])))


def pool_life_table(a: dict[str, np.ndarray], rent: np.ndarray, risk: np.ndarray, event: np.ndarray,
                    kind: np.ndarray, u_transient: np.ndarray, observed: np.ndarray, chosen: np.ndarray,
                    *, profile_name: str, transient_rate: float, rng: np.random.Generator, block_size: int,
                    contract_id: pa.Array, month_end: Callable[[np.ndarray], np.ndarray],
                    schema: pa.Schema) -> pa.Table:
    """Monthly rows after the cut-off of the pool contracts ``chosen`` of one block.

    Parameters
    ----------
    a, rent, risk, event, kind, u_transient
        The block's draws, rents (CNY), risk log-odds and simulated events, as in ``synthetic._simulate``.
    observed : ndarray of int, shape (n,)
        Month-ends reported up to the cut-off (months on book); rows after it are written here.
    chosen : ndarray of int
        Indices (in the block) of the contracts offered in the pool tape, each once.
    profile_name : str
        ``non_captive`` or ``captive`` (chooses :data:`RECOVERY_MEAN`).
    transient_rate : float
        Monthly rate of transient missed payments of the profile.
    rng : numpy Generator
        :func:`pool_life_rng` of the block; every draw has ``block_size`` values.
    block_size : int
        Contracts per full block (draws are made at this size whatever ``n``).
    contract_id : pyarrow Array, shape (n,)
        Contract ids of the block.
    month_end : callable
        Month index (0 = January of the first vintage year) -> month-end date (datetime64[D]).
    schema : pyarrow Schema
        ``PERFORMANCE_FIELDS`` then ``PERFORMANCE_LOSS_FIELDS``.

    Returns
    -------
    pyarrow Table
        One row per pool contract and month-end after the cut-off, sorted by contract then month.
    """
    n = len(rent)
    u_repo = rng.random(block_size)[:n]
    lag_draw = rng.integers(SALE_LAG_MONTHS[0], SALE_LAG_MONTHS[1] + 1, size=block_size)[:n]
    mean = RECOVERY_MEAN[profile_name]
    rate_draw = rng.beta(mean * _RECOVERY_CONCENTRATION, (1 - mean) * _RECOVERY_CONCENTRATION, size=block_size)[:n]

    sub = np.asarray(chosen, dtype=np.int64)
    width = u_transient.shape[1]
    hist = build_history({k: a[k][sub] for k in _HISTORY_KEYS}, rent[sub], risk[sub], event[sub], kind[sub],
                         u_transient[sub], np.full(len(sub), width), np.full(len(sub), width), transient_rate)
    after = hist.row_mob > observed[sub][hist.row_contract]
    ci = sub[hist.row_contract[after]]
    mob = hist.row_mob[after]
    dpd = hist.row_dpd[after]
    due, paid = hist.row_due[after], hist.row_paid[after]
    out = hist.row_outstanding[after]
    status = hist.row_status[after]
    charged = np.where(status == _DEFAULTED, out, 0.0)
    recovered = np.zeros(len(ci))
    repossessed = np.zeros(len(ci), dtype=bool)

    # repossession and sale rows after each default
    d = np.flatnonzero(status == _DEFAULTED)
    dc = ci[d]
    p_repo = np.where(a["gps_installed"][dc], REPOSSESSION_GPS, REPOSSESSION_NO_GPS)
    sold = u_repo[dc] < p_repo
    lag = np.where(sold, lag_draw[dc], 0)
    extra_src = np.repeat(d, lag)
    step = np.arange(len(extra_src)) - np.repeat(np.cumsum(lag) - lag, lag) + 1
    last = step == np.repeat(lag, lag)
    proceeds = np.round(rate_draw[ci[extra_src]] * charged[extra_src], 2)
    cols = {
        "ci": np.concatenate([ci, ci[extra_src]]),
        "mob": np.concatenate([mob, mob[extra_src] + step]),
        "dpd": np.concatenate([dpd, np.minimum(dpd[extra_src] + 30 * step, _MAX_DPD)]),
        "due": np.concatenate([due, np.zeros(len(extra_src))]),
        "paid": np.concatenate([paid, np.zeros(len(extra_src))]),
        "out": np.concatenate([out, np.zeros(len(extra_src))]),
        "status": np.concatenate([status, np.full(len(extra_src), _DEFAULTED)]),
        "charged": np.concatenate([charged, np.zeros(len(extra_src))]),
        "recovered": np.concatenate([recovered, np.where(last, proceeds, 0.0)]),
        "repossessed": np.concatenate([repossessed, np.ones(len(extra_src), dtype=bool)]),
    }
    order = np.lexsort((cols["mob"], cols["ci"]))
    c = {k: v[order] for k, v in cols.items()}
    table = {
        "contract_id": contract_id.take(pa.array(c["ci"])),
        "month": pa.array(month_end(a["o"][c["ci"]] + c["mob"])),
        "months_on_book": c["mob"], "dpd": c["dpd"], "amount_due": c["due"], "amount_paid": c["paid"],
        "outstanding_principal": c["out"],
        "status": pa.DictionaryArray.from_arrays(pa.array(c["status"].astype(np.int32)),
                                                 pa.array(list(STATUS_CODES))).dictionary_decode(),
        "charged_off_amount": c["charged"], "recovered_amount": c["recovered"], "repossessed": c["repossessed"],
    }
    return pa.table({name: table[name] for name in schema.names}, schema=schema)
