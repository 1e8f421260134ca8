"""Mapping files: how a lessor's own tape or a SEC Reg AB II tape becomes canonical lease records.

A mapping (TOML) names, for each canonical field of :mod:`features.schema` that the tape has, the
source column it comes from, plus extra source columns that are used as model inputs as they are.
Every canonical field is optional. Three mappings are built in (``native``, ``regab-autolease``,
``regab-autoloan``, in ``features/mappings/``); any other name is read as a path. The format is
described in ``docs/mappings.md``.

:func:`load_mapping` reads and validates a mapping; :func:`apply_mapping` turns a raw frame into a
:class:`MappedTape` (typed canonical columns, extra features, ids, 0/1 target, and a table of every
cell that could not be decoded); :func:`read_mapped` and :func:`iter_mapped` read a CSV, Parquet or
ABS-EE XML file through a mapping, reading only the columns the mapping uses.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import math
import os
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.contract import PROBLEM_COLUMNS, FirstRows, coerce_column, empty_problems, parse_dates
from features.exceptions import ConfigError, TapeError
from features.io import csv_header, decode_error, iter_table, tape_format, unique_columns
from features.regab import iter_regab_xml
from features.schema import LEASE_FIELDS, lease_field
from features.spec import FeatureSpec, computable_subset, spec_from_dict

__all__ = [
    "BUILTIN_MAPPINGS",
    "ExtraFeature",
    "FieldRule",
    "MappedTape",
    "Mapping",
    "apply_mapping",
    "decode_hints",
    "extra_input_name",
    "iter_mapped",
    "load_mapping",
    "mapped_format",
    "mapped_spec",
    "read_mapped",
    "spec_with_extras",
    "tape_columns",
]

BUILTIN_MAPPINGS: tuple[str, ...] = ("native", "regab-autolease", "regab-autoloan")
#: Distinct target values a :class:`MappedTape` keeps counts of (the most frequent).
TARGET_VALUES_KEPT = 50
Format = Literal["csv", "parquet", "regab-xml"]
_FORMATS = ("csv", "parquet", "regab-xml")
_TOP_KEYS = ("name", "description", "format", "encoding", "id", "target", "positive", "missing", "optional",
             "fields", "features")
_RULE_KEYS = ("column", "scale", "date_format", "codes", "birth_date_format", "missing")
_FEATURE_KEYS = ("kind", "monotone")
_CANONICAL = {f.name for f in LEASE_FIELDS}


#: Cell texts that conventionally mean "no value" (compared without case or surrounding spaces).
MISSING_MARKERS = frozenset({"na", "n/a", "#n/a", "nan", "null", "none", "nil", "-", "--", ".", "?",
                             "无", "空", "—", "——", "－", "／", "／／"})
#: Date formats :func:`decode_hints` tries on dates that do not read (day-first before month-first).
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%d-%m-%Y", "%m-%d-%Y", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y",
                "%d-%m-%y", "%m-%d-%y", "%d/%m/%y", "%m/%d/%y", "%d-%b-%y", "%d-%b-%Y", "%b-%y", "%b %Y",
                "%m/%Y", "%Y-%m", "%Y-%m-%d %H:%M:%S")


def decode_hints(problems: pd.DataFrame, mapping: Mapping) -> list[str]:
    """Lines for the user when cells the mapping could not decode have an evident remedy.

    * Texts that conventionally mean "no value" (``NA``, ``NULL``, ``-`` ...): they are empty already,
      but each is counted as a problem until the mapping's ``missing`` names it.
    * A date field whose texts do not read: the :data:`DATE_FORMATS` that read every one of (at most
      200 of) them, as the ``date_format`` to declare if the whole column is written so (only the
      failed cells are seen here, and a column may mix formats: then those cells need correcting).

    Parameters
    ----------
    problems : DataFrame
        :attr:`MappedTape.problems` (columns ``column``, ``value``, ``rule``).
    mapping : Mapping
    """
    hints = []
    found = sorted({str(v) for v in problems["value"].unique() if str(v).strip().lower() in MISSING_MARKERS})
    if found:
        hints.append(f"{' / '.join(repr(v) for v in found)} read as a value that does not decode; if it means "
                     f"empty, declare missing = {json.dumps(found, ensure_ascii=False)} in the mapping")
    dated = problems[problems["rule"].isin(("type", "date_format"))]
    dated_columns = set(dated["column"])
    for rule in mapping.fields:
        if lease_field(rule.field).kind != "date" or rule.column not in dated_columns:
            continue
        cells = dated.loc[dated["column"] == rule.column, "value"].astype(str)
        cells = cells[~cells.str.strip().str.lower().isin(MISSING_MARKERS)]
        values = pd.Series(cells.unique()[:200])
        fits = [f for f in DATE_FORMATS if len(values) and parse_dates(values, f).notna().all()]
        if fits:
            also = f" ({', '.join(repr(f) for f in fits[1:])} also read them: check a day above 12)" \
                if len(fits) > 1 else ""
            # the hint sees only the cells that failed: the column may mix formats, so both remedies are named
            many = len(cells) != 1
            hints.append(f"{rule.column}: {len(cells)} {'dates such as' if many else 'date,'} {values.iloc[0]!r}"
                         f"{',' if not many else ''} {'do' if many else 'does'} not read as "
                         f"{rule.date_format or 'YYYY-MM-DD'}; {fits[0]!r} reads all of them{also}. If the whole "
                         f'column is written so: {rule.field} = {{ column = "{rule.column}", date_format = '
                         f'"{fits[0]}" }}; if only these cells are, correct them in the tape')
    return hints

@dataclass(frozen=True)
class FieldRule:
    """How one canonical field is read from one source column.

    Attributes
    ----------
    field : str
        Canonical field name (:data:`features.schema.LEASE_FIELDS`).
    column : str
        Source column (CSV header, Parquet column or XML element name).
    scale : float or None
        Numeric fields only: the source value is multiplied by it (0.01 turns percent into a fraction).
    date_format : str or None
        Date fields only: :func:`~datetime.datetime.strptime` format of the source (``"%m/%Y"``);
        default ISO ``YYYY-MM-DD``.
    codes : tuple of (str, str) pairs or None
        Source code -> canonical value; a non-empty cell whose code is not listed is a decode problem.
    birth_date_format : str or None
        ``lessee_age`` only: the source holds the lessee's birth date in this strptime format, and the
        age is the whole years from it to ``origination_date`` (which the mapping must map). With a
        two-digit year (``%y``), a birth date that would fall after the origination date is read a
        century earlier (``01-01-60`` is 1960, not 2060).
    missing : tuple of str
        Source texts that mean "no value" in this column only (a bureau score of ``0`` for a lessee the
        bureau does not know), beside the mapping's ``missing``; compared after trimming.
    """

    field: str
    column: str
    scale: float | None = None
    date_format: str | None = None
    codes: tuple[tuple[str, str], ...] | None = None
    birth_date_format: str | None = None
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExtraFeature:
    """A source column used as a model input as it is.

    Attributes
    ----------
    column : str
        Source column; also the name of the model input.
    kind : {"numeric", "categorical"}
    monotone : {-1, 0, 1}
        Expected direction of the effect on default risk (+1: higher value, higher PD); 0 for none.
    """

    column: str
    kind: Literal["numeric", "categorical"]
    monotone: int = 0


@dataclass(frozen=True)
class Mapping:
    """A validated mapping file. Build it with :func:`load_mapping`.

    Attributes
    ----------
    name : str
        Free text.
    format : {"csv", "parquet", "regab-xml"} or None
        None: inferred from the tape's suffix.
    encoding : str
        Text encoding of a CSV tape (``"gb18030"`` for GBK exports); default UTF-8.
    id : str or None
        Source column holding the contract id; None: the canonical ``contract_id`` rule if mapped,
        otherwise the 1-based row number.
    target : str or None
        Source column holding the default outcome.
    positive : tuple of str
        Target values (normalised text) that mean default.
    missing : tuple of str
        Source cell texts that mean "empty" (always including ``""``).
    optional : frozenset of str
        Source columns of ``fields`` and ``features`` that a CSV or Parquet tape may lack: such a column
        is left out (with its field or feature) and named in :attr:`MappedTape.absent`; any other column
        the mapping names that the tape lacks is an error. Never the id or the target column.
    fields : tuple of FieldRule
    features : tuple of ExtraFeature
    origin : str
        Where the mapping came from (built-in name or file path), used in messages.
    """

    name: str
    format: Format | None = None
    encoding: str = "utf-8"
    id: str | None = None
    target: str | None = None
    positive: tuple[str, ...] = ("1", "true")
    missing: tuple[str, ...] = ("",)
    optional: frozenset[str] = frozenset()
    fields: tuple[FieldRule, ...] = ()
    features: tuple[ExtraFeature, ...] = ()
    origin: str = ""
    description: str = field(default="", compare=False)

    @property
    def id_column(self) -> str | None:
        """The source column of the contract id, or None when ids are row numbers."""
        if self.id is not None:
            return self.id
        return next((r.column for r in self.fields if r.field == "contract_id"), None)

    def source_columns(self) -> list[str]:
        """Every source column the mapping reads, in declaration order, without repeats."""
        cols = [self.id_column, self.target, *(r.column for r in self.fields), *(f.column for f in self.features)]
        return list(dict.fromkeys(c for c in cols if c is not None))

    def without(self, columns: Iterable[str]) -> Mapping:
        """A copy that no longer reads ``columns``: their field rules and extra features are left out."""
        gone = set(columns)
        return replace(self, fields=tuple(r for r in self.fields if r.column not in gone),
                       features=tuple(f for f in self.features if f.column not in gone))

    def with_target(self, target: str | None) -> Mapping:
        """A copy with another target column (a command's ``--target`` flag).

        Raises
        ------
        ConfigError
            If ``target`` is also one of the mapping's ``[features]``, the column of a field, or the id (the
            outcome as a model input).
        """
        _check_target_not_input(self.origin or self.name, target, self.features, self.fields, self.id)
        return replace(self, target=target, optional=self.optional - {target})


@dataclass(frozen=True)
class MappedTape:
    """A tape read through a mapping.

    Attributes
    ----------
    records : DataFrame
        One row per source row, in source order (index: 0-based data row of the file). Columns:
        ``contract_id`` (from the mapping's id), the mapped canonical fields typed as in
        :mod:`features.schema` (cells that could not be decoded are empty), then the extra features
        under their source names (numeric as float, categorical as text).
    target : Series or None
        ``Int8`` 0/1 default outcome (empty where the target cell is empty), None without a target.
    problems : DataFrame
        One row per cell that could not be decoded: ``row`` (1-based data row), ``column`` (source
        column), ``value``, ``rule``, ``message``.
    mapping : Mapping
        The mapping as applied: without the field rules and features of :attr:`absent` columns.
    source : str
        The file read, or ``""``.
    absent : tuple of str
        Optional source columns of the mapping (:attr:`Mapping.optional`) that the tape does not hold;
        their fields and features are left out of ``records``.
    target_values : tuple of (str, int)
        The target's values as compared with :attr:`Mapping.positive` (trimmed, lower case, ``1.0`` ->
        ``1``) and how many rows hold each, most frequent first (at most :data:`TARGET_VALUES_KEPT`):
        what to tell a user whose ``positive`` matches no row, or every row.
    """

    records: pd.DataFrame
    target: pd.Series | None
    problems: pd.DataFrame
    mapping: Mapping
    source: str = ""
    absent: tuple[str, ...] = ()
    target_values: tuple[tuple[str, int], ...] = ()

    @property
    def ids(self) -> pd.Series:
        """Contract ids as text."""
        return self.records["contract_id"]

    @property
    def canonical_fields(self) -> list[str]:
        """The canonical fields present in :attr:`records` (``contract_id`` first)."""
        return [c for c in self.records.columns if c in _CANONICAL]

    @property
    def feature_kinds(self) -> dict[str, str]:
        """Extra feature column -> ``"numeric"`` or ``"categorical"``."""
        return {f.column: f.kind for f in self.mapping.features}

    @property
    def monotone(self) -> dict[str, int]:
        """Extra feature column -> declared monotone direction (-1, 0, +1)."""
        return {f.column: f.monotone for f in self.mapping.features}

    def decode_report(self) -> pd.DataFrame:
        """Problems counted by ``column, rule, value`` (most frequent first): what could not be decoded."""
        if self.problems.empty:
            return pd.DataFrame({"column": [], "rule": [], "value": [], "count": []}).astype({"count": "int64"})
        counts = self.problems.groupby(["column", "rule", "value"], sort=False).size().rename("count")
        return counts.reset_index().sort_values(["count", "column"], ascending=[False, True], ignore_index=True)

    def without(self, columns: Iterable[str]) -> MappedTape:
        """The tape with the fields and features of source ``columns`` left out, as if it lacked them.

        Used to read two tapes on the same inputs when one lacks an optional column the other has.
        """
        gone = [c for c in dict.fromkeys(columns) if c in self.mapping.source_columns() and c not in self.absent]
        if not gone:
            return self
        drop = [r.field for r in self.mapping.fields if r.column in gone and r.field != "contract_id"]
        drop += [f.column for f in self.mapping.features if f.column in gone]
        return replace(self, records=self.records.drop(columns=drop), mapping=self.mapping.without(gone),
                       absent=self.absent + tuple(gone))

    @staticmethod
    def concat(parts: list[MappedTape]) -> MappedTape:
        """Join the chunks of one file (from :func:`iter_mapped`) into one tape."""
        if not parts:
            raise TapeError("no chunks to join")
        first = parts[0]
        target = None if first.target is None else pd.concat([p.target for p in parts])  # type: ignore[misc]
        problems = pd.concat([p.problems for p in parts], ignore_index=True)
        counts: dict[str, int] = {}
        for p in parts:
            for value, n in p.target_values:
                counts[value] = counts.get(value, 0) + n
        return MappedTape(pd.concat([p.records for p in parts]), target, problems, first.mapping, first.source,
                          first.absent, _most_frequent(counts))


# ---------------------------------------------------------------------------------------------
# loading


def _norm_token(value: Any) -> str:
    """Normalise a code or target value to comparable text: trimmed, lower case, ``1.0`` -> ``1``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip()
    try:
        num = float(text)
    except ValueError:
        return text.lower()
    if math.isfinite(num) and num == int(num):
        return str(int(num))
    return repr(num)


