"""Stacked products folded into one BLAS call (primitives/_fold.py): the folded matmul
and solve give what numpy's own stacked loops give, to rounding, for random shapes and
stacks of 1 to 64; batched tangents and cotangents through them give the per-direction
products in both modes; nested derivatives through them match closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
from dualtape.forward import jvp_batch
from dualtape.primitives import _fold
from dualtape.reverse import vjp_batch

TOL = dict(rtol=1e-12, atol=1e-12)
dims = st.integers(1, 7)
batch = st.integers(1, 64)


def _rand(seed, *shape, dtype=np.float64):
    r = np.random.default_rng(seed)
    x = r.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * r.standard_normal(shape)
    return x.astype(dtype)


def _loop(fn, a, b):
    """numpy, one matrix of the stack at a time: the unfolded reference."""
    if a.ndim == 2:
        return np.stack([fn(a, bi) for bi in b.reshape((-1,) + b.shape[-2:])]).reshape(
            b.shape[:-2] + fn(a, b.reshape((-1,) + b.shape[-2:])[0]).shape)
    return np.stack([fn(ai, b) for ai in a.reshape((-1,) + a.shape[-2:])]).reshape(
        a.shape[:-2] + (a.shape[-2], b.shape[-1]))


@settings(max_examples=40)
@given(m=dims, n=dims, p=dims, k=batch, extra=st.integers(0, 2), seed=st.integers(0, 99),
       left=st.booleans(), cplx=st.booleans())
def test_folded_matmul_equals_stacked_loop(m, n, p, k, extra, seed, left, cplx):
    dtype = np.complex128 if cplx else np.float64
    stack = (k,) + (2,) * extra
    if left:            # one matrix on the left, a stack on the right
        a, b = _rand(seed, m, n, dtype=dtype), _rand(seed + 1, *stack, n, p)
    else:
        a, b = _rand(seed, *stack, m, n), _rand(seed + 1, n, p, dtype=dtype)
    got = _fold.matmul(a, b)
    want = _loop(np.matmul, a, b)
    assert got.shape == np.matmul(a, b).shape and got.dtype == np.matmul(a, b).dtype
    np.testing.assert_allclose(got, want, **TOL)


@settings(max_examples=30)
@given(n=dims, p=dims, k=batch, extra=st.integers(0, 2), seed=st.integers(0, 99))
def test_folded_solve_equals_stacked_loop(n, p, k, extra, seed):
    a = _rand(seed, n, n) + 3 * n * np.eye(n)          # well conditioned
    b = _rand(seed + 1, k, *(2,) * extra, n, p)
    got = _fold.solve(a, b)
    assert got.shape == b.shape
    np.testing.assert_allclose(got, _loop(np.linalg.solve, a, b), rtol=1e-11, atol=1e-12)


def test_fold_leaves_numpy_errors_and_edge_shapes_to_numpy():
    a = np.ones((3, 4))
    with pytest.raises(ValueError):
        _fold.matmul(a, np.ones((5, 3, 2)))             # inner sizes differ
    with pytest.raises(ValueError):
        _fold.solve(a, np.ones((5, 3, 2)))              # not square
    empty = _fold.matmul(np.ones((0, 4)), np.ones((5, 4, 2)))
    assert empty.shape == (5, 0, 2)
    ints = _fold.matmul(np.arange(6).reshape(2, 3), np.arange(24).reshape(4, 3, 2))
    assert ints.dtype == np.arange(1).dtype
    np.testing.assert_array_equal(ints, np.matmul(np.arange(6).reshape(2, 3),
                                                  np.arange(24).reshape(4, 3, 2)))


@settings(max_examples=25)
@given(m=dims, n=dims, k=batch, seed=st.integers(0, 99), right=st.booleans())
def test_batched_tangents_and_cotangents_through_matmul(m, n, k, seed, right):
    A = _rand(seed, m, n)
    if right:
        def f(x):
            return A @ x                                # tangents (k, n)
        x, J = _rand(seed + 2, n), A
    else:
        def f(x):
            return x @ A.T                              # a row vector times a matrix
        x, J = _rand(seed + 2, n), A
    T = _rand(seed + 3, k, n)
    _, got = jvp_batch(f, x, T)
    np.testing.assert_allclose(got, np.stack([J @ t for t in T]), **TOL)
    G = _rand(seed + 4, k, m)
    _, pull = vjp_batch(f, x)
    np.testing.assert_allclose(pull(G), np.stack([g @ J for g in G]), **TOL)


@settings(max_examples=20)
@given(n=dims, p=dims, k=batch, seed=st.integers(0, 99))
def test_batched_tangents_through_matrix_products_and_solve(n, p, k, seed):
    A = _rand(seed, n, n) + 3 * n * np.eye(n)
    X = _rand(seed + 1, n, p)
    T = _rand(seed + 2, k, n, p)
    for f, lin in ((lambda X: A @ X, lambda t: A @ t),
                   (lambda X: np.linalg.solve(A, X), lambda t: np.linalg.solve(A, t)),
                   (lambda X: np.tensordot(A, X, 1), lambda t: A @ t),
                   (lambda X: np.einsum("ij,jk->ik", A, X), lambda t: A @ t)):
        _, got = jvp_batch(f, X, T)
        np.testing.assert_allclose(got, np.stack([lin(t) for t in T]), rtol=1e-11,
                                   atol=1e-12)
        _, pull = vjp_batch(f, X)
        # the transpose of a linear map: <g, L t> = <L^T g, t> for every direction pair
        back = pull(T)
        np.testing.assert_allclose(np.einsum("kij,lij->kl", back, T),
                                   np.einsum("kij,lij->kl", T, np.stack([lin(t) for t in T])),
                                   rtol=1e-10, atol=1e-10)


def test_full_jacobians_of_linear_maps_are_exact():
    # unit seeds times A: every product is one entry times one (or zero), no rounding
    A = _rand(0, 9, 7)
    x = _rand(1, 7)
    for jac in (dt.jacfwd, dt.jacrev):
        np.testing.assert_array_equal(jac(lambda x: A @ x)(x), A)
        np.testing.assert_array_equal(jac(lambda x: x @ A.T)(x), A)
    X = _rand(2, 7, 3)
    want = np.einsum("il,jq->ijlq", A, np.eye(3))
    for jac in (dt.jacfwd, dt.jacrev):
        np.testing.assert_array_equal(jac(lambda X: A @ X)(X), want)


@pytest.mark.parametrize("n", [1, 5, 33])
def test_nested_derivatives_through_folded_products(n):
    # H of sum(tanh(A x)) = A^T diag(tanh''(A x)) A, tanh'' = -2 tanh (1 - tanh^2)
    A = _rand(n, n + 2, n) / np.sqrt(n)
    x = _rand(n + 1, n)
    th = np.tanh(A @ x)
    want = A.T @ ((-2 * th * (1 - th ** 2))[:, None] * A)

    def f(x):
        return np.sum(np.tanh(A @ x))
    np.testing.assert_allclose(dt.hessian(f)(x), want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dt.jacfwd(dt.jacfwd(f))(x), want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dt.jacrev(dt.jacrev(f))(x), want, rtol=1e-10, atol=1e-12)


@settings(max_examples=15)
@given(m=dims, n=dims, k=batch, seed=st.integers(0, 99))
def test_batched_tangents_over_a_reverse_sweep(m, n, k, seed):
    # forward over reverse with k directions: H t for each t, H = A^T diag(tanh'') A
    A = _rand(seed, m, n) / np.sqrt(n)
    x = _rand(seed + 1, n)
    T = _rand(seed + 2, k, n)
    th = np.tanh(A @ x)
    H = A.T @ ((-2 * th * (1 - th ** 2))[:, None] * A)
    _, got = jvp_batch(dt.grad(lambda z: np.sum(np.tanh(A @ z))), x, T)
    np.testing.assert_allclose(got, T @ H.T, rtol=1e-10, atol=1e-12)
