"""JAX and autograd idioms: has_aux, keyword arguments, functools.wraps, pytree
Jacobians and Hessians, stop_gradient, linearize and make_hvp.

Expected values follow JAX's documented conventions and are written by hand (closed
forms), never taken from dualtape's own output.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

import dualtape as dt
from dualtape.registry import Tracer

X = np.array([0.5, -1.0, 2.0])


def _plain(tree):
    leaves = tree.values() if isinstance(tree, dict) else tree
    return all(not isinstance(v, Tracer) for v in leaves)


# ---- has_aux: JAX's return conventions -------------------------------------------------
def _loss_aux(x):
    return np.sum(x ** 2), {"mean": np.mean(x), "twice": 2 * x}


def _check_aux(aux):
    assert _plain(aux)
    np.testing.assert_allclose(aux["mean"], X.mean())
    np.testing.assert_allclose(aux["twice"], 2 * X)


def test_grad_has_aux_returns_gradient_and_plain_aux():
    g, aux = dt.grad(_loss_aux, has_aux=True)(X)
    np.testing.assert_allclose(g, 2 * X)
    _check_aux(aux)


def test_value_and_grad_has_aux_nests_value_and_aux():
    (value, aux), g = dt.value_and_grad(_loss_aux, has_aux=True)(X)
    np.testing.assert_allclose(value, np.sum(X ** 2))
    np.testing.assert_allclose(g, 2 * X)
    _check_aux(aux)


def test_vjp_has_aux_returns_three():
    out, vjp_fn, aux = dt.vjp(_loss_aux, X, has_aux=True)
    np.testing.assert_allclose(out, np.sum(X ** 2))
    (ct,) = vjp_fn(2.0)
    np.testing.assert_allclose(ct, 4 * X)
    _check_aux(aux)


def test_jvp_has_aux_returns_three():
    v = np.array([1.0, 0.0, -1.0])
    out, t, aux = dt.jvp(_loss_aux, (X,), (v,), has_aux=True)
    np.testing.assert_allclose(out, np.sum(X ** 2))
    np.testing.assert_allclose(t, 2 * X @ v)
    _check_aux(aux)


@pytest.mark.parametrize("jac", [dt.jacfwd, dt.jacrev])
def test_jacobians_has_aux_return_j_and_aux(jac):
    J, aux = jac(lambda x: (np.sin(x), {"mean": np.mean(x), "twice": 2 * x}),
                 has_aux=True)(X)
    np.testing.assert_allclose(J, np.diag(np.cos(X)))
    _check_aux(aux)


def test_hessian_has_aux():
    H, aux = dt.hessian(lambda x: (np.sum(x ** 3), x[0]), has_aux=True)(X)
    np.testing.assert_allclose(H, np.diag(6 * X))
    assert not isinstance(aux, Tracer) and aux == X[0]


@pytest.mark.parametrize("make", [
    lambda f: dt.grad(f, has_aux=True)(X),
    lambda f: dt.value_and_grad(f, has_aux=True)(X),
    lambda f: dt.vjp(f, X, has_aux=True),
    lambda f: dt.jvp(f, (X,), (X,), has_aux=True),
    lambda f: dt.jacfwd(f, has_aux=True)(X),
    lambda f: dt.jacrev(f, has_aux=True)(X),
    lambda f: dt.linearize(f, X, has_aux=True),
])
def test_has_aux_needs_a_pair(make):
    with pytest.raises(TypeError, match=r"has_aux=True\): the function must return a pair"):
        make(lambda x: (np.sum(x), 1.0, 2.0))


def test_grad_without_has_aux_on_a_pair_says_so():
    with pytest.raises(TypeError, match="pass has_aux=True"):
        dt.grad(_loss_aux)(X)


def test_has_aux_under_jacfwd_of_grad():
    # The inner grad strips only its own traced values: the outer jacfwd still
    # differentiates aux (d(x**2)/dx = diag(2x)), and strips it in turn with has_aux.
    def f(x):
        return np.sum(np.sin(x)), x ** 2

    J_aux = dt.jacfwd(lambda x: dt.grad(f, has_aux=True)(x)[1])(X)
    np.testing.assert_allclose(J_aux, np.diag(2 * X))
    H, aux = dt.jacfwd(dt.grad(f, has_aux=True), has_aux=True)(X)
    np.testing.assert_allclose(H, np.diag(-np.sin(X)))
    assert not isinstance(aux, Tracer)
    np.testing.assert_allclose(aux, X ** 2)


# ---- keyword arguments pass through, undifferentiated ----------------------------------
def _scaled(x, scale=1.0, *, shift=0.0):
    return np.sum(scale * x ** 2 + shift * x)


def test_keyword_arguments_are_passed_to_f_and_not_differentiated():
    s = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(dt.grad(_scaled)(X, scale=s, shift=1.0), 2 * s * X + 1.0)
    v, g = dt.value_and_grad(_scaled)(X, scale=s)
    np.testing.assert_allclose(v, np.sum(s * X ** 2))
    np.testing.assert_allclose(g, 2 * s * X)
    np.testing.assert_allclose(dt.jacfwd(_scaled)(X, scale=s), 2 * s * X)
    np.testing.assert_allclose(dt.jacrev(_scaled)(X, scale=s), 2 * s * X)
    np.testing.assert_allclose(dt.hessian(_scaled)(X, scale=s, shift=5.0), np.diag(2 * s))
    np.testing.assert_allclose(dt.make_hvp(_scaled)(X, scale=s)(np.ones(3)), 2 * s)


# ---- functools.wraps --------------------------------------------------------------------
def _documented(x, y=1.0):
    """A documented function."""
    return np.sum(x * y)


@pytest.mark.parametrize("transform", [
    dt.grad, dt.value_and_grad, dt.jacfwd, dt.jacrev, dt.hessian, dt.make_hvp,
    lambda f: dt.grad(f, has_aux=False, argnums=(0,)),
    lambda f: dt.hessian(f, mode="rev-over-rev"),
    dt.custom_vjp, dt.custom_jvp,
])
def test_transforms_keep_name_and_docstring(transform):
    g = transform(_documented)
    assert g.__name__ == "_documented"
    assert g.__doc__ == "A documented function."
    assert g.__wrapped__ is _documented


def test_wrapping_a_primitive_does_not_copy_its_attributes():
    p = dt.defprimitive("wrapped_prim", lambda x: 2 * x)
    g = dt.grad(p)
    assert g.__name__ == "wrapped_prim"
    assert not hasattr(g, "primitive")          # dt.defjvp(g, ...) must not reach p


# ---- pytree Jacobians -------------------------------------------------------------------
A = np.array([1.0, -2.0, 0.5])
B = np.array([[1.0, 2.0], [3.0, 4.0]])


def _tree_f(p):
    a, b = p["a"], p["b"]
    return {"s": np.sum(a) * b, "t": a ** 2}


def _check_tree_J(J):
    assert sorted(J) == ["s", "t"] and sorted(J["s"]) == ["a", "b"]
    # d(sum(a) b_ij)/da_k = b_ij ; d(sum(a) b_ij)/db_kl = sum(a) [ij == kl]
    np.testing.assert_allclose(J["s"]["a"], np.repeat(B[:, :, None], 3, axis=2))
    np.testing.assert_allclose(J["s"]["b"], A.sum() * np.eye(4).reshape(2, 2, 2, 2))
    np.testing.assert_allclose(J["t"]["a"], np.diag(2 * A))
    np.testing.assert_array_equal(J["t"]["b"], np.zeros((3, 2, 2)))


JACOBIANS = {
    "jacfwd": lambda f, x: dt.jacfwd(f)(x),
    "jacfwd chunked": lambda f, x: dt.jacfwd(f, chunk_size=2)(x),
    "jacrev": lambda f, x: dt.jacrev(f)(x),
    "jacrev chunked": lambda f, x: dt.jacrev(f, chunk_size=3)(x),
    "jacobian fwd": lambda f, x: dt.jacobian(f, x, mode="fwd"),
    "jacobian rev": lambda f, x: dt.jacobian(f, x, mode="rev"),
    "jacobian auto": lambda f, x: dt.jacobian(f, x),
}


@pytest.mark.parametrize("name", sorted(JACOBIANS))
def test_dict_input_and_output(name):
    _check_tree_J(JACOBIANS[name](_tree_f, {"a": A, "b": B}))


Pair = namedtuple("Pair", ["a", "b"])


@pytest.mark.parametrize("name", sorted(JACOBIANS))
@pytest.mark.parametrize("container", [tuple, list, Pair])
def test_sequence_inputs_are_not_stacked(name, container):
    x = container([A, B]) if container is not Pair else Pair(A, B)

    def f(p):
        return {"s": np.sum(p[0]) * p[1], "t": p[0] ** 2}
    J = JACOBIANS[name](f, x)
    for k in ("s", "t"):
        assert type(J[k]) is container
    _check_tree_J({k: {"a": J[k][0], "b": J[k][1]} for k in J})


@pytest.mark.parametrize("name", sorted(JACOBIANS))
def test_none_leaves_are_empty_subtrees(name):
    def f(p):
        return {"t": p["a"] ** 2, "none": None}
    J = JACOBIANS[name](f, {"a": A, "n": None})
    assert J["none"] is None and J["t"]["n"] is None
    np.testing.assert_allclose(J["t"]["a"], np.diag(2 * A))


@pytest.mark.parametrize("jac", [dt.jacfwd, dt.jacrev])
def test_tuple_argnums_nest_inside_each_output_leaf(jac):
    # JAX: J[out_path] is a tuple over argnums, each entry an input-shaped tree
    def f(a, b):
        return {"s": np.sum(a) * b, "t": a ** 2}
    J = jac(f, argnums=(0, 1))(A, B)
    assert isinstance(J["s"], tuple) and len(J["s"]) == 2
    _check_tree_J({k: {"a": J[k][0], "b": J[k][1]} for k in J})


def test_mixed_dtypes_across_leaves_keep_their_dtypes_in_jacfwd():
    J = dt.jacfwd(lambda p: p[0] * 2 + p[1].astype(np.float64))(
        (np.ones(2), np.ones(2, dtype=np.float32)))
    np.testing.assert_array_equal(J[0], 2 * np.eye(2))
    np.testing.assert_array_equal(J[1], np.eye(2))


def _hess_f(p):
    a, c = p["a"], p["c"]
    return np.sum(a ** 3) + a[0] * c


@pytest.mark.parametrize("mode", sorted(dt.higher.HESSIAN_MODES))
def test_hessian_of_a_dict(mode):
    H = dt.hessian(_hess_f, mode=mode)({"a": A, "c": np.float64(2.0)})
    e0 = np.array([1.0, 0.0, 0.0])
    np.testing.assert_allclose(H["a"]["a"], np.diag(6 * A))
    np.testing.assert_allclose(H["a"]["c"], e0)          # shape a.shape + c.shape
    np.testing.assert_allclose(H["c"]["a"], e0)
    np.testing.assert_allclose(H["c"]["c"], 0.0)
    assert np.shape(H["c"]["c"]) == ()


def test_hessian_with_tuple_argnums_gives_blocks():
    H = dt.hessian(lambda a, c: np.sum(a ** 3) + a[0] * c, argnums=(0, 1))(A, 2.0)
    np.testing.assert_allclose(H[0][0], np.diag(6 * A))
    np.testing.assert_allclose(H[0][1], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(H[1][1], 0.0)


def test_jacobian_of_a_pytree_needs_full_structure():
    with pytest.raises(TypeError, match="one array"):
        dt.jacobian(lambda p: p["a"] ** 2, {"a": A}, structure="sparse")


def test_jacobian_info_counts_every_leaf():
    _, info = dt.jacobian(_tree_f, {"a": A, "b": B}, mode="fwd", return_info=True)
    assert (info.n, info.m) == (3 + 4, 4 + 3)
    assert info.evaluations == 1


# ---- stop_gradient ----------------------------------------------------------------------
def test_stop_gradient_is_the_identity_with_zero_derivative():
    np.testing.assert_array_equal(dt.stop_gradient(X), X)
    f = lambda x: np.sum(x * dt.stop_gradient(x))               # noqa: E731
    np.testing.assert_allclose(dt.grad(f)(X), X)                 # d/dx x.c = c, c = x
    np.testing.assert_allclose(dt.jvp(f, (X,), (np.ones(3),))[1], X.sum())
    g = lambda x: dt.stop_gradient(np.sin(x)) + x                # noqa: E731
    np.testing.assert_allclose(dt.jacfwd(g)(X), np.eye(3))
    np.testing.assert_allclose(dt.jacrev(g)(X), np.eye(3))
    np.testing.assert_allclose(dt.jacobian(g, X), np.eye(3))


@pytest.mark.parametrize("mode", sorted(dt.higher.HESSIAN_MODES))
def test_stop_gradient_at_second_order(mode):
    # f = sum(x^2 c) with c = x held constant: grad = 2 x c, Hessian = diag(2 c)
    H = dt.hessian(lambda x: np.sum(x ** 2 * dt.stop_gradient(x)), mode=mode)(X)
    np.testing.assert_allclose(H, np.diag(2 * X))


def test_stop_gradient_inside_an_inner_derivative_stops_the_outer_one():
    inner = lambda x: dt.grad(lambda y: np.sum(y * dt.stop_gradient(x)))(np.ones(3))  # noqa
    np.testing.assert_allclose(inner(X), X)
    np.testing.assert_array_equal(dt.jacfwd(inner)(X), np.zeros((3, 3)))
    np.testing.assert_array_equal(dt.jacrev(inner)(X), np.zeros((3, 3)))


def test_stop_gradient_of_a_pytree():
    t = dt.stop_gradient({"a": X, "b": [X, None]})
    assert t["b"][1] is None
    g = dt.grad(lambda x: np.sum(dt.stop_gradient({"a": x})["a"] * x))(X)
    np.testing.assert_allclose(g, X)


def test_stop_gradient_in_sparsity_detection_is_no_dependence():
    f = lambda x: x * dt.stop_gradient(x[::-1]) + np.sin(dt.stop_gradient(x)).sum()  # noqa
    for kind in ("global", "local"):
        P = dt.sparsity(f, X, kind=kind).toarray()
        np.testing.assert_array_equal(P, np.eye(3, dtype=bool))


def test_stop_gradient_value_still_depends_on_the_input_in_global_detection():
    def f(x):
        return x * 2 if dt.stop_gradient(x)[0] > 0 else x
    with pytest.raises(ValueError, match="kind='local'"):
        dt.sparsity(f, X)
    np.testing.assert_array_equal(dt.sparsity(f, X, kind="local").toarray(), np.eye(3))


def test_stop_gradient_under_count_skips_the_derivative_it_stops():
    plain = dt.count(dt.grad(lambda x: np.sum(x * np.sin(x))), X)
    stopped = dt.count(dt.grad(lambda x: np.sum(x * dt.stop_gradient(np.sin(x)))), X)
    assert "cos" in plain.by_primitive                   # sin's derivative was taken...
    assert "cos" not in stopped.by_primitive             # ...but not through stop_gradient
    assert stopped.by_primitive["stop_gradient"][:2] == [1, 0]   # applied once, 0 flops
    np.testing.assert_allclose(stopped.value, np.sin(X))


# ---- linearize ---------------------------------------------------------------------------
class _Calls:
    def __init__(self, f):
        self.f, self.n = f, 0

    def __call__(self, *a):
        self.n += 1
        return self.f(*a)


def test_linearize_applies_the_jvp_without_running_f_again():
    f = _Calls(lambda x, y: np.sin(x) * y)
    y = np.array([2.0, -1.0, 0.5])
    out, f_jvp = dt.linearize(f, X, y)
    np.testing.assert_allclose(out, np.sin(X) * y)
    for tx, ty in [(np.ones(3), np.zeros(3)), (X, -X), (np.zeros(3), np.ones(3))]:
        np.testing.assert_allclose(f_jvp(tx, ty), np.cos(X) * y * tx + np.sin(X) * ty)
    assert f.n == 1


def test_linearize_of_pytrees_and_constant_outputs():
    out, f_jvp = dt.linearize(lambda p: {"u": p["a"] ** 2, "k": 3.0, "n": None},
                              {"a": A})
    t = f_jvp({"a": np.ones(3)})
    assert t["n"] is None
    np.testing.assert_allclose(t["u"], 2 * A)
    np.testing.assert_array_equal(t["k"], 0.0)


def test_linearize_has_aux_and_output_that_is_an_input():
    out, f_jvp, aux = dt.linearize(lambda x: ((x, np.exp(x)), np.sum(x)), X, has_aux=True)
    assert not isinstance(aux, Tracer) and aux == X.sum()
    t0, t1 = f_jvp(X)
    np.testing.assert_allclose(t0, X)
    np.testing.assert_allclose(t1, np.exp(X) * X)


def test_linearize_checks_its_tangents():
    _, f_jvp = dt.linearize(lambda x: x * 2, X)
    with pytest.raises(TypeError, match="one tangent per primal"):
        f_jvp(X, X)
    with pytest.raises(ValueError, match="tangent shape"):
        f_jvp(np.ones(2))
    with pytest.raises(TypeError, match="dtype float32"):
        f_jvp(np.ones(3, dtype=np.float32))


def test_linearize_at_second_order_matches_the_hessian():
    # linearize of the gradient: its f_jvp is v -> H v
    _, hv = dt.linearize(dt.grad(lambda x: np.sum(x ** 3)), X)
    np.testing.assert_allclose(hv(np.array([1.0, 2.0, 3.0])), 6 * X * [1.0, 2.0, 3.0])


# ---- make_hvp ------------------------------------------------------------------------------
def test_make_hvp_reuses_the_gradient_recording():
    f = _Calls(lambda x: np.sum(x ** 3) + x[0] * x[1])
    hvp = dt.make_hvp(f)(X)
    H = np.diag(6 * X) + np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]])
    for v in (np.ones(3), np.array([1.0, -2.0, 0.0]), np.eye(3)[2]):
        np.testing.assert_allclose(hvp(v), H @ v)
    assert f.n == 1


def test_make_hvp_of_another_argument_and_a_pytree():
    hvp = dt.make_hvp(lambda c, p: c * np.sum(p["a"] ** 2), argnums=1)(3.0, {"a": A})
    np.testing.assert_allclose(hvp({"a": np.ones(3)})["a"], 6 * np.ones(3))


def test_aux_may_hold_anything_and_argnums_tuples_work_with_it():
    (g0, g1), aux = dt.grad(lambda a, b: (np.sum(a * b), ("note", 3)), argnums=(0, 1),
                            has_aux=True)(X, 2 * X)
    np.testing.assert_allclose(g0, 2 * X)
    np.testing.assert_allclose(g1, X)
    assert aux == ("note", 3)


def test_hessian_of_a_pytree_output():
    H = dt.hessian(lambda x: {"sq": x ** 2, "sum": np.sum(x) ** 2})(X)
    want = np.zeros((3, 3, 3))
    want[np.arange(3), np.arange(3), np.arange(3)] = 2.0
    np.testing.assert_allclose(H["sq"], want)
    np.testing.assert_allclose(H["sum"], 2 * np.ones((3, 3)))
