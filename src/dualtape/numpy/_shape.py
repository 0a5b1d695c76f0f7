"""Shape functions with numpy's signatures."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..primitives import shape as _sh
from ._construct import asarray
from ._dispatch import _dispatches, _no_out

__all__ = [
    "broadcast_to", "concatenate", "expand_dims", "moveaxis", "ravel", "reshape", "squeeze",
    "stack", "swapaxes", "transpose",
]


@_dispatches(np.reshape)
def reshape(a: Any, shape: Any = None, order: str = "C", *, newshape: Any = None,
            copy: Any = None) -> Any:
    """``a`` with a new shape (C order only)."""
    if order != "C":
        raise NotImplementedError("reshape: only order='C' is supported")
    return _sh.reshape(a, shape if newshape is None else newshape)


@_dispatches(np.transpose)
def transpose(a: Any, axes: Any = None) -> Any:
    return _sh.transpose(a, axes)


@_dispatches(np.broadcast_to)
def broadcast_to(array: Any, shape: Any, subok: bool = False) -> Any:
    return _sh.broadcast_to(array, (shape,) if isinstance(shape, int) else shape)


@_dispatches(np.concatenate)
def concatenate(arrays: Sequence[Any], axis: int | None = 0, out: Any = None,
                **kwargs: Any) -> Any:
    _no_out("concatenate", out)
    arrays = [asarray(a) for a in arrays]
    if axis is None:
        return _sh.concatenate([_sh.ravel(a) for a in arrays], 0)
    return _sh.concatenate(arrays, axis)


@_dispatches(np.stack)
def stack(arrays: Sequence[Any], axis: int = 0, out: Any = None, **kwargs: Any) -> Any:
    _no_out("stack", out)
    return _sh.stack([asarray(a) for a in arrays], axis)


@_dispatches(np.expand_dims)
def expand_dims(a: Any, axis: Any) -> Any:
    return _sh.expand_dims(a, axis)


@_dispatches(np.squeeze)
def squeeze(a: Any, axis: Any = None) -> Any:
    return _sh.squeeze(a, axis)


@_dispatches(np.swapaxes)
def swapaxes(a: Any, axis1: int, axis2: int) -> Any:
    return _sh.swapaxes(a, axis1, axis2)


@_dispatches(np.moveaxis)
def moveaxis(a: Any, source: int, destination: int) -> Any:
    return _sh.moveaxis(a, source, destination)


@_dispatches(np.ravel)
def ravel(a: Any, order: str = "C") -> Any:
    return _sh.ravel(a)
