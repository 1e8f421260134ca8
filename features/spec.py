"""The feature specification of the default model, declared as data and checked on load.

The specification (``features/feature_spec.toml`` by default) lists every feature: its name, English
and Simplified Chinese display names, description and unit, the canonical fields it is computed from
and how (``transform``), the expected direction of its effect on default risk, its kind (numeric or
categorical), whether it is known at the cut-off, and whether it is a model input.

:func:`load_spec` validates the file and applies the leakage guard: a model input computed from a
status or performance field of :mod:`features.schema`, or from anything named like an outcome
(``default``, ``dpd``, ``pd_*``, ``label``, ...), is refused with a :class:`LeakageError` that names
the feature and the field.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

from features.exceptions import ConfigError, LeakageError
from features.schema import LEASE_FIELDS, PERFORMANCE_FIELDS, lease_field

__all__ = [
    "TRANSFORMS",
    "FeatureDef",
    "FeatureSpec",
    "computable_subset",
    "default_spec_path",
    "load_spec",
    "spec_from_dict",
]

#: transform name -> number of inputs it takes.
TRANSFORMS: dict[str, int] = {
    "identity": 1,
    "ratio": 2,
    "sum_ratio": 3,
    "sum": 2,
    "years_plus_months": 2,
    "is_missing": 1,
}
_KINDS = ("numeric", "categorical")
_UNITS = ("CNY", "months", "years", "fraction", "count", "points", "km", "flag", "")
_REQUIRED = ("name", "display_en", "display_zh", "description", "unit", "inputs", "transform",
             "direction", "kind", "known_at_cutoff", "model_input")
_OPTIONAL = ("clip", "source")
_SOURCES = ("spec", "mapping", "snapshot")
_FORBIDDEN_ROLES = ("status", "performance")
_OUTCOME_NAME = re.compile(
    r"(^|_)(default|defaults|defaulted|dpd|label|target|outcome|truth|status|chargeoff|charged|"
    r"prepaid|delinquen\w*)(_|$)|^pd($|_)|_pd$"
)
#: A name is snake case: a letter (of any script: a mapping's extra input may be x_驾龄_年), then letters,
#: digits and underscores, no upper case.
_NAME = re.compile(r"^[^\W\d_]\w*$")


@dataclass(frozen=True)
class FeatureDef:
    """One feature of the specification.

    Attributes
    ----------
    name : str
        Column name of the feature (lower-case snake case).
    display_en, display_zh : str
        Display names in English and Simplified Chinese.
    description : str
        One line, with the unit.
    unit : str
        ``CNY``, ``months``, ``years``, ``fraction``, ``count``, ``points``, ``km``, ``flag`` or ``""``.
    inputs : tuple of str
        Canonical lease fields the feature is computed from.
    transform : str
        One of :data:`TRANSFORMS`.
    direction : {-1, 0, 1}
        Expected effect on default risk; non-zero values become monotone constraints.
    kind : {"numeric", "categorical"}
        Categorical features use LightGBM's native categories.
    known_at_cutoff : bool
        The value is known when a pool is screened at its cut-off date.
    model_input : bool
        The feature is fed to the model.
    clip : tuple of (float, float) or None
        Range the computed value is limited to (infinities from a zero denominator included).
    source : {"spec", "mapping", "snapshot"}
        ``mapping``: an extra input declared in a mapping's ``[features]``, read from the column
        ``x_...`` of a canonical copy (its one input, equal to its name) instead of canonical fields.
        ``snapshot``: behaviour at a month-end ``s`` (:data:`features.snapshots.BEHAVIOUR_COLUMNS`,
        its one input equal to its name), an input of the forward (hazard) model only; the
        origination model's :attr:`FeatureSpec.model_inputs` leave it out.
    """

    name: str
    display_en: str
    display_zh: str
    description: str
    unit: str
    inputs: tuple[str, ...]
    transform: str
    direction: int
    kind: Literal["numeric", "categorical"]
    known_at_cutoff: bool
    model_input: bool
    clip: tuple[float, float] | None = None
    source: str = "spec"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (the same keys as the TOML file)."""
        out: dict[str, Any] = {k: getattr(self, k) for k in _REQUIRED}
        out["inputs"] = list(self.inputs)
        if self.clip is not None:
            out["clip"] = list(self.clip)
        if self.source != "spec":
            out["source"] = self.source
        return out


