"""dt.jacobian: full, diagonal and sparse structures, and the mode planner."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.jacobian import plan


def tridiagonal(x):
    # f_i = x_{i-1} x_i - x_{i+1}^2, zero-padded
    xp = dnp.concatenate([np.zeros(1), x, np.zeros(1)])
    return xp[:-2] * xp[1:-1] - xp[2:] ** 2


def tridiagonal_jacobian(x):
    # df_i/dx_{i-1} = x_i, df_i/dx_i = x_{i-1}, df_i/dx_{i+1} = -2 x_{i+1}
    n = len(x)
    J = np.zeros((n, n))
    for i in range(n):
        if i > 0:
            J[i, i - 1] = x[i]
            J[i, i] = x[i - 1]
        if i < n - 1:
            J[i, i + 1] = -2 * x[i + 1]
    return J


def arrowhead(x):
    # one dense row (sum of squares) on top of a diagonal
    return dnp.concatenate([dnp.sum(x ** 2)[None], x[1:] ** 3])


X = np.linspace(0.3, 1.7, 7)


@pytest.mark.parametrize("mode", ["fwd", "rev", "auto"])
def test_full_matches_closed_form(mode):
    J, info = dt.jacobian(tridiagonal, X, mode=mode, return_info=True)
    np.testing.assert_allclose(J, tridiagonal_jacobian(X), rtol=1e-15)
    assert info.structure == "full" and info.mode in ("fwd", "rev")
    if mode != "auto":
        assert info.mode == mode


@pytest.mark.parametrize("mode", ["fwd", "rev", "auto"])
def test_sparse_is_exact_and_uses_three_colours(mode):
    J, info = dt.jacobian(tridiagonal, X, mode=mode, structure="sparse", return_info=True)
    assert isinstance(J, sp.csr_array) and J.shape == (7, 7)
    np.testing.assert_array_equal(J.toarray(), tridiagonal_jacobian(X))
    assert info.colors == 3 and info.lower_bound == 3 and info.passes == 3
    assert info.nnz == 3 * 7 - 2


def test_arrowhead_needs_n_column_colours_and_the_planner_picks_reverse():
    from dualtape.coloring import color_columns, color_rows
    x = np.linspace(0.5, 1.5, 12)
    P = dt.sparsity(arrowhead, x)
    assert color_columns(P).ncolors == 12
    assert color_rows(P).ncolors == 2
    J, info = dt.jacobian(arrowhead, x, structure="sparse", return_info=True)
    assert info.mode == "rev" and info.colors == 2
    assert "compressed rev" in info.reason
    expected = np.diag(np.r_[0.0, 3 * x[1:] ** 2])
    expected[0] = 2 * x
    np.testing.assert_array_equal(J.toarray(), expected)


def test_elementwise_is_diagonal_with_one_colour():
    J, info = dt.jacobian(lambda x: np.tanh(x) * 2, X, structure="sparse", return_info=True)
    assert info.colors == 1
    d = 2 * (1 - np.tanh(X) ** 2)
    np.testing.assert_array_equal(J.toarray(), np.diag(d))
    np.testing.assert_array_equal(dt.jacobian(lambda x: np.tanh(x) * 2, X,
                                              structure="diagonal"), d)
    D = dt.jacobian(lambda x: np.tanh(x) * 2, X, structure="diagonal", sparse_format="dia")
    assert isinstance(D, sp.dia_array)
    np.testing.assert_array_equal(D.toarray(), np.diag(d))


def test_diagonal_refuses_a_non_diagonal_function():
    with pytest.raises(ValueError, match="output 0 depends on input 1"):
        dt.jacobian(tridiagonal, X, structure="diagonal")
    with pytest.raises(ValueError, match="maps 7 inputs to 1 outputs"):
        dt.jacobian(lambda x: dnp.sum(x)[None], X, structure="diagonal")


def test_auto_structure_follows_density():
    x = np.linspace(0.1, 1.0, 200)
    _, info = dt.jacobian(tridiagonal, x, structure="auto", return_info=True)
    assert info.structure == "sparse"
    A = np.random.default_rng(0).standard_normal((5, 5))
    J, info = dt.jacobian(lambda x: A @ x, np.ones(5), structure="auto", return_info=True)
    assert info.structure == "full" and isinstance(J, np.ndarray)
    np.testing.assert_allclose(J, A)


def test_planner_prices_and_explains():
    mode, compressed, est, reason = plan(1000, 3)
    assert mode == "rev" and not compressed and est["dense rev"] == 4.5
    assert reason.startswith("dense rev")
    mode, compressed, _, reason = plan(1000, 1000, col_colors=3, row_colors=3)
    assert (mode, compressed) == ("fwd", True) and "3 column colours" in reason


def test_precomputed_pattern_and_bad_arguments():
    P = dt.sparsity(tridiagonal, X)
    J = dt.jacobian(tridiagonal, X, structure="sparse", sparsity=P)
    np.testing.assert_array_equal(J.toarray(), tridiagonal_jacobian(X))
    with pytest.raises(ValueError, match="mode must be"):
        dt.jacobian(tridiagonal, X, mode="sideways")
    with pytest.raises(ValueError, match="structure must be"):
        dt.jacobian(tridiagonal, X, structure="banded")


@st.composite
def sparse_functions(draw):
    n = draw(st.integers(1, 8))
    m = draw(st.integers(1, 8))
    density = draw(st.floats(0.05, 0.6))
    seed = draw(st.integers(0, 2 ** 16))
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) * (rng.random((m, n)) < density)
    B = rng.standard_normal((m, n)) * (rng.random((m, n)) < density)
    x = rng.uniform(0.5, 1.5, n)
    return A, B, x


@settings(max_examples=60, deadline=None)
@given(sparse_functions(), st.sampled_from(["fwd", "rev", "auto"]))
def test_decompressed_equals_dense_exactly(fab, mode):
    A, B, x = fab

    def f(x):
        return np.tanh(A @ x) * (B @ np.sqrt(x)) + np.exp(A @ x)
    J, info = dt.jacobian(f, x, mode=mode, structure="sparse", return_info=True)
    # Compressed passes do the dense passes' arithmetic plus exact zeros, so each
    # equals the dense Jacobian of its own mode to the last bit.
    dense = (dt.jacfwd if info.mode == "fwd" else dt.jacrev)(f)(x)
    np.testing.assert_array_equal(J.toarray(), dense)
    np.testing.assert_allclose(J.toarray(), dt.jacrev(f)(x), rtol=1e-14, atol=1e-15)
