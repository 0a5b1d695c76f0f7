"""dualtape.scipy.special and logsumexp: second order for every public function, scipy's
semantics (axis, b=, keepdims, return_sign), stability, closed forms, plain scipy calls.

Expected values come from scipy on plain arrays, closed forms written here, finite
differences and the other mode.
"""

from __future__ import annotations

import subprocess
import sys
import zlib

import numpy as np
import pytest
import scipy.special as sc

import dualtape as dt
import dualtape.numpy as dnp
import dualtape.scipy.special as dss
from tables.special import SCIPY_FUNCTIONS


@pytest.mark.parametrize("name", sorted(SCIPY_FUNCTIONS))
def test_scipy_namespace_second_order_both_modes(name):
    row = SCIPY_FUNCTIONS[name]
    args = row.domain(np.random.default_rng(zlib.crc32(name.encode())))
    dt.check_grads(row.fn, args, order=row.order, modes=("fwd", "rev"), rtol=row.rtol,
                   atol=row.atol)


def test_namespace_exports():
    assert set(dss.__all__) == {
        "beta", "betainc", "betaln", "digamma", "entr", "erf", "erfc", "erfinv", "expit",
        "gamma", "gammainc", "gammaincc", "gammaln", "i0", "i0e", "i1", "i1e", "iv", "ive",
        "log_ndtr", "log_softmax", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri",
        "polygamma", "psi", "rel_entr", "softmax", "softplus", "stdtr", "xlog1py", "xlogy"}
    assert dss.logsumexp is dnp.logsumexp and dss.psi is dss.digamma


# ---- plain scipy calls -----------------------------------------------------------------
UFUNCS = {"expit": np.array([-2.0, 0.3, 4.0]), "logit": np.array([0.2, 0.5, 0.9]),
          "erf": np.array([-1.0, 0.2, 2.0]), "erfc": np.array([-1.0, 0.2, 2.0]),
          "gammaln": np.array([-2.5, 0.7, 3.0]), "digamma": np.array([-2.5, 0.7, 3.0]),
          "psi": np.array([0.4, 1.0, 2.0])}


@pytest.mark.parametrize("name", sorted(UFUNCS))
def test_plain_scipy_ufunc_on_traced_value_equals_namespace(name):
    x = UFUNCS[name]
    uf, fn = getattr(sc, name), getattr(dss, name)
    for jac in (dt.jacfwd, dt.jacrev):
        np.testing.assert_array_equal(jac(uf)(x), jac(fn)(x))
    np.testing.assert_array_equal(dt.jvp(uf, (x,), (x,))[0], uf(x))


def test_plain_scipy_xlogy_traced_on_either_side():
    x, y = np.array([0.0, 0.5, -1.0]), np.array([2.0, 0.3, 1.5])
    for jac in (dt.jacfwd, dt.jacrev):
        np.testing.assert_array_equal(jac(lambda x: sc.xlogy(x, y))(x),
                                      jac(lambda x: dss.xlogy(x, y))(x))
        np.testing.assert_array_equal(jac(lambda y: sc.xlogy(x, y))(y),
                                      jac(lambda y: dss.xlogy(x, y))(y))


@pytest.mark.parametrize("fn", [sc.logsumexp, sc.softmax, sc.log_softmax,
                                lambda x: sc.polygamma(1, x)])
@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_scipy_python_functions_on_traced_values_fail_loudly(fn, mode):
    # they convert with numpy.asarray; that must be an error, never a dropped derivative
    x = np.array([0.5, 1.0])
    with pytest.raises(TypeError, match=rf"traced value \({mode} mode\)"):
        if mode == "forward":
            dt.jvp(lambda x: fn(x), (x,), (x,))
        else:
            dt.grad(lambda x: np.sum(fn(x)))(x)


