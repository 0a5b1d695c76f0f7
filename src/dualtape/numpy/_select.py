"""Selection by conditions (``select``, ``piecewise``) and the set functions
(``unique*``, ``union1d``, ``intersect1d``, ``setdiff1d``, ``setxor1d``,
``sort_complex``).

Which elements are selected is decided on the values (plain); the selected elements are
differentiable.  Set functions output values that may occur several times in their
inputs: each output element's derivative is the mean over all input elements equal to
it (ties split equally, as for max/min), while its value is numpy's exactly.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ..primitives import elementwise as _ew
from ..primitives import shape as _sh
from ..registry import Tracer, value_of
from ._calculus import _traced, _value_plus
from ._construct import _dtype, asarray
from ._dispatch import _dispatches
from ._indexing import at, take_along_axis

__all__ = [
    "intersect1d", "piecewise", "select", "setdiff1d", "setxor1d", "sort_complex",
    "union1d", "unique", "unique_all", "unique_counts", "unique_inverse", "unique_values",
]


@_dispatches(np.select)
def select(condlist: Sequence[Any], choicelist: Sequence[Any], default: Any = 0) -> Any:
    """The element of the first ``choicelist`` entry whose condition holds, else
    ``default`` (conditions plain; choices and default differentiable)."""
    if not _traced(list(choicelist), default):
        return np.select([value_of(c) for c in condlist], list(choicelist), default)
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    if len(choicelist) == 0:
        raise ValueError("select with an empty condition list is not possible")
    # conditions stay as they are (comparison primitives of traced values are
    # predicates, for which global sparsity detection counts both branches)
    conds = [c if isinstance(c, Tracer) else np.asarray(c) for c in condlist]
    for i, c in enumerate(conds):
        if np.dtype(_dtype(c)).type is not np.bool_:
            raise TypeError(f"invalid entry {i} in condlist: should be boolean ndarray")
    choices = [asarray(c) for c in choicelist]
    dt = np.result_type(*[_dtype(c) for c in choices], _dtype(asarray(default)))
    out = asarray(default)
    for c, v in zip(conds[::-1], choices[::-1]):
        out = _ew.where(c, v, out)
    shape = np.broadcast_shapes(*[np.shape(c) for c in conds],
                                *[np.shape(v) for v in choices])
    out = _sh.broadcast_to(out, shape) if np.shape(out) != shape else out
    return _ew.astype(out, dt) if _dtype(out) != dt else out


@_dispatches(np.piecewise)
def piecewise(x: Any, condlist: Any, funclist: Sequence[Any], *args: Any,
              **kw: Any) -> Any:
    """numpy's piecewise: ``funclist[i]`` (a function of ``x[condlist[i]]``, or a
    constant) where ``condlist[i]`` holds, later conditions winning; an extra function
    is the "otherwise" case; 0 elsewhere.  Differentiable in ``x`` (and in what the
    functions close over)."""
    if not _traced(x):
        return np.piecewise(x, condlist, funclist, *args, **kw)
    x = asarray(x)
    nd = np.ndim(x)
    if np.isscalar(condlist) or (not isinstance(condlist, Tracer) and not isinstance(
            condlist[0], (list, np.ndarray)) and nd != 0):
        condlist = [condlist]
    conds = [np.asarray(value_of(c), dtype=bool) for c in condlist]
    n = len(conds)
    if len(funclist) == n + 1:
        conds.append(~np.any(conds, axis=0))
    elif len(funclist) != n:
        raise ValueError(f"with {n} condition(s), either {n} or {n + 1} functions are "
                         f"expected")
    scalar = nd == 0
    if scalar:
        x = _sh.reshape(x, (1,))
        conds = [c.reshape(1) for c in conds]
    y = np.zeros(np.shape(x), dtype=_dtype(x))
    for cond, func in zip(conds, funclist):
        cond = np.broadcast_to(cond, np.shape(x))
        if not callable(func):
            y = at(y)[cond].set(func)
        elif cond.any():
            y = at(y)[cond].set(func(_sh.getitem(x, cond), *args, **kw))
    return _sh.reshape(y, ()) if scalar else y


# ---- set functions --------------------------------------------------------------------
def _by_value(name: str, values: np.ndarray, arrays: Sequence[Any]) -> Any:
    """``values`` (numpy's output) as a function of the traced ``arrays``: each
    output's derivative is the mean of the input elements equal to it."""
    flat = [_sh.ravel(asarray(a)) for a in arrays]
    src = _sh.concatenate(flat, 0) if len(flat) > 1 else flat[0]
    sv = np.asarray(value_of(src))
    out = np.asarray(values).ravel()
    order = np.argsort(out, kind="stable")      # numpy may return them unsorted
    k = order[np.clip(np.searchsorted(out[order], sv), 0, max(out.size - 1, 0))] \
        if out.size else np.zeros(sv.shape, np.intp)
    hit = (out[k] == sv) | (np.isnan(out[k]) & np.isnan(sv)) if out.size else \
        np.zeros(sv.shape, bool)
    counts = np.bincount(k[hit], minlength=out.size)
    summed = _sh.index_add(_sh.getitem(src, (np.flatnonzero(hit),)), (k[hit],), True,
                           (out.size,))
    mean = summed / np.maximum(counts, 1)
    return _sh.reshape(_value_plus(mean, out), np.shape(values))


def _unique_along(name: str, ar: Any, axis: int, values: np.ndarray,
                  inverse: np.ndarray) -> Any:
    a = _sh.moveaxis(asarray(ar), axis, 0)
    k = np.shape(values)[axis]
    counts = np.bincount(inverse.ravel(), minlength=k)
    summed = _sh.index_add(a, (inverse.ravel(),), True, (k,) + np.shape(a)[1:])
    mean = summed / counts.reshape((-1,) + (1,) * (np.ndim(a) - 1))
    return _value_plus(_sh.moveaxis(mean, 0, axis), values)


@_dispatches(np.unique)
def unique(ar: Any, return_index: bool = False, return_inverse: bool = False,
           return_counts: bool = False, axis: Any = None, *, equal_nan: bool = True,
           **kwargs: Any) -> Any:
    """numpy's unique; the values are differentiable (mean over equal elements), the
    indices, inverse and counts are plain."""
    # the result's type follows the flags and kwargs, forwarded as they came
    np_unique: Callable[..., Any] = np.unique
    if not _traced(ar):
        return np_unique(ar, return_index, return_inverse, return_counts, axis,
                         equal_nan=equal_nan, **kwargs)
    v = np.asarray(value_of(ar))
    res = np_unique(v, return_index, True, return_counts, axis, equal_nan=equal_nan,
                    **kwargs)
    vals, rest = res[0], list(res[1:])
    if axis is None:
        u = _by_value("unique", vals, [ar])
    else:
        u = _unique_along("unique", ar, int(axis) % v.ndim, vals, rest[int(return_index)])
    if not return_inverse:
        del rest[int(return_index)]
    return (u, *rest) if rest else u


def unique_values(x: Any) -> Any:
    """The sorted unique values (differentiable: mean over equal elements)."""
    if not _traced(x):
        return np.unique_values(x)
    return _by_value("unique_values", np.unique_values(np.asarray(
        value_of(x))), [x])


def _unique_tuple(np_fn: Callable, name: str) -> Callable:
    def fn(x: Any) -> Any:
        if not _traced(x):
            return np_fn(x)
        r = np_fn(np.asarray(value_of(x)))
        return r._replace(values=_by_value(name, r.values, [x]))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"numpy.{name}: the values are differentiable (mean over equal "
                  f"elements), the other fields plain.")
    return _dispatches(np_fn)(fn)