def _fail(origin: str, where: str, message: str) -> ConfigError:
    return ConfigError(f"mapping {origin}: {where}: {message}")


def _parse_rule(origin: str, name: str, spec: Any) -> FieldRule:
    where = f"[fields] {name}"
    if name not in _CANONICAL:
        raise _fail(origin, where, f"unknown canonical field {name!r}; known fields: {', '.join(sorted(_CANONICAL))}")
    if isinstance(spec, str):
        return FieldRule(name, spec)
    if not isinstance(spec, dict):
        raise _fail(origin, where, f"expected a column name or a table with {', '.join(_RULE_KEYS)}; got {spec!r}")
    unknown = sorted(set(spec) - set(_RULE_KEYS))
    if unknown:
        raise _fail(origin, where, f"unknown key {unknown[0]!r}; allowed keys: {', '.join(_RULE_KEYS)}")
    column = spec.get("column")
    if not isinstance(column, str) or not column:
        raise _fail(origin, where, f"'column' must be a non-empty text; got {column!r}")
    kind = lease_field(name).kind
    scale = spec.get("scale")
    if scale is not None:
        if kind not in ("int", "float"):
            raise _fail(origin, where, f"'scale' applies to numeric fields only; {name} is {kind}")
        if isinstance(scale, bool) or not isinstance(scale, int | float) or not scale > 0:
            raise _fail(origin, where, f"'scale' must be a positive number; got {scale!r}")
        scale = float(scale)
    date_format = spec.get("date_format")
    if date_format is not None:
        if kind != "date":
            raise _fail(origin, where, f"'date_format' applies to date fields only; {name} is {kind}")
        if not isinstance(date_format, str) or "%" not in date_format or not _reads_back(date_format):
            raise _fail(origin, where, f"'date_format' must be a strptime format such as '%m/%Y'; got {date_format!r}")
    codes = spec.get("codes")
    pairs: tuple[tuple[str, str], ...] | None = None
    if codes is not None:
        if not isinstance(codes, dict) or not codes:
            raise _fail(origin, where, f"'codes' must be a non-empty table of source code = value; got {codes!r}")
        allowed = lease_field(name).categories
        for code, value in codes.items():
            if allowed is not None and value not in allowed:
                raise _fail(origin, where, f"code {code!r} maps to {value!r}; {name} must be one of "
                            f"{', '.join(allowed)}")
        pairs = tuple((_norm_token(c), _norm_token(v) if isinstance(v, bool) else str(v)) for c, v in codes.items())
        # each value as the cells will decode it (features.contract.coerce_column): checked once, here
        unfit = coerce_column(pd.Series([v for _, v in pairs], dtype=object), lease_field(name))[1]
        if unfit.any():
            code, value = list(codes.items())[int(np.flatnonzero(unfit)[0])]
            raise _fail(origin, where, f"code {code!r} maps to {value!r}, which is not a {kind} value "
                        f"({'true or false' if kind == 'bool' else 'a number' if kind in ('int', 'float') else kind})")
    born = spec.get("birth_date_format")
    if born is not None:
        if name != "lessee_age":
            raise _fail(origin, where, f"'birth_date_format' applies to lessee_age only; not to {name}")
        if not isinstance(born, str) or not re.search(r"(?<!%)%[yY]", born.replace("%%", "")) \
                or not _reads_back(born):
            raise _fail(origin, where, f"'birth_date_format' must be a strptime format with a year (%y or %Y) such "
                        f"as '%d-%m-%y'; got {born!r}")
        if scale is not None or pairs is not None:
            raise _fail(origin, where, "'birth_date_format' cannot be combined with 'scale' or 'codes'")
    missing = spec.get("missing", [])
    if not isinstance(missing, list) or not all(isinstance(m, str) and m.strip() for m in missing):
        raise _fail(origin, where, f"'missing' must be a list of non-empty texts (what means no value in this "
                    f"column, e.g. [\"0\"]); got {missing!r}")
    return FieldRule(name, column, scale, date_format, pairs, born, tuple(dict.fromkeys(m.strip() for m in missing)))


