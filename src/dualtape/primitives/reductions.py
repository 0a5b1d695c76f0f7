"""Reductions.  ``axis`` is normalised to a tuple of *negative* axes, which address the
same axes of a tangent that carries extra leading batch axes.

max/min route the derivative to the selected element; ties split it equally.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._rules import OPS, define, ndim, shape
from ..registry import bind


def normalize_axis(axis: Any, nd: int) -> tuple:
    """``axis`` (None, int or tuple) as a sorted tuple of negative ints."""
    if axis is None:
        return tuple(range(-nd, 0))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    out = set()
    for a in axis:
        a = int(a)
        if not -nd <= a < nd:
            raise np.exceptions.AxisError(a, nd)
        out.add(a % nd - nd)
    return tuple(sorted(out))


def _kept_shape(x_shape: tuple, axis: tuple) -> tuple:
    nd = len(x_shape)
    return tuple(1 if i - nd in axis else s for i, s in enumerate(x_shape))


def _spread(g: Any, ans: Any, x: Any, axis: tuple, keepdims: bool) -> Any:
    """A cotangent of the reduced output, broadcast back over the reduced axes."""
    nb = ndim(g) - ndim(ans)
    batch = tuple(shape(g)[:nb])
    if not keepdims:
        g = OPS["reshape"](g, batch + _kept_shape(shape(x), axis))
    return OPS["broadcast_to"](g, batch + shape(x))


def _count(x_shape: tuple, axis: tuple) -> int:
    nd = len(x_shape)
    return int(np.prod([x_shape[a + nd] for a in axis]))


sum_p = define(
    "sum", lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims),
    jvp=(lambda t, ans, x, axis, keepdims: sum(t, axis, keepdims),),
    vjp=(lambda g, ans, x, axis, keepdims: _spread(g, ans, x, axis, keepdims),),
    linear=True, sparsity="reduce", cost="reduce")

mean_p = define(
    "mean", lambda x, axis, keepdims: np.mean(x, axis=axis, keepdims=keepdims),
    jvp=(lambda t, ans, x, axis, keepdims: mean(t, axis, keepdims),),
    vjp=(lambda g, ans, x, axis, keepdims:
         _spread(g, ans, x, axis, keepdims) / _count(shape(x), axis),),
    linear=True, sparsity="reduce", cost="reduce")


def _selection_weights(ans: Any, x: Any, axis: tuple, keepdims: bool) -> np.ndarray:
    """1/(number of ties) at the selected elements, 0 elsewhere; a plain constant."""
    a = ans if keepdims else OPS["reshape"](ans, _kept_shape(shape(x), axis))
    hit = np.asarray(x == a)            # comparisons carry no derivative: plain bools
    w = hit / np.sum(hit, axis=axis, keepdims=True)
    return w.astype(getattr(ans, "dtype", w.dtype), copy=False)


def _select_jvp(t, ans, x, axis, keepdims):
    return sum(t * _selection_weights(ans, x, axis, keepdims), axis, keepdims)


def _select_vjp(g, ans, x, axis, keepdims):
    return _spread(g, ans, x, axis, keepdims) * _selection_weights(ans, x, axis, keepdims)


max_p = define("max", lambda x, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims),
               jvp=(_select_jvp,), vjp=(_select_vjp,), sparsity="select", cost="reduce")
min_p = define("min", lambda x, axis, keepdims: np.min(x, axis=axis, keepdims=keepdims),
               jvp=(_select_jvp,), vjp=(_select_vjp,), sparsity="select", cost="reduce")


def _reducer(prim):
    def reduce(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return bind(prim, x, axis=normalize_axis(axis, ndim(x)), keepdims=bool(keepdims))
    reduce.__name__ = prim.name
    reduce.primitive = prim
    reduce.__doc__ = (f"{prim.name} over ``axis`` (None: all axes); ``keepdims`` keeps "
                      f"reduced axes with length one.")
    OPS[prim.name] = reduce
    return reduce


sum = _reducer(sum_p)    # noqa: A001  (numpy's names)
mean = _reducer(mean_p)
max = _reducer(max_p)    # noqa: A001
min = _reducer(min_p)    # noqa: A001
