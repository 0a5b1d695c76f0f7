"""The functions dualtape.scipy.special adds to tests/test_special.py's: second order in
both modes, values equal to scipy's, closed-form derivatives, edge points and the
errors for derivatives that do not exist.

Expected values come from scipy on plain arrays, closed forms written here and finite
differences.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import scipy.special as sc

import dualtape as dt
import dualtape.scipy.special as dss
from tables.scipy_special import SCIPY_FUNCTIONS


@pytest.mark.parametrize("name", sorted(SCIPY_FUNCTIONS))
def test_namespace_second_order_both_modes(name):
    row = SCIPY_FUNCTIONS[name]
    args = row.domain(np.random.default_rng(zlib.crc32(name.encode())))
    dt.check_grads(row.fn, args, order=row.order, modes=("fwd", "rev"), rtol=row.rtol,
                   atol=row.atol)


X = np.array([-1.7, -0.2, 0.4, 2.5])
P = np.array([0.01, 0.3, 0.5, 0.97])
POS = np.array([0.3, 1.0, 2.5, 7.0])
UNARY = {"gamma": X, "erfinv": 2 * P - 1, "ndtr": X, "log_ndtr": X, "ndtri": P,
         "entr": np.array([0.0, 0.3, 1.0, 4.0]), "i0": X, "i1": X, "i0e": X, "i1e": X}
BINARY = {"beta": (POS, POS[::-1]), "betaln": (POS, POS[::-1]),
          "xlog1py": (X, np.array([-0.9, 0.5, 3.0, -0.5])), "rel_entr": (POS, POS[::-1]),
          "gammainc": (POS, POS[::-1]), "gammaincc": (POS, POS[::-1]),
          "stdtr": (POS, X)}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_plain_scipy_ufunc_on_traced_values_gives_scipys_value(name):
    x, uf, fn = UNARY[name], getattr(sc, name), getattr(dss, name)
    out, t = dt.jvp(uf, (x,), (np.ones_like(x),))
    np.testing.assert_allclose(out, uf(x), rtol=1e-15, atol=0)
    assert not np.any(np.isnan(t))
    for jac in (dt.jacfwd, dt.jacrev):
        np.testing.assert_array_equal(jac(uf)(x[1:3]), jac(fn)(x[1:3]))
    np.testing.assert_array_equal(fn(x), uf(x))              # plain: scipy's own


@pytest.mark.parametrize("name", sorted(BINARY))
def test_plain_scipy_binary_ufunc_on_traced_values(name):
    a, b = BINARY[name]
    uf = getattr(sc, name)
    out = dt.jvp(lambda b: uf(a, b), (b,), (np.ones(4),))[0]
    np.testing.assert_array_equal(out, uf(a, b))
    if name not in ("gammainc", "gammaincc", "stdtr"):     # differentiable in both
        out = dt.jvp(uf, (a, b), (np.ones(4), np.ones(4)))[0]
        np.testing.assert_array_equal(out, uf(a, b))


def test_betainc_is_a_scipy_ufunc_on_traced_x():
    x = np.array([0.2, 0.5, 0.9])
    out, t = dt.jvp(lambda x: sc.betainc(2.0, 3.0, x), (x,), (np.ones(3),))
    np.testing.assert_array_equal(out, sc.betainc(2.0, 3.0, x))
    np.testing.assert_allclose(t, x * (1 - x) ** 2 / sc.beta(2.0, 3.0))


def test_closed_form_first_derivatives():
    x = np.array([0.3, 1.2, 2.6])
    cases = [
        (dss.gamma, sc.gamma(x) * sc.digamma(x)),
        (dss.erfinv, np.sqrt(np.pi) / 2 * np.exp(sc.erfinv(x / 3) ** 2) / 3, lambda x: x / 3),
        (dss.ndtr, np.exp(-x ** 2 / 2) / np.sqrt(2 * np.pi)),
        (dss.log_ndtr, np.exp(-x ** 2 / 2) / np.sqrt(2 * np.pi) / sc.ndtr(x)),
        (dss.ndtri, np.sqrt(2 * np.pi) * np.exp(sc.ndtri(x / 3) ** 2 / 2) / 3, lambda x: x / 3),
        (dss.entr, -np.log(x) - 1),
        (dss.i0, sc.i1(x)),
        (dss.i1, sc.i0(x) - sc.i1(x) / x),
        (dss.i0e, sc.i1e(x) - sc.i0e(x)),
        (dss.i1e, sc.i0e(x) - sc.i1e(x) / x - sc.i1e(x)),
        (dss.softplus, sc.expit(x)),
        (lambda a: dss.multigammaln(a, 2), sc.digamma(x + 1) + sc.digamma(x + 0.5),
         lambda x: x + 1),
    ]
    for case in cases:
        fn, want = case[0], case[1]
        pre = case[2] if len(case) > 2 else (lambda x: x)
        for jac in (dt.jacfwd, dt.jacrev):
            np.testing.assert_allclose(np.diag(jac(lambda x: fn(pre(x)))(x)), want,
                                       rtol=1e-12)


def test_closed_form_two_argument_derivatives():
    a, b = np.array([0.7, 2.0, 3.5]), np.array([1.5, 0.6, 4.0])
    psi_ab = sc.digamma(a + b)
    ga, gb = dt.grad(lambda a, b: np.sum(dss.betaln(a, b)), argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga, sc.digamma(a) - psi_ab, rtol=1e-13)
    np.testing.assert_allclose(gb, sc.digamma(b) - psi_ab, rtol=1e-13)
    ga, gb = dt.grad(lambda a, b: np.sum(dss.beta(a, b)), argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga, sc.beta(a, b) * (sc.digamma(a) - psi_ab), rtol=1e-13)
    x, y = np.array([0.5, -1.0, 2.0]), np.array([0.3, 2.0, -0.5])
    gx, gy = dt.grad(lambda x, y: np.sum(dss.xlog1py(x, y)), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, np.log1p(y))
    np.testing.assert_allclose(gy, x / (1 + y))
    gx, gy = dt.grad(lambda x, y: np.sum(dss.rel_entr(x, y)), argnums=(0, 1))(a, b)
    np.testing.assert_allclose(gx, np.log(a / b) + 1)
    np.testing.assert_allclose(gy, -a / b)
    # the incomplete functions: their last argument's partial is a density
    x = np.array([0.4, 1.5, 3.0])
    np.testing.assert_allclose(dt.grad(lambda x: np.sum(dss.gammainc(a, x)))(x),
                               x ** (a - 1) * np.exp(-x) / sc.gamma(a), rtol=1e-12)
    np.testing.assert_allclose(dt.grad(lambda x: np.sum(dss.gammaincc(a, x)))(x),
                               -x ** (a - 1) * np.exp(-x) / sc.gamma(a), rtol=1e-12)
    df, t = np.array([1.0, 3.0, 10.0]), np.array([-2.0, 0.1, 1.5])
    want = sc.gamma((df + 1) / 2) / (np.sqrt(df * np.pi) * sc.gamma(df / 2)) \
        * (1 + t ** 2 / df) ** (-(df + 1) / 2)
    np.testing.assert_allclose(dt.grad(lambda t: np.sum(dss.stdtr(df, t)))(t), want,
                               rtol=1e-12)


def test_second_derivatives_against_closed_forms():
    x = np.array([0.4, 1.1, 2.3])
    h = dt.hessian(lambda x: np.sum(dss.i0(x)))(x)           # I0'' = I1' = (I0 + I2) / 2
    np.testing.assert_allclose(h, np.diag((sc.i0(x) + sc.iv(2, x)) / 2), rtol=1e-12)
    h = dt.hessian(lambda x: np.sum(dss.gamma(x)))(x)        # Gamma (psi^2 + psi')
    want = sc.gamma(x) * (sc.digamma(x) ** 2 + sc.polygamma(1, x))
    np.testing.assert_allclose(h, np.diag(want), rtol=1e-12)
    p = x / 3                                                 # ndtri'' = 2 pi z e^(z^2)
    z = sc.ndtri(p)
    h = dt.hessian(lambda p: np.sum(dss.ndtri(p)))(p)
    np.testing.assert_allclose(h, np.diag(2 * np.pi * z * np.exp(z ** 2)), rtol=1e-12)


def test_log_ndtr_slope_far_in_the_left_tail():
    # phi(x) / Phi(x) ~ -x for x -> -inf, where phi and Phi both underflow
    x = np.array([-40.0, -200.0])
    g = dt.grad(lambda x: np.sum(dss.log_ndtr(x)))(x)
    # (Mills' ratio: Phi / phi = (1 - 1/x^2 + 3/x^4 - ...) / |x|)
    np.testing.assert_allclose(g, -x * (1 + 1 / x ** 2 - 2 / x ** 4), rtol=1e-8)
    assert np.all(np.isfinite(dt.hessian(lambda x: np.sum(dss.log_ndtr(x)))(x)))
    # and on the right, where log Phi ~ -phi: slope phi(x)
    g = dt.grad(dss.log_ndtr)(np.array(9.0))
    np.testing.assert_allclose(g, np.exp(-40.5) / np.sqrt(2 * np.pi) / sc.ndtr(9.0),
                               rtol=1e-12)


def test_ndtr_keeps_its_digits_in_both_tails():
    for x in (-30.0, 30.0, 8.5):
        out, t = dt.jvp(dss.ndtr, (np.array(x),), (np.array(1.0),))
        np.testing.assert_allclose(out, sc.ndtr(x), rtol=1e-14)
        np.testing.assert_allclose(t, np.exp(-x * x / 2) / np.sqrt(2 * np.pi), rtol=1e-13)


def test_edge_points():
    with np.errstate(all="ignore"):
        # erfinv and ndtri have infinite slope at the ends of their domains
        for fn, x in ((dss.erfinv, np.array([-1.0, 1.0])), (dss.ndtri, np.array([0.0, 1.0]))):
            np.testing.assert_array_equal(dt.grad(lambda x: np.sum(fn(x)))(x), [np.inf] * 2)
        # entr'(0) = +inf (one-sided), constant -inf for x < 0 (slope 0)
        np.testing.assert_array_equal(dss.entr(np.array([-1.0, 0.0])), [-np.inf, 0.0])
        g = dt.grad(lambda x: np.sum(dss.entr(x)))(np.array([-1.0, 0.0]))
        np.testing.assert_array_equal(g, [0.0, np.inf])
        # rel_entr at x = 0: slope -inf in x, 0 in y; xlog1py at x = 0: 0 in y, also at y = -1
        gx, gy = dt.grad(lambda x, y: np.sum(dss.rel_entr(x, y)), argnums=(0, 1))(
            np.zeros(2), np.array([0.0, 2.0]))
        np.testing.assert_array_equal(gx, [-np.inf, -np.inf])
        np.testing.assert_array_equal(gy, [0.0, 0.0])
        gy = dt.grad(lambda y: np.sum(dss.xlog1py(np.zeros(2), y)))(np.array([-1.0, 3.0]))
        np.testing.assert_array_equal(gy, [0.0, 0.0])
    # i0e: a corner at 0 with the subgradient 0 (sign(0) = 0); i1e is smooth there (1/2)
    np.testing.assert_array_equal(dt.grad(dss.i0e)(np.array(0.0)), 0.0)
    np.testing.assert_allclose(dt.grad(dss.i1e)(np.array(0.0)), 0.5)
    np.testing.assert_allclose(dt.grad(dss.i1)(np.array(0.0)), 0.5)


def test_derivatives_that_do_not_exist_raise():
    x = np.array([0.5, 1.5])
    cases = [
        (lambda a: dss.gammainc(a, x), "gammainc: no derivative with respect to a"),
        (lambda a: dss.gammaincc(a, x), "gammaincc: no derivative with respect to a"),
        (lambda a: dss.betainc(a, 2.0, x / 2), "betainc: no derivative with respect to a"),
        (lambda b: dss.betainc(2.0, b, x / 2), "betainc: no derivative with respect to b"),
        (lambda df: dss.stdtr(df, x), "stdtr: no derivative with respect to df"),
        (lambda a: sc.gammainc(a, x), "gammainc: no derivative"),
    ]
    for fn, msg in cases:
        with pytest.raises(TypeError, match=msg):
            dt.grad(lambda a: np.sum(fn(a)))(x)
        with pytest.raises(TypeError, match=msg):
            dt.jvp(fn, (x,), (np.ones(2),))
    with pytest.raises(TypeError, match="order n has no derivative"):
        dt.grad(lambda n: np.sum(dss.iv(n, x)))(np.array(1.0))
    with pytest.raises(TypeError, match="non-negative int"):
        dt.grad(lambda x: np.sum(dss.ive(1.5, x)))(x)
    with pytest.raises(TypeError, match="dimension d must be a positive plain int"):
        dt.grad(lambda a: dss.multigammaln(a, 0))(np.array(3.0))
    with pytest.raises(ValueError, match="a > \\(d-1\\)/2"):
        dt.grad(lambda a: dss.multigammaln(a, 4))(np.array(1.2))
    # scipy's Python function converts its input: a loud error, never a dropped derivative
    with pytest.raises(TypeError, match="traced value"):
        dt.grad(lambda a: sc.multigammaln(a, 2))(np.array(3.0))


def test_plain_values_are_scipys():
    a = np.array([[1.5, 2.0], [3.0, 4.5]])
    np.testing.assert_array_equal(dss.multigammaln(a, 3), sc.multigammaln(a, 3))
    traced = dt.jvp(lambda a: dss.multigammaln(a, 3), (a,), (np.ones_like(a),))[0]
    np.testing.assert_allclose(traced, sc.multigammaln(a, 3), rtol=1e-14)
    np.testing.assert_array_equal(dss.iv(2.5, X), sc.iv(2.5, X))
    np.testing.assert_array_equal(dt.jvp(lambda x: dss.iv(2, x), (X,), (X,))[0], sc.iv(2, X))
    np.testing.assert_array_equal(dss.softplus(X), sc.softplus(X))
    out, t = dt.jvp(sc.softplus, (X,), (np.ones(4),))     # scipy's own softplus traces
    np.testing.assert_array_equal(out, sc.softplus(X))
    np.testing.assert_allclose(t, sc.expit(X))


@pytest.mark.parametrize("name", ["gamma", "erfinv", "ndtr", "log_ndtr", "ndtri", "entr",
                                  "i0", "i1", "i0e", "i1e", "softplus"])
def test_float32_is_preserved(name):
    x = np.array([0.25, 0.5, 0.75], dtype=np.float32)
    f = getattr(dss, name)
    out, t = dt.jvp(f, (x,), (np.ones_like(x),))
    assert out.dtype == t.dtype == np.float32
    assert dt.grad(lambda x: np.sum(f(x)))(x).dtype == np.float32


def test_sparsity_is_elementwise():
    x = np.array([0.2, 0.5, 0.7])
    for fn in (dss.ndtri, dss.i1e, dss.entr, lambda x: dss.multigammaln(x + 2, 2)):
        np.testing.assert_array_equal(dt.sparsity(fn, x).toarray(), np.eye(3, dtype=bool))
