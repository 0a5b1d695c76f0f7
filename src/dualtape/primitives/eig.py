"""The eigenproblem of general (non-symmetric, real or complex) matrices: ``eig``.

``A V = V diag(w)``.  Differentiating, with ``S = V^-1 dA V`` (Giles 2008, Sec. 3.1):
``dw = diag(S)`` and ``dV = V (F o S) + V diag(c)``, ``F_ij = 1 / (w_j - w_i)`` off the
diagonal.  The free per-column scale ``c`` is fixed by the normalisation numpy's output
has (LAPACK's geev): every column has unit 2-norm and its component of largest modulus
is real.  So ``Re(c_j) = -Re(v_j^H u_j)`` and ``Im(c_j) = -Im(u_kj) / v_kj`` for
``u = V (F o S)`` and k the row of that component.  The derivative is then that of the
vectors numpy returns (a real eigenvector of a real matrix keeps its sign locally), and
the VJP is its transpose under ``Re(sum(a * b))`` (JAX's convention).

Results follow numpy's dtypes: a real matrix whose eigenvalues are all real has real
eigenvalues and eigenvectors, otherwise they are complex.  Derivatives need distinct
eigenvalues (F is infinite otherwise) and a unique component of largest modulus in
each eigenvector; the pivot row is read from the current value and held fixed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import bind, value_of
from . import _cost
from ._rules import OPS, define
from .complex import complex_, conj, imag, is_complex, match_real, real
from .decompositions import _diag, _diag_embed, _eigh_F, _mT, _row, _stack_rule, solve
from .linalg import matmul


def _eig_impl(a):
    w, v = np.linalg.eig(a)
    return w, v


def _pivots(v: Any) -> np.ndarray:
    """The one-hot mask of each column's component of largest modulus (a constant)."""
    vv = np.abs(np.asarray(value_of(v)))
    k = np.argmax(vv, axis=-2)
    return (np.arange(vv.shape[-2])[:, None] == k[..., None, :]).astype(vv.dtype)


def _sum_rows(x: Any) -> Any:
    return OPS["sum"](x, -2)


def _eig_jvp(tangents, ans, a):
    w, v = ans
    s = solve(v, matmul(tangents[0], v))                  # V^-1 dA V
    u = matmul(v, _eigh_F(w) * s)
    re = -real(_sum_rows(conj(v) * u))                    # keeps |v_j| = 1
    if is_complex(u):
        e = _pivots(v)
        c = complex_(re, -imag(_sum_rows(e * u)) / real(_sum_rows(e * v)))
    else:
        c = re
    return _diag(s), u + v * _row(c)


def _eig_vjp(g, ans, needed, a):
    w, v = ans
    gw, gv = g
    inner = None
    if gw is not None:
        inner = _diag_embed(gw)
    if gv is not None:
        # the cotangent of u = V (F o S), through the normalisation's c
        h = _sum_rows(gv * v)
        gu = gv - _row(real(h)) * conj(v)
        if is_complex(h):
            e = _pivots(v)
            gu = gu - complex_(0.0, _row(imag(h) / real(_sum_rows(e * v)))) * e
        c = _eigh_F(w) * matmul(_mT(v), gu)
        inner = c if inner is None else inner + c
    if inner is None:
        return (None,)
    # the transpose of S = V^-1 dA V: V^-T inner V^T
    return (match_real(solve(_mT(v), matmul(inner, _mT(v))), a),)


eig_p = define("eig", _eig_impl, jvp_all=_eig_jvp, vjp_all=_eig_vjp,
               multiple_results=True, sparsity=_stack_rule((2,), (1, 2)),
               cost=_cost.per_matrix(lambda m, n: 26 * n ** 3,
                                     "26 n^3 (Hessenberg reduction and Francis QR with "
                                     "the Schur vectors, 25 n^3; eigenvectors of the "
                                     "triangular factor, back-transformed, about n^3)"))


def eig(a: Any) -> tuple:
    """Eigenvalues and right eigenvectors ``(w, v)`` of each square matrix in the last
    two axes, as numpy.linalg.eig returns them (unit-norm columns, largest component
    real); derivatives need distinct eigenvalues."""
    return bind(eig_p, a)


OPS["linalg_eig"] = eig
