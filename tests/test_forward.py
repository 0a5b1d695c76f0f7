"""Forward mode: duals, vector mode, jvp, jacfwd."""

from __future__ import annotations

import numpy as np
import pytest

import dualtape as dt


def test_dual_by_hand():
    # d/dx (x^2 sin x) = 2x sin x + x^2 cos x
    x = dt.Dual(np.array(1.3), np.array(1.0))
    y = x * x * np.sin(x)
    np.testing.assert_allclose(y.tangent, 2 * 1.3 * np.sin(1.3) + 1.3 ** 2 * np.cos(1.3))
    np.testing.assert_allclose(y.primal, 1.3 ** 2 * np.sin(1.3))


def test_vector_mode_gives_k_directions_in_one_pass():
    x = np.array([0.5, -1.0, 2.0])
    seeds = np.eye(3)[:2]                      # two directions at once, shape (2, 3)
    y = dt.Dual(x, seeds) * np.array([1.0, 2.0, 3.0]) + np.exp(dt.Dual(x, seeds))
    # d/dx_j (c_j x_j + e^{x_j}) = c_j + e^{x_j} on the diagonal
    expected = np.diag([1.0, 2.0, 3.0] + np.exp(x))[:2]
    np.testing.assert_allclose(y.tangent, expected)


def test_dual_rejects_mismatched_tangent():
    with pytest.raises(ValueError, match="tangent shape"):
        dt.Dual(np.ones(3), np.ones(4))


def test_jvp_on_containers():
    def f(p):
        return {"y": p["a"] * p["b"], "z": np.sum(p["a"])}
    p = {"a": np.array([1.0, 2.0]), "b": np.array([3.0, 4.0])}
    t = {"a": np.array([1.0, 0.0]), "b": np.array([0.0, 1.0])}
    out, tan = dt.jvp(f, (p,), (t,))
    # d(a*b) = da*b + a*db = [3, 2] ; d sum(a) = 1
    np.testing.assert_allclose(tan["y"], [3.0, 2.0])
    np.testing.assert_allclose(tan["z"], 1.0)


@pytest.mark.parametrize("chunk", [None, 1, 2, 3, 4, 7])
def test_jacfwd_chunks(chunk):
    A = np.arange(12.0).reshape(3, 4) / 7
    f = lambda x: np.tanh(A @ x)                           # noqa: E731
    x = np.array([0.1, -0.2, 0.3, 0.05])
    h = 1 - np.tanh(A @ x) ** 2
    np.testing.assert_allclose(dt.jacfwd(f, chunk_size=chunk)(x), h[:, None] * A,
                               rtol=1e-13)


def test_jacfwd_argnums_and_shapes():
    def f(a, b):
        return a[:, None] * b[None, :]
    a, b = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])
    Ja, Jb = dt.jacfwd(f, argnums=(0, 1))(a, b)
    assert Ja.shape == (2, 3, 2) and Jb.shape == (2, 3, 3)
    # d(a_i b_j)/d a_k = delta_ik b_j
    np.testing.assert_allclose(Ja, np.einsum("ik,j->ijk", np.eye(2), b))
    np.testing.assert_allclose(Jb, np.einsum("jk,i->ijk", np.eye(3), a))


def test_dual_built_around_a_traced_value_keeps_the_outer_derivative():
    x = np.array([1.0, 2.0])
    # d/dx sum((x + e) * x).primal = 2x ; d/dx sum(tangent of (x + e) x) = d/dx sum(x) = 1
    g = dt.grad(lambda x: np.sum((dt.Dual(x, np.ones(2)) * x).primal))(x)
    np.testing.assert_allclose(g, 2 * x)
    g = dt.grad(lambda x: np.sum((dt.Dual(x, np.ones(2)) * x).tangent))(x)
    np.testing.assert_allclose(g, [1.0, 1.0])
