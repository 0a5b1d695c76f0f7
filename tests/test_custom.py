"""User-defined primitives with defprimitive / defjvp / defvjp."""

from __future__ import annotations

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp


def _softplus_impl(x):
    return np.logaddexp(0.0, x)


softplus = dt.defprimitive("test_softplus", _softplus_impl)
# softplus'(x) = sigmoid(x) = 1 / (1 + e^{-x}); written with dualtape ops so it
# differentiates again.
dt.defjvp(softplus, lambda t, ans, x: t / (1.0 + dnp.exp(-x)))
dt.defvjp(softplus, lambda g, ans, x: g / (1.0 + dnp.exp(-x)))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_user_primitive_in_both_modes_and_second_order():
    x = np.array([-30.0, -1.0, 0.0, 2.0, 40.0])
    np.testing.assert_allclose(dt.grad(lambda x: np.sum(softplus(x)))(x), sigmoid(x))
    np.testing.assert_allclose(dt.jvp(softplus, (x,), (np.ones(5),))[1], sigmoid(x))
    # softplus'' = sigmoid (1 - sigmoid)
    h = dt.hessian(lambda x: np.sum(softplus(x)))(x)
    np.testing.assert_allclose(np.diag(h), sigmoid(x) * (1 - sigmoid(x)), atol=1e-15)
    dt.check_grads(softplus, (np.array([-1.0, 0.5]),), order=2)


def test_user_primitive_in_vector_mode_and_jacrev():
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(dt.jacfwd(softplus)(x), np.diag(sigmoid(x)))
    np.testing.assert_allclose(dt.jacrev(softplus)(x), np.diag(sigmoid(x)))


def test_decorator_forms():
    @dt.defprimitive("test_cube")
    def cube(x):
        return x ** 3

    @dt.defprimitive
    def test_square(x):
        return x ** 2

    dt.defjvp(cube, lambda t, ans, x: 3 * x ** 2 * t)
    dt.defvjp(test_square, lambda g, ans, x: 2 * x * g)
    assert dt.grad(cube)(2.0) == 12.0                  # reverse from the JVP alone
    assert dt.grad(test_square)(3.0) == 6.0
    assert cube.primitive.name == "test_cube" and test_square.primitive.name == "test_square"


def test_jvp_only_primitive_works_in_reverse_by_transposition():
    scale = dt.defprimitive("test_scale_rows", lambda A, x: A @ x)
    dt.defjvp(scale, lambda tA, ans, A, x: tA @ x, lambda tx, ans, A, x: A @ tx)
    A = np.array([[1.0, 2.0], [3.0, 4.0], [0.0, -1.0]])
    x = np.array([0.5, 2.0])
    gA, gx = dt.grad(lambda A, x: np.sum(np.sin(scale(A, x))), argnums=(0, 1))(A, x)
    c = np.cos(A @ x)
    np.testing.assert_allclose(gx, A.T @ c)            # d/dx sum sin(Ax) = A^T cos(Ax)
    np.testing.assert_allclose(gA, np.outer(c, x))     # d/dA = cos(Ax) x^T
    np.testing.assert_allclose(dt.jacrev(lambda x: scale(A, x))(x), A)


def test_missing_rules_give_clear_errors():
    only_vjp = dt.defprimitive("test_only_vjp", np.sin)
    dt.defvjp(only_vjp, lambda g, ans, x: g * np.cos(x))
    with pytest.raises(NotImplementedError, match="'test_only_vjp' has no JVP rule"):
        dt.jvp(only_vjp, (1.0,), (1.0,))
    bare = dt.defprimitive("test_bare", np.cos)
    with pytest.raises(NotImplementedError, match="'test_bare' has neither a VJP nor a JVP"):
        dt.grad(bare)(1.0)


def test_none_rule_means_no_dependence():
    shift = dt.defprimitive("test_shift", lambda x, c: x + c)
    dt.defjvp(shift, lambda t, ans, x, c: t, None)
    dt.defvjp(shift, lambda g, ans, x, c: g, None)
    gx, gc = dt.grad(lambda x, c: shift(x, c) * 2, argnums=(0, 1))(1.0, 5.0)
    assert gx == 2.0 and gc == 0.0


def test_vjp_rule_with_broadcast_result_is_summed_back():
    addb = dt.defprimitive("test_add_bcast", np.add)
    dt.defvjp(addb, lambda g, ans, x, y: g, lambda g, ans, x, y: g)
    gy = dt.grad(lambda y: np.sum(addb(np.ones((3, 2)), y)))(np.array([1.0, 2.0]))
    np.testing.assert_allclose(gy, [3.0, 3.0])


# ---- user rules are validated --------------------------------------------------------
XV = np.array([0.3, -1.2, 2.0])


