"""Neural-network layers and losses, each with its Jacobian in closed form.

Every layer is written with :mod:`dualtape.numpy`, so forward mode, reverse mode and
the sparsity tracer all go through it, and each exposes its Jacobian in the structure
it naturally has (dense, block diagonal, Kronecker, diagonal, diagonal plus low rank).
The tests compare every closed form against the Jacobians that ``dt.jacfwd``,
``dt.jacrev`` and ``dt.jacobian(..., structure="sparse")`` assemble.

Shapes: a layer takes one sample ``(n,)`` or a batch ``(B, n)`` (elementwise layers and
the softmaxes accept any leading batch axes).  A Jacobian of a batched call is the
Jacobian of the flattened output w.r.t. the flattened input (C order), as in
``dt.jacobian``; samples do not interact, hence the block-diagonal structures.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import numpy as dnp
from ._api import sparse as sp

__all__ = [
    "CrossEntropy", "DiagPlusLowRank", "Hinge", "Linear", "LogSoftmax", "MSE", "ReLU",
    "Sigmoid", "Softmax", "Tanh",
]


def _relu(x: Any) -> Any:
    # where, not maximum: maximum splits the tie at 0 (relu'(0) would be 0.5).  Testing
    # x <= 0 rather than x > 0 lets a NaN through as NaN.
    return dnp.where(x <= 0, 0.0, x)


def _onehot(y: Any, k: int) -> np.ndarray:
    """``(..., k)`` one-hot rows for integer labels ``y`` of shape ``(...)``."""
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"labels must be integers, got dtype {y.dtype}")
    return np.eye(k)[y]


def _param(a: Any) -> Any:
    """``a`` as a float array, or unchanged if it is traced."""
    a = dnp.asarray(a)
    if isinstance(a, np.ndarray) and not np.issubdtype(a.dtype, np.inexact):
        a = a.astype(float)
    return a


def _batch_size(z: Any) -> int:
    """Samples in ``z``: 1 for a single ``(K,)`` row, else the product of leading axes."""
    shape = dnp.shape(z)
    return int(np.prod(shape[:-1])) if len(shape) > 1 else 1


def _softmax_values(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ---- structured Jacobians -----------------------------------------------------------
class DiagPlusLowRank:
    """A block-diagonal matrix whose blocks are ``diag(d_s) + U_s V_sᵀ``.

    ``d`` has shape ``(..., K)`` and ``U``, ``V`` shape ``(..., K, r)``; the leading axes
    index the blocks (none: one block).  The matrix is square with ``shape == (N, N)``,
    ``N = d.size``, in the C order of ``d``.  Storage and products cost ``O(N r)``.
    """

    def __init__(self, d: np.ndarray, U: np.ndarray, V: np.ndarray) -> None:
        self.d = np.asarray(d, dtype=float)
        self.U = np.asarray(U, dtype=float)
        self.V = np.asarray(V, dtype=float)
        if self.U.shape != self.V.shape or self.U.shape[:-1] != self.d.shape:
            raise ValueError(f"need d (..., K) and U, V (..., K, r); got d {self.d.shape}, "
                             f"U {self.U.shape}, V {self.V.shape}")

    @property
    def shape(self) -> tuple[int, int]:
        return (self.d.size, self.d.size)

    @property
    def block_size(self) -> int:
        return self.d.shape[-1] if self.d.ndim else 0

    def blocks(self) -> np.ndarray:
        """The dense blocks, shape ``(nblocks, K, K)``."""
        K = self.block_size
        d = self.d.reshape(-1, K)
        U = self.U.reshape(d.shape + (-1,))
        V = self.V.reshape(d.shape + (-1,))
        return d[:, :, None] * np.eye(K) + U @ np.swapaxes(V, -1, -2)

    def tosparse(self) -> Any:
        """The block-diagonal matrix as a ``scipy.sparse.csr_array`` of shape (N, N)."""
        return sp.block_diag(list(self.blocks()), format="csr")

    def toarray(self) -> np.ndarray:
        """The matrix as a dense ``(N, N)`` array."""
        b = self.blocks()
        return b[0].copy() if len(b) == 1 else self.tosparse().toarray()

    def matvec(self, v: Any) -> np.ndarray:
        """``J @ v`` for ``v`` of size N (any shape); returns shape ``(N,)``."""
        v = np.reshape(v, self.d.shape)
        return (self.d * v + (self.U @ (np.swapaxes(self.V, -1, -2) @ v[..., None]))[..., 0]
                ).ravel()

    def rmatvec(self, v: Any) -> np.ndarray:
        """``Jᵀ @ v`` (a vector-Jacobian product) for ``v`` of size N; shape ``(N,)``."""
        return DiagPlusLowRank(self.d, self.V, self.U).matvec(v)

    def __repr__(self) -> str:
        nblocks = self.d.size // max(self.block_size, 1)
        return f"DiagPlusLowRank(shape={self.shape}, blocks={nblocks}, rank={self.U.shape[-1]})"


# ---- layers -------------------------------------------------------------------------
class Linear:
    """``x ↦ x @ W.T + b`` with ``W`` of shape (out, in) and ``b`` of shape (out,).

    ``x`` is one sample ``(in,)`` → ``(out,)`` or a batch ``(B, in)`` → ``(B, out)``.
    """

    def __init__(self, W: Any, b: Any) -> None:
        # Parameters may be traced, so that d out / d W and d out / d b can be taken
        # through the layer itself; the closed forms need concrete W.
        self.W, self.b = _param(W), _param(b)
        ws, bs = dnp.shape(self.W), dnp.shape(self.b)
        if len(ws) != 2 or bs != ws[:1]:
            raise ValueError(f"need W (out, in) and b (out,); got {ws}, {bs}")

    def __call__(self, x: Any) -> Any:
        return x @ self.W.T + self.b

    def _batch(self, x: Any) -> tuple[np.ndarray, bool]:
        x = np.asarray(x, dtype=float)
        if x.shape[-1:] != self.W.shape[1:] or x.ndim not in (1, 2):
            raise ValueError(f"x must be ({self.W.shape[1]},) or (B, {self.W.shape[1]}), "
                             f"got {x.shape}")
        return np.atleast_2d(x), x.ndim == 2

    def jacobian_x(self, x: Any) -> Any:
        """d out / d x: ``W`` (dense (out, in)) for one sample; for a batch the
        block-diagonal ``csr_array`` (B*out, B*in) with B copies of ``W``."""
        X, batched = self._batch(x)
        if not batched:
            return self.W.copy()
        return sp.block_diag([self.W] * X.shape[0], format="csr")

    def jacobian_W(self, x: Any) -> Any:
        """d out / d W as a ``csr_array`` (out, out*in), W flattened in C order: row i
        holds ``xᵀ`` in columns ``i*in .. i*in+in-1`` (the Kronecker ``I ⊗ xᵀ``).
        For a batch the per-sample blocks are stacked: (B*out, out*in)."""
        X, _ = self._batch(x)
        B, (o, n) = X.shape[0], self.W.shape
        # Stored entries are the full blocks, so zeros in x stay structural.
        data = np.broadcast_to(X[:, None, :], (B, o, n)).ravel()
        cols = np.broadcast_to(np.arange(o * n).reshape(o, n), (B, o, n)).ravel()
        indptr = np.arange(B * o + 1) * n
        return sp.csr_array((data, cols, indptr), shape=(B * o, o * n))

    def jacobian_b(self, x: Any) -> Any:
        """d out / d b: the identity ``csr_array`` (out, out); for a batch B stacked
        identities (B*out, out)."""
        X, _ = self._batch(x)
        B, o = X.shape[0], self.W.shape[0]
        return sp.csr_array((np.ones(B * o), np.tile(np.arange(o), B), np.arange(B * o + 1)),
                            shape=(B * o, o))


class _Elementwise:
    """An elementwise activation: any shape in, the same shape out."""

    def jacobian(self, x: Any) -> np.ndarray:
        """The diagonal of the (x.size, x.size) Jacobian, a 1-D array of length x.size."""
        return self._derivative(np.asarray(x, dtype=float)).ravel()

    def _derivative(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class ReLU(_Elementwise):
    """``max(x, 0)`` elementwise, with the subgradient relu'(0) = 0."""

    def __call__(self, x: Any) -> Any:
        return _relu(x)

    def _derivative(self, x: np.ndarray) -> np.ndarray:
        return (x > 0).astype(float)


