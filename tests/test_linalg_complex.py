"""Complex linear algebra: eig/eigvals, Hermitian eigh/eigvalsh, complex svd/svdvals and
the singular-value norms, var/std of complex arrays.

Expected values come from closed forms (traces, Hellmann-Feynman, nuclear-norm
gradients), from reconstructions whose Jacobian is the identity, and from finite
differences along every real and every imaginary direction of the input (the
convention: a JVP is the real-linear derivative; a VJP its transpose under
Re(sum(a * b)), checked by that pairing).  Eigen- and singular vectors of eigh and svd
enter only through phase-invariant functions; eig's through numpy's normalisation.
"""

from __future__ import annotations

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp

RNG = np.random.default_rng(11)
L = dnp.linalg


def crandn(*shape):
    return RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)


def _flat(out):
    leaves = out if isinstance(out, tuple) else (out,)
    return np.concatenate([np.ravel(np.asarray(x)).astype(complex) for x in leaves])


def check_every_direction(f, z, eps=1e-6, tol=1e-6):
    """For each element k of z and each direction e_k, i e_k: the JVP equals the central
    difference, and the VJP of a random cotangent pairs with it (Re sum(u * Jd))."""
    out = f(z)
    outs = out if isinstance(out, tuple) else (out,)
    us = tuple(crandn(*np.shape(o)) if np.iscomplexobj(o) else RNG.standard_normal(np.shape(o))
               for o in outs)
    ct = dt.vjp(f, z)[1](us if isinstance(out, tuple) else us[0])[0]
    assert np.iscomplexobj(ct) == np.iscomplexobj(z)
    u = _flat(us)
    for k in np.ndindex(z.shape):
        for unit in ((1.0, 1j) if np.iscomplexobj(z) else (1.0,)):
            d = np.zeros_like(z)
            d[k] = unit
            fd = (_flat(f(z + eps * d)) - _flat(f(z - eps * d))) / (2 * eps)
            jv = _flat(dt.jvp(f, (z,), (d,))[1])
            np.testing.assert_allclose(jv, fd, rtol=1e-5, atol=tol)
            assert abs(np.sum(u * jv).real - np.sum(ct * d).real) < 1e-8 * max(
                1.0, abs(np.sum(u * jv)))


def phasefree(v):
    return v * dnp.conj(v[..., :1, :])


def hermitian(n):
    q, _ = np.linalg.qr(crandn(n, n))
    return (q * (np.arange(n) * 1.3 - 1.0)) @ q.conj().T


# ---- eig / eigvals ---------------------------------------------------------------------
def test_eig_values_match_numpy_and_follow_its_normalisation():
    for a in (crandn(4, 4), RNG.standard_normal((4, 4)), np.diag([1.0, 2.0, 4.0])
              + 0.1 * RNG.standard_normal((3, 3))):
        w, v = np.linalg.eig(a)
        got = dt.jvp(lambda a: tuple(np.linalg.eig(a)), (a,), (a,))
        np.testing.assert_allclose(got[0][0], w, rtol=1e-12)
        np.testing.assert_allclose(got[0][1], v, rtol=1e-12)
        assert got[0][0].dtype == w.dtype and got[1][1].dtype == v.dtype
        check_every_direction(lambda a: tuple(L.eig(a)), a)


def test_eigenvalue_derivative_is_the_left_right_eigenvector_quotient():
    # d w_i = y_i^T dA x_i / (y_i^T x_i), y_i the left eigenvectors (rows of V^-1).
    a, d = crandn(3, 3), crandn(3, 3)
    w, v = np.linalg.eig(a)
    y = np.linalg.inv(v)
    want = np.einsum("ij,jk,ki->i", y, d, v)
    np.testing.assert_allclose(dt.jvp(L.eigvals, (a,), (d,))[1], want, rtol=1e-10)
    # sum of the eigenvalues is the trace: its gradient is the identity
    g = dt.grad(lambda a: dnp.real(dnp.sum(L.eigvals(a))))(a)
    np.testing.assert_allclose(g, np.eye(3), atol=1e-10)


def test_eig_reconstruction_has_identity_jacobian_in_every_mode():
    a = RNG.standard_normal((3, 3))                       # a complex-conjugate pair

    def rebuild(a):
        w, v = L.eig(a)
        r = v @ (w[:, None] * L.inv(v))
        return dnp.concatenate([dnp.ravel(dnp.real(r)), dnp.ravel(dnp.imag(r))])
    assert np.iscomplexobj(np.linalg.eig(a)[0])
    want = np.concatenate([np.eye(9), np.zeros((9, 9))]).reshape(18, 3, 3)
    for J in (dt.jacfwd(rebuild)(a), dt.jacrev(rebuild)(a), dt.jacfwd(rebuild, chunk_size=2)(a)):
        np.testing.assert_allclose(J, want, atol=1e-10)
    # second order: the map is the identity, so its Hessians vanish
    h = dt.hessian(lambda a: dnp.sum(rebuild(a) ** 2))(a)
    np.testing.assert_allclose(h, 2 * np.eye(9).reshape(3, 3, 3, 3), atol=1e-8)


