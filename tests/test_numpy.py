"""numpy interoperability and the semantics users rely on, in both modes."""

from __future__ import annotations

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp


def both_modes(f, x):
    """The Jacobian of f at x by forward and by reverse mode."""
    return dt.jacfwd(f)(x), dt.jacrev(f)(x)


def test_plain_numpy_calls_on_traced_values():
    A = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.0]])

    def f(x):
        h = np.tanh(A @ x)
        return np.sum(np.maximum(h, 0.1) * np.where(h > 0, h, 2 * h)) + np.mean(x ** 2)

    def f_dnp(x):
        h = dnp.tanh(A @ x)
        return dnp.sum(dnp.maximum(h, 0.1) * dnp.where(h > 0, h, 2 * h)) + dnp.mean(x ** 2)

    x = np.array([0.3, -0.7])
    g_plain = dt.grad(f)(x)
    g_dnp = dt.grad(f_dnp)(x)
    np.testing.assert_allclose(g_plain, g_dnp, rtol=0, atol=0)
    _, t = dt.jvp(f, (x,), (np.array([1.0, 0.0]),))
    np.testing.assert_allclose(t, g_plain[0], rtol=1e-12)


def test_ndarray_on_the_left_dispatches_to_the_traced_value():
    x = np.array([1.0, 2.0])
    J = dt.jacrev(lambda x: np.array([3.0, 4.0]) * x + np.ones(2) @ x)(x)
    np.testing.assert_allclose(J, [[4.0, 1.0], [1.0, 5.0]])


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_unregistered_numpy_function_names_function_and_mode(mode):
    def f(x):
        return np.histogram2d(x, x)[0]
    with pytest.raises(TypeError, match=rf"numpy.histogram2d .*\({mode} mode\)"):
        if mode == "forward":
            dt.jvp(f, (np.ones(3),), (np.ones(3),))
        else:
            dt.grad(f)(np.ones(3))


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_unregistered_ufunc_and_ufunc_methods_raise(mode):
    run = ((lambda f: dt.jvp(f, (np.ones(3),), (np.ones(3),))) if mode == "forward"
           else (lambda f: dt.grad(f)(np.ones(3))))
    import scipy.special
    with pytest.raises(TypeError, match=rf"scipy.special.j0 .*\({mode} mode\)"):
        run(lambda x: np.sum(scipy.special.j0(x)))
    with pytest.raises(TypeError, match=rf"numpy.add.reduce .*\({mode} mode\)"):
        run(lambda x: np.add.reduce(x))
    with pytest.raises(TypeError, match=rf"numpy.multiply.accumulate .*\({mode} mode\)"):
        run(lambda x: np.sum(np.multiply.accumulate(x)))


def test_in_place_write_raises_and_augmented_assignment_rebinds():
    def bad(x):
        x[0] = 1.0
        return np.sum(x)
    with pytest.raises(TypeError, match="in-place assignment"):
        dt.grad(bad)(np.ones(3))

    def ok(x):
        y = x
        y += 1.0          # rebinds y to a new traced value; x is unchanged
        y *= x
        return np.sum(y)
    # d/dx sum((x + 1) * x) = 2x + 1
    np.testing.assert_allclose(dt.grad(ok)(np.array([1.0, 2.0])), [3.0, 5.0])


def test_out_argument_is_refused():
    with pytest.raises(TypeError, match="in place"):
        dt.grad(lambda x: np.sum(np.exp(x, out=np.empty(2))))(np.ones(2))


@pytest.mark.parametrize("convert", [np.asarray, float, lambda x: np.array(x, dtype=float)])
def test_conversion_to_plain_values_raises(convert):
    def f(x):
        convert(x[0])
        return x[0]
    with pytest.raises(TypeError, match=r"\.primal"):
        dt.grad(f)(np.ones(2))
    with pytest.raises(TypeError, match=r"\.primal"):
        dt.jvp(f, (np.ones(2),), (np.ones(2),))


