"""The input and output checks every transform shares (_api.py): ndarray subclasses,
non-array results of f, duplicate argnums, jvp/vjp argument trees and dtypes, empty
arrays, and lazy imports that an interrupt does not break.

Expected values are closed forms, never dualtape's own results.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import dualtape as dt

pytestmark = pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")

X = np.array([[1.0, 2.0]])


def _sumsq(a):
    return np.sum(a * a)


# Every transform, called on one input, with the name its errors must carry.
TRANSFORMS = {
    "grad": lambda f, x: dt.grad(f)(x),
    "value_and_grad": lambda f, x: dt.value_and_grad(f)(x),
    "vjp": lambda f, x: dt.vjp(f, x)[1](1.0),
    "jvp": lambda f, x: dt.jvp(f, (x,), (np.ones(np.shape(x)),)),
    "jacfwd": lambda f, x: dt.jacfwd(f)(x),
    "jacrev": lambda f, x: dt.jacrev(f)(x),
    "hessian": lambda f, x: dt.hessian(f)(x),
    "hvp": lambda f, x: dt.hvp(f, x, np.ones(np.shape(x))),
    "jacobian": lambda f, x: dt.jacobian(f, x),
    "sparsity": lambda f, x: dt.sparsity(f, x),
    "count": lambda f, x: dt.count(dt.grad(f), x),
    "check_grads": lambda f, x: dt.check_grads(f, (x,)),
    "Dual": lambda f, x: f(dt.Dual(x, np.ones(np.shape(x)))),
}


# ---- ndarray subclasses ---------------------------------------------------------------
def test_matrix_semantics_differ_so_conversion_would_be_wrong():
    # the reason for refusing: for np.matrix, a * a is a matrix product
    m = np.matrix([[1.0, 2.0]])
    assert float(np.sum(np.asarray(m) ** 2)) == 5.0
    with pytest.raises(ValueError):
        np.sum(m * m)                      # (1, 2) @ (1, 2): not even defined
    assert float(np.sum(np.matrix([[1.0], [2.0]]).T * np.matrix([[1.0], [2.0]]))) == 5.0


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_matrix_input_is_refused_by_every_transform(name):
    with pytest.raises(TypeError, match=rf"^{name}: an input is a numpy\.matrix.*np\.asarray"):
        TRANSFORMS[name](_sumsq, np.matrix(X))


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_masked_input_is_refused_by_every_transform(name):
    m = np.ma.MaskedArray(X, mask=[[False, True]])
    with pytest.raises(TypeError, match=rf"^{name}: an input is a .*MaskedArray.*filled"):
        TRANSFORMS[name](_sumsq, m)


def test_subclasses_refused_as_tangents_and_inside_containers():
    with pytest.raises(TypeError, match="jvp: .*numpy.matrix"):
        dt.jvp(_sumsq, (X,), (np.matrix(X),))
    with pytest.raises(TypeError, match="grad: .*numpy.matrix"):
        dt.grad(lambda p: _sumsq(p[0]) + _sumsq(p[1]))([X, np.matrix(X)])
    with pytest.raises(TypeError, match="vjp_fn: .*numpy.matrix"):
        dt.vjp(lambda a: a * 2.0, X)[1](np.matrix(X))


def test_asarray_and_filled_are_the_documented_way():
    m = np.ma.MaskedArray(X, mask=[[False, True]])
    np.testing.assert_array_equal(dt.grad(_sumsq)(m.filled(0.0)), [[2.0, 0.0]])
    np.testing.assert_array_equal(dt.grad(_sumsq)(np.asarray(np.matrix(X))), 2 * X)


def test_memmap_is_a_plain_ndarray_and_is_accepted(tmp_path):
    mm = np.memmap(tmp_path / "x.dat", dtype=np.float64, mode="w+", shape=(2,))
    mm[:] = [1.0, 3.0]
    np.testing.assert_array_equal(dt.grad(_sumsq)(mm), [2.0, 6.0])


# ---- f returning something that is not an array -------------------------------------
def _gen(x):
    return (v for v in [x])


BAD = {
    "None": (lambda x: None, r"returned None, not an array; did you forget `return`\?"),
    "str": (lambda x: "loss", r"returned a str \('loss'\), not a numeric array"),
    "generator": (_gen, r"returned a generator"),
    "object": (lambda x: object(), r"returned a object"),
    "object array": (lambda x: np.array([1.0, None], dtype=object), r"returned a ndarray"),
}
OUTPUT_TRANSFORMS = ["grad", "value_and_grad", "vjp", "jvp", "jacfwd", "jacrev",
                     "hessian", "hvp", "jacobian", "sparsity"]


@pytest.mark.parametrize("name", OUTPUT_TRANSFORMS)
@pytest.mark.parametrize("bad", sorted(BAD))
def test_non_array_output_is_refused(name, bad):
    f, msg = BAD[bad]
    with pytest.raises(TypeError, match=rf"^{name}: .*({msg})"):
        TRANSFORMS[name](f, np.array([1.0, 2.0]))


# A None inside a container is an empty subtree, as in JAX: the transforms that take
# pytree outputs give None back in its place; those that need one array refuse the dict.
@pytest.mark.parametrize("name", OUTPUT_TRANSFORMS)
def test_none_inside_an_output_container_is_an_empty_subtree(name):
    def f(x):
        return {"a": np.sum(x), "b": None}
    if name in ("grad", "value_and_grad", "hvp", "sparsity"):
        with pytest.raises(TypeError, match=rf"^{name}: .*(one array|not a container)"):
            TRANSFORMS[name](f, np.array([1.0, 2.0]))
        return
    if name == "jacobian":
        got = dt.jacobian(f, np.array([1.0, 2.0]))
    elif name == "vjp":
        got = dt.vjp(f, np.array([1.0, 2.0]))[1]({"a": 1.0, "b": None})[0]
        np.testing.assert_array_equal(got, [1.0, 1.0])
        return
    else:
        got = TRANSFORMS[name](f, np.array([1.0, 2.0]))
    if name == "jvp":
        got = got[1]
    assert got["b"] is None
    want = np.zeros((2, 2)) if name == "hessian" else (2.0 if name == "jvp" else [1.0, 1.0])
    np.testing.assert_array_equal(got["a"], want)


def test_numbers_and_constant_arrays_are_fine_outputs():
    # a constant function has derivative zero: that is right, not a silent default
    np.testing.assert_array_equal(dt.grad(lambda x: 3.0)(np.ones(2)), np.zeros(2))
    np.testing.assert_array_equal(dt.jacfwd(lambda x: np.arange(3.0))(np.ones(2)),
                                  np.zeros((3, 2)))
    np.testing.assert_array_equal(dt.jacrev(lambda x: True)(np.ones(2)), np.zeros(2))


# ---- duplicate argnums --------------------------------------------------------------
def _f2(x, y):
    return np.sum(x ** 2 * y)           # d/dx = 2 x y, d/dy = x^2, d2/dx2 = diag(2 y)


XA = np.array([1.0, -2.0, 3.0])
YA = np.array([0.5, 4.0, -1.0])


def test_duplicate_argnums_give_each_copy_its_gradient():
    g0, g1 = dt.grad(_f2, argnums=(0, 0))(XA, YA)
    np.testing.assert_allclose(g0, 2 * XA * YA)
    np.testing.assert_allclose(g1, 2 * XA * YA)
    g0 *= 0                              # each copy is its own array
    np.testing.assert_allclose(g1, 2 * XA * YA)
    val, (a, b, c) = dt.value_and_grad(_f2, argnums=(0, 1, 0))(XA, YA)
    assert val == pytest.approx(np.sum(XA ** 2 * YA))
    for got, want in zip((a, b, c), (2 * XA * YA, XA ** 2, 2 * XA * YA)):
        np.testing.assert_allclose(got, want)


@pytest.mark.parametrize("jac", [dt.jacfwd, dt.jacrev])
def test_duplicate_argnums_in_jacobians(jac):
    f = lambda x, y: x ** 2 * y                           # noqa: E731
    J0, J1 = jac(f, argnums=(0, 0))(XA, YA)
    np.testing.assert_allclose(J0, np.diag(2 * XA * YA))
    np.testing.assert_allclose(J1, np.diag(2 * XA * YA))


def test_duplicate_argnums_in_hessian():
    H = dt.hessian(_f2, argnums=(0, 0))(XA, YA)
    for row in H:
        for block in row:
            np.testing.assert_allclose(block, np.diag(2 * YA))


# ---- jvp / vjp arguments -------------------------------------------------------------
def _mul(a, b):
    return a * b


def test_jvp_needs_tuples_of_primals_and_tangents():
    with pytest.raises(TypeError, match="jvp: primals must be a tuple or list.*ndarray"):
        dt.jvp(_mul, np.array([2, 3.0]), np.array([1, 0.0]))
    with pytest.raises(TypeError, match="jvp: tangents must be a tuple or list"):
        dt.jvp(np.sin, (np.ones(2),), np.ones(2))
    # lists are fine at the top level: d(ab) = a db + b da
    out, t = dt.jvp(_mul, [2.0, 3.0], [1.0, 0.0])
    assert (out, t) == (6.0, 3.0)


def test_jvp_tangent_tree_must_match():
    f = lambda p: p[0] * p[1]                             # noqa: E731
    with pytest.raises(ValueError, match=r"jvp: the tangents\[0\] must be a tuple of 2 entries"):
        dt.jvp(f, ((1.0, 2.0),), ([1.0, 0.0],))
    with pytest.raises(ValueError, match=r"jvp: the tangents\[1\] must be a tuple of 2"):
        dt.jvp(lambda p, q: p * q[0], (1.0, (2.0, 3.0)), (1.0, (1.0,)))
    with pytest.raises(ValueError, match="keys"):
        dt.jvp(lambda d: d["a"], ({"a": 1.0},), ({"b": 1.0},))


@pytest.mark.parametrize("tangent", [np.ones(2, np.float32), np.ones(2, complex),
                                     np.ones(2, np.int64), np.float32(1.0)])
def test_jvp_tangent_dtype_must_match_the_primal(tangent):
    x = np.array([0.5, 1.5]) if np.ndim(tangent) else np.float64(0.5)
    with pytest.raises(TypeError, match=r"jvp: a tangent has dtype .* but its primal has "
                                        r"dtype float64"):
        dt.jvp(np.sin, (x,), (tangent,))


def test_python_numbers_and_lists_are_converted_to_the_primal_dtype():
    x32 = np.array([0.5, 1.5], np.float32)
    _, t = dt.jvp(np.sin, (x32,), ([1, 2],))
    assert t.dtype == np.float32
    np.testing.assert_allclose(t, np.cos(x32) * [1, 2], rtol=1e-6)
    _, t = dt.jvp(np.sin, (np.array([0.5, 1.5]),), ([1.0, 2.0],))
    np.testing.assert_allclose(t, np.cos([0.5, 1.5]) * [1, 2], rtol=1e-15)
    with pytest.raises(TypeError, match="complex"):
        dt.jvp(np.sin, (np.array([0.5]),), ([1j],))
    z = np.array([1.0 + 1.0j])
    _, t = dt.jvp(lambda z: z * 2, (z,), (np.array([1j]),))
    np.testing.assert_array_equal(t, [2j])


@pytest.mark.parametrize("ct", [np.ones(2, np.float32), np.ones(2, complex),
                                np.ones(2, np.int32)])
def test_vjp_cotangent_dtype_must_match_the_output(ct):
    _, pull = dt.vjp(np.sin, np.array([0.5, 1.5]))
    with pytest.raises(TypeError, match=r"vjp_fn: a cotangent has dtype .* its primal has "
                                        r"dtype float64"):
        pull(ct)


def test_vjp_cotangent_numbers_lists_and_tree():
    x = np.array([0.5, 1.5])
    _, pull = dt.vjp(np.sin, x)
    np.testing.assert_allclose(pull([1, 2])[0], np.cos(x) * [1, 2], rtol=1e-15)
    out, pull = dt.vjp(lambda x: (x[0] * x[1], 2 * x), x)
    (g,) = pull((1.0, [0.0, 1.0]))
    np.testing.assert_allclose(g, [x[1], x[0] + 2.0])
    with pytest.raises(ValueError, match=r"vjp_fn: the cotangent must be a tuple of 2"):
        pull([1.0, [0.0, 1.0]])
    with pytest.raises(TypeError, match="vjp_fn: .*float32"):
        pull((np.float32(1.0), np.zeros(2)))


# ---- empty arrays -------------------------------------------------------------------
EMPTY = [(0,), (3, 0), (0, 4)]


@pytest.mark.parametrize("shape", EMPTY)
def test_empty_arrays_in_every_transform(shape):
    z = np.zeros(shape)
    n = 0
    g = dt.grad(lambda x: np.sum(np.sin(x)))(z)
    assert g.shape == shape and g.dtype == np.float64
    out, t = dt.jvp(np.tanh, (z,), (z,))
    assert out.shape == t.shape == shape
    out, pull = dt.vjp(np.tanh, z)
    assert pull(z)[0].shape == shape
    assert dt.jacfwd(np.tanh)(z).shape == shape + shape
    assert dt.jacrev(np.tanh)(z).shape == shape + shape
    for mode in ("fwd-over-fwd", "fwd-over-rev", "rev-over-fwd", "rev-over-rev"):
        for chunk in (None, 2):
            H = dt.hessian(lambda x: np.sum(np.tanh(x)), mode=mode, chunk_size=chunk)(z)
            assert H.shape == shape + shape
    assert dt.jacfwd(np.tanh, chunk_size=2)(z).shape == shape + shape
    assert dt.jacrev(np.tanh, chunk_size=2)(z).shape == shape + shape
    assert dt.hvp(lambda x: np.sum(x ** 3), z, z).shape == shape
    assert dt.sparsity(np.tanh, z).shape == (n, n)
    assert dt.sparsity(np.tanh, z, kind="local").shape == (n, n)
    dt.check_grads(np.tanh, (z,), order=2)
    c = dt.count(dt.grad(lambda x: np.sum(x * x)), z)
    assert c.value.shape == shape and c.primal_flops == 0


@pytest.mark.parametrize("shape", EMPTY)
@pytest.mark.parametrize("structure", ["full", "diagonal", "sparse", "auto"])
@pytest.mark.parametrize("mode", ["auto", "fwd", "rev"])
def test_empty_arrays_in_every_jacobian_structure(shape, structure, mode):
    z = np.zeros(shape)
    J, info = dt.jacobian(np.tanh, z, mode=mode, structure=structure, return_info=True)
    dense = structure == "full" or (structure == "auto" and isinstance(J, np.ndarray))
    want = shape + shape if dense else (0,) if structure == "diagonal" else (0, 0)
    assert J.shape == want
    assert info.n == info.m == 0


@pytest.mark.parametrize("mode", ["auto", "fwd", "rev"])
def test_sparse_jacobian_with_an_empty_side(mode):
    # n = 3 inputs to m = 0 outputs, and n = 0 to m = 3: all-zero (m, n) Jacobians
    J = dt.jacobian(lambda x: x[:0] * 2, np.ones(3), mode=mode, structure="sparse")
    assert J.shape == (0, 3) and J.nnz == 0
    J = dt.jacobian(lambda x: np.ones(3) * np.sum(x), np.ones(0), mode=mode,
                    structure="sparse")
    assert J.shape == (3, 0) and J.nnz == 0
    J = dt.jacobian(lambda x: np.ones(3) + 0 * x[0], np.ones(2), mode=mode,
                    structure="sparse", sparsity="local")
    np.testing.assert_array_equal(J.toarray(), np.zeros((3, 2)))


# ---- lazy imports -------------------------------------------------------------------
def test_interrupted_scipy_import_is_retried(monkeypatch):
    real = importlib.import_module
    fired = []

    def interrupt_once(name, *args):
        if name.startswith("scipy") and not fired:
            fired.append(name)
            raise KeyboardInterrupt
        return real(name, *args)
    monkeypatch.setattr(importlib, "import_module", interrupt_once)
    tridiag = lambda x: x[1:] * x[:-1]                    # noqa: E731
    with pytest.raises(KeyboardInterrupt):
        dt.sparsity(tridiag, np.ones(3))
    assert fired
    P = dt.sparsity(tridiag, np.ones(3)).toarray()
    np.testing.assert_array_equal(P, [[1, 1, 0], [0, 1, 1]])
