"""Closed-form layer Jacobians against the Jacobians the AD modes assemble.

Every closed form in :mod:`dualtape.layers` is compared, for one sample and for a
batch, with dense forward (``dt.jacfwd``), dense reverse (``dt.jacrev``) and the sparse
path (``dt.jacobian(..., structure="sparse")``, compressed JVPs and compressed VJPs).
Loss gradients are compared with ``dt.grad`` and with forward mode.
"""

from __future__ import annotations

import numpy as np
import pytest

import dualtape as dt
from dualtape.layers import (MSE, CrossEntropy, DiagPlusLowRank, Hinge, Linear, LogSoftmax,
                             ReLU, Sigmoid, Softmax, Tanh)

# atol only absorbs round-off where the closed form has an exact zero (e.g. the max
# shift in softmax contributes +dm - sum(p) dm, about 1e-17, instead of 0).
TIGHT = dict(rtol=1e-12, atol=1e-15)
B, N_IN, N_OUT = 4, 5, 3


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def as2d(J: np.ndarray, f_out_size: int, n: int) -> np.ndarray:
    return np.asarray(J).reshape(f_out_size, n)


def assert_ad_matches(f, x: np.ndarray, closed: np.ndarray) -> None:
    """``closed`` (out.size, x.size) equals dense fwd, dense rev, sparse fwd, sparse rev."""
    m = np.size(f(x))
    closed = np.asarray(closed)
    assert closed.shape == (m, x.size)
    np.testing.assert_allclose(as2d(dt.jacfwd(f)(x), m, x.size), closed, **TIGHT)
    np.testing.assert_allclose(as2d(dt.jacrev(f)(x), m, x.size), closed, **TIGHT)
    for mode in ("fwd", "rev"):
        S, info = dt.jacobian(f, x, mode=mode, structure="sparse", return_info=True)
        assert S.shape == (m, x.size) and info.structure == "sparse" and info.mode == mode
        np.testing.assert_allclose(S.toarray(), closed, **TIGHT)


def dense(J) -> np.ndarray:
    return J.toarray() if hasattr(J, "toarray") else np.asarray(J)


SHAPES = {"single": (N_IN,), "batch": (B, N_IN)}


# ---- Linear -------------------------------------------------------------------------
@pytest.fixture
def linear_params():
    r = rng(1)
    return r.standard_normal((N_OUT, N_IN)), r.standard_normal(N_OUT)


@pytest.mark.parametrize("kind", SHAPES)
def test_linear_values(kind, linear_params):
    W, b = linear_params
    x = rng(2).standard_normal(SHAPES[kind])
    np.testing.assert_allclose(Linear(W, b)(x), x @ W.T + b, **TIGHT)


@pytest.mark.parametrize("kind", SHAPES)
def test_linear_jacobian_x(kind, linear_params):
    W, b = linear_params
    x = rng(3).standard_normal(SHAPES[kind])
    lin = Linear(W, b)
    J = lin.jacobian_x(x)
    if kind == "single":
        assert isinstance(J, np.ndarray) and J.shape == (N_OUT, N_IN)
    else:
        assert J.format == "csr" and J.shape == (B * N_OUT, B * N_IN)
        assert J.nnz == B * N_OUT * N_IN           # only the diagonal blocks are stored
    assert_ad_matches(lin, x, dense(J))


@pytest.mark.parametrize("kind", SHAPES)
def test_linear_jacobian_W(kind, linear_params):
    W, b = linear_params
    x = rng(4).standard_normal(SHAPES[kind])
    J = Linear(W, b).jacobian_W(x)
    rows = N_OUT * (B if kind == "batch" else 1)
    assert J.format == "csr" and J.shape == (rows, N_OUT * N_IN)
    # Row i (of a sample s) holds x_s in block i of the flattened W.
    xs = np.atleast_2d(x)
    Jd = J.toarray().reshape(-1, N_OUT, N_OUT, N_IN)
    for s in range(xs.shape[0]):
        for i in range(N_OUT):
            np.testing.assert_array_equal(Jd[s, i, i], xs[s])
            assert not np.delete(Jd[s, i], i, axis=0).any()
    assert_ad_matches(lambda W_: Linear(W_, b)(x), W, J.toarray())