def _reads_back(fmt: str) -> bool:
    """``fmt`` is a strptime format Python can read with (no unknown directive, no stray %): a date written
    with it reads back."""
    try:
        dt.datetime.strptime(dt.datetime(2001, 2, 3).strftime(fmt), fmt)
    except ValueError:
        return False
    return True


def _parse_feature(origin: str, column: str, spec: Any) -> ExtraFeature:
    where = f"[features] {column!r}"
    if column in _CANONICAL:
        raise _fail(origin, where, "an extra feature may not carry a canonical field name; map it under [fields]")
    if not isinstance(spec, dict):
        raise _fail(origin, where, f"expected a table such as {{ kind = \"numeric\" }}; got {spec!r}")
    unknown = sorted(set(spec) - set(_FEATURE_KEYS))
    if unknown:
        raise _fail(origin, where, f"unknown key {unknown[0]!r}; allowed keys: {', '.join(_FEATURE_KEYS)}")
    kind = spec.get("kind")
    if kind not in ("numeric", "categorical"):
        raise _fail(origin, where, f"kind must be \"numeric\" or \"categorical\"; got {kind!r}")
    monotone = spec.get("monotone", 0)
    if isinstance(monotone, bool) or monotone not in (-1, 0, 1):
        raise _fail(origin, where, f"monotone must be -1, 0 or 1; got {monotone!r}")
    if kind == "categorical" and monotone != 0:
        raise _fail(origin, where, f"a categorical feature cannot be monotone; got monotone = {monotone}")
    return ExtraFeature(column, kind, int(monotone))