def test_import_dualtape_does_not_load_scipy_special_and_scipy_ufuncs_then_fail_loudly():
    code = (
        "import sys, numpy as np, dualtape as dt, dualtape.numpy\n"
        "assert 'scipy.special' not in sys.modules\n"
        "import scipy.special as sc\n"
        "try:\n"
        "    dt.grad(lambda x: np.sum(sc.expit(x)))(np.ones(2))\n"
        "except TypeError as e:\n"
        "    print('TypeError', e)\n"
        "import dualtape.scipy.special\n"
        "print(dt.grad(lambda x: np.sum(sc.expit(x)))(np.zeros(2)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(_src())})
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("TypeError") and "expit" in lines[0]
    assert lines[1] == "[0.25 0.25]"


def _src():
    import pathlib
    return pathlib.Path(dt.__file__).resolve().parents[1]


# ---- logsumexp: scipy semantics ----------------------------------------------------------
A = np.array([[0.3, -1.2, 2.0], [1.1, 0.0, -0.5]])
B = np.array([[1.0, -0.5, 2.0], [0.3, 0.0, -0.1]])


@pytest.mark.parametrize("kwargs", [{}, {"axis": 0}, {"axis": -1, "keepdims": True},
                                    {"axis": (0, 1)}, {"b": B}, {"b": B, "axis": 1},
                                    {"b": B, "return_sign": True},
                                    {"b": B[0], "axis": 1, "keepdims": True,
                                     "return_sign": True},
                                    {"return_sign": True, "axis": 0}])
def test_logsumexp_matches_scipy_on_values_and_traced_primals(kwargs):
    want = sc.logsumexp(A, **kwargs)
    got = dnp.logsumexp(A, **kwargs)
    traced = dt.jvp(lambda a: dss.logsumexp(a, **kwargs), (A,), (np.ones_like(A),))[0]
    for g in (got, traced):
        if kwargs.get("return_sign"):
            np.testing.assert_allclose(g[0], want[0], rtol=1e-14)
            np.testing.assert_array_equal(g[1], want[1])
            assert np.shape(g[1]) == np.shape(want[1])
        else:
            np.testing.assert_allclose(g, want, rtol=1e-14)
            assert np.shape(g) == np.shape(want)


def test_logsumexp_of_equal_huge_inputs_has_gradient_one_half():
    a = np.array([1000.0, 1000.0])
    np.testing.assert_allclose(dnp.logsumexp(a), 1000.0 + np.log(2.0))
    for J in (dt.jacfwd(dnp.logsumexp)(a), dt.jacrev(dnp.logsumexp)(a), dt.grad(dss.logsumexp)(a)):
        np.testing.assert_array_equal(J, [0.5, 0.5])
    np.testing.assert_allclose(dt.hessian(dnp.logsumexp)(a), [[0.25, -0.25], [-0.25, 0.25]])
    np.testing.assert_array_equal(dt.grad(dnp.logsumexp)(np.array([-1000.0, -1000.0])),
                                  [0.5, 0.5])


def test_logsumexp_gradient_is_softmax_and_hessian_its_jacobian():
    a = A[0]
    s = np.exp(a) / np.sum(np.exp(a))
    np.testing.assert_allclose(dt.grad(dnp.logsumexp)(a), s)
    np.testing.assert_allclose(dt.hessian(dnp.logsumexp)(a), np.diag(s) - np.outer(s, s))


def test_logsumexp_with_weights_gradients():
    # d/da_i = b_i e^a_i / s and d/db_i = e^a_i / s with s = sum b e^a (either sign of s)
    for a, b in ((A[0], B[0]), (A[0], -B[0])):
        s = np.sum(b * np.exp(a))
        ga, gb = dt.grad(lambda a, b: dnp.logsumexp(a, b=b, return_sign=True)[0],
                         argnums=(0, 1))(a, b)
        np.testing.assert_allclose(ga, b * np.exp(a) / s)
        np.testing.assert_allclose(gb, np.exp(a) / s)
    # a huge exponent with weight 0 does not count (scipy: exp(1000) * 0 = 0)
    a, b = np.array([1000.0, 0.5]), np.array([0.0, 2.0])
    np.testing.assert_allclose(dnp.logsumexp(a, b=b), 0.5 + np.log(2.0))
    np.testing.assert_allclose(dt.grad(lambda a: dnp.logsumexp(a, b=b))(a), [0.0, 1.0])


def test_logsumexp_edge_values_match_scipy():
    for a in (np.array([-np.inf, -np.inf]), np.array([np.inf, 1.0]), np.array([-np.inf, 2.0])):
        np.testing.assert_array_equal(dnp.logsumexp(a), sc.logsumexp(a))
        np.testing.assert_array_equal(dnp.logsumexp(a, return_sign=True),
                                      sc.logsumexp(a, return_sign=True))
    np.testing.assert_allclose(dt.grad(dnp.logsumexp)(np.array([-np.inf, 2.0])), [0.0, 1.0])
    # a negative sum without return_sign is NaN, as scipy
    assert np.isnan(dnp.logsumexp(np.array([0.0, 1.0]), b=np.array([1.0, -1.0])))


def test_softmax_and_log_softmax_closed_form_jacobians():
    x = np.array([0.2, -1.0, 3.0])
    s = np.exp(x) / np.sum(np.exp(x))
    for jac in (dt.jacfwd, dt.jacrev):
        np.testing.assert_allclose(jac(dss.softmax)(x), np.diag(s) - np.outer(s, s), atol=1e-15)
        np.testing.assert_allclose(jac(dss.log_softmax)(x), np.eye(3) - s, atol=1e-15)
    big = np.array([[1000.0, 1000.0], [-1000.0, 0.0]])
    np.testing.assert_allclose(dt.jvp(lambda x: dss.softmax(x, axis=1), (big,), (big,))[0],
                               sc.softmax(big, axis=1))
    J = dt.jacrev(lambda x: dss.log_softmax(x, axis=1))(big)
    assert np.all(np.isfinite(J))
    np.testing.assert_allclose(dss.softmax(A), sc.softmax(A))     # plain: scipy's own


# ---- elementwise special functions -----------------------------------------------------
def test_expit_saturates_without_nan():
    x = np.array([-800.0, 0.0, 800.0])
    out, t = dt.jvp(sc.expit, (x,), (np.ones(3),))
    np.testing.assert_array_equal(out, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(t, [0.0, 0.25, 0.0])
    np.testing.assert_array_equal(dt.grad(lambda x: np.sum(dss.expit(x)))(x), [0.0, 0.25, 0.0])
    H = dt.hessian(lambda x: np.sum(dss.expit(x)))(x)
    assert np.all(np.isfinite(H))


def test_closed_forms():
    x = np.array([0.4, 1.5, -2.5])
    np.testing.assert_allclose(np.diag(dt.jacrev(dss.gammaln)(x)), sc.digamma(x))
    np.testing.assert_allclose(np.diag(dt.jacfwd(dss.digamma)(x)), sc.polygamma(1, x))
    np.testing.assert_allclose(dt.hessian(lambda x: np.sum(dss.digamma(x)))(x),
                               np.diag(sc.polygamma(2, x)))
    np.testing.assert_allclose(np.diag(dt.jacfwd(dss.erf)(x)),
                               2 / np.sqrt(np.pi) * np.exp(-x ** 2))
    np.testing.assert_allclose(np.diag(dt.jacrev(dss.erfc)(x)),
                               -2 / np.sqrt(np.pi) * np.exp(-x ** 2))
    p = np.array([0.2, 0.5, 0.7])
    np.testing.assert_allclose(np.diag(dt.jacrev(dss.logit)(p)), 1 / (p * (1 - p)))
    # erfc far in the tail: value and slope keep their digits
    out, t = dt.jvp(dss.erfc, (np.array(10.0),), (np.array(1.0),))
    np.testing.assert_allclose(out, sc.erfc(10.0), rtol=1e-14)
    np.testing.assert_allclose(t, -2 / np.sqrt(np.pi) * np.exp(-100.0), rtol=1e-14)


def test_xlogy_at_x_zero():
    y = np.array([0.5, 2.0, 0.0])
    x = np.zeros(3)
    with np.errstate(divide="ignore"):     # the slope log(y) at y = 0 is -inf
        out = dt.jvp(lambda x: dss.xlogy(x, y), (x,), (np.ones(3),))[0]
        gx, gy = dt.grad(lambda x, y: np.sum(dss.xlogy(x, y)), argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(out, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(gx, [np.log(0.5), np.log(2.0), -np.inf])
    np.testing.assert_array_equal(gy, [0.0, 0.0, 0.0])
    # away from zero: d/dy = x / y, and the mixed second derivative is 1 / y, also at x = 0
    gy = dt.grad(lambda y: np.sum(dss.xlogy(np.array([1.5, -2.0]), y)))(np.array([3.0, 4.0]))
    np.testing.assert_allclose(gy, [0.5, -0.5])
    mixed = dt.jacfwd(lambda x: dt.grad(lambda y: np.sum(dss.xlogy(x, y)))(y[:2]))(x[:2])
    np.testing.assert_allclose(mixed, np.diag(1 / y[:2]))


def test_polygamma_order_checks():
    x = np.array([1.0, 2.0])
    with pytest.raises(TypeError, match="non-negative int"):
        dt.grad(lambda x: np.sum(dss.polygamma(1.5, x)))(x)
    with pytest.raises(TypeError, match="non-negative int"):
        dt.grad(lambda x: np.sum(dss.polygamma(-1, x)))(x)
    np.testing.assert_allclose(dt.grad(lambda x: np.sum(dss.polygamma(np.array(1), x)))(x),
                               sc.polygamma(2, x))
    np.testing.assert_array_equal(dss.polygamma(np.array([0, 1]), x), sc.polygamma([0, 1], x))


@pytest.mark.parametrize("name", ["expit", "logit", "erf", "erfc", "gammaln", "digamma"])
def test_float32_is_preserved(name):
    x = np.array([0.25, 0.5, 0.75], dtype=np.float32)
    f = getattr(dss, name)
    out, t = dt.jvp(f, (x,), (np.ones_like(x),))
    assert out.dtype == t.dtype == np.float32
    assert dt.grad(lambda x: np.sum(f(x)))(x).dtype == np.float32


def test_float32_logsumexp_softmax_and_xlogy():
    x = np.array([[0.25, 0.5], [1.0, -2.0]], dtype=np.float32)
    for f in (lambda x: dnp.logsumexp(x, axis=0), lambda x: dss.softmax(x, axis=1),
              dss.log_softmax, lambda x: dss.xlogy(x, np.float32(2.0)),
              lambda x: dss.xlogy(np.float32(2.0), x * x)):
        out, t = dt.jvp(f, (x,), (np.ones_like(x),))
        assert out.dtype == t.dtype == np.float32
        assert dt.jacrev(f)(x).dtype == np.float32
    # scipy's xlogy does not treat a Python float as weak (float32, 2.0 -> float64);
    # the traced result follows scipy
    out, t = dt.jvp(lambda x: dss.xlogy(x, 2.0), (x,), (np.ones_like(x),))
    assert out.dtype == t.dtype == sc.xlogy(x, 2.0).dtype


def test_logsumexp_sparsity_follows_the_reduced_axis():
    x = np.arange(6.0).reshape(2, 3)
    P = dt.sparsity(lambda x: dnp.logsumexp(x, axis=1), x).toarray()
    np.testing.assert_array_equal(P, np.kron(np.eye(2), np.ones((1, 3))).astype(bool))
    P = dt.sparsity(lambda x: dss.softmax(x, axis=0), x).toarray()
    want = np.kron(np.ones((2, 2)), np.eye(3)).astype(bool)
    np.testing.assert_array_equal(P, want)
