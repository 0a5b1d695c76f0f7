"""Rows for linear algebra, einsum and complex parts (see ``tables/__init__.py``).

Decompositions are checked on inputs where their derivatives exist: symmetric
positive definite matrices for cholesky, distinct eigenvalues for eigh, distinct
non-zero singular values for svd.  Eigenvectors and singular vectors are compared
through sign-invariant products (u_i * u_0i), since a finite difference may meet either
sign (for complex vectors, the phase: u_i * conj(u_0i)).  Complex parts are checked
through real rows built with ``complex``; the complex linear algebra rows take complex
matrices directly (dt.check_grads draws complex directions for them, so both the real
and the imaginary directions are checked, and pairs with Re(sum(a * b))).  eig's
eigenvectors are compared as they are: numpy's normalisation fixes them.
"""

from __future__ import annotations

import numpy as np

import dualtape.numpy as dnp
from dualtape.primitives import complex as cx
from dualtape.primitives import decompositions as dc
from dualtape.primitives import eig as ev
from dualtape.primitives import linalg as la

from tables import Row, _real


def _spd(n, batch=()):
    def draw(rng):
        a = rng.standard_normal(batch + (n, n))
        return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n),)
    return draw


def _sym(n):
    # Symmetric with well separated eigenvalues.
    def draw(rng):
        q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        return ((q * (np.arange(n) * 1.5 - 1.0)) @ q.T,)
    return draw


def _wellcond(*shapes):
    # Square blocks near a multiple of the identity: invertible, moderate condition.
    def draw(rng):
        out = []
        for s in shapes:
            x = rng.standard_normal(s)
            if len(s) >= 2 and s[-1] == s[-2]:
                x = x + 3 * np.eye(s[-1])
            out.append(x)
        return tuple(out)
    return draw


def _svd_domain(*shape):
    # Distinct singular values, well away from zero and from each other.
    def draw(rng):
        m, n = shape
        k = min(m, n)
        u, _ = np.linalg.qr(rng.standard_normal((m, k)))
        v, _ = np.linalg.qr(rng.standard_normal((n, k)))
        return ((u * (np.arange(k, 0, -1) + 0.5)) @ v.T,)
    return draw


