"""Pool surveillance after the cut-off: collections, asset quality, waterfall, triggers, back-test.

Sits above ``features``, ``models`` and ``scoring`` (it reads a screening run); nothing below imports it.
The cores (:func:`pool_figures`, :func:`run_waterfall`, :func:`vintage_curves`, :func:`backtest`,
:func:`compute_monitoring`) are pure functions of frames; :func:`monitor` is the I/O shell behind
``poolgate monitor``. See ``docs/monitoring.md``.
"""

from monitoring.backtest import VERDICTS, backtest, expected_default_probability, jeffreys
from monitoring.deal import Deal, DealError, load_deal, parse_deal
from monitoring.inputs import MonitorInputError, load_pool, read_performance
from monitoring.pool import ASSET_COLUMNS, BUCKETS, pool_figures
from monitoring.run import OUTPUT_FILES, SUMMARY_SCHEMA, Monitoring, compute_monitoring, monitor
from monitoring.vintages import vintage_curves
from monitoring.waterfall import run_waterfall

__all__ = [
    "ASSET_COLUMNS",
    "BUCKETS",
    "OUTPUT_FILES",
    "SUMMARY_SCHEMA",
    "VERDICTS",
    "Deal",
    "DealError",
    "MonitorInputError",
    "Monitoring",
    "backtest",
    "compute_monitoring",
    "expected_default_probability",
    "jeffreys",
    "load_deal",
    "load_pool",
    "monitor",
    "parse_deal",
    "pool_figures",
    "read_performance",
    "run_waterfall",
    "vintage_curves",
]