@pytest.mark.parametrize("kind", SHAPES)
def test_linear_jacobian_b(kind, linear_params):
    W, b = linear_params
    x = rng(5).standard_normal(SHAPES[kind])
    J = Linear(W, b).jacobian_b(x)
    want = np.tile(np.eye(N_OUT), (B if kind == "batch" else 1, 1))
    assert J.format == "csr"
    np.testing.assert_array_equal(J.toarray(), want)
    assert_ad_matches(lambda b_: Linear(W, b_)(x), b, J.toarray())


def test_linear_rejects_bad_shapes(linear_params):
    W, b = linear_params
    with pytest.raises(ValueError):
        Linear(W, b[:-1])
    with pytest.raises(ValueError):
        Linear(W, b).jacobian_x(np.zeros(N_IN + 1))


# ---- elementwise activations ---------------------------------------------------------
ACTIVATIONS = {"relu": (ReLU, lambda x: np.maximum(x, 0.0)),
               "sigmoid": (Sigmoid, lambda x: 1.0 / (1.0 + np.exp(-x))),
               "tanh": (Tanh, np.tanh)}


@pytest.mark.parametrize("kind", SHAPES)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_jacobian(name, kind):
    layer, ref = ACTIVATIONS[name][0](), ACTIVATIONS[name][1]
    x = rng(6).standard_normal(SHAPES[kind])
    np.testing.assert_allclose(layer(x), ref(x), **TIGHT)
    d = layer.jacobian(x)
    assert d.shape == (x.size,)
    assert_ad_matches(layer, x, np.diag(d))
    np.testing.assert_allclose(dt.jacobian(layer, x, structure="diagonal"), d, **TIGHT)


def test_relu_subgradient_at_zero_is_zero():
    x = np.array([[-2.0, -0.0, 0.0], [0.5, 0.0, 3.0]])
    want = (x > 0).astype(float).ravel()
    np.testing.assert_array_equal(ReLU().jacobian(x), want)
    assert_ad_matches(ReLU(), x, np.diag(want))
    np.testing.assert_array_equal(dt.jacobian(ReLU(), x, structure="diagonal"), want)


def test_relu_diagonal_structure_equals_closed_form():
    x = rng(7).standard_normal((B, N_IN))
    d, info = dt.jacobian(ReLU(), x, structure="diagonal", return_info=True)
    # One JVP with an all-ones tangent.
    assert info.structure == "diagonal" and info.colors == 1 and info.sweeps == 1
    assert info.passes == 1 and info.mode == "fwd"
    np.testing.assert_array_equal(d, ReLU().jacobian(x))


def test_relu_global_pattern_is_diagonal_for_every_input():
    # A pattern valid for all inputs: negative entries keep their diagonal entry too.
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(dt.sparsity(ReLU(), x).toarray(), np.eye(3, dtype=bool))


def test_activations_extreme_inputs():
    x = np.array([-1e4, -50.0, 50.0, 1e4, -np.inf, np.inf])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_array_equal(ReLU()(x), [0, 0, 50, 1e4, 0, np.inf])
        s = Sigmoid()(x)
        ds = Sigmoid().jacobian(x)
    np.testing.assert_allclose(s, [0, 1.0 / (1 + np.exp(50)), 1 - 1.0 / (1 + np.exp(50)),
                                   1, 0, 1], rtol=1e-12, atol=0)
    np.testing.assert_allclose(ds[1], np.exp(-50) / (1 + np.exp(-50)) ** 2, rtol=1e-14)
    assert ds[0] == 0 and ds[-1] == 0


def test_sigmoid_derivative_keeps_relative_precision_in_the_tails():
    # Also at 0, where a |x| written with abs would have the subgradient 0.
    x = np.array([-700.0, -50.0, -10.0, 0.0, 10.0, 50.0, 700.0])
    want = np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))) ** 2      # = s (1 - s)
    assert Sigmoid().jacobian(x)[3] == 0.25
    np.testing.assert_allclose(Sigmoid().jacobian(x), want, rtol=1e-15, atol=0)
    assert_ad_matches(Sigmoid(), x, np.diag(want))
    # Relative precision of the AD diagonal too (the atol above would hide the tails).
    for d in (np.diag(dt.jacfwd(Sigmoid())(x)), np.diag(dt.jacrev(Sigmoid())(x)),
              dt.jacobian(Sigmoid(), x, structure="diagonal")):
        np.testing.assert_allclose(d, want, rtol=1e-14, atol=0)


# ---- softmax and log-softmax --------------------------------------------------------
K = 4
SOFT_SHAPES = {"single": (K,), "batch": (B, K)}