def _cplx(rng, shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _herm(n):
    # Hermitian with well separated eigenvalues, plus junk in the triangle numpy ignores
    # (the strict upper one) and in the imaginary part of the diagonal.
    def draw(rng):
        q, _ = np.linalg.qr(_cplx(rng, (n, n)))
        a = (q * (np.arange(n) * 1.5 - 1.0)) @ q.conj().T
        return (a + np.triu(_cplx(rng, (n, n)), 1) + 1j * np.diag(rng.standard_normal(n)),)
    return draw


def _general(*shape, real=False):
    # Non-symmetric with distinct eigenvalues; a real one has the pair 1 +- 2i and 3.
    def draw(rng):
        if real:
            return (np.array([[1.0, -2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 3.0]])
                    + 0.2 * rng.standard_normal((3, 3)),)
        return (_cplx(rng, shape) + np.diag(np.arange(shape[-1]) * 0.7),)
    return draw


def _csvd(m, n):
    # Complex, distinct singular values well away from zero and from each other.
    def draw(rng):
        k = min(m, n)
        u, _ = np.linalg.qr(_cplx(rng, (m, k)))
        v, _ = np.linalg.qr(_cplx(rng, (n, k)))
        return ((u * (np.arange(k, 0, -1) + 0.5)) @ v.conj().T,)
    return draw


def _phasefree(v):
    """Complex vectors times the conjugate of their first row: invariant under a
    column's phase."""
    return v * dnp.conj(v[..., :1, :])


def _pairs(n):
    return lambda rng: (rng.uniform(0.3, 1.5, n) * rng.choice([-1, 1], n),
                        rng.uniform(0.3, 1.5, n) * rng.choice([-1, 1], n))


def _signfree(v):
    """Eigen/singular vectors times their first row: invariant under a column's sign."""
    return v * v[..., :1, :]


def _eigh(a, uplo="L"):
    w, v = dc.eigh(a, uplo)
    return w ** 2, _signfree(v)


def _svd(a):
    u, s, vh = dc.svd(a)
    return _signfree(u), s ** 2, _signfree(dnp.swapaxes(vh, -1, -2))


def _complex_row(f):
    """``f`` of z = x + i y, returned as its real and imaginary parts."""
    def row(x, y):
        r = f(cx.complex_(x, y))
        return cx.real(r), cx.imag(r)
    return row


PRIMITIVES: dict[str, Row] = {
    "einsum": Row(lambda a, b, c: la.einsum("ij,jk,kk->ik", a, b, c) ** 2
                  + la.einsum("...i,...i", a, b.T)[:, None],
                  _real((3, 2), (2, 3), (3, 3))),
    "inv": Row(lambda a: dc.inv(a) ** 2, _wellcond((2, 3, 3))),
    "solve": Row(lambda a, b: dc.solve(a, b) ** 2, _wellcond((3, 3), (2, 3, 2))),
    "det": Row(lambda a: dc.det(a) ** 2, _wellcond((2, 3, 3))),
    "slogdet": Row(lambda a: dc.slogdet(a)[1] * dc.slogdet(a)[0], _wellcond((2, 3, 3))),
    "cholesky": Row(lambda a: dc.cholesky(a) ** 2, _spd(3)),
    "eigh": Row(_eigh, _sym(3)),
    "eig": Row(lambda a: ev.eig(a), _general(2, 3, 3)),
    "qr": Row(lambda a: dc.qr(a)[0] * dc.qr(a)[1][..., :1, :1] + dc.qr(a)[1][..., :1, :],
              _real((4, 3))),
    "svd": Row(_svd, _svd_domain(4, 3)),
    "svdvals": Row(lambda a: dc.svdvals(a) ** 2, _svd_domain(3, 4)),
    "pinv": Row(lambda a: dc.pinv(a) ** 2, _svd_domain(4, 2)),
    # complex parts: real rows through complex values
    "complex": Row(_complex_row(lambda z: z * z), _real((3,), (3,))),
    "real": Row(lambda x, y: cx.real(cx.complex_(x, y) ** 3), _real((3,), (3,))),
    "imag": Row(lambda x, y: cx.imag(cx.complex_(x, y) ** 3), _real((3,), (3,))),
    "conj": Row(_complex_row(lambda z: cx.conj(z) * z * z), _real((3,), (3,))),
    "complex_abs": Row(lambda x, y: cx.complex_abs(cx.complex_(x, y) ** 2), _pairs(3)),
    "angle": Row(lambda x, y: cx.angle(cx.complex_(x, y) ** 2), _pairs(3)),
}


def _cz(x, y):
    return cx.complex_(x, y)


L = dnp.linalg
FUNCTIONS: dict[str, Row] = {
    # products (dualtape.numpy)
    "vdot": Row(lambda x, y: dnp.real(dnp.vdot(_cz(x, y), _cz(y, x * x))), _real((2, 2), (2, 2))),
    "inner": Row(dnp.inner, _real((2, 3), (4, 3))),
    "outer": Row(dnp.outer, _real((2, 2), (3,))),
    "tensordot": Row(lambda a, b: dnp.tensordot(a, b, axes=([0, 2], [1, 0])) ** 2,
                     _real((2, 3, 4), (4, 2))),
    "einsum": Row(lambda a, b: dnp.einsum("i...i,j->...j", a, b) ** 2, _real((3, 2, 3), (2,))),
    "kron": Row(lambda a, b: dnp.kron(a, b) ** 2, _real((2, 2), (3,))),
    # complex parts (dualtape.numpy)
    "real": Row(lambda x, y: dnp.real(_cz(x, y) ** 2) + dnp.real(x), _real((3,), (3,))),
    "imag": Row(lambda x, y: dnp.imag(_cz(x, y) ** 2), _real((3,), (3,))),
    "conj": Row(lambda x, y: dnp.imag(dnp.conj(_cz(x, y)) * _cz(y, x)), _real((3,), (3,))),
    "conjugate": Row(lambda x, y: dnp.real(dnp.conjugate(_cz(x, y)) ** 2), _real((3,), (3,))),
    "angle": Row(lambda x, y: dnp.angle(_cz(x, y) ** 2, deg=True), _pairs(3)),
    # dualtape.numpy.linalg
    "linalg.inv": Row(L.inv, _wellcond((3, 3))),
    "linalg.solve": Row(L.solve, _wellcond((2, 3, 3), (3,))),
    "linalg.det": Row(L.det, _wellcond((3, 3))),
    "linalg.slogdet": Row(lambda a: L.slogdet(a).logabsdet, _wellcond((2, 3, 3))),
    "linalg.cholesky": Row(lambda a: L.cholesky(a, upper=True), _spd(3)),
    "linalg.eigh": Row(lambda a: (L.eigh(a, UPLO="U")[0], _signfree(L.eigh(a, "U")[1])),
                       _sym(3)),
    "linalg.eigvalsh": Row(L.eigvalsh, _sym(3)),
    "linalg.eig": Row(lambda a: tuple(L.eig(a)), _general(real=True)),
    "linalg.eigvals": Row(lambda a: L.eigvals(a) ** 2, _general(3, 3)),
    # complex matrices
    "linalg.eigh[complex]": Row(lambda a: (L.eigh(a)[0], _phasefree(L.eigh(a)[1])),
                                _herm(3)),
    "linalg.eigvalsh[complex]": Row(lambda a: L.eigvalsh(a, UPLO="U"), _herm(3)),
    "linalg.svd[complex]": Row(lambda a: (_phasefree(L.svd(a, full_matrices=False).U),
                                          L.svd(a, full_matrices=False).S,
                                          _phasefree(dnp.conj(dnp.swapaxes(
                                              L.svd(a, full_matrices=False).Vh, -1, -2)))),
                               _csvd(4, 3)),
    "linalg.svdvals[complex]": Row(L.svdvals, _csvd(2, 3)),
    "linalg.norm[complex]": Row(lambda a: (L.norm(a, "nuc"), L.norm(a, 2), L.norm(a, -2),
                                           L.cond(a)), _csvd(3, 3)),
    "linalg.qr": Row(lambda a: L.qr(a).R + L.qr(a).Q[:, :1], _real((2, 3))),
    "linalg.svd": Row(lambda a: _signfree(L.svd(a, full_matrices=False).U)
                      * L.svd(a, full_matrices=False)[1],
                      _svd_domain(3, 2)),
    "linalg.svdvals": Row(L.svdvals, _svd_domain(2, 3)),
    "linalg.pinv": Row(L.pinv, _svd_domain(2, 3)),
    "linalg.norm": Row(lambda a: (L.norm(a), L.norm(a, 1, axis=0), L.norm(a, "nuc"),
                                  L.norm(a, np.inf), L.norm(a, 2)), _svd_domain(3, 3)),
    "linalg.vector_norm": Row(lambda a: L.vector_norm(a, ord=3, axis=-1, keepdims=True),
                              _real((2, 3))),
    "linalg.matrix_norm": Row(lambda a: L.matrix_norm(a, ord=-1), _real((2, 3, 3))),
    "linalg.cond": Row(L.cond, _svd_domain(3, 3)),
    "linalg.matrix_power": Row(lambda a: L.matrix_power(a, 3) + L.matrix_power(a, -1),
                               _wellcond((3, 3))),
    "linalg.trace": Row(lambda a: L.trace(a, offset=1) ** 2, _real((2, 3, 3))),
    "linalg.diagonal": Row(lambda a: L.diagonal(a) ** 2, _real((2, 3, 4))),
    "linalg.vecdot": Row(L.vecdot, _real((2, 3), (3,))),
    "linalg.matrix_transpose": Row(lambda a: L.matrix_transpose(a) ** 2, _real((2, 3))),
    "linalg.matmul": Row(L.matmul, _real((2, 3), (3,))),
    "linalg.tensordot": Row(lambda a, b: L.tensordot(a, b, axes=1), _real((2, 3), (3, 2))),
    "linalg.outer": Row(L.outer, _real((2,), (3,))),
    "linalg.multi_dot": Row(lambda a, b, c: L.multi_dot([a, b, c]),
                            _real((3,), (3, 2), (2, 2))),
    "linalg.cross": Row(L.cross, _real((2, 3), (3,))),
    "linalg.tensorinv": Row(lambda a: L.tensorinv(a, ind=1), _wellcond((4, 2, 2))),
    "linalg.tensorsolve": Row(L.tensorsolve, lambda r: (
        (r.standard_normal((4, 4)) + 3 * np.eye(4)).reshape(2, 2, 4),
        r.standard_normal((2, 2)))),
    "linalg.lstsq": Row(lambda a, b: L.lstsq(a, b)[:2], _real((4, 2), (4,))),
    "linalg.matrix_rank": Row(L.matrix_rank, _real((3, 2)), nondiff=True),
}
