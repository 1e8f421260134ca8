"""Static-pool curves: cumulative defaults, prepayments and net loss by origination vintage.

The Reg AB static-pool disclosure shows, for each origination vintage, how much of it has defaulted,
prepaid and been lost against months on book. Here the vintages are the pool's own assets grouped by
origination quarter, the denominators their balance at the cut-off, and the curves run from the first
month-end after the cut-off (months on book = seasoning at the cut-off + period).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from monitoring.pool import AssetEvents

__all__ = ["VINTAGE_COLUMNS", "vintage_curves"]

VINTAGE_COLUMNS = ["vintage", "months_on_book", "assets", "cutoff_balance", "cumulative_defaults",
                   "cumulative_default_balance", "cumulative_default_share", "cumulative_prepayments",
                   "cumulative_prepayment_share", "cumulative_net_loss", "cumulative_net_loss_share"]


def vintage_curves(assets: pd.DataFrame, events: AssetEvents, periods: int) -> pd.DataFrame:
    """One row per origination quarter and months on book observed after the cut-off.

    Parameters
    ----------
    assets : DataFrame
        The admitted pool (``origination_date``, ``months_on_book`` at the cut-off, ``balance`` CNY).
    events : AssetEvents
        From :func:`monitoring.pool.pool_figures`, same order as ``assets``.
    periods : int
        Periods observed after the cut-off.

    Returns
    -------
    DataFrame
        :data:`VINTAGE_COLUMNS`; shares are of the vintage's cut-off balance (defaults, net loss) or of its
        number of assets (prepayments). A vintage's curve runs from the smallest seasoning of its assets
        plus 1 to the largest plus ``periods``: the later months hold fewer of its assets.
    """
    if not len(assets):
        return pd.DataFrame(columns=VINTAGE_COLUMNS)
    orig = pd.DatetimeIndex(assets["origination_date"])
    vintage = orig.year.astype(str) + "Q" + ((orig.month - 1) // 3 + 1).astype(str)
    mob0 = assets["months_on_book"].to_numpy(dtype=np.int64)
    bal = assets["balance"].to_numpy(dtype="float64")
    frames = []
    for v in sorted(set(vintage)):
        m = np.asarray(vintage == v)
        lo, hi = int(mob0[m].min()) + 1, int(mob0[m].max()) + periods
        span = hi - lo + 1
        d = events.default_period[m] > 0
        p = events.prepay_period[m] > 0
        d_mob = mob0[m] + events.default_period[m] - lo
        p_mob = mob0[m] + events.prepay_period[m] - lo
        loss = events.charged_off[m] - events.recovered[m]
        dc = np.cumsum(np.bincount(d_mob[d], minlength=span))
        db = np.cumsum(np.bincount(d_mob[d], weights=events.default_balance[m][d], minlength=span))
        pc = np.cumsum(np.bincount(p_mob[p], minlength=span))
        nl = np.cumsum(np.bincount(d_mob[d], weights=loss[d], minlength=span))
        total = float(bal[m].sum())
        frames.append(pd.DataFrame({
            "vintage": v, "months_on_book": np.arange(lo, hi + 1), "assets": int(m.sum()), "cutoff_balance": total,
            "cumulative_defaults": dc, "cumulative_default_balance": db, "cumulative_default_share": db / total,
            "cumulative_prepayments": pc, "cumulative_prepayment_share": pc / m.sum(),
            "cumulative_net_loss": nl, "cumulative_net_loss_share": nl / total}))
    return pd.concat(frames, ignore_index=True)[VINTAGE_COLUMNS]
