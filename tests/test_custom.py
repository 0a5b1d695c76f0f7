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
