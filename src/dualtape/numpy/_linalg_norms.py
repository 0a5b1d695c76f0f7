"""Norms with numpy.linalg's signatures: norm, vector_norm, matrix_norm.

Composites of abs, sums, max/min, powers and singular values.  At 0 every norm has
derivative 0 (a subgradient, never NaN): roots go through a double ``where`` so the
division in sqrt's derivative never sees 0, and the singular-value norms take 0 at the
zero matrix.  Ties of max/min-based norms (ord=inf, -inf, 1, -1, 2, -2) split the
derivative equally (the reductions' rule).  Complex input: |z| is
``dualtape.primitives.complex.complex_abs``; the singular-value norms ('nuc', 2, -2)
take the singular values of the complex matrix.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..primitives import OPS
from ..primitives import complex as _cx
from ..primitives import decompositions as _dc
from ..primitives.reductions import normalize_axis
from ..registry import Tracer
from ._construct import asarray
from ._dispatch import _dispatches

__all__ = ["matrix_norm", "norm", "vector_norm"]


def _real_only(a: Any, name: str) -> Any:
    a = asarray(a)
    if isinstance(a, Tracer) and _cx.is_complex(a):
        raise TypeError(f"dualtape.numpy.linalg.{name}: derivatives for complex matrices "
                        f"are not supported (real matrices only)")
    return a


def _abs(x: Any) -> Any:
    return _cx.complex_abs(x) if _cx.is_complex(x) else OPS["abs"](x)


def _abs2(x: Any) -> Any:
    if _cx.is_complex(x):
        re, im = _cx.real(x), _cx.imag(x)
        return re * re + im * im
    return x * x


def _root(s: Any, p: float) -> Any:
    """``s ** (1/p)`` with derivative 0 where ``s == 0`` (the norm of a zero vector)."""
    pos = OPS["greater"](s, 0)          # no derivative; tracked by global sparsity
    safe = OPS["where"](pos, s, 1.0)
    r = OPS["sqrt"](safe) if p == 2 else OPS["power"](safe, 1.0 / p)
    return OPS["where"](pos, r, 0.0)


def _vector_norm(x: Any, ord: Any, axis: tuple, keepdims: bool) -> Any:
    if ord is None or ord == 2:
        return _root(OPS["sum"](_abs2(x), axis, keepdims), 2)
    if ord == np.inf:
        return OPS["max"](_abs(x), axis, keepdims)
    if ord == -np.inf:
        return OPS["min"](_abs(x), axis, keepdims)
    if ord == 0:
        nz = OPS["astype"](OPS["not_equal"](x, 0), _cx.real_dtype(x.dtype))
        return OPS["sum"](nz, axis, keepdims)         # a count: no derivative
    if ord == 1:
        return OPS["sum"](_abs(x), axis, keepdims)
    if isinstance(ord, str):
        raise ValueError(f"Invalid norm order '{ord}' for vectors")
    p = float(ord)
    return _root(OPS["sum"](OPS["power"](_abs(x), p), axis, keepdims), p)


def _matrix_norm(x: Any, ord: Any, axes: tuple, keepdims: bool) -> Any:
    row, col = axes
    if ord in (None, "fro", "f"):
        return _root(OPS["sum"](_abs2(x), axes, keepdims), 2)
    if ord in (2, -2, "nuc"):
        moved = _to_end(x, row, col)
        s = _dc.svdvals(moved)
        r = (OPS["max"](s, -1) if ord == 2 else OPS["min"](s, -1) if ord == -2
             else OPS["sum"](s, -1))
        # At the zero matrix every U, V is a valid factor; take the subgradient 0.
        r = OPS["where"](OPS["greater"](r, 0), r, 0.0)
        return _keep(r, x.ndim, axes) if keepdims else r
    if ord in (1, -1, np.inf, -np.inf):
        inner_axis, outer_axis = (row, col) if ord in (1, -1) else (col, row)
        sums = OPS["sum"](_abs(x), (inner_axis,), True)
        pick = OPS["max"] if ord in (1, np.inf) else OPS["min"]
        r = pick(sums, (outer_axis,), True)
        return r if keepdims else OPS["reshape"](r, tuple(
            d for i, d in enumerate(x.shape) if i - x.ndim not in axes))
    raise ValueError("Invalid norm order for matrices.")


def _to_end(x: Any, row: int, col: int) -> Any:
    nd = x.ndim
    order = [i for i in range(nd) if i - nd not in (row, col)] + [row % nd, col % nd]
    return OPS["transpose"](x, order)


def _keep(r: Any, nd: int, axes: tuple) -> Any:
    s = list(r.shape if hasattr(r, "shape") else np.shape(r))
    for a in sorted(x % nd for x in axes):
        s.insert(a, 1)
    return OPS["reshape"](r, tuple(s))


@_dispatches(np.linalg.norm)
def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    """numpy's norm: vector norms (ord None/2, 1, inf, -inf, 0, any p) over one axis,
    matrix norms (None/'fro', 'nuc', 1, -1, 2, -2, inf, -inf) over two.  Derivative 0 at
    0; ties of max/min-based norms split the derivative equally."""
    x = asarray(x)
    nd = x.ndim
    if axis is None:
        if ord is None:
            return _vector_norm(x, None, normalize_axis(None, nd), keepdims)
        if nd == 1:
            axis = (0,)
        elif nd == 2:
            axis = (0, 1)
        else:
            raise ValueError("Improper number of dimensions to norm.")
    elif isinstance(axis, (int, np.integer)):
        axis = (int(axis),)
    axis = tuple(int(a) % nd - nd for a in axis)
    if len(axis) == 1:
        return _vector_norm(x, ord, axis, keepdims)
    if len(axis) == 2:
        if axis[0] == axis[1]:
            raise ValueError("Duplicate axes given.")
        return _matrix_norm(x, ord, axis, keepdims)
    raise ValueError("Improper number of dimensions to norm.")


@_dispatches(np.linalg.vector_norm)
def vector_norm(x: Any, /, *, axis: Any = None, keepdims: bool = False,
                ord: Any = 2) -> Any:
    """The vector norm over ``axis`` (None: all elements, as one vector)."""
    x = asarray(x)
    return _vector_norm(x, ord, normalize_axis(axis, x.ndim), keepdims)


@_dispatches(np.linalg.matrix_norm)
def matrix_norm(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> Any:
    """The matrix norm over the last two axes."""
    return _matrix_norm(asarray(x), ord, (-2, -1), keepdims)