def _optional_text(origin: str, data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise _fail(origin, key, f"must be a non-empty text; got {value!r}")
    return value


def mapping_from_dict(data: dict[str, Any], *, origin: str = "<dict>") -> Mapping:
    """Validate a parsed mapping (the TOML document as a dict) and build a :class:`Mapping`.

    Raises
    ------
    ConfigError
        On an unknown key, an unknown canonical field, a bad kind, monotone, scale, date format or
        code table, or an unknown format; the message names the mapping, the key and the value.
    """
    unknown = sorted(set(data) - set(_TOP_KEYS))
    if unknown:
        raise _fail(origin, unknown[0], f"unknown key; allowed keys: {', '.join(_TOP_KEYS)}")
    fmt = data.get("format")
    if fmt is not None and fmt not in _FORMATS:
        raise _fail(origin, "format", f"must be one of {', '.join(_FORMATS)}; got {fmt!r}")
    encoding = data.get("encoding", "utf-8")
    if not isinstance(encoding, str):
        raise _fail(origin, "encoding", f"must be a text such as \"gb18030\"; got {encoding!r}")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise _fail(origin, "encoding", f"unknown text encoding {encoding!r}; e.g. utf-8, gb18030, latin-1") from None
    if "encoding" in data and fmt in ("parquet", "regab-xml"):
        raise _fail(origin, "encoding", f"applies to CSV tapes only; format is {fmt}")
    positive_raw = data.get("positive", [1, True])
    if not isinstance(positive_raw, list) or not positive_raw:
        raise _fail(origin, "positive", f"must be a non-empty list of target values; got {positive_raw!r}")
    missing_raw = data.get("missing", [""])
    if not isinstance(missing_raw, list) or not all(isinstance(m, str) for m in missing_raw):
        raise _fail(origin, "missing", f"must be a list of texts; got {missing_raw!r}")
    fields_raw = data.get("fields", {})
    features_raw = data.get("features", {})
    for key, value in (("fields", fields_raw), ("features", features_raw)):
        if not isinstance(value, dict):
            raise _fail(origin, f"[{key}]", f"must be a table; got {value!r}")
    rules = tuple(_parse_rule(origin, k, v) for k, v in fields_raw.items())
    if any(r.birth_date_format for r in rules) and "origination_date" not in fields_raw:
        raise _fail(origin, "[fields] lessee_age", "an age from a birth date needs origination_date mapped too "
                    "(the age is counted at origination)")
    features = tuple(_parse_feature(origin, k, v) for k, v in features_raw.items())
    if not rules and not features:
        raise _fail(origin, "[fields]", "the mapping maps no canonical field and declares no [features]")
    mapping = Mapping(
        name=_optional_text(origin, data, "name") or origin,
        format=fmt,
        encoding=encoding,
        id=_optional_text(origin, data, "id"),
        target=_optional_text(origin, data, "target"),
        positive=tuple(dict.fromkeys(_norm_token(p) for p in positive_raw)),
        missing=tuple(dict.fromkeys(["", *(m.strip() for m in missing_raw)])),
        fields=rules,
        features=features,
        origin=origin,
        description=_optional_text(origin, data, "description") or "",
    )
    _check_target_not_input(origin, mapping.target, features, rules, mapping.id)
    names: dict[str, str] = {}
    for feat in features:
        name = extra_input_name(feat.column)
        if name in names:
            raise _fail(origin, "[features]", f"{names[name]!r} and {feat.column!r} both become the model input "
                        f"{name!r}; rename one of them")
        names[name] = feat.column
    contract_rule = next((r.column for r in rules if r.field == "contract_id"), None)
    if mapping.id is not None and contract_rule is not None and contract_rule != mapping.id:
        raise _fail(origin, "id", f"id = {mapping.id!r} but [fields] contract_id = {contract_rule!r}; "
                    "give the id column once")
    return replace(mapping, optional=_parse_optional(origin, data.get("optional", False), mapping))


def _parse_optional(origin: str, value: Any, mapping: Mapping) -> frozenset[str]:
    """The top-level ``optional`` key: ``true`` (every [fields] and [features] column but the id and the
    target), ``false``, or a list of those columns."""
    named = [r.column for r in mapping.fields] + [f.column for f in mapping.features]
    never = {mapping.id_column, mapping.target} - {None}
    if isinstance(value, bool):
        return frozenset(c for c in named if c not in never) if value else frozenset()
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise _fail(origin, "optional", f"must be true, false or a list of source column names; got {value!r}")
    for column in value:
        if column in never:
            raise _fail(origin, "optional", f"{column!r} is the {'id' if column == mapping.id_column else 'target'} "
                        "column, which a tape must hold")
        if column not in named:
            raise _fail(origin, "optional", f"{column!r} is not a column of [fields] or [features]; "
                        f"columns: {', '.join(dict.fromkeys(named))}")
    return frozenset(value)


def _check_target_not_input(origin: str, target: str | None, features: Iterable[ExtraFeature],
                            fields: Iterable[FieldRule] = (), id_column: str | None = None) -> None:
    """Refuse a target column that the mapping also reads as an input: an extra feature, the source of a
    canonical field (every field can feed a model input), or the contract id."""
    if target is None:
        return
    if any(f.column == target for f in features):
        raise ConfigError(f"{origin}: target {target!r} is also listed in [features]; the outcome cannot be a "
                          "model input")
    field = next((r.field for r in fields if r.column == target), None)
    if field is not None:
        raise ConfigError(f"{origin}: target {target!r} is also the column of field {field} in [fields]; the "
                          "outcome cannot be a model input (name another column, or drop that field's rule)")
    if id_column is not None and id_column == target:
        raise ConfigError(f"{origin}: target {target!r} is also the id column; the outcome cannot identify "
                          "the contracts")


def load_mapping(name_or_path: str | os.PathLike[str]) -> Mapping:
    """Load a built-in mapping by name (:data:`BUILTIN_MAPPINGS`) or a mapping file by path.

    Raises
    ------
    ConfigError
        If the file does not exist, is not valid TOML, or does not validate (see :func:`mapping_from_dict`).
    """
    text_name = str(name_or_path)
    if text_name in BUILTIN_MAPPINGS:
        resource = resources.files("features").joinpath("mappings", f"{text_name}.toml")
        raw, origin = resource.read_text(encoding="utf-8"), text_name
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise ConfigError(f"mapping {text_name!r}: no such file and not a built-in mapping "
                              f"(built-in: {', '.join(BUILTIN_MAPPINGS)})")
        origin = str(path)
        try:  # a byte-order mark, as some Windows editors write, is not part of the TOML
            raw = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"mapping {origin}: not UTF-8 text (byte {exc.start}: {exc.object[exc.start:exc.start + 1]!r}); "
                              "save the mapping file as UTF-8") from None
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"mapping {origin}: not valid TOML: {exc}") from None
    return mapping_from_dict(data, origin=origin)


