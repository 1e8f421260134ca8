"""The screening policy: a versioned TOML file loaded into frozen dataclasses, validated, hashed.

The policy holds the deal's criteria as data (eligibility rules, PD decision bands, score scaling,
loss given default, concentration limits, reason-code texts in English and Simplified Chinese).
:func:`load_policy` checks every key and value and raises :class:`PolicyError` naming the file, the
key, the value and what is allowed. :attr:`Policy.sha256` is the hash of the policy's canonical
content (the parsed TOML as key-sorted JSON), so comments and layout do not change it; it goes into
every decision.
"""

from __future__ import annotations

import hashlib
import json
import os
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from features.exceptions import FileValueError
from features.io import TomlTable, read_toml
from models.scaling import ScoreScaling
from scoring.quantities import QUANTITIES

__all__ = [
    "CONCENTRATION_GROUPS",
    "LANGUAGES",
    "PD_BASES",
    "ConcentrationLimit",
    "DecisionBands",
    "EligibilityRule",
    "Policy",
    "PolicyError",
    "ReasonTexts",
    "default_policy_path",
    "load_policy",
    "parse_policy",
]

LANGUAGES = ("en", "zh")
CONCENTRATION_GROUPS = ("lessee", "top_lessees", "province", "dealer", "make", "used", "nev")


#: The PDs a policy's bands may apply to (``[decision] pd``).
PD_BASES = ("remaining", "12m", "origination")


class PolicyError(FileValueError):
    """A policy file is invalid. Carries ``file``, ``key``, ``value`` and ``allowed``."""


@dataclass(frozen=True)
class EligibilityRule:
    """One eligibility criterion on one quantity (see :mod:`scoring.quantities`).

    A range rule has ``minimum`` and/or ``maximum`` (inclusive); a set rule has ``allowed``.
    ``if_missing`` is ``"fail"`` or ``"pass"`` for rows whose quantity is empty.
    """

    code: str
    quantity: str
    minimum: float | None
    maximum: float | None
    allowed: tuple[Any, ...] | None
    if_missing: str
    texts: Mapping[str, str]


@dataclass(frozen=True)
class DecisionBands:
    """PD bands of an eligible asset: ``pd <= admit_pd_max`` admit, ``<= refer_pd_max`` refer, else reject.

    ``pd`` names the PD the bands apply to (:data:`PD_BASES`): ``remaining`` (default; default over the
    asset's remaining term from the cut-off, prepayment competing), ``12m`` (within 12 months of the
    cut-off) or ``origination`` (the origination model's default within its horizon of origination).
    The forward PDs need a model with a forward part; with an older model the origination PD is used
    and the run says so.
    """

    admit_pd_max: float
    refer_pd_max: float
    refer_texts: Mapping[str, str]
    reject_texts: Mapping[str, str]
    pd: str = "remaining"


@dataclass(frozen=True)
class ConcentrationLimit:
    """Largest share of the pool's outstanding principal one group may hold (``n`` for top_lessees)."""

    code: str
    group: str
    max_share: float
    n: int
    texts: Mapping[str, str]


@dataclass(frozen=True)
class ReasonTexts:
    """How reason codes are chosen and worded."""

    top_n: int
    min_logodds: float
    default: Mapping[str, str]
    features: Mapping[str, Mapping[str, str]]

    def template(self, feature: str, language: str) -> str:
        """Template for ``feature`` in ``language`` (the default one when the feature has none)."""
        own = self.features.get(feature)
        return own[language] if own is not None else self.default[language]


@dataclass(frozen=True)
class Policy:
    """A validated screening policy.

    ``score`` maps PD to points (:class:`models.scaling.ScoreScaling`); ``score_bands`` are the
    ascending lower edges of the score bands of the pool summary; ``lgd`` is the loss given default
    (fraction of the outstanding principal); ``sha256`` identifies the policy's content and
    ``source`` is the file it was read from.
    """

    name: str
    version: str
    language: str
    eligibility: tuple[EligibilityRule, ...]
    decision: DecisionBands
    score: ScoreScaling
    score_bands: tuple[float, ...]
    lgd: float
    concentration: tuple[ConcentrationLimit, ...]
    reasons: ReasonTexts
    sha256: str
    source: str = field(default="", compare=False)


def default_policy_path() -> Path:
    """The policy shipped with poolgate (``scoring/default_policy.toml``)."""
    return Path(str(resources.files("scoring").joinpath("default_policy.toml")))