class Sigmoid(_Elementwise):
    """``1 / (1 + exp(-x))`` elementwise."""

    def __call__(self, x: Any) -> Any:
        # With e = exp(-|x|) <= 1 nothing overflows, and both tails keep full relative
        # precision (0.5 * (1 + tanh(x / 2)) would round sigmoid(-40) to 0).  |x| is
        # x times sign(x), which has no derivative, so that d|x|/dx is never abs's
        # subgradient 0 at x = 0.
        pos = (dnp.sign(x) >= 0).astype(np.float64)
        e = dnp.exp(-(x * (2.0 * pos - 1.0)))
        # 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0, without a traced branch.
        return (pos + (1.0 - pos) * e) / (1.0 + e)

    def _derivative(self, x: np.ndarray) -> np.ndarray:
        # s(1 - s) written with exp(-|x|), which stays accurate far into both tails.
        e = np.exp(-np.abs(x))
        return e / (1.0 + e) ** 2


class Tanh(_Elementwise):
    """``tanh(x)`` elementwise."""

    def __call__(self, x: Any) -> Any:
        return dnp.tanh(x)

    def _derivative(self, x: np.ndarray) -> np.ndarray:
        return 1.0 - np.tanh(x) ** 2


class Softmax:
    """``exp(z) / sum(exp(z))`` along the last axis; ``z``: (K,) or (..., K)."""

    def __call__(self, z: Any) -> Any:
        # The shift cannot overflow exp and, since softmax is shift invariant, its
        # derivative contributions cancel: the max's tie rule never shows.
        e = dnp.exp(z - dnp.max(z, axis=-1, keepdims=True))
        return e / dnp.sum(e, axis=-1, keepdims=True)

    def jacobian(self, z: Any) -> DiagPlusLowRank:
        """``diag(p) - p pᵀ`` per sample (p = softmax(z)): a :class:`DiagPlusLowRank`
        of shape (z.size, z.size), block diagonal for a batch."""
        p = _softmax_values(np.asarray(z, dtype=float))
        return DiagPlusLowRank(p, -p[..., None], p[..., None])