def better_builtin(columns: Iterable[str], mapping: Mapping) -> tuple[str, int, int] | None:
    """A built-in mapping that reads more of the tape's ``columns`` than ``mapping`` does and at least
    half of its own: the likely right one for a tape read through the wrong one (a Reg AB II loan tape
    through ``regab-autolease``). Returns its name, the columns it reads and the columns it names."""
    have = set(columns)
    best, most = None, sum(c in have for c in mapping.source_columns())
    for name in BUILTIN_MAPPINGS:
        if name == (mapping.origin or mapping.name):
            continue
        named = load_mapping(name).with_target(None).source_columns()
        found = sum(c in have for c in named)
        if found > most and 2 * found >= len(named):
            best, most = (name, found, len(named)), found
    return best


# ---------------------------------------------------------------------------------------------
# applying


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


class _Problems:
    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows
        self.parts: list[pd.DataFrame] = []

    def add(self, mask: np.ndarray, column: str, values: pd.Series, rule: str, message: str) -> None:
        if not mask.any():
            return
        shown = ["" if _is_missing(v) else str(v) for v in values[mask].tolist()]
        self.parts.append(pd.DataFrame({"row": self.rows[mask], "column": column, "value": shown, "rule": rule,
                                        "message": message}))

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return empty_problems()
        out = pd.concat(self.parts, ignore_index=True)
        return out.sort_values(["row", "column"], kind="stable", ignore_index=True)


def _source_text(values: pd.Series, missing: tuple[str, ...]) -> pd.Series:
    """Cells as trimmed text (object dtype), with the mapping's missing tokens as None. A typed date or
    timestamp column (Parquet) gives its dates as ISO text, an empty one (NaT) as None."""
    drop = set(missing)
    if pd.api.types.is_datetime64_any_dtype(values):
        values = values.dt.strftime("%Y-%m-%d")  # NaT stays missing
    cells = [None if _is_missing(v) else str(v).strip() for v in values.tolist()]
    return pd.Series([None if c in drop else c for c in cells], index=values.index, dtype=object)


_FORMATTED_NUMBER = r"\s*[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?\s*%?\s*"


def _plain_numbers(text: pd.Series) -> pd.Series:
    """Number cells as spreadsheets export them, ``"13.56%"`` or ``"1,234.50"``, as plain numbers
    (``"13.56"``, ``"1234.50"``): the percent sign and the thousands separators go, the unit stays
    the source's (declare ``scale = 0.01`` for percent). Full-width forms, as Chinese input methods type
    them (``"１０９，４００．００"``, ``"13.56％"``), are read as their ASCII forms (Unicode NFKC). Other
    cells are returned as they are."""
    wide = text.map(lambda v: isinstance(v, str) and not v.isascii()).to_numpy(dtype=bool)
    if wide.any():
        text = text.copy()
        text[wide] = [unicodedata.normalize("NFKC", v) for v in text[wide]]
    cells = text.astype("string")
    marked = (cells.str.contains("%", regex=False) | cells.str.contains(",", regex=False)).fillna(False).to_numpy()
    if not marked.any():
        return text
    candidates = cells[marked]
    formatted = candidates[candidates.str.fullmatch(_FORMATTED_NUMBER).fillna(False).to_numpy()]
    out = text.copy()
    out[formatted.index] = formatted.str.replace(r"[,%\s]", "", regex=True).astype(object)
    return out


