"""Exact path-dependent TreeSHAP for LightGBM boosters, from per-leaf tables (a numba kernel).

The values are those of LightGBM's ``predict(pred_contrib=True)`` and of ``shap.TreeExplainer`` on the
raw log-odds (path-dependent, cover = the training rows counted in each node), computed in another
order.

How. For one tree and one row, the expected output given the features in a set ``S`` is a sum over
leaves; leaf ``l`` with value ``v`` and the distinct features ``D`` split on along its path contributes
``v * prod_{j in D, j in S} s_j * prod_{j in D, j not in S} q_j``, where ``s_j`` is 1 when the row meets
every condition on ``j`` along the path (else 0) and ``q_j`` is the product of the cover ratios
(child rows / parent rows) of those conditions. Features off the path are null players of that
leaf's game, so its Shapley values depend only on which features of ``D`` the row meets (a bit mask
``m``). With ``w(s) = s! (d - s - 1)! / d!`` (``d = |D|``) and the table

    T(m) = v * sum_{S subset of m} w(|S|) * prod_{j in D, j not in S} q_j,

the leaf gives feature ``i`` of ``D`` the value ``(1 - q_i) / q_i * T(m without i)`` when the row meets
``i``'s conditions, and ``-T(m)`` when it does not. The tables (``2^d`` numbers per leaf) are built
once per booster; explaining a row then costs, per tree, one comparison per split (the masks are
carried from the root down) and one table read per (leaf, path feature), with no branch on the
row's values in either pass: the kernel runs each step over a block of rows at once. This is the per-leaf-table
idea of FastTreeSHAP v2 (Yang, 2022), written here from the formula above.

Trees whose leaves split on more than ``max_path_features`` distinct features, or whose tables
would exceed the budgets, are explained by LightGBM's ``pred_contrib`` for those trees only
(``start_iteration``); the first explanation of such a booster logs a warning naming them. Without
numba every tree takes that path, with a warning too, and so does every tree when the environment
sets ``POOLGATE_TREESHAP=pred_contrib``.

Split semantics are LightGBM's (``Tree::NumericalDecision`` / ``CategoricalDecision``): NaN is 0 unless
the split's missing type is NaN; a missing value (NaN, or zero with missing type Zero) follows the
default direction; otherwise ``value <= threshold`` goes left. A categorical split sends the listed
categories left and NaN, negative or unlisted codes right. Pandas inputs are converted to numbers as
LightGBM converts them (category codes in the training categories, the same float width).
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

__all__ = ["TreeTables", "compile_booster", "lightgbm_matrix", "tree_shap"]

log = logging.getLogger(__name__)

#: Leaves whose paths split on more distinct features than this are left to ``pred_contrib``.
MAX_PATH_FEATURES = 16
#: Table entries (float64) one tree may hold; 2^20 is 8 MiB (255 leaves of depth 12 fit).
MAX_TREE_ENTRIES = 1 << 20
#: Table entries (float64) one booster may hold; 2^25 is 256 MiB.
MAX_TOTAL_ENTRIES = 1 << 25
_ZERO = float(np.float32(1e-35))   # LightGBM's kZeroThreshold: smaller magnitudes are zero
_MISSING = {"None": 0, "Zero": 1, "NaN": 2}
_ROWS_PER_TASK = 4096
_FILL_ENTRIES = 1 << 20   # table entries built at a time
#: ``POOLGATE_TREESHAP=pred_contrib`` in the environment sends every tree to LightGBM's ``pred_contrib``
#: (same values; for comparisons, and a way round a broken numba install).
ENGINE_VARIABLE = "POOLGATE_TREESHAP"


@dataclass(frozen=True)
class TreeTables:
    """A booster compiled for :func:`tree_shap`: flat arrays over the trees explained by tables.

    Tree ``t`` has internal nodes ``node_start[t]:node_start[t + 1]`` (global numbers, preorder: a
    parent before its children) and leaf entries ``entry_start[t]:entry_start[t + 1]``. Within a tree,
    node ``i`` (local number) has its ``i``-th slot in the kernel's mask scratch and leaf ``j`` the slot
    ``internal nodes + j``; ``node_left`` / ``node_right`` hold the children's slots and ``node_bit`` the
    mask bit of the split's feature (its order of first use on the path from the root). One entry is
    one (leaf, path feature) pair: the leaf's slot, the bit, the feature, the factor ``(1 - q) / q``
    and the start of the leaf's table in ``tables``, which holds ``T`` by the mask of *unmet* path
    features (``T'(u) = T(all - u)``).

    Attributes
    ----------
    n_features : int
        Model inputs of the booster.
    n_trees : int
        Trees of the booster.
    base_value : float
        Expected raw score over the training rows of the table trees (the fallback trees' part comes
        from ``pred_contrib``).
    fallback : tuple of (int, int)
        Half-open ranges of tree numbers explained by ``pred_contrib`` instead.
    """

    n_features: int
    n_trees: int
    base_value: float
    fallback: tuple[tuple[int, int], ...]
    node_start: np.ndarray
    node_feature: np.ndarray
    node_threshold: np.ndarray
    node_categorical: np.ndarray
    node_nan_left: np.ndarray
    node_zero_left: np.ndarray
    node_cat_start: np.ndarray
    node_cat_len: np.ndarray
    node_left: np.ndarray
    node_right: np.ndarray
    node_bit: np.ndarray
    cat_flags: np.ndarray
    entry_start: np.ndarray
    entry_slot: np.ndarray
    entry_bit: np.ndarray
    entry_feature: np.ndarray
    entry_coef: np.ndarray
    entry_table: np.ndarray
    tables: np.ndarray

    @property
    def max_slots(self) -> int:
        """The most nodes (internal and leaves) of one table tree: the kernel's mask scratch."""
        internal = np.diff(self.node_start)
        return int((2 * internal + 1).max(initial=1))


class _TreeBuilder:
    """Flattens the trees of ``booster.dump_model()`` into :class:`TreeTables` arrays."""

    def __init__(self) -> None:
        self.nodes: dict[str, list[Any]] = {k: [] for k in (
            "feature", "threshold", "categorical", "nan_left", "zero_left", "cat_start", "cat_len", "left",
            "right", "bit")}
        self.cat_flags: list[int] = []
        self.leaf_d: list[int] = []
        self.leaf_slot: list[int] = []
        self.leaf_feature: list[int] = []
        self.leaf_q: list[float] = []
        self.leaf_value: list[float] = []
        self.leaf_table: list[int] = []
        self.leaf_local: list[int] = []
        self.node_start = [0]
        self.leaf_start = [0]
        self.entries = 0

    @staticmethod
    def scan(tree: dict[str, Any]) -> tuple[int, int, bool]:
        """(largest distinct path features of a leaf, table entries, every cover ratio positive)."""
        widest, entries, positive = 0, 0, True
        stack: list[tuple[dict[str, Any], frozenset[int]]] = [(tree, frozenset())]
        while stack:
            node, feats = stack.pop()
            if "split_index" not in node:
                widest, entries = max(widest, len(feats)), entries + (1 << len(feats))
                continue
            count = float(node["internal_count"])
            for child in (node["left_child"], node["right_child"]):
                positive &= count > 0 and float(child.get("internal_count", child.get("leaf_count", 0))) > 0
                stack.append((child, feats | {int(node["split_feature"])}))
        return widest, entries, positive

    def skip(self) -> None:
        """A tree left out of the tables (a constant, or one for ``pred_contrib``)."""
        self.node_start.append(self.node_start[-1])
        self.leaf_start.append(self.leaf_start[-1])

    def add(self, tree: dict[str, Any]) -> float:
        """Append one tree; return its expected value (LightGBM's ``Tree::ExpectedValue``)."""
        if "split_index" not in tree:  # a single leaf: a constant, no contributions
            self.skip()
            return float(tree["leaf_value"])
        self._expected, self._total = 0.0, float(tree["internal_count"])
        first = len(self.nodes["feature"])
        self._walk(tree, [], [], first)
        internal = len(self.nodes["feature"]) - first
        for side in ("left", "right"):  # leaf children -> their slots after the internal nodes
            column = self.nodes[side]
            for i in range(first, first + internal):
                if column[i] < 0:
                    column[i] = internal + (-1 - column[i]) - self.leaf_start[-1]
        self.node_start.append(len(self.nodes["feature"]))
        self.leaf_local.extend(internal + j for j in range(len(self.leaf_d) - self.leaf_start[-1]))
        self.leaf_start.append(len(self.leaf_d))
        return self._expected

    def _walk(self, node: dict[str, Any], feats: list[int], qs: list[float], first: int) -> int:
        """Number ``node`` and its subtree in preorder; return its local number."""
        here = len(self.nodes["feature"])
        f = int(node["split_feature"])
        slot = feats.index(f) if f in feats else len(feats)
        self._split(node, slot)
        count = float(node["internal_count"])
        for side, child in (("left", node["left_child"]), ("right", node["right_child"])):
            leaf = "split_index" not in child
            ratio = float(child["leaf_count"] if leaf else child["internal_count"]) / count
            c_feats, c_qs = list(feats), list(qs)
            if slot < len(feats):
                c_qs[slot] *= ratio
            else:
                c_feats.append(f)
                c_qs.append(ratio)
            if leaf:
                self.nodes[side][here] = -1 - len(self.leaf_d)
                self._leaf(float(child["leaf_value"]), c_feats, c_qs)
                self._expected += float(child["leaf_value"]) * float(child["leaf_count"]) / self._total
            else:
                self.nodes[side][here] = self._walk(child, c_feats, c_qs, first)
        return here - first

    def _split(self, node: dict[str, Any], slot: int) -> None:
        nodes = self.nodes
        nodes["feature"].append(int(node["split_feature"]))
        nodes["bit"].append(slot)
        nodes["left"].append(0)
        nodes["right"].append(0)
        if node["decision_type"] == "==":  # listed codes left; NaN, negative and unlisted right
            cats = [int(c) for c in str(node["threshold"]).split("||") if c != ""]
            width = max(cats) + 1 if cats else 0
            flags = np.zeros(width, dtype="uint8")
            flags[cats] = 1
            nodes["categorical"].append(True)
            nodes["threshold"].append(0.0)
            nodes["nan_left"].append(False)
            nodes["zero_left"].append(bool(width and flags[0]))
            nodes["cat_start"].append(len(self.cat_flags))
            nodes["cat_len"].append(width)
            self.cat_flags.extend(flags.tolist())
        elif node["decision_type"] == "<=":
            missing = _MISSING[str(node.get("missing_type", "None"))]
            default_left = bool(node.get("default_left", False))
            threshold = float(node["threshold"])
            zero_left = default_left if missing == 1 else 0.0 <= threshold   # zero: missing, or a number
            nodes["categorical"].append(False)
            nodes["threshold"].append(threshold)
            nodes["nan_left"].append(default_left if missing == 2 else zero_left)  # NaN: missing, or zero
            nodes["zero_left"].append(zero_left)
            nodes["cat_start"].append(0)
            nodes["cat_len"].append(0)
        else:
            raise ValueError(f"TreeSHAP: decision_type {node['decision_type']!r} is not one of '<=', '=='")

    def _leaf(self, value: float, feats: list[int], qs: list[float]) -> None:
        self.leaf_d.append(len(feats))
        self.leaf_slot.append(len(self.leaf_feature))
        self.leaf_feature.extend(feats)
        self.leaf_q.extend(qs)
        self.leaf_value.append(value)
        self.leaf_table.append(self.entries)
        self.entries += 1 << len(feats)

    def finish(self, n_features: int, n_trees: int, base: float,
               fallback: tuple[tuple[int, int], ...]) -> TreeTables:
        nodes = self.nodes
        q = np.asarray(self.leaf_q, dtype="float64")
        tables = np.zeros(self.entries, dtype="float64")
        leaf_d = np.asarray(self.leaf_d, dtype="int64")
        leaf_table = np.asarray(self.leaf_table, dtype="int64")
        if leaf_d.size:
            _fill_tables(leaf_d, np.asarray(self.leaf_slot, dtype="int64"), q,
                         np.asarray(self.leaf_value, dtype="float64"), leaf_table, tables)
        owner = np.repeat(np.arange(leaf_d.size), leaf_d)      # entry -> its leaf
        bit = np.arange(owner.size) - np.repeat(np.asarray(self.leaf_slot, dtype="int64"), leaf_d)
        entry_start = np.concatenate([[0], np.cumsum(leaf_d)])[np.asarray(self.leaf_start)]
        return TreeTables(
            n_features=n_features, n_trees=n_trees, base_value=base, fallback=fallback,
            node_start=np.asarray(self.node_start, dtype="int64"),
            node_feature=np.asarray(nodes["feature"], dtype="int64"),
            node_threshold=np.asarray(nodes["threshold"], dtype="float64"),
            node_categorical=np.asarray(nodes["categorical"], dtype="bool"),
            node_nan_left=np.asarray(nodes["nan_left"], dtype="bool"),
            node_zero_left=np.asarray(nodes["zero_left"], dtype="bool"),
            node_cat_start=np.asarray(nodes["cat_start"], dtype="int64"),
            node_cat_len=np.asarray(nodes["cat_len"], dtype="int64"),
            node_left=np.asarray(nodes["left"], dtype="int64"),
            node_right=np.asarray(nodes["right"], dtype="int64"),
            node_bit=np.asarray(nodes["bit"], dtype="int64"),
            cat_flags=np.asarray(self.cat_flags, dtype="uint8"),
            entry_start=entry_start.astype("int64"),
            entry_slot=np.asarray(self.leaf_local, dtype="int64")[owner],
            entry_bit=bit.astype("int64"),
            entry_feature=np.asarray(self.leaf_feature, dtype="int64"),
            entry_coef=(1.0 - q) / q if q.size else q,
            entry_table=leaf_table[owner],
            tables=tables)


# -- the tables and the compiled kernel ---------------------------------------------------------
def _fill_tables(leaf_d: np.ndarray, leaf_slot: np.ndarray, leaf_q: np.ndarray, leaf_value: np.ndarray,
                 leaf_table: np.ndarray, tables: np.ndarray) -> None:
    """``T'`` of every leaf (module docstring), stored by unmet mask, for the leaves with the same number
    ``d`` of path features together (at most 2^20 entries at a time): the weighted products
    ``v w(|S|) prod_{j not in S} q_j``, then the sums over subsets (one pass per feature), then
    reversed (``T'(u) = T(all - u)``)."""
    for d in np.unique(leaf_d):
        size = 1 << int(d)
        same = np.flatnonzero(leaf_d == d)
        step = max(1, _FILL_ENTRIES // size)  # leaves at a time: temporaries of at most 8 MiB each
        for first in range(0, same.size, step):
            _fill_same_width(int(d), same[first:first + step], leaf_slot, leaf_q, leaf_value, leaf_table, tables)


def _fill_same_width(d: int, leaves: np.ndarray, leaf_slot: np.ndarray, leaf_q: np.ndarray,
                     leaf_value: np.ndarray, leaf_table: np.ndarray, tables: np.ndarray) -> None:
    """:func:`_fill_tables` for ``leaves``, which all have ``d`` path features."""
    size = 1 << d
    subsets = np.arange(size)
    members = (subsets[:, None] >> np.arange(d)) & 1                     # (2^d, d)
    count = members.sum(axis=1)
    weight = _weights(d)[count]
    q = leaf_q[leaf_slot[leaves][:, None] + np.arange(d)]               # (leaves, d)
    prod = np.repeat(leaf_value[leaves][:, None], size, axis=1)
    for j in range(d):
        prod *= np.where(members[:, j] == 1, 1.0, q[:, j:j + 1])
    block = prod * weight
    for j in range(d):  # sum over subsets: add the value without feature j to the one with it
        view = block.reshape(len(leaves), size >> (j + 1), 2, 1 << j)
        view[:, :, 1, :] += view[:, :, 0, :]
    tables[leaf_table[leaves][:, None] + subsets] = block[:, ::-1]


def _weights(d: int) -> np.ndarray:
    """Shapley weights ``w(s) = s! (d - s - 1)! / d!`` for ``s = 0 .. d - 1``, and 0 for ``s = d``."""
    weight = np.zeros(d + 1)
    weight[0] = 1.0 / d
    for s in range(d - 1):
        weight[s + 1] = weight[s] * (s + 1) / (d - s - 1)
    return weight


def _explain_rows(X: np.ndarray, out: np.ndarray, first_row: int, stop_row: int, node_start: np.ndarray,
                  node_feature: np.ndarray, node_threshold: np.ndarray, node_categorical: np.ndarray, node_nan_left: np.ndarray,
                  node_zero_left: np.ndarray, node_cat_start: np.ndarray, node_cat_len: np.ndarray,
                  cat_flags: np.ndarray, node_left: np.ndarray, node_right: np.ndarray, node_bit: np.ndarray,
                  entry_start: np.ndarray, entry_slot: np.ndarray, entry_bit: np.ndarray,
                  entry_feature: np.ndarray, entry_coef: np.ndarray, entry_table: np.ndarray,
                  tables: np.ndarray, zero: float, max_slots: int, block: int) -> None:  # pragma: no cover
    """Add every table tree's contributions for rows ``first_row:stop_row`` of ``X`` (n, k, column-major)
    to ``out`` (n, k).

    Rows go in blocks of ``block``, held feature by feature (a transposed copy), and every step runs
    over the rows of the block in its innermost loop: per tree, one pass over the splits carries the
    masks of *unmet* path features from the root to every leaf, one pass over the (leaf, path
    feature) entries adds the table values (tables are stored by unmet mask: ``T'(u) = T(all - u)``).
    """
    k = X.shape[1]
    masks = np.empty((max_slots, block), dtype=np.int64)
    xt = np.empty((k, block))
    acc = np.empty((k, block))
    for lo in range(first_row, stop_row, block):
        width = min(block, stop_row - lo)
        for f in range(k):
            for r in range(width):
                xt[f, r] = X[lo + r, f]
                acc[f, r] = 0.0
        for t in range(node_start.shape[0] - 1):
            start = node_start[t]
            stop = node_start[t + 1]
            if stop == start:
                continue
            masks[0, :width] = 0
            for g in range(start, stop):
                values = xt[node_feature[g]]
                here = masks[g - start]
                left_masks = masks[node_left[g]]
                right_masks = masks[node_right[g]]
                bit = np.int64(1) << node_bit[g]
                nan_left = np.int64(node_nan_left[g])
                zero_left = np.int64(node_zero_left[g])
                if not node_categorical[g]:
                    threshold = node_threshold[g]
                    for r in range(width):  # integer arithmetic only, so that it vectorises
                        value = values[r]
                        is_nan = np.int64(np.isnan(value))
                        is_zero = np.int64(abs(value) <= zero)
                        left = (np.int64(value <= threshold) & (1 - is_zero)) | (is_zero & zero_left) \
                            | (is_nan & nan_left)
                        m = here[r]
                        off = bit & (left - 1)       # the bit when the row goes right, else 0
                        left_masks[r] = m | off
                        right_masks[r] = m | (bit ^ off)
                else:  # listed codes left; NaN, negative (below -1) and unlisted codes right
                    cat_start = node_cat_start[g]
                    cat_len = node_cat_len[g]
                    for r in range(width):
                        value = values[r]
                        if np.isnan(value):
                            left = nan_left
                        elif abs(value) <= zero:
                            left = zero_left
                        else:
                            left = value > -1.0 and value < cat_len and cat_flags[cat_start + int(value)] == 1
                        m = here[r]
                        left_masks[r] = m if left else m | bit
                        right_masks[r] = m | bit if left else m
            for e in range(entry_start[t], entry_start[t + 1]):
                unmet = masks[entry_slot[e]]
                b = entry_bit[e]
                coef = entry_coef[e] + 1.0
                table = entry_table[e]
                target = acc[entry_feature[e]]
                for r in range(width):  # met: coef * T'(u + bit); unmet: -T'(u)
                    u = unmet[r]
                    met = 1 - ((u >> b) & 1)
                    target[r] += (met * coef - 1.0) * tables[table + (u ^ (met << b))]
        for r in range(width):
            for f in range(k):
                out[lo + r, f] += acc[f, r]


_KERNELS: dict[str, Callable[..., None]] | None = None
_KERNEL_LOCK = threading.Lock()


def _kernels() -> dict[str, Callable[..., None]] | None:
    """The numba kernel, compiled once per process (from numba's cache when it is writable).

    None, with a warning, when numba cannot be imported: every tree then goes to ``pred_contrib``.
    """
    global _KERNELS
    with _KERNEL_LOCK:
        if _KERNELS is None:
            try:
                import numba
            except ImportError as exc:  # pragma: no cover - numba comes with shap
                log.warning("TreeSHAP: numba cannot be imported (%s); contributions come from LightGBM "
                            "pred_contrib", exc)
                _KERNELS = {}
                return None
            compiled: dict[str, Callable[..., None]] = {}
            for name, func in (("explain", _explain_rows),):
                try:
                    compiled[name] = numba.njit(cache=True, nogil=True)(func)
                except RuntimeError as exc:  # no writable cache folder: compile in memory, every process
                    log.warning("TreeSHAP: numba cannot cache %s (%s); compiling it in this process "
                                "(set NUMBA_CACHE_DIR to a writable folder to keep it)", name, exc)
                    compiled[name] = numba.njit(nogil=True)(func)
            _KERNELS = compiled
        return _KERNELS or None


# -- the public face ------------------------------------------------------------------------------
def compile_booster(booster: lgb.Booster, *, max_path_features: int = MAX_PATH_FEATURES,
                    max_tree_entries: int = MAX_TREE_ENTRIES,
                    max_total_entries: int = MAX_TOTAL_ENTRIES) -> TreeTables:
    """Parse ``booster.dump_model()`` into :class:`TreeTables` (text and JSON only, no pickle).

    Parameters
    ----------
    booster : lightgbm.Booster
        A binary or regression booster (one tree per iteration).
    max_path_features : int, default 16
        Leaves splitting on more distinct features put their tree on ``pred_contrib``.
    max_tree_entries, max_total_entries : int
        Table budgets (float64 entries) per tree and per booster; trees beyond them go to
        ``pred_contrib``.

    Raises
    ------
    ValueError
        If the booster has more than one tree per iteration (multiclass).
    """
    dump = booster.dump_model()
    if int(dump.get("num_tree_per_iteration", 1)) != 1:
        raise ValueError(f"TreeSHAP: num_tree_per_iteration must be 1 (binary or regression); got "
                         f"{dump.get('num_tree_per_iteration')}")
    builder = _TreeBuilder()
    base, fallback, total = 0.0, [], 0
    trees = dump["tree_info"]
    for i, info in enumerate(trees):
        tree = info["tree_structure"]
        widest, entries, positive = builder.scan(tree)
        if widest > max_path_features or entries > max_tree_entries or not positive \
                or total + entries > max_total_entries:
            fallback.append(i)
            builder.skip()
            continue
        total += entries
        base += builder.add(tree)
    ranges = _ranges(fallback)
    if ranges:
        log.warning("TreeSHAP: %d of %d trees (%s) are too deep for the tables (more than %d distinct "
                    "features on a path, or over %d table entries); their contributions come from "
                    "LightGBM pred_contrib", len(fallback), len(trees),
                    ", ".join(f"{a}" if b == a + 1 else f"{a}-{b - 1}" for a, b in ranges),
                    max_path_features, max_tree_entries)
    return builder.finish(int(dump["max_feature_idx"]) + 1, len(trees), base, ranges)


def _ranges(trees: list[int]) -> tuple[tuple[int, int], ...]:
    """Consecutive tree numbers as half-open ranges: [1, 2, 3, 7] -> ((1, 4), (7, 8))."""
    out: list[list[int]] = []
    for t in trees:
        if out and out[-1][1] == t:
            out[-1][1] = t + 1
        else:
            out.append([t, t + 1])
    return tuple((a, b) for a, b in out)


def lightgbm_matrix(booster: lgb.Booster, X: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Model inputs as the float64 matrix (n, k) LightGBM's ``predict`` compares with the thresholds.

    Pandas categories become their codes in the training categories (``booster.pandas_categorical``;
    unseen levels and missing are NaN), and the frame passes through the same float width LightGBM
    would use (float32 when every column fits it), so every split decides as in LightGBM. The matrix
    is column-major (Fortran order): the kernel reads a block of rows feature by feature.
    """
    if not isinstance(X, pd.DataFrame):
        return np.asfortranarray(X, dtype="float64")
    levels = list(booster.pandas_categorical or [])
    out = np.empty(X.shape, dtype="float64", order="F")
    kinds: list[Any] = [np.float32]
    for j, name in enumerate(X.columns):
        col = X[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            if not levels:
                raise ValueError(f"TreeSHAP: column {name!r} is categorical but the booster has no more "
                                 "pandas categories")
            cat = col.array
            wanted = levels.pop(0)
            if list(cat.categories) != list(wanted):
                cat = cat.set_categories(wanted)
            codes = np.asarray(cat.codes)
            out[:, j] = codes
            unseen = codes < 0
            if unseen.any():   # LightGBM replaces -1 by NaN, which makes the column float64
                out[unseen, j] = np.nan
                kinds.append(np.float64)
            else:
                kinds.append(codes.dtype.type)
        else:
            kinds.append(col.dtype.type)
            try:
                out[:, j] = col.to_numpy(dtype="float64")
            except (TypeError, ValueError):  # nullable dtypes
                out[:, j] = col.to_numpy(dtype="float64", na_value=np.nan)
    if levels:
        raise ValueError(f"TreeSHAP: the booster has {len(levels)} more categorical columns than the frame")
    if np.result_type(*kinds) == np.float32:   # LightGBM would predict from float32 values
        out = np.asfortranarray(out.astype("float32").astype("float64"))
    return out


_COMPILED: weakref.WeakKeyDictionary[lgb.Booster, tuple[int, TreeTables]] = weakref.WeakKeyDictionary()
_COMPILED_LOCK = threading.Lock()


def _tables_of(booster: lgb.Booster) -> TreeTables:
    """:func:`compile_booster` once per booster (kept while the booster lives and keeps its trees)."""
    with _COMPILED_LOCK:
        hit = _COMPILED.get(booster)
        if hit is None or hit[0] != booster.num_trees():
            t0 = time.perf_counter()
            tables = compile_booster(booster)
            log.debug("TreeSHAP: %d trees compiled in %.3f s (%d table entries)", tables.n_trees,
                      time.perf_counter() - t0, tables.tables.size)
            hit = (booster.num_trees(), tables)
            _COMPILED[booster] = hit
        return hit[1]


def _threads() -> int:
    """The threads LightGBM's OpenMP would use: ``OMP_NUM_THREADS`` or the cores this process may use."""
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def tree_shap(booster: lgb.Booster, X: pd.DataFrame | np.ndarray, *, n_threads: int | None = None,
              block: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Exact TreeSHAP contributions of ``booster`` on model inputs ``X`` (shape (n, k)).

    Parameters
    ----------
    booster : lightgbm.Booster
    X : DataFrame or ndarray, shape (n, k)
        The inputs ``booster.predict`` takes.
    n_threads : int, optional
        Threads; by default those LightGBM's OpenMP would use.
    block : int, default 256
        Rows explained together, tree by tree.

    Returns
    -------
    values : ndarray, shape (n, k)
        Contributions to the raw score (log-odds for a binary booster).
    base : ndarray, shape (n,)
        Expected raw score (the same on every row); ``values.sum(1) + base`` is the raw score.
    """
    tables = _tables_of(booster)
    matrix = lightgbm_matrix(booster, X)
    n, k = matrix.shape
    if k != tables.n_features:
        raise ValueError(f"TreeSHAP: X has {k} columns, the booster {tables.n_features} features")
    out = np.zeros((n, k), dtype="float64")
    base = np.full(n, tables.base_value)
    forced = os.environ.get(ENGINE_VARIABLE, "tables") == "pred_contrib"
    kernels = _kernels() if tables.tables.size and not forced else None
    fallback = tables.fallback
    if tables.tables.size and kernels is None:  # no numba, or asked for: every tree from pred_contrib
        base, fallback = np.zeros(n), ((0, tables.n_trees),)
    elif kernels is not None and n:
        _run(kernels["explain"], tables, matrix, out, n_threads or _threads(), block)
    if not n:
        return out, base
    for start, stop in fallback:
        extra = np.asarray(booster.predict(X, pred_contrib=True, start_iteration=start,
                                           num_iteration=stop - start), dtype="float64")
        out += extra[:, :-1]
        base += extra[:, -1]
    return out, base


def _run(kernel: Callable[..., None], t: TreeTables, matrix: np.ndarray, out: np.ndarray, threads: int,
         block: int) -> None:
    """Run ``kernel`` over the rows, in ``threads`` contiguous ranges at once (it releases the GIL)."""
    args = (t.node_start, t.node_feature, t.node_threshold, t.node_categorical, t.node_nan_left,
            t.node_zero_left, t.node_cat_start, t.node_cat_len, t.cat_flags, t.node_left, t.node_right,
            t.node_bit, t.entry_start, t.entry_slot, t.entry_bit, t.entry_feature, t.entry_coef,
            t.entry_table, t.tables, _ZERO, t.max_slots, block)
    n = matrix.shape[0]
    parts = max(1, min(threads, n // _ROWS_PER_TASK))
    if parts == 1:
        kernel(matrix, out, 0, n, *args)
        return
    cuts = np.linspace(0, n, parts + 1).astype(int)
    with ThreadPoolExecutor(max_workers=parts) as pool:
        futures = [pool.submit(kernel, matrix, out, int(a), int(b), *args) for a, b in itertools.pairwise(cuts)]
        for future in futures:
            future.result()