def test_integer_inputs_are_not_differentiable_but_integer_constants_mix():
    with pytest.raises(TypeError, match="dtype int"):
        dt.grad(lambda x: np.sum(x * 1.0))(np.arange(3))
    with pytest.raises(TypeError, match="dtype int"):
        dt.jvp(lambda x: x, (np.arange(3),), (np.arange(3),))
    # d/dx sum(2 * x ** 3 + arange) = 6 x^2
    g = dt.grad(lambda x: np.sum(2 * x ** 3 + np.arange(3)))(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(g, [6.0, 24.0, 54.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtypes_are_preserved(dtype):
    x = np.array([0.5, 1.5], dtype=dtype)

    def f(x):
        return np.sum(np.tanh(x) * x / 2.0 + np.sqrt(x))
    assert dt.grad(f)(x).dtype == dtype
    assert dt.jvp(f, (x,), (np.ones_like(x),))[1].dtype == dtype
    assert dt.jacfwd(lambda x: np.exp(x) * 3)(x).dtype == dtype
    assert dt.jacrev(lambda x: np.exp(x) * 3)(x).dtype == dtype


@pytest.mark.parametrize("shape", [(), (1,), (1, 1)])
def test_grad_accepts_any_single_element_output(shape):
    g = dt.grad(lambda x: np.reshape(np.sum(x ** 2), shape))(np.array([1.0, -2.0]))
    np.testing.assert_allclose(g, [2.0, -4.0])


def test_grad_of_a_vector_output_points_to_jacrev_and_vjp():
    with pytest.raises(TypeError, match="jacrev.*vjp"):
        dt.grad(lambda x: x * 2)(np.ones(3))


def test_kinks_take_documented_subgradients():
    zero = np.array([0.0])
    # relu'(0) = 0 for relu written with maximum against a constant: ties split, but the
    # constant takes its half, so the traced side gets 0.5; relu via where gets 0.
    assert dt.grad(lambda x: np.sum(np.abs(x)))(zero)[0] == 0.0
    assert dt.grad(lambda x: np.sum(np.where(x > 0, x, 0.0)))(zero)[0] == 0.0
    a, b = dt.grad(lambda a, b: np.sum(np.maximum(a, b)), argnums=(0, 1))(zero, zero)
    assert a[0] == b[0] == 0.5
    a, b = dt.grad(lambda a, b: np.sum(np.minimum(a, b)), argnums=(0, 1))(zero, zero)
    assert a[0] == b[0] == 0.5
    # max with a three-way tie: each tied element gets one third, in both modes
    x = np.array([1.0, 3.0, 3.0, 3.0])
    jf, jr = both_modes(lambda x: np.max(x), x)
    np.testing.assert_allclose(jf, [0, 1 / 3, 1 / 3, 1 / 3])
    np.testing.assert_allclose(jr, [0, 1 / 3, 1 / 3, 1 / 3])


def test_where_is_nan_safe_in_both_modes():
    def f(x):
        return np.where(x > 0, np.sqrt(x), 0.0)
    x = np.array([-1.0, 0.0, 4.0])
    with np.errstate(invalid="ignore", divide="ignore"):
        jf, jr = both_modes(f, x)
        g = dt.grad(lambda x: np.sum(f(x)))(x)
    expected = np.diag([0.0, 0.0, 0.25])         # d sqrt(x)/dx = 1 / (2 sqrt 4)
    np.testing.assert_array_equal(jf, expected)
    np.testing.assert_array_equal(jr, expected)
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.25])

    def g2(x):   # log of the branch not taken
        return np.sum(np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), x))
    np.testing.assert_array_equal(dt.grad(g2)(np.array([-2.0, 2.0])), [1.0, 0.5])


def test_broadcasting_in_both_modes():
    a = np.array([[1.0], [2.0], [3.0]])      # (3, 1)
    b = np.array([10.0, 20.0])               # (2,)

    def f(a, b):
        return np.sum(a * b + a / b)
    # d/da_i = sum_j (b_j + 1/b_j) = 30.15 ; d/db_j = sum_i (a_i - a_i / b_j^2)
    ga, gb = dt.grad(f, argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga, np.full((3, 1), 30.15))
    np.testing.assert_allclose(gb, [6 - 6 / 100, 6 - 6 / 400])
    _, ta = dt.jvp(lambda a: f(a, b), (a,), (np.ones_like(a),))
    np.testing.assert_allclose(ta, 3 * 30.15)


def test_constant_output_has_zero_derivative():
    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(dt.grad(lambda x: np.sum(np.floor(np.ones(2))))(x), 0)
    np.testing.assert_array_equal(dt.jacfwd(lambda x: np.ones(3))(x), np.zeros((3, 2)))
    np.testing.assert_array_equal(dt.jacrev(lambda x: np.ones(3))(x), np.zeros((3, 2)))


def test_indexing_with_repeats_accumulates_in_reverse_mode():
    x = np.array([1.0, 2.0, 3.0])
    g = dt.grad(lambda x: np.sum(x[[0, 0, 2, 0]] * np.array([1.0, 2.0, 3.0, 4.0])))(x)
    np.testing.assert_array_equal(g, [7.0, 0.0, 3.0])
    np.testing.assert_array_equal(
        dt.jacfwd(lambda x: x[[0, 0, 2]])(x), [[1, 0, 0], [1, 0, 0], [0, 0, 1]])


def test_methods_and_attributes_on_traced_values():
    def f(x):
        y = x.reshape(2, 3).T
        return (y.sum(axis=0) * y.mean() + y.max()).sum() + x.ravel()[1] + len(y)
    x = np.arange(6.0)
    jf, jr = both_modes(f, x)
    np.testing.assert_allclose(jf, jr)
    h = 1e-6
    fd = np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(6)])
    np.testing.assert_allclose(jf, fd, rtol=1e-6, atol=1e-6)


def test_lists_of_traced_values_become_arrays():
    def f(x):
        return dnp.sum(dnp.array([x[0] * x[1], x[1], 2.0]) ** 2)
    # d/dx0 = 2 (x0 x1) x1 = 2*2*... at (1, 2): 2*2*2 = 8 ; d/dx1 = 2 x0 x1 x0 + 2 x1 = 4+4
    np.testing.assert_allclose(dt.grad(f)(np.array([1.0, 2.0])), [8.0, 8.0])


def test_dualtape_numpy_is_a_drop_in_for_constants_and_helpers():
    for name in ("pi", "e", "inf", "nan", "newaxis", "float32", "float64", "int64", "ndim",
                 "shape", "allclose"):
        assert getattr(dnp, name) is getattr(np, name), name
    assert dnp.random.normal is np.random.normal     # a submodule of numpy's objects
    # the inspection helpers answer for traced values through numpy's dispatch
    g = dt.grad(lambda x: dnp.sum(x) * dnp.shape(x)[0] * dnp.ndim(x))(np.ones(3))
    np.testing.assert_array_equal(g, [3.0, 3.0, 3.0])