def _decode_rule(rule: FieldRule, raw: pd.Series, text: pd.Series, out: _Problems) -> pd.Series:
    spec = lease_field(rule.field)
    own = np.zeros(len(text), dtype=bool)
    if rule.missing:   # this column's own "no value" texts (0 and 0.0 alike, as codes are compared)
        gone = {_norm_token(m) for m in rule.missing}
        own = (text.notna() & text.map(lambda v: _norm_token(v) in gone if not pd.isna(v) else False)
               .astype(bool)).to_numpy()
        text = text.where(~own)
    present = text.notna().to_numpy()
    values: pd.Series = text
    if spec.kind in ("int", "float") and rule.codes is None:
        values = _plain_numbers(text)
    if rule.codes is not None:
        table = dict(rule.codes)
        # a code wins over the mapping's missing texts (无 may be "no guarantor" here and "no score" there),
        # not over the field's own
        full = text.copy()
        dropped = text.isna().to_numpy() & ~own   # empty cells and the mapping's missing texts: read again
        if dropped.any():
            full[dropped] = _source_text(raw[dropped], ())
        keys = full.map(lambda v: None if v is None else _norm_token(v))
        values = keys.map(table)
        present = present | values.notna().to_numpy()
        unknown = present & values.isna().to_numpy()
        out.add(unknown, rule.column, raw, "code",
                f"{rule.column} -> {rule.field}: code not in the mapping's table ({', '.join(table)})")
        present = present & ~unknown
    if rule.date_format is not None and not pd.api.types.is_datetime64_any_dtype(raw):  # typed dates need none
        parsed = parse_dates(values, rule.date_format)
        bad = present & parsed.isna().to_numpy()
        out.add(bad, rule.column, raw, "date_format",
                f"{rule.column} -> {rule.field}: not a date in the format {rule.date_format}")
        return parsed
    if rule.scale is not None:
        num = pd.to_numeric(values, errors="coerce")
        bad = present & num.isna().to_numpy()
        out.add(bad, rule.column, raw, "type", f"{rule.column} -> {rule.field}: not a number")
        present = present & ~bad
        values = num * rule.scale
    typed, bad_type = coerce_column(values, spec)
    bad_type = bad_type & present
    kind_text = {"int": "a whole number", "float": "a number", "bool": "true or false",
                 "date": "a date YYYY-MM-DD (declare date_format otherwise)"}.get(spec.kind, spec.kind)
    out.add(bad_type, rule.column, raw, "type", f"{rule.column} -> {rule.field}: must be {kind_text}")
    return typed


def _age_from_birth_date(rule: FieldRule, raw: pd.Series, text: pd.Series, origination: pd.Series,
                         out: _Problems) -> pd.Series:
    """Whole years from the birth date in ``text`` to ``origination`` (:attr:`FieldRule.birth_date_format`)."""
    fmt = "%Y-%m-%d" if pd.api.types.is_datetime64_any_dtype(raw) else rule.birth_date_format  # typed: ISO text
    assert fmt is not None
    born = parse_dates(text, fmt)
    bad = text.notna().to_numpy() & born.isna().to_numpy()
    out.add(bad, rule.column, raw, "date_format",
            f"{rule.column} -> {rule.field}: not a birth date in the format {fmt}")
    if "%y" in fmt.replace("%%", ""):  # two-digit years: strptime puts 00-68 in the 2000s
        born = born.where(~(born > origination), born - pd.DateOffset(years=100))
    years = origination.dt.year - born.dt.year
    before_birthday = (origination.dt.month < born.dt.month) | (
        (origination.dt.month == born.dt.month) & (origination.dt.day < born.dt.day))
    return (years - before_birthday.astype("int64")).astype("Int64")


def _resolve_columns(columns: Iterable[str], mapping: Mapping, source: str) -> tuple[Mapping, tuple[str, ...]]:
    """``mapping`` without the optional columns the tape lacks, and those columns (in mapping order).

    Raises
    ------
    TapeError
        If the tape lacks a column that is not optional, lacks every column but the id (the wrong tape
        or the wrong mapping), or lacks ``origination_date`` while an age is counted from a birth date.
    """
    have = set(columns)
    named = mapping.source_columns()
    absent = [c for c in named if c not in have]
    if not absent:
        return mapping, ()
    where = source or "the tape"
    label = mapping.origin or mapping.name
    required = [c for c in absent if c not in mapping.optional]
    if required:
        hint = ("; it is the target, which a tape must hold (--target names another column)"
                if required[0] == mapping.target else
                "; it is the id column, which a tape must hold (is it the right mapping?)"
                if required[0] == mapping.id else "; mark it optional = [...] in the mapping if a tape may lack it")
        raise TapeError(f"{where}: column {required[0]!r} named by mapping {label} is not in the tape"
                        + (f" (also absent: {', '.join(required[1:])})" if len(required) > 1 else "") + hint)
    reduced = mapping.without(absent)
    if not reduced.fields and not reduced.features:
        raise TapeError(f"{where}: the tape holds none of the columns mapping {label} reads "
                        f"({', '.join(absent[:5])}{', ...' if len(absent) > 5 else ''}); is it the right mapping?")
    if any(r.birth_date_format for r in reduced.fields) and all(r.field != "origination_date" for r in reduced.fields):
        origination = next(r.column for r in mapping.fields if r.field == "origination_date")
        raise TapeError(f"{where}: column {origination!r} (origination_date) is not in the tape, and mapping {label} "
                        "counts lessee_age from a birth date to it")
    return reduced, tuple(absent)


