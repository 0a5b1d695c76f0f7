"""custom_vjp and custom_jvp, JAX-style decorators on the user-primitive mechanism.

Expected values are closed forms; tests that the user's rule is the one used give it
a deliberately different (but linear) derivative, as JAX's documentation does with
gradient clipping.
"""

from __future__ import annotations

import numpy as np
import pytest

import dualtape as dt

X = np.array([0.3, -1.2, 2.0])
Y = np.array([2.0, -1.0, 0.5])
MODES = sorted(dt.higher.HESSIAN_MODES)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


class _Count:
    def __init__(self, f):
        self.f, self.n = f, 0

    def __call__(self, *a):
        self.n += 1
        return self.f(*a)


def _softplus_vjp():
    @dt.custom_vjp
    def softplus(x):
        """log(1 + e^x)."""
        return np.log1p(np.exp(x))

    fwd = _Count(lambda x: (np.log1p(np.exp(x)), _sigmoid(x)))
    bwd = _Count(lambda s, g: (g * s,))
    softplus.defvjp(fwd, bwd)
    return softplus, fwd, bwd


# ---- custom_vjp -------------------------------------------------------------------------
def test_custom_vjp_in_reverse_mode():
    sp, fwd, bwd = _softplus_vjp()
    np.testing.assert_allclose(sp(X), np.log1p(np.exp(X)))
    np.testing.assert_allclose(dt.grad(lambda x: np.sum(sp(x)))(X), _sigmoid(X))
    assert (fwd.n, bwd.n) == (1, 1)                    # residuals from one fwd call
    np.testing.assert_allclose(dt.jacrev(sp)(X), np.diag(_sigmoid(X)))   # 3 adjoints
    out, vjp_fn = dt.vjp(sp, X)
    np.testing.assert_allclose(vjp_fn(Y)[0], Y * _sigmoid(X))
    assert sp.__name__ == "softplus" and sp.__doc__ == "log(1 + e^x)."


def test_custom_vjp_rule_is_the_one_used():
    # gradient clipping (JAX's example): identity forward, clipped cotangent backward
    @dt.custom_vjp
    def clip_gradient(lo, hi, x):
        return x
    clip_gradient.defvjp(lambda lo, hi, x: (x, (lo, hi)),
                         lambda res, g: (None, None, np.clip(g, *res)))
    g = dt.grad(lambda x: np.sum(clip_gradient(-0.5, 0.5, 3.0 * x)))(X)
    np.testing.assert_allclose(g, 3.0 * 0.5 * np.ones(3))


def test_custom_vjp_nondiff_argnums_come_first_in_the_rules():
    def clip(lo, hi, x):
        return x
    f = dt.custom_vjp(clip, nondiff_argnums=(0, 1))
    f.defvjp(lambda lo, hi, x: (x, None), lambda lo, hi, res, g: (np.clip(g, lo, hi),))
    np.testing.assert_allclose(dt.grad(lambda x: np.sum(f(-0.5, 0.5, 3.0 * x)))(X), 1.5)
    with pytest.raises(TypeError, match="nondiff_argnums but holds a traced value"):
        dt.grad(lambda x: np.sum(f(x[0], 0.5, x)))(X)


def test_custom_vjp_forward_mode_is_an_error_naming_it():
    sp, _, _ = _softplus_vjp()
    for run in (lambda: dt.jvp(sp, (X,), (Y,)), lambda: dt.jacfwd(sp)(X),
                lambda: dt.linearize(sp, X)[1](Y),
                lambda: dt.hessian(lambda x: np.sum(sp(x)))(X),
                lambda: dt.make_hvp(lambda x: np.sum(sp(x)))(X)(Y)):
        with pytest.raises(NotImplementedError, match=r"softplus has only a reverse-mode rule "
                                                      r".*softplus\.defjvp"):
            run()


def test_jacobian_auto_falls_back_to_reverse_for_a_custom_vjp():
    sp, _, _ = _softplus_vjp()
    J, info = dt.jacobian(sp, X, return_info=True)
    np.testing.assert_allclose(J, np.diag(_sigmoid(X)))
    assert info.mode == "rev" and "forward mode is impossible" in info.reason


