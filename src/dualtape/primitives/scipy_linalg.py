"""Matrix functions from scipy.linalg: expm, sqrtm, solve_sylvester and the LU
factorisation.  Real matrices, last two axes, stacks as scipy handles them.

Rules (facts from the literature, written with dualtape's operations so they
differentiate again):

* expm: the Frechet derivative L(A, E) is the upper-right block of
  expm([[A, E], [0, A]]) (Mathias 1996; Higham 2008, sec. 3.1), so the JVP is one more
  expm of a matrix twice the size, and the VJP is L(A^T, G) (the adjoint of L(A, .)).
* sqrtm: X = sqrtm(A) gives X dX + dX X = dA, a Sylvester equation; the VJP solves
  the transposed one, X^T L + L X^T = G.
* solve_sylvester: X with A X + X B = Q; dX solves the same equation with right-hand
  side dQ - dA X - X dB, and the cotangent L solves A^T L + L B^T = G, giving
  (gA, gB, gQ) = (-L X^T, -X^T L, L).
* lu_factor: P^T A = L U (L unit lower, U upper, packed into one matrix ``lu``).  With
  F = L^-1 P^T dA U^-1, dL = L tril(F, -1) and dU = triu(F) U; the VJP is the
  transpose, P L^-T (tril(L^T G, -1) + triu(G U^T)) U^-T.  The pivots have no
  derivative.  The derivative needs a non-singular matrix (the generic case, in which
  the pivot order is locally constant).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import bind, value_of
from . import _cost
from ._rules import OPS, define, ndim, shape, unbroadcast
from .decompositions import _stack_rule, solve
from .linalg import matmul


def _sl() -> Any:
    from scipy import linalg
    return linalg


def _mT(x: Any) -> Any:
    return OPS["swapaxes"](x, -1, -2)


def _dtype(*xs: Any) -> Any:
    return np.result_type(*(getattr(x, "dtype", np.float64) for x in xs), np.float32)


# ---- costs (per matrix; n x n unless stated) --------------------------------------------
_THETA_13 = 5.371920351148152    # the 1-norm up to which degree-13 Pade needs no squaring


@_cost.formula("(2 (6 + s) + 8/3) n^3: degree-13 Pade (6 products and one solve) and s "
               "squarings, s = ceil(log2(|A|_1 / 5.37)) (Al-Mohy & Higham 2009; an upper "
               "bound: scipy takes lower degrees for small norms)")
def _expm_cost(ans, args, params):
    a = np.asarray(args[0])
    n = a.shape[-1]
    if a.size == 0:
        return 0
    norms = np.max(np.sum(np.abs(a), axis=-2), axis=-1)       # 1-norm of each matrix
    s = np.maximum(0, np.ceil(np.log2(np.maximum(norms, 1e-300) / _THETA_13)))
    return int(np.sum((2 * (6 + s) + 8 / 3) * n ** 3))


_SQRTM_COST = _cost.per_matrix(lambda m, n: 85 / 3 * n ** 3,
                               "28 1/3 n^3 (Schur form 25 n^3, triangular root n^3 / 3, "
                               "back-transformation 3 n^3; Higham 2008, sec. 6.2)")


@_cost.formula("25 (m^3 + n^3) + 5 (m^2 n + m n^2) for a (m, m), b (n, n): two Schur "
               "forms, the transformations of q and of the result, and the triangular "
               "Sylvester solve (Bartels-Stewart; Golub & Van Loan 7.6.3)")
def _sylvester_cost(ans, args, params):
    m, n = np.shape(ans)[-2:]
    stack = int(np.prod(np.shape(ans)[:-2]))
    return int(stack * (25 * (m ** 3 + n ** 3) + 5 * (m * m * n + m * n * n)))


_LU_COST = _cost.per_matrix(lambda m, n: 2 / 3 * n ** 3, "2/3 n^3 (LU with partial pivoting)")


# ---- expm ----------------------------------------------------------------------------
def _block(a: Any, e: Any) -> Any:
    """[[a, e], [0, a]], with ``a`` broadcast to ``e``'s leading (batch) axes."""
    full = np.broadcast_shapes(shape(a), shape(e))
    a = OPS["broadcast_to"](a, full)
    e = OPS["broadcast_to"](e, full)
    zero = np.zeros(full, dtype=_dtype(a, e))
    cat = OPS["concatenate"]
    return cat([cat([a, e], -1), cat([zero, a], -1)], -2)


def expm_frechet(a: Any, e: Any) -> Any:
    """L(a, e) = d/dh expm(a + h e) at h = 0 (``e`` may carry leading batch axes)."""
    n = shape(a)[-1]
    big = expm(_block(a, e))
    return OPS["getitem"](big, (Ellipsis, slice(0, n), slice(n, 2 * n)))


expm_p = define("expm", lambda a: _sl().expm(a),
                jvp=(lambda t, ans, a: expm_frechet(a, t),),
                vjp=(lambda g, ans, a: expm_frechet(_mT(a), g),),
                sparsity=_stack_rule((2,), 2), cost=_expm_cost)


def expm(a: Any) -> Any:
    """The matrix exponential of each square matrix in the last two axes."""
    return bind(expm_p, a)


# ---- solve_sylvester -------------------------------------------------------------------
def _sylvester_impl(a, b, q):
    a, b, q = (np.asarray(x) for x in (a, b, q))
    stack = np.broadcast_shapes(a.shape[:-2], b.shape[:-2], q.shape[:-2])
    a, b, q = (np.broadcast_to(x, stack + x.shape[-2:]) for x in (a, b, q))
    return _sl().solve_sylvester(a, b, q)