def apply_mapping(frame: pd.DataFrame, mapping: Mapping, *, source: str | os.PathLike[str] = "",
                  row_offset: int = 0) -> MappedTape:
    """Turn a raw tape frame into canonical records through ``mapping``.

    Parameters
    ----------
    frame : DataFrame
        Source rows (text cells from CSV/XML or typed Parquet columns); columns the mapping does not
        use are ignored.
    mapping : Mapping
    source : str or path, optional
        The file the frame came from, named in errors.
    row_offset : int, default 0
        Data rows before this frame in the file (chunked reads), so problem rows are global.

    Returns
    -------
    MappedTape
        Every input row comes out exactly once; undecodable cells become empty and are listed in
        ``problems`` (rules ``code``, ``date_format``, ``type``, ``id_missing``, ``unique``,
        ``target_missing``, ``numeric``).

        A column of :attr:`Mapping.optional` that ``frame`` lacks is left out with its field or feature
        and named in :attr:`MappedTape.absent`.

    Raises
    ------
    TapeError
        If a column the mapping names, and does not mark optional, is not in ``frame``.
    """
    source = str(source)
    mapping, absent = _resolve_columns(frame.columns, mapping, source)
    rows = np.arange(len(frame), dtype="int64") + row_offset + 1
    out = _Problems(rows)
    texts = {c: _source_text(frame[c], mapping.missing) for c in mapping.source_columns()}
    records = pd.DataFrame(index=frame.index)

    id_col = mapping.id_column
    if id_col is None:
        records["contract_id"] = pd.array([str(r) for r in rows], dtype="string")
    else:
        ids = texts[id_col]
        out.add(ids.isna().to_numpy(), id_col, frame[id_col], "id_missing", f"{id_col}: the contract id is empty")
        dup = ids.duplicated(keep="first").to_numpy() & ids.notna().to_numpy()
        out.add(dup, id_col, frame[id_col], "unique", f"{id_col}: the contract id already appeared on an earlier row")
        records["contract_id"] = ids.astype("string")

    for rule in mapping.fields:
        if rule.field == "contract_id" or rule.birth_date_format is not None:
            continue
        records[rule.field] = _decode_rule(rule, frame[rule.column], texts[rule.column], out)
    for rule in mapping.fields:  # after origination_date
        if rule.birth_date_format is not None:
            records[rule.field] = _age_from_birth_date(rule, frame[rule.column], texts[rule.column],
                                                       records["origination_date"], out)
    records = records[["contract_id", *(r.field for r in mapping.fields if r.field != "contract_id")]]

    for feat in mapping.features:
        text = texts[feat.column]
        if feat.kind == "numeric":
            num = pd.to_numeric(_plain_numbers(text), errors="coerce").astype("float64")
            bad = text.notna().to_numpy() & num.isna().to_numpy()
            out.add(bad, feat.column, frame[feat.column], "numeric", f"{feat.column}: numeric feature, not a number")
            records[feat.column] = num
        else:
            records[feat.column] = text.astype("string")

    target = None
    target_values: tuple[tuple[str, int], ...] = ()
    if mapping.target is not None:
        text = texts[mapping.target]
        empty = text.isna().to_numpy()
        out.add(empty, mapping.target, frame[mapping.target], "target_missing",
                f"{mapping.target}: the target is empty")
        tokens = text.map(lambda v: None if v is None else _norm_token(v))
        target = tokens.isin(mapping.positive).astype("Int8").where(tokens.notna(), pd.NA).rename("target")
        target.index = frame.index
        target_values = _most_frequent(tokens.dropna().value_counts().to_dict())
    return MappedTape(records, target, out.frame(), mapping, source, absent, target_values)


def _most_frequent(counts: dict[Any, int]) -> tuple[tuple[str, int], ...]:
    ranked = sorted(((str(v), int(n)) for v, n in counts.items()), key=lambda vn: (-vn[1], vn[0]))
    return tuple(ranked[:TARGET_VALUES_KEPT])


# ---------------------------------------------------------------------------------------------
# reading files


def mapped_format(path: str | os.PathLike[str], mapping: Mapping) -> Format:
    """The format a tape is read in: the mapping's ``format``, else ``.xml`` -> ``regab-xml``, else CSV/Parquet.

    Raises
    ------
    TapeError
        If the file is missing or empty, or is not CSV/Parquet and not ``.xml``.
    """
    if mapping.format is not None:
        if not Path(path).is_file():
            raise TapeError(f"{path}: no such file")
        return mapping.format
    if str(path).lower().endswith(".xml"):
        if not Path(path).is_file():
            raise TapeError(f"{path}: no such file")
        return "regab-xml"
    return tape_format(path)  # type: ignore[return-value]


def tape_columns(path: str | os.PathLike[str]) -> list[str]:
    """The column names of a CSV or Parquet tape, read from its header only.

    Raises
    ------
    TapeError
        If the file is missing, empty, not CSV/Parquet, or its header cannot be read.
    """
    return _header(Path(path), tape_format(path))  # type: ignore[arg-type]


def _header(path: Path, fmt: Format, encoding: str = "utf-8") -> list[str]:
    if fmt == "parquet":
        try:
            names = list(pq.ParquetFile(path).schema_arrow.names)
        except (pa.ArrowInvalid, OSError) as exc:
            raise TapeError(f"{path}: cannot be read as Parquet (the mapping's format, or the file's): {exc}") from None
        return unique_columns(path, names)
    unique_columns(path, csv_header(path, encoding))
    try:
        return list(pd.read_csv(path, nrows=0, dtype=str, encoding=encoding).columns)
    except UnicodeDecodeError as exc:
        raise decode_error(path, exc, encoding) from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise TapeError(f"{path}: cannot read the CSV header: {' '.join(str(exc).split())}") from None


