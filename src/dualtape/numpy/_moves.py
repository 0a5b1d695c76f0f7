"""Functions that only move, copy or select elements, as one gather each.

numpy's own function runs twice on plain stand-ins: once with each traced argument
replaced by the flat positions of its elements (plus one; 0 marks "not from a traced
argument") and once with it replaced by zeros (giving every element that comes from
plain arguments or fill values).  The result is a ``getitem`` of the traced elements at
those positions, ``where``-combined with the plain part.  So every detail of numpy's
semantics (insert's broadcasting, r_'s directives, delete's index forms, meshgrid's
indexing) is numpy's, and derivatives, exact sparsity patterns and costs come from the
``getitem`` and ``where`` primitives.  Only functions that never compute with the
values may be written this way.
"""

from __future__ import annotations

from typing import Any, Callable, Literal

import numpy as np

from ..primitives import elementwise as _ew
from ..primitives import shape as _sh
from ..registry import Tracer, value_of
from ._construct import _has_tracer
from ._dispatch import _dispatches

__all__ = [
    "block", "broadcast_arrays", "c_", "choose", "compress", "concat", "delete",
    "diagflat", "extract", "insert", "matrix_transpose", "meshgrid", "permute_dims", "r_",
    "resize", "rollaxis", "row_stack", "trim_zeros", "unstack",
]


def _map(tree: Any, leaf: Callable) -> Any:
    """``tree`` (lists and tuples of items) with ``leaf`` applied to each traced item."""
    if isinstance(tree, Tracer):
        return leaf(tree)
    if isinstance(tree, (list, tuple)) and _has_tracer(tree):
        return type(tree)(_map(t, leaf) for t in tree)
    return tree


def _index(items: list, t: Any) -> int:
    return next(i for i, x in enumerate(items) if x is t)


_OFFSET = 2 ** 40     # exact in float64, so positions survive a cast to float


def by_positions(call: Callable[..., Any], *args: Any) -> Any:
    """``call(*args)`` (numpy's element-moving function) with the traced elements of
    ``args`` gathered differentiably; see the module docstring.  ``call`` may return an
    array or a list/tuple of arrays."""
    traced: list = []
    def keep(t: Any) -> Any:
        traced.append(t)
        return t
    _map(list(args), keep)
    if not traced:
        return call(*args)

    starts = np.cumsum([0] + [int(np.size(t.primal)) for t in traced])

    def positions(base: int) -> Callable:
        # the same traced object twice (np.block([[a, a]])) has the same elements
        def leaf(t: Any) -> np.ndarray:
            start = base + int(starts[_index(traced, t)])
            return np.arange(start, start + t.size, dtype=np.int64).reshape(t.shape)
        return leaf

    # Two runs with positions shifted by _OFFSET tell the elements that come from
    # traced arguments (they move by _OFFSET) from plain data (it does not).
    pos = call(*_map(list(args), positions(1)))
    pos2 = call(*_map(list(args), positions(1 + _OFFSET)))
    vals = call(*_map(list(args), lambda t: np.zeros(t.shape, t.dtype)))
    dt = np.result_type(*[t.dtype for t in traced])
    source = _sh.concatenate([np.zeros(1, dt)] + [_sh.ravel(_ew.astype(t, dt))
                                                  if t.dtype != dt else _sh.ravel(t)
                                                  for t in traced], 0)

    def gather(p: Any, p2: Any, v: Any) -> Any:
        if isinstance(p, np.matrix) or np.asarray(p).dtype == object:
            raise TypeError("numpy.matrix and object arrays of traced values are not "
                            "supported; use 2-D arrays")
        p, p2, v = np.asarray(p), np.asarray(p2), np.asarray(v)
        hit = (p2 - p) == _OFFSET
        idx = np.where(hit, p, 0)
        if not np.array_equal(idx, np.round(idx)):
            raise TypeError("a traced value was cast to a narrower type here; cast the "
                            "plain arguments to the traced value's dtype first")
        out = _sh.getitem(source, (idx.astype(np.intp),))
        if hit.all():
            return out
        return _ew.where(hit, out, v.astype(np.result_type(v, dt)))
    if isinstance(pos, (list, tuple)):
        return type(pos)(gather(p, p2, v) for p, p2, v in zip(pos, pos2, vals))
    return gather(pos, pos2, vals)


