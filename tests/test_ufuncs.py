"""numpy's ufuncs on traced values: vector mode and second order for every row of
tables/ufuncs.py and tables/special.py, plain numpy spellings, kinks, stability, dtypes.

Expected derivatives come from closed forms written here, from finite differences and
from the other mode, never from the rules under test.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from tables import special as special_rows
from tables import ufuncs as ufunc_rows


def _args(name, row):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    return tuple(np.asarray(a) for a in row.domain(rng))


def _fd_jacobian(f, args, i, eps=1e-6):
    x = args[i]
    cols = []
    for j in range(x.size):
        d = np.zeros(x.size)
        d[j] = eps
        d = d.reshape(x.shape)
        plus = list(args)
        minus = list(args)
        plus[i] = x + d
        minus[i] = x - d
        cols.append((np.asarray(f(*plus)) - np.asarray(f(*minus))) / (2 * eps))
    out_shape = np.shape(f(*args))
    return np.stack(cols, axis=-1).reshape(out_shape + x.shape)


ROWS = {**{f"prim:{n}": r for n, r in ufunc_rows.PRIMITIVES.items()},
        **{f"fn:{n}": r for n, r in ufunc_rows.FUNCTIONS.items()},
        **{f"prim:{n}": r for n, r in special_rows.PRIMITIVES.items()},
        **{f"fn:{n}": r for n, r in special_rows.FUNCTIONS.items()},
        **{f"scipy:{n}": r for n, r in special_rows.SCIPY_FUNCTIONS.items()}}
DIFF_ROWS = sorted(n for n, r in ROWS.items() if not r.nondiff)


@pytest.mark.parametrize("name", DIFF_ROWS)
def test_vector_mode_jacobians_agree_with_finite_differences(name):
    """All n directions at once (jacfwd), in chunks, and all m adjoints at once (jacrev):
    the rules must keep the leading batch axis apart from the broadcast ones."""
    row = ROWS[name]
    args = _args(name, row)
    for i in range(len(args)):
        fd = _fd_jacobian(row.fn, args, i)
        jf = dt.jacfwd(row.fn, argnums=i)(*args)
        jf2 = dt.jacfwd(row.fn, argnums=i, chunk_size=2)(*args)
        jr = dt.jacrev(row.fn, argnums=i)(*args)
        np.testing.assert_allclose(jf, fd, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(jf2, jf, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(jr, jf, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", DIFF_ROWS)
def test_vector_mode_second_order(name):
    """Hessians of <u, f(x)> by the three compositions with batched rules agree."""
    row = ROWS[name]
    args = _args(name, row)
    u = np.random.default_rng(1).standard_normal(np.shape(row.fn(*args)))

    def g(x):
        return dnp.sum(u * row.fn(x, *args[1:]))
    h_fr = dt.jacfwd(dt.jacrev(g))(args[0])
    h_rf = dt.jacrev(dt.jacfwd(g))(args[0])
    h_ff = dt.jacfwd(dt.jacfwd(g))(args[0])
    np.testing.assert_allclose(h_rf, h_fr, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(h_ff, h_fr, rtol=1e-9, atol=1e-9)
    fd = _fd_jacobian(lambda x: dt.grad(g)(x), (args[0],), 0)
    np.testing.assert_allclose(h_fr, fd, rtol=1e-4, atol=1e-5)


# ---- plain numpy spellings -----------------------------------------------------------
X = np.array([[0.3, -0.6, 0.45], [0.7, -0.2, 0.55]])
C = np.array([0.8, -1.3, 0.35])
POS = np.abs(X) + 0.5
UNARY = {
    "cbrt": X, "exp2": X, "expm1": X, "log2": POS, "log10": POS, "log1p": POS, "tan": X,
    "arcsin": X, "arccos": X, "arctan": X, "sinh": X, "cosh": X, "arcsinh": X,
    "arccosh": POS + 1.0, "arctanh": X, "deg2rad": X, "rad2deg": X, "radians": X,
    "degrees": X, "square": X, "reciprocal": X, "positive": X, "fabs": X,
    "floor": X * 4, "ceil": X * 4, "trunc": X * 4, "rint": X * 4, "isinf": X,
    "signbit": X,
}
BINARY = ["arctan2", "hypot", "logaddexp", "logaddexp2", "fmax", "fmin", "mod",
          "remainder", "fmod", "float_power", "floor_divide"]


def _same_jacobians(f_np, f_dnp, x):
    v_np, v_dnp = f_np(x), f_dnp(x)
    np.testing.assert_array_equal(v_np, v_dnp)
    for jac in (dt.jacfwd, dt.jacrev):
        np.testing.assert_array_equal(jac(f_np)(x), jac(f_dnp)(x))


@pytest.mark.parametrize("name", sorted(UNARY))
def test_plain_numpy_unary_ufunc_equals_dnp(name):
    x = UNARY[name]
    uf, fn = getattr(np, name), getattr(dnp, name)
    if name in ("floor", "ceil", "trunc", "rint", "isinf", "signbit"):
        def probe(x):
            r = uf(x)
            assert isinstance(r, np.ndarray), "no derivative: a plain value"
            np.testing.assert_array_equal(r, uf(x.primal))
            return dnp.sum(x * fn(x))
        dt.grad(probe)(x)
        dt.jvp(probe, (x,), (np.ones_like(x),))
        return
    _same_jacobians(lambda x: uf(x) * 1.0, lambda x: fn(x) * 1.0, x)
    # the value of the traced computation is numpy's, bit for bit
    np.testing.assert_array_equal(dt.jvp(lambda x: uf(x) * 1.0, (x,), (x,))[0], uf(x))


@pytest.mark.parametrize("name", BINARY)
def test_plain_numpy_binary_ufunc_equals_dnp_traced_on_either_side(name):
    uf, fn = getattr(np, name), getattr(dnp, name)
    x = POS if name == "float_power" else X
    c = np.abs(C) + 0.5 if name in ("float_power", "mod", "remainder", "fmod",
                                     "floor_divide") else C
    if name == "floor_divide":
        assert isinstance(dt.jvp(lambda x: uf(x, c) + 0.0 * x, (x,), (x,))[1], np.ndarray)
        np.testing.assert_array_equal(dt.grad(lambda x: dnp.sum(uf(x, c) * x))(x), uf(x, c))
        return
    _same_jacobians(lambda x: uf(x, c), lambda x: fn(x, c), x)
    _same_jacobians(lambda y: uf(c, y), lambda y: fn(c, y), x + 3.0)
    np.testing.assert_array_equal(dt.jvp(lambda x: uf(x, c), (x,), (x,))[0], uf(x, c))


def test_numpy_two_array_api_aliases():
    assert dnp.asin is dnp.arcsin and dnp.atan2 is dnp.arctan2 and dnp.pow is dnp.power
    assert dnp.remainder is dnp.mod and dnp.around is dnp.round


def test_closed_forms_of_a_few_derivatives():
    x = np.array([0.3, -0.6])
    np.testing.assert_allclose(np.diag(dt.jacrev(np.arcsin)(x)), 1 / np.sqrt(1 - x ** 2))
    np.testing.assert_allclose(np.diag(dt.jacfwd(np.tan)(x)), 1 / np.cos(x) ** 2)
    np.testing.assert_allclose(np.diag(dt.jacfwd(np.cbrt)(-x)), (1 / 3) * np.abs(x) ** (-2 / 3))
    gy, gx = dt.grad(lambda y, x: np.arctan2(y, x), argnums=(0, 1))(0.5, -2.0)
    np.testing.assert_allclose([gy, gx], [-2.0 / 4.25, -0.5 / 4.25])
    np.testing.assert_allclose(dt.grad(np.log10)(1000.0), 1 / (1000.0 * np.log(10)))
    np.testing.assert_allclose(dt.grad(np.exp2)(3.0), 8.0 * np.log(2))


# ---- kinks ---------------------------------------------------------------------------
def both(f, x):
    return dt.jacfwd(f)(x), dt.jacrev(f)(x)


def test_abs_and_fabs_at_zero_have_derivative_zero():
    x = np.array([-1.0, 0.0, 2.0])
    for f in (np.abs, np.fabs, dnp.fabs):
        for J in both(f, x):
            np.testing.assert_array_equal(np.diag(J), [-1.0, 0.0, 1.0])


def test_clip_inside_outside_and_at_the_bounds():
    # documented: derivative 1 strictly inside, 0 outside, 1/2 at x == a bound (the other
    # half goes to the bound), as minimum(maximum(x, lo), hi).
    x = np.array([-2.0, -1.0, 0.0, 1.0, 3.0])
    for J in both(lambda x: np.clip(x, -1.0, 1.0), x):
        np.testing.assert_array_equal(np.diag(J), [0.0, 0.5, 1.0, 0.5, 0.0])
    g_lo, g_hi = dt.grad(lambda lo, hi: np.sum(np.clip(x, lo, hi)), argnums=(0, 1))(-1.0, 1.0)
    assert (g_lo, g_hi) == (1.5, 1.5)    # x = -2 (whole) and x = -1 (half); likewise hi
    # the three derivatives always sum to one (clip(x + c, lo + c, hi + c) = clip + c)
    gx, gl, gh = dt.grad(lambda x, lo, hi: np.sum(np.clip(x, lo, hi)), argnums=(0, 1, 2))(
        x, -1.0, 1.0)
    np.testing.assert_allclose(np.sum(gx) + gl + gh, x.size)


def test_clip_keyword_spellings_and_methods():
    x = np.array([-2.0, 0.5, 3.0])
    want = np.clip(x, 0.0, 1.0)
    for f in (lambda x: np.clip(x, 0.0, 1.0), lambda x: np.clip(x, a_min=0.0, a_max=1.0),
              lambda x: np.clip(x, min=0.0, max=1.0), lambda x: x.clip(0.0, 1.0),
              lambda x: dnp.clip(x, 0, 1), lambda x: np.clip(x, None, 1.0) * 0 + want):
        out, t = dt.jvp(f, (x,), (np.ones(3),))
        np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(dt.jacfwd(lambda x: np.clip(x, None, 1.0))(x),
                                  np.diag([1.0, 1.0, 0.0]))
    with pytest.raises(TypeError, match="not both"):
        dt.grad(lambda x: np.sum(np.clip(x, 0.0, 1.0, min=0.0)))(x)
    with pytest.raises(TypeError, match="in place"):
        dt.grad(lambda x: np.sum(np.clip(x, 0.0, 1.0, out=np.empty(3))))(x)


def test_fmax_fmin_ties_split_and_nan_is_ignored():
    x = np.array([1.0, 2.0, np.nan, 0.5])
    y = np.array([1.0, np.nan, 3.0, 0.7])
    for f, ref in ((np.fmax, np.fmax), (np.fmin, np.fmin), (dnp.fmax, np.fmax)):
        gx, gy = dt.grad(lambda x, y: np.sum(f(x, y)), argnums=(0, 1))(x, y)
        out = dt.jvp(lambda x: f(x, y), (x,), (np.ones(4),))[0]
        np.testing.assert_array_equal(out, ref(x, y))
        # tie: halves; NaN partner: the whole derivative to the number; NaN itself: none
        np.testing.assert_array_equal(gx[:3], [0.5, 1.0, 0.0])
        np.testing.assert_array_equal(gy[:3], [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(dt.grad(lambda x: np.sum(np.fmax(x, y)))(x)[3], 0.0)
    np.testing.assert_array_equal(dt.grad(lambda x: np.sum(np.fmin(x, y)))(x)[3], 1.0)


def test_mod_and_fmod_derivatives_away_from_jumps():
    x = np.array([5.3, -5.3, 5.3, -5.3])
    y = np.array([2.0, 2.0, -2.0, -2.0])
    for f, q in ((np.mod, np.floor), (np.remainder, np.floor), (np.fmod, np.trunc)):
        for jac in (dt.jacfwd, dt.jacrev):
            jx, jy = jac(f, argnums=(0, 1))(x, y)
            np.testing.assert_allclose(np.diag(jx), np.ones(4))
            np.testing.assert_allclose(np.diag(jy), -q(x / y))


def test_mod_at_a_jump_uses_the_quotient_of_the_computed_value():
    # 3.0 mod 1.5 = 0 with quotient 2: the one-sided derivative -2, finite
    gx, gy = dt.grad(np.mod, argnums=(0, 1))(3.0, 1.5)
    assert (gx, gy) == (1.0, -2.0)


def test_hypot_at_the_origin_has_subgradient_zero():
    gx, gy = dt.grad(np.hypot, argnums=(0, 1))(0.0, 0.0)
    assert (gx, gy) == (0.0, 0.0)
    gx, gy = dt.grad(np.hypot, argnums=(0, 1))(3.0, 4.0)
    np.testing.assert_allclose([gx, gy], [0.6, 0.8])


def test_rounding_is_plain_in_every_spelling():
    x = np.array([0.26, -1.74, 2.5])

    def f(x):
        for r in (np.round(x, 1), np.around(x), x.round(1), dnp.round(x, decimals=1),
                  np.fix(x), np.floor(x), np.ceil(x), np.trunc(x), np.rint(x),
                  np.floor_divide(x, 0.5), np.isinf(x), np.isposinf(x), np.isneginf(x),
                  np.signbit(x)):
            assert isinstance(r, np.ndarray)
        np.testing.assert_array_equal(np.round(x, 1), np.round(x.primal, 1))
        return dnp.sum(x * np.round(x, 1))
    np.testing.assert_array_equal(dt.grad(f)(x), np.round(x, 1))
    dt.jvp(f, (x,), (np.ones(3),))
    with pytest.raises(TypeError, match="in place"):
        dt.grad(lambda x: np.sum(x * np.round(x, out=np.empty(3))))(x)


# ---- stability -----------------------------------------------------------------------
def test_logaddexp_at_large_inputs_has_finite_derivatives():
    for f, half in ((np.logaddexp, 0.5), (np.logaddexp2, 0.5)):
        g = dt.grad(f, argnums=(0, 1))(1000.0, 1000.0)
        np.testing.assert_allclose(g, [half, half])
        g = dt.grad(f, argnums=(0, 1))(1000.0, -1000.0)
        np.testing.assert_allclose(g, [1.0, 0.0])
        h = dt.hessian(lambda v: f(v[0], v[1]))(np.array([800.0, 800.0]))
        assert np.all(np.isfinite(h))
    # d2/dx2 logaddexp at x = y: s (1 - s) with s = 1/2
    h = dt.hessian(lambda v: np.logaddexp(v[0], v[1]))(np.array([700.0, 700.0]))
    np.testing.assert_allclose(h, [[0.25, -0.25], [-0.25, 0.25]])


def test_expm1_and_log1p_keep_small_inputs_accurate():
    x = np.array([1e-12, -1e-10])
    np.testing.assert_allclose(np.diag(dt.jacfwd(np.log1p)(x)), 1 / (1 + x), rtol=1e-15)
    np.testing.assert_allclose(np.diag(dt.jacrev(np.expm1)(x)), np.exp(x), rtol=1e-15)


# ---- dtypes and constants --------------------------------------------------------------
F32_UNARY = ["cbrt", "exp2", "expm1", "log2", "log10", "log1p", "tan", "arcsin", "arccos",
             "arctan", "sinh", "cosh", "arcsinh", "arctanh", "deg2rad", "rad2deg", "square",
             "reciprocal", "fabs"]
F32_BINARY = ["arctan2", "hypot", "logaddexp", "logaddexp2", "fmax", "fmin", "mod", "fmod"]


@pytest.mark.parametrize("name", F32_UNARY + F32_BINARY + ["clip"])
def test_float32_is_preserved(name):
    x = np.array([0.25, 0.5, 0.75], dtype=np.float32)
    uf = getattr(np, name)
    f = ((lambda x: uf(x, 0.5)) if name == "clip" else
         (lambda x: uf(x, 1.5)) if name in F32_BINARY else uf)
    out, t = dt.jvp(f, (x,), (np.ones_like(x),))
    assert out.dtype == t.dtype == np.float32
    assert dt.grad(lambda x: np.sum(f(x)))(x).dtype == np.float32
    assert dt.jacrev(f)(x).dtype == np.float32


def test_float_power_computes_in_double_like_numpy():
    x = np.array([1.5, 2.0], dtype=np.float32)
    out, t = dt.jvp(lambda x: np.float_power(x, 3), (x,), (np.ones_like(x),))
    assert out.dtype == np.float_power(x, 3).dtype == np.float64
    np.testing.assert_allclose(t, 3 * x.astype(np.float64) ** 2)


def test_integer_constants_mix_with_traced_floats():
    x = np.array([0.5, 1.5, 2.5])
    np.testing.assert_allclose(dt.grad(lambda x: np.sum(np.arctan2(x, 2)))(x), 2 / (4 + x ** 2))
    np.testing.assert_allclose(dt.grad(lambda x: np.sum(np.hypot(3, x)))(x),
                               x / np.hypot(3, x))
    np.testing.assert_allclose(dt.grad(lambda x: np.sum(np.fmax(x, 1)))(x), [0, 1, 1])
    np.testing.assert_allclose(dt.grad(lambda x: np.sum(np.mod(7, x)))(x),
                               -np.floor(7 / x))
    np.testing.assert_allclose(dt.grad(lambda x: np.sum(np.clip(x, 1, 2)))(x), [0, 1, 0])
    np.testing.assert_allclose(dt.grad(lambda x: np.sum(np.logaddexp(x, 0)))(x),
                               1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(dt.grad(lambda x: np.sum(np.float_power(x, 2)))(x), 2 * x)
    np.testing.assert_allclose(dt.grad(lambda x: np.sum(np.float_power(2, x)))(x),
                               2 ** x * np.log(2))


def test_new_primitives_have_elementwise_sparsity():
    x = np.array([0.3, 0.6, 0.9])

    def f(x):
        return np.arctan2(x, 1.0) + np.fmax(x, 0.5) + np.mod(x, 0.7) + np.hypot(x, x[::-1])
    P = dt.sparsity(f, x).toarray()
    np.testing.assert_array_equal(P, np.eye(3, dtype=bool) | np.eye(3, dtype=bool)[::-1])
    # local pattern: fmax drops the losing argument, nothing else does here
    P = dt.sparsity(lambda x: np.fmax(x, 0.5), x, kind="local").toarray()
    np.testing.assert_array_equal(P, np.diag([False, True, True]))