def iter_mapped(path: str | os.PathLike[str], mapping: Mapping, *,
                chunksize: int | None = 200_000) -> Iterator[MappedTape]:
    """Read a tape through ``mapping`` in chunks of at most ``chunksize`` rows (None: one chunk).

    Only the columns the mapping uses are read. Every occurrence of a contract id after its first
    is reported (rule ``unique``), across chunks too, so the problems do not depend on ``chunksize``
    (ids of earlier chunks are kept as 64-bit hashes: 8 bytes an id; a false repeat needs a hash
    collision, about one chance in 10^5 for ten million ids). ABS-EE XML is streamed element by
    element (:func:`features.regab.iter_regab_xml`); an element that no asset of the file reports is
    a file-level problem (row 0, rule ``column_absent``, added to the last chunk) rather than an
    error, since the schema makes most elements optional; an absent id element is an error. A CSV or
    Parquet header that lacks a column of :attr:`Mapping.optional` leaves that column's field or feature
    out of every chunk (:attr:`MappedTape.absent` names it; :attr:`MappedTape.mapping` is the mapping
    without it).

    Raises
    ------
    TapeError
        If the file cannot be read, or a column the mapping names (and does not mark optional) is not in
        a CSV/Parquet header.
    """
    p = Path(path)
    fmt = mapped_format(p, mapping)
    seen_ids = FirstRows()
    seen_elements: set[str] = set()
    absent: tuple[str, ...] = ()
    if fmt == "regab-xml":
        columns = mapping.source_columns()
        chunks: Iterator[pd.DataFrame] = iter_regab_xml(p, columns=columns, chunksize=chunksize or 200_000,
                                                        seen=seen_elements)
    else:
        mapping, absent = _resolve_columns(_header(p, fmt, mapping.encoding), mapping, str(p))
        columns = mapping.source_columns()
        chunks = iter_table(p, chunksize=chunksize, columns=columns, encoding=mapping.encoding, whole_rows=True)
    offset = 0
    pending: MappedTape | None = None
    for frame in chunks:
        if fmt == "regab-xml" and mapping.id_column is not None and mapping.id_column not in seen_elements:
            raise TapeError(f"{p}: no asset reports the id element {mapping.id_column!r} named by mapping "
                            f"{mapping.origin or mapping.name}")
        part = _cross_chunk_ids(apply_mapping(frame, mapping, source=p, row_offset=offset), seen_ids, offset)
        part = replace(part, absent=absent)
        offset += len(frame)
        if pending is not None:
            yield pending
        pending = part
    if pending is None:
        raise TapeError(f"{p}: the tape has no rows")
    unreported = [c for c in columns if c not in seen_elements] if fmt == "regab-xml" else []
    if unreported:
        extra = pd.DataFrame([{"row": 0, "column": c, "value": "", "rule": "column_absent",
                               "message": f"no asset in {p.name} reports the element {c}; its values are empty"}
                              for c in unreported], columns=PROBLEM_COLUMNS)
        pending = replace(pending, problems=pd.concat([extra, pending.problems], ignore_index=True))
    yield pending


def _cross_chunk_ids(part: MappedTape, seen: FirstRows, offset: int) -> MappedTape:
    """Add a ``unique`` problem for each id already met in an earlier chunk."""
    col = part.mapping.id_column
    if col is None:
        return part
    ids = part.ids
    rows = np.arange(len(ids)) + offset + 1
    repeat = seen.earlier(ids, rows) > 0
    if not repeat.any():
        return part
    flagged = part.problems.loc[part.problems["rule"] == "unique", "row"].to_numpy()
    new = repeat & ~np.isin(rows, flagged)
    extra = pd.DataFrame({"row": rows[new], "column": col, "value": ids[new].astype(str).to_numpy(),
                          "rule": "unique", "message": f"{col}: the contract id already appeared on an earlier row"})
    problems = pd.concat([part.problems, extra], ignore_index=True).sort_values(
        ["row", "column"], kind="stable", ignore_index=True)
    return replace(part, problems=problems)


def read_mapped(path: str | os.PathLike[str], mapping: Mapping, *, chunksize: int | None = None) -> MappedTape:
    """Read a whole tape through ``mapping`` (see :func:`iter_mapped`).

    Parameters
    ----------
    chunksize : int or None
        Rows read at a time; None reads CSV/Parquet in one go (XML is always streamed). Only the
        mapped columns are kept, so memory grows with the mapped width, not the tape's.
    """
    return MappedTape.concat(list(iter_mapped(path, mapping, chunksize=chunksize)))


def extra_input_name(column: str) -> str:
    """The model-input name of a mapping's extra source column: ``x_`` and the column in snake case.

    ``"Employment.Type"`` -> ``x_employment_type``, ``"驾龄(年)"`` -> ``x_驾龄_年`` (letters and digits of
    any script are kept); the canonical copy of a tape holds the column's text under this name
    (:mod:`features.canonical`).
    """
    snake = re.sub(r"[\W_]+", "_", column.strip().lower()).strip("_")
    return "x_" + (snake or "column")


def spec_with_extras(spec: FeatureSpec | None, extras: Iterable[ExtraFeature],
                     *, source: str = "mapped specification") -> FeatureSpec | None:
    """``spec`` with one model input per extra feature of a mapping (``source = "mapping"``).

    Each is named :func:`extra_input_name` of its column, displayed as the column, with the
    mapping's kind and ``monotone`` direction.

    Raises
    ------
    ConfigError
        If two columns give the same name, or a name collides with a feature of ``spec``.
    """
    extras = list(extras)
    if not extras:
        return spec
    base = [f.to_dict() for f in spec.model_inputs] if spec is not None else []
    taken = {d["name"]: "the feature specification" for d in base}
    for feat in extras:
        name = extra_input_name(feat.column)
        if name in taken:
            raise ConfigError(f"[features] {feat.column!r}: its model-input name {name!r} is already used by "
                              f"{taken[name]}; rename the column in the mapping")
        taken[name] = f"[features] {feat.column!r}"
        base.append({"name": name, "display_en": feat.column, "display_zh": feat.column,
                     "description": f"Source column {feat.column!r} used as it is (mapping [features]).",
                     "unit": "", "inputs": [name], "transform": "identity",
                     "direction": feat.monotone if feat.kind == "numeric" else 0, "kind": feat.kind,
                     "known_at_cutoff": True, "model_input": True, "source": "mapping"})
    return spec_from_dict({"version": spec.version if spec is not None else 1, "feature": base}, source=source)


def mapped_spec(spec: FeatureSpec, present: Iterable[str],
                extras: Iterable[ExtraFeature]) -> tuple[FeatureSpec | None, list[str]]:
    """The model inputs of a tape read through a mapping, as ``poolgate train`` and ``evaluate`` use them.

    The features of ``spec`` whose canonical inputs are all in ``present`` (the mapped fields that are
    not all empty; :func:`features.spec.computable_subset`), then the mapping's extra features whose
    column is in ``present`` too, under its source name or its model-input name
    (:func:`spec_with_extras`). An extra column with no value at all is left out rather than handed to
    a model as an input that is always missing (an imputer can learn nothing from it).

    Returns
    -------
    (FeatureSpec or None, list of str)
        The specification (None when nothing is computable and no extra has a value) and the names of
        the model inputs left out (the specification's, then the extras' ``x_`` names).
    """
    present = set(present)
    subset, dropped = computable_subset(spec, present)
    extras = list(extras)
    filled = [f for f in extras if f.column in present or extra_input_name(f.column) in present]
    dropped += [extra_input_name(f.column) for f in extras if f not in filled]
    return spec_with_extras(subset, filled), dropped