@dataclass(frozen=True)
class FeatureSpec:
    """A validated feature specification.

    Attributes
    ----------
    version : int
        Version of the specification file.
    features : tuple of FeatureDef
        Every feature, model inputs and documented-only ones, in file order.
    source : str
        Where it came from (a path, or ``"<dict>"``).
    """

    version: int
    features: tuple[FeatureDef, ...]
    source: str = "<dict>"

    @property
    def model_inputs(self) -> tuple[FeatureDef, ...]:
        """The features fed to the origination model, in file order (snapshot behaviour excluded)."""
        return tuple(f for f in self.features if f.model_input and f.source != "snapshot")

    @property
    def snapshot_inputs(self) -> tuple[FeatureDef, ...]:
        """Behaviour at a snapshot month-end fed to the forward (hazard) model, in file order."""
        return tuple(f for f in self.features if f.model_input and f.source == "snapshot")

    @property
    def names(self) -> list[str]:
        """Names of the model inputs, in order (the model's feature names)."""
        return [f.name for f in self.model_inputs]

    @property
    def directions(self) -> dict[str, int]:
        """Model input name -> expected risk direction (-1, 0 or +1)."""
        return {f.name: f.direction for f in self.model_inputs}

    @property
    def categorical(self) -> list[str]:
        """Names of the categorical model inputs."""
        return [f.name for f in self.model_inputs if f.kind == "categorical"]

    @property
    def required_fields(self) -> list[str]:
        """Canonical fields a tape must carry to compute every model input (first-use order)."""
        seen: dict[str, None] = {}
        for f in self.model_inputs:
            for name in f.inputs:
                seen.setdefault(name, None)
        return list(seen)

    def feature(self, name: str) -> FeatureDef:
        """Return the feature called ``name``.

        Raises
        ------
        KeyError
            If there is none; the message lists the known names.
        """
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(f"no feature {name!r} in the specification; known: {', '.join(f.name for f in self.features)}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, accepted back by :func:`spec_from_dict`."""
        return {"version": self.version, "feature": [f.to_dict() for f in self.features]}

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical JSON form (hex); identifies the specification in run metadata."""
        text = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def default_spec_path() -> str:
    """Path of the specification shipped with poolgate (``features/feature_spec.toml``)."""
    return str(resources.files("features").joinpath("feature_spec.toml"))


def load_spec(path: str | os.PathLike[str] | None = None) -> FeatureSpec:
    """Read and validate a feature specification file (TOML).

    Parameters
    ----------
    path : path-like, optional
        The TOML file; the shipped ``features/feature_spec.toml`` when omitted.

    Raises
    ------
    ConfigError
        If the file is missing, is not valid TOML, or breaks a rule of the specification
        (the message names the file, the feature and the key).
    LeakageError
        If a model input is computed from a status, performance or outcome field.
    """
    where = str(path) if path is not None else default_spec_path()
    try:
        with open(where, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{where}: feature specification not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    return spec_from_dict(data, source=where)


def spec_from_dict(data: Mapping[str, Any], *, source: str = "<dict>") -> FeatureSpec:
    """Validate a specification given as a mapping (the parsed TOML, or :meth:`FeatureSpec.to_dict`).

    Raises
    ------
    ConfigError, LeakageError
        As :func:`load_spec`.
    """
    unknown_top = sorted(set(data) - {"version", "feature"})
    if unknown_top:
        raise ConfigError(f"{source}: unknown top-level keys {unknown_top}; allowed: version, feature")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ConfigError(f"{source}: 'version' must be a positive integer, got {version!r}")
    raw = data.get("feature")
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{source}: expected at least one [[feature]] table, got {type(raw).__name__}")
    features: list[FeatureDef] = []
    for i, entry in enumerate(raw, start=1):
        features.append(_feature(entry, f"{source}: feature #{i}"))
    names = [f.name for f in features]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{source}: duplicated feature names {dupes}; each name must appear once")
    spec = FeatureSpec(version=version, features=tuple(features), source=source)
    if not spec.model_inputs:
        raise ConfigError(f"{source}: no feature has model_input = true; the model needs at least one input")
    for f in spec.model_inputs:
        _guard(f, source)
    for f in spec.snapshot_inputs:
        _guard_snapshot(f, source)
    return spec


def _feature(entry: Any, where: str) -> FeatureDef:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: expected a table, got {entry!r}")
    label = f"{where} {entry.get('name', '?')!r}"
    missing = [k for k in _REQUIRED if k not in entry]
    if missing:
        raise ConfigError(f"{label}: missing keys {missing}")
    extra = sorted(set(entry) - set(_REQUIRED) - set(_OPTIONAL))
    if extra:
        raise ConfigError(f"{label}: unknown keys {extra}; allowed: {', '.join(_REQUIRED + _OPTIONAL)}")
    name = entry["name"]
    if not isinstance(name, str) or not _NAME.match(name) or name != name.lower():
        raise ConfigError(f"{label}: 'name' must be lower-case snake case, got {name!r}")
    for key in ("display_en", "display_zh", "description"):
        if not isinstance(entry[key], str) or not entry[key].strip():
            raise ConfigError(f"{label}: {key!r} must be non-empty text, got {entry[key]!r}")
    if entry["unit"] not in _UNITS:
        raise ConfigError(f"{label}: 'unit' must be one of {list(_UNITS)}, got {entry['unit']!r}")
    transform = entry["transform"]
    if transform not in TRANSFORMS:
        raise ConfigError(f"{label}: 'transform' must be one of {list(TRANSFORMS)}, got {transform!r}")
    inputs = entry["inputs"]
    if not isinstance(inputs, list) or not all(isinstance(x, str) for x in inputs):
        raise ConfigError(f"{label}: 'inputs' must be a list of field names, got {inputs!r}")
    if len(inputs) != TRANSFORMS[transform]:
        raise ConfigError(f"{label}: transform {transform!r} takes {TRANSFORMS[transform]} inputs, "
                          f"got {len(inputs)} ({inputs})")
    direction = entry["direction"]
    if direction not in (-1, 0, 1) or isinstance(direction, bool):
        raise ConfigError(f"{label}: 'direction' must be -1, 0 or 1, got {direction!r}")
    kind = entry["kind"]
    if kind not in _KINDS:
        raise ConfigError(f"{label}: 'kind' must be one of {list(_KINDS)}, got {kind!r}")
    if kind == "categorical" and (direction != 0 or transform != "identity"):
        raise ConfigError(f"{label}: a categorical feature needs direction 0 and transform 'identity', "
                          f"got direction {direction!r} and transform {transform!r}")
    for key in ("known_at_cutoff", "model_input"):
        if not isinstance(entry[key], bool):
            raise ConfigError(f"{label}: {key!r} must be true or false, got {entry[key]!r}")
    if entry["model_input"] and not entry["known_at_cutoff"]:
        raise ConfigError(f"{label}: a model input must be known at the cut-off "
                          "(known_at_cutoff = true); it could not be computed when screening")
    clip = entry.get("clip")
    if clip is not None:
        ok = (isinstance(clip, list) and len(clip) == 2
              and all(isinstance(v, int | float) and not isinstance(v, bool) for v in clip) and clip[0] < clip[1])
        if not ok:
            raise ConfigError(f"{label}: 'clip' must be [low, high] numbers with low < high, got {clip!r}")
        clip = (float(clip[0]), float(clip[1]))
    source = entry.get("source", "spec")
    if source not in _SOURCES:
        raise ConfigError(f"{label}: 'source' must be one of {list(_SOURCES)}, got {source!r}")
    if source == "mapping" and (list(inputs) != [name] or transform != "identity" or not name.startswith("x_")):
        raise ConfigError(f"{label}: a feature from a mapping is named x_... and is its own one input with "
                          f"transform 'identity'; got inputs {inputs} and transform {transform!r}")
    if source == "snapshot" and (list(inputs) != [name] or transform != "identity" or kind != "numeric"):
        raise ConfigError(f"{label}: a snapshot feature is its own one input (a snapshot column) with transform "
                          f"'identity' and kind 'numeric'; got inputs {inputs}, transform {transform!r}, kind {kind!r}")
    return FeatureDef(
        name=name, display_en=entry["display_en"], display_zh=entry["display_zh"],
        description=entry["description"], unit=entry["unit"], inputs=tuple(inputs), transform=transform,
        direction=int(direction), kind=kind, known_at_cutoff=entry["known_at_cutoff"],
        model_input=entry["model_input"], clip=clip, source=source,
    )


_PERFORMANCE_NAMES = {f.name for f in PERFORMANCE_FIELDS if f.role == "performance"}
_LEASE_NAMES = {f.name for f in LEASE_FIELDS}


def _guard(feature: FeatureDef, source: str) -> None:
    """Refuse a model input built from an outcome; then check its inputs are canonical fields.

    A mapping's extra input is a source column the user declared; its name is not judged by the
    outcome-name pattern (``status_of_checking_account`` and ``months_since_last_delinquency`` are
    ordinary credit inputs), and the mapping refuses its target as an input (:mod:`features.mapping`).
    """
    if feature.source == "mapping":
        return
    for name in (*feature.inputs, feature.name):
        if name in _LEASE_NAMES:
            role = lease_field(name).role
            if role in _FORBIDDEN_ROLES:
                raise LeakageError(
                    f"{source}: feature {feature.name!r} uses field {name!r}, whose role is {role!r} "
                    "(payment status or performance after origination); such fields may not be model "
                    "inputs. Set model_input = false or remove the field."
                )
            continue
        if name in _PERFORMANCE_NAMES or _OUTCOME_NAME.search(name):
            raise LeakageError(
                f"{source}: feature {feature.name!r} uses field {name!r}, which is a performance or outcome "
                "field (label, default flag, PD, days past due); outcomes may not be model inputs."
            )
    unknown = [n for n in feature.inputs if n not in _LEASE_NAMES]
    if unknown:
        raise ConfigError(f"{source}: feature {feature.name!r} uses unknown fields {unknown}; inputs must be "
                          f"canonical lease fields: {', '.join(sorted(_LEASE_NAMES))}")


def _guard_snapshot(feature: FeatureDef, source: str) -> None:
    """Refuse a snapshot input that reads an outcome after ``s``; only behaviour at ``s`` may be read."""
    from features.snapshots import BEHAVIOUR_COLUMNS, OUTCOME_COLUMNS

    name = feature.inputs[0]
    if name in OUTCOME_COLUMNS or (name not in BEHAVIOUR_COLUMNS and _OUTCOME_NAME.search(name)):
        raise LeakageError(
            f"{source}: feature {feature.name!r} uses snapshot column {name!r}, which is the outcome after the "
            "snapshot month-end; only behaviour at or before s may be a model input.")
    if name not in BEHAVIOUR_COLUMNS:
        raise ConfigError(f"{source}: feature {feature.name!r} uses unknown snapshot column {name!r}; snapshot "
                          f"inputs must be one of {', '.join(BEHAVIOUR_COLUMNS)}")


def computable_subset(spec: FeatureSpec, present: Iterable[str]) -> tuple[FeatureSpec | None, list[str]]:
    """The model inputs of ``spec`` whose canonical inputs are all in ``present`` (a mapped tape's fields).

    Returns
    -------
    (FeatureSpec or None, list of str)
        A specification of exactly those model inputs (None when there is none; features that are not
        model inputs are not carried over) and the names of the model inputs left out.
    """
    fields = set(present)
    kept = [f for f in spec.model_inputs if set(f.inputs) <= fields]
    dropped = [f.name for f in spec.model_inputs if f not in kept]
    if not kept:
        return None, dropped
    subset = spec_from_dict({"version": spec.version, "feature": [f.to_dict() for f in kept]},
                            source="mapped subset of the feature specification")
    return subset, dropped
