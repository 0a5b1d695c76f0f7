"""Reductions and cumulative operations: numpy semantics, closed-form derivatives at the
awkward points (zeros in products, constant inputs for std, ties), plain numpy
dispatch, vector mode, methods and sparsity patterns."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp

RNG = np.random.default_rng(7)
X = RNG.standard_normal((3, 4))


def jacobians(f, x):
    """(jacfwd, jacrev) of f at x; jacfwd runs vector mode (all directions at once)."""
    return dt.jacfwd(f)(x), dt.jacrev(f)(x)


def assert_jac(f, x, expected, atol=1e-12):
    for J in jacobians(f, x):
        np.testing.assert_allclose(J, expected, rtol=1e-10, atol=atol)


# ---- products with zeros -----------------------------------------------------------------
def others_product(x):
    """d prod(x) / dx_i = prod_{k != i} x_k, by brute force (no division)."""
    return np.array([np.prod(np.delete(x, i)) for i in range(x.size)])


@pytest.mark.parametrize("x", [
    np.array([2.0, 0.0, 3.0, -1.5]),     # one zero: only that element has a gradient
    np.array([0.0, 4.0, 0.0, 5.0]),      # two zeros: the gradient is all zero
    np.array([0.0]),
    np.array([1.5, -2.0, 0.5]),
])
def test_prod_gradient_is_the_product_of_the_others(x):
    expected = others_product(x)
    for f in (dnp.prod, np.prod, lambda x: x.prod()):
        assert_jac(f, x, expected)
        np.testing.assert_allclose(dt.grad(f)(x), expected, atol=1e-12)


def test_prod_hessian_with_zeros():
    # d2/dxi dxj prod(x) = prod_{k != i, j} x_k (i != j), 0 on the diagonal.
    x = np.array([0.0, 2.0, 0.0, 3.0])
    H = np.zeros((4, 4))
    for i, j in itertools.permutations(range(4), 2):
        H[i, j] = np.prod(np.delete(x, [i, j]))
    np.testing.assert_allclose(dt.hessian(np.prod)(x), H, atol=1e-12)
    x1 = np.array([0.0, 2.0, 5.0, 3.0])
    H1 = np.zeros((4, 4))
    for i, j in itertools.permutations(range(4), 2):
        H1[i, j] = np.prod(np.delete(x1, [i, j]))
    np.testing.assert_allclose(dt.hessian(lambda x: dnp.prod(x))(x1), H1, atol=1e-12)


def test_prod_over_axes_with_zeros_matches_finite_differences():
    x = RNG.standard_normal((2, 3, 2))
    x[0, 1, 0] = 0.0
    x[1, 2, 1] = 0.0
    x[1, 0, 1] = 0.0
    for axis in (None, 0, 1, (0, 2), (1, 2)):
        dt.check_grads(lambda x: dnp.prod(x, axis=axis) ** 2, (x,), order=2)
        dt.check_grads(lambda x: dnp.prod(x, axis=axis, keepdims=True), (x,), order=1)


def cumprod_jacobian(x):
    """J[j, i] = prod_{k <= j, k != i} x_k for i <= j, by brute force."""
    n = x.size
    J = np.zeros((n, n))
    for j in range(n):
        for i in range(j + 1):
            J[j, i] = np.prod(np.delete(x[: j + 1], i))
    return J


@pytest.mark.parametrize("x", [
    np.array([2.0, 0.0, 3.0, -1.5, 0.5]),
    np.array([0.0, 0.0, 3.0, 2.0, 0.0, 4.0, 1.5]),
    np.array([1e-200, 1e-200, 1e-100, 3.0]),      # y underflows: dividing would fail
    RNG.standard_normal(9),
])
def test_cumprod_jacobian_exact_with_zeros(x):
    expected = cumprod_jacobian(x)
    for f in (dnp.cumprod, np.cumprod, lambda x: x.cumprod()):
        assert_jac(f, x, expected, atol=1e-300)


def test_cumprod_second_order_with_zeros():
    x = np.array([[1.5, 0.0, 2.0, -1.0], [0.0, 3.0, 0.0, 0.5], [2.0, 1.0, -0.5, 0.0]])
    for axis in (None, 0, 1, -1):
        dt.check_grads(lambda x: dnp.cumprod(x, axis=axis), (x,), order=2)
    y = lambda x: dnp.cumprod(x, axis=1)
    dt.check_grads(lambda x: dnp.sum(y(x) * y(x)), (x,), order=3)


def test_cumsum_jacobian_is_lower_triangular():
    x = RNG.standard_normal(5)
    assert_jac(np.cumsum, x, np.tril(np.ones((5, 5))))
    # along axis 0 of a matrix: column-wise prefix sums
    x2 = RNG.standard_normal((3, 2))
    J = np.zeros((3, 2, 3, 2))
    for j, i, c in itertools.product(range(3), range(3), range(2)):
        J[j, c, i, c] = float(i <= j)
    assert_jac(lambda x: np.cumsum(x, axis=0), x2, J)
    # axis=None flattens first, as numpy
    np.testing.assert_array_equal(dnp.cumsum(x2), np.cumsum(x2))
    assert_jac(lambda x: dnp.cumsum(x), x2, np.tril(np.ones((6, 6))).reshape(6, 3, 2))


def test_cumulative_sum_and_prod_include_initial():
    x = RNG.standard_normal((2, 3))
    np.testing.assert_allclose(dnp.cumulative_sum(x, axis=1, include_initial=True),
                               np.cumulative_sum(x, axis=1, include_initial=True))
    np.testing.assert_allclose(dnp.cumulative_prod(x, axis=0, include_initial=True),
                               np.cumulative_prod(x, axis=0, include_initial=True))
    g = dt.grad(lambda x: np.sum(np.cumulative_sum(x, axis=1, include_initial=True)))(x)
    np.testing.assert_allclose(g, np.tile([3.0, 2.0, 1.0], (2, 1)))
    with pytest.raises(ValueError, match="axis"):
        dnp.cumulative_sum(x)


# ---- var and std ---------------------------------------------------------------------------
@pytest.mark.parametrize("axis,ddof,keepdims", [
    (None, 0, False), (0, 1, False), (1, 0, True), ((0, 1), 2, False), (-1, 1, True)])
def test_var_std_values_and_closed_form_gradients(axis, ddof, keepdims):
    x = X
    for name in ("var", "std"):
        got = getattr(dnp, name)(x, axis=axis, ddof=ddof, keepdims=keepdims)
        want = getattr(np, name)(x, axis=axis, ddof=ddof, keepdims=keepdims)
        np.testing.assert_allclose(got, want, rtol=1e-12)
    n = x.size if axis is None else np.prod(np.array(x.shape)[list(np.atleast_1d(axis))])
    m = x.mean(axis=axis, keepdims=True)
    s = x.std(axis=axis, ddof=ddof, keepdims=True)
    # d sum(var) / dx = 2 (x - mean) / (n - ddof); d sum(std) / dx = (x - mean) / ((n-ddof) std)
    gv = dt.grad(lambda x: np.sum(np.var(x, axis=axis, ddof=ddof, keepdims=keepdims)))(x)
    np.testing.assert_allclose(gv, 2 * (x - m) / (n - ddof), rtol=1e-10)
    gs = dt.grad(lambda x: np.sum(np.std(x, axis=axis, ddof=ddof, keepdims=keepdims)))(x)
    np.testing.assert_allclose(gs, (x - m) / ((n - ddof) * s), rtol=1e-10)
    Jf, Jr = jacobians(lambda x: dnp.std(x, axis=axis, ddof=ddof), x)
    np.testing.assert_allclose(Jf, Jr, rtol=1e-10, atol=1e-13)


def test_var_correction_and_mean_keywords():
    np.testing.assert_allclose(dnp.var(X, correction=1), np.var(X, ddof=1))
    m = X.mean(axis=0, keepdims=True)
    np.testing.assert_allclose(dnp.var(X, axis=0, mean=m), np.var(X, axis=0, mean=m))
    with pytest.raises(ValueError, match="simultaneously"):
        dnp.var(X, ddof=1, correction=1)


def test_std_of_a_constant_has_zero_derivative_and_no_nan():
    c = np.full((2, 3), 1.7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no divide-by-zero warning either
        for f in (lambda x: np.std(x), lambda x: dnp.std(x, axis=1).sum(),
                  lambda x: x.std(ddof=1)):
            assert f(c) == 0.0
            np.testing.assert_array_equal(dt.grad(f)(c), np.zeros_like(c))
            J = dt.jacfwd(f)(c)
            np.testing.assert_array_equal(J, np.zeros_like(c))
            H = dt.hessian(f)(c)
            assert np.isfinite(H).all()
    # a constant row next to a varying one: the varying row keeps its derivative
    x = np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])
    g = dt.grad(lambda x: np.sum(np.std(x, axis=1)))(x)
    np.testing.assert_array_equal(g[0], 0.0)
    m, s = x[1].mean(), x[1].std()
    np.testing.assert_allclose(g[1], (x[1] - m) / (3 * s))


def test_var_second_order():
    dt.check_grads(lambda x: np.var(x, axis=0, ddof=1), (X,), order=3)
    dt.check_grads(lambda x: np.std(x, axis=1), (X,), order=2)


# ---- max / min / ptp ------------------------------------------------------------------------
def test_max_min_ptp_ties_split_equally():
    x = np.array([3.0, 1.0, 3.0, -2.0, -2.0, 0.5])
    np.testing.assert_allclose(dt.grad(np.max)(x), [0.5, 0, 0.5, 0, 0, 0])
    np.testing.assert_allclose(dt.grad(np.amin)(x), [0, 0, 0, -0.0 + 0.5, 0.5, 0])
    np.testing.assert_allclose(dt.grad(np.ptp)(x), [0.5, 0, 0.5, -0.5, -0.5, 0])
    np.testing.assert_allclose(dt.jacfwd(lambda x: x.ptp())(x), [0.5, 0, 0.5, -0.5, -0.5, 0])


def test_ptp_axis_and_keepdims():
    x = X
    np.testing.assert_allclose(dnp.ptp(x, axis=0, keepdims=True),
                               np.ptp(x, axis=0, keepdims=True))
    J = np.zeros((4, 3, 4))
    for c in range(4):
        J[c, np.argmax(x[:, c]), c] += 1
        J[c, np.argmin(x[:, c]), c] -= 1
    assert_jac(lambda x: np.ptp(x, axis=0), x, J)


def test_max_initial_and_where():
    x = np.array([1.0, 5.0, 2.0])
    mask = np.array([True, False, True])
    assert dnp.max(x, initial=3.0, where=mask) == np.max(x, initial=3.0, where=mask)
    assert dnp.max(x, where=mask, initial=-np.inf) == 2.0
    np.testing.assert_allclose(dt.grad(lambda x: np.max(x, where=mask, initial=0.0))(x),
                               [0, 0, 1])
    with pytest.raises(ValueError, match="initial"):
        dnp.min(x, where=mask)


def test_sum_prod_mean_where_and_initial():
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    mask = np.array([True, False, True])
    for name in ("sum", "prod", "mean"):
        np.testing.assert_allclose(getattr(dnp, name)(x, axis=1, where=mask),
                                   getattr(np, name)(x, axis=1, where=mask))
    np.testing.assert_allclose(dnp.sum(x, initial=2.5), np.sum(x, initial=2.5))
    np.testing.assert_allclose(dnp.prod(x, axis=0, initial=2.0), np.prod(x, axis=0, initial=2.0))
    np.testing.assert_allclose(dt.grad(lambda x: np.sum(np.mean(x, axis=1, where=mask)))(x),
                               np.tile([0.5, 0, 0.5], (2, 1)))
    np.testing.assert_allclose(dnp.var(x, axis=1, where=mask), np.var(x, axis=1, where=mask))


# ---- average ---------------------------------------------------------------------------------
def test_average_gradients_in_values_and_weights():
    a = np.array([1.0, 2.0, 4.0])
    w = np.array([0.5, 1.0, 2.5])
    W = w.sum()
    avg = np.average(a, weights=w)
    np.testing.assert_allclose(dnp.average(a, weights=w), avg)
    ga, gw = dt.grad(lambda a, w: np.average(a, weights=w), argnums=(0, 1))(a, w)
    np.testing.assert_allclose(ga, w / W)
    np.testing.assert_allclose(gw, (a - avg) / W)
    # 1-D weights along an axis, returned=True
    x = X
    w4 = np.array([1.0, 2.0, 0.5, 1.5])
    got, scl = dnp.average(x, axis=1, weights=w4, returned=True)
    want, wscl = np.average(x, axis=1, weights=w4, returned=True)
    np.testing.assert_allclose(got, want)
    np.testing.assert_allclose(scl, wscl)
    dt.check_grads(lambda x, w: np.average(x, axis=1, weights=w), (x, w4), order=2)
    np.testing.assert_allclose(dnp.average(x, axis=0, keepdims=True),
                               np.average(x, axis=0, keepdims=True))
    with pytest.raises(TypeError, match="axis must be specified"):
        dnp.average(x, weights=w4)
    with pytest.raises(ValueError, match="consistent"):
        dnp.average(x, axis=0, weights=w4)
    with pytest.raises(ZeroDivisionError):
        dnp.average(a, weights=np.array([1.0, -1.0, 0.0]))


# ---- numpy semantics, dispatch and methods ----------------------------------------------------
REDUCTIONS = {
    "sum": lambda m, x: m.sum(x, axis=1, dtype=np.float64),
    "prod": lambda m, x: m.prod(x, axis=(0, 1), keepdims=True),
    "mean": lambda m, x: m.mean(x, axis=-1, keepdims=True),
    "var": lambda m, x: m.var(x, axis=0, ddof=1),
    "std": lambda m, x: m.std(x, ddof=2, keepdims=True),
    "max": lambda m, x: m.max(x, axis=0),
    "amin": lambda m, x: m.amin(x, axis=1, keepdims=True),
    "ptp": lambda m, x: m.ptp(x, axis=1),
    "cumsum": lambda m, x: m.cumsum(x, axis=0),
    "cumprod": lambda m, x: m.cumprod(x),
    "average": lambda m, x: m.average(x, axis=0, weights=np.array([1.0, 2.0, 3.0])),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_numpy_and_dnp_spellings_agree_in_every_mode(name):
    f = REDUCTIONS[name]
    x = X
    np.testing.assert_allclose(f(dnp, x), f(np, x), rtol=1e-12)
    Jnp = jacobians(lambda x: f(np, x), x)        # plain numpy calls, dispatched
    Jdnp = jacobians(lambda x: f(dnp, x), x)
    for J in Jnp + Jdnp:
        np.testing.assert_allclose(J, Jdnp[1], rtol=1e-10, atol=1e-12)
    dt.check_grads(lambda x: f(np, x), (x,), order=2)


def test_methods_on_traced_values():
    x = np.array([[1.0, 2.0, 0.5], [3.0, -1.0, 2.0]])

    def f(x, ptp=lambda x: x.ptp()):
        return (x.sum() + x.prod() + x.cumsum()[-2] + x.var(ddof=1) + x.std() + ptp(x)
                + x.mean(axis=0)[1] + x.max() * x.min() + x.cumprod(axis=1)[1, 2]
                + x.sum(axis=1, keepdims=True)[0, 0])
    # numpy 2 arrays have no .ptp method: plain evaluations use np.ptp
    v, g = dt.value_and_grad(f)(x)
    assert np.isclose(v, f(x, np.ptp))
    np.testing.assert_allclose(g, dt.grad(lambda x: f(x, np.ptp))(x), rtol=1e-12)
    dt.check_grads(lambda x: f(x, np.ptp), (x,), order=2)


def test_out_and_unsupported_arguments_raise():
    out = np.empty(4)
    for fn in (np.sum, np.prod, np.mean, np.var, np.std, np.max, np.ptp):
        with pytest.raises(TypeError, match="in place"):
            dt.grad(lambda x: fn(x, axis=0, out=out).sum())(X)
    with pytest.raises(TypeError, match="in place"):
        dt.grad(lambda x: np.cumsum(x, out=np.empty(12)).sum())(X)


def test_integer_dtype_drops_nothing_silently():
    # dtype=float32 keeps a (float32) derivative; the values follow numpy
    g = dt.grad(lambda x: np.sum(x, dtype=np.float32).astype(np.float64))(X)
    np.testing.assert_allclose(g, np.ones_like(X))
    np.testing.assert_allclose(dnp.cumsum(X, dtype=np.float32), np.cumsum(X, dtype=np.float32))


def test_mean_of_a_list_of_traced_values():
    # numpy does not dispatch on list elements: np.mean([a, b]) converts the list with
    # __array__, which refuses; dnp.mean builds a traced array from the list.
    x = np.array([1.0, 3.0])
    g = dt.grad(lambda x: dnp.mean([x[0], x[1] * 2.0]))(x)
    np.testing.assert_allclose(g, [0.5, 1.0])
    with pytest.raises(TypeError, match="numpy.mean converts .* use dualtape.numpy.mean"):
        dt.grad(lambda x: np.mean([x[0], x[1]]))(x)


# ---- structure: sparsity and cost ----------------------------------------------------------------
def nonzeros(f, x):
    J = dt.jacfwd(f)(x)
    return J.reshape(-1, x.size) != 0


@pytest.mark.parametrize("f", [
    lambda x: np.cumsum(x, axis=0), lambda x: np.cumsum(x, axis=1), np.cumsum,
    lambda x: np.cumprod(x, axis=1), lambda x: np.prod(x, axis=0),
    lambda x: np.prod(x, axis=1, keepdims=True), lambda x: np.cumprod(x),
    lambda x: np.var(x, axis=1),
], ids=["cumsum0", "cumsum1", "cumsum", "cumprod1", "prod0", "prod1", "cumprod", "var"])
def test_sparsity_patterns_are_exact(f):
    x = RNG.standard_normal((3, 4))
    P = dt.sparsity(f, x).toarray()
    np.testing.assert_array_equal(P, nonzeros(f, x))


def test_ptp_pattern_is_exact_locally_and_covers_globally():
    x = RNG.standard_normal((3, 4))
    f = lambda x: np.ptp(x, axis=0)
    np.testing.assert_array_equal(dt.sparsity(f, x, kind="local").toarray(), nonzeros(f, x))
    G = dt.sparsity(f, x).toarray()           # any element of a column may be selected
    np.testing.assert_array_equal(G, np.tile(np.eye(4, dtype=bool), (1, 3)))


def test_cumulative_costs():
    x = RNG.standard_normal((3, 4))
    c = dt.count(lambda x: np.cumsum(x, axis=1), x)
    assert c.primal_flops == 12 and c.by_primitive["cumsum"][0] == 1
    c = dt.count(lambda x: np.prod(x, axis=0), x)
    assert c.primal_flops == 12
