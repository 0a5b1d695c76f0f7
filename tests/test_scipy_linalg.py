"""dualtape.scipy.linalg: values equal to scipy's, derivatives against finite differences
(dt.check_grads, both modes, second order), scipy.linalg.expm_frechet and closed forms,
what each function reads, and the errors.

Expected values come from scipy.linalg on plain arrays, closed forms written here and
finite differences.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sl

import dualtape as dt
import dualtape.scipy.linalg as dsl

RNG = np.random.default_rng(7)
A = RNG.standard_normal((3, 3)) + 3 * np.eye(3)
S = A @ A.T
B = RNG.standard_normal((3, 2))
b = B[:, 0]


def _primal(f, *args):
    """f's value with every argument traced (forward mode)."""
    return dt.jvp(f, args, tuple(np.ones_like(a) for a in args))[0]


CASES = {
    "solve_triangular lower": (lambda a, b: dsl.solve_triangular(a, b, lower=True), (A, B)),
    "solve_triangular upper": (lambda a, b: dsl.solve_triangular(a, b), (A, b)),
    "solve_triangular trans=T": (lambda a, b: dsl.solve_triangular(a, b, trans="T",
                                                                   lower=True), (A, B)),
    "solve_triangular trans=1 unit": (lambda a, b: dsl.solve_triangular(
        a, b, trans=1, unit_diagonal=True), (A, b)),
    "solve_triangular trans=C": (lambda a, b: dsl.solve_triangular(a, b, trans=2), (A, B)),
    "cho_solve upper": (lambda a, b: dsl.cho_solve(dsl.cho_factor(a), b), (S, B)),
    "cho_solve lower": (lambda a, b: dsl.cho_solve(dsl.cho_factor(a, lower=True), b), (S, b)),
    "lu_solve": (lambda a, b: dsl.lu_solve(dsl.lu_factor(a), b), (A, B)),
    "lu_solve trans=1": (lambda a, b: dsl.lu_solve(dsl.lu_factor(a), b, trans=1), (A, b)),
    "lu_solve trans=2": (lambda a, b: dsl.lu_solve(dsl.lu_factor(a), b, trans=2), (A, B)),
    "expm": (lambda a: dsl.expm(0.4 * a), (A,)),
    "expm stack": (dsl.expm, (0.3 * RNG.standard_normal((2, 3, 3)),)),
    "sqrtm": (dsl.sqrtm, (S,)),
    "sqrtm nonsymmetric": (dsl.sqrtm, (A,)),
    "solve_sylvester": (dsl.solve_sylvester, (A, S[:2, :2] / 4, B)),
}