def _sin_with(jvp=None, vjp=None, name="test_checked_sin"):
    f = dt.defprimitive(name, np.sin)
    if jvp is not None:
        dt.defjvp(f, jvp)
    if vjp is not None:
        dt.defvjp(f, vjp)
    return f


def test_jvp_rule_of_the_wrong_shape_names_primitive_argument_and_shapes():
    f = _sin_with(jvp=lambda t, ans, x: np.sum(t * np.cos(x), keepdims=True),
                  name="test_bad_jvp_shape")
    msg = r"JVP rule of primitive 'test_bad_jvp_shape' for argument 0 returned shape \(1,\)"
    for run in (lambda: dt.jvp(f, (XV,), (np.ones(3),)), lambda: dt.jacfwd(f)(XV),
                lambda: dt.grad(lambda x: np.sum(f(x)))(XV)):     # reverse by transposition
        with pytest.raises(ValueError, match=msg + r".*output's shape \(3,\)"):
            run()


def test_complex_tangent_or_cotangent_from_a_real_primitive():
    f = _sin_with(jvp=lambda t, ans, x: t * np.cos(x) + 0j,
                  vjp=lambda g, ans, x: g * np.cos(x) + 0j, name="test_complex_rules")
    with pytest.raises(TypeError, match=r"JVP rule of primitive 'test_complex_rules' for "
                                        r"argument 0 returned dtype complex128.*float64"):
        dt.jvp(f, (XV,), (np.ones(3),))
    with pytest.raises(TypeError, match=r"VJP rule of primitive 'test_complex_rules' for "
                                        r"argument 0 returned dtype complex128.*float64"):
        dt.grad(lambda x: np.sum(f(x)))(XV)


def test_cotangent_of_another_precision_is_refused():
    f = _sin_with(vjp=lambda g, ans, x: (g * np.cos(x)).astype(np.float32),
                  name="test_float32_vjp")
    with pytest.raises(TypeError, match=r"'test_float32_vjp' .* dtype float32.*float64"):
        dt.grad(lambda x: np.sum(f(x)))(XV)


def test_oversized_cotangent_is_refused_not_summed():
    f = _sin_with(vjp=lambda g, ans, x: np.stack([g * np.cos(x), g * np.cos(x)]),
                  name="test_oversized_vjp")
    with pytest.raises(ValueError, match=r"VJP rule of primitive 'test_oversized_vjp' for "
                                         r"argument 0 returned shape \(2, 3\).*\(3,\)"):
        dt.grad(lambda x: np.sum(f(x)))(XV)
    g = _sin_with(vjp=lambda g, ans, x: np.sum(g * np.cos(x), keepdims=True),
                  name="test_size1_vjp")
    with pytest.raises(ValueError, match=r"'test_size1_vjp' for argument 0 returned shape"):
        dt.grad(lambda x: np.sum(g(x)))(XV)


def test_broadcasting_only_where_the_argument_broadcasts():
    # shift(x, c) = x + c with a scalar c: the JVP rule of c may answer in c's own
    # shape (broadcast to the output) and its VJP rule in the output's (summed back)
    shift = dt.defprimitive("test_bcast_shift", lambda x, c: x + c)
    dt.defjvp(shift, lambda tx, ans, x, c: tx, lambda tc, ans, x, c: tc)
    dt.defvjp(shift, lambda g, ans, x, c: g, lambda g, ans, x, c: g)
    c = np.float64(2.5)
    # d/dc sum((x + c)^2) = sum(2 (x + c)); d/dx = 2 (x + c)
    gx, gc = dt.grad(lambda x, c: np.sum(shift(x, c) ** 2), argnums=(0, 1))(XV, c)
    np.testing.assert_allclose(gx, 2 * (XV + c))
    np.testing.assert_allclose(gc, np.sum(2 * (XV + c)))
    _, t = dt.jvp(shift, (XV, c), (np.zeros(3), np.float64(1.0)))
    np.testing.assert_array_equal(t, np.ones(3))
    for jac in (dt.jacfwd, dt.jacrev):
        np.testing.assert_array_equal(jac(shift, argnums=1)(XV, c), np.ones(3))
        np.testing.assert_array_equal(jac(shift, argnums=0)(XV, c), np.eye(3))
    # scale(x, c) = c x: the VJP rule of c in the output's shape, summed: sum(x)
    scale = dt.defprimitive("test_bcast_scale", lambda x, c: c * x)
    dt.defvjp(scale, lambda g, ans, x, c: c * g, lambda g, ans, x, c: g * x)
    gx, gc = dt.grad(lambda x, c: np.sum(scale(x, c)), argnums=(0, 1))(XV, c)
    np.testing.assert_allclose(gx, np.full(3, c))
    np.testing.assert_allclose(gc, np.sum(XV))
    # a (3, 1) argument against a (3, 4) output: (3, 4) and (3, 1) cotangents are fine,
    # a (1, 4) one is not (the argument does not broadcast along axis 0)
    col = np.arange(3.0).reshape(3, 1)
    add = dt.defprimitive("test_bcast_add", lambda a, b: a + b)
    run = lambda: dt.grad(lambda a: np.sum(add(a, np.ones((3, 4)))))(col)  # noqa: E731
    for rule, want in ((lambda g, ans, a, b: g, 4.0), (lambda g, ans, a, b: g[:, :1], 1.0)):
        dt.defvjp(add, rule, None)     # output-shaped (summed: 4 per row), or own shape
        np.testing.assert_array_equal(run(), np.full((3, 1), want))
    dt.defvjp(add, lambda g, ans, a, b: g[:1], None)
    with pytest.raises(ValueError, match=r"returned shape \(1, 4\)"):
        run()


