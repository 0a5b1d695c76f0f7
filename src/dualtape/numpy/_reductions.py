"""Reductions with numpy's signatures."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..primitives import elementwise as _ew
from ..primitives import reductions as _red
from ._construct import asarray
from ._dispatch import _dispatches, _no_out

__all__ = [
    "amax", "amin", "max", "mean", "min", "sum",
]


@_dispatches(np.sum)
def sum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,  # noqa: A001
        keepdims: bool = False) -> Any:
    """Sum over ``axis`` (None: all).  Shape: ``a.shape`` without the reduced axes."""
    _no_out("sum", out)
    if dtype is not None:
        a = _ew.astype(a, dtype)
    return _red.sum(asarray(a), axis, keepdims)


@_dispatches(np.mean)
def mean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
         keepdims: bool = False) -> Any:
    """Mean over ``axis`` (None: all)."""
    _no_out("mean", out)
    if dtype is not None:
        a = _ew.astype(a, dtype)
    return _red.mean(asarray(a), axis, keepdims)


@_dispatches(np.max, np.amax)
def max(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """Maximum over ``axis``; the derivative follows the maximum, ties split equally."""
    _no_out("max", out)
    return _red.max(asarray(a), axis, keepdims)


@_dispatches(np.min, np.amin)
def min(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """Minimum over ``axis``; the derivative follows the minimum, ties split equally."""
    _no_out("min", out)
    return _red.min(asarray(a), axis, keepdims)


amax, amin = max, min