def test_eig_stacks_and_second_order():
    a = crandn(2, 3, 3)
    dt.check_grads(lambda a: tuple(L.eig(a)), (a,), order=2)
    dt.check_grads(lambda a: L.eigvals(a) ** 2, (RNG.standard_normal((3, 3)),), order=2)


# ---- Hermitian eigh ----------------------------------------------------------------------
def test_eigh_complex_values_triangles_and_directions():
    h = hermitian(3)
    junk = np.triu(crandn(3, 3), 1) + 1j * np.diag(RNG.standard_normal(3))
    for uplo, a in (("L", h + junk), ("U", h + junk.T)):
        w, v = np.linalg.eigh(a, UPLO=uplo)
        got = dt.jvp(lambda a: tuple(np.linalg.eigh(a, UPLO=uplo)), (a,), (a,))[0]
        np.testing.assert_allclose(got[0], w, rtol=1e-12)
        np.testing.assert_allclose(got[1], v, rtol=1e-12)
        check_every_direction(lambda a: (L.eigh(a, uplo)[0], phasefree(L.eigh(a, uplo)[1])), a)
        # the ignored triangle and the imaginary part of the diagonal get no cotangent
        g = dt.grad(lambda a: dnp.sum(L.eigvalsh(a, uplo) ** 3))(a)
        ignored = np.triu(np.ones((3, 3)), 1) if uplo == "L" else np.tril(np.ones((3, 3)), -1)
        assert np.all(g[ignored == 1] == 0) and np.all(np.diag(g).imag == 0)


def test_eigh_complex_hellmann_feynman():
    # w_max of X + X^H: dw = 2 Re(v^H dX v), so grad = 2 conj(v v^H) in the convention
    x = crandn(3, 3)
    w, v = np.linalg.eigh(x + x.conj().T)
    top = v[:, -1]
    g = dt.grad(lambda x: L.eigvalsh(x + dnp.conj(x.T))[-1])(x)
    np.testing.assert_allclose(g, 2 * np.conj(np.outer(top, top.conj())), atol=1e-10)
    # a spectral function V f(w) V^H is phase-invariant: its reconstruction is exact
    h = hermitian(3)

    def rebuild(a):
        w, v = L.eigh(a)
        return dnp.ravel((v * w) @ dnp.conj(v.T))
    n = crandn(3, 3)
    k = 1j * (n - n.conj().T)                             # another Hermitian direction
    J = dt.jacfwd(lambda t: rebuild(h + t[0] * h + t[1] * k))(np.zeros(2))
    np.testing.assert_allclose(J[:, 0], np.ravel(h), atol=1e-10)
    np.testing.assert_allclose(J[:, 1], np.ravel(k), atol=1e-10)


# ---- complex SVD -----------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (2, 4)])
def test_svd_complex_phase_invariant_parts_in_every_direction(shape):
    a = crandn(*shape)
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    got = dt.jvp(lambda a: tuple(np.linalg.svd(a, full_matrices=False)), (a,), (a,))[0]
    for x, y in zip(got, (u, s, vh)):
        np.testing.assert_allclose(x, y, rtol=1e-12)

    def parts(a):
        u, s, vh = L.svd(a, full_matrices=False)
        # each column pair (u_k, v_k) shares one phase: u_k conj(v_k)^T is invariant
        return phasefree(u), s, phasefree(dnp.conj(vh.T)), dnp.einsum("ik,kj->kij", u, vh)
    check_every_direction(parts, a)
    dt.check_grads(parts, (a,), order=2)


def test_svd_complex_closed_forms():
    a = crandn(4, 3)
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose(dt.grad(lambda a: L.norm(a, "nuc"))(a), np.conj(u @ vh),
                               atol=1e-10)
    np.testing.assert_allclose(dt.grad(lambda a: L.norm(a, 2))(a),
                               np.conj(np.outer(u[:, 0], vh[0])), atol=1e-10)
    np.testing.assert_allclose(dt.grad(lambda a: L.norm(a, -2))(a),
                               np.conj(np.outer(u[:, -1], vh[-1])), atol=1e-10)
    np.testing.assert_allclose(dt.grad(lambda a: dnp.sum(L.svdvals(a)))(a), np.conj(u @ vh),
                               atol=1e-10)
    # the reconstruction U S V^H has the identity as its derivative along any direction
    d = crandn(4, 3)
    _, t = dt.jvp(lambda a: dnp.einsum("ik,k,kj->ij", *L.svd(a, full_matrices=False)),
                  (a,), (d,))
    np.testing.assert_allclose(t, d, atol=1e-10)


