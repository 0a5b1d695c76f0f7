"""scipy.sparse arrays/matrices and LinearOperators meeting traced values.

The products themselves are the ``sparse_matmul`` primitive
(:mod:`dualtape.primitives.sparse`); this module makes every spelling reach it.

* ``x @ A``, ``x.dot(A)``, ``np.matmul(A, x)``: the traced value's own hooks see A
  first and call the primitive.
* ``A @ x``, ``A.dot(x)`` (and ``A * x`` for the np.matrix-like spmatrix): scipy's
  operator runs first.  It converts an operand it does not know with
  ``np.asanyarray`` and, by its own documented rule, returns NotImplemented when that
  gives a 0-d object array, so that the operand's reflected operator runs.  A traced
  value's ``__array__`` gives exactly that 0-d object array when, and only when, the
  caller is scipy.sparse's matmul dispatch; everywhere else it still refuses (a
  conversion would drop the derivative).
* ``L @ x`` for a LinearOperator L: LinearOperator converts its operand with
  ``np.asarray`` and has no fallback, so dualtape extends ``LinearOperator.dot``,
  ``matvec``, ``matmat``, ``rmatvec``, ``rmatmat`` and ``_rdot`` (and COO's ``dot``,
  which refuses rather than defers): a traced operand goes to the primitive, anything
  else to scipy's method unchanged.  The extension is installed when the scipy module
  is loaded (at once if it already is, else by an import hook that does nothing else);
  it holds no state.
* Elementwise operations between traced values and sparse constants raise: scipy
  would build sparse results, and numpy object arrays of them.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import sys
import threading
from typing import Any

import numpy as np

from ..primitives import sparse as _sp
from ..registry import Tracer

is_operator = _sp.is_operator
_DISPATCHERS = ("_matmul_dispatch", "_rmatmul_dispatch")


def defer_to_reflected(frame: Any) -> bool:
    """Whether ``np.asanyarray`` was called by scipy.sparse's matmul dispatch, which
    returns NotImplemented for a 0-d object array (and so calls our reflected op)."""
    return frame is not None and (frame.f_code.co_name in _DISPATCHERS
            and str(frame.f_globals.get("__name__", "")).startswith("scipy.sparse"))


def refuse_other_scipy_calls(frame: Any) -> None:
    """A clear error when another scipy.sparse function asks for a traced value's
    array (it would compute without the derivative)."""
    module = str(frame.f_globals.get("__name__", "")) if frame is not None else ""
    if module.startswith("scipy.sparse"):
        raise TypeError(
            f"{module}.{frame.f_code.co_name} cannot take a traced value (it converts it "
            f"to a plain array, which would drop the derivative). Products with sparse "
            f"constants are differentiable when written A @ x, x @ A or A.dot(x) (A a "
            f"scipy.sparse array/matrix or LinearOperator); for anything else use a "
            f"dense constant, A.toarray().")


def opaque(x: Any) -> np.ndarray:
    """The 0-d object array numpy makes of an object it cannot interpret."""
    a = np.empty((), dtype=object)
    a[()] = x
    return a


def elementwise_error(name: str, other: Any) -> TypeError:
    return TypeError(
        f"{name}: a traced value and a scipy.sparse constant ({type(other).__name__}): "
        f"only matrix products with sparse constants are supported (A @ x, x @ A, "
        f"A.dot(x), and * for spmatrix / LinearOperator). For an elementwise operation "
        f"use a dense constant, A.toarray()")


def binary(name: str, x: Any, other: Any, reflected: bool) -> Any:
    """An operator between traced ``x`` and a non-array ``other``: the matrix product
    for operators with np.matrix semantics under ``*``, an error for any other
    operation with a sparse operand, and None (carry on) when ``other`` is not one."""
    if not _sp.is_operator(other):
        return None
    if name == "multiply" and _sp.is_matrix_semantics(other):
        return _sp.matmul(other, x) if reflected else _sp.matmul(x, other)
    raise elementwise_error(name, other)


# ---- LinearOperator -------------------------------------------------------------------
_LINEAR_OPERATOR = {
    "dot": lambda op, x: _sp.apply(op, x),
    "matvec": lambda op, x: _sp.apply(op, x),
    "matmat": lambda op, x: _sp.apply(op, x),
    "rmatvec": lambda op, x: _sp.apply(op.H, x),
    "rmatmat": lambda op, x: _sp.apply(op.H, x),
    "_rdot": lambda op, x: _sp.rapply(x, op),
}
# COO's dot refuses what it cannot convert instead of returning NotImplemented.
_COO = {"dot": lambda op, x: _sp.apply(op, x)}
# module -> (class name, methods and their traced routes)
_EXTENSIONS = {
    "scipy.sparse.linalg._interface": ("LinearOperator", _LINEAR_OPERATOR),
    "scipy.sparse._coo": ("_coo_base", _COO),
}


def _extend(module: Any) -> None:
    """Let the products of a scipy class take traced operands (see the docstring)."""
    cls_name, routes = _EXTENSIONS[module.__name__]
    cls = getattr(module, cls_name, None)
    if cls is None or cls.__dict__.get("_dualtape_traced", False):
        return
    for name, route in routes.items():
        original = getattr(cls, name)

        def method(self, x, *args, _original=original, _route=route, **kwargs):
            if isinstance(x, Tracer):
                return _route(self, x)
            return _original(self, x, *args, **kwargs)
        setattr(cls, name, functools.wraps(original)(method))
    cls._dualtape_traced = True


class _Loader(importlib.abc.Loader):
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:       # get_source, resource readers, ...
        return getattr(self._inner, name)

    def create_module(self, spec: Any) -> Any:
        return self._inner.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._inner.exec_module(module)
        _extend(module)
        if all(n in sys.modules for n in _EXTENSIONS):      # nothing left to watch for
            with _install_lock:
                sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _Finder)]


class _Finder(importlib.abc.MetaPathFinder):
    """Extends the scipy classes right after scipy defines them; finds nothing itself."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name not in _EXTENSIONS:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or not hasattr(spec.loader, "exec_module"):
            return None
        spec.loader = _Loader(spec.loader)
        return spec


_install_lock = threading.Lock()


def install() -> None:
    """Extend the scipy classes now where their modules are loaded, else when they
    are."""
    with _install_lock:
        for name in _EXTENSIONS:
            if name in sys.modules:
                _extend(sys.modules[name])
        if not all(n in sys.modules for n in _EXTENSIONS) and not any(
                isinstance(f, _Finder) for f in sys.meta_path):
            sys.meta_path.insert(0, _Finder())
