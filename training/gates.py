"""Written promotion gates: loaded from TOML, checked against measured metrics (pure, no MLflow).

The default gates live in ``training/gates.toml``. Absolute gates apply to every challenger;
relative gates compare it with the current champion measured on the same rows, and are skipped
(and reported as such) when there is no champion yet.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from features.exceptions import ConfigError

__all__ = ["GateResult", "Gates", "check_gates", "default_gates_path", "load_gates"]

_ABSOLUTE = ("min_auc", "min_ks", "max_calibration_error", "max_monotonicity_violations")
_RELATIVE = ("max_auc_drop", "max_ks_drop", "max_calibration_error_increase")


@dataclass(frozen=True)
class Gates:
    """Thresholds a challenger must meet.

    Attributes
    ----------
    min_auc, min_ks : float
        Lowest acceptable out-of-time AUC and KS (fractions).
    max_calibration_error : float
        Highest acceptable mean |expected - observed| default rate over PD deciles (fraction).
    max_monotonicity_violations : int
        Highest acceptable count of violations in the monotonicity sweep (0: none allowed).
    max_auc_drop, max_ks_drop : float
        How far below the champion's AUC / KS the challenger may be.
    max_calibration_error_increase : float
        How far above the champion's calibration error the challenger may be.
    source : str
        File the gates were read from.
    sha256 : str
        Hash of that file's bytes (recorded with every decision).
    """

    min_auc: float
    min_ks: float
    max_calibration_error: float
    max_monotonicity_violations: int
    max_auc_drop: float
    max_ks_drop: float
    max_calibration_error_increase: float
    source: str = "<dict>"
    sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return asdict(self)


@dataclass(frozen=True)
class GateResult:
    """The outcome of one gate.

    Attributes
    ----------
    gate : str
        Gate name (e.g. ``min_auc``).
    passed : bool or None
        None when the gate was not applicable (a relative gate with no champion).
    value : float or None
        The challenger's measured value (for relative gates, its difference to the champion).
    threshold : float
        The written limit.
    detail : str
        One line a person can read.
    """

    gate: str
    passed: bool | None
    value: float | None
    threshold: float
    detail: str


def default_gates_path() -> str:
    """Path of the packaged ``training/gates.toml``."""
    return str(resources.files("training").joinpath("gates.toml"))


def _number(section: Mapping[str, Any], key: str, where: str) -> float:
    if key not in section:
        raise ConfigError(f"{where}: gate {key!r} is missing; required: {', '.join(_ABSOLUTE + _RELATIVE)}")
    value = section[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{where}: gate {key!r} must be a number >= 0; got {value!r}")
    return float(value)


def load_gates(path: str | os.PathLike[str] | None = None) -> Gates:
    """Read and check a gates file (the packaged default when ``path`` is None).

    Raises
    ------
    ConfigError
        If the file is missing, not TOML, lacks a gate, has an unknown key, or a value is not a
        number >= 0 (fractions must also be <= 1).
    """
    p = Path(path) if path is not None else Path(default_gates_path())
    try:
        raw = p.read_bytes()
        data = tomllib.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: gates file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: not a valid TOML gates file: {exc}") from None
    values: dict[str, float] = {}
    for section, keys in (("absolute", _ABSOLUTE), ("relative", _RELATIVE)):
        table = data.get(section)
        if not isinstance(table, dict):
            raise ConfigError(f"{p}: section [{section}] is missing; it holds {', '.join(keys)}")
        unknown = sorted(set(table) - set(keys))
        if unknown:
            raise ConfigError(f"{p}: [{section}] has unknown gate(s) {', '.join(unknown)}; "
                              f"allowed: {', '.join(keys)}")
        for key in keys:
            values[key] = _number(table, key, f"{p} [{section}]")
    for key in ("min_auc", "min_ks", "max_calibration_error", "max_auc_drop", "max_ks_drop",
                "max_calibration_error_increase"):
        if values[key] > 1:
            raise ConfigError(f"{p}: gate {key!r} is a fraction and must be <= 1; got {values[key]!r}")
    return Gates(min_auc=values["min_auc"], min_ks=values["min_ks"],
                 max_calibration_error=values["max_calibration_error"],
                 max_monotonicity_violations=int(values["max_monotonicity_violations"]),
                 max_auc_drop=values["max_auc_drop"], max_ks_drop=values["max_ks_drop"],
                 max_calibration_error_increase=values["max_calibration_error_increase"],
                 source=str(p), sha256=hashlib.sha256(raw).hexdigest())


def check_gates(challenger: Mapping[str, float], champion: Mapping[str, float] | None,
                gates: Gates) -> list[GateResult]:
    """Check a challenger's measured metrics against the gates.

    Parameters
    ----------
    challenger, champion : mapping
        Metrics on the same out-of-time rows: ``auc``, ``ks``, ``calibration_error`` and
        ``monotonicity_violations``. ``champion`` is None when no champion exists.
    gates : Gates
        The thresholds.

    Returns
    -------
    list of GateResult
        Absolute gates first, then relative ones (``passed=None`` without a champion).
    """
    c = challenger
    out = [
        GateResult("min_auc", c["auc"] >= gates.min_auc, c["auc"], gates.min_auc,
                   f"AUC {c['auc']:.4f} must be >= {gates.min_auc:.4f}"),
        GateResult("min_ks", c["ks"] >= gates.min_ks, c["ks"], gates.min_ks,
                   f"KS {c['ks']:.4f} must be >= {gates.min_ks:.4f}"),
        GateResult("max_calibration_error", c["calibration_error"] <= gates.max_calibration_error,
                   c["calibration_error"], gates.max_calibration_error,
                   f"calibration error {c['calibration_error']:.4f} must be <= {gates.max_calibration_error:.4f}"),
        GateResult("max_monotonicity_violations",
                   c["monotonicity_violations"] <= gates.max_monotonicity_violations,
                   c["monotonicity_violations"], gates.max_monotonicity_violations,
                   f"{int(c['monotonicity_violations'])} monotonicity violations, at most "
                   f"{gates.max_monotonicity_violations} allowed"),
    ]
    if champion is None:
        for gate, threshold in (("max_auc_drop", gates.max_auc_drop), ("max_ks_drop", gates.max_ks_drop),
                                ("max_calibration_error_increase", gates.max_calibration_error_increase)):
            out.append(GateResult(gate, None, None, threshold, "no champion yet: relative gate not applicable"))
        return out
    h = champion
    auc_drop = h["auc"] - c["auc"]
    ks_drop = h["ks"] - c["ks"]
    ce_up = c["calibration_error"] - h["calibration_error"]
    out += [
        GateResult("max_auc_drop", auc_drop <= gates.max_auc_drop, auc_drop, gates.max_auc_drop,
                   f"AUC {c['auc']:.4f} vs champion {h['auc']:.4f}: drop {auc_drop:+.4f} must be <= "
                   f"{gates.max_auc_drop:.4f}"),
        GateResult("max_ks_drop", ks_drop <= gates.max_ks_drop, ks_drop, gates.max_ks_drop,
                   f"KS {c['ks']:.4f} vs champion {h['ks']:.4f}: drop {ks_drop:+.4f} must be <= "
                   f"{gates.max_ks_drop:.4f}"),
        GateResult("max_calibration_error_increase", ce_up <= gates.max_calibration_error_increase, ce_up,
                   gates.max_calibration_error_increase,
                   f"calibration error {c['calibration_error']:.4f} vs champion {h['calibration_error']:.4f}: "
                   f"increase {ce_up:+.4f} must be <= {gates.max_calibration_error_increase:.4f}"),
    ]
    return out
