"""Registration of what numpy's functions and ufuncs do on traced values."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ..primitives import elementwise as _ew
from ..primitives import sparse as _sparse
from ..registry import Tracer

_NOT_OPERATORS = (Tracer, np.ndarray, float, int, complex, np.generic)
_UFUNCS: dict[Any, Callable] = {}
_UFUNC_PRIMS: dict[Any, Any] = {}
_FUNCS: dict[Any, Callable] = {}


def _mode_of(args: Sequence) -> str:
    """The mode of the innermost traced value among ``args`` (also inside lists)."""
    best = None
    stack = list(args)
    while stack:
        a = stack.pop()
        if isinstance(a, (list, tuple)):
            stack.extend(a)
        elif isinstance(a, Tracer) and (best is None or a._level > best._level):
            best = a
    return best._trace.mode if best is not None else "no"


def _no_rule(what: str, args: Sequence) -> TypeError:
    return TypeError(
        f"{what} has no derivative rule in dualtape and was called on a traced value "
        f"({_mode_of(args)} mode). Use a function from dualtape.numpy, or register one "
        f"with dt.defprimitive / dt.defjvp / dt.defvjp.")


def _ufunc(op: Callable, uf: np.ufunc, name: str | None = None) -> Callable:
    mixes = uf is not np.matmul

    def f(*args: Any, out: Any = None, where: Any = True, dtype: Any = None,
          **kwargs: Any) -> Any:
        if out is not None and not (isinstance(out, tuple) and all(o is None for o in out)):
            if any(isinstance(a, Tracer) for a in args) or isinstance(out, Tracer):
                raise TypeError(f"numpy.{uf.__name__}(..., out=...) would write in place; "
                                f"traced values are immutable, so assign the result instead")
            return uf(*args, out=out, where=where, dtype=dtype, **kwargs)
        if where is not True:
            raise TypeError(f"{uf.__name__}(..., where=...) is not supported on traced "
                            f"values; use dualtape.numpy.where")
        if kwargs:
            raise TypeError(f"{uf.__name__}: unsupported keyword arguments {sorted(kwargs)}")
        if dtype is not None:
            args = tuple(_ew.astype(a, dtype) for a in args)
        if mixes and len(args) > 1:
            # a sparse operator beside a traced value (matmul applies them: sparse_matmul);
            # alone, it is numpy's business
            for a in args:
                # traced values, arrays and numbers are decided by one C-level check
                if not isinstance(a, _NOT_OPERATORS) and _sparse.is_operator(a):
                    raise _sparse.not_an_array(a, f"{uf.__name__}")
        return op(*args)
    f.__name__ = name or uf.__name__
    f.__doc__ = f"numpy.{uf.__name__}, differentiable in every mode."
    _UFUNCS[uf] = f
    prim = getattr(op, "primitive", None)
    if prim is not None:
        _UFUNC_PRIMS[uf] = prim     # plain calls go straight to bind
    return f



def _dispatches(*np_funcs: Callable) -> Callable:
    """Register ``fn`` as what the given numpy functions do on traced values."""
    def deco(fn: Callable) -> Callable:
        for nf in np_funcs:
            _FUNCS[nf] = fn
        return fn
    return deco


def _no_out(name: str, out: Any) -> None:
    if out is not None:
        raise TypeError(f"{name}(..., out=...) would write in place; traced values are "
                        f"immutable, so assign the result instead")


