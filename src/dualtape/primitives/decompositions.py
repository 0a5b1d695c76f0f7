"""Matrix functions and decompositions: inv, solve, det, slogdet, cholesky, eigh, qr,
svd, svdvals, pinv.  All act on the last two axes and broadcast over the others.

Formulas (facts from the literature, written here with dualtape's own operations so
they differentiate again): inverse, solve and determinant from Giles (2008), "An
extended collection of matrix derivative results for forward and reverse mode AD";
Cholesky from Murray (2016); the symmetric eigenproblem from Giles (2008); QR from
Walter & Lehmann (2018) and Liao et al. (2019); SVD from Townsend (2016); the
pseudo-inverse from Golub & Pereyra (1973).

inv, solve, det and slogdet are holomorphic in the matrix entries and accept complex
matrices (JAX's convention: plain transposes, no conjugation, in the VJPs).  eigh
(Hermitian matrices), svd and svdvals accept complex matrices too: their JVPs are the
real-linear derivatives (conjugate transposes where the decomposition has them) and
their VJPs the transposes under the pairing ``Re(sum(a * b))``.  cholesky, qr and pinv
are for real matrices; the dualtape.numpy adapters reject complex traced input.  The
general eigenproblem (eig) is in ``dualtape.primitives.eig``.

Gauge.  Eigenvectors of a Hermitian matrix and singular vectors are unique only up to
a phase per column (a sign for real matrices), which LAPACK leaves unspecified.  The
rules differentiate the choice whose phase does not move: ``diag(V^H dV) = 0`` for
eigh, and for svd ``diag(V^H dV) = 0`` with ``diag(U^H dU) = i Im(diag(U^H dA V)) / s``
(the part the product ``U S V^H`` fixes).  Functions of the vectors that do not depend
on the phases (``|V|``, ``V diag(f(w)) V^H``, ``U[:, k] conj(V[j, k])``) have exactly
the derivatives of numpy's output; the vectors themselves have those of a smoothly
phased choice, which is what finite differences of numpy's output show only where
numpy's phases happen not to move.

Assumptions where derivatives exist only generically: eigh needs distinct
eigenvalues, svd distinct non-zero singular values (svdvals only non-zero ones for
its own derivative), qr full column rank, pinv a locally constant rank.  det's and
solve's rules need a non-singular matrix (numpy raises LinAlgError otherwise).

Structure: every primitive is block diagonal over the stack axes (an output matrix
depends on its own input matrix only, ``_stack_rule``).

Cost: the flops of the standard dense algorithm for each matrix of the stack, with the
leading constants of Golub & Van Loan, *Matrix Computations* (4th ed., 2013): LU with
partial pivoting 2/3 n^3 (their Alg. 3.4.1), Cholesky 1/3 n^3 (Alg. 4.2.1), Householder
QR 2 n^2 (m - n/3) for R plus as much again for the thin Q (Sec. 5.2.1 and 5.1.6),
symmetric eigenvalues and eigenvectors by tridiagonalisation and the symmetric QR
algorithm about 9 n^3 (Sec. 8.3), the Golub-Kahan-Reinsch SVD 4 m n^2 - 4/3 n^3 for the
singular values alone and 14 m n^2 + 8 n^3 with the thin U and V (Sec. 8.6, the table
of SVD costs).  For m x n matrices m >= n stands for the longer side.  LAPACK's
blocked and divide-and-conquer variants do the same work up to lower-order terms.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import bind
from . import _cost, _fold
from ._rules import OPS, define, expand_to, ndim, shape, unbroadcast
from .complex import complex_, conj, imag, is_complex, match_real, real, real_dtype
from .linalg import einsum, matmul


def _mT(x: Any) -> Any:
    return OPS["swapaxes"](x, -1, -2)


def _mH(x: Any) -> Any:
    """The conjugate transpose of the last two axes (the transpose for real values)."""
    return conj(_mT(x))


def _nb(t: Any, x: Any) -> int:
    return ndim(t) - ndim(x)


def _dtype(x: Any) -> Any:
    dt = getattr(x, "dtype", np.dtype(np.float64))
    return dt if dt.kind in "fc" else np.dtype(np.float64)


def _eye(n: int, x: Any) -> np.ndarray:
    return np.eye(n, dtype=real_dtype(_dtype(x)))


def _trace(x: Any) -> Any:
    return einsum("...ii->...", x)


def _diag(x: Any) -> Any:
    return einsum("...ii->...i", x)


def _diag_embed(v: Any) -> Any:
    """A vector (last axis) as the diagonal of a matrix."""
    n = shape(v)[-1]
    return OPS["expand_dims"](v, -1) * _eye(n, v)


def _mask(n: int, x: Any, lower: bool = True) -> np.ndarray:
    """The lower (upper) triangle of ones with 1/2 on the diagonal."""
    m = np.tril(np.ones((n, n))) if lower else np.triu(np.ones((n, n)))
    return (m - 0.5 * np.eye(n)).astype(real_dtype(_dtype(x)))


def _sym_from_triangle(t: Any, lower: bool) -> Any:
    """The symmetric (Hermitian) matrix a routine reading only one triangle sees: the
    triangle and its mirror image (conjugated), with the real part of the diagonal
    (LAPACK ignores its imaginary part).  ``m + m^H`` for m the triangle with the
    diagonal halved."""
    m = t * _mask(shape(t)[-1], t, lower)
    return m + _mH(m)


def _to_triangle(m: Any, lower: bool) -> Any:
    """Transpose of ``_sym_from_triangle`` under ``Re(sum(a * b))``:
    ``(M + M^H) * mask`` (the triangle of ``M + M^H``, half its diagonal)."""
    return (m + _mH(m)) * _mask(shape(m)[-1], m, lower)


def _off_diagonal_inverse(d: Any) -> Any:
    """``F_ij = 1 / d_ij`` off the diagonal and 0 on it (d_ii = 0 is never divided)."""
    n = shape(d)[-1]
    eye = _eye(n, d)
    return (1.0 - eye) / (d + eye)


def _stack_rule(core_in: tuple, core_out: int | tuple):
    """The structure of a map applied matrix by matrix: an output element depends on
    every element of the matching matrix of each argument (stack axes broadcast), and
    on nothing in the other matrices of the stack.  ``core_in[i]``: the number of
    trailing axes of argument i one application reads; ``core_out``: that it writes
    (a tuple, one per result, for multiple-result primitives)."""
    def rule(pats, ans, primals, params, local):
        if isinstance(core_out, tuple):
            return tuple(one(pats, a, primals, c) for a, c in zip(ans, core_out))
        return one(pats, ans, primals, core_out)

    def one(pats, ans, primals, core_out):
        import scipy.sparse as sp    # only sparsity detection needs it

        def onehot(rows, cols, shape):
            return sp.csr_array((np.ones(len(rows), dtype=bool), (rows, cols)), shape=shape)
        ys = np.shape(ans)
        ob = ys[:len(ys) - core_out]
        g = int(np.prod(ob))
        m = int(np.prod(ys))
        per = max(1, int(np.prod(ys[len(ob):])))
        to_out = onehot(np.arange(m), np.arange(m) // per, (m, g))
        grid = np.indices(ob).reshape(len(ob), g)
        acc = None
        for i, P in enumerate(pats):
            if P is None:
                continue
            xs = np.shape(primals[i])
            xb = xs[:len(xs) - core_in[i]]
            size = int(np.prod(xs))
            core = max(1, int(np.prod(xs[len(xb):])))
            lead = len(ob) - len(xb)
            src = (np.ravel_multi_index([grid[lead + k] if d != 1 else np.zeros(g, np.intp)
                                         for k, d in enumerate(xb)], xb)
                   if xb else np.zeros(g, np.intp))
            nbx = int(np.prod(xb))
            per_matrix = onehot(np.arange(size) // core, np.arange(size), (nbx, size)) @ P
            part = to_out @ (onehot(np.arange(g), src, (g, nbx)) @ per_matrix)
            acc = part if acc is None else acc + part
        return acc.tocsr().astype(bool)
    return rule


# ---- costs ---------------------------------------------------------------------------
def _long_short(m: int, n: int, f) -> float:
    """``f(p, q)`` with p the longer and q the shorter side of an m x n matrix."""
    return f(max(m, n), min(m, n))


_LU = 2 / 3
# inv: LU (2/3 n^3), then the inverse from the factors (4/3 n^3): 2 n^3 (G & VL 3.4.11)
_INV_COST = _cost.per_matrix(lambda m, n: 2 * n ** 3, "2 n^3 (LU, then the inverse)")
_DET_COST = _cost.per_matrix(lambda m, n: _LU * n ** 3 + n,
                             "2/3 n^3 + n (LU, product of the pivots)")
_SLOGDET_COST = _cost.per_matrix(lambda m, n: _LU * n ** 3 + 2 * n,
                                 "2/3 n^3 + 2 n (LU, logs and signs of the pivots)")


@_cost.formula("2/3 n^3 per matrix (LU) + 2 n^2 per right-hand side (two triangular "
               "solves)")
def _solve_cost(ans, args, params):
    a_shape = np.shape(args[0])
    n = a_shape[-1]
    matrices = int(np.prod(a_shape[:-2]))
    rhs = int(np.size(ans)) // max(n, 1)       # right-hand-side columns, stacks included
    return int(matrices * _LU * n ** 3 + 2 * n * n * rhs)


# ---- inv -----------------------------------------------------------------------------
inv_p = define(
    "inv", np.linalg.inv,
    jvp=(lambda t, ans, a: -matmul(ans, matmul(t, ans)),),
    vjp=(lambda g, ans, a: match_real(-matmul(_mT(ans), matmul(g, _mT(ans))), a),),
    sparsity=_stack_rule((2,), 2), cost=_INV_COST)


def inv(a: Any) -> Any:
    """The inverse of each square matrix in the last two axes."""
    return bind(inv_p, a)


# ---- solve ---------------------------------------------------------------------------
def _solve_jvp(tangents, ans, a, b):
    ta, tb = tangents
    out = None
    if tb is not None:
        out = solve(a, expand_to(tb, _nb(tb, b), shape(b), ndim(ans)))
    if ta is not None:
        ta = expand_to(ta, _nb(ta, a), shape(a), ndim(ans))
        c = -solve(a, matmul(ta, ans))
        out = c if out is None else out + c
    return out


def _solve_vjp(g, ans, needed, a, b):
    nb = ndim(g) - ndim(ans)
    gb = solve(_mT(a), g)
    ga = unbroadcast(-matmul(gb, _mT(ans)), shape(a), nb) if needed[0] else None
    gb = unbroadcast(gb, shape(b), nb) if needed[1] else None
    return match_real(ga, a), match_real(gb, b)


solve_p = define("solve", _fold.solve, jvp_all=_solve_jvp, vjp_all=_solve_vjp,
                 sparsity=_stack_rule((2, 2), 2), cost=_solve_cost)


def solve(a: Any, b: Any) -> Any:
    """``a^-1 b`` for a stack of matrices ``b`` (..., M, K); stacks broadcast."""
    return bind(solve_p, a, b)


# ---- det and slogdet -----------------------------------------------------------------
def _det_vjp(g, ans, a):
    s = OPS["expand_dims"](OPS["expand_dims"](g * ans, -1), -1)
    return match_real(s * _mT(inv(a)), a)


det_p = define(
    "det", np.linalg.det,
    jvp=(lambda t, ans, a: ans * _trace(solve(a, t)),),
    vjp=(_det_vjp,), sparsity=_stack_rule((2,), 0), cost=_DET_COST)


def det(a: Any) -> Any:
    """The determinant of each square matrix in the last two axes."""
    return bind(det_p, a)


def _slogdet_impl(a):
    sign, logabs = np.linalg.slogdet(a)
    return sign, logabs


def _slogdet_jvp(tangents, ans, a):
    tau = _trace(solve(a, tangents[0]))
    if not is_complex(ans[0]):
        return None, tau                        # the sign of a real det is locally constant
    # d log det = tau: its real part moves log|det|, its imaginary part turns the sign.
    return ans[0] * complex_(0.0, imag(tau)), real(tau)


def _slogdet_vjp(g, ans, needed, a):
    g_sign, g_log = g
    sign = ans[0]
    if not is_complex(sign):
        if g_log is None:
            return (None,)
        w = g_log
    else:
        # <g_s, sign * i Im(tau)> + <g_l, Re(tau)> = Re(w tau) with w = g_l + i Im(g_s sign)
        zero = np.zeros(shape(sign), dtype=real_dtype(sign.dtype))
        w = complex_(zero if g_log is None else g_log,
                     zero if g_sign is None else imag(g_sign * sign))
    s = OPS["expand_dims"](OPS["expand_dims"](w, -1), -1)
    return (s * _mT(inv(a)),)


slogdet_p = define("slogdet", _slogdet_impl, jvp_all=_slogdet_jvp, vjp_all=_slogdet_vjp,
                   multiple_results=True, sparsity=_stack_rule((2,), (0, 0)),
                   cost=_SLOGDET_COST)


def slogdet(a: Any) -> tuple:
    """``(sign, log|det|)``; the sign of a real matrix has no derivative."""
    return bind(slogdet_p, a)


# ---- cholesky ------------------------------------------------------------------------
def _cholesky_jvp(t, ans, a):
    # L' = L Phi(L^-1 S L^-T), S the symmetric matrix the lower triangle of t stands for.
    s = _sym_from_triangle(t, lower=True)
    x = solve(ans, _mT(solve(ans, s)))
    return matmul(ans, x * _mask(shape(a)[-1], a))


def _cholesky_vjp(g, ans, a):
    lt = _mT(ans)
    p = matmul(lt, g) * _mask(shape(a)[-1], a)
    m = _mT(solve(lt, _mT(solve(lt, p))))       # L^-T P L^-1
    return match_real(_to_triangle(m, lower=True), a)


cholesky_p = define("cholesky", np.linalg.cholesky, jvp=(_cholesky_jvp,),
                    vjp=(_cholesky_vjp,), sparsity=_stack_rule((2,), 2),
                    cost=_cost.per_matrix(lambda m, n: n ** 3 / 3, "n^3 / 3 (Cholesky)"))


def cholesky(a: Any) -> Any:
    """The lower Cholesky factor; reads only the lower triangle of ``a`` (as numpy)."""
    return bind(cholesky_p, a)


# ---- eigh ----------------------------------------------------------------------------
def _eigh_impl(a, UPLO):
    w, v = np.linalg.eigh(a, UPLO=UPLO)
    return w, v


def _eigh_F(w: Any) -> Any:
    # F_ij = 1 / (w_j - w_i) off the diagonal.
    return _off_diagonal_inverse(OPS["expand_dims"](w, -2) - OPS["expand_dims"](w, -1))


def _eigh_jvp(tangents, ans, a, UPLO):
    # dw = diag(V^H dA V) (real), dV = V (F o V^H dA V): the gauge diag(V^H dV) = 0
    w, v = ans
    s = _sym_from_triangle(tangents[0], lower=UPLO == "L")
    vsv = matmul(_mH(v), matmul(s, v))
    return real(_diag(vsv)), matmul(v, _eigh_F(w) * vsv)


def _eigh_vjp(g, ans, needed, a, UPLO):
    w, v = ans
    gw, gv = g
    inner = None
    if gw is not None:
        inner = _diag_embed(gw)
    if gv is not None:
        c = _eigh_F(w) * matmul(_mT(v), gv)
        inner = c if inner is None else inner + c
    m = matmul(conj(v), matmul(inner, _mT(v)))     # the transpose of V^H S V
    return (match_real(_to_triangle(m, lower=UPLO == "L"), a),)


eigh_p = define("eigh", _eigh_impl, jvp_all=_eigh_jvp, vjp_all=_eigh_vjp,
                multiple_results=True, sparsity=_stack_rule((2,), (1, 2)),
                cost=_cost.per_matrix(lambda m, n: 9 * n ** 3,
                                      "9 n^3 (tridiagonalisation + symmetric QR, "
                                      "eigenvalues and eigenvectors)"))


def eigh(a: Any, UPLO: str = "L") -> tuple:
    """Eigenvalues (ascending, real) and eigenvectors of real symmetric or complex
    Hermitian matrices, reading the ``UPLO`` triangle only (and the real part of the
    diagonal); derivatives need distinct eigenvalues (gauge: see the module)."""
    return bind(eigh_p, a, UPLO=UPLO)


# ---- qr (reduced, m >= n) ------------------------------------------------------------
def _qr_impl(a):
    q, r = np.linalg.qr(a, mode="reduced")
    return q, r


def _right_rinv(x: Any, r: Any) -> Any:
    """``x r^-1``."""
    return _mT(solve(_mT(r), _mT(x)))


def _qr_jvp(tangents, ans, a):
    q, r = ans
    n = shape(a)[-1]
    strict = np.tril(np.ones((n, n)), -1).astype(_dtype(a))
    dx_rinv = _right_rinv(tangents[0], r)
    qt = matmul(_mT(q), dx_rinv)
    low = qt * strict
    omega = low - _mT(low)                      # skew-symmetric part: Q^T dQ
    dq = matmul(q, omega - qt) + dx_rinv
    dr = matmul(qt - omega, r)
    return dq, dr


def _qr_vjp(g, ans, needed, a):
    q, r = ans
    gq, gr = g
    n = shape(a)[-1]
    m = None
    if gr is not None:
        m = matmul(r, _mT(gr))
    if gq is not None:
        c = -matmul(_mT(gq), q)
        m = c if m is None else m + c
    low = np.tril(np.ones((n, n))).astype(_dtype(a))
    strict = np.tril(np.ones((n, n)), -1).astype(_dtype(a))
    copyltu = m * low + _mT(m * strict)
    x = matmul(q, copyltu)
    if gq is not None:
        x = gq + x
    return (match_real(_mT(solve(r, _mT(x))), a),)   # x R^-T


qr_p = define("qr", _qr_impl, jvp_all=_qr_jvp, vjp_all=_qr_vjp, multiple_results=True,
              sparsity=_stack_rule((2,), (2, 2)),
              cost=_cost.per_matrix(lambda m, n: 4 * n * n * (m - n / 3),
                                    "4 n^2 (m - n/3) (Householder R and thin Q; "
                                    "8/3 n^3 square)"))


def qr(a: Any) -> tuple:
    """Reduced QR of matrices with at least as many rows as columns (full column rank
    for derivatives)."""
    m, n = shape(a)[-2:]
    if m < n:
        raise ValueError("qr primitive: needs m >= n (the adapter handles wide matrices)")
    return bind(qr_p, a)


# ---- svd (reduced) and svdvals -------------------------------------------------------
def _svd_impl(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return u, s, vh


def _col(s: Any) -> Any:
    return OPS["expand_dims"](s, -1)


def _row(s: Any) -> Any:
    return OPS["expand_dims"](s, -2)


def _svd_F(s: Any) -> Any:
    s2 = s * s
    return _off_diagonal_inverse(_row(s2) - _col(s2))   # 1 / (s_j^2 - s_i^2)


def _svd_jvp(tangents, ans, a):
    # dP = U^H dA V; ds = Re diag(dP); dU = U (F o (dP S + S dP^H) + i Im diag(dP) / s)
    # + (I - U U^H) dA V / s; dV = V (F o (S dP + dP^H S)) + (I - V V^H) dA^H U / s
    u, s, vh = ans
    t = tangents[0]
    v = _mH(vh)
    tv = matmul(t, v)
    dp = matmul(_mH(u), tv)
    dpt = _mH(dp)
    f = _svd_F(s)
    k = f * (dp * _row(s) + _col(s) * dpt)
    if is_complex(dp):
        k = k + _diag_embed(complex_(0.0, imag(_diag(dp)) / s))
    du = matmul(u, k) + (tv - matmul(u, dp)) / _row(s)
    tu = matmul(_mH(t), u)
    dv = matmul(v, f * (_col(s) * dp + dpt * _row(s))) + (tu - matmul(v, dpt)) / _row(s)
    return du, real(_diag(dp)), _mH(dv)


def _svd_vjp(g, ans, needed, a):
    # The transpose of _svd_jvp under Re(sum(a * b)); V^T = conj(Vh).
    u, s, vh = ans
    gu, gs, gvh = g
    f = _svd_F(s)
    vt = conj(vh)
    inner = None
    extra = None
    if gs is not None:
        inner = _diag_embed(gs)
    if gu is not None:
        utgu = matmul(_mT(u), gu)
        c = (f * (utgu - _mH(utgu))) * _row(s)
        if is_complex(utgu):
            c = c + _diag_embed(complex_(0.0, imag(_diag(utgu)) / s))
        inner = c if inner is None else inner + c
        extra = matmul((gu - matmul(conj(u), utgu)) / _row(s), vt)
    if gvh is not None:
        vtgv = matmul(vt, _mH(gvh))
        c = _col(s) * (f * (vtgv - _mH(vtgv)))
        inner = c if inner is None else inner + c
        e = matmul(conj(u) / _row(s), gvh - matmul(_mH(vtgv), vt))
        extra = e if extra is None else extra + e
    out = matmul(conj(u), matmul(inner, vt)) if inner is not None else None
    if extra is not None:
        out = extra if out is None else out + extra
    return (match_real(out, a),)


svd_p = define("svd", _svd_impl, jvp_all=_svd_jvp, vjp_all=_svd_vjp,
               multiple_results=True, sparsity=_stack_rule((2,), (2, 1, 2)),
               cost=_cost.per_matrix(lambda m, n: _long_short(m, n, lambda p, q:
                                                              14 * p * q * q + 8 * q ** 3),
                                     "14 m n^2 + 8 n^3 (Golub-Kahan-Reinsch, thin U, V)"))


def svd(a: Any) -> tuple:
    """Reduced SVD ``(u, s, vh)`` of real or complex matrices; derivatives need distinct
    non-zero singular values (gauge: see the module)."""
    return bind(svd_p, a)


def _svdvals_jvp(t, ans, a):
    u, _, vh = svd(a)
    return real(OPS["sum"](conj(u) * matmul(t, _mH(vh)), -2))    # Re diag(U^H t V)


def _svdvals_vjp(g, ans, a):
    u, _, vh = svd(a)
    return match_real(conj(matmul(u * _row(g), vh)), a)          # conj(U diag(g) V^H)


svdvals_p = define("svdvals", lambda a: np.linalg.svd(a, compute_uv=False),
                   jvp=(_svdvals_jvp,), vjp=(_svdvals_vjp,),
                   sparsity=_stack_rule((2,), 1),
                   cost=_cost.per_matrix(lambda m, n: _long_short(
                       m, n, lambda p, q: 4 * p * q * q - 4 * q ** 3 / 3),
                       "4 m n^2 - 4/3 n^3 (Golub-Kahan-Reinsch, values only)"))


def svdvals(a: Any) -> Any:
    """Singular values (descending) of each matrix in the last two axes."""
    return bind(svdvals_p, a)


# ---- pinv ----------------------------------------------------------------------------
def _pinv_jvp(t, ans, a, rcond, hermitian):
    p, pt = ans, _mT(ans)
    tt = _mT(t)
    ppt_tt = matmul(matmul(p, pt), tt)
    tt_ptp = matmul(tt, matmul(pt, p))
    return (-matmul(p, matmul(t, p))
            + ppt_tt - matmul(matmul(ppt_tt, a), p)
            + tt_ptp - matmul(p, matmul(a, tt_ptp)))


def _pinv_vjp(g, ans, a, rcond, hermitian):
    p, pt = ans, _mT(ans)
    gt = _mT(g)
    gt_ppt = matmul(gt, matmul(p, pt))
    ptp_gt = matmul(matmul(pt, p), gt)
    return match_real(-matmul(pt, matmul(g, pt))
                      + gt_ppt - matmul(a, matmul(p, gt_ppt))
                      + ptp_gt - matmul(matmul(ptp_gt, p), a), a)


def _pinv_impl(a, rcond, hermitian):
    return np.linalg.pinv(a, rcond=rcond, hermitian=hermitian)


pinv_p = define("pinv", _pinv_impl, jvp=(_pinv_jvp,), vjp=(_pinv_vjp,),
                sparsity=_stack_rule((2,), 2),
                cost=_cost.per_matrix(lambda m, n: _long_short(
                    m, n, lambda p, q: 16 * p * q * q + 8 * q ** 3),
                    "16 m n^2 + 8 n^3 (the thin SVD, then V diag(1/s) U^T)"))


def pinv(a: Any, rcond: float = 1e-15, hermitian: bool = False) -> Any:
    """Moore-Penrose pseudo-inverse (singular values below ``rcond`` times the largest
    are cut, numpy's rule); the derivative holds where the rank is locally constant
    (Golub & Pereyra)."""
    return bind(pinv_p, a, rcond=float(rcond), hermitian=bool(hermitian))


for _f in (inv, solve, det, slogdet, cholesky, eigh, qr, svd, svdvals, pinv):
    OPS["linalg_" + _f.__name__] = _f