def test_jvp_contribution_may_not_broadcast_along_the_arguments_own_axis():
    f = _sin_with(jvp=lambda t, ans, x: np.float64(1.0), name="test_scalar_jvp")
    with pytest.raises(ValueError, match=r"'test_scalar_jvp' for argument 0 returned shape "
                                         r"\(\).*argument 0 \(shape \(3,\)\)"):
        dt.jvp(f, (XV,), (np.ones(3),))


def test_rules_updating_their_cotangent_in_place_do_not_corrupt_siblings():
    # mul(x, y) = x y: d/dx sum = y, d/dy sum = x, even though both rules write into g
    def vjp_x(g, ans, x, y):
        g *= y
        return g

    def vjp_y(g, ans, x, y):
        g *= x
        return g

    def jvp_x(t, ans, x, y):
        t *= y
        return t

    def jvp_y(t, ans, x, y):
        t *= x
        return t
    mul = dt.defprimitive("test_inplace_mul", lambda x, y: x * y)
    dt.defvjp(mul, vjp_x, vjp_y)
    dt.defjvp(mul, jvp_x, jvp_y)
    y = np.array([2.0, -1.0, 0.5])
    gx, gy = dt.grad(lambda x, y: np.sum(mul(x, y) * 3.0), argnums=(0, 1))(XV, y)
    np.testing.assert_allclose(gx, 3 * y)
    np.testing.assert_allclose(gy, 3 * XV)
    t = np.ones(3)
    _, out = dt.jvp(mul, (XV, y), (t, t))              # one array as both tangents
    np.testing.assert_allclose(out, y + XV)
    np.testing.assert_array_equal(t, np.ones(3))        # the caller's tangent is intact
    np.testing.assert_allclose(dt.jacfwd(mul)(XV, y), np.diag(y))


def test_rules_see_read_only_primals():
    def vjp(g, ans, x):
        x[0] = 0.0
        return g
    f = dt.defprimitive("test_writes_primal", lambda x: 2 * x)
    dt.defvjp(f, vjp)
    x = XV.copy()
    with pytest.raises(ValueError, match="read-only"):
        dt.grad(lambda x: np.sum(f(x)))(x)
    np.testing.assert_array_equal(x, XV)


def test_impl_returning_a_python_number_or_list_is_converted():
    sq = dt.defprimitive("test_sumsq_float", lambda x: float(np.sum(x ** 2)))
    dt.defvjp(sq, lambda g, ans, x: 2 * x * g)
    # d/dx sin(sum x^2) = cos(sum x^2) 2 x
    np.testing.assert_allclose(dt.grad(lambda x: np.sin(sq(x)))(XV),
                               np.cos(np.sum(XV ** 2)) * 2 * XV, rtol=1e-14)
    pair = dt.defprimitive("test_pair_list", lambda x: [2 * x[0], 3 * x[1]])
    dt.defjvp(pair, lambda t, ans, x: dnp.stack([2 * t[0], 3 * t[1]]))
    out, t = dt.jvp(lambda x: np.sum(pair(x) ** 2), (XV[:2],), (np.ones(2),))
    # sum((2a)^2 + (3b)^2): derivative 8a + 18b along (1, 1)
    np.testing.assert_allclose(t, 8 * XV[0] + 18 * XV[1])


def test_impl_returning_a_non_number_is_refused_at_that_primitive():
    bad = dt.defprimitive("test_returns_dict", lambda x: {"value": x})
    with pytest.raises(TypeError, match=r"implementation of primitive 'test_returns_dict' "
                                        r"returned a dict"):
        dt.grad(lambda x: np.sum(bad(x)))(XV)
    with pytest.raises(TypeError, match="'test_returns_dict'"):
        bad(XV)
