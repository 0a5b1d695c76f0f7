"""Reductions.  ``axis`` is normalised to a tuple of *negative* axes, which address the
same axes of a tangent that carries extra leading batch axes.

max/min route the derivative to the selected element; ties split it equally.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _cost, _structure
from ._rules import OPS, define, ndim, shape
from ..registry import Op, Primitive, bind, exports


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
    sparsity=_structure.reduction(), cost=_cost.reduction, residuals=())

mean_p = define(
    "mean", lambda x, axis, keepdims: np.mean(x, axis=axis, keepdims=keepdims),
    jvp=(lambda t, ans, x, axis, keepdims: mean(t, axis, keepdims),),
    vjp=(lambda g, ans, x, axis, keepdims:
         _spread(g, ans, x, axis, keepdims) / _count(shape(x), axis),),
    sparsity=_structure.reduction(), cost=_cost.reduction, residuals=())


def _selection_weights(ans: Any, x: Any, axis: tuple, keepdims: bool) -> np.ndarray:
    """1/(number of ties) at the selected elements, 0 elsewhere; a constant."""
    a = ans if keepdims else OPS["reshape"](ans, _kept_shape(shape(x), axis))
    hit = OPS["equal"](x, a)    # no derivative: plain bools (traced in global sparsity)
    w = hit / np.sum(hit, axis=axis, keepdims=True)
    return w.astype(getattr(ans, "dtype", w.dtype), copy=False)


def _select_jvp(t, ans, x, axis, keepdims):
    return sum(t * _selection_weights(ans, x, axis, keepdims), axis, keepdims)


def _select_vjp(g, ans, x, axis, keepdims):
    return _spread(g, ans, x, axis, keepdims) * _selection_weights(ans, x, axis, keepdims)


max_p = define("max", lambda x, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims),
               jvp=(_select_jvp,), vjp=(_select_vjp,), sparsity=_structure.reduction(select=True),
               cost=_cost.reduction)
min_p = define("min", lambda x, axis, keepdims: np.min(x, axis=axis, keepdims=keepdims),
               jvp=(_select_jvp,), vjp=(_select_vjp,), sparsity=_structure.reduction(select=True),
               cost=_cost.reduction)


def _reducer(prim: Primitive) -> Op[..., Any]:
    @exports(prim)
    def reduce(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return bind(prim, x, axis=normalize_axis(axis, ndim(x)), keepdims=bool(keepdims))
    reduce.__name__ = prim.name
    reduce.__doc__ = (f"{prim.name} over ``axis`` (None: all axes); ``keepdims`` keeps "
                      f"reduced axes with length one.")
    OPS[prim.name] = reduce
    return reduce


sum: Op[..., Any] = _reducer(sum_p)    # noqa: A001  (numpy's names)
mean: Op[..., Any] = _reducer(mean_p)
max: Op[..., Any] = _reducer(max_p)    # noqa: A001
min: Op[..., Any] = _reducer(min_p)    # noqa: A001


# ---- shared helpers for scans along one axis -------------------------------------------
def _along(axis: int, sl: Any) -> tuple:
    """An index applying ``sl`` on the (negative) ``axis`` and nothing elsewhere."""
    return (Ellipsis, sl) + (slice(None),) * (-axis - 1)


def shift(x: Any, s: int, axis: int, fill: float) -> Any:
    """``x`` moved ``s`` places towards the end of ``axis``; the first ``s`` entries are
    ``fill`` (a constant).  Batch-aware: ``axis`` is negative."""
    n = shape(x)[axis]
    dtype = getattr(x, "dtype", np.float64)
    if s >= n:
        return np.full(shape(x), fill, dtype=dtype)
    pad_shape = list(shape(x))
    pad_shape[axis] = s
    pad = np.full(tuple(pad_shape), fill, dtype=dtype)
    return OPS["concatenate"]([pad, OPS["getitem"](x, _along(axis, slice(None, n - s)))], axis)


def linear_recurrence(a: Any, b: Any, axis: int) -> Any:
    """``s`` with ``s_j = b_j + a_j s_{j-1}`` (``s_{-1} = 0``) along ``axis``.

    A log-depth (Hillis-Steele) scan over the pairs ``(a_j, b_j)``: ceil(log2 n)
    vectorised steps, no division (so zeros in ``a`` are exact), written with dualtape
    ops so it differentiates again.  ``a`` may lack ``b``'s leading batch axes.
    """
    n = shape(b)[axis]
    s = 1
    while s < n:
        b = b + a * shift(b, s, axis, 0.0)
        if 2 * s < n:
            a = a * shift(a, s, axis, 1.0)
        s *= 2
    return b


# ---- cumsum ------------------------------------------------------------------------------
cumsum_p = define(
    "cumsum", lambda x, axis: np.cumsum(x, axis=axis),
    jvp=(lambda t, ans, x, axis: cumsum(t, axis),),
    vjp=(lambda g, ans, x, axis: OPS["flip"](cumsum(OPS["flip"](g, axis), axis), axis),),
    sparsity=_structure.prefix, cost=_cost.reduction)


# ---- cumprod -----------------------------------------------------------------------------
# d(cumprod x)_j = sum_{i<=j} t_i prod_{k<=j, k!=i} x_k, i.e. the linear recurrence
# dy_j = x_j dy_{j-1} + y_{j-1} t_j.  Solved by a scan, never by dividing by x, so the
# derivative is exact when x has zeros.
def _cumprod_jvp(t, ans, x, axis):
    return linear_recurrence(x, shift(ans, 1, axis, 1.0) * t, axis)


def _cumprod_vjp(g, ans, x, axis):
    # The transpose runs the recurrence backwards: s_i = g_i + x_{i+1} s_{i+1}.
    flip = OPS["flip"]
    coef = shift(flip(x, axis), 1, axis, 0.0)
    return shift(ans, 1, axis, 1.0) * flip(linear_recurrence(coef, flip(g, axis), axis), axis)


cumprod_p = define(
    "cumprod", lambda x, axis: np.cumprod(x, axis=axis),
    jvp=(_cumprod_jvp,), vjp=(_cumprod_vjp,),
    sparsity=_structure.prefix, cost=_cost.reduction)


def _scan(prim: Primitive) -> Op[..., Any]:
    @exports(prim)
    def scan(x: Any, axis: int) -> Any:
        nd = ndim(x)
        if not -nd <= axis < nd:
            raise np.exceptions.AxisError(axis, nd)
        return bind(prim, x, axis=int(axis) % nd - nd)
    scan.__name__ = prim.name
    scan.__doc__ = f"{prim.name} along ``axis`` (an int; flatten first for numpy's None)."
    OPS[prim.name] = scan
    return scan


cumsum: Op[..., Any] = _scan(cumsum_p)
cumprod: Op[..., Any] = _scan(cumprod_p)


# ---- prod --------------------------------------------------------------------------------
def _others(x: Any, axis: tuple) -> Any:
    """For each element, the product of the *other* elements over ``axis``: exclusive
    cumulative products from both ends (no division, exact with zeros)."""
    nd = ndim(x)
    red = [a + nd for a in axis]
    perm = [i for i in range(nd) if i not in red] + red
    xt = OPS["transpose"](x, perm)
    xm = OPS["reshape"](xt, shape(xt)[: nd - len(red)] + (-1,))
    flip = OPS["flip"]
    lead = shift(cumprod(xm, -1), 1, -1, 1.0)
    trail = flip(shift(cumprod(flip(xm, -1), -1), 1, -1, 1.0), -1)
    o = OPS["reshape"](lead * trail, shape(xt))
    return OPS["transpose"](o, tuple(int(i) for i in np.argsort(perm)))


prod_p = define(
    "prod", lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims),
    jvp=(lambda t, ans, x, axis, keepdims: sum(t * _others(x, axis), axis, keepdims),),
    vjp=(lambda g, ans, x, axis, keepdims:
         _spread(g, ans, x, axis, keepdims) * _others(x, axis),),
    sparsity=_structure.reduction(), cost=_cost.reduction)
prod: Op[..., Any] = _reducer(prod_p)
