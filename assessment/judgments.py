"""The judgments file: risk hierarchy, experts, pairwise comparisons and ratings (TOML, validated, hashed).

Layout (see ``docs/risk_assessment.md`` and ``data_samples/risk_assessment.toml``)::

    title = "..."            # optional
    version = "2026.1"
    scale = 5                # rating scale: levels 1..5 (or 1..9)
    goal = "product_risk"    # the node at the top
    disagreement = 1.0       # optional: levels between expert and measured rating that count as disagreement

    [[node]]                 # one per node of the hierarchy, any depth
    name = "credit"
    en = "Credit risk"
    zh = "信用风险"
    children = ["lessee_breach", "overdue"]   # none: a leaf risk
    indicator = "..."        # leaves only, optional: a measured figure (assessment.indicators)
    thresholds = [...]       # with indicator: scale - 1 cut points mapping the figure onto the levels
    measures_en = "..."      # optional: the measures against this risk (measures_zh in Chinese)

    [indicators.my_figure]   # optional: figures beyond the built-in registry
    source = "monitor"
    path = "latest.some_share"

    [[expert]]
    id = "E1"
    weight = 0.3             # optional (all experts or none); normalised to sum 1
    [expert.comparisons]     # every node with two or more children
    credit = [[2, 3], ["1/2"]]   # upper triangle by rows, in the node's children order
    [expert.ratings]         # leaf -> level 1..scale; every leaf rated by at least one expert
    lessee_breach = 4

A node's comparisons are the upper triangle by rows (row i holds ``a_i,i+1 .. a_i,n``) or the full
n x n matrix (then it must be reciprocal with ones on the diagonal). A judgment is a number or a
fraction text (``"1/3"``) between 1/9 and 9. :attr:`Judgments.sha256` hashes the parsed content
(key-sorted JSON), so comments and layout do not change it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from assessment.ahp import RANDOM_INDEX
from assessment.errors import JudgmentsError
from assessment.indicators import INDICATORS, SOURCES, Indicator
from features.io import TomlTable, read_toml
from scoring.policy import canonical_hash

__all__ = ["Expert", "Judgments", "Node", "load_judgments", "parse_judgments"]

SCALES = (5, 9)
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_LOW, _HIGH = 1.0 / 9.0, 9.0
_TOL = 1e-9
_RECIPROCAL_TOL = 0.01  # a full matrix's a_ji may be written rounded (0.333 for 1/3)


@dataclass(frozen=True)
class Node:
    """One node of the hierarchy: ``children`` empty for a leaf risk; ``indicator`` and ``thresholds``
    only on leaves; ``measures_en`` / ``measures_zh`` the measures against the risk (empty when none)."""

    name: str
    en: str
    zh: str
    children: tuple[str, ...]
    parent: str | None
    depth: int
    indicator: str | None = None
    thresholds: tuple[float, ...] | None = None
    measures_en: str = ""
    measures_zh: str = ""

    @property
    def is_leaf(self) -> bool:
        return not self.children


@dataclass(frozen=True)
class Expert:
    """One expert: ``weight`` normalised over the experts; ``matrices`` by node (n x n, reciprocal);
    ``ratings`` by leaf (level 1..scale)."""

    id: str
    name: str
    weight: float
    matrices: Mapping[str, np.ndarray]
    ratings: Mapping[str, int]


@dataclass(frozen=True)
class Judgments:
    """A validated judgments file.

    ``nodes`` are in hierarchy order (goal first, then depth first in the children order);
    ``indicators`` are the built-in registry plus the file's own; ``sha256`` identifies the content.
    """

    title: str
    version: str
    scale: int
    goal: str
    nodes: Mapping[str, Node]
    experts: tuple[Expert, ...]
    indicators: Mapping[str, Indicator]
    disagreement: float
    sha256: str
    source: str = field(default="", compare=False)

    @property
    def leaves(self) -> list[str]:
        """Leaf risks in hierarchy order."""
        return [n for n, node in self.nodes.items() if node.is_leaf]

    @property
    def criteria(self) -> tuple[str, ...]:
        """The goal's children."""
        return self.nodes[self.goal].children

    def compared(self) -> list[str]:
        """Nodes with two or more children (those with a comparison matrix), in hierarchy order."""
        return [n for n, node in self.nodes.items() if len(node.children) >= 2]

    def criterion_of(self, name: str) -> str:
        """The criterion (child of the goal) above ``name``."""
        node = self.nodes[name]
        while node.parent is not None and node.parent != self.goal:
            node = self.nodes[node.parent]
        return node.name


