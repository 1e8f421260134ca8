"""The analytic hierarchy process on one pairwise comparison matrix: priorities and consistency.

A pairwise comparison matrix ``A`` (n x n) holds judgments on Saaty's 1-9 scale: ``a_ij`` says how
much more element ``i`` matters than element ``j`` (9 extremely, 1 equally, 1/9 extremely less);
it is reciprocal (``a_ji = 1 / a_ij``) with ones on the diagonal.

- **Eigenvector method** (Saaty): the priorities are the principal right eigenvector of ``A``,
  normalised to sum 1; its eigenvalue is ``lambda_max >= n``.
- **Geometric-mean (row) method** (Crawford and Williams): the geometric mean of each row,
  normalised. Both give exactly ``w`` on a consistent matrix ``a_ij = w_i / w_j``.
- **Consistency**: ``CI = (lambda_max - n) / (n - 1)`` and ``CR = CI / RI(n)`` with Saaty's random
  index ``RI`` (the mean CI of random reciprocal matrices of order n). ``CR <= 0.10`` is acceptable;
  a matrix of order 1 or 2 is always consistent.
- **Suggested revision**: for an inconsistent matrix, the one judgment whose replacement by another
  value of the 1-9 scale lowers CR the most (every upper-triangle judgment and every scale value are
  tried), with the value the other judgments imply (``w_i / w_j``) beside it.
- **Compatibility** (Saaty's compatibility index) of a matrix with a priority vector ``w``:
  ``S = (1/n^2) sum_ij a_ij w_j / w_i``; 1 when the judgments say exactly ``w``, at most 1.1 is
  acceptable.

Everything here is pure numpy over plain arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

__all__ = [
    "COMPATIBILITY_THRESHOLD",
    "CR_THRESHOLD",
    "RANDOM_INDEX",
    "SAATY_SCALE",
    "MatrixResult",
    "Revision",
    "analyse_matrix",
    "compatibility",
    "consistency_ratio",
    "eigen_priorities",
    "geometric_priorities",
    "scale_text",
    "suggest_revision",
]

CR_THRESHOLD = 0.10
COMPATIBILITY_THRESHOLD = 1.10
# Saaty's random index for n = 1..15 (T. L. Saaty, The Analytic Hierarchy Process, McGraw-Hill 1980;
# n = 11..15 as in Saaty, Fundamentals of Decision Making and Priority Theory, RWS 1994, p. 80).
RANDOM_INDEX: dict[int, float] = {1: 0.0, 2: 0.0, 3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32, 8: 1.41, 9: 1.45,
                                  10: 1.49, 11: 1.51, 12: 1.48, 13: 1.56, 14: 1.57, 15: 1.59}
# The 17 values of the 1-9 scale: 1/9, 1/8, ..., 1/2, 1, 2, ..., 9.
SAATY_SCALE: tuple[float, ...] = tuple([1.0 / k for k in range(9, 1, -1)] + [float(k) for k in range(1, 10)])


@dataclass(frozen=True)
class Revision:
    """The judgment whose change most lowers a matrix's CR.

    Attributes
    ----------
    row, col : int
        Position in the matrix (``row < col``: the upper-triangle judgment).
    current : float
        The judgment as given.
    suggested : float
        The value of the 1-9 scale that gives the lowest CR when only this judgment changes.
    implied : float
        ``w_row / w_col`` from the current priorities: what the other judgments say it should be.
    cr_before, cr_after : float
        Consistency ratio now and after the change.
    """

    row: int
    col: int
    current: float
    suggested: float
    implied: float
    cr_before: float
    cr_after: float


@dataclass(frozen=True)
class MatrixResult:
    """Priorities and consistency of one comparison matrix.

    Attributes
    ----------
    n : int
        Order of the matrix.
    priorities : ndarray (n,)
        Principal eigenvector, sums to 1.
    priorities_gm : ndarray (n,)
        Normalised row geometric means, sums to 1.
    lambda_max : float
        Principal eigenvalue (at least n).
    ci, ri, cr : float
        Consistency index, Saaty's random index for n, consistency ratio (0 for n <= 2).
    revision : Revision or None
        The suggested revision when ``cr > CR_THRESHOLD``.
    """

    n: int
    priorities: np.ndarray
    priorities_gm: np.ndarray
    lambda_max: float
    ci: float
    ri: float
    cr: float
    revision: Revision | None

    @property
    def consistent(self) -> bool:
        """``cr <= CR_THRESHOLD``."""
        return self.cr <= CR_THRESHOLD


def _principal(a: np.ndarray) -> tuple[float, np.ndarray]:
    """Perron root and its eigenvector (positive, sums to 1) of a positive matrix."""
    values, vectors = np.linalg.eig(a)
    k = int(np.argmax(values.real))  # the Perron root is real and dominant, so it has the largest real part
    v = np.abs(vectors[:, k].real)
    return float(values[k].real), v / v.sum()


def eigen_priorities(a: np.ndarray) -> tuple[np.ndarray, float]:
    """Priorities by the principal eigenvector and ``lambda_max`` (clipped below at n).

    Parameters
    ----------
    a : ndarray (n, n)
        Positive reciprocal matrix.
    """
    m = np.asarray(a, dtype="float64")
    n = m.shape[0]
    if n == 1:
        return np.ones(1), 1.0
    lam, w = _principal(m)
    return w, max(lam, float(n))  # lambda_max >= n for reciprocal matrices; below is rounding


def geometric_priorities(a: np.ndarray) -> np.ndarray:
    """Priorities by the geometric mean of each row, normalised to sum 1."""
    m = np.asarray(a, dtype="float64")
    g = np.exp(np.log(m).mean(axis=1))
    return g / g.sum()


def random_index(n: int) -> float:
    """Saaty's random index for a matrix of order ``n`` (1..15)."""
    if n not in RANDOM_INDEX:
        raise ValueError(f"matrix of order {n}: Saaty's random index is tabulated for n = 1..15")
    return RANDOM_INDEX[n]