def _expand(t: Any, x: Any, ans: Any) -> Any:
    # a tangent of an argument with fewer stack axes than the output: align it right of
    # its batch axes so products with the output broadcast correctly
    return OPS["reshape"](t, tuple(shape(t)[:ndim(t) - ndim(x)])
                          + (1,) * (ndim(ans) - ndim(x)) + tuple(shape(x)))


def _sylvester_jvp(tangents, ans, a, b, q):
    ta, tb, tq = tangents
    rhs = None
    for t, x, term in ((tq, q, lambda t: t), (ta, a, lambda t: -matmul(t, ans)),
                       (tb, b, lambda t: -matmul(ans, t))):
        if t is None:
            continue
        c = term(_expand(t, x, ans))
        rhs = c if rhs is None else rhs + c
    return solve_sylvester(a, b, rhs)


def _sylvester_vjp(g, ans, needed, a, b, q):
    nb = ndim(g) - ndim(ans)
    lam = solve_sylvester(_mT(a), _mT(b), g)
    ga = unbroadcast(-matmul(lam, _mT(ans)), shape(a), nb) if needed[0] else None
    gb = unbroadcast(-matmul(_mT(ans), lam), shape(b), nb) if needed[1] else None
    gq = unbroadcast(lam, shape(q), nb) if needed[2] else None
    return ga, gb, gq


solve_sylvester_p = define("solve_sylvester", _sylvester_impl, jvp_all=_sylvester_jvp,
                           vjp_all=_sylvester_vjp, sparsity=_stack_rule((2, 2, 2), 2),
                           cost=_sylvester_cost)


def solve_sylvester(a: Any, b: Any, q: Any) -> Any:
    """X with ``a @ X + X @ b == q``; a (..., M, M), b (..., N, N), q (..., M, N)."""
    return bind(solve_sylvester_p, a, b, q)


# ---- sqrtm ---------------------------------------------------------------------------
def _sqrtm_impl(a):
    out = _sl().sqrtm(a)
    if np.iscomplexobj(out) and not np.iscomplexobj(a):
        raise ValueError("sqrtm: this real matrix has no real square root (it has "
                         "negative real eigenvalues); dualtape differentiates real "
                         "square roots only")
    return out


sqrtm_p = define("sqrtm", _sqrtm_impl,
                 jvp=(lambda t, ans, a: solve_sylvester(ans, ans, t),),
                 vjp=(lambda g, ans, a: solve_sylvester(_mT(ans), _mT(ans), g),),
                 sparsity=_stack_rule((2,), 2), cost=_SQRTM_COST)


def sqrtm(a: Any) -> Any:
    """The principal square root X (X @ X == a) of each square matrix."""
    return bind(sqrtm_p, a)


# ---- lu_factor -------------------------------------------------------------------------
def permutation(piv: Any) -> np.ndarray:
    """The row order ``perm`` with ``a[..., perm, :] == L @ U`` from LAPACK's pivots
    (row i was swapped with row piv[i], in turn)."""
    piv = np.asarray(value_of(piv, structural=False))
    perm = np.arange(piv.shape[-1])
    for i, p in enumerate(piv):
        perm[i], perm[p] = perm[p], perm[i]
    return perm


def unpack(lu: Any) -> tuple:
    """(L, U) from the packed factor: L unit lower triangular, U upper triangular."""
    n = shape(lu)[-1]
    dt = _dtype(lu)
    strict = np.tril(np.ones((n, n)), -1).astype(dt)
    return lu * strict + np.eye(n, dtype=dt), lu * np.triu(np.ones((n, n))).astype(dt)


def _rows(x: Any, order: np.ndarray) -> Any:
    return OPS["getitem"](x, (Ellipsis, order, slice(None)))


def _lu_jvp(tangents, ans, a):
    (t,) = tangents
    lu, piv = ans
    L, U = unpack(lu)
    n = shape(a)[-1]
    f = _mT(solve(_mT(U), _mT(solve(L, _rows(t, permutation(piv))))))   # L^-1 P^T dA U^-1
    strict = np.tril(np.ones((n, n)), -1).astype(_dtype(f))
    upper = np.triu(np.ones((n, n))).astype(_dtype(f))
    return matmul(L, f * strict) + matmul(f * upper, U), None


def _lu_vjp(g, ans, needed, a):
    g_lu = g[0]
    if g_lu is None:
        return (None,)
    lu, piv = ans
    L, U = unpack(lu)
    n = shape(a)[-1]
    strict = np.tril(np.ones((n, n)), -1).astype(_dtype(g_lu))
    upper = np.triu(np.ones((n, n))).astype(_dtype(g_lu))
    m = matmul(_mT(L), g_lu) * strict + matmul(g_lu, _mT(U)) * upper
    y = _mT(solve(U, _mT(solve(_mT(L), m))))                           # L^-T M U^-T
    return (_rows(y, np.argsort(permutation(piv))),)


lu_factor_p = define("lu_factor", lambda a: _sl().lu_factor(a), jvp_all=_lu_jvp,
                     vjp_all=_lu_vjp, multiple_results=True,
                     sparsity=_stack_rule((2,), (2, 1)), cost=_LU_COST)


def lu_factor(a: Any) -> tuple:
    """``(lu, piv)`` of one square matrix (scipy's packed LU factor and pivots)."""
    return bind(lu_factor_p, a)
