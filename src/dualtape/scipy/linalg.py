"""``dualtape.scipy.linalg``: scipy.linalg's solvers and matrix functions,
differentiable in the matrix and the right-hand side in every mode.

scipy.linalg's functions convert their input with ``numpy.asarray``, so on a traced
value ``scipy.linalg.solve_triangular(...)`` raises TypeError (never a dropped
derivative): call the versions here, which take scipy's signatures.  On plain arrays
they are scipy's own functions.

Real matrices.  What each reads follows scipy, and so does its derivative: the
triangular solvers read one triangle of ``a`` (the other gets derivative 0), and
``unit_diagonal=True`` does not read the diagonal.  Differences from scipy on traced
values: ``cho_factor`` returns zeros in the triangle scipy leaves unspecified (scipy
leaves parts of ``a`` there); ``overwrite_*`` and ``check_finite`` are accepted and
ignored (traced values are never written in place).  Derivatives need the generic
case: non-singular matrices; a real principal square root for ``sqrtm``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg as _sl

from ..numpy import _construct
from ..numpy import linalg as _dla
from ..numpy._indexing import tril, triu
from ..primitives import scipy_linalg as _sli
from ..registry import Tracer, value_of

__all__ = ["cho_factor", "cho_solve", "expm", "lu_factor", "lu_solve", "solve_sylvester",
           "solve_triangular", "sqrtm"]


def _traced(*xs: Any) -> bool:
    return any(isinstance(x, Tracer) for x in xs)


def _real_square(a: Any, name: str) -> Any:
    a = _construct.asarray(a)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{name}: expected a square matrix (or a stack of them), got "
                         f"shape {a.shape}")
    if a.dtype.kind == "c":
        raise TypeError(f"dualtape.scipy.linalg.{name}: complex traced matrices are not "
                        f"supported (real matrices only)")
    return a


def _mT(x: Any) -> Any:
    return np.swapaxes(x, -1, -2)


def _transposed(trans: Any, name: str) -> bool:
    if trans in (0, "N"):
        return False
    if trans in (1, "T", 2, "C"):
        return True           # real matrices: 'C' is 'T'
    raise ValueError(f"{name}: trans must be 0, 1, 2, 'N', 'T' or 'C', got {trans!r}")


def solve_triangular(a: Any, b: Any, trans: Any = 0, lower: bool = False,
                     unit_diagonal: bool = False, overwrite_b: bool = False,
                     check_finite: bool = True) -> Any:
    """x with ``op(T) @ x == b``, T the ``lower`` (else upper) triangle of ``a`` (M, M)
    (ones on the diagonal with ``unit_diagonal``), op the transpose for ``trans`` 1/'T'
    or 2/'C'.  ``b`` (M,) or (M, K); the result has ``b``'s shape."""
    if not _traced(a, b):
        return _sl.solve_triangular(a, b, trans=trans, lower=lower,
                                    unit_diagonal=unit_diagonal, check_finite=check_finite)
    a = _real_square(a, "solve_triangular")
    t = tril(a) if lower else triu(a)
    if unit_diagonal:
        n = a.shape[-1]
        t = (tril(a, -1) if lower else triu(a, 1)) + np.eye(n, dtype=t.dtype)
    if _transposed(trans, "solve_triangular"):
        t = _mT(t)
    return _dla.solve(t, b)


def cho_factor(a: Any, lower: bool = False, overwrite_a: bool = False,
               check_finite: bool = True) -> tuple:
    """``(c, lower)``: the Cholesky factor of ``a`` (M, M), lower (``c @ c.T == a``,
    reading a's lower triangle) or upper (``c.T @ c == a``, reading a's upper one).
    On traced input the other triangle of ``c`` is zero."""
    if not _traced(a):
        return _sl.cho_factor(a, lower=lower, check_finite=check_finite)
    a = _real_square(a, "cho_factor")
    c = _dla.cholesky(a) if lower else _mT(_dla.cholesky(_mT(a)))
    return c, bool(lower)