def consistency_ratio(a: np.ndarray) -> float:
    """``CR = CI / RI(n)`` of ``a`` (0 for n <= 2)."""
    n = np.asarray(a).shape[0]
    if n <= 2:
        return 0.0
    _, lam = eigen_priorities(a)
    return (lam - n) / (n - 1) / random_index(n)


def suggest_revision(a: np.ndarray, priorities: np.ndarray | None = None) -> Revision | None:
    """The one upper-triangle judgment whose change to a 1-9 scale value lowers CR the most.

    Returns None for matrices of order at most 2 (always consistent). Ties keep the first
    judgment in row order and the scale value closest to the implied ratio.
    """
    m = np.asarray(a, dtype="float64")
    n = m.shape[0]
    if n <= 2:
        return None
    w = priorities if priorities is not None else eigen_priorities(m)[0]
    before = consistency_ratio(m)
    best: tuple[float, float, int, int, float] | None = None
    for i in range(n - 1):
        for j in range(i + 1, n):
            implied = float(w[i] / w[j])
            for value in SAATY_SCALE:
                if abs(value - m[i, j]) < 1e-12:
                    continue
                trial = m.copy()
                trial[i, j], trial[j, i] = value, 1.0 / value
                cr = consistency_ratio(trial)
                key = (round(cr, 12), abs(np.log(value / implied)), i, j, value)
                if best is None or key < best:
                    best = key
    assert best is not None
    cr_after, _, i, j, value = best
    return Revision(row=i, col=j, current=float(m[i, j]), suggested=value, implied=float(w[i] / w[j]),
                    cr_before=before, cr_after=float(cr_after))


def analyse_matrix(a: np.ndarray, *, revise: bool = True) -> MatrixResult:
    """Priorities (eigenvector and geometric mean), lambda_max, CI, RI, CR and the suggested revision.

    Parameters
    ----------
    a : ndarray (n, n)
        Positive reciprocal comparison matrix, n = 1..15 (validated by the caller).
    revise : bool
        Look for the suggested revision when CR exceeds :data:`CR_THRESHOLD`.
    """
    m = np.asarray(a, dtype="float64")
    n = m.shape[0]
    w, lam = eigen_priorities(m)
    ci = (lam - n) / (n - 1) if n > 1 else 0.0
    ri = random_index(n)
    cr = ci / ri if ri > 0 else 0.0
    revision = suggest_revision(m, w) if revise and cr > CR_THRESHOLD else None
    return MatrixResult(n=n, priorities=w, priorities_gm=geometric_priorities(m), lambda_max=lam, ci=ci, ri=ri,
                        cr=cr, revision=revision)


def compatibility(a: np.ndarray, w: np.ndarray) -> float:
    """Saaty's compatibility index of matrix ``a`` with priorities ``w``: 1 when ``a_ij = w_i / w_j``."""
    m = np.asarray(a, dtype="float64")
    v = np.asarray(w, dtype="float64")
    n = m.shape[0]
    return float((m * (v[None, :] / v[:, None])).sum() / (n * n))


def scale_text(value: float) -> str:
    """A judgment as a reader writes it: ``3``, ``1/5``, ``2.5`` or ``0.4``."""
    if value >= 1:
        f = Fraction(value).limit_denominator(100)
        return f"{f.numerator}" if f.denominator == 1 else f"{value:.4g}"
    inv = Fraction(1.0 / value).limit_denominator(100)
    return f"1/{inv.numerator}" if inv.denominator == 1 and abs(1.0 / value - inv.numerator) < 1e-9 else f"{value:.4g}"
