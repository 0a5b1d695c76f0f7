"""Shape functions with numpy's signatures.

All of these move elements without arithmetic, so they are composites of the linear
primitives ``reshape``, ``transpose``, ``broadcast_to``, ``getitem``/``index_add`` and
``concatenate``: their derivatives, sparsity (exact: "gather"/"scatter") and costs
("move") come from those.  Indexing, sorting and the functional update ``at`` live in
:mod:`._indexing` and are re-exported here.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..primitives import elementwise as _ew
from ..primitives import shape as _sh
from ..registry import Tracer, value_of
from ._construct import _dtype, _has_tracer, asarray
from ._dispatch import _dispatches, _no_out
from ._indexing import *  # noqa: F401,F403
from ._indexing import __all__ as _indexing_all
from ._indexing import _along, _axis

__all__ = [
    "append", "array_split", "atleast_1d", "atleast_2d", "atleast_3d", "broadcast_to",
    "column_stack", "concatenate", "dsplit", "dstack", "expand_dims", "flip", "fliplr",
    "flipud", "hsplit", "hstack", "moveaxis", "pad", "ravel", "repeat", "reshape", "roll",
    "rot90", "split", "squeeze", "stack", "swapaxes", "tile", "transpose", "vsplit",
    "vstack",
] + list(_indexing_all)


def _cast(arrays: Sequence[Any], dtype: Any) -> list:
    arrays = [asarray(a) for a in arrays]
    return arrays if dtype is None else [_ew.astype(a, dtype) for a in arrays]


@_dispatches(np.reshape)
def reshape(a: Any, shape: Any = None, order: str = "C", *, newshape: Any = None,
            copy: Any = None) -> Any:
    """``a`` with a new shape (C order only)."""
    if order != "C":
        raise NotImplementedError("reshape: only order='C' is supported")
    return _sh.reshape(asarray(a), shape if newshape is None else newshape)


@_dispatches(np.transpose)
def transpose(a: Any, axes: Any = None) -> Any:
    return _sh.transpose(asarray(a), axes)


@_dispatches(np.broadcast_to)
def broadcast_to(array: Any, shape: Any, subok: bool = False) -> Any:
    return _sh.broadcast_to(asarray(array), (shape,) if isinstance(shape, int) else shape)


@_dispatches(np.concatenate)
def concatenate(arrays: Sequence[Any], axis: int | None = 0, out: Any = None, *,
                dtype: Any = None, casting: str = "same_kind") -> Any:
    """Join arrays along an existing axis (None: flatten them first)."""
    _no_out("concatenate", out)
    arrays = _cast(arrays, dtype)
    if axis is None:
        return _sh.concatenate([_sh.ravel(a) for a in arrays], 0)
    return _sh.concatenate(arrays, axis)


@_dispatches(np.stack)
def stack(arrays: Sequence[Any], axis: int = 0, out: Any = None, *, dtype: Any = None,
          casting: str = "same_kind") -> Any:
    """Join arrays along a new axis; a list of traced scalars becomes a traced vector."""
    _no_out("stack", out)
    return _sh.stack(_cast(arrays, dtype), axis)


@_dispatches(np.expand_dims)
def expand_dims(a: Any, axis: Any) -> Any:
    return _sh.expand_dims(asarray(a), axis)


@_dispatches(np.squeeze)
def squeeze(a: Any, axis: Any = None) -> Any:
    return _sh.squeeze(asarray(a), axis)


@_dispatches(np.swapaxes)
def swapaxes(a: Any, axis1: int, axis2: int) -> Any:
    a = asarray(a)
    nd = np.ndim(a)
    return _sh.swapaxes(a, _axis(axis1, nd), _axis(axis2, nd))


@_dispatches(np.moveaxis)
def moveaxis(a: Any, source: Any, destination: Any) -> Any:
    """Move axes ``source`` (an int or a sequence) to positions ``destination``."""
    a = asarray(a)
    nd = np.ndim(a)
    src = [_axis(s, nd) for s in np.atleast_1d(source)]
    dst = [_axis(d, nd) for d in np.atleast_1d(destination)]
    if len(src) != len(dst):
        raise ValueError("`source` and `destination` arguments must have the same number "
                         "of elements")
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return _sh.transpose(a, order)


@_dispatches(np.ravel)
def ravel(a: Any, order: str = "C") -> Any:
    """``a`` flattened in C order (also ``x.flatten()``)."""
    if order != "C":
        raise NotImplementedError("ravel: only order='C' is supported on traced values")
    return _sh.ravel(asarray(a))


# ---- at least n-d, stacking ---------------------------------------------------------
def _atleast(arys: tuple, n: int) -> Any:
    out = []
    for a in arys:
        a = asarray(a)
        s = np.shape(a)
        if len(s) < n:
            if n == 3 and len(s) == 2:
                s = s + (1,)
            elif n == 3 and len(s) == 1:
                s = (1,) + s + (1,)
            else:
                s = (1,) * (n - len(s)) + s
            a = _sh.reshape(a, s)
        out.append(a)
    return out[0] if len(out) == 1 else tuple(out)


@_dispatches(np.atleast_1d)
def atleast_1d(*arys: Any) -> Any:
    return _atleast(arys, 1)


@_dispatches(np.atleast_2d)
def atleast_2d(*arys: Any) -> Any:
    return _atleast(arys, 2)


@_dispatches(np.atleast_3d)
def atleast_3d(*arys: Any) -> Any:
    """Views as at least 3-D: (n,) -> (1, n, 1), (m, n) -> (m, n, 1), as numpy does."""
    return _atleast(arys, 3)


def _each(fn: Any, tup: Sequence[Any]) -> list:
    return [fn(a) for a in tup]


@_dispatches(np.hstack)
def hstack(tup: Sequence[Any], *, dtype: Any = None, casting: str = "same_kind") -> Any:
    arrs = _cast(_each(atleast_1d, tup), dtype)
    return _sh.concatenate(arrs, 0 if arrs and np.ndim(arrs[0]) == 1 else 1)


@_dispatches(np.vstack)
def vstack(tup: Sequence[Any], *, dtype: Any = None, casting: str = "same_kind") -> Any:
    return _sh.concatenate(_cast(_each(atleast_2d, tup), dtype), 0)


@_dispatches(np.dstack)
def dstack(tup: Sequence[Any]) -> Any:
    return _sh.concatenate(_each(atleast_3d, tup), 2)


@_dispatches(np.column_stack)
def column_stack(tup: Sequence[Any]) -> Any:
    arrs = []
    for v in tup:
        v = asarray(v)
        arrs.append(_sh.reshape(v, (-1, 1)) if np.ndim(v) < 2 else v)
    return _sh.concatenate(arrs, 1)


@_dispatches(np.append)
def append(arr: Any, values: Any, axis: Any = None) -> Any:
    """``arr`` with ``values`` appended (flattened first when ``axis`` is None)."""
    arr, values = asarray(arr), asarray(values)
    if axis is None:
        if np.ndim(arr) != 1:
            arr = _sh.ravel(arr)
        values = _sh.ravel(values)
        axis = np.ndim(arr) - 1
    return _sh.concatenate([arr, values], axis)


# ---- splitting ------------------------------------------------------------------------
@_dispatches(np.array_split)
def array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list:
    """Split into pieces (a list of arrays); sections need not divide evenly."""
    a = asarray(ary)
    ax = _axis(axis, np.ndim(a))
    total = np.shape(a)[ax]
    if np.ndim(indices_or_sections) == 0:
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.")
        each, extras = divmod(total, sections)
        sizes = [0] + extras * [each + 1] + (sections - extras) * [each]
        div = np.cumsum(sizes)
    else:
        div = np.array([0] + [int(i) for i in indices_or_sections] + [total])
    return [_sh.getitem(a, _along(ax, slice(div[i], div[i + 1])))
            for i in range(len(div) - 1)]


@_dispatches(np.split)
def split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list:
    """Split into equal sections (an int) or at the given indices."""
    if np.ndim(indices_or_sections) == 0:
        total = np.shape(ary)[_axis(axis, np.ndim(ary))]
        if total % int(indices_or_sections):
            raise ValueError("array split does not result in an equal division")
    return array_split(ary, indices_or_sections, axis)


@_dispatches(np.hsplit)
def hsplit(ary: Any, indices_or_sections: Any) -> list:
    if np.ndim(ary) == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return split(ary, indices_or_sections, 1 if np.ndim(ary) > 1 else 0)


@_dispatches(np.vsplit)
def vsplit(ary: Any, indices_or_sections: Any) -> list:
    if np.ndim(ary) < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return split(ary, indices_or_sections, 0)


@_dispatches(np.dsplit)
def dsplit(ary: Any, indices_or_sections: Any) -> list:
    if np.ndim(ary) < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return split(ary, indices_or_sections, 2)


# ---- repetition, reversal, rotation ---------------------------------------------------
@_dispatches(np.tile)
def tile(A: Any, reps: Any) -> Any:
    """``A`` repeated ``reps`` times per axis: a broadcast between two reshapes."""
    a = asarray(A)
    reps = tuple(int(r) for r in np.atleast_1d(reps))
    s = np.shape(a)
    if len(s) < len(reps):
        s = (1,) * (len(reps) - len(s)) + s
    reps = (1,) * (len(s) - len(reps)) + reps
    inter = tuple(v for d in s for v in (1, d))
    big = tuple(v for r, d in zip(reps, s) for v in (r, d))
    out = _sh.broadcast_to(_sh.reshape(a, inter), big)
    return _sh.reshape(out, tuple(r * d for r, d in zip(reps, s)))


@_dispatches(np.repeat)
def repeat(a: Any, repeats: Any, axis: Any = None) -> Any:
    """Each element repeated ``repeats`` times (an int or one count per element)."""
    a = asarray(a)
    if axis is None:
        a, axis = _sh.ravel(a), 0
    ax = _axis(axis, np.ndim(a))
    idx = np.repeat(np.arange(np.shape(a)[ax]), np.asarray(value_of(repeats)))
    return _sh.getitem(a, _along(ax, idx))


@_dispatches(np.flip)
def flip(m: Any, axis: Any = None) -> Any:
    """``m`` reversed along ``axis`` (None: all axes)."""
    return _sh.flip(asarray(m), axis)


@_dispatches(np.fliplr)
def fliplr(m: Any) -> Any:
    if np.ndim(m) < 2:
        raise ValueError("Input must be >= 2-d.")
    return _sh.flip(asarray(m), 1)


@_dispatches(np.flipud)
def flipud(m: Any) -> Any:
    if np.ndim(m) < 1:
        raise ValueError("Input must be >= 1-d.")
    return _sh.flip(asarray(m), 0)


@_dispatches(np.roll)
def roll(a: Any, shift: Any, axis: Any = None) -> Any:
    """Elements shifted cyclically by ``shift`` along ``axis`` (None: flattened)."""
    a = asarray(a)
    if axis is None:
        return _sh.reshape(roll(_sh.ravel(a), shift, 0), np.shape(a))
    nd = np.ndim(a)
    total: dict[int, int] = {}
    for s, ax in zip(*np.broadcast_arrays(np.atleast_1d(shift), np.atleast_1d(axis))):
        ax = _axis(ax, nd)
        total[ax] = total.get(ax, 0) + int(s)
    for ax, s in sorted(total.items()):
        n = np.shape(a)[ax]
        if n and s % n:
            a = _sh.getitem(a, _along(ax, (np.arange(n) - s) % n))
    return a


@_dispatches(np.rot90)
def rot90(m: Any, k: int = 1, axes: Sequence[int] = (0, 1)) -> Any:
    """``m`` rotated by 90 degrees ``k`` times in the plane ``axes`` (as numpy)."""
    m = asarray(m)
    nd = np.ndim(m)
    if len(axes) != 2:
        raise ValueError("len(axes) must be 2.")
    a0, a1 = _axis(axes[0], nd), _axis(axes[1], nd)
    if a0 == a1:
        raise ValueError("Axes must be different.")
    k = int(k) % 4
    if k == 0:
        return m
    if k == 2:
        return _sh.flip(_sh.flip(m, a0), a1)
    order = list(range(nd))
    order[a0], order[a1] = order[a1], order[a0]
    if k == 1:
        return _sh.transpose(_sh.flip(m, a1), order)
    return _sh.flip(_sh.transpose(m, order), a1)


# ---- pad ------------------------------------------------------------------------------
_GATHER_MODES = ("edge", "reflect", "symmetric", "wrap")


@_dispatches(np.pad)
def pad(array: Any, pad_width: Any, mode: Any = "constant", **kwargs: Any) -> Any:
    """numpy's pad.  ``mode="constant"`` (with ``constant_values`` numbers) scatters
    ``array`` into the padded shape; "edge", "reflect", "symmetric" and "wrap" (with
    ``reflect_type="even"``) are gathers of ``array``'s elements.  Other modes, which
    compute statistics or ramps, raise ``NotImplementedError``."""
    if not isinstance(array, Tracer) and not _has_tracer(array):
        return np.pad(array, pad_width, mode, **kwargs)
    a = asarray(array)
    s = np.shape(a)
    pw = np.broadcast_to(np.asarray(pad_width), (len(s), 2))
    if not np.issubdtype(pw.dtype, np.integer):
        raise TypeError("pad: `pad_width` must be of integral type.")
    if (pw < 0).any():
        raise ValueError("index can't contain negative values")
    if mode == "constant":
        cv = kwargs.pop("constant_values", 0)
        if kwargs:
            raise TypeError(f"pad: unsupported keyword arguments {sorted(kwargs)} for "
                            f"mode 'constant'")
        if isinstance(cv, Tracer) or _has_tracer(cv):
            raise TypeError("pad: traced constant_values are not supported; pad with "
                            "numbers, or build the border with dualtape.numpy.concatenate")
        out_shape = tuple(int(d + b + e) for d, (b, e) in zip(s, pw))
        idx = tuple(slice(int(b), int(b) + d) for d, (b, _) in zip(s, pw))
        out = _sh.index_add(a, idx, False, out_shape)
        if np.any(np.asarray(cv) != 0):
            out = out + np.pad(np.zeros(s, dtype=_dtype(a)), pw,
                               constant_values=cv)
        return out
    if mode in _GATHER_MODES:
        if kwargs.get("reflect_type", "even") != "even" or set(kwargs) - {"reflect_type"}:
            raise NotImplementedError(f"pad: mode {mode!r} supports only "
                                      f"reflect_type='even' on traced values")
        src = np.pad(np.arange(int(np.prod(s))).reshape(s), pw, mode=mode)
        return _sh.getitem(_sh.ravel(a), src)
    raise NotImplementedError(
        f"pad: mode {mode!r} is not supported on traced values; supported modes are "
        f"'constant' and {', '.join(repr(m) for m in _GATHER_MODES)}")
