"""Indexing, diagonals, triangles, sorting and the functional update ``at``.

Everything here except ``sort``/``partition`` and the positions (``argsort``,
``argmax``...), primitives of :mod:`dualtape.primitives.sorting`, is a composite of
``getitem``, its transpose ``index_add``, ``transpose``, ``concatenate`` and ``where``,
so derivatives, exact sparsity patterns and costs come from those primitives.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..primitives import elementwise as _ew
from ..primitives import reductions as _red
from ..primitives import shape as _sh
from ..primitives import sorting as _so
from ..registry import Tracer, bind, value_of
from ._construct import _dtype, asarray
from ._dispatch import _dispatches, _no_out

__all__ = [
    "argmax", "argmin", "argpartition", "argsort", "at", "diag", "diagonal", "partition",
    "sort", "take", "take_along_axis", "trace", "tril", "triu",
]


def _axis(axis: Any, nd: int) -> int:
    """``axis`` as a non-negative int, numpy's AxisError if out of range."""
    axis = int(axis)
    if not -nd <= axis < nd:
        raise np.exceptions.AxisError(axis, nd)
    return axis % nd


def _along(axis: int, index: Any) -> tuple:
    """An index applying ``index`` on (non-negative) ``axis`` only."""
    return (slice(None),) * axis + (index,)


# ---- diagonals and triangles ----------------------------------------------------------
@_dispatches(np.diagonal)
def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """The ``offset`` diagonal of the planes ``(axis1, axis2)``, as the last axis."""
    a = asarray(a)
    nd = np.ndim(a)
    if nd < 2:
        raise ValueError("diag requires an array of at least two dimensions")
    ax1, ax2 = _axis(axis1, nd), _axis(axis2, nd)
    if ax1 == ax2:
        raise ValueError("axis1 and axis2 cannot be the same")
    d1, d2 = np.shape(a)[ax1], np.shape(a)[ax2]
    offset = int(offset)
    n = max(0, min(d1, d2 - offset) if offset >= 0 else min(d1 + offset, d2))
    rows = np.arange(n) + max(-offset, 0)
    cols = np.arange(n) + max(offset, 0)
    moved = _sh.transpose(a, [i for i in range(nd) if i not in (ax1, ax2)] + [ax1, ax2])
    return _sh.getitem(moved, (Ellipsis, rows, cols))


@_dispatches(np.diag)
def diag(v: Any, k: int = 0) -> Any:
    """A 1-D ``v`` placed on the ``k``-th diagonal of a square matrix (a scatter), or
    the ``k``-th diagonal of a 2-D ``v`` (a gather)."""
    v = asarray(v)
    if np.ndim(v) == 2:
        return diagonal(v, k)
    if np.ndim(v) != 1:
        raise ValueError("Input must be 1- or 2-d.")
    n, k = np.shape(v)[0], int(k)
    rows = np.arange(n) + max(-k, 0)
    cols = np.arange(n) + max(k, 0)
    return _sh.index_add(v, (rows, cols), True, (n + abs(k),) * 2)


@_dispatches(np.trace)
def trace(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None,
          out: Any = None) -> Any:
    """Sum along the ``offset`` diagonal: shape ``a.shape`` without axis1 and axis2."""
    _no_out("trace", out)
    d = diagonal(a, offset, axis1, axis2)
    if dtype is not None:
        d = _ew.astype(d, dtype)
    return _red.sum(d, -1, False)


def _triangle(m: Any, k: int, lower: bool) -> Any:
    m = asarray(m)
    s = np.shape(m)
    if len(s) == 0:
        raise ValueError("tril/triu: input must be at least 1-d")
    n_rows, n_cols = s[-2:] if len(s) >= 2 else (s[0], s[0])
    mask = np.tri(n_rows, n_cols, int(k) - (not lower), dtype=bool)
    mask = mask if lower else ~mask
    return _ew.where(mask, m, np.zeros((), dtype=_dtype(m)))


@_dispatches(np.tril)
def tril(m: Any, k: int = 0) -> Any:
    """``m`` with the elements above the ``k``-th diagonal zeroed (last two axes)."""
    return _triangle(m, k, True)


@_dispatches(np.triu)
def triu(m: Any, k: int = 0) -> Any:
    """``m`` with the elements below the ``k``-th diagonal zeroed (last two axes)."""
    return _triangle(m, k, False)


# ---- take -----------------------------------------------------------------------------
@_dispatches(np.take)
def take(a: Any, indices: Any, axis: Any = None, out: Any = None,
         mode: str = "raise") -> Any:
    """Elements of ``a`` at ``indices`` along ``axis`` (None: of the flattened array);
    ``mode`` "raise", "wrap" or "clip" as in numpy."""
    _no_out("take", out)
    a = asarray(a)
    idx = np.asarray(value_of(indices))
    if axis is None:
        a, axis = _sh.ravel(a), 0
    ax = _axis(axis, np.ndim(a))
    n = np.shape(a)[ax]
    if mode == "wrap":
        idx = idx % n
    elif mode == "clip":
        idx = np.clip(idx, 0, n - 1)
    elif mode != "raise":
        raise ValueError(f"clipmode must be one of 'clip', 'raise', or 'wrap' (got {mode!r})")
    return _sh.getitem(a, _along(ax, idx))