def softmax_ref(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("kind", SOFT_SHAPES)
def test_softmax_jacobian(kind):
    z = rng(8).standard_normal(SOFT_SHAPES[kind])
    np.testing.assert_allclose(Softmax()(z), softmax_ref(z), **TIGHT)
    J = Softmax().jacobian(z)
    assert isinstance(J, DiagPlusLowRank) and J.shape == (z.size, z.size)
    # Each block is diag(p) - p pᵀ, written out by hand here.
    p = softmax_ref(z).reshape(-1, K)
    for s, blk in enumerate(J.blocks()):
        np.testing.assert_allclose(blk, np.diag(p[s]) - np.outer(p[s], p[s]), **TIGHT)
    assert_ad_matches(Softmax(), z, J.toarray())


@pytest.mark.parametrize("kind", SOFT_SHAPES)
def test_log_softmax_jacobian(kind):
    z = rng(9).standard_normal(SOFT_SHAPES[kind])
    np.testing.assert_allclose(LogSoftmax()(z), np.log(softmax_ref(z)), **TIGHT)
    J = LogSoftmax().jacobian(z)
    p = softmax_ref(z).reshape(-1, K)
    for s, blk in enumerate(J.blocks()):
        np.testing.assert_allclose(blk, np.eye(K) - np.outer(np.ones(K), p[s]), **TIGHT)
    assert_ad_matches(LogSoftmax(), z, J.toarray())


def test_softmax_batch_is_block_diagonal_with_k_colours():
    z = rng(10).standard_normal((8, K))
    S, info = dt.jacobian(Softmax(), z, mode="fwd", structure="sparse", return_info=True)
    assert info.colors == K and S.nnz == 8 * K * K
    np.testing.assert_allclose(S.toarray(), Softmax().jacobian(z).tosparse().toarray(), **TIGHT)


def test_softmax_is_stable_for_large_logits():
    z = np.array([[1000.0, 0.0, -1000.0], [1e300, 1e300, 0.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p = Softmax()(z)
        lp = LogSoftmax()(z)
    np.testing.assert_allclose(p, [[1, 0, 0], [0.5, 0.5, 0]], rtol=1e-15, atol=0)
    assert np.isfinite(lp[0]).all() and lp[0, 0] == 0.0
    J = dt.jacfwd(Softmax())(z[:1])
    assert np.isfinite(J).all()


def test_diag_plus_low_rank_products():
    r = rng(11)
    d, U, V = r.standard_normal((3, 4)), r.standard_normal((3, 4, 2)), r.standard_normal((3, 4, 2))
    J = DiagPlusLowRank(d, U, V)
    A = J.toarray()
    assert J.shape == A.shape == (12, 12)
    v = r.standard_normal(12)
    np.testing.assert_allclose(J.matvec(v), A @ v, **TIGHT)
    np.testing.assert_allclose(J.rmatvec(v), A.T @ v, **TIGHT)
    np.testing.assert_allclose(J.tosparse().toarray(), A, **TIGHT)
    with pytest.raises(ValueError):
        DiagPlusLowRank(d, U, V[..., :1])


def test_softmax_vjp_uses_structure():
    z = rng(12).standard_normal((B, K))
    g = rng(13).standard_normal((B, K))
    _, pull = dt.vjp(Softmax(), z)
    np.testing.assert_allclose(pull(g)[0].ravel(), Softmax().jacobian(z).rmatvec(g), **TIGHT)


# ---- a batched MLP layer: sparse colouring sees the per-sample size ------------------
def test_batched_mlp_layer_colours_per_sample_input_size():
    batch, n, out = 8, 5, 3
    r = rng(14)
    lin = Linear(r.standard_normal((out, n)), r.standard_normal(out))
    x = r.standard_normal((batch, n))

    def layer(x):
        return Tanh()(lin(x))

    J, info = dt.jacobian(layer, x, mode="fwd", structure="sparse", return_info=True)
    assert info.colors == n and info.lower_bound == n and info.passes == n
    # Chain rule in closed form: diag(tanh'(Wx + b)) @ blockdiag(W, ..., W).
    closed = (np.diag(Tanh().jacobian(lin(x))) @ lin.jacobian_x(x).toarray())
    assert J.shape == (batch * out, batch * n) and J.nnz == batch * out * n
    np.testing.assert_allclose(J.toarray(), closed, **TIGHT)
    np.testing.assert_allclose(dt.jacfwd(layer)(x).reshape(batch * out, batch * n), closed,
                               **TIGHT)
    # Reverse compression colours the rows: one colour per output of a sample.
    _, info_rev = dt.jacobian(layer, x, mode="rev", structure="sparse", return_info=True)
    assert info_rev.colors == out


# ---- losses -------------------------------------------------------------------------
def _labels(n: int, seed: int) -> np.ndarray:
    return rng(seed).integers(0, K, size=n)


LOSS_CASES = {"single": ((K,), 2), "batch": ((B, K), _labels(B, 15))}


def _check_grad(loss, z, y):
    g = loss.grad(z, y)
    assert g.shape == z.shape
    np.testing.assert_allclose(dt.grad(lambda z_: loss(z_, y))(z), g, **TIGHT)
    np.testing.assert_allclose(np.reshape(dt.jacfwd(lambda z_: loss(z_, y))(z), z.shape), g,
                               **TIGHT)
    return g


@pytest.mark.parametrize("kind", LOSS_CASES)
def test_cross_entropy(kind):
    shape, y = LOSS_CASES[kind]
    z = rng(16).standard_normal(shape)
    p = softmax_ref(z).reshape(-1, K)
    yy = np.atleast_1d(y)
    want = -np.mean(np.log(p[np.arange(len(yy)), yy]))
    np.testing.assert_allclose(CrossEntropy()(z, y), want, **TIGHT)
    g = _check_grad(CrossEntropy(), z, y)
    np.testing.assert_allclose(g.reshape(-1, K), (p - np.eye(K)[yy]) / len(yy), **TIGHT)


def test_cross_entropy_rejects_float_labels():
    with pytest.raises(TypeError):
        CrossEntropy()(np.zeros((2, K)), np.array([0.0, 1.0]))


def _hinge_ref(s: np.ndarray, y) -> float:
    s, yy = np.atleast_2d(s), np.atleast_1d(y)
    total = 0.0
    for i in range(len(yy)):
        total += sum(max(0.0, s[i, j] - s[i, yy[i]] + 1.0) for j in range(K) if j != yy[i])
    return total / len(yy)


@pytest.mark.parametrize("kind", LOSS_CASES)
def test_hinge_away_from_kinks(kind):
    shape, y = LOSS_CASES[kind]
    s = rng(17).standard_normal(shape)
    yy, s2 = np.atleast_1d(y), np.atleast_2d(s)
    margins = s2 - s2[np.arange(len(yy)), yy][:, None] + 1.0
    assert np.abs(margins).min() > 1e-3                 # no margin at a kink
    assert (margins > 0).sum() > len(yy)                # some j != y active
    np.testing.assert_allclose(Hinge()(s, y), _hinge_ref(s, y), **TIGHT)
    _check_grad(Hinge(), s, y)


def test_hinge_at_a_kink():
    # Sample 0: margin of class 0 is 1 - 2 + 1 = 0 exactly (a kink), class 2 is active.
    # Sample 1: margin of class 3 is 0 exactly, nothing active.
    s = np.array([[1.0, 2.0, 2.5, -5.0], [-1.0, 0.0, 3.0, 2.0]])
    y = np.array([1, 2])
    # Documented subgradient (relu'(0) = 0): a zero margin contributes nothing.
    want = np.array([[0.0, -1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]]) / 2
    g = _check_grad(Hinge(), s, y)
    np.testing.assert_array_equal(g, want)
    # It is a subgradient of the convex loss: L(s + h) >= L(s) + <g, h> for any h.
    L0 = Hinge()(s, y)
    for h in rng(18).standard_normal((50,) + s.shape):
        assert Hinge()(s + h, y) >= L0 + np.sum(g * h) - 1e-12


@pytest.mark.parametrize("shape", [(K,), (B, K)])
def test_mse(shape):
    r = rng(19)
    pred, target = r.standard_normal(shape), r.standard_normal(shape)
    np.testing.assert_allclose(MSE()(pred, target), np.mean((pred - target) ** 2), **TIGHT)
    g = MSE().grad(pred, target)
    np.testing.assert_allclose(g, 2 * (pred - target) / pred.size, **TIGHT)
    np.testing.assert_allclose(dt.grad(lambda p: MSE()(p, target))(pred), g, **TIGHT)
    np.testing.assert_allclose(np.reshape(dt.jacfwd(lambda p: MSE()(p, target))(pred), shape),
                               g, **TIGHT)