def test_custom_vjp_second_order_in_reverse_mode():
    # d2/dx2 softplus = s (1 - s): bwd's own operations and the residual s = sigmoid(x),
    # differentiated through fwd's code
    sp, _, _ = _softplus_vjp()
    H = dt.hessian(lambda x: np.sum(sp(x)), mode="rev-over-rev")(X)
    s = _sigmoid(X)
    np.testing.assert_allclose(H, np.diag(s * (1 - s)))


@pytest.mark.parametrize("mode", MODES)
def test_custom_vjp_with_a_jvp_works_in_both_modes(mode):
    @dt.custom_vjp
    def f(x, y):
        return np.sin(x) * y
    f.defvjp(lambda x, y: (np.sin(x) * y, (np.cos(x), np.sin(x), y)),
             lambda res, g: (res[0] * res[2] * g, res[1] * g))

    @f.defjvp
    def f_jvp(primals, tangents):
        (x, y), (tx, ty) = primals, tangents
        return np.sin(x) * y, np.cos(x) * y * tx + np.sin(x) * ty

    np.testing.assert_allclose(dt.jacfwd(f, argnums=(0, 1))(X, Y)[1], np.diag(np.sin(X)))
    np.testing.assert_allclose(dt.jacrev(f, argnums=(0, 1))(X, Y)[0],
                               np.diag(np.cos(X) * Y))
    H = dt.hessian(lambda x: np.sum(f(x, Y)), mode=mode)(X)
    np.testing.assert_allclose(H, np.diag(-np.sin(X) * Y))


def test_custom_vjp_of_pytrees_and_keyword_arguments():
    @dt.custom_vjp
    def f(p, scale):
        return {"u": p["a"] * scale, "v": (np.sum(p["b"]),)}
    f.defvjp(lambda p, scale: (f.fun(p, scale), scale),
             lambda scale, g: ({"a": g["u"] * scale, "b": np.full(2, g["v"][0])}, None))
    p = {"a": X, "b": np.array([1.0, 2.0])}
    J = dt.jacrev(lambda p: f(p, scale=2.0))(p)
    np.testing.assert_allclose(J["u"]["a"], 2 * np.eye(3))
    np.testing.assert_array_equal(J["u"]["b"], np.zeros((3, 2)))
    np.testing.assert_allclose(J["v"][0]["b"], [1.0, 1.0])


def test_custom_vjp_bwd_results_are_checked():
    @dt.custom_vjp
    def f(x, y):
        return x * y
    f.defvjp(lambda x, y: (x * y, (x, y)), lambda res, g: (g * res[1],))
    with pytest.raises(TypeError, match=r"bwd rule of f must return a tuple with one "
                                        r"cotangent per differentiable argument \(2\)"):
        dt.grad(lambda x: np.sum(f(x, Y)))(X)
    f.defvjp(lambda x, y: (x * y, (x, y)), lambda res, g: (np.sum(g), g))
    with pytest.raises(ValueError, match=r"VJP rule of f returned a cotangent of shape \(\)"):
        dt.grad(lambda x: np.sum(f(x, Y)))(X)


def test_plain_calls_run_f_itself_and_rules_are_required():
    @dt.custom_vjp
    def f(x):
        return 2 * x
    np.testing.assert_array_equal(f(X), 2 * X)
    with pytest.raises(NotImplementedError, match="f is a custom_vjp function without "
                                                  "derivative rules yet"):
        dt.grad(lambda x: np.sum(f(x)))(X)
    with pytest.raises(TypeError, match=r"f\.defvjp\(fwd, bwd\)"):
        dt.defvjp(f, lambda g, ans, x: g)


# ---- custom_jvp -------------------------------------------------------------------------
def _custom_sin_y():
    @dt.custom_jvp
    def f(x, y):
        return np.sin(x) * y

    rule = _Count(lambda p, t: (np.sin(p[0]) * p[1],
                                np.cos(p[0]) * p[1] * t[0] + np.sin(p[0]) * t[1]))
    f.defjvp(rule)
    return f, rule