SCIPY = {
    "solve_triangular lower": lambda a, b: sl.solve_triangular(a, b, lower=True),
    "solve_triangular upper": lambda a, b: sl.solve_triangular(a, b),
    "solve_triangular trans=T": lambda a, b: sl.solve_triangular(a, b, trans="T", lower=True),
    "solve_triangular trans=1 unit": lambda a, b: sl.solve_triangular(a, b, trans=1,
                                                                      unit_diagonal=True),
    "solve_triangular trans=C": lambda a, b: sl.solve_triangular(a, b, trans=2),
    "cho_solve upper": lambda a, b: sl.cho_solve(sl.cho_factor(a), b),
    "cho_solve lower": lambda a, b: sl.cho_solve(sl.cho_factor(a, lower=True), b),
    "lu_solve": lambda a, b: sl.lu_solve(sl.lu_factor(a), b),
    "lu_solve trans=1": lambda a, b: sl.lu_solve(sl.lu_factor(a), b, trans=1),
    "lu_solve trans=2": lambda a, b: sl.lu_solve(sl.lu_factor(a), b, trans=2),
    "expm": lambda a: sl.expm(0.4 * a),
    "expm stack": sl.expm,
    "sqrtm": sl.sqrtm,
    "sqrtm nonsymmetric": sl.sqrtm,
    "solve_sylvester": sl.solve_sylvester,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_traced_values_equal_scipys(name):
    f, args = CASES[name]
    want = SCIPY[name](*args)
    np.testing.assert_allclose(_primal(f, *args), want, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(f(*args), want, rtol=1e-15, atol=0)    # plain: scipy's


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_order_both_modes_against_finite_differences(name):
    f, args = CASES[name]
    dt.check_grads(f, args, order=2, modes=("fwd", "rev"))


def test_factors_equal_scipys_and_pivots_are_plain():
    lu, piv = _primal(lambda a: dsl.lu_factor(a)[0], A), dsl.lu_factor(A)[1]
    want_lu, want_piv = sl.lu_factor(A)
    np.testing.assert_allclose(lu, want_lu, rtol=1e-14)
    np.testing.assert_array_equal(piv, want_piv)

    def probe(a):
        lu, piv = dsl.lu_factor(a)
        assert type(piv) is np.ndarray and piv.dtype.kind == "i"
        np.testing.assert_array_equal(piv, want_piv)
        return lu
    J = dt.jacfwd(probe)(A)
    np.testing.assert_allclose(dt.jacrev(probe)(A), J, atol=1e-13)
    # a matrix that needs pivoting: the derivative of the packed factor vs differences
    P = np.array([[0.1, 2.0, 1.0], [3.0, 0.5, -1.0], [1.0, 1.0, 4.0]])
    assert list(sl.lu_factor(P)[1]) != [0, 1, 2]
    dt.check_grads(lambda a: dsl.lu_factor(a)[0], (P,), order=2)
    dt.check_grads(lambda a, b: dsl.lu_solve(dsl.lu_factor(a), b, trans=1), (P, B), order=2)
    for lower in (False, True):
        c, low = dsl.cho_factor(S, lower=lower)
        ct = _primal(lambda s: dsl.cho_factor(s, lower=lower)[0], S)
        tri = np.tril if lower else np.triu
        np.testing.assert_allclose(ct, tri(sl.cho_factor(S, lower=lower)[0]), rtol=1e-13)
        assert low is lower


def test_each_solver_reads_only_its_triangle():
    # the derivative with respect to the triangle a routine does not read is exactly zero
    for lower, tri in ((True, np.tril), (False, np.triu)):
        g = dt.grad(lambda a: np.sum(dsl.solve_triangular(a, B, lower=lower)))(A)
        np.testing.assert_array_equal(g[tri(np.ones((3, 3))) == 0], 0.0)
        g = dt.grad(lambda a: np.sum(dsl.cho_factor(a, lower=lower)[0]))(S)
        np.testing.assert_array_equal(g[tri(np.ones((3, 3))) == 0], 0.0)
    g = dt.grad(lambda a: np.sum(dsl.solve_triangular(a, B, unit_diagonal=True)))(A)
    np.testing.assert_array_equal(np.diag(g), 0.0)
    # and equals the closed form of x = T^-1 b: dx/dT = -T^-T 1 x^T (on the triangle)
    t = np.triu(A)
    x = np.linalg.solve(t, B)
    want = -np.linalg.solve(t.T, np.ones_like(B)) @ x.T
    np.testing.assert_allclose(dt.grad(lambda a: np.sum(dsl.solve_triangular(a, B)))(A),
                               np.triu(want), rtol=1e-12)


def test_expm_derivative_is_scipys_frechet_derivative():
    a, e = 0.5 * A, RNG.standard_normal((3, 3))
    want = sl.expm_frechet(a, e, compute_expm=False)
    np.testing.assert_allclose(dt.jvp(dsl.expm, (a,), (e,))[1], want, rtol=1e-12)
    # reverse: <G, L(a, E)> = <L(a^T, G), E>
    g = RNG.standard_normal((3, 3))
    _, vjp = dt.vjp(dsl.expm, a)
    np.testing.assert_allclose(vjp(g)[0], sl.expm_frechet(a.T, g, compute_expm=False),
                               rtol=1e-12)
    # diagonal a: L(D, E)_ij = E_ij (e^d_i - e^d_j) / (d_i - d_j)
    d = np.array([0.3, -0.5, 1.2])
    ed = np.exp(d)
    div = np.where(np.eye(3) == 1, ed[:, None], (ed[:, None] - ed) / (d[:, None] - d
                                                                       + np.eye(3)))
    np.testing.assert_allclose(dt.jvp(dsl.expm, (np.diag(d),), (e,))[1], e * div,
                               rtol=1e-12)


def test_sqrtm_closed_forms():
    # at c I: X = sqrt(c) I and dX = dA / (2 sqrt(c)); second derivative -dA^2 / (4 c^1.5)
    c, e = 4.0, RNG.standard_normal((3, 3))
    out, t = dt.jvp(dsl.sqrtm, (c * np.eye(3),), (e,))
    np.testing.assert_allclose(out, 2 * np.eye(3), rtol=1e-14)
    np.testing.assert_allclose(t, e / 4, rtol=1e-12)
    second = dt.jvp(lambda a: dt.jvp(dsl.sqrtm, (a,), (e,))[1], (c * np.eye(3),), (e,))[1]
    np.testing.assert_allclose(second, -e @ e / (4 * c ** 1.5), rtol=1e-12)
    # the Sylvester equation it solves: X dX + dX X = dA
    x, t = dt.jvp(dsl.sqrtm, (S,), (e,))
    np.testing.assert_allclose(x @ t + t @ x, e, atol=1e-12)


def test_sylvester_derivatives_in_every_argument_against_its_equation():
    a, bb, q = A, S[:2, :2] / 4, B
    da, db, dq = (RNG.standard_normal(m.shape) for m in (a, bb, q))
    x, dx = dt.jvp(dsl.solve_sylvester, (a, bb, q), (da, db, dq))
    np.testing.assert_allclose(a @ dx + dx @ bb, dq - da @ x - x @ db, atol=1e-12)


def test_jacobians_agree_between_modes():
    for f, args in (CASES["expm"], CASES["sqrtm"], CASES["lu_solve trans=1"]):
        np.testing.assert_allclose(dt.jacfwd(f)(*args[:1], *args[1:]),
                                   dt.jacrev(f)(*args[:1], *args[1:]), atol=1e-11)


def test_errors():
    neg = np.diag([-1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="sqrtm: this real matrix has no real square root"):
        dt.grad(lambda a: np.sum(dsl.sqrtm(a)))(neg)
    with pytest.raises(TypeError, match="complex traced matrices"):
        dt.jvp(dsl.expm, (A + 0j,), (A + 0j,))
    with pytest.raises(ValueError, match="trans must be"):
        dt.grad(lambda a: np.sum(dsl.solve_triangular(a, b, trans="X")))(A)
    with pytest.raises(ValueError, match="lu_solve: trans must be 0, 1 or 2"):
        dt.grad(lambda a: np.sum(dsl.lu_solve(dsl.lu_factor(a), b, trans="T")))(A)
    with pytest.raises(ValueError, match="one matrix at a time"):
        dt.grad(lambda a: np.sum(dsl.lu_factor(a)[0]))(np.stack([A, A]))
    with pytest.raises(ValueError, match="square matrix"):
        dt.grad(lambda a: np.sum(dsl.expm(a)))(B)
    # scipy.linalg itself converts its input: a loud error, never a dropped derivative
    with pytest.raises(TypeError, match="traced value"):
        dt.grad(lambda a: np.sum(sl.expm(a)))(A)


def test_sparsity_is_per_matrix():
    stack = 0.3 * RNG.standard_normal((2, 2, 2))
    P = dt.sparsity(dsl.expm, stack).toarray()
    np.testing.assert_array_equal(P, np.kron(np.eye(2), np.ones((4, 4))).astype(bool))


def _flops(fn, *args, name):
    return dt.count(fn, *args).by_primitive[name][1]


def test_cost_formulas():
    n = 4
    a = 0.1 * RNG.standard_normal((n, n))          # |a|_1 < 5.37: no squaring
    assert _flops(dsl.expm, a, name="expm") == int((12 + 8 / 3) * n ** 3)
    big = 20 * np.eye(n)                           # |a|_1 = 20: s = ceil(log2(20 / 5.37)) = 2
    assert _flops(dsl.expm, big, name="expm") == int((16 + 8 / 3) * n ** 3)
    assert _flops(lambda a: dsl.lu_factor(a)[0], A, name="lu_factor") == int(2 / 3 * 27)
    assert _flops(dsl.sqrtm, S, name="sqrtm") == int(85 / 3 * 27)
    assert _flops(lambda q: dsl.solve_sylvester(A, S[:2, :2], q), B,
                  name="solve_sylvester") == 25 * (27 + 8) + 5 * (9 * 2 + 3 * 4)