@_dispatches(np.take_along_axis)
def take_along_axis(arr: Any, indices: Any, axis: Any = -1) -> Any:
    """``arr`` gathered at ``indices`` along ``axis`` (numpy's broadcasting rules)."""
    a = asarray(arr)
    idx = np.asarray(value_of(indices))
    if axis is None:
        if idx.ndim != 1:
            raise ValueError("when axis=None, `indices` must have a single dimension.")
        a, axis = _sh.ravel(a), 0
    nd = np.ndim(a)
    ax = _axis(axis, nd)
    if idx.ndim != nd:
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    fancy = tuple(idx if i == ax else
                  np.arange(np.shape(a)[i]).reshape((1,) * i + (-1,) + (1,) * (nd - i - 1))
                  for i in range(nd))
    return _sh.getitem(a, fancy)


# ---- sorting --------------------------------------------------------------------------
def _flat_if_none(a: Any, axis: Any) -> tuple[Any, int]:
    a = asarray(a)
    if axis is None:
        return _sh.ravel(a), -1
    return a, int(axis)


@_dispatches(np.sort)
def sort(a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *,
         stable: Any = None) -> Any:
    """``a`` sorted along ``axis`` (None: flattened).  The derivative follows each
    element to its sorted place; tied elements keep their input order (stable)."""
    if order is not None:
        raise TypeError("sort: `order` (structured arrays) is not supported")
    a, axis = _flat_if_none(a, axis)
    return _so.sort(a, axis)


@_dispatches(np.partition)
def partition(a: Any, kth: Any, axis: Any = -1, kind: str = "introselect",
              order: Any = None) -> Any:
    """numpy's partition; the derivative follows each element to its place."""
    if order is not None:
        raise TypeError("partition: `order` (structured arrays) is not supported")
    a, axis = _flat_if_none(a, axis)
    return _so.partition(a, np.asarray(value_of(kth)), axis)


@_dispatches(np.argsort)
def argsort(a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *,
            stable: Any = None) -> np.ndarray:
    """Indices that sort ``a``: plain integers (no derivative)."""
    if order is not None:
        raise TypeError("argsort: `order` (structured arrays) is not supported")
    kw = {} if stable is None else {"stable": stable}
    return bind(_so.argsort_p, a, axis=axis, kind=kind, **kw)


@_dispatches(np.argpartition)
def argpartition(a: Any, kth: Any, axis: Any = -1, kind: str = "introselect",
                 order: Any = None) -> np.ndarray:
    """Indices that partition ``a``: plain integers (no derivative)."""
    if order is not None:
        raise TypeError("argpartition: `order` (structured arrays) is not supported")
    kth = int(kth) if np.ndim(kth) == 0 else tuple(int(k) for k in np.ravel(value_of(kth)))
    return bind(_so.argpartition_p, a, kth=kth, axis=axis, kind=kind)


@_dispatches(np.argmax)
def argmax(a: Any, axis: Any = None, out: Any = None, *, keepdims: bool = False) -> Any:
    """Index of the maximum: plain integers (no derivative)."""
    _no_out("argmax", out)
    return bind(_so.argmax_p, a, axis=axis, keepdims=bool(keepdims))


@_dispatches(np.argmin)
def argmin(a: Any, axis: Any = None, out: Any = None, *, keepdims: bool = False) -> Any:
    """Index of the minimum: plain integers (no derivative)."""
    _no_out("argmin", out)
    return bind(_so.argmin_p, a, axis=axis, keepdims=bool(keepdims))


# ---- the functional update ------------------------------------------------------------
class _At:
    """``at(x)[idx]``: see :func:`at`."""

    __slots__ = ("x",)

    def __init__(self, x: Any) -> None:
        self.x = x

    def __getitem__(self, idx: Any) -> "_AtIndex":
        return _AtIndex(self.x, idx)


