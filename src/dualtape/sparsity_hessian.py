"""The sparsity pattern of a Hessian: the Jacobian pattern of the gradient.

Row ``i`` of the Hessian of a scalar ``f`` is the derivative of ``df/dx_i``, so running
the sparsity tracer (:mod:`dualtape.sparsity`) through ``dt.grad(f)`` gives the
Hessian's pattern.  The reverse sweep is written in dualtape operations, so every
cotangent the tape builds is itself traced and carries its index sets; a term of ``f``
that touches a few variables contributes, through its vector-Jacobian rule, exactly
the block of those variables (``x[i] * x[j]`` gives ``{i, j} x {i, j}`` minus the
diagonal; linear terms contribute nothing, since their rules multiply the cotangent by
constants).  So the pattern is exact for separable and partially separable functions,
and, like every pattern of the tracer, never smaller than the numerical one.

This reuses each primitive's one derivative rule instead of a second family of
"second-order structure" rules (which a dedicated Hessian tracer would need on every
primitive, and which could drift from the rules that the Hessian is computed with).
The cost is one recorded evaluation plus one traced reverse sweep.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._api import sparse as sp
from ._api import to_array
from .reverse import grad
from .sparsity import sparsity

__all__ = ["hessian_sparsity"]


def hessian_sparsity(f: Callable, x: Any, kind: str = "global") -> Any:
    """The symmetric sparsity pattern of the Hessian of a scalar ``f`` at ``x``.

    Returns a boolean ``scipy.sparse.csr_array`` of shape ``(x.size, x.size)`` (C order),
    symmetric, True wherever the Hessian can be non-zero.  ``kind`` as for
    :func:`dualtape.sparsity`: "global" holds for every input, "local" may use the
    values at ``x``.  ``f`` must return one element, as for :func:`dualtape.grad`
    (which raises otherwise).
    """
    P = _gradient_pattern(f, x, kind)
    # Structurally symmetric already when the rules are; the union keeps any
    # conservative rule's extra entries from making the pattern lopsided.
    P = (P + P.T).tocsr()
    P.sum_duplicates()
    return P.astype(bool)


def _gradient_pattern(f: Callable, x: Any, kind: str) -> Any:
    """The Jacobian pattern of ``dt.grad(f)``, not symmetrised (the colourings take the
    union with the transpose themselves)."""
    x = to_array(x, fn="sparsity")
    if not np.issubdtype(x.dtype, np.inexact):
        x = x.astype(np.float64)
    return sparsity(grad(f), x, kind=kind)


def _check(P: Any, n: int) -> Any:
    """A user-given Hessian pattern as a symmetric boolean csr array of shape (n, n)."""
    P = sp.csr_array(P, dtype=bool)
    if P.shape != (n, n):
        raise ValueError(f"the given Hessian pattern has shape {P.shape}, but x has {n} "
                         f"elements, so it must be ({n}, {n})")
    return (P + P.T).tocsr().astype(bool)