def _mover(np_fn: Callable) -> Callable:
    """``np_fn`` as a differentiable gather of its traced arguments' elements."""
    def fn(*args: Any, **kwargs: Any) -> Any:
        return by_positions(lambda *a: np_fn(*a, **kwargs), *args)
    fn.__name__ = np_fn.__name__
    fn.__qualname__ = np_fn.__name__
    fn.__doc__ = (f"numpy.{np_fn.__name__}, differentiable in every mode: its result "
                  f"is a gather of the input's elements (numpy's own semantics).")
    if hasattr(np_fn, "_implementation"):
        _dispatches(np_fn)(fn)
    return fn


delete = _mover(np.delete)
insert = _mover(np.insert)
resize = _mover(np.resize)
compress = _mover(np.compress)
extract = _mover(np.extract)
diagflat = _mover(np.diagflat)
rollaxis = _mover(np.rollaxis)
permute_dims = _mover(np.permute_dims)
matrix_transpose = _mover(np.matrix_transpose)
unstack = _mover(np.unstack)
concat = _mover(np.concat)
broadcast_arrays = _mover(np.broadcast_arrays)
block = _mover(np.block)
meshgrid = _mover(np.meshgrid)
choose = _mover(np.choose)
# np.row_stack is deprecated (and not dispatched); vstack is the same function.
row_stack = _mover(np.vstack)
row_stack.__name__ = "row_stack"


@_dispatches(np.trim_zeros)
def trim_zeros(filt: Any, trim: Literal["f", "b", "fb", "bf"] = "fb", axis: Any = None) -> Any:
    """``filt`` without its leading/trailing zeros: which ones is decided on the values
    (plain), the kept elements are a differentiable slice (interior zeros included)."""
    if not isinstance(filt, Tracer):
        return np.trim_zeros(filt, trim, axis=axis)
    v = np.ascontiguousarray(value_of(filt))
    box = np.trim_zeros(v, trim, axis=axis)
    if box.base is not v and box is not v:
        raise NotImplementedError("trim_zeros: numpy returned a copy, not a view")
    # numpy returns a basic slice of v: its origin is its offset into v's buffer
    offset = (box.__array_interface__["data"][0] - v.__array_interface__["data"][0])
    origin = np.unravel_index(offset // max(v.itemsize, 1), v.shape) if v.size else \
        (0,) * v.ndim
    if box.size == 0:
        origin = (0,) * v.ndim
    return _sh.getitem(filt, tuple(slice(int(o), int(o) + n)
                                   for o, n in zip(origin, box.shape)))


class _Concatenator:
    """``dualtape.numpy.r_`` / ``c_``: numpy's index helpers, differentiable in traced
    items (numpy's AxisConcatenator runs on stand-ins, see ``by_positions``)."""

    def __init__(self, np_obj: Any, name: str) -> None:
        self._np = np_obj
        self._name = name

    def __getitem__(self, key: Any) -> Any:
        items = key if isinstance(key, tuple) else (key,)
        if not _has_tracer(list(items)):
            return self._np[key]
        # slices become numpy's own ranges first, so that no stand-in is a slice
        items = tuple(np.asarray(self._np[it]) if isinstance(it, slice) else it
                      for it in items)
        return by_positions(lambda *its: self._np[its if len(its) > 1 else its[0]],
                            *items)

    def __len__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return f"dualtape.numpy.{self._name}"


r_ = _Concatenator(np.r_, "r_")
c_ = _Concatenator(np.c_, "c_")
