"""numpy's ufuncs on traced values, each a thin adapter to one primitive (or, where the
derivative comes out right that way, a composite of primitives), plus ``clip``,
``round`` and ``logsumexp``.

Kinks and conventions: abs'(0) = 0; maximum/minimum/fmax/fmin split a tie equally, and
fmax/fmin give the whole derivative to the non-NaN argument; clip is
minimum(maximum(x, lo), hi), so at x == lo (or hi) x and the bound get 1/2 each; mod and
fmod have derivative 1 w.r.t. x (also at a jump: the one-sided value) and minus the
integer quotient w.r.t. y.  floor, ceil, trunc, rint, round, floor_divide, sign and the
comparisons have no derivative and return plain numpy values.
"""

from __future__ import annotations

import builtins
from typing import Any, Callable

import numpy as np

from ..primitives import sparse as _sparse
from ..primitives import OPS
from ..primitives import elementwise as _ew
from ..primitives import linalg as _la
from ..primitives import special as _sp
from ..primitives.reductions import normalize_axis
from ..registry import Tracer, value_of
from ._construct import _dtype, asarray
from ._dispatch import _dispatches, _no_out, _ufunc

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



@_dispatches(np.where)
def where(condition: Any, x: Any = None, y: Any = None) -> Any:
    """Select from ``x`` where ``condition`` holds, else ``y``.  NaN-safe: the branch not
    taken contributes an exact zero to every derivative."""
    if x is None and y is None:
        return np.where(value_of(condition))
    for v in (condition, x, y):
        if _sparse.is_operator(v):
            raise _sparse.not_an_array(v, "where")
    return _ew.where(condition, x, y)


@_dispatches(np.dot)
def dot(a: Any, b: Any, out: Any = None) -> Any:
    _no_out("dot", out)
    return _la.dot(a, b)



# ---- the rest of numpy's differentiable ufuncs --------------------------------------
def _traced(args: tuple) -> bool:
    return builtins.any(isinstance(a, Tracer) for a in args)


def _composite(uf: np.ufunc, fn: Callable) -> Callable:
    """``fn`` (built from primitives) on traced values, numpy's own ufunc otherwise, so
    plain inputs get numpy's exact result and dtype."""
    def op(*args: Any) -> Any:
        return fn(*args) if _traced(args) else uf(*args)
    op.__name__ = uf.__name__
    return op


def _float_power(x: Any, y: Any) -> Any:
    # numpy computes float_power in (at least) double precision
    def up(v: Any) -> Any:
        dt = np.result_type(v.dtype if hasattr(v, "dtype") else v, np.float64)
        return _ew.astype(v, dt) if isinstance(v, Tracer) else np.asarray(v, dt)
    return _ew.power(up(x), up(y))


# numpy's own constants, so the values agree to the last bit
_DEG = float(np.pi / 180.0)
_RAD = float(180.0 / np.pi)