class _AtIndex:
    """The update methods of ``at(x)[idx]``; each returns a new array."""

    __slots__ = ("x", "idx", "advanced", "target")

    def __init__(self, x: Any, idx: Any) -> None:
        self.x = asarray(x)
        self.idx, self.advanced = _sh.normalize_index(idx, np.ndim(self.x))
        s = np.shape(self.x)
        # The flat position in x of every element of x[idx].
        self.target = np.arange(int(np.prod(s))).reshape(s)[self.idx]

    def _values(self, v: Any) -> Any:
        """``v`` in x's float dtype, broadcast to the shape of ``x[idx]``."""
        v = asarray(v)
        dt = _dtype(self.x)
        if np.issubdtype(dt, np.inexact) and _dtype(v) != dt:
            v = _ew.astype(v, dt) if isinstance(v, Tracer) else np.asarray(v, dtype=dt)
        t = self.target.shape
        if np.shape(v) != t:
            if np.broadcast_shapes(np.shape(v), t) != t:
                raise ValueError(f"at[...]: cannot broadcast values of shape {np.shape(v)} "
                                 f"to the indexed shape {t}")
            v = _sh.broadcast_to(v, t)
        return v

    def get(self) -> Any:
        """``x[idx]``."""
        return _sh.getitem_normalized(self.x, self.idx, self.advanced)

    def add(self, v: Any) -> Any:
        """``x`` with ``v`` added at ``idx``; repeated indices accumulate."""
        v = self._values(v)
        return self.x + _sh.index_add(v, self.idx, self.advanced, np.shape(self.x))

    def subtract(self, v: Any) -> Any:
        """``x`` with ``v`` subtracted at ``idx``; repeated indices accumulate."""
        return self.add(-asarray(v))

    def set(self, v: Any) -> Any:
        """``x`` with ``x[idx]`` replaced by ``v``.  With repeated indices the last value
        wins (what numpy's ``x[idx] = v`` does); the others get no derivative."""
        v = self._values(v)
        flat = self.target.ravel()
        size = int(np.prod(np.shape(self.x)))
        last = flat.size - 1 - np.unique(flat[::-1], return_index=True)[1]
        src = np.arange(size)
        src[flat[last]] = size + last
        joined = _sh.concatenate([_sh.ravel(self.x), _sh.ravel(v)], 0)
        return _sh.reshape(_sh.getitem(joined, (src,)), np.shape(self.x))

    def _layered(self, v: Any, combine: Any) -> Any:
        # Repeated indices are applied one after another: layer k holds the k-th
        # occurrence of each target, so within a layer the targets are distinct.
        v = _sh.ravel(self._values(v))
        flat = self.target.ravel()
        size = int(np.prod(np.shape(self.x)))
        order = np.argsort(flat, kind="stable")
        ranked = flat[order]
        starts = np.r_[True, ranked[1:] != ranked[:-1]] if flat.size else np.zeros(0, bool)
        first = np.maximum.accumulate(np.where(starts, np.arange(flat.size), 0))
        rank = np.empty(flat.size, dtype=np.intp)
        rank[order] = np.arange(flat.size) - first
        out = _sh.ravel(self.x)
        for k in range(int(rank.max()) + 1 if flat.size else 0):
            sel = np.flatnonzero(rank == k)
            hit = np.zeros(size, dtype=bool)
            hit[flat[sel]] = True
            spread = _sh.index_add(_sh.getitem(v, (sel,)), (flat[sel],), True, (size,))
            out = combine(out, spread, hit)
        return _sh.reshape(out, np.shape(self.x))

    def multiply(self, v: Any) -> Any:
        """``x`` with ``x[idx]`` multiplied by ``v``; repeated indices multiply again."""
        return self._layered(v, lambda o, s, hit: o * _ew.where(hit, s, 1.0))

    def divide(self, v: Any) -> Any:
        """``x`` with ``x[idx]`` divided by ``v``; repeated indices divide again."""
        return self._layered(v, lambda o, s, hit: o / _ew.where(hit, s, 1.0))

    def min(self, v: Any) -> Any:  # noqa: A003
        """``x`` with ``x[idx] = minimum(x[idx], v)`` (ties split the derivative)."""
        return self._layered(v, lambda o, s, hit: _ew.where(hit, _ew.minimum(o, s), o))

    def max(self, v: Any) -> Any:  # noqa: A003
        """``x`` with ``x[idx] = maximum(x[idx], v)`` (ties split the derivative)."""
        return self._layered(v, lambda o, s, hit: _ew.where(hit, _ew.maximum(o, s), o))


def at(x: Any) -> _At:
    """The functional update, in the spirit of JAX's ``x.at``: ``at(x)[idx].set(v)``,
    ``.add(v)``, ``.subtract(v)``, ``.multiply(v)``, ``.divide(v)``, ``.min(v)``,
    ``.max(v)`` and ``.get()`` return new arrays and never write into ``x``.

    ``idx`` is any numpy index (ints, slices, ``...``, ``None``, boolean masks, integer
    arrays).  ``v`` broadcasts to the shape of ``x[idx]`` and is cast to ``x``'s float
    dtype.  Differentiable in every mode with respect to ``x`` and ``v``.  Repeated
    indices: ``add``/``subtract``/``multiply``/``divide``/``min``/``max`` apply every
    occurrence; ``set`` keeps the last (as numpy's ``x[idx] = v``).
    """
    return _At(x)
