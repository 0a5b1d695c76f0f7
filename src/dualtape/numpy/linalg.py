"""``dualtape.numpy.linalg``: numpy.linalg's functions, differentiable in every mode.

Primitives (rules in ``dualtape.primitives.decompositions`` and ``.eig``): inv, solve,
det, slogdet, cholesky, eig, eigh, qr, svd, svdvals, pinv.  Composites: eigvals,
eigvalsh, norm, matrix_norm,
vector_norm, cond, matrix_power, trace, diagonal, vecdot, matrix_transpose, multi_dot,
cross, tensorinv, tensorsolve, lstsq, and numpy's matmul/tensordot/outer spellings.
``matrix_rank`` is an integer: a plain value.

Semantics: norms have derivative 0 at 0 (a subgradient; never NaN); max/min-based
norms (ord=inf, -inf, 1, -1, 2, -2) split ties equally.  Decompositions need the
generic case for their derivatives (distinct eigenvalues / singular values, full
rank).  Complex matrices: inv, solve, det, slogdet, eig, eigvals, eigh, eigvalsh
(Hermitian), svd, svdvals, every norm, cond with p None/2/-2 and the products accept
them (JAX's convention: real-linear JVPs, VJPs transposed under ``Re(sum(a * b))``);
cholesky, qr, pinv and lstsq raise TypeError on complex traced input.

Eigen- and singular vectors: eig's derivative is that of numpy's normalisation (unit
columns, largest component real).  eigh's and svd's vectors have an unspecified phase
(sign) per column; their derivatives hold the phase still (see
``dualtape.primitives.decompositions``), so phase-invariant functions of them have the
derivatives of numpy's output.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple, Sequence

import numpy as np
from numpy.linalg import LinAlgError  # noqa: F401  (numpy's exception, re-exported)

from ..primitives import OPS
from ..primitives import complex as _cx
from ..primitives import decompositions as _dc
from ..primitives import eig as _eig
from ..primitives import linalg as _la
from ..registry import Tracer, value_of
from ._construct import asarray
from ._dispatch import _dispatches, _no_out
from ._linalg_norms import _abs2, _matrix_norm, _real_only, matrix_norm, norm, vector_norm

__all__ = [
    "LinAlgError", "cholesky", "cond", "cross", "det", "diagonal", "eig", "eigh",
    "eigvals", "eigvalsh", "inv", "lstsq", "matmul", "matrix_norm", "matrix_power",
    "matrix_rank", "matrix_transpose", "multi_dot", "norm", "outer", "pinv", "qr",
    "slogdet", "solve", "svd", "svdvals", "tensordot", "tensorinv", "tensorsolve",
    "trace", "vecdot", "vector_norm",
]


class EigResult(NamedTuple):
    eigenvalues: Any
    eigenvectors: Any


class EighResult(NamedTuple):
    eigenvalues: Any
    eigenvectors: Any


class QRResult(NamedTuple):
    Q: Any
    R: Any


class SVDResult(NamedTuple):
    U: Any
    S: Any
    Vh: Any


class SlogdetResult(NamedTuple):
    sign: Any
    logabsdet: Any


def _square(a: Any, name: str) -> Any:
    a = asarray(a)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise LinAlgError(f"{name}: last 2 dimensions of the array must be square")
    return a


def _mT(x: Any) -> Any:
    return OPS["swapaxes"](x, -1, -2)


# ---- primitives ----------------------------------------------------------------------
@_dispatches(np.linalg.inv)
def inv(a: Any) -> Any:
    """The inverse of each matrix in the last two axes."""
    return _dc.inv(_square(a, "inv"))


@_dispatches(np.linalg.solve)
def solve(a: Any, b: Any) -> Any:
    """``x`` with ``a @ x == b``: ``b`` is a vector if 1-D, else a stack of matrices
    (numpy >= 2 rule); stacks broadcast."""
    a, b = _square(a, "solve"), asarray(b)
    if b.ndim == 1:
        return OPS["reshape"](_dc.solve(a, OPS["reshape"](b, (-1, 1))),
                              a.shape[:-2] + b.shape)
    return _dc.solve(a, b)


@_dispatches(np.linalg.det)
def det(a: Any) -> Any:
    """The determinant (its derivative needs a non-singular matrix)."""
    return _dc.det(_square(a, "det"))


@_dispatches(np.linalg.slogdet)
def slogdet(a: Any) -> SlogdetResult:
    """``(sign, logabsdet)``; a real matrix's sign is locally constant (no derivative)."""
    return SlogdetResult(*_dc.slogdet(_square(a, "slogdet")))