positive = _ufunc(_composite(np.positive, lambda x: x), np.positive)
square = _ufunc(_composite(np.square, lambda x: _ew.multiply(x, x)), np.square)
reciprocal = _ufunc(_composite(np.reciprocal, lambda x: _ew.divide(1.0, x)), np.reciprocal)
float_power = _ufunc(_composite(np.float_power, _float_power), np.float_power)
cbrt = _ufunc(_ew.cbrt, np.cbrt)
exp2 = _ufunc(_ew.exp2, np.exp2)
expm1 = _ufunc(_ew.expm1, np.expm1)
log2 = _ufunc(_ew.log2, np.log2)
log10 = _ufunc(_ew.log10, np.log10)
log1p = _ufunc(_ew.log1p, np.log1p)
logaddexp = _ufunc(_ew.logaddexp, np.logaddexp)
logaddexp2 = _ufunc(_ew.logaddexp2, np.logaddexp2)
tan = _ufunc(_ew.tan, np.tan)
arcsin = asin = _ufunc(_ew.arcsin, np.arcsin)
arccos = acos = _ufunc(_ew.arccos, np.arccos)
arctan = atan = _ufunc(_ew.arctan, np.arctan)
arctan2 = atan2 = _ufunc(_ew.arctan2, np.arctan2)
sinh = _ufunc(_ew.sinh, np.sinh)
cosh = _ufunc(_ew.cosh, np.cosh)
arcsinh = asinh = _ufunc(_ew.arcsinh, np.arcsinh)
arccosh = acosh = _ufunc(_ew.arccosh, np.arccosh)
arctanh = atanh = _ufunc(_ew.arctanh, np.arctanh)
hypot = _ufunc(_ew.hypot, np.hypot)
deg2rad = _ufunc(_composite(np.deg2rad, lambda x: _ew.multiply(x, _DEG)), np.deg2rad)
rad2deg = _ufunc(_composite(np.rad2deg, lambda x: _ew.multiply(x, _RAD)), np.rad2deg)
radians = _ufunc(_composite(np.radians, lambda x: _ew.multiply(x, _DEG)), np.radians)
degrees = _ufunc(_composite(np.degrees, lambda x: _ew.multiply(x, _RAD)), np.degrees)
pow = power  # noqa: A001  (numpy 2's array-API name; np.pow is np.power)
fabs = _ufunc(_composite(np.fabs, _ew.abs), np.fabs)
fmax = _ufunc(_ew.fmax, np.fmax)
fmin = _ufunc(_ew.fmin, np.fmin)
mod = remainder = _ufunc(_ew.mod, np.remainder)
fmod = _ufunc(_ew.fmod, np.fmod)
floor = _ufunc(_ew.floor, np.floor)
ceil = _ufunc(_ew.ceil, np.ceil)
trunc = _ufunc(_ew.trunc, np.trunc)
rint = _ufunc(_ew.rint, np.rint)
floor_divide = _ufunc(_ew.floor_divide, np.floor_divide)
isinf = _ufunc(_ew.isinf, np.isinf)
signbit = _ufunc(_ew.signbit, np.signbit)


@_dispatches(np.round, np.around)
def round(a: Any, decimals: int = 0, out: Any = None) -> Any:  # noqa: A001
    """``a`` rounded to ``decimals`` places, half to even; a plain value (no derivative)."""
    _no_out("round", out)
    return _ew.round_(a, decimals)


around = round


@_dispatches(np.fix)
def fix(x: Any, out: Any = None) -> Any:
    """Round towards zero; a plain value (no derivative)."""
    _no_out("fix", out)
    return _ew.trunc(x) if isinstance(x, Tracer) else np.fix(x)


@_dispatches(np.isposinf)
def isposinf(x: Any, out: Any = None) -> Any:
    _no_out("isposinf", out)
    if not isinstance(x, Tracer):
        return np.isposinf(x)
    return _ew.logical_and(_ew.isinf(x), _ew.greater(x, 0))


@_dispatches(np.isneginf)
def isneginf(x: Any, out: Any = None) -> Any:
    _no_out("isneginf", out)
    if not isinstance(x, Tracer):
        return np.isneginf(x)
    return _ew.logical_and(_ew.isinf(x), _ew.less(x, 0))


_UNSET = object()


@_dispatches(np.clip)
def clip(a: Any, a_min: Any = _UNSET, a_max: Any = _UNSET, out: Any = None, *,
         min: Any = _UNSET, max: Any = _UNSET, **kwargs: Any) -> Any:  # noqa: A002
    """``a`` limited to ``[a_min, a_max]`` (numpy 2 also spells them ``min=``/``max=``;
    None: no bound on that side).  Defined as minimum(maximum(a, a_min), a_max), as numpy
    documents it, so the derivative is 1 strictly inside, flows to the bound strictly
    outside, and is split 1/2 : 1/2 between ``a`` and the bound where ``a`` equals it."""
    _no_out("clip", out)
    if kwargs:
        raise TypeError(f"clip: unsupported keyword arguments {sorted(kwargs)}")
    if (a_min is not _UNSET or a_max is not _UNSET) and (min is not _UNSET or
                                                        max is not _UNSET):
        raise TypeError("clip: pass the bounds as a_min/a_max or as min/max, not both")
    lo = a_min if a_min is not _UNSET else min
    hi = a_max if a_max is not _UNSET else max
    lo = None if lo is _UNSET else lo
    hi = None if hi is _UNSET else hi
    if not _traced((a, lo, hi)):
        return np.clip(a, lo, hi)
    if lo is not None:
        a = _ew.maximum(a, lo)
    if hi is not None:
        a = _ew.minimum(a, hi)
    return a


