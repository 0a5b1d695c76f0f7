"""Worked examples from the backpropagation literature.

Every expected value below is derived by hand (the chain rule, written out in the
comments) and evaluated with plain ``math`` / ``numpy``: dualtape never computes its own
reference.  Each example is checked in forward mode (``jvp`` / ``jacfwd``) and reverse
mode (``grad`` / ``vjp`` / ``jacrev``).

Sources of the examples: C. Olah, "Calculus on Computational Graphs: Backpropagation"
(e = (a + b)(b + 1)); Baydin, Pearlmutter, Radul & Siskind, "Automatic differentiation
in machine learning: a survey", tables 2 and 3 (f = ln x1 + x1 x2 - sin x2); the
standard derivations of logistic regression, softmax cross-entropy backprop and
backpropagation through time; Siskind & Pearlmutter, "Perturbation confusion and
referential transparency" (d/dx [x * d/dy (x + y)]).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import dualtape as dt

TIGHT = dict(rtol=1e-12, atol=1e-12)


def close(got, want, **kw):
    tol = {**TIGHT, **kw}
    got = np.asarray(got, dtype=float)
    want = np.asarray(want, dtype=float)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, **tol)


# ======================================================================================
# 1. e = (a + b)(b + 1) at a = 2, b = 1
# ======================================================================================
#
# Graph:  c = a + b,  d = b + 1,  e = c * d.
# Values: c = 3, d = 2, e = 6.
# Local derivatives (edges): dc/da = 1, dc/db = 1, dd/db = 1, de/dc = d = 2, de/dd = c = 3.
#
# Forward mode, seed a (da = 1, db = 0):
#   dc = 1*1 + 1*0 = 1;  dd = 1*0 = 0;  de = d*dc + c*dd = 2*1 + 3*0 = 2   -> de/da = 2
# Forward mode, seed b (da = 0, db = 1):
#   dc = 1;  dd = 1;  de = 2*1 + 3*1 = 5                                   -> de/db = 5
# Reverse mode, seed ebar = 1:
#   cbar = ebar * d = 2;  dbar = ebar * c = 3
#   abar = cbar * 1 = 2;  bbar = cbar * 1 + dbar * 1 = 5
# Closed form: de/da = b + 1 = 2,  de/db = (b + 1) + (a + b) = 2b + a + 1 = 5.

def e_fn(a, b):
    return (a + b) * (b + 1)


A, B = 2.0, 1.0
DE_DA, DE_DB = 2.0, 5.0


def test_olah_value():
    close(e_fn(A, B), 6.0)


def test_olah_forward_one_jvp_per_input():
    out, de_da = dt.jvp(e_fn, (A, B), (1.0, 0.0))
    close(out, 6.0)
    close(de_da, DE_DA)
    out, de_db = dt.jvp(e_fn, (A, B), (0.0, 1.0))
    close(de_db, DE_DB)


def test_olah_forward_hand_built_duals():
    a = dt.Dual(A, 1.0)         # perturb a only
    b = dt.Dual(B, 0.0)
    e = e_fn(a, b)
    close(e.primal, 6.0)
    close(e.tangent, DE_DA)
    e = e_fn(dt.Dual(A, 0.0), dt.Dual(B, 1.0))
    close(e.tangent, DE_DB)


def test_olah_reverse_one_sweep():
    val, (ga, gb) = dt.value_and_grad(e_fn, argnums=(0, 1))(A, B)
    close(val, 6.0)
    close(ga, DE_DA)
    close(gb, DE_DB)
    close(dt.grad(e_fn)(A, B), DE_DA)
    close(dt.grad(e_fn, argnums=1)(A, B), DE_DB)


def test_olah_jacobians_both_modes():
    for jac in (dt.jacfwd, dt.jacrev):
        ja, jb = jac(e_fn, argnums=(0, 1))(A, B)
        close(ja, DE_DA)
        close(jb, DE_DB)


def test_olah_intermediate_nodes_forward():
    # Tangents of every node (c, d, e) for each seed, read off the table above.
    def nodes(a, b):
        c = a + b
        d = b + 1
        return c, d, c * d

    _, (dc, dd, de) = dt.jvp(nodes, (A, B), (1.0, 0.0))
    close(dc, 1.0)
    close(dd, 0.0)
    close(de, 2.0)
    _, (dc, dd, de) = dt.jvp(nodes, (A, B), (0.0, 1.0))
    close(dc, 1.0)
    close(dd, 1.0)
    close(de, 5.0)


def test_olah_intermediate_nodes_reverse():
    # Backpropagate stage by stage, as in the hand derivation: first e = c*d gives the
    # adjoints of the intermediate nodes, cbar = d = 2 and dbar = c = 3; then those are
    # pulled back through (a, b) -> (c, d) = (a + b, b + 1).
    (c, d), pull_cd = dt.vjp(lambda a, b: (a + b, b + 1), A, B)
    close(c, 3.0)
    close(d, 2.0)
    e, pull_e = dt.vjp(lambda c, d: c * d, c, d)
    cbar, dbar = pull_e(1.0)
    close(cbar, 2.0)
    close(dbar, 3.0)
    abar, bbar = pull_cd((cbar, dbar))
    close(abar, DE_DA)
    close(bbar, DE_DB)
    # Sensitivity of e to each intermediate node, by grad with the node as the input.
    close(dt.grad(lambda c: c * d)(c), 2.0)
    close(dt.grad(lambda d: c * d)(d), 3.0)


# ======================================================================================
# 2. f(x1, x2) = ln(x1) + x1 x2 - sin(x2) at (2, 5)   (Baydin et al., tables 2 and 3)
# ======================================================================================
#
# Evaluation trace:
#   v_-1 = x1 = 2                v_0 = x2 = 5
#   v1 = ln v_-1 = ln 2          v2 = v_-1 * v0 = 10
#   v3 = sin v0 = sin 5          v4 = v1 + v2 = 10.693...
#   v5 = v4 - v3 = 10.693 + 0.959 = 11.652...   (sin 5 = -0.9589...)
#
# Forward tangent trace, seed x1 (dv_-1 = 1, dv0 = 0):
#   dv1 = dv_-1 / v_-1 = 1/2;  dv2 = dv_-1 * v0 + v_-1 * dv0 = 5;  dv3 = cos v0 * dv0 = 0
#   dv4 = dv1 + dv2 = 5.5;  dv5 = dv4 - dv3 = 5.5                  -> df/dx1 = 1/x1 + x2
# Seed x2 (dv_-1 = 0, dv0 = 1):
#   dv1 = 0;  dv2 = v_-1 = 2;  dv3 = cos 5;  dv4 = 2;  dv5 = 2 - cos 5 = 1.7163...
#                                                                  -> df/dx2 = x1 - cos x2
# Reverse adjoint trace, v5bar = 1:
#   v4bar = 1; v3bar = -1; v1bar = v4bar = 1; v2bar = v4bar = 1
#   v0bar = v3bar * cos v0 + v2bar * v_-1 = 2 - cos 5
#   v_-1bar = v2bar * v0 + v1bar / v_-1 = 5 + 0.5 = 5.5

X1, X2 = 2.0, 5.0
F_VAL = math.log(2.0) + 10.0 - math.sin(5.0)
DF_DX1 = 1.0 / X1 + X2           # 5.5
DF_DX2 = X1 - math.cos(X2)       # 1.716337814536...


def baydin_f(x1, x2):
    return np.log(x1) + x1 * x2 - np.sin(x2)


def test_baydin_constants_by_hand():
    # Sanity of the hand-written numbers themselves (no dualtape involved).
    assert DF_DX1 == 5.5
    assert abs(DF_DX2 - 1.7163378145367738) < 1e-15
    assert abs(F_VAL - 11.652071455223084) < 1e-12


def test_baydin_forward_one_jvp_per_input():
    out, d1 = dt.jvp(baydin_f, (X1, X2), (1.0, 0.0))
    close(out, F_VAL)
    close(d1, DF_DX1)
    out, d2 = dt.jvp(baydin_f, (X1, X2), (0.0, 1.0))
    close(out, F_VAL)
    close(d2, DF_DX2)


def test_baydin_forward_tangent_trace():
    def trace(x1, x2):
        v1 = np.log(x1)
        v2 = x1 * x2
        v3 = np.sin(x2)
        v4 = v1 + v2
        v5 = v4 - v3
        return v1, v2, v3, v4, v5

    _, tans = dt.jvp(trace, (X1, X2), (1.0, 0.0))
    for got, want in zip(tans, (0.5, 5.0, 0.0, 5.5, 5.5)):
        close(got, want)
    _, tans = dt.jvp(trace, (X1, X2), (0.0, 1.0))
    c5 = math.cos(5.0)
    for got, want in zip(tans, (0.0, 2.0, c5, 2.0, 2.0 - c5)):
        close(got, want)


def test_baydin_reverse_one_grad():
    val, (g1, g2) = dt.value_and_grad(baydin_f, argnums=(0, 1))(X1, X2)
    close(val, F_VAL)
    close(g1, DF_DX1)
    close(g2, DF_DX2)


def test_baydin_vector_input_both_modes():
    # The same function of one vector argument x = (x1, x2): the gradient is the row
    # (1/x1 + x2, x1 - cos x2); jacfwd needs n = 2 directions, jacrev one sweep.
    def f(x):
        return np.log(x[0]) + x[0] * x[1] - np.sin(x[1])

    x = np.array([X1, X2])
    want = np.array([DF_DX1, DF_DX2])
    close(dt.grad(f)(x), want)
    close(dt.jacfwd(f)(x), want)
    close(dt.jacrev(f)(x), want)
    close(dt.jacfwd(f, chunk_size=1)(x), want)


# ======================================================================================
# 3. Logistic regression: L(w) = 1/2 ||w||^2 - lam * log sigma(w^T x)
# ======================================================================================
#
# With z = w^T x and sigma(z) = 1 / (1 + exp(-z)):
#   sigma'(z) = sigma(z) (1 - sigma(z))
#   d/dz log sigma(z) = sigma'(z) / sigma(z) = 1 - sigma(z)
#   dz/dw = x
# so  dL/dw = w - lam * (1 - sigma(w^T x)) * x.
# Differentiating once more (d sigma / dw = sigma (1 - sigma) x):
#   d2L/dw2 = I + lam * sigma(z) (1 - sigma(z)) x x^T.
#
# Concrete point: w = (0.5, -1, 2), x = (1, 2, -0.5), lam = 0.3
#   z = 0.5 - 2 - 1 = -2.5;  sigma(-2.5) = 1 / (1 + e^2.5) = 0.0758581800...

W_LR = np.array([0.5, -1.0, 2.0])
X_LR = np.array([1.0, 2.0, -0.5])
LAM = 0.3


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def logreg_loss(w, x=X_LR, lam=LAM):
    return 0.5 * np.sum(w * w) - lam * np.log(sigmoid(w @ x))


def logreg_grad_closed_form(w, x, lam):
    s = 1.0 / (1.0 + math.exp(-float(w @ x)))
    return w - lam * (1.0 - s) * x


def test_logreg_closed_form_numbers():
    z = float(W_LR @ X_LR)
    assert z == -2.5
    s = 1.0 / (1.0 + math.exp(2.5))
    assert abs(s - 0.07585818002124355) < 1e-15
    close(logreg_grad_closed_form(W_LR, X_LR, LAM), W_LR - LAM * (1 - s) * X_LR)


@pytest.mark.parametrize("mode", ["grad", "jacfwd", "jacrev", "jvp-columns", "vjp"])
def test_logreg_gradient(mode):
    want = logreg_grad_closed_form(W_LR, X_LR, LAM)
    if mode == "grad":
        got = dt.grad(logreg_loss)(W_LR)
    elif mode == "jacfwd":
        got = dt.jacfwd(logreg_loss)(W_LR)
    elif mode == "jacrev":
        got = dt.jacrev(logreg_loss)(W_LR)
    elif mode == "jvp-columns":
        got = np.array([dt.jvp(logreg_loss, (W_LR,), (e,))[1] for e in np.eye(3)])
    else:
        out, pull = dt.vjp(logreg_loss, W_LR)
        (got,) = pull(np.float64(1.0))
    close(got, want)


def test_logreg_gradient_other_points():
    rng = np.random.default_rng(1)
    for _ in range(5):
        w, x = rng.standard_normal(4), rng.standard_normal(4)
        lam = float(rng.uniform(0.1, 2.0))
        want = logreg_grad_closed_form(w, x, lam)
        close(dt.grad(logreg_loss)(w, x, lam), want)
        close(dt.jacfwd(logreg_loss)(w, x, lam), want)


@pytest.mark.parametrize("mode", ["fwd-over-fwd", "fwd-over-rev", "rev-over-fwd",
                                  "rev-over-rev"])
def test_logreg_hessian(mode):
    s = 1.0 / (1.0 + math.exp(2.5))
    want = np.eye(3) + LAM * s * (1 - s) * np.outer(X_LR, X_LR)
    close(dt.hessian(logreg_loss, mode=mode)(W_LR), want)
    v = np.array([1.0, -2.0, 0.5])
    close(dt.hvp(logreg_loss, W_LR, v), want @ v)


# ======================================================================================
# 4. Two-layer tanh network with softmax cross-entropy
# ======================================================================================
#
#   a1 = W1 x + b1,  h = tanh(a1),  z = W2 h + b2,  p = softmax(z),  L = -log p[y]
#
# Backprop by hand:
#   L = -z[y] + log sum_k exp z_k   =>  dL/dz_k = p_k - [k == y]      i.e. delta2 = p - onehot(y)
#   z = W2 h + b2                   =>  dL/dW2 = delta2 h^T,  dL/db2 = delta2,  dL/dh = W2^T delta2
#   h = tanh(a1), tanh' = 1 - tanh^2 =>  delta1 = dL/da1 = (W2^T delta2) * (1 - h^2)
#   a1 = W1 x + b1                  =>  dL/dW1 = delta1 x^T,  dL/db1 = delta1
#
# Batch of B rows X (B x n_in), mean loss L = (1/B) sum_i -log P[i, y_i]:
#   Delta2 = (P - Y) / B  (rows),  dW2 = Delta2^T H,  db2 = sum_i Delta2[i]
#   Delta1 = (Delta2 W2) * (1 - H^2),  dW1 = Delta1^T X,  db1 = sum_i Delta1[i]

N_IN, N_HID, N_OUT = 4, 5, 3


def _net_params(seed=0):
    rng = np.random.default_rng(seed)
    W1 = rng.standard_normal((N_HID, N_IN)) * 0.7
    b1 = rng.standard_normal(N_HID) * 0.1
    W2 = rng.standard_normal((N_OUT, N_HID)) * 0.7
    b2 = rng.standard_normal(N_OUT) * 0.1
    return W1, b1, W2, b2


def softmax(z, axis=-1):
    zmax = np.max(z, axis=axis, keepdims=True)   # shift for stability; cancels exactly
    ez = np.exp(z - zmax)
    return ez / np.sum(ez, axis=axis, keepdims=True)


def net_loss(W1, b1, W2, b2, x, y):
    h = np.tanh(W1 @ x + b1)
    z = W2 @ h + b2
    p = softmax(z)
    return -np.log(p[y])


def net_loss_batch(W1, b1, W2, b2, X, y):
    H = np.tanh(X @ W1.T + b1)
    Z = H @ W2.T + b2
    P = softmax(Z, axis=1)
    return np.mean(-np.log(P[np.arange(X.shape[0]), y]))


def net_backprop_by_hand(W1, b1, W2, b2, x, y):
    h = np.tanh(W1 @ x + b1)
    z = W2 @ h + b2
    p = np.exp(z - z.max())
    p /= p.sum()
    delta2 = p - np.eye(N_OUT)[y]
    dW2 = np.outer(delta2, h)
    db2 = delta2
    delta1 = (W2.T @ delta2) * (1.0 - h ** 2)
    dW1 = np.outer(delta1, x)
    db1 = delta1
    return dW1, db1, dW2, db2


def net_backprop_batch_by_hand(W1, b1, W2, b2, X, y):
    Bn = X.shape[0]
    H = np.tanh(X @ W1.T + b1)
    Z = H @ W2.T + b2
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    D2 = (P - np.eye(N_OUT)[y]) / Bn
    dW2 = D2.T @ H
    db2 = D2.sum(axis=0)
    D1 = (D2 @ W2) * (1.0 - H ** 2)
    dW1 = D1.T @ X
    db1 = D1.sum(axis=0)
    return dW1, db1, dW2, db2


NET_X = np.array([0.3, -1.2, 0.8, 2.0])


@pytest.mark.parametrize("y", [0, 1, 2])
def test_two_layer_net_reverse(y):
    params = _net_params()
    want = net_backprop_by_hand(*params, NET_X, y)
    got = dt.grad(net_loss, argnums=(0, 1, 2, 3))(*params, NET_X, y)
    for g, w in zip(got, want):
        close(g, w)


@pytest.mark.parametrize("y", [0, 2])
def test_two_layer_net_forward(y):
    params = _net_params()
    want = net_backprop_by_hand(*params, NET_X, y)
    got = dt.jacfwd(net_loss, argnums=(0, 1, 2, 3))(*params, NET_X, y)
    for g, w in zip(got, want):
        close(g, w)
    got = dt.jacrev(net_loss, argnums=(0, 1, 2, 3))(*params, NET_X, y)
    for g, w in zip(got, want):
        close(g, w)


def test_two_layer_net_loss_value_and_delta2():
    # delta2 = p - onehot(y) is also the gradient w.r.t. the logits z directly.
    params = _net_params()
    W1, b1, W2, b2 = params
    h = np.tanh(W1 @ NET_X + b1)
    z = W2 @ h + b2
    p = np.exp(z) / np.exp(z).sum()
    y = 1

    def ce(z):
        return -np.log(softmax(z)[y])

    val, g = dt.value_and_grad(ce)(z)
    close(val, -math.log(p[y]))
    close(g, p - np.eye(N_OUT)[y])
    close(dt.jacfwd(ce)(z), p - np.eye(N_OUT)[y])
    close(net_loss(*params, NET_X, y), -math.log(p[y]))


def test_two_layer_net_dict_params():
    # The same gradients, with the parameters passed as one dict (a pytree).
    W1, b1, W2, b2 = _net_params(3)
    y = 2

    def loss(p):
        return net_loss(p["W1"], p["b1"], p["W2"], p["b2"], NET_X, y)

    got = dt.grad(loss)({"W1": W1, "b1": b1, "W2": W2, "b2": b2})
    want = net_backprop_by_hand(W1, b1, W2, b2, NET_X, y)
    for k, w in zip(("W1", "b1", "W2", "b2"), want):
        close(got[k], w)


@pytest.mark.parametrize("mode", ["grad", "jacfwd", "jacrev"])
def test_two_layer_net_batch_mean_loss(mode):
    params = _net_params(7)
    rng = np.random.default_rng(11)
    X = rng.standard_normal((6, N_IN))
    y = np.array([0, 2, 1, 1, 0, 2])
    want = net_backprop_batch_by_hand(*params, X, y)
    fn = {"grad": dt.grad, "jacfwd": dt.jacfwd, "jacrev": dt.jacrev}[mode]
    got = fn(net_loss_batch, argnums=(0, 1, 2, 3))(*params, X, y)
    for g, w in zip(got, want):
        close(g, w)
    # The batch mean equals the mean of the single-example gradients.
    singles = [net_backprop_by_hand(*params, X[i], y[i]) for i in range(6)]
    for j in range(4):
        close(got[j], np.mean([s[j] for s in singles], axis=0))


# ======================================================================================
# 5. Hinge loss and an RNN through time
# ======================================================================================
#
# Hinge: l(w) = max(0, 1 - y w^T x).
#   Active side (1 - y w^T x > 0):   dl/dw = -y x       (derivative of 1 - y w^T x)
#   Inactive side (1 - y w^T x < 0): dl/dw = 0           (constant 0 wins the max)
# The kink at y w^T x = 1 is avoided.

def hinge(w, x, y):
    return np.maximum(0.0, 1.0 - y * (w @ x))


HX = np.array([1.0, -2.0, 0.5])


@pytest.mark.parametrize("w, y, active", [
    (np.array([0.2, 0.1, -0.4]), 1.0, True),     # w.x = 0.2 - 0.2 - 0.2 = -0.2; margin 1.2
    (np.array([0.2, 0.1, -0.4]), -1.0, True),    # y w.x = 0.2; margin 0.8
    (np.array([1.0, -1.0, 2.0]), 1.0, False),    # w.x = 1 + 2 + 1 = 4; 1 - 4 < 0
    (np.array([1.0, -1.0, 2.0]), -0.1, True),    # y w.x = -0.4; margin 1.4
])
def test_hinge_away_from_kink(w, y, active):
    margin = 1.0 - y * float(w @ HX)
    assert abs(margin) > 0.1 and (margin > 0) == active
    want = -y * HX if active else np.zeros(3)
    close(dt.grad(hinge)(w, HX, y), want)
    close(dt.jacfwd(hinge)(w, HX, y), want)
    close(dt.jacrev(hinge)(w, HX, y), want)
    # and with respect to x: -y w on the active side
    close(dt.grad(hinge, argnums=1)(w, HX, y), -y * w if active else np.zeros(3))
    close(dt.jvp(lambda w: hinge(w, HX, y), (w,), (np.ones(3),))[1], np.sum(want))


def test_hinge_batch_mean():
    # Mean hinge over a batch: gradient is -(1/B) sum over active i of y_i x_i.
    X = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0], [-1.0, 0.5]])
    y = np.array([1.0, -1.0, 1.0, -1.0])
    w = np.array([0.5, 0.2])
    margins = 1.0 - y * (X @ w)      # [0.5, 1.4, 0.3, 0.4]: all active, none at 0
    assert np.all(np.abs(margins) > 0.1)

    def loss(w):
        return np.mean(np.maximum(0.0, 1.0 - y * (X @ w)))

    active = margins > 0
    want = -(y[active, None] * X[active]).sum(axis=0) / len(y)
    close(dt.grad(loss)(w), want)
    close(dt.jacfwd(loss)(w), want)


# RNN: h_t = tanh(W h_{t-1} + U x_t), t = 1..T; loss = sum_i h_T[i].
# Backpropagation through time, by hand:
#   g_T = dloss/dh_T = ones
#   for t = T..1:
#       a_t = W h_{t-1} + U x_t,   da_t = g_t * (1 - h_t^2)          (tanh')
#       dW += outer(da_t, h_{t-1}),   dU += outer(da_t, x_t),   dx_t = U^T da_t
#       g_{t-1} = W^T da_t                                             (flows to h_{t-1})
#   dloss/dh_0 = g_0.

def rnn_loss(W, U, xs, h0):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
    return np.sum(h)


def bptt_by_hand(W, U, xs, h0):
    hs = [h0]
    for t in range(xs.shape[0]):
        hs.append(np.tanh(W @ hs[-1] + U @ xs[t]))
    dW = np.zeros_like(W)
    dU = np.zeros_like(U)
    dxs = np.zeros_like(xs)
    g = np.ones_like(h0)
    for t in range(xs.shape[0], 0, -1):
        da = g * (1.0 - hs[t] ** 2)
        dW += np.outer(da, hs[t - 1])
        dU += np.outer(da, xs[t - 1])
        dxs[t - 1] = U.T @ da
        g = W.T @ da
    return dW, dU, dxs, g


def _rnn_setup(T=5, nh=3, nx=2, seed=4):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((nh, nh)) * 0.6
    U = rng.standard_normal((nh, nx)) * 0.6
    xs = rng.standard_normal((T, nx))
    h0 = rng.standard_normal(nh) * 0.3
    return W, U, xs, h0


@pytest.mark.parametrize("T", [1, 2, 5, 12])
def test_rnn_bptt_reverse(T):
    W, U, xs, h0 = _rnn_setup(T=T)
    want = bptt_by_hand(W, U, xs, h0)
    got = dt.grad(rnn_loss, argnums=(0, 1, 2, 3))(W, U, xs, h0)
    for g, w in zip(got, want):
        close(g, w)


@pytest.mark.parametrize("T", [1, 5])
def test_rnn_bptt_forward(T):
    W, U, xs, h0 = _rnn_setup(T=T, seed=9)
    want = bptt_by_hand(W, U, xs, h0)
    got = dt.jacfwd(rnn_loss, argnums=(0, 1, 2, 3))(W, U, xs, h0)
    for g, w in zip(got, want):
        close(g, w)
    # one jvp along a direction equals <grad, direction>
    rng = np.random.default_rng(0)
    vW = rng.standard_normal(W.shape)
    _, d = dt.jvp(lambda W: rnn_loss(W, U, xs, h0), (W,), (vW,))
    close(d, np.sum(want[0] * vW))


def test_rnn_one_step_by_hand_numbers():
    # T = 1, scalar state: h1 = tanh(w h0 + u x1); loss = h1.
    # dloss/dw = (1 - h1^2) h0,  dloss/du = (1 - h1^2) x1.
    w, u, x1, h0 = 0.5, -1.5, 0.4, 2.0
    a = w * h0 + u * x1                 # 1.0 - 0.6 = 0.4
    s = 1.0 - math.tanh(a) ** 2
    W = np.array([[w]])
    U = np.array([[u]])
    xs = np.array([[x1]])
    h0v = np.array([h0])
    gW, gU = dt.grad(rnn_loss, argnums=(0, 1))(W, U, xs, h0v)
    close(gW, [[s * h0]])
    close(gU, [[s * x1]])


# ======================================================================================
# 6. Perturbation confusion and nested derivatives
# ======================================================================================
#
# d/dx [ x * (d/dy (x + y))|_{y=1} ] at x = 1.
# The inner derivative d/dy (x + y) = 1 for every x, so the function is x * 1 = x and
# its derivative is 1.  An implementation that confuses the two perturbations (lets the
# inner derivative see the outer epsilon attached to x) gets 2.

def inner_fwd(x):
    return dt.jvp(lambda y: x + y, (1.0,), (1.0,))[1]


def inner_rev(x):
    return dt.grad(lambda y: x + y)(1.0)


def inner_jacfwd(x):
    return dt.jacfwd(lambda y: x + y)(1.0)


def inner_jacrev(x):
    return dt.jacrev(lambda y: x + y)(1.0)


def inner_vjp(x):
    return dt.vjp(lambda y: x + y, 1.0)[1](1.0)[0]


INNERS = {"jvp": inner_fwd, "grad": inner_rev, "jacfwd": inner_jacfwd,
          "jacrev": inner_jacrev, "vjp": inner_vjp}


def outer_jvp(f, x):
    return dt.jvp(f, (x,), (1.0,))[1]


def outer_grad(f, x):
    return dt.grad(f)(x)


def outer_dual(f, x):
    return f(dt.Dual(x, 1.0)).tangent


def outer_jacfwd(f, x):
    return dt.jacfwd(f)(x)


def outer_jacrev(f, x):
    return dt.jacrev(f)(x)


def outer_vjp(f, x):
    return dt.vjp(f, x)[1](1.0)[0]


OUTERS = {"jvp": outer_jvp, "grad": outer_grad, "dual": outer_dual, "jacfwd": outer_jacfwd,
          "jacrev": outer_jacrev, "vjp": outer_vjp}


@pytest.mark.parametrize("inner", sorted(INNERS))
@pytest.mark.parametrize("outer", sorted(OUTERS))
def test_perturbation_confusion(outer, inner):
    inner_d = INNERS[inner]
    close(OUTERS[outer](lambda x: x * inner_d(x), 1.0), 1.0)


@pytest.mark.parametrize("inner", sorted(INNERS))
@pytest.mark.parametrize("outer", sorted(OUTERS))
def test_perturbation_confusion_inner_depends_on_x(outer, inner):
    # Variant where the inner derivative does depend on x:
    #   d/dy (x * y) = x,  so  g(x) = x * x = x^2  and  g'(x) = 2x = 3 at x = 1.5.
    # Confusion would add the outer tangent into the inner one.
    def inner_d(x):
        if inner == "jvp":
            return dt.jvp(lambda y: x * y, (1.0,), (1.0,))[1]
        if inner == "grad":
            return dt.grad(lambda y: x * y)(1.0)
        if inner == "jacfwd":
            return dt.jacfwd(lambda y: x * y)(1.0)
        if inner == "jacrev":
            return dt.jacrev(lambda y: x * y)(1.0)
        return dt.vjp(lambda y: x * y, 1.0)[1](1.0)[0]

    close(OUTERS[outer](lambda x: x * inner_d(x), 1.5), 3.0)


@pytest.mark.parametrize("outer", sorted(OUTERS))
def test_closure_capturing_outer_traced_value(outer):
    # h(x) = d/dy sin(x y) at y = 2 = x cos(2x)   (the closure captures the traced x)
    # h'(x) = cos(2x) - 2x sin(2x);  at x = 0.5: cos 1 - sin 1.
    def h(x):
        return dt.grad(lambda y: np.sin(x * y))(2.0)

    want = math.cos(1.0) - math.sin(1.0)
    close(OUTERS[outer](h, 0.5), want)

    def h_fwd(x):
        return dt.jvp(lambda y: np.sin(x * y), (2.0,), (1.0,))[1]

    close(OUTERS[outer](h_fwd, 0.5), want)


@pytest.mark.parametrize("outer", sorted(OUTERS))
@pytest.mark.parametrize("inner", ["grad", "jvp", "jacfwd", "jacrev"])
def test_derivative_inside_differentiated_function(outer, inner):
    # g(x) = x * [d/dy (x y^2)]_{y = x}.  Inner: d/dy (x y^2) = 2 x y, at y = x: 2 x^2.
    # So g(x) = 2 x^3 and g'(x) = 6 x^2 = 54 at x = 3.  (The inner derivative is evaluated
    # at a traced point and its result is used by the outer computation.)
    def g(x):
        f = lambda y: x * y ** 2
        if inner == "grad":
            d = dt.grad(f)(x)
        elif inner == "jvp":
            d = dt.jvp(f, (x,), (1.0,))[1]
        elif inner == "jacfwd":
            d = dt.jacfwd(f)(x)
        else:
            d = dt.jacrev(f)(x)
        return x * d

    close(g(3.0), 54.0)             # value 2 * 27
    close(OUTERS[outer](g, 3.0), 54.0)


def test_nested_three_levels():
    # k(x) = d/dx [ d/dx x^4 ] = 12 x^2 via grad(grad), then a third derivative 24 x,
    # each level a different mode:  jvp of grad of jacfwd.
    #   x^4 -> 4x^3 -> 12x^2 -> 24x;  at x = 0.5: 12.
    d1 = lambda x: dt.jacfwd(lambda t: t ** 4)(x)          # 4x^3
    d2 = lambda x: dt.grad(d1)(x)                          # 12x^2
    close(d2(0.5), 3.0)
    close(dt.jvp(d2, (0.5,), (1.0,))[1], 12.0)
    close(dt.jacrev(d2)(0.5), 12.0)


def test_value_and_grad_of_function_using_inner_value_and_grad():
    # Both the inner value and the inner gradient are returned and used:
    #   inner(x) = (v, g) with v = (x y)^2 at y = 2 -> 4 x^2 and g = d/dy (x y)^2 = 2 x^2 y
    #   at y = 2 -> 4 x^2.  outer(x) = v + x g = 4x^2 + 4x^3; derivative 8x + 12x^2.
    def outer_fn(x):
        v, g = dt.value_and_grad(lambda y: (x * y) ** 2)(2.0)
        return v + x * g

    x = 1.5
    close(outer_fn(x), 4 * x ** 2 + 4 * x ** 3)
    close(dt.grad(outer_fn)(x), 8 * x + 12 * x ** 2)
    close(dt.jvp(outer_fn, (x,), (1.0,))[1], 8 * x + 12 * x ** 2)


# ======================================================================================
# 7. Second derivatives through primitives with singular partials (divide, log, sqrt,
#    power), at a point where an inner tangent is exactly zero
# ======================================================================================
#
# At x = 0 the inner derivative of 1 + x^2 is 2x = 0, yet its derivative (2) is not:
# the second derivative must keep that term.  (Regression: between 60fc36c and 8d70ee5
# the NaN guard where(t == 0, 0, p * t) of these primitives dropped it, giving 0 for the
# fwd-over-fwd / rev-over-fwd Hessians below at x = 0, and 0.5 instead of 1 for the
# fwd-over-rev / rev-over-rev Hessians and hvp of x log(2 + x).)
#   f = 1 / (1 + x^2):  f' = -2x / (1 + x^2)^2
#                       f'' = -2 / (1 + x^2)^2 + 8x^2 / (1 + x^2)^3      -> -2 at 0
#   f = log(1 + x^2):   f' = 2x / (1 + x^2),  f'' = 2 (1 - x^2) / (1 + x^2)^2 -> 2 at 0
#   f = sqrt(1 + x^2):  f' = x / sqrt(1 + x^2),  f'' = (1 + x^2)^(-3/2)      -> 1 at 0
#   f = (1 + x^2)^1.5:  f' = 3x (1 + x^2)^0.5
#                       f'' = 3 (1 + x^2)^0.5 + 3x^2 (1 + x^2)^-0.5          -> 3 at 0
# And where a *cotangent* is zero in the inner reverse pass:
#   f = x log(2 + x):   f' = log(2 + x) + x / (2 + x)
#                       d/dx log(2 + x) = 1/(2 + x)
#                       d/dx [x/(2 + x)] = ((2 + x) - x)/(2 + x)^2 = 2/(2 + x)^2
#                       f'' = 1/(2 + x) + 2/(2 + x)^2,  f''(0) = 1/2 + 2/4 = 1.
#   (The inner reverse pass sends the cotangent x, which is 0 at x = 0, into log.)
#
# At x = 0.5 nothing is exactly zero, so those points serve as controls:
#   1/(1+x^2):  -2/(1.25)^2 + 8*0.25/(1.25)^3 = -1.28 + 1.024 = -0.256
#   log(1+x^2): 2*0.75/1.5625 = 0.96
#   sqrt(1+x^2): 1.25^-1.5;   (1+x^2)^1.5: 3*1.25^0.5 + 0.75*1.25^-0.5
#   x log(2+x): 1/2.5 + 2/6.25 = 0.4 + 0.32 = 0.72

SINGULAR_CASES = {
    "1/(1+x^2)": (lambda x: 1.0 / (1.0 + x * x), {0.0: -2.0, 0.5: -0.256}),
    "log(1+x^2)": (lambda x: np.log(1.0 + x * x), {0.0: 2.0, 0.5: 0.96}),
    "sqrt(1+x^2)": (lambda x: np.sqrt(1.0 + x * x), {0.0: 1.0, 0.5: 1.25 ** -1.5}),
    "(1+x^2)^1.5": (lambda x: (1.0 + x * x) ** 1.5,
                    {0.0: 3.0, 0.5: 3 * 1.25 ** 0.5 + 0.75 * 1.25 ** -0.5}),
    "x*log(2+x)": (lambda x: x * np.log(2.0 + x), {0.0: 1.0, 0.5: 0.72}),
}

HESSIAN_MODES = ("fwd-over-fwd", "fwd-over-rev", "rev-over-fwd", "rev-over-rev")

@pytest.mark.parametrize("mode", HESSIAN_MODES)
@pytest.mark.parametrize("x0", [0.0, 0.5])
@pytest.mark.parametrize("name", sorted(SINGULAR_CASES))
def test_second_derivative_through_singular_partials(name, x0, mode):
    f, pts = SINGULAR_CASES[name]
    h = dt.hessian(lambda x: np.sum(f(x)), mode=mode)(np.array([x0]))
    close(h, [[pts[x0]]])


@pytest.mark.parametrize("x0", [0.0, 0.5])
def test_hvp_x_log_2_plus_x(x0):
    # hvp is forward-over-reverse: H v with v = 1 is f''(x0) (1 at 0, 0.72 at 0.5).
    f, pts = SINGULAR_CASES["x*log(2+x)"]
    close(dt.hvp(lambda x: np.sum(f(x)), np.array([x0]), np.ones(1)), [pts[x0]])
