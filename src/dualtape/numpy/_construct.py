"""Construction and inspection: constants never break a trace."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from ..primitives import OPS
from ..primitives import elementwise as _ew
from ..primitives import shape as _sh
from ..registry import Tracer
from ._dispatch import _dispatches

__all__ = [
    "arange", "array", "asarray", "empty", "eye", "full", "linspace", "ndim", "ones",
    "ones_like", "shape", "size", "zeros", "zeros_like",
]


@_dispatches(np.shape)
def shape(a: Any) -> tuple:
    return a.shape if isinstance(a, Tracer) else np.shape(a)


@_dispatches(np.ndim)
def ndim(a: Any) -> int:
    return a.ndim if isinstance(a, Tracer) else np.ndim(a)


@_dispatches(np.size)
def size(a: Any, axis: int | None = None) -> int:
    if isinstance(a, Tracer):
        return a.size if axis is None else a.shape[axis]
    return np.size(a, axis)


@_dispatches(np.zeros_like)
def zeros_like(a: Any, dtype: Any = None, **kwargs: Any) -> np.ndarray:
    """A constant array of zeros: it does not depend on ``a``'s value."""
    return np.zeros(shape(a), dtype=dtype or _dtype(a))


@_dispatches(np.ones_like)
def ones_like(a: Any, dtype: Any = None, **kwargs: Any) -> np.ndarray:
    return np.ones(shape(a), dtype=dtype or _dtype(a))


def _dtype(a: Any) -> Any:
    return a.dtype if hasattr(a, "dtype") else np.result_type(a)


def _has_tracer(x: Any) -> bool:
    if isinstance(x, Tracer):
        return True
    if isinstance(x, (list, tuple)):
        return builtins.any(_has_tracer(v) for v in x)
    return False


def asarray(a: Any, dtype: Any = None) -> Any:
    """``a`` as an array; a (nested) list holding traced values becomes a traced array."""
    if isinstance(a, Tracer):
        return a if dtype is None else _ew.astype(a, dtype)
    if isinstance(a, (list, tuple)) and _has_tracer(a):
        return _sh.stack([asarray(v, dtype) for v in a], 0)
    return np.asarray(a, dtype=dtype)


array = asarray
zeros, ones, empty, full, eye, arange, linspace = (
    np.zeros, np.ones, np.empty, np.full, np.eye, np.arange, np.linspace)


OPS["asarray"] = asarray
