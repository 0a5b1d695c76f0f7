"""Sparse Jacobians from compressed JVPs and VJPs together (bidirectional colouring).

Detect the pattern, partition it with :func:`dualtape.bicoloring.bicolor`, run one
vector-mode forward pass carrying every JVP colour and one reverse sweep carrying every
VJP colour, and decompress.  A Jacobian with both a dense row and a dense column, which
costs ``n`` JVPs or ``m`` VJPs one-sidedly, takes a handful of passes this way.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._api import to_array
from .forward import jvp_batch
from .jacobian import JacobianInfo, _pattern
from .registry import Tracer
from .reverse import vjp_batch

__all__ = ["bidirectional_jacobian"]


def bidirectional_jacobian(f: Callable, x: Any, *, sparsity: Any = "global",
                           cost_ratio: float = 1.0, order: str = "natural",
                           return_info: bool = False) -> Any:
    """The Jacobian of ``f`` (one array in, one out) at ``x`` by a bidirectional partition.

    Returns a ``scipy.sparse.csr_array`` of shape ``(out.size, x.size)`` (C order), exact
    (direct recovery only); with ``return_info=True`` also a
    :class:`~dualtape.jacobian.JacobianInfo` with ``mode="fwd+rev"``, ``passes`` = JVPs +
    VJPs, ``sweeps`` = interpreter passes (at most 2), ``colors`` = passes.
    ``sparsity``: "global", "local" or a boolean pattern of shape ``(m, n)``;
    ``cost_ratio``: one VJP's price in JVPs when choosing the partition.
    """
    from .bicoloring import bicolor, decompress, seed_matrices

    x = to_array(x)
    if isinstance(x, Tracer):
        raise TypeError("bidirectional_jacobian returns a scipy.sparse array, which cannot "
                        f"carry an outer derivative ({x._trace.mode} mode); use "
                        "dt.jacfwd / dt.jacrev inside other derivatives")
    if not np.issubdtype(x.dtype, np.inexact):
        x = x.astype(np.float64)
    pattern = _pattern(f, x, sparsity)
    m, n = pattern.shape
    bc = bicolor(pattern, cost_ratio=cost_ratio, order=order)
    sc, sr = seed_matrices(bc, x.dtype)
    fwd = np.zeros((m, 0), dtype=x.dtype)
    rev = np.zeros((0, n), dtype=x.dtype)
    sweeps = 0
    if bc.ncol_colors:
        out, t = jvp_batch(f, x, sc.T.reshape((bc.ncol_colors,) + x.shape))
        fwd = np.reshape(t, (bc.ncol_colors, m)).T
        sweeps += 1
    if bc.nrow_colors:
        out, pull = vjp_batch(f, x)
        rev = np.reshape(pull(sr.reshape((bc.nrow_colors,) + np.shape(out))),
                         (bc.nrow_colors, n))
        sweeps += 1
    J = decompress(pattern, bc, fwd, rev)
    if not return_info:
        return J
    reason = (f"bidirectional: {bc.ncol_colors} JVPs + {bc.nrow_colors} VJPs "
              f"({int(bc.rows_rev.sum())} rows by VJP, {int(bc.cols_fwd.sum())} dense "
              f"columns by their own JVP)")
    info = JacobianInfo("fwd+rev", "sparse", bc.passes, sweeps, colors=bc.passes,
                        nnz=J.nnz, n=n, m=m, reason=reason)
    return J, info