def load_policy(path: str | os.PathLike[str] | None = None) -> Policy:
    """Read and validate a policy file (the bundled default when ``path`` is None).

    Raises
    ------
    PolicyError
        If the file is missing, is not TOML, or any key or value is invalid.
    """
    p = Path(path) if path is not None else default_policy_path()
    return parse_policy(read_toml(p, PolicyError, "policy"), source=str(p))


def canonical_hash(data: Mapping[str, Any]) -> str:
    """sha256 of ``data`` as key-sorted compact JSON (the policy's canonical content)."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _table(file: str, prefix: str, table: Any) -> TomlTable:
    return TomlTable(PolicyError, file, prefix, table)


def _template(r: TomlTable, name: str, fields: set[str], sample: dict[str, Any]) -> str:
    text = r.text(name)
    try:
        used = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError as exc:
        raise r.fail(name, text, f"a format template ({exc})") from None
    unknown = sorted(u for u in used if u.split(".")[0].split("[")[0] not in fields)
    if unknown or "" in used:
        raise r.fail(name, text, "a template using only the placeholders {" + "}, {".join(sorted(fields)) + "}")
    try:
        text.format(**sample)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise r.fail(name, text, f"a template that formats a sample value ({exc})") from None
    return text


def _texts(r: TomlTable, fields: set[str], sample: dict[str, Any], prefix: str = "") -> dict[str, str]:
    return {lang: _template(r, f"{prefix}{lang}", fields, sample) for lang in LANGUAGES}


def _rule(file: str, index: int, table: Any, seen: set[str]) -> EligibilityRule:
    r = _table(file, f"eligibility[{index}]", table)
    code = r.text("code")
    if code in seen:
        raise r.fail("code", code, "a code not used by another eligibility rule")
    seen.add(code)
    quantity = r.text("quantity")
    if quantity not in QUANTITIES:
        raise r.fail("quantity", quantity, "one of " + ", ".join(QUANTITIES))
    kind = QUANTITIES[quantity].kind
    minimum = r.optional_number("min")
    maximum = r.optional_number("max")
    allowed_raw = r.get("allowed", None)
    if_missing = r.get("if_missing", "fail")
    if if_missing not in ("fail", "pass"):
        raise r.fail("if_missing", if_missing, "fail, pass")
    allowed: tuple[Any, ...] | None = None
    if allowed_raw is not None:
        if not isinstance(allowed_raw, list) or not allowed_raw:
            raise r.fail("allowed", allowed_raw, "a non-empty list of values")
        if minimum is not None or maximum is not None:
            raise r.fail("allowed", allowed_raw, "either allowed or min/max in one rule, not both")
        allowed = tuple(allowed_raw)
        sample: dict[str, Any] = {"value": allowed[0], "allowed": ", ".join(map(str, allowed)),
                                  "min": 0.0, "max": 0.0}
    else:
        if minimum is None and maximum is None:
            raise r.fail("min", None, "min and/or max (a range rule) or allowed (a set rule)")
        if kind != "number":
            raise r.fail("quantity", quantity, f"a numeric quantity for a min/max rule ({quantity} is a {kind}; "
                                               "use allowed = [...])")
        if minimum is not None and maximum is not None and minimum > maximum:
            raise r.fail("min", minimum, f"<= max ({maximum:g})")
        sample = {"value": 1.0, "min": minimum if minimum is not None else 0.0,
                  "max": maximum if maximum is not None else 0.0, "allowed": ""}
    texts = _texts(r, {"value", "min", "max", "allowed"}, sample)
    r.done()
    return EligibilityRule(code, quantity, minimum, maximum, allowed, if_missing, texts)


def _limit(file: str, index: int, table: Any, seen: set[str]) -> ConcentrationLimit:
    r = _table(file, f"concentration[{index}]", table)
    code = r.text("code")
    if code in seen:
        raise r.fail("code", code, "a code not used by another concentration limit")
    if not code.startswith("conc_"):
        raise r.fail("code", code, "a code starting with conc_")
    seen.add(code)
    group = r.text("group")
    if group not in CONCENTRATION_GROUPS:
        raise r.fail("group", group, "one of " + ", ".join(CONCENTRATION_GROUPS))
    max_share = r.number("max_share", low=0.0, high=1.0, strict_low=True)
    n_raw = r.get("n", 1 if group != "top_lessees" else ...)
    if isinstance(n_raw, bool) or not isinstance(n_raw, int) or n_raw < 1:
        raise r.fail("n", n_raw, "a whole number >= 1")
    sample = {"group": "X", "share": 0.5, "max": max_share, "n": n_raw}
    texts = _texts(r, {"group", "share", "max", "n"}, sample)
    r.done()
    return ConcentrationLimit(code, group, max_share, int(n_raw), texts)


def _reasons(file: str, table: Any) -> ReasonTexts:
    r = _table(file, "reasons", table)
    top_n = r.get("top_n")
    if isinstance(top_n, bool) or not isinstance(top_n, int) or not 1 <= top_n <= 20:
        raise r.fail("top_n", top_n, "a whole number from 1 to 20")
    min_logodds = r.number("min_logodds", low=0.0, default=0.0)
    fields = {"value", "display", "logodds", "points"}
    sample = {"value": 1.0, "display": "x", "logodds": 0.1, "points": -2.0}
    default = _texts(r, fields, {**sample, "value": "x"})
    features: dict[str, dict[str, str]] = {}
    feats = _table(file, "reasons.features", r.get("features", {}))
    for name in sorted(feats.table):
        features[name] = _texts(_table(file, f"reasons.features.{name}", feats.get(name)), fields, sample)
    r.done()
    return ReasonTexts(int(top_n), min_logodds, default, features)


def parse_policy(data: Mapping[str, Any], *, source: str = "<policy>") -> Policy:
    """Validate parsed TOML ``data`` and build a :class:`Policy` (see :func:`load_policy`)."""
    top = _table(source, "", dict(data))
    name = top.text("name")
    version = top.get("version")
    if not isinstance(version, str) or not version.strip():
        raise top.fail("version", version, "a non-empty string such as \"2026.1\"")
    language = top.get("language", "en")
    if language not in LANGUAGES:
        raise top.fail("language", language, ", ".join(LANGUAGES))

    rules_raw = top.get("eligibility", [])
    if not isinstance(rules_raw, list):
        raise top.fail("eligibility", rules_raw, "an array of tables [[eligibility]]")
    codes: set[str] = set()
    rules = tuple(_rule(source, i, t, codes) for i, t in enumerate(rules_raw))

    d = _table(source, "decision", top.get("decision"))
    admit = d.number("admit_pd_max", low=0.0, high=1.0)
    refer = d.number("refer_pd_max", low=0.0, high=1.0)
    if refer < admit:
        raise d.fail("refer_pd_max", refer, f">= admit_pd_max ({admit:g})")
    band_sample = {"pd": 0.1, "admit": admit, "refer": refer}
    basis = d.get("pd", "remaining")
    if basis not in PD_BASES:
        raise d.fail("pd", basis, ", ".join(PD_BASES))
    decision = DecisionBands(admit, refer, _texts(d, {"pd", "admit", "refer"}, band_sample, "refer_"),
                             _texts(d, {"pd", "admit", "refer"}, band_sample, "reject_"), pd=basis)
    d.done()

    s = _table(source, "score", top.get("score"))
    bands_raw = s.get("bands", [])
    if (not isinstance(bands_raw, list) or any(isinstance(b, bool) or not isinstance(b, (int, float))
                                               for b in bands_raw)
            or list(bands_raw) != sorted(set(bands_raw))):
        raise s.fail("bands", bands_raw, "a strictly ascending list of numbers (score band lower edges)")
    score = ScoreScaling(base_score=s.number("base_score"), base_odds=s.number("base_odds", low=0.0, strict_low=True),
                         pdo=s.number("pdo", low=0.0, strict_low=True))
    s.done()

    loss = _table(source, "loss", top.get("loss"))
    lgd = loss.number("lgd", low=0.0, high=1.0)
    loss.done()

    limits_raw = top.get("concentration", [])
    if not isinstance(limits_raw, list):
        raise top.fail("concentration", limits_raw, "an array of tables [[concentration]]")
    conc_codes: set[str] = set()
    limits = tuple(_limit(source, i, t, conc_codes) for i, t in enumerate(limits_raw))
    reasons = _reasons(source, top.get("reasons"))
    top.done()
    return Policy(name=name, version=version, language=language, eligibility=rules, decision=decision,
                  score=score, score_bands=tuple(float(b) for b in bands_raw), lgd=lgd, concentration=limits, reasons=reasons,
                  sha256=canonical_hash(data), source=source)
