"""Construction and inspection: constants never break a trace.

``zeros_like``, ``ones_like``, ``full_like`` and ``empty_like`` of a traced value are
plain constants (they do not depend on its value); ``full_like`` with a traced fill
value broadcasts it (and stays differentiable in it).  ``eye``, ``arange``, ``zeros``...
are numpy's own, and so are ``shape``, ``ndim`` and ``size`` (they answer for traced
values through numpy's dispatch).

Lists holding traced values: ``np.array([a, b])`` and ``np.asarray`` are not
dispatched by numpy (they call ``__array__``, which raises a TypeError rather than drop
a derivative); use ``dnp.array`` / ``dnp.asarray`` / ``np.stack``, which build a traced
array.
"""

from __future__ import annotations

import builtins
from typing import Any, Callable, Literal

import numpy as np

from ..primitives import OPS
from ..primitives import elementwise as _ew
from ..primitives import shape as _sh
from ..primitives import sparse as _sparse
from ..registry import Tracer
from ._dispatch import _dispatches, _no_out

__all__ = [
    "arange", "array", "asarray", "copy", "empty", "empty_like", "eye", "full_like",
    "linspace", "ones", "ones_like", "zeros", "zeros_like",
]


@_dispatches(np.shape)
def _shape(a: Any) -> tuple:
    return a.shape if isinstance(a, Tracer) else np.shape(a)


@_dispatches(np.ndim)
def _ndim(a: Any) -> int:
    return a.ndim if isinstance(a, Tracer) else np.ndim(a)


@_dispatches(np.size)
def _size(a: Any, axis: int | None = None) -> int:
    if isinstance(a, Tracer):
        return a.size if axis is None else a.shape[axis]
    return np.size(a, axis)


def _like_shape(a: Any, shape_: Any) -> tuple:
    if shape_ is None:
        return _shape(a)
    return (int(shape_),) if np.ndim(shape_) == 0 else tuple(int(s) for s in shape_)


@_dispatches(np.zeros_like)
def zeros_like(a: Any, dtype: Any = None, order: str = "K", subok: bool = True,
               shape: Any = None, **kwargs: Any) -> np.ndarray:
    """A constant array of zeros: it does not depend on ``a``'s value."""
    return np.zeros(_like_shape(a, shape), dtype=dtype or _dtype(a))


@_dispatches(np.ones_like)
def ones_like(a: Any, dtype: Any = None, order: str = "K", subok: bool = True,
              shape: Any = None, **kwargs: Any) -> np.ndarray:
    """A constant array of ones: it does not depend on ``a``'s value."""
    return np.ones(_like_shape(a, shape), dtype=dtype or _dtype(a))


@_dispatches(np.empty_like)
def empty_like(prototype: Any, dtype: Any = None, order: str = "K", subok: bool = True,
               shape: Any = None, **kwargs: Any) -> np.ndarray:
    """A constant, uninitialised array shaped like ``prototype``."""
    return np.empty(_like_shape(prototype, shape), dtype=dtype or _dtype(prototype))


@_dispatches(np.full_like)
def full_like(a: Any, fill_value: Any, dtype: Any = None, order: str = "K",
              subok: bool = True, shape: Any = None, **kwargs: Any) -> Any:
    """An array shaped like ``a`` filled with ``fill_value``: a constant unless
    ``fill_value`` itself is traced (then it is broadcast, differentiably)."""
    s = _like_shape(a, shape)
    dt = dtype or _dtype(a)
    if isinstance(fill_value, Tracer) or _has_tracer(fill_value):
        v = asarray(fill_value)
        if _dtype(v) != np.dtype(dt):
            v = _ew.astype(v, dt)
        return _sh.broadcast_to(v, s)
    return np.full(s, fill_value, dtype=dt)


@_dispatches(np.copyto)
def _copyto(dst: Any, src: Any, casting: str = "same_kind", where: Any = True) -> None:
    # np.full(shape, traced, dtype=...), np.full_like(plain, traced) and np.place-style
    # writes arrive here.
    from ._conversion import write_error
    raise write_error("numpy.copyto", 2)


def _dtype(a: Any) -> Any:
    return a.dtype if hasattr(a, "dtype") else np.result_type(a)