# ---- log-sum-exp --------------------------------------------------------------------
def logsumexp(a: Any, axis: Any = None, b: Any = None, keepdims: bool = False,
              return_sign: bool = False) -> Any:
    """log(sum(b * exp(a))) over ``axis`` (None: all axes), without overflow; scipy's
    signature (``dualtape.scipy.special.logsumexp`` is this function).

    Its gradient w.r.t. ``a`` is the softmax (times ``b``), finite for any input.
    ``return_sign=True`` returns ``(log|s|, sign(s))`` with ``s = sum(b * exp(a))``, the
    sign a plain array.  Without ``return_sign`` a negative ``s`` gives NaN (as scipy).
    """
    a = asarray(a)
    if b is None:
        out = _sp.logsumexp(a, axis, keepdims)
        if not return_sign:
            return out
        # s = sum(exp(a)) >= 0: its sign is 1, 0 for an all -inf slice, NaN for NaN.
        # Built from primitives without derivatives, so global sparsity tracks it.
        neginf = _ew.logical_and(_ew.isinf(out), _ew.less(out, 0))
        sgn = _ew.where(neginf, 0.0, _ew.where(_ew.isnan(out), np.nan, 1.0))
        return out, _ew.astype(sgn, _dtype(out))[()]
    b = asarray(b)
    av, bv = np.broadcast_arrays(np.asarray(value_of(a, structural=False)),
                                 np.asarray(value_of(b, structural=False)))
    ax = normalize_axis(axis, av.ndim)
    # Shift by the largest exponent that counts (b != 0).  The shift is a constant: the
    # function does not depend on it, so its derivative is still exact.
    m = np.max(np.where(bv != 0, av, -np.inf), axis=ax, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    z = _ew.subtract(a, m)
    # Exponents > 0 only occur where b == 0; capped there, exp stays finite and b * exp
    # is 0 instead of 0 * inf = NaN (the derivative w.r.t. that b, e^z / s, would
    # overflow anyway).
    cap = float(np.log(np.finfo(np.result_type(av.dtype, np.float32)).max)) - 1.0
    if np.any(av - m > cap):
        z = _ew.minimum(z, cap)
    s = OPS["sum"](_ew.multiply(b, _ew.exp(z)), ax, True)
    sgn = None
    with np.errstate(divide="ignore", invalid="ignore"):
        if return_sign:
            sgn = _ew.sign(s)
            out = _ew.add(_ew.log(_ew.abs(s)), m)
        else:
            out = _ew.add(_ew.log(s), m)
    if not keepdims:
        kept = tuple(n for i, n in enumerate(av.shape) if i - av.ndim not in ax)
        out = OPS["reshape"](out, kept)
        sgn = None if sgn is None else OPS["reshape"](sgn, kept)
    if not isinstance(out, Tracer):
        out = out[()]
    return out if not return_sign else (out, sgn[()])


__all__ = [
    "abs", "absolute", "acos", "acosh", "add", "arccos", "arccosh", "arcsin", "arcsinh",
    "arctan", "arctan2", "arctanh", "around", "asin", "asinh", "atan", "atan2", "atanh",
    "cbrt", "ceil", "clip", "cos", "cosh", "deg2rad", "degrees", "divide", "dot", "equal",
    "exp", "exp2", "expm1", "fabs", "fix", "float_power", "floor", "floor_divide", "fmax",
    "fmin", "fmod", "greater", "greater_equal", "hypot", "isfinite", "isinf", "isnan",
    "isneginf", "isposinf", "less", "less_equal", "log", "log10", "log1p", "log2",
    "logaddexp", "logaddexp2", "logical_and", "logical_not", "logical_or", "logical_xor",
    "logsumexp", "matmul", "maximum", "minimum", "mod", "multiply", "negative",
    "not_equal", "positive", "pow", "power", "rad2deg", "radians", "reciprocal",
    "remainder", "rint", "round", "sign", "signbit", "sin", "sinh", "sqrt", "square",
    "subtract", "tan", "tanh", "trunc", "true_divide", "where",
]
