"""Second order: the four Hessian compositions and Hessian-vector products."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp

MODES = ["fwd-over-fwd", "fwd-over-rev", "rev-over-fwd", "rev-over-rev"]


def cubic(x):
    return dnp.sum(x ** 3) + x[0] * x[1] * x[2]


def cubic_hessian(x):
    # d2/dxi2 sum x^3 = 6 x_i ; the product x0 x1 x2 gives H01 = x2, H02 = x1, H12 = x0
    H = np.diag(6 * x)
    H[0, 1] = H[1, 0] = x[2]
    H[0, 2] = H[2, 0] = x[1]
    H[1, 2] = H[2, 1] = x[0]
    return H


@pytest.mark.parametrize("mode", MODES)
def test_hessian_modes_match_closed_form(mode):
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(dt.hessian(cubic, mode=mode)(x), cubic_hessian(x),
                               rtol=1e-14, atol=1e-14)


def test_unknown_mode():
    with pytest.raises(ValueError, match="fwd-over-rev"):
        dt.hessian(cubic, mode="sideways")


def rosenbrock(x):
    return dnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def test_hvp_matches_hessian_and_finite_differences_of_the_gradient():
    rng = np.random.default_rng(1)
    x, v = rng.standard_normal(6), rng.standard_normal(6)
    Hv = dt.hvp(rosenbrock, x, v)
    np.testing.assert_allclose(Hv, dt.hessian(rosenbrock)(x) @ v, rtol=1e-12)
    g = dt.grad(rosenbrock)
    h = 1e-6
    np.testing.assert_allclose(Hv, (g(x + h * v) - g(x - h * v)) / (2 * h), rtol=1e-6)


def test_hessian_of_vector_function_shape():
    H = dt.hessian(lambda x: dnp.sin(x) * x[0])(np.array([0.3, 0.4]))
    assert H.shape == (2, 2, 2)
    # f_i = sin(x_i) x0 ; d2 f_0/dx0^2 = -sin(x0) x0 + 2 cos(x0)
    np.testing.assert_allclose(H[0, 0, 0], -np.sin(0.3) * 0.3 + 2 * np.cos(0.3))


@st.composite
def smooth_programs(draw):
    n = draw(st.integers(2, 4))
    ops = draw(st.lists(st.sampled_from(["sin", "tanh", "sq", "mul_shift", "exp_small",
                                         "matmul"]), min_size=1, max_size=5))
    x = np.array(draw(st.lists(st.floats(-1.5, 1.5), min_size=n, max_size=n)))
    A = np.array(draw(st.lists(st.floats(-1, 1), min_size=n * n, max_size=n * n)))
    return ops, x, A.reshape(n, n)


def apply(ops, A):
    def f(x):
        y = x
        for op in ops:
            if op == "sin":
                y = dnp.sin(y)
            elif op == "tanh":
                y = dnp.tanh(y) * 2.0
            elif op == "sq":
                y = y * y * 0.5
            elif op == "mul_shift":
                y = y * dnp.concatenate([y[1:], y[:1]])
            elif op == "exp_small":
                y = dnp.exp(0.3 * y)
            else:
                y = A @ y
        return dnp.sum(y * x)
    return f


@settings(max_examples=25, deadline=None)
@given(smooth_programs())
def test_four_hessian_modes_agree_and_are_symmetric(program):
    ops, x, A = program
    f = apply(ops, A)
    Hs = [dt.hessian(f, mode=m)(x) for m in MODES]
    for H in Hs[1:]:
        np.testing.assert_allclose(H, Hs[0], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(Hs[0], Hs[0].T, rtol=1e-10, atol=1e-10)
    g = dt.grad(f)
    h = 1e-5
    fd = np.array([(g(x + h * e) - g(x - h * e)) / (2 * h) for e in np.eye(len(x))])
    np.testing.assert_allclose(Hs[1], fd, rtol=1e-5, atol=1e-5)
