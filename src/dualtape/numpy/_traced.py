"""The behaviour every mode's traced values share: operators, methods, numpy hooks."""

from __future__ import annotations

import sys
from typing import Any, Callable

import numpy as np

from ..primitives import elementwise as _ew
from ..primitives import linalg as _la
from ..primitives import shape as _sh
from ..registry import Tracer, bind, value_of
from . import _sparse
from ._conversion import conversion_error
from ._dispatch import _FUNCS, _UFUNC_PRIMS, _UFUNCS, _no_rule
from ._shape import reshape, transpose

_IN_PLACE = ("in-place assignment into a traced array is not supported: traced values "
             "are immutable. Build a new array instead (dualtape.numpy.where, "
             "concatenate), or rebind with x = x + ...")


_NO_PARAMS: dict = {}
# Operand types that are never a scipy.sparse operator (the common case costs one lookup).
_PLAIN = frozenset({int, float, complex, bool, np.ndarray, np.float64, np.float32,
                    np.complex128, np.complex64, np.int64, np.int32, np.bool_})


def _binary(prim: Any) -> tuple[Callable, Callable]:
    """The operator and its reflected form for a binary primitive.

    Operators skip ``bind``'s search: the context is this value's, unless the other
    operand belongs to a more deeply nested one.  A scipy.sparse operand is a matrix
    product (``*`` of an spmatrix) or an error (``_sparse.binary``).
    """
    name = prim.name

    def op(self, o):
        if isinstance(o, Tracer):
            t = o if o._level > self._level else self
        else:
            if o.__class__ not in _PLAIN:             # rare: a scipy.sparse operand?
                r = _sparse.binary(name, self, o, False)
                if r is not None:
                    return r
            t = self
        return t._trace.process(prim, (self, o), _NO_PARAMS)

    def rop(self, o):
        if isinstance(o, Tracer):
            t = o if o._level > self._level else self
        else:
            if o.__class__ not in _PLAIN:
                r = _sparse.binary(name, self, o, True)
                if r is not None:
                    return r
            t = self
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
    value = property(lambda self: value_of(self))
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
    __mod__, __rmod__ = _binary(_ew.mod_p)
    __floordiv__, __rfloordiv__ = _binary(_ew.floor_divide.primitive)
    __and__, __rand__ = _binary(_ew.logical_and.primitive)
    __or__, __ror__ = _binary(_ew.logical_or.primitive)
    __xor__, __rxor__ = _binary(_ew.logical_xor.primitive)
    def __invert__(self): return bind(_ew.logical_not.primitive, self)
    def __neg__(self): return self._trace.process(_ew.negative_p, (self,), _NO_PARAMS)
    def __pos__(self): return self
    def __abs__(self): return _ew.abs(self)
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
        return bool(value_of(self))

    def __array__(self, *args, **kwargs):
        # scipy.sparse's matmul asks for an array and, given numpy's "not an array"
        # (a 0-d object array), returns NotImplemented: then our __rmatmul__ runs.
        caller = sys._getframe(1) if hasattr(sys, "_getframe") else None
        if _sparse.defer_to_reflected(caller):
            return _sparse.opaque(self)
        _sparse.refuse_other_scipy_calls(caller)
        return self._refuse_conversion()

    def _refuse_conversion(self, *args, **kwargs):
        # what a mode does when asked for an array (the sparsity tracer checks first)
        raise conversion_error(self, "__array__")

    def _no_conversion(self, *args, **kwargs):
        raise conversion_error(self, "number")

    def sort(self, *args, **kwargs):
        raise TypeError("x.sort() sorts in place, and traced values are immutable: "
                        "write x = np.sort(x) (differentiable) instead")

    def partition(self, *args, **kwargs):
        raise TypeError("x.partition() works in place, and traced values are immutable: "
                        "write x = np.partition(x, kth) instead")

    def fill(self, *args, **kwargs):
        raise TypeError("x.fill() writes in place, and traced values are immutable: use "
                        "np.full_like(x, value) instead")

    __float__ = __int__ = __complex__ = _no_conversion

    # Traced values are immutable, so a copy may be the value itself.  Copying the
    # object would copy its context too (a second tape), and the copy's derivative
    # would then be lost or misattributed.
    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce_ex__(self, protocol):
        raise TypeError(
            f"a traced value ({self._trace.mode} mode) cannot be pickled: it only has a "
            f"meaning inside the derivative being computed. Pickle its value instead, "
            f"`x.primal` (or `x.value`, the plain array under nested derivatives).")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        home = "scipy.special" if type(ufunc).__module__.startswith("scipy") or \
            not hasattr(np, ufunc.__name__) else "numpy"
        if method != "__call__":
            raise _no_rule(f"{home}.{ufunc.__name__}.{method}", inputs)
        for i in inputs:
            if i.__class__ not in _PLAIN and _sparse.is_operator(i):
                if ufunc is np.matmul and len(inputs) == 2 and not kwargs:
                    return _la.matmul(*inputs)
                raise _sparse.elementwise_error(f"numpy.{ufunc.__name__}", i)
        if not kwargs:
            prim = _UFUNC_PRIMS.get(ufunc)
            if prim is not None:
                return bind(prim, *inputs)
        fn = _UFUNCS.get(ufunc)
        if fn is None:
            hint = " (import dualtape.scipy.special to register scipy's)" \
                if home == "scipy.special" else ""
            raise _no_rule(f"{home}.{ufunc.__name__}{hint}", inputs)
        return fn(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        fn = _FUNCS.get(func)
        if fn is None:
            where = getattr(func, "__module__", None) or "numpy"
            raise _no_rule(f"{where}.{func.__name__}", args)
        return fn(*args, **kwargs)

    # Array methods as numpy spells them.  Methods whose signature is the function's
    # with the array first are looked up in dualtape.numpy by name (one mechanism for
    # x.prod(), x.cumsum(), x.clip(...), ...); an unknown name is an AttributeError.
    def reshape(self, *shape, order="C"):
        return reshape(self, shape[0] if len(shape) == 1 else shape, order)

    def transpose(self, *axes):
        return transpose(self, (axes[0] if len(axes) == 1 else axes) or None)

    def astype(self, dtype, copy=True):
        return _ew.astype(self, dtype)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        import dualtape.numpy as dnp
        fn = getattr(dnp, _METHOD_ALIASES.get(name, name), None)
        if name in _ATTRIBUTES and fn is not None:
            return fn(self)
        if name in _METHODS and fn is not None:
            return lambda *args, **kwargs: fn(self, *args, **kwargs)
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")


# numpy.ndarray methods that are dualtape.numpy functions of the array.
_METHODS = frozenset({
    "sum", "mean", "max", "min", "prod", "var", "std", "ptp", "cumsum", "cumprod",
    "dot", "ravel", "flatten", "squeeze", "swapaxes", "clip", "round", "conj",
    "conjugate", "trace", "diagonal", "repeat", "take", "argsort", "argmax",
    "argmin", "all", "any", "nonzero", "copy",
})
_METHOD_ALIASES = {"flatten": "ravel", "conjugate": "conj", "copy": "asarray"}
# numpy.ndarray attributes that are functions of the array.
_ATTRIBUTES = frozenset({"real", "imag"})