def test_custom_jvp_in_forward_mode():
    f, rule = _custom_sin_y()
    out, t = dt.jvp(f, (X, Y), (np.ones(3), np.zeros(3)))
    np.testing.assert_allclose(out, np.sin(X) * Y)
    np.testing.assert_allclose(t, np.cos(X) * Y)
    assert rule.n == 1
    Jx, Jy = dt.jacfwd(f, argnums=(0, 1))(X, Y)
    np.testing.assert_allclose(Jx, np.diag(np.cos(X) * Y))
    np.testing.assert_allclose(Jy, np.diag(np.sin(X)))


def test_custom_jvp_in_reverse_mode_by_transposition():
    f, _ = _custom_sin_y()
    gx, gy = dt.grad(lambda x, y: np.sum(f(x, y)), argnums=(0, 1))(X, Y)
    np.testing.assert_allclose(gx, np.cos(X) * Y)
    np.testing.assert_allclose(gy, np.sin(X))
    np.testing.assert_allclose(dt.jacrev(f)(X, Y), np.diag(np.cos(X) * Y))


@pytest.mark.parametrize("mode", MODES)
def test_custom_jvp_at_second_order(mode):
    f, _ = _custom_sin_y()
    H = dt.hessian(lambda x: np.sum(f(x, Y)), mode=mode)(X)
    np.testing.assert_allclose(H, np.diag(-np.sin(X) * Y))


def test_custom_jvp_rule_is_the_one_used():
    @dt.custom_jvp
    def f(x):
        return np.exp(x)
    f.defjvp(lambda p, t: (np.exp(p[0]), 2.0 * t[0]))         # not exp's derivative
    np.testing.assert_allclose(dt.jacfwd(f)(X), 2 * np.eye(3))
    np.testing.assert_allclose(dt.grad(lambda x: np.sum(f(x)))(X), 2 * np.ones(3))


def test_custom_jvp_with_a_vjp_uses_the_vjp_in_reverse_mode():
    f, rule = _custom_sin_y()
    f.defvjp(lambda x, y: (np.sin(x) * y, (x, y)),
             lambda res, g: (np.cos(res[0]) * res[1] * g, np.sin(res[0]) * g))
    n = rule.n
    np.testing.assert_allclose(dt.grad(lambda x: np.sum(f(x, Y)))(X), np.cos(X) * Y)
    assert rule.n == n                                    # no transposed JVP


def test_custom_jvp_tangent_is_checked():
    @dt.custom_jvp
    def f(x):
        return x * 2
    f.defjvp(lambda p, t: (p[0] * 2, np.sum(t[0])))
    with pytest.raises(ValueError, match=r"JVP rule of f returned a tangent of shape \(\)"):
        dt.jvp(f, (X,), (X,))


def test_custom_functions_under_count_and_sparsity():
    f, _ = _custom_sin_y()
    c = dt.count(dt.grad(lambda x: np.sum(f(x, Y))), X)
    assert c.by_primitive["f"][0] == 1
    np.testing.assert_allclose(c.value, np.cos(X) * Y)
    # a user primitive has no structure rule: conservatively dense
    P = dt.sparsity(lambda x: f(x, Y), X).toarray()
    np.testing.assert_array_equal(P, np.ones((3, 3), dtype=bool))


def test_custom_functions_in_threads_do_not_mix_calls():
    from concurrent.futures import ThreadPoolExecutor
    sp, _, _ = _softplus_vjp()
    g = dt.grad(lambda x: np.sum(sp(x) * x))          # sigmoid(x) x + softplus(x)
    xs = [X * k for k in (0.5, 1.0, 1.5, 2.0, -1.0, 3.0)]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(g, xs))
    for x, gx in zip(xs, got):
        np.testing.assert_allclose(gx, _sigmoid(x) * x + np.log1p(np.exp(x)))