def cho_solve(c_and_lower: tuple, b: Any, overwrite_b: bool = False,
              check_finite: bool = True) -> Any:
    """x with ``a @ x == b`` from ``cho_factor(a)``'s ``(c, lower)``; reads only that
    triangle of ``c``.  ``b`` (M,) or (M, K)."""
    c, lower = c_and_lower
    if not _traced(c, b):
        return _sl.cho_solve((c, lower), b, check_finite=check_finite)
    if lower:      # a = L L^T
        y = solve_triangular(c, b, lower=True)
        return solve_triangular(c, y, trans=1, lower=True)
    y = solve_triangular(c, b, trans=1, lower=False)   # a = U^T U
    return solve_triangular(c, y, lower=False)


def lu_factor(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> tuple:
    """``(lu, piv)`` of a square matrix (M, M): L (unit diagonal, not stored) and U packed
    in ``lu``, LAPACK's pivot indices in ``piv`` (plain ints, no derivative)."""
    if not _traced(a):
        return _sl.lu_factor(a, check_finite=check_finite)
    a = _real_square(a, "lu_factor")
    if a.ndim != 2:
        raise ValueError("dualtape.scipy.linalg.lu_factor: one matrix at a time on "
                         "traced values (got a stack)")
    lu, piv = _sli.lu_factor(a)
    # plain pivots: lu's structure rule is dense per matrix, and so are the solves
    # lu_solve applies, so no pattern depends on the pivot order
    return lu, np.asarray(value_of(piv, structural=False))


def lu_solve(lu_and_piv: tuple, b: Any, trans: Any = 0, overwrite_b: bool = False,
             check_finite: bool = True) -> Any:
    """x with ``a @ x == b`` (``trans`` 1 or 2: ``a.T @ x == b``) from
    ``lu_factor(a)``.  ``b`` (M,) or (M, K)."""
    lu, piv = lu_and_piv
    if not _traced(lu, b, piv):
        return _sl.lu_solve((lu, piv), b, trans=trans, check_finite=check_finite)
    if trans not in (0, 1, 2):                  # scipy's lu_solve takes ints only
        raise ValueError(f"lu_solve: trans must be 0, 1 or 2, got {trans!r}")
    lu = _real_square(lu, "lu_solve")
    b = _construct.asarray(b)
    perm = _sli.permutation(piv)
    if not _transposed(trans, "lu_solve"):      # P^T a = L U: x = U^-1 L^-1 b[perm]
        y = solve_triangular(lu, b[perm], lower=True, unit_diagonal=True)
        return solve_triangular(lu, y, lower=False)
    # a^T = U^T L^T P^T: x = P L^-T U^-T b
    y = solve_triangular(lu, b, trans=1, lower=False)
    y = solve_triangular(lu, y, trans=1, lower=True, unit_diagonal=True)
    return y[np.argsort(perm)]


def expm(A: Any) -> Any:
    """The matrix exponential of a square matrix (..., M, M)."""
    if not _traced(A):
        return _sl.expm(A)
    return _sli.expm(_real_square(A, "expm"))


def sqrtm(A: Any, disp: Any = None, blocksize: Any = None) -> Any:
    """The principal square root X (X @ X == A) of a square matrix (..., M, M).  On
    traced input it must be real (no negative real eigenvalues), else ValueError."""
    if not _traced(A):
        kw = {k: v for k, v in (("disp", disp), ("blocksize", blocksize)) if v is not None}
        return _sl.sqrtm(A, **kw)
    return _sli.sqrtm(_real_square(A, "sqrtm"))


def solve_sylvester(a: Any, b: Any, q: Any) -> Any:
    """X with ``a @ X + X @ b == q``: a (M, M), b (N, N), q (M, N) (stacks broadcast)."""
    if not _traced(a, b, q):
        return _sl.solve_sylvester(a, b, q)
    a, b = _real_square(a, "solve_sylvester"), _real_square(b, "solve_sylvester")
    return _sli.solve_sylvester(a, b, _construct.asarray(q))