def load_judgments(path: str | Path) -> Judgments:
    """Read and validate a judgments file.

    Raises
    ------
    JudgmentsError
        If the file is missing, is not TOML, or anything in it is invalid; the message names the
        file, the expert and node where there is one, the key, the value and what is allowed.
    """
    p = Path(path)
    return parse_judgments(read_toml(p, JudgmentsError, "judgments"), source=str(p))


class _Table(TomlTable):
    """A TOML table read key by key (:class:`features.io.TomlTable`): keys are named as written, errors
    name the expert and the node where there is one (set as they become known), texts are trimmed."""

    def __init__(self, file: str, table: Any, what: str, *, expert: str | None = None,
                 node: str | None = None) -> None:
        self.expert, self.node = expert, node
        super().__init__(self._error, file, "", table, what=what)

    def _error(self, file: str, key: str, value: Any, allowed: str) -> JudgmentsError:
        return JudgmentsError(file, key, value, allowed, expert=self.expert, node=self.node)

    def text(self, name: str, default: Any = ..., choices: tuple[str, ...] | None = None) -> str:
        return super().text(name, default, choices).strip()


def _number(value: Any) -> float | None:
    """A judgment as a float (number or text ``"a/b"`` / ``"a"``), or None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(Fraction(value.strip()))
        except (ValueError, ZeroDivisionError):
            return None
    return None


def parse_judgments(data: Mapping[str, Any], *, source: str = "<judgments>") -> Judgments:
    """Validate parsed TOML ``data`` and build :class:`Judgments` (see :func:`load_judgments`)."""
    top = _Table(source, dict(data), "(top level)")
    title = top.text("title", "risk assessment")
    version = top.get("version")
    if not isinstance(version, str) or not version.strip():
        raise top.fail("version", version, 'a non-empty string such as "2026.1"')
    scale = top.get("scale")
    if isinstance(scale, bool) or scale not in SCALES:
        raise top.fail("scale", scale, "5 (levels 1-5) or 9 (levels 1-9)")
    disagreement = top.get("disagreement", 1.0)
    if isinstance(disagreement, bool) or not isinstance(disagreement, (int, float)) or not 0 < disagreement < scale:
        raise top.fail("disagreement", disagreement, f"a number of levels > 0 and < {scale}")
    goal = top.text("goal")
    indicators = _indicators(source, top.get("indicators", {}))
    nodes = _hierarchy(source, goal, top.get("node"), scale, indicators)
    experts = _experts(source, top.get("expert"), nodes, scale)
    top.done()
    rated = {leaf for e in experts for leaf in e.ratings}
    for name, node in nodes.items():
        if node.is_leaf and name not in rated:
            raise JudgmentsError(source, "ratings", "(no expert rated it)", f"a rating 1..{scale} by at least one expert",
                                 node=name)
    return Judgments(title=title, version=version.strip(), scale=int(scale), goal=goal, nodes=nodes,
                     experts=experts, indicators=indicators, disagreement=float(disagreement),
                     sha256=canonical_hash(data), source=source)


def _indicators(file: str, raw: Any) -> dict[str, Indicator]:
    out = dict(INDICATORS)
    if not isinstance(raw, dict):
        raise JudgmentsError(file, "indicators", raw, "a table of [indicators.NAME] tables")
    for name, table in raw.items():
        t = _Table(file, table, f"indicators.{name}")
        if not _NAME.match(name):
            raise t.fail(f"indicators.{name}", name, "a name of letters, digits and _ starting with a letter")
        src = t.text("source")
        if src not in SOURCES:
            raise t.fail(f"indicators.{name}.source", src, ", ".join(SOURCES))
        path = t.text("path")
        unit = t.text("unit", "fraction")
        if unit not in ("fraction", "number"):
            raise t.fail(f"indicators.{name}.unit", unit, "fraction, number")
        en = t.text("en", name)
        out[name] = Indicator(name=name, source=src, path=path, en=en, zh=t.text("zh", en), unit=unit)
        t.done()
    return out


def _hierarchy(file: str, goal: str, raw: Any, scale: int, indicators: Mapping[str, Indicator]) -> dict[str, Node]:
    if not isinstance(raw, list) or not raw:
        raise JudgmentsError(file, "node", raw, "an array of tables [[node]] (the hierarchy)")
    tables: dict[str, _Table] = {}
    for i, table in enumerate(raw):
        t = _Table(file, table, f"node[{i}]")
        name = t.text("name")
        t.node = name
        if not _NAME.match(name):
            raise t.fail("name", name, "a name of letters, digits and _ starting with a letter")
        if name in tables:
            raise t.fail("name", name, "a name no other node has (duplicate node)")
        tables[name] = t
    if goal not in tables:
        raise JudgmentsError(file, "goal", goal, "the name of a [[node]]: " + ", ".join(tables))
    children: dict[str, tuple[str, ...]] = {}
    parent: dict[str, str] = {}
    for name, t in tables.items():
        kids = t.get("children", [])
        if not isinstance(kids, list) or not all(isinstance(k, str) for k in kids):
            raise t.fail("children", kids, "a list of node names")
        if len(set(kids)) != len(kids):
            raise t.fail("children", kids, "each child named once (duplicate child)")
        if len(kids) > max(RANDOM_INDEX):
            raise t.fail("children", kids, f"at most {max(RANDOM_INDEX)} children (Saaty's random index)")
        for k in kids:
            if k not in tables:
                raise t.fail("children", k, "the name of a [[node]]")
            if k in parent:
                raise t.fail("children", k, f"a node under one parent only (it is also under {parent[k]})")
            parent[k] = name
        children[name] = tuple(kids)
    if goal in parent:
        raise JudgmentsError(file, "children", goal, "anything but the goal (a cycle through the goal)",
                             node=parent[goal])
    order: list[str] = []
    depth: dict[str, int] = {goal: 0}
    stack = [goal]
    while stack:  # a tree rooted at the goal: every node is reached once
        name = stack.pop()
        order.append(name)
        for k in reversed(children[name]):
            depth[k] = depth[name] + 1
            stack.append(k)
    unreached = [n for n in tables if n not in depth]
    if unreached:  # with one parent each, a node off the goal's tree sits on a cycle or under one
        cyc = _cycle(unreached[0], parent)
        raise JudgmentsError(file, "children", " -> ".join(cyc) if cyc else unreached[0],
                             "a tree under the goal (" + ("a cycle" if cyc else "node not under the goal") + ")",
                             node=unreached[0])
    if not children[goal]:
        raise JudgmentsError(file, "children", [], "at least one criterion under the goal", node=goal)
    nodes: dict[str, Node] = {}
    for name in order:
        t = tables[name]
        en = t.text("en", name)
        zh = t.text("zh", en)
        indicator, thresholds = _indicator(t, bool(children[name]), scale, indicators)
        measures_en = t.text("measures_en") if "measures_en" in t.table else ""
        measures_zh = t.text("measures_zh") if "measures_zh" in t.table else measures_en
        t.done()
        nodes[name] = Node(name=name, en=en, zh=zh, children=children[name], parent=parent.get(name),
                           depth=depth[name], indicator=indicator, thresholds=thresholds, measures_en=measures_en,
                           measures_zh=measures_zh)
    return nodes


def _cycle(start: str, parent: Mapping[str, str]) -> list[str]:
    """The cycle reached by walking up from ``start`` (empty when the walk ends at a root)."""
    seen: list[str] = []
    node: str | None = start
    while node is not None and node not in seen:
        seen.append(node)
        node = parent.get(node)
    if node is None:
        return []
    loop = list(reversed(seen[seen.index(node):]))  # in the children's direction
    k = loop.index(node)
    loop = loop[k:] + loop[:k]
    return [*loop, loop[0]]


def _indicator(t: _Table, has_children: bool, scale: int,
               indicators: Mapping[str, Indicator]) -> tuple[str | None, tuple[float, ...] | None]:
    name = t.get("indicator", None)
    raw = t.get("thresholds", None)
    if name is None:
        if raw is not None:
            raise t.fail("thresholds", raw, "thresholds only with an indicator")
        return None, None
    if has_children:
        raise t.fail("indicator", name, "an indicator on a leaf risk only (this node has children)")
    if name not in indicators:
        raise t.fail("indicator", name, "a known indicator: " + ", ".join(sorted(indicators))
                     + " (or declare it under [indicators.NAME])")
    ok = (isinstance(raw, list) and len(raw) == scale - 1
          and all(not isinstance(x, bool) and isinstance(x, (int, float)) and math.isfinite(x) for x in raw))
    if ok:
        steps = np.diff(np.asarray(raw, dtype="float64"))
        ok = bool((steps > 0).all() or (steps < 0).all())
    if not ok:
        raise t.fail("thresholds", raw, f"{scale - 1} numbers, strictly ascending (a higher figure is a higher "
                                        "risk) or strictly descending")
    return str(name), tuple(float(x) for x in raw)


def _experts(file: str, raw: Any, nodes: Mapping[str, Node], scale: int) -> tuple[Expert, ...]:
    if not isinstance(raw, list) or not raw:
        raise JudgmentsError(file, "expert", raw, "an array of tables [[expert]] (at least one expert)")
    seen: set[str] = set()
    parsed: list[tuple[str, str, float | None, dict[str, np.ndarray], dict[str, int]]] = []
    for i, table in enumerate(raw):
        t = _Table(file, table, f"expert[{i}]")
        eid = t.get("id")
        if isinstance(eid, int) and not isinstance(eid, bool):
            eid = str(eid)
        if not isinstance(eid, str) or not eid.strip():
            raise t.fail(f"expert[{i}].id", eid, "a non-empty name or code")
        eid = eid.strip()
        t.expert = eid
        if eid in seen:
            raise t.fail("id", eid, "an id no other expert has (duplicate expert)")
        seen.add(eid)
        name = t.text("name", eid)
        w = t.get("weight", None)
        if w is not None and (isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w)
                              or w <= 0):
            raise t.fail("weight", w, "a number > 0")
        matrices = _comparisons(file, eid, t.get("comparisons", {}), nodes)
        ratings = _ratings(file, eid, t.get("ratings", {}), nodes, scale)
        t.done()
        parsed.append((eid, name, None if w is None else float(w), matrices, ratings))
    weighted = [p[2] is not None for p in parsed]
    if any(weighted) and not all(weighted):
        missing = parsed[weighted.index(False)][0]
        raise JudgmentsError(file, "weight", "(missing)", "a weight for every expert or for none", expert=missing)
    total = sum(p[2] or 1.0 for p in parsed)
    return tuple(Expert(id=e, name=n, weight=(w or 1.0) / total, matrices=m, ratings=r) for e, n, w, m, r in parsed)


def _comparisons(file: str, expert: str, raw: Any, nodes: Mapping[str, Node]) -> dict[str, np.ndarray]:
    if not isinstance(raw, dict):
        raise JudgmentsError(file, "comparisons", raw, "a table node = matrix", expert=expert)
    for name in raw:
        if name not in nodes:
            raise JudgmentsError(file, "comparisons", name, "a node of the hierarchy", expert=expert, node=name)
        if len(nodes[name].children) < 2:
            raise JudgmentsError(file, "comparisons", raw[name], "comparisons only for nodes with two or more "
                                 "children", expert=expert, node=name)
    out: dict[str, np.ndarray] = {}
    for name, node in nodes.items():
        if len(node.children) < 2:
            continue
        if name not in raw:
            raise JudgmentsError(file, "comparisons", "(missing)", "a comparison matrix of "
                                 + ", ".join(node.children), expert=expert, node=name)
        out[name] = _matrix(file, expert, name, node.children, raw[name])
    return out


def _matrix(file: str, expert: str, node: str, items: tuple[str, ...], raw: Any) -> np.ndarray:
    """An n x n reciprocal matrix from the upper triangle by rows or from the full matrix."""
    n = len(items)

    def fail(key: str, value: Any, allowed: str) -> JudgmentsError:
        return JudgmentsError(file, key, value, allowed, expert=expert, node=node)

    shape = f"{n - 1} rows of {n - 1}, {n - 2}, ..., 1 judgments (upper triangle) or {n} rows of {n} (full matrix)"
    if not isinstance(raw, list) or not all(isinstance(r, list) for r in raw):
        raise fail("comparisons", raw, "a list of rows: " + shape)
    full = len(raw) == n and all(len(r) == n for r in raw)
    upper = len(raw) == n - 1 and all(len(r) == n - 1 - i for i, r in enumerate(raw))
    if not (full or upper):
        raise fail("comparisons", [len(r) for r in raw], "row lengths of a square matrix: " + shape)
    a = np.ones((n, n))
    for i, row in enumerate(raw):
        for k, value in enumerate(row):
            j = k if full else i + 1 + k
            x = _number(value)
            where = f"a[{items[i]}, {items[j]}]"
            if x is None or not math.isfinite(x):
                raise fail(where, value, "a number or a fraction such as \"1/3\"")
            if x <= 0:
                raise fail(where, value, "a positive judgment between 1/9 and 9")
            if not (_LOW * (1 - _TOL) <= x <= _HIGH * (1 + _TOL)) and not (full and i == j):
                raise fail(where, value, "a judgment between 1/9 and 9 (Saaty's scale)")
            a[i, j] = x
    if full:
        for i in range(n):
            if abs(a[i, i] - 1.0) > _TOL:
                raise fail(f"a[{items[i]}, {items[i]}]", raw[i][i], "1 on the diagonal")
            for j in range(i + 1, n):
                if abs(a[i, j] * a[j, i] - 1.0) > _RECIPROCAL_TOL:
                    raise fail(f"a[{items[j]}, {items[i]}]", raw[j][i],
                               f"the reciprocal of a[{items[i]}, {items[j]}] = {raw[i][j]!r}")
                a[j, i] = 1.0 / a[i, j]
    else:
        for i in range(n):
            for j in range(i + 1, n):
                a[j, i] = 1.0 / a[i, j]
    return a


def _ratings(file: str, expert: str, raw: Any, nodes: Mapping[str, Node], scale: int) -> dict[str, int]:
    if not isinstance(raw, dict):
        raise JudgmentsError(file, "ratings", raw, "a table leaf = level", expert=expert)
    out: dict[str, int] = {}
    for leaf, value in raw.items():
        if leaf not in nodes:
            raise JudgmentsError(file, "ratings", leaf, "a leaf risk of the hierarchy", expert=expert, node=leaf)
        if not nodes[leaf].is_leaf:
            raise JudgmentsError(file, "ratings", value, "ratings for leaf risks only (this node has children)",
                                 expert=expert, node=leaf)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= scale:
            raise JudgmentsError(file, "rating", value, f"a whole level 1..{scale}", expert=expert, node=leaf)
        out[leaf] = int(value)
    return out
