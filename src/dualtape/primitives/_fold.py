"""numpy's matmul and solve with stacked right- or left-hand sides folded into one
matrix, so a stack of products against one matrix is one BLAS-3 call.

Vector mode hands a linear primitive k tangents (or cotangents) at once, stacked in
front: ``A @ T`` with ``T`` of shape ``(k, n, 1)``.  numpy loops over the stack and
calls BLAS once per matrix, k matrix-vector products that each re-read ``A`` (and
``solve`` factorises ``A`` k times).  Folding the stack into the matrix dimension does
the same arithmetic as one matrix product (one factorisation): ``T`` read as ``(k, n)``
times ``A.T``.  The results equal numpy's to rounding (a matrix product may sum in
another order than k matrix-vector products), with numpy's shapes and dtypes.

These are the implementations of the primitives, so every caller gains: the rules of
every mode, nested derivatives (whose tangents are again stacks) and user code.
"""

from __future__ import annotations

import numpy as np


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.matmul(a, b)``; one BLAS call when one operand is a single matrix and the
    other a stack of matrices."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.ndim == 2 and b.ndim > 2 and a.size and b.size and a.shape[1] == b.shape[-2]:
        m, n = a.shape
        p = b.shape[-1]
        stack = b.shape[:-2]
        if p == 1:
            # (stack, n, 1) is (stack, n) in memory: rows times a's transpose, no copy
            r = np.reshape(b, (-1, n)) @ a.T
            return r.reshape(stack + (m, 1))
        # each stacked matrix transposed, the stack rows of one matrix (a copy of b,
        # cheap next to the product); the result is the transposed view back
        bt = np.swapaxes(b, -1, -2).reshape(-1, n)
        return np.swapaxes((bt @ a.T).reshape(stack + (p, m)), -1, -2)
    if b.ndim == 2 and a.ndim > 2 and a.size and b.size and a.shape[-1] == b.shape[0]:
        # (stack, m, n) as (stack * m, n): free for a contiguous stack
        r = np.reshape(a, (-1, a.shape[-1])) @ b
        return r.reshape(a.shape[:-1] + (b.shape[1],))
    return np.matmul(a, b)


def solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.linalg.solve(a, b)``; one factorisation when ``a`` is a single matrix and
    ``b`` a stack of right-hand sides ``(..., n, k)``."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.ndim == 2 and b.ndim > 2 and b.size and a.shape[0] == a.shape[1] == b.shape[-2]:
        n = a.shape[0]
        stack, k = b.shape[:-2], b.shape[-1]
        # every right-hand side a column of one (n, stack * k) matrix
        cols = np.moveaxis(b, -2, 0).reshape(n, -1)
        x = np.linalg.solve(a, cols)
        return np.moveaxis(x.reshape((n,) + stack + (k,)), 0, -2)
    return np.linalg.solve(a, b)
