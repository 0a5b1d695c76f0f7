"""The benchmark workloads, each written once against a small namespace adapter so
plain numpy, dualtape and every peer run literally the same sequence of operations.

Also the hand-written derivatives used as references: MLP backprop, and the Rosenbrock
gradient, Hessian-vector product and (tridiagonal) Hessian.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np


@dataclass(frozen=True)
class Namespace:
    """The handful of array functions the workloads use, from one library."""

    name: str
    sin: Callable
    cos: Callable
    tanh: Callable
    exp: Callable
    log: Callable
    sum: Callable           # sum(x)                   -> scalar
    sum_rows: Callable      # sum(x, axis=1, keepdims)  -> column
    max_rows: Callable      # max(x, axis=1, keepdims)  -> column
    mean: Callable          # mean(x)                   -> scalar


def numpy_like(name: str, m: Any) -> Namespace:
    """The adapter for any numpy-compatible module (numpy, dualtape.numpy, autograd.numpy,
    jax.numpy)."""
    return Namespace(
        name=name, sin=m.sin, cos=m.cos, tanh=m.tanh, exp=m.exp, log=m.log, sum=m.sum,
        sum_rows=lambda x: m.sum(x, axis=1, keepdims=True),
        max_rows=lambda x: m.max(x, axis=1, keepdims=True),
        mean=m.mean)


def torch_ns(torch: Any) -> Namespace:
    return Namespace(
        name="torch", sin=torch.sin, cos=torch.cos, tanh=torch.tanh, exp=torch.exp,
        log=torch.log, sum=torch.sum,
        sum_rows=lambda x: torch.sum(x, dim=1, keepdim=True),
        max_rows=lambda x: torch.amax(x, dim=1, keepdim=True),
        mean=torch.mean)


# ---- 1. a chain of elementwise operations -------------------------------------------
CHAIN_OPS = 200        # elementwise operations per call (plus one final sum)
_BLOCK = 10            # operations per block below


def make_chain(ns: Namespace, n_ops: int = CHAIN_OPS) -> Callable:
    """``f(x) = sum(y)`` where ``y`` comes from ``n_ops`` elementwise operations.

    Each block of 10 mixes unary functions, operations with constants and operations
    between two traced values; sin, tanh, cos and the division by ``e >= 0.55`` keep
    every intermediate bounded (|y| < 2.1) for any x in [-1, 1], so there are no
    overflows however long the chain.
    """
    if n_ops % _BLOCK:
        raise ValueError(f"n_ops must be a multiple of {_BLOCK}")
    blocks = n_ops // _BLOCK
    sin, cos, tanh, exp, total = ns.sin, ns.cos, ns.tanh, ns.exp, ns.sum

    def f(x):
        y = x
        for _ in range(blocks):
            s = sin(y)          # 1  unary
            s = s * 0.9         # 2  times a constant
            s = s + x           # 3  traced + traced
            t = tanh(s)         # 4  unary
            t = t / 1.7         # 5  divided by a constant
            e = exp(t)          # 6  unary, in (0.55, 1.8)
            p = e * y           # 7  traced * traced
            c = cos(p)          # 8  unary
            q = c / e           # 9  traced / traced
            y = q - 0.25        # 10 minus a constant
        return total(y)
    return f


def chain_input(size: int) -> np.ndarray:
    return np.linspace(-0.9, 0.8, size) if size > 1 else np.array([0.3])


# ---- 2. an MLP classifier ------------------------------------------------------------
MLP_SIZES = (256, 512, 512, 10)
MLP_BATCH = 256


def mlp_data(seed: int = 0) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Parameters ``[W1, b1, W2, b2, W3, b3]`` (float64), inputs X and one-hot labels Y."""
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(MLP_SIZES[:-1], MLP_SIZES[1:], strict=True):
        params.append(rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in))
        params.append(0.1 * rng.standard_normal(fan_out))
    X = rng.standard_normal((MLP_BATCH, MLP_SIZES[0]))
    labels = rng.integers(0, MLP_SIZES[-1], MLP_BATCH)
    Y = np.zeros((MLP_BATCH, MLP_SIZES[-1]))
    Y[np.arange(MLP_BATCH), labels] = 1.0
    return params, X, Y


def make_mlp_loss(ns: Namespace, X: Any, Y: Any) -> Callable:
    """``loss(W1, b1, W2, b2, W3, b3)``: mean softmax cross-entropy of a tanh MLP,
    with the log-sum-exp computed stably (the row maximum subtracted first)."""
    tanh, exp, log = ns.tanh, ns.exp, ns.log
    sum_rows, max_rows, mean = ns.sum_rows, ns.max_rows, ns.mean

    def loss(W1, b1, W2, b2, W3, b3):
        h1 = tanh(X @ W1 + b1)
        h2 = tanh(h1 @ W2 + b2)
        z = h2 @ W3 + b3
        zs = z - max_rows(z)
        logp = zs - log(sum_rows(exp(zs)))
        return -mean(sum_rows(Y * logp))
    return loss


def mlp_backprop(X: np.ndarray, Y: np.ndarray) -> Callable:
    """The hand-written gradient of :func:`make_mlp_loss` (plain numpy), returning
    ``(dW1, db1, dW2, db2, dW3, db3)``."""
    B = X.shape[0]
    XT = X.T

    def dtanh(g, h):
        # g * (1 - h**2) with one fresh array instead of three: large temporaries are
        # not free (glibc may hand freed 1 MiB buffers back to the OS, and the next
        # allocation then pays a page fault per 4 KiB).
        s = h * h
        np.subtract(1.0, s, out=s)
        s *= g
        return s

    def grads(W1, b1, W2, b2, W3, b3):
        h1 = np.tanh(X @ W1 + b1)
        h2 = np.tanh(h1 @ W2 + b2)
        z = h2 @ W3 + b3
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)            # softmax
        dz = (p - Y) / B                             # d loss / d logits
        dW3 = h2.T @ dz
        db3 = dz.sum(axis=0)
        da2 = dtanh(dz @ W3.T, h2)                   # through tanh
        dW2 = h1.T @ da2
        db2 = da2.sum(axis=0)
        da1 = dtanh(da2 @ W2.T, h1)
        dW1 = XT @ da1
        db1 = da1.sum(axis=0)
        return dW1, db1, dW2, db2, dW3, db3
    return grads


# ---- 3. Rosenbrock ------------------------------------------------------------------
def make_rosenbrock(ns: Namespace) -> Callable:
    total = ns.sum

    def f(x):
        a = x[:-1]
        return total(100.0 * (x[1:] - a ** 2) ** 2 + (1.0 - a) ** 2)
    return f


def rosen_input(n: int) -> tuple[np.ndarray, np.ndarray]:
    """A point and a direction, both deterministic and O(1)."""
    x = np.linspace(-1.2, 1.1, n)
    v = np.cos(np.arange(n) * 0.37)
    return x, v


def rosen_hessian_bands(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Diagonal and super-diagonal of the (tridiagonal) Rosenbrock Hessian, by hand."""
    diag = np.zeros_like(x)
    diag[:-1] += 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    diag[1:] += 200.0
    off = -400.0 * x[:-1]
    return diag, off


def rosen_hvp_exact(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    diag, off = rosen_hessian_bands(x)
    hv = diag * v
    hv[:-1] += off * v[1:]
    hv[1:] += off * v[:-1]
    return hv


def rosen_hessian_exact(x: np.ndarray) -> np.ndarray:
    diag, off = rosen_hessian_bands(x)
    return np.diag(diag) + np.diag(off, 1) + np.diag(off, -1)
