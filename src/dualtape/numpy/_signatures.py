"""numpy's parameter names on dualtape.numpy's functions, for ``inspect.signature``,
``help()`` and IDEs.

Each function of the namespace with a numpy counterpart gets ``__signature__``: numpy's
own signature, or for a ufunc one built from ``nin``/``nout`` as numpy documents ufunc
calls, ``(x1, x2, /, out=None, *, where=True, casting=..., ...)``.  The signature is
read when first asked for, not at import: numpy's hundreds of signatures would
otherwise add to every ``import dualtape``.  The test suite checks that each
implementation accepts every parameter its signature shows.
"""

from __future__ import annotations

import functools
import inspect
import types
from typing import Any, Callable

import numpy as np

_P = inspect.Parameter
_NO_VALUE = getattr(np, "_NoValue", None)    # numpy's "not given" default, as it shows it
_UFUNC_OPTIONS = (("casting", "same_kind"), ("order", "K"), ("dtype", None),
                  ("subok", True), ("signature", None))


def ufunc_signature(uf: np.ufunc) -> inspect.Signature:
    """A ufunc's call signature from its ``nin``, ``nout`` and (gufuncs) core signature."""
    names = ["x"] if uf.nin == 1 else [f"x{i + 1}" for i in range(uf.nin)]
    params = [_P(n, _P.POSITIONAL_ONLY) for n in names]
    params.append(_P("out", _P.POSITIONAL_OR_KEYWORD,
                     default=None if uf.nout == 1 else (None,) * uf.nout))
    if uf.signature is None:
        params.append(_P("where", _P.KEYWORD_ONLY, default=True))
    else:                                   # a generalized ufunc: core axes instead
        params += [_P("axes", _P.KEYWORD_ONLY, default=_NO_VALUE),
                   _P("axis", _P.KEYWORD_ONLY, default=_NO_VALUE),
                   _P("keepdims", _P.KEYWORD_ONLY, default=False)]
    params += [_P(n, _P.KEYWORD_ONLY, default=d) for n, d in _UFUNC_OPTIONS]
    return inspect.Signature(params)


def own_signature(fn: types.FunctionType) -> inspect.Signature:
    """The signature of ``fn``'s own code, whatever ``__signature__`` it carries."""
    bare = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__,
                              fn.__closure__)
    bare.__kwdefaults__ = fn.__kwdefaults__
    bare.__annotations__ = fn.__annotations__
    return inspect.signature(bare)


def numpy_signature(np_fn: Any, fn: types.FunctionType) -> inspect.Signature:
    """What ``fn`` shows: numpy's signature of ``np_fn`` (built for a ufunc); fn's own
    where numpy gives none."""
    if isinstance(np_fn, np.ufunc):
        return ufunc_signature(np_fn)
    try:
        return inspect.signature(np_fn)
    except (ValueError, TypeError):
        return own_signature(fn)


class _Deferred(inspect.Signature):
    """A signature computed on first use (then kept: it is the same every time)."""

    __slots__ = ("_make", "_made")

    def __init__(self, make: Callable[[], inspect.Signature]) -> None:   # noqa: D107
        self._make = make
        self._made: inspect.Signature | None = None

    def _get(self) -> inspect.Signature:
        made = self._made
        if made is None:
            made = self._made = self._make()
        return made

    # inspect.Signature keeps its state in these two slots; reading them computes it
    _parameters = property(lambda self: self._get().parameters)
    _return_annotation = property(
        lambda self: self._get().return_annotation)


def expose(namespace: Any, numpy_namespace: Any, names: Any = None) -> None:
    """Give each function of ``namespace`` (a module) with a counterpart of the same
    name in ``numpy_namespace`` numpy's signature, read when first asked for."""
    for name in names if names is not None else getattr(namespace, "__all__", ()):
        fn = getattr(namespace, name, None)
        np_fn = getattr(numpy_namespace, name, None)
        if (isinstance(fn, types.FunctionType) and np_fn is not None and np_fn is not fn
                and fn.__module__.startswith("dualtape")):
            sig = _Deferred(functools.partial(numpy_signature, np_fn, fn))
            setattr(fn, "__signature__", sig)     # noqa: B010 (read by inspect)