def test_singular_value_norms_and_cond_of_complex_matrices():
    a = crandn(2, 3, 3)
    for f in (lambda a: L.norm(a, "nuc", axis=(1, 2)), lambda a: L.matrix_norm(a, ord=2),
              lambda a: L.cond(a), lambda a: L.cond(a, -2)):
        np.testing.assert_allclose(dt.jvp(f, (a,), (a,))[0], f(a), rtol=1e-12)
        dt.check_grads(f, (a,), order=2)
    # the real part only: svdvals of a real matrix are unchanged (regression)
    x = RNG.standard_normal((3, 2))
    np.testing.assert_allclose(dt.grad(lambda x: L.norm(x, "nuc"))(x),
                               np.linalg.svd(x, full_matrices=False)[0]
                               @ np.linalg.svd(x, full_matrices=False)[2], atol=1e-10)


# ---- var / std ---------------------------------------------------------------------------
def test_var_std_of_complex_arrays():
    z = crandn(3, 4)
    for f in (lambda z: np.var(z), lambda z: np.std(z, axis=1, ddof=1),
              lambda z: z.var(axis=0, keepdims=True),
              lambda z: np.std(z, axis=1, where=np.array([True, False, True, True]))):
        got = dt.jvp(f, (z,), (z,))[0]
        np.testing.assert_allclose(got, f(z), rtol=1e-12)
        assert np.asarray(got).dtype == np.float64
        check_every_direction(f, z)
        dt.check_grads(f, (z,), order=2)
    # grad var = df/dx - i df/dy = 2 conj(z - mean) / n
    np.testing.assert_allclose(dt.grad(np.var)(z), 2 * np.conj(z - z.mean()) / z.size)


def test_nanvar_nanstd_of_complex_arrays():
    z = crandn(2, 4)
    keep = np.array([[True, False, True, True], [True, True, False, True]])
    zn = np.where(keep, z, np.nan)
    for f in (lambda z: np.nanvar(z), lambda z: np.nanstd(z, axis=1, ddof=1)):
        got = dt.jvp(f, (zn,), (np.ones_like(zn),))[0]
        np.testing.assert_allclose(got, f(zn), rtol=1e-12)
        dt.check_grads(lambda w: f(dnp.where(keep, w, np.nan)), (np.where(keep, z, 0),),
                       order=2)
    kept = zn[keep]
    g = dt.grad(np.nanvar)(zn)
    np.testing.assert_allclose(g[keep], 2 * np.conj(kept - kept.mean()) / kept.size)
    assert np.all(g[~keep] == 0)


def test_roots_and_characteristic_polynomial_closed_forms():
    # roots of p: P(r) = 0, so dr = -(sum_k dp_k r^(n-k)) / P'(r)
    p = np.array([2.0, -3.0, -11.0, 6.0, 1.5])
    r = np.roots(p)
    got = dt.jvp(np.roots, (p,), (p,))[0]
    np.testing.assert_allclose(got, r, rtol=1e-12)
    want = -np.vander(r, 5) / np.polyval(np.polyder(p), r)[:, None]
    np.testing.assert_allclose(dt.jacfwd(np.roots)(p), want, rtol=1e-9)
    np.testing.assert_allclose(dt.jacrev(np.roots)(p), want, rtol=1e-9)
    # zeros at either end are stripped as numpy does; complex coefficients work too
    q = np.array([0.0, 1.0, -3.0, 2.0, 0.0])
    np.testing.assert_allclose(dt.jvp(np.roots, (q,), (q,))[0], np.roots(q))
    c = crandn(4)
    np.testing.assert_allclose(dt.jvp(np.roots, (c,), (c,))[0], np.roots(c), rtol=1e-12)
    check_every_direction(np.roots, c)
    # poly of a matrix: the characteristic polynomial; d det(sI - A) coefficients
    a = RNG.standard_normal((3, 3))
    np.testing.assert_allclose(dt.jvp(np.poly, (a,), (a,))[0], np.poly(a), rtol=1e-12)
    # coefficient of s^(n-1) is -trace(A): gradient -I
    np.testing.assert_allclose(dt.grad(lambda a: np.poly(a)[1])(a), -np.eye(3), atol=1e-10)


def test_count_sees_eig():
    c = dt.count(lambda a: dnp.real(dnp.sum(L.eigvals(a))), crandn(3, 3))
    assert c.by_primitive["eig"][0] == 1
