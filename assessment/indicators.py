"""Measured indicators: named figures read from a screening run's or a monitoring run's ``summary.json``.

An indicator is a name, a source (``screen``: ``poolgate screen --out``'s ``summary.json``;
``monitor``: ``poolgate monitor --out``'s ``summary.json``) and a key path into that JSON. A key path
is dot-separated keys; a key may be followed by ``[k]`` (the k-th element of a list, 0-based) or
``[field=value]`` (the first element of a list of objects whose ``field`` is ``value``), e.g.
``concentration[group=dealer].value`` or ``distributions.province[0].share``.

:data:`INDICATORS` is the built-in registry; a judgments file may add its own under
``[indicators.NAME]`` (``source``, ``path``, ``en``, ``zh``), for instance when a monitoring output
names a figure differently. :func:`rate` maps a figure onto the rating scale through a leaf's
thresholds.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assessment.errors import IndicatorError

__all__ = [
    "INDICATORS",
    "SOURCES",
    "Figures",
    "Indicator",
    "load_figures",
    "rate",
    "resolve_path",
]

SOURCES = ("screen", "monitor")
_SEGMENT = re.compile(r"^(?P<key>[A-Za-z0-9_\-]+)(?:\[(?P<sel>[^\[\]]+)\])?$")


@dataclass(frozen=True)
class Indicator:
    """A named figure: where it is read (``source``, ``path``) and what it is called (``en``, ``zh``).

    Figures are fractions unless ``unit`` says otherwise (``"fraction"`` or ``"number"``).
    """

    name: str
    source: str
    path: str
    en: str
    zh: str
    unit: str = "fraction"


def _builtin(name: str, source: str, path: str, en: str, zh: str) -> tuple[str, Indicator]:
    return name, Indicator(name=name, source=source, path=path, en=en, zh=zh)


# The monitoring figures are those of the latest period that `poolgate monitor` copies into its
# summary.json `latest` object (monitoring.run.LATEST_KEYS); a judgments file can re-point any
# indicator with [indicators.NAME] without a code change.
INDICATORS: Mapping[str, Indicator] = dict([
    _builtin("expected_loss_share", "screen", "pool.expected_loss_share",
             "expected loss / pool balance", "预期损失占资产池余额比例"),
    _builtin("wa_pd", "screen", "pool.wa_pd", "balance-weighted PD", "加权平均违约概率"),
    _builtin("wa_pd_remaining", "screen", "pool.wa_pd_remaining",
             "balance-weighted PD over the remaining term (forward model)", "加权平均剩余期限违约概率"),
    _builtin("wa_ltv", "screen", "pool.wa_ltv", "balance-weighted loan-to-value", "加权平均抵押率"),
    _builtin("largest_lessee_share", "screen", "concentration[group=lessee].value",
             "largest lessee's share of the pool", "单一最大承租人占比"),
    _builtin("top_lessees_share", "screen", "concentration[group=top_lessees].value",
             "largest lessees' share together (policy's n)", "前 n 大承租人合计占比"),
    _builtin("largest_province_share", "screen", "distributions.province[0].share",
             "largest province's share of the pool", "单一最大省份占比"),
    _builtin("largest_dealer_share", "screen", "concentration[group=dealer].value",
             "largest dealer's share of the pool", "单一最大经销商占比"),
    _builtin("largest_make_share", "screen", "distributions.make[0].share",
             "largest make's share of the pool", "单一最大品牌占比"),
    _builtin("used_share", "screen", "concentration[group=used].value",
             "used cars' share of the pool", "二手车占比"),
    _builtin("delinquency_60_plus", "monitor", "latest.delinquency_60_plus_share",
             "60+ days delinquent share of the pool balance", "逾期 60 天以上余额占比"),
    _builtin("delinquency_60_plus_3m", "monitor", "latest.delinquency_60_plus_3m",
             "60+ days delinquent share, 3-month average", "逾期 60 天以上余额占比（3 个月平均）"),
    _builtin("cumulative_default", "monitor", "latest.cumulative_gross_default_share",
             "cumulative gross default / cut-off balance", "累计违约率"),
    _builtin("cpr", "monitor", "latest.cpr", "conditional prepayment rate (annualised)", "年化早偿率 (CPR)"),
    _builtin("cumulative_net_loss", "monitor", "latest.cumulative_net_loss_share",
             "cumulative net loss / cut-off balance", "累计净损失率"),
])


def resolve_path(data: Any, path: str) -> Any:
    """The value at key path ``path`` in parsed JSON ``data``.

    Raises
    ------
    KeyError
        With a message saying which segment is missing (the caller adds the file and indicator).
    """
    node = data
    for seg in path.split("."):
        m = _SEGMENT.match(seg)
        if m is None:
            raise KeyError(f"bad path segment {seg!r} (key, key[k] or key[field=value])")
        key, sel = m.group("key"), m.group("sel")
        if not isinstance(node, Mapping) or key not in node:
            raise KeyError(f"no key {key!r}")
        node = node[key]
        if sel is None:
            continue
        if not isinstance(node, list):
            raise KeyError(f"{key!r} is not a list, cannot select [{sel}]")
        if "=" in sel:
            field, want = (s.strip() for s in sel.split("=", 1))
            hits = [x for x in node if isinstance(x, Mapping) and str(x.get(field)) == want]
            if not hits:
                raise KeyError(f"no element of {key!r} with {field} = {want}")
            node = hits[0]
        else:
            try:
                node = node[int(sel)]
            except (ValueError, IndexError):
                raise KeyError(f"{key!r} has no element [{sel}] ({len(node)} elements)") from None
    return node


@dataclass(frozen=True)
class Figures:
    """One ``summary.json`` read: its path, sha256 and parsed content."""

    source: str
    path: str
    sha256: str
    data: Mapping[str, Any]

    def value(self, indicator: Indicator) -> float | None:
        """The indicator's figure (None when the file holds ``null`` there).

        Raises
        ------
        IndicatorError
            If the path is missing or the value is not a number.
        """
        try:
            raw = resolve_path(self.data, indicator.path)
        except KeyError as exc:
            raise IndicatorError(self.path, indicator.name, indicator.path, str(exc.args[0])) from None
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
            raise IndicatorError(self.path, indicator.name, indicator.path, f"{raw!r} is not a finite number")
        return float(raw)


def load_figures(source: str, folder: str | Path) -> Figures:
    """Read ``folder/summary.json`` (or ``folder`` itself when it is a JSON file) of a ``source`` run.

    Raises
    ------
    IndicatorError
        If the file is missing or not a JSON object.
    """
    p = Path(folder)
    file = p if p.suffix == ".json" and p.is_file() else p / "summary.json"
    try:
        raw = file.read_bytes()
    except OSError:
        raise IndicatorError(str(file), f"(all {source} indicators)", "summary.json",
                             f"no such file; give the {'screening' if source == 'screen' else 'monitoring'} "
                             "run's output folder") from None
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndicatorError(str(file), f"(all {source} indicators)", "summary.json", f"not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise IndicatorError(str(file), f"(all {source} indicators)", "summary.json", "not a JSON object")
    return Figures(source=source, path=str(file), sha256=hashlib.sha256(raw).hexdigest(), data=data)


def rate(value: float, thresholds: Sequence[float]) -> int:
    """The level (1-based) of ``value`` on a scale cut by ``thresholds``.

    Ascending thresholds ``t_1 < ... < t_k`` (a higher figure is a higher risk): level 1 when
    ``value <= t_1``, level ``i + 1`` when ``t_i < value <= t_(i+1)``, level ``k + 1`` above ``t_k``.
    Descending thresholds read the other way (a higher figure is a lower risk): level 1 when
    ``value >= t_1``, and so on.
    """
    t = list(thresholds)
    if len(t) >= 2 and t[0] > t[1]:
        return 1 + sum(1 for x in t if value < x)
    return 1 + sum(1 for x in t if value > x)