class LogSoftmax:
    """``z - log(sum(exp(z)))`` along the last axis; ``z``: (K,) or (..., K)."""

    def __call__(self, z: Any) -> Any:
        s = z - dnp.max(z, axis=-1, keepdims=True)
        return s - dnp.log(dnp.sum(dnp.exp(s), axis=-1, keepdims=True))

    def jacobian(self, z: Any) -> DiagPlusLowRank:
        """``I - 1 pᵀ`` per sample (p = softmax(z)): a :class:`DiagPlusLowRank` of
        shape (z.size, z.size), block diagonal for a batch."""
        p = _softmax_values(np.asarray(z, dtype=float))
        return DiagPlusLowRank(np.ones_like(p), -np.ones_like(p)[..., None], p[..., None])


# ---- losses -------------------------------------------------------------------------
class CrossEntropy:
    """Softmax cross-entropy ``-log softmax(z)[y]``, averaged over the batch.

    ``logits``: (K,) with an integer ``y``, or (B, K) with integer labels ``y`` (B,).
    Returns a scalar.
    """

    def __call__(self, logits: Any, y: Any) -> Any:
        k = dnp.shape(logits)[-1]
        return -dnp.sum(LogSoftmax()(logits) * _onehot(y, k)) / _batch_size(logits)

    def grad(self, logits: Any, y: Any) -> np.ndarray:
        """d loss / d logits = (softmax(z) - onehot(y)) / B, shape of ``logits``."""
        z = np.asarray(logits, dtype=float)
        return (_softmax_values(z) - _onehot(y, z.shape[-1])) / _batch_size(z)


class Hinge:
    """Multiclass hinge loss ``sum_{j != y} max(0, s_j - s_y + 1)``, averaged over the
    batch.  ``scores``: (K,) with an integer ``y``, or (B, K) with labels (B,).

    At a kink (a margin exactly 0) the subgradient follows relu'(0) = 0: that term
    contributes nothing, which lies in its subdifferential [0, 1].
    """

    def __call__(self, scores: Any, y: Any) -> Any:
        onehot = _onehot(y, dnp.shape(scores)[-1])
        correct = dnp.sum(scores * onehot, axis=-1, keepdims=True)
        # The j = y term would always count its margin of 1; the mask drops it.
        losses = _relu(scores - correct + 1.0) * (1.0 - onehot)
        return dnp.sum(losses) / _batch_size(scores)

    def grad(self, scores: Any, y: Any) -> np.ndarray:
        """The subgradient w.r.t. ``scores`` (same shape): +1 for every class j != y
        with a positive margin, minus their count at y; divided by B."""
        s = np.asarray(scores, dtype=float)
        onehot = _onehot(y, s.shape[-1])
        correct = (s * onehot).sum(axis=-1, keepdims=True)
        active = ((s - correct + 1.0) > 0) * (1.0 - onehot)
        return (active - onehot * active.sum(axis=-1, keepdims=True)) / _batch_size(s)


class MSE:
    """Mean squared error ``mean((pred - target)**2)`` over all N elements; any shape
    (a batch is just more elements).  Returns a scalar."""

    def __call__(self, pred: Any, target: Any) -> Any:
        return dnp.mean((pred - np.asarray(target, dtype=float)) ** 2)

    def grad(self, pred: Any, target: Any) -> np.ndarray:
        """d loss / d pred = 2 (pred - target) / N, shape of ``pred``."""
        p = np.asarray(pred, dtype=float)
        return 2.0 * (p - np.asarray(target, dtype=float)) / p.size