@_dispatches(np.linalg.cholesky)
def cholesky(a: Any, /, *, upper: bool = False) -> Any:
    """The Cholesky factor (lower, or upper with ``upper=True``); as numpy, only the
    lower (upper) triangle of ``a`` is read, and the derivative respects that."""
    a = _real_only(_square(a, "cholesky"), "cholesky")
    if upper:
        return _mT(_dc.cholesky(_mT(a)))
    return _dc.cholesky(a)


@_dispatches(np.linalg.eig)
def eig(a: Any) -> EigResult:
    """Eigenvalues and right eigenvectors of general square matrices (stacks in the
    leading axes), as numpy returns them: complex unless every eigenvalue of a real
    matrix is real; columns of unit norm with their largest component real, the
    normalisation the derivative follows.  Derivatives need distinct eigenvalues."""
    return EigResult(*_eig.eig(_square(a, "eig")))


@_dispatches(np.linalg.eigvals)
def eigvals(a: Any) -> Any:
    """Eigenvalues of general square matrices (those of ``eig``, in its order)."""
    return eig(a)[0]


@_dispatches(np.linalg.eigh)
def eigh(a: Any, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending, real) and eigenvectors of real symmetric or complex
    Hermitian matrices, reading only the ``UPLO`` triangle (and the real part of the
    diagonal).  Derivatives need distinct eigenvalues."""
    if UPLO not in ("L", "U"):
        raise ValueError("UPLO argument must be 'L' or 'U'")
    return EighResult(*_dc.eigh(_square(a, "eigh"), UPLO))


@_dispatches(np.linalg.eigvalsh)
def eigvalsh(a: Any, UPLO: str = "L") -> Any:
    """Eigenvalues of symmetric or Hermitian matrices (ascending)."""
    return eigh(a, UPLO)[0]


@_dispatches(np.linalg.qr)
def qr(a: Any, mode: Literal["reduced", "complete", "r", "raw"] = "reduced") -> Any:
    """QR in numpy's ``reduced`` (default) or ``r`` mode.  Wide matrices factor their
    leading square block (Q depends on it only).  Derivatives need full rank."""
    a = _real_only(a, "qr")
    if mode not in ("reduced", "r"):
        if isinstance(a, Tracer):
            raise TypeError(f"dualtape.numpy.linalg.qr: mode={mode!r} is not supported on "
                            f"traced values (use 'reduced' or 'r')")
        return np.linalg.qr(a, mode=mode)
    m, n = a.shape[-2:]
    if m >= n:
        q, r = _dc.qr(a)
    else:
        q, r0 = _dc.qr(a[..., :, :m])
        r = OPS["concatenate"]([r0, OPS["matmul"](_mT(q), a[..., :, m:])], -1)
    return r if mode == "r" else QRResult(q, r)


@_dispatches(np.linalg.svd)
def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True,
        hermitian: bool = False) -> Any:
    """The SVD ``(U, S, Vh)``, or only the singular values with ``compute_uv=False``.
    Derivatives of U and Vh need ``full_matrices=False`` for non-square matrices (the
    completed columns are arbitrary) and distinct non-zero singular values; those of
    the singular values alone, ``conj(U diag(g) V^H)``, need neither.  Real or complex
    matrices."""
    a = asarray(a)
    if not compute_uv:
        return _dc.svdvals(a)
    if full_matrices and isinstance(a, Tracer) and a.shape[-1] != a.shape[-2]:
        raise TypeError("dualtape.numpy.linalg.svd: full_matrices=True is not "
                        "differentiable for non-square matrices (the completed columns "
                        "are arbitrary); pass full_matrices=False")
    return SVDResult(*_dc.svd(a))


@_dispatches(np.linalg.svdvals)
def svdvals(x: Any, /) -> Any:
    """Singular values, descending (real, for real or complex matrices)."""
    return _dc.svdvals(asarray(x))


_UNSET = object()


@_dispatches(np.linalg.pinv)
def pinv(a: Any, rcond: Any = None, hermitian: bool = False, *, rtol: Any = _UNSET) -> Any:
    """The pseudo-inverse; singular values below ``rcond`` (or ``rtol``; numpy's
    defaults) times the largest are cut.  The derivative holds where the rank is
    locally constant."""
    a = _real_only(a, "pinv")
    if rcond is not None and rtol is not _UNSET:
        raise ValueError("`rtol` and `rcond` can't be both set.")
    if rcond is None:
        if rtol is _UNSET:
            rcond = 1e-15
        elif rtol is None:
            rcond = max(a.shape[-2:]) * np.finfo(_cx.real_dtype(a.dtype)).eps
        else:
            rcond = rtol
    if np.ndim(rcond) != 0:
        raise TypeError("dualtape.numpy.linalg.pinv: rcond/rtol must be a scalar")
    return _dc.pinv(a, float(rcond), hermitian)


@_dispatches(np.linalg.cond)
def cond(x: Any, p: Any = None) -> Any:
    """The condition number: ratio of extreme singular values (p None, 2, -2), else
    ``norm(x, p) * norm(inv(x), p)``."""
    x = asarray(x)
    if p in (None, 2, -2):
        s = _dc.svdvals(x)
        r = s[..., 0] / s[..., -1]
        return r if p != -2 else 1.0 / r
    return (_matrix_norm(x, p, (-2, -1), False)
            * _matrix_norm(inv(x), p, (-2, -1), False))


@_dispatches(np.linalg.matrix_rank)
def matrix_rank(A: Any, tol: Any = None, hermitian: bool = False, *,
                rtol: Any = None) -> Any:
    """The rank: an integer, a plain value."""
    return np.linalg.matrix_rank(value_of(A), tol=value_of(tol), hermitian=hermitian,
                                 rtol=value_of(rtol))


# ---- products and small composites ---------------------------------------------------
@_dispatches(np.linalg.matrix_power)
def matrix_power(a: Any, n: int) -> Any:
    """``a`` to an integer power by repeated squaring; ``n < 0`` inverts first and
    ``n == 0`` gives the identity (a constant)."""
    a = _square(a, "matrix_power")
    if not isinstance(n, (int, np.integer)):
        raise TypeError("exponent must be an integer")
    n = int(n)
    if n == 0:
        return np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape).copy()
    if n < 0:
        a, n = inv(a), -n
    result, base = None, a
    while n:
        if n & 1:
            result = base if result is None else OPS["matmul"](result, base)
        n >>= 1
        if n:
            base = OPS["matmul"](base, base)
    return result


@_dispatches(np.linalg.diagonal)
def diagonal(x: Any, /, *, offset: int = 0) -> Any:
    """The diagonal of each matrix in the last two axes (offset above/below)."""
    x = asarray(x)
    if offset >= 0:
        sub = x[..., :, offset:]
    else:
        sub = x[..., -offset:, :]
    k = min(sub.shape[-2:])
    return _la.einsum("...ii->...i", sub[..., :k, :k])


@_dispatches(np.linalg.trace)
def trace(x: Any, /, *, offset: int = 0, dtype: Any = None) -> Any:
    """The sum of the diagonal of each matrix in the last two axes."""
    d = diagonal(x, offset=offset)
    if dtype is not None:
        d = OPS["astype"](d, dtype)
    return OPS["sum"](d, -1)


@_dispatches(np.linalg.vecdot)
def vecdot(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    """``sum(conj(x1) * x2, axis)``."""
    return OPS["sum"](_cx.conj(asarray(x1)) * asarray(x2), axis)


@_dispatches(np.linalg.matrix_transpose)
def matrix_transpose(x: Any, /) -> Any:
    """Swap the last two axes."""
    x = asarray(x)
    if x.ndim < 2:
        raise ValueError("matrix_transpose: input must be at least 2-dimensional")
    return _mT(x)


@_dispatches(np.linalg.matmul)
def matmul(x1: Any, x2: Any, /) -> Any:
    return OPS["matmul"](asarray(x1), asarray(x2))


@_dispatches(np.linalg.tensordot)
def tensordot(x1: Any, x2: Any, /, *, axes: Any = 2) -> Any:
    return _la.tensordot(asarray(x1), asarray(x2), axes)


@_dispatches(np.linalg.outer)
def outer(x1: Any, x2: Any, /) -> Any:
    x1, x2 = asarray(x1), asarray(x2)
    if x1.ndim != 1 or x2.ndim != 1:
        raise ValueError("Input arrays must be one-dimensional")
    return _la.outer(x1, x2)


@_dispatches(np.linalg.multi_dot)
def multi_dot(arrays: Sequence[Any], *, out: Any = None) -> Any:
    """The product of a chain of matrices (first and last may be vectors)."""
    _no_out("multi_dot", out)
    arrays = [asarray(a) for a in arrays]
    if len(arrays) < 2:
        raise ValueError("Expecting at least two arrays.")
    r = arrays[0]
    for a in arrays[1:]:
        r = OPS["dot"](r, a)
    return r


@_dispatches(np.linalg.cross)
def cross(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    """The cross product of 3-vectors along ``axis``."""
    a, b = OPS["moveaxis"](asarray(x1), axis, -1), OPS["moveaxis"](asarray(x2), axis, -1)
    if a.shape[-1] != 3 or b.shape[-1] != 3:
        raise ValueError("Both input arrays must be (arrays of) 3-dimensional vectors")
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    c = OPS["stack"]([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], -1)
    return OPS["moveaxis"](c, -1, axis)


@_dispatches(np.linalg.tensorinv)
def tensorinv(a: Any, ind: int = 2) -> Any:
    """The inverse of ``a`` seen as a matrix: first ``ind`` axes by the rest."""
    a = asarray(a)
    if ind <= 0:
        raise ValueError("Invalid ind argument.")
    rows, cols = a.shape[:ind], a.shape[ind:]
    m = int(np.prod(rows))
    r = inv(OPS["reshape"](a, (m, -1)))
    return OPS["reshape"](r, cols + rows)


@_dispatches(np.linalg.tensorsolve)
def tensorsolve(a: Any, b: Any, axes: Any = None) -> Any:
    """``x`` with ``tensordot(a, x, x.ndim) == b``."""
    a, b = asarray(a), asarray(b)
    nd = a.ndim
    if axes is not None:
        order = [i for i in range(nd) if i not in [k % nd for k in axes]]
        order += [k % nd for k in axes]
        a = OPS["transpose"](a, order)
    old = a.shape[-(nd - b.ndim):]
    m = int(np.prod(old))
    x = solve(OPS["reshape"](a, (-1, m)), OPS["ravel"](b))
    return OPS["reshape"](x, old)


@_dispatches(np.linalg.lstsq)
def lstsq(a: Any, b: Any, rcond: Any = None) -> tuple:
    """Least squares by the pseudo-inverse: ``(x, residuals, rank, s)``; ``rank`` is a
    plain integer; residuals are given (as numpy) when ``a`` has full column rank and
    more rows than columns."""
    a, b = _real_only(a, "lstsq"), asarray(b)
    m, n = a.shape[-2:]
    if rcond is None:
        rcond = np.finfo(_cx.real_dtype(a.dtype)).eps * max(m, n)
    x = OPS["matmul"](_dc.pinv(a, float(rcond), False), b)
    s = _dc.svdvals(a)
    sv = np.asarray(value_of(s))   # the rank decides the residuals: a value read
    rank = int(np.sum(sv > rcond * sv[..., :1]))
    if rank == n and m > n:
        r = b - OPS["matmul"](a, x)
        res = OPS["sum"](_abs2(r), 0)
        if b.ndim == 1:
            res = OPS["reshape"](res, (1,))
    else:
        res = np.empty((0,), dtype=_cx.real_dtype(a.dtype))
    return x, res, rank, s


def __getattr__(name: str) -> Any:
    # numpy.linalg's other public names (its test runner) are numpy's own objects
    if not name.startswith("_") and name in dir(np.linalg):
        return getattr(np.linalg, name)
    raise AttributeError(f"module 'dualtape.numpy.linalg' has no attribute {name!r}")