@_dispatches(np.result_type)
def _result_type(*arrays_and_dtypes: Any) -> np.dtype:
    # Inspection only: a traced value stands for its dtype.
    return np.result_type(*(a.dtype if isinstance(a, Tracer) else a
                            for a in arrays_and_dtypes))


def _has_tracer(x: Any) -> bool:
    if isinstance(x, Tracer):
        return True
    if isinstance(x, (list, tuple)):
        return builtins.any(_has_tracer(v) for v in x)
    return False


def asarray(a: Any, dtype: Any = None, order: Any = None, *, device: Any = None,
            copy: Any = None, like: Any = None) -> Any:
    """``a`` as an array; a (nested) list holding traced values becomes a traced array."""
    traced = isinstance(a, Tracer) or (isinstance(a, (list, tuple)) and _has_tracer(a))
    if traced and (device not in (None, "cpu") or like is not None):
        raise TypeError("dualtape.numpy.asarray: device= and like= are not supported on "
                        "traced values (they live in host memory as numpy arrays)")
    # order and copy do not apply to a traced value: it is immutable and has no layout
    if isinstance(a, Tracer):
        return a if dtype is None else _ew.astype(a, dtype)
    if traced:
        return _sh.stack([asarray(v, dtype) for v in a], 0)
    extra = {k: v for k, v in (("order", order), ("device", device), ("copy", copy),
                               ("like", like)) if v is not None}
    r = np.asarray(a, dtype=dtype, **extra)
    if r.dtype == object and r.ndim == 0 and _sparse.is_operator(a):
        raise _sparse.not_an_array(a)           # numpy would wrap it in an object array
    return r


def array(object: Any, dtype: Any = None, *, copy: bool = True, ndmin: int = 0,  # noqa: A002
          **kwargs: Any) -> Any:
    """``object`` as an array, like ``np.array``; (nested) lists holding traced values
    become a traced array.  Traced values are immutable, so no copy is needed."""
    if not isinstance(object, Tracer) and not _has_tracer(object):
        return np.array(object, dtype=dtype, copy=copy, ndmin=ndmin, **kwargs)
    a = asarray(object, dtype)
    if np.ndim(a) < ndmin:
        a = _sh.reshape(a, (1,) * (ndmin - np.ndim(a)) + _shape(a))
    return a


@_dispatches(np.copy)
def copy(a: Any, order: Literal["K", "A", "C", "F"] = "K", subok: bool = False) -> Any:
    """A copy of ``a``; a traced value is immutable, so it is returned as is."""
    return asarray(a) if isinstance(a, Tracer) or _has_tracer(a) else np.copy(a, order)


@_dispatches(np.linspace)
def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True,
             retstep: bool = False, dtype: Any = None, axis: int = 0, **kwargs: Any) -> Any:
    """numpy's linspace; differentiable in traced ``start``/``stop``."""
    if not (_has_tracer(start) or _has_tracer(stop)):
        # the result's type follows retstep, forwarded as it came
        np_linspace: Callable[..., Any] = np.linspace
        return np_linspace(start, stop, num, endpoint, retstep, dtype, axis, **kwargs)
    start, stop = asarray(start), asarray(stop)
    num = int(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    div = (num - 1) if endpoint else num
    delta = stop - start
    frac = np.arange(num, dtype=np.float64).reshape((-1,) + (1,) * np.ndim(delta))
    frac = frac / div if div > 0 else frac * 0.0
    y = start + frac * delta
    if endpoint and num > 1:
        last = np.zeros((num,) + (1,) * np.ndim(delta), dtype=bool)
        last[-1] = True
        y = _ew.where(last, stop, y)        # the end point exactly, as numpy
    if axis != 0:
        y = OPS["moveaxis"](y, 0, int(axis))
    if dtype is not None:
        y = _ew.astype(y, dtype)
    if retstep:
        return y, (delta / div if div > 0 else delta * np.nan)
    return y


zeros, ones, empty, eye, arange = np.zeros, np.ones, np.empty, np.eye, np.arange

_no_out = _no_out  # re-exported for the sibling adapters
OPS["asarray"] = asarray
