"""Helpers both modes share for their public functions: argument containers (tuples,
lists and dicts of arrays), input checks, and Jacobian assembly.  No mode lives here."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .primitives import OPS
from .registry import Tracer, deriving


def flatten(tree: Any) -> tuple[list, Any]:
    """Leaves of nested tuples/lists/dicts, and a description to rebuild the nesting."""
    leaves: list = []

    def walk(t: Any) -> Any:
        if isinstance(t, (tuple, list)):
            return (type(t), [walk(v) for v in t])
        if isinstance(t, dict):
            keys = sorted(t)
            return (dict, keys, [walk(t[k]) for k in keys])
        leaves.append(t)
        return None
    return leaves, walk(tree)


def unflatten(spec: Any, leaves: Sequence) -> Any:
    """Inverse of :func:`flatten`."""
    it = iter(leaves)

    def build(s: Any) -> Any:
        if s is None:
            return next(it)
        if s[0] is dict:
            return {k: build(v) for k, v in zip(s[1], s[2])}
        items = [build(v) for v in s[1]]
        return s[0](*items) if hasattr(s[0], "_fields") else s[0](items)   # namedtuples
    return build(spec)


def to_array(x: Any, dtype: Any = None) -> Any:
    """``x`` as an ndarray, or unchanged if it is already traced (an outer mode's value)."""
    if isinstance(x, Tracer):
        return x
    return np.asarray(x, dtype=dtype)


def check_float(x: Any, fn: str) -> Any:
    """Reject integer and boolean inputs, which have no derivative."""
    dt = x.dtype
    if not np.issubdtype(dt, np.inexact):
        raise TypeError(
            f"{fn}: cannot differentiate with respect to an input of dtype {dt}; only "
            f"floating-point (or complex) inputs have derivatives. Pass x.astype(float).")
    return x


def select_args(argnums: int | Sequence[int], nargs: int) -> tuple[tuple, bool]:
    """Normalised argnums and whether a single one was asked for."""
    single = isinstance(argnums, (int, np.integer))
    nums = (int(argnums),) if single else tuple(int(a) for a in argnums)
    for a in nums:
        if not -nargs <= a < nargs:
            raise ValueError(f"argnums {a} is out of range for {nargs} positional arguments")
    return tuple(a % nargs for a in nums), single


def shape_of(x: Any) -> tuple:
    """The shape of an array, traced value or Python number."""
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def basis(n: int, start: int, stop: int, shape: tuple, dtype: Any) -> np.ndarray:
    """Unit vectors ``start..stop-1`` of R^n, shaped ``(stop - start,) + shape``: the
    seeds of one chunk of Jacobian columns (forward) or rows (reverse)."""
    seed = np.zeros((stop - start, n), dtype=dtype)
    seed[np.arange(stop - start), np.arange(start, stop)] = 1
    return seed.reshape((stop - start,) + tuple(shape))


def zeros_tangent(p: Any, batch: tuple = ()) -> np.ndarray:
    """An instantiated zero tangent for value ``p`` (the symbolic zero made concrete)."""
    dt = getattr(p, "dtype", None) or np.result_type(p)
    if not np.issubdtype(dt, np.inexact):
        dt = np.float64
    return np.zeros(tuple(batch) + shape_of(p), dtype=dt)


def jac_assemble(out_leaves: list, tree: Any, blocks: list, in_shape: tuple,
                 columns: bool) -> Any:
    """Stack per-pass blocks into Jacobians of shape ``out.shape + in.shape``.

    ``columns``: each block entry is ``(k,) + out.shape`` (forward passes); otherwise
    ``(k,) + in.shape`` (reverse passes, one output leaf at a time).
    """
    return unflatten(tree, [assemble(p, [b[j] for b in blocks], in_shape, columns)
                            for j, p in enumerate(out_leaves)])


def assemble(out: Any, parts: list, in_shape: tuple, columns: bool) -> Any:
    """One output's Jacobian, ``out.shape + in_shape``, from its per-pass blocks (counted
    as derivative work)."""
    with deriving():
        stacked = parts[0] if len(parts) == 1 else OPS["concatenate"](parts, 0)
        if columns and stacked.ndim > 1:
            stacked = OPS["moveaxis"](stacked, 0, -1)
        return OPS["reshape"](stacked, shape_of(out) + tuple(in_shape))


def all_finite(x: Any) -> bool:
    """True if every number in ``x`` is finite, looking through traced values (their
    primal and, where they have one, their tangent) and containers."""
    stack = [x]
    while stack:
        v = stack.pop()
        if v is None:
            continue
        if isinstance(v, Tracer):
            stack.append(v.primal)
            stack.append(getattr(v, "tangent", None))
        elif isinstance(v, (list, tuple)):
            stack.extend(v)
        elif isinstance(v, np.ndarray):
            if v.dtype.kind in "fc" and not np.isfinite(v).all():
                return False
        elif isinstance(v, (float, complex, np.inexact)) and not np.isfinite(v):
            return False
    return True


class LazyModule:
    """A module imported on first attribute access, so importing dualtape does not load
    heavy optional machinery (scipy.sparse) until a function needs it."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        from importlib import import_module
        return getattr(import_module(self._name), attr)


sparse = LazyModule("scipy.sparse")
