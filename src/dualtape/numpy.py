"""The numpy-like namespace, ``import dualtape.numpy as dnp``, and the behaviour every
traced value shares (operators, methods and numpy's dispatch hooks).

Each function here is a thin adapter from numpy's signature to a primitive in
:mod:`dualtape.primitives`.  Plain numpy calls on traced values arrive through
``__array_ufunc__`` / ``__array_function__`` and go to the same functions; a numpy
function with no rule raises ``TypeError`` naming the function and the mode, so a
derivative is never dropped silently.
"""

from __future__ import annotations

import builtins
from typing import Any, Callable, Sequence

import numpy as np

from .primitives import OPS
from .primitives import elementwise as _ew
from .primitives import linalg as _la
from .primitives import reductions as _red
from .primitives import shape as _sh
from .registry import Tracer, bind

# numpy's constants, dtypes and non-differentiable helpers, as the same objects.
from numpy import (e, euler_gamma, float16, float32, float64, inf, int32, int64,  # noqa: F401
                   nan, ndarray, newaxis, pi, random)
from numpy import bool_, complex64, complex128, dtype, finfo, iinfo  # noqa: F401
from numpy import allclose, array_equal, isclose  # noqa: F401

_UFUNCS: dict[Any, Callable] = {}
_UFUNC_PRIMS: dict[Any, Any] = {}
_FUNCS: dict[Any, Callable] = {}


def _mode_of(args: Sequence) -> str:
    best = None
    for a in args:
        if isinstance(a, Tracer) and (best is None or a._level > best._level):
            best = a
    return best._trace.mode if best is not None else "no"


def _no_rule(what: str, args: Sequence) -> TypeError:
    return TypeError(
        f"{what} has no derivative rule in dualtape and was called on a traced value "
        f"({_mode_of(args)} mode). Use a function from dualtape.numpy, or register one "
        f"with dt.defprimitive / dt.defjvp / dt.defvjp.")


# ---- ufunc-style functions ------------------------------------------------------------
def _ufunc(op: Callable, uf: np.ufunc, name: str | None = None) -> Callable:
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
        return op(*args)
    f.__name__ = name or uf.__name__
    f.__doc__ = f"numpy.{uf.__name__}, differentiable in every mode."
    _UFUNCS[uf] = f
    if getattr(op, "primitive", None) is not None:
        _UFUNC_PRIMS[uf] = op.primitive     # plain calls go straight to bind
    return f


add = _ufunc(_ew.add, np.add)
subtract = _ufunc(_ew.subtract, np.subtract)
multiply = _ufunc(_ew.multiply, np.multiply)
divide = true_divide = _ufunc(_ew.divide, np.divide)
negative = _ufunc(_ew.negative, np.negative)
power = _ufunc(_ew.power, np.power)
exp = _ufunc(_ew.exp, np.exp)
log = _ufunc(_ew.log, np.log)
sin = _ufunc(_ew.sin, np.sin)
cos = _ufunc(_ew.cos, np.cos)
tanh = _ufunc(_ew.tanh, np.tanh)
sqrt = _ufunc(_ew.sqrt, np.sqrt)
abs = absolute = _ufunc(_ew.abs, np.absolute, "abs")  # noqa: A001
maximum = _ufunc(_ew.maximum, np.maximum)
minimum = _ufunc(_ew.minimum, np.minimum)
greater = _ufunc(_ew.greater, np.greater)
greater_equal = _ufunc(_ew.greater_equal, np.greater_equal)
less = _ufunc(_ew.less, np.less)
less_equal = _ufunc(_ew.less_equal, np.less_equal)
equal = _ufunc(_ew.equal, np.equal)
not_equal = _ufunc(_ew.not_equal, np.not_equal)
sign = _ufunc(_ew.sign, np.sign)
isfinite = _ufunc(_ew.isfinite, np.isfinite)
isnan = _ufunc(_ew.isnan, np.isnan)
logical_and = _ufunc(_ew.logical_and, np.logical_and)
logical_or = _ufunc(_ew.logical_or, np.logical_or)
logical_xor = _ufunc(_ew.logical_xor, np.logical_xor)
logical_not = _ufunc(_ew.logical_not, np.logical_not)
matmul = _ufunc(_la.matmul, np.matmul)


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


# ---- reductions -----------------------------------------------------------------------
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


# ---- shape ----------------------------------------------------------------------------
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


@_dispatches(np.where)
def where(condition: Any, x: Any = None, y: Any = None) -> Any:
    """Select from ``x`` where ``condition`` holds, else ``y``.  NaN-safe: the branch not
    taken contributes an exact zero to every derivative."""
    if x is None and y is None:
        return np.where(_plain(condition))
    return _ew.where(condition, x, y)


@_dispatches(np.dot)
def dot(a: Any, b: Any, out: Any = None) -> Any:
    _no_out("dot", out)
    return _la.dot(a, b)


# ---- construction and inspection ----------------------------------------------------
def _plain(x: Any) -> Any:
    """The value of a condition-like argument (its derivative is never needed)."""
    while isinstance(x, Tracer):
        x = x.primal
    return x


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