unique_all = _unique_tuple(np.unique_all, "unique_all")
unique_counts = _unique_tuple(np.unique_counts, "unique_counts")
unique_inverse = _unique_tuple(np.unique_inverse, "unique_inverse")
_dispatches(np.unique_values)(unique_values)


def _set_op(np_fn: Callable, name: str) -> Callable:
    def fn(ar1: Any, ar2: Any, *args: Any, **kwargs: Any) -> Any:
        if not _traced(ar1, ar2):
            return np_fn(ar1, ar2, *args, **kwargs)
        r = np_fn(np.asarray(value_of(ar1)), np.asarray(value_of(ar2)),
                  *args, **kwargs)
        if isinstance(r, tuple):            # intersect1d(..., return_indices=True)
            return (_by_value(name, r[0], [ar1, ar2]),) + tuple(r[1:])
        return _by_value(name, r, [ar1, ar2])
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"numpy.{name} on the values; each output element's derivative is "
                  f"the mean over the input elements equal to it.")
    return _dispatches(np_fn)(fn)


union1d = _set_op(np.union1d, "union1d")
intersect1d = _set_op(np.intersect1d, "intersect1d")
setdiff1d = _set_op(np.setdiff1d, "setdiff1d")
setxor1d = _set_op(np.setxor1d, "setxor1d")


@_dispatches(np.sort_complex)
def sort_complex(a: Any) -> Any:
    """``a`` sorted by real part, then imaginary part, as complex (a gather)."""
    if not _traced(a):
        return np.sort_complex(a)
    a = asarray(a)
    v = np.asarray(value_of(a))
    order = np.lexsort((v.imag, v.real), axis=-1) if v.ndim else np.zeros((), np.intp)
    out = take_along_axis(a, order, -1) if v.ndim else a
    dt = np.sort_complex(v[:0] if v.ndim else v.reshape(1)).dtype
    return _ew.astype(out, dt) if _dtype(out) != dt else out
