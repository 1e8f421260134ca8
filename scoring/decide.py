"""Decision bands: from eligibility and PD to a status (pure functions over arrays)."""

from __future__ import annotations

import numpy as np

from scoring.policy import Policy

__all__ = ["STATUSES", "band_messages", "decide", "decided_by"]

#: Every status a decision can have.
STATUSES = ("admit", "refer", "reject", "invalid")


def decide(pd_: np.ndarray, eligible: np.ndarray, policy: Policy) -> np.ndarray:
    """Status of each asset that passed the data contract.

    Parameters
    ----------
    pd_ : ndarray of float, shape (n,)
        Calibrated probability of default (fraction).
    eligible : ndarray of bool, shape (n,)
        True where no eligibility rule failed.
    policy : Policy
        Supplies ``decision.admit_pd_max`` and ``decision.refer_pd_max`` (inclusive upper bounds).

    Returns
    -------
    ndarray of str, shape (n,)
        ``admit`` (eligible, pd <= admit_pd_max), ``refer`` (eligible, pd <= refer_pd_max),
        otherwise ``reject`` (ineligible, PD above the refer band, or a PD that is not a number).
    """
    p = np.asarray(pd_, dtype="float64")
    ok = np.asarray(eligible, dtype=bool)
    if p.shape != ok.shape:
        raise ValueError(f"decide: pd has shape {p.shape} but eligible has shape {ok.shape}")
    with np.errstate(invalid="ignore"):
        admit = ok & (p <= policy.decision.admit_pd_max)
        refer = ok & ~admit & (p <= policy.decision.refer_pd_max)
    return np.where(admit, "admit", np.where(refer, "refer", "reject")).astype(object)


def decided_by(status: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """What settled each status: ``eligibility`` or the PD band ``pd_admit`` / ``pd_refer`` / ``pd_reject``."""
    st = np.asarray(status, dtype=object)
    return np.where(~np.asarray(eligible, dtype=bool), "eligibility",
                    np.char.add("pd_", st.astype(str))).astype(object)


def band_messages(pd_: np.ndarray, status: np.ndarray, eligible: np.ndarray, policy: Policy) -> list[str]:
    """Message for each eligible asset referred or rejected on its PD ('' otherwise), in the policy's language."""
    d = policy.decision
    lang = policy.language
    out: list[str] = []
    for p, s, e in zip(np.asarray(pd_, dtype="float64"), status, eligible):
        if not e or s == "admit":
            out.append("")
        else:
            texts = d.refer_texts if s == "refer" else d.reject_texts
            out.append(texts[lang].format(pd=p, admit=d.admit_pd_max, refer=d.refer_pd_max))
    return out