# ---- the behaviour of every traced value ---------------------------------------------
_IN_PLACE = ("in-place assignment into a traced array is not supported: traced values "
             "are immutable. Build a new array instead (dualtape.numpy.where, "
             "concatenate), or rebind with x = x + ...")


_NO_PARAMS: dict = {}


def _binary(prim: Any) -> tuple[Callable, Callable]:
    """The operator and its reflected form for a binary primitive.

    Operators skip ``bind``'s search: the context is this value's, unless the other
    operand belongs to a more deeply nested one.
    """
    def op(self, o):
        t = o if isinstance(o, Tracer) and o._level > self._level else self
        return t._trace.process(prim, (self, o), _NO_PARAMS)

    def rop(self, o):
        t = o if isinstance(o, Tracer) and o._level > self._level else self
        return t._trace.process(prim, (o, self), _NO_PARAMS)
    return op, rop


class TracedArray(Tracer):
    """Operators, numpy hooks and array methods shared by every mode's traced values.

    Subclasses store the value in ``primal``.  Each operator is one line calling a
    primitive.
    """

    __slots__ = ()
    __array_priority__ = 1000
    __hash__ = None  # type: ignore[assignment]  # like ndarray: == is elementwise

    shape = property(lambda self: self.primal.shape)
    ndim = property(lambda self: len(self.primal.shape))
    size = property(lambda self: int(np.prod(self.primal.shape)))
    dtype = property(lambda self: self.primal.dtype)
    value = property(lambda self: _plain(self))
    T = property(lambda self: _sh.transpose(self))

    __add__, __radd__ = _binary(_ew.add_p)
    __sub__, __rsub__ = _binary(_ew.subtract_p)
    __mul__, __rmul__ = _binary(_ew.multiply_p)
    __truediv__, __rtruediv__ = _binary(_ew.divide_p)
    __pow__, __rpow__ = _binary(_ew.power_p)
    __lt__, __gt__ = _binary(_ew.less_p)
    __le__, __ge__ = _binary(_ew.less_equal_p)
    __eq__ = _binary(_ew.equal_p)[0]  # type: ignore[assignment]
    __ne__ = _binary(_ew.not_equal_p)[0]  # type: ignore[assignment]
    __and__, __rand__ = _binary(_ew.logical_and.primitive)
    __or__, __ror__ = _binary(_ew.logical_or.primitive)
    __xor__, __rxor__ = _binary(_ew.logical_xor.primitive)
    def __invert__(self): return bind(_ew.logical_not.primitive, self)
    def __neg__(self): return self._trace.process(_ew.negative_p, (self,), _NO_PARAMS)
    def __pos__(self): return self
    def __abs__(self): return self._trace.process(_ew.abs_p, (self,), _NO_PARAMS)
    def __matmul__(self, o): return _la.matmul(self, o)
    def __rmatmul__(self, o): return _la.matmul(o, self)
    def __getitem__(self, idx): return _sh.getitem(self, idx)

    def __setitem__(self, idx, value):
        raise TypeError(_IN_PLACE)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        return bool(_plain(self))

    def _no_conversion(self, *args, **kwargs):
        raise TypeError(
            f"a traced value ({self._trace.mode} mode) cannot be converted to a plain "
            f"number or numpy array: that would silently drop its derivative. Use "
            f"`.primal` (or `.value`) to read the value on purpose.")

    __float__ = __int__ = __complex__ = __array__ = _no_conversion

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__":
            raise _no_rule(f"numpy.{ufunc.__name__}.{method}", inputs)
        if not kwargs:
            prim = _UFUNC_PRIMS.get(ufunc)
            if prim is not None:
                return bind(prim, *inputs)
        fn = _UFUNCS.get(ufunc)
        if fn is None:
            raise _no_rule(f"numpy.{ufunc.__name__}", inputs)
        return fn(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        fn = _FUNCS.get(func)
        if fn is None:
            raise _no_rule(f"numpy.{func.__name__}", args)
        return fn(*args, **kwargs)

    # array methods, spelled as numpy spells them
    def sum(self, axis=None, dtype=None, out=None, keepdims=False):
        return sum(self, axis, dtype, out, keepdims)

    def mean(self, axis=None, dtype=None, out=None, keepdims=False):
        return mean(self, axis, dtype, out, keepdims)

    def max(self, axis=None, out=None, keepdims=False):
        return max(self, axis, out, keepdims)

    def min(self, axis=None, out=None, keepdims=False):
        return min(self, axis, out, keepdims)

    def reshape(self, *shape, order="C"):
        return reshape(self, shape[0] if len(shape) == 1 else shape, order)

    def transpose(self, *axes):
        return transpose(self, (axes[0] if len(axes) == 1 else axes) or None)

    def dot(self, b):
        return dot(self, b)

    def ravel(self):
        return ravel(self)

    flatten = ravel

    def squeeze(self, axis=None):
        return squeeze(self, axis)

    def swapaxes(self, a, b):
        return swapaxes(self, a, b)

    def astype(self, dtype):
        return _ew.astype(self, dtype)


OPS["asarray"] = asarray
