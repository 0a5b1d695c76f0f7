"""Elementwise primitives: each block is the numpy implementation and its local partials.

A partial is ``p(ans, *args)``; both modes derive their rules from it (see ``_rules``).
Partials are written with dualtape operations so they differentiate again.
Kinks: abs'(0) = 0 (through sign); maximum/minimum split ties equally.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import bind
from ._rules import (OPS, broadcast_batch, define, elementwise, expand_to, nondiff, shape,
                     unbroadcast)


def _export(prim, name: str | None = None, nargs: int | None = None):
    """The plain function ``op(*args) -> bind(prim, *args)``, recorded in ``OPS``."""
    n = prim.name if name is None else name
    if nargs is None:
        nargs = len(prim.partials)
    if nargs == 1:
        def op(x):
            return bind(prim, x)
    elif nargs == 2:
        def op(x, y):
            return bind(prim, x, y)
    else:
        def op(*args):
            return bind(prim, *args)
    op.__name__ = n
    op.primitive = prim
    OPS[n] = op
    return op


# ---- linear --------------------------------------------------------------------------
add_p = elementwise("add", np.add, (1, 1))
add = _export(add_p)
subtract_p = elementwise("subtract", np.subtract, (1, -1))
subtract = _export(subtract_p)
negative_p = elementwise("negative", np.negative, (-1,))
negative = _export(negative_p)

# ---- products and quotients ---------------------------------------------------------
multiply_p = elementwise("multiply", np.multiply, (
    lambda ans, x, y: y,
    lambda ans, x, y: x,
))
multiply = _export(multiply_p)

divide_p = elementwise("divide", np.divide, (
    lambda ans, x, y: 1.0 / y,
    lambda ans, x, y: -ans / y,
), singular=True)
divide = _export(divide_p)


def _dpow_dy(ans, x, y):
    # d/dy x**y = x**y log x; at x == 0 the limit (for y > 0) is 0, not 0 * -inf.
    pos = x != 0
    return where(pos, ans * log(where(pos, x, 1.0)), 0.0)


def _pow_singular(ans, x, y):
    # y x^(y-1) is finite wherever x is when the exponent is a constant >= 1 (x ** 2)
    return not (isinstance(y, (int, float, np.integer, np.floating)) and y >= 1)


power_p = elementwise("power", np.power, (
    lambda ans, x, y: y * power(x, y - 1),
    _dpow_dy,
), singular=_pow_singular)
power = _export(power_p)

# ---- transcendental ----------------------------------------------------------------
exp_p = elementwise("exp", np.exp, (lambda ans, x: ans,))
exp = _export(exp_p)
log_p = elementwise("log", np.log, (lambda ans, x: 1.0 / x,), singular=True)
log = _export(log_p)
sin_p = elementwise("sin", np.sin, (lambda ans, x: cos(x),))
sin = _export(sin_p)
cos_p = elementwise("cos", np.cos, (lambda ans, x: -sin(x),))
cos = _export(cos_p)
tanh_p = elementwise("tanh", np.tanh, (lambda ans, x: 1.0 - ans * ans,))
tanh = _export(tanh_p)
sqrt_p = elementwise("sqrt", np.sqrt, (lambda ans, x: 0.5 / ans,), singular=True)
sqrt = _export(sqrt_p)

# ---- kinks ---------------------------------------------------------------------------
abs_p = elementwise("abs", np.abs, (lambda ans, x: sign(x),))
abs = _export(abs_p)  # noqa: A001  (numpy's name)


def _tie_weights(first: Any, second: Any, ans: Any) -> np.ndarray:
    """1 where ``first`` wins, 0.5 on a tie, 0 where it loses (a plain constant)."""
    w = np.where(first, 1.0, np.where(second, 0.5, 0.0))
    return w.astype(getattr(ans, "dtype", w.dtype), copy=False)


maximum_p = elementwise("maximum", np.maximum, (
    lambda ans, x, y: _tie_weights(x > y, x == y, ans),
    lambda ans, x, y: _tie_weights(y > x, x == y, ans),
))
maximum = _export(maximum_p)
minimum_p = elementwise("minimum", np.minimum, (
    lambda ans, x, y: _tie_weights(x < y, x == y, ans),
    lambda ans, x, y: _tie_weights(y < x, x == y, ans),
))
minimum = _export(minimum_p)

# ---- no derivative ------------------------------------------------------------------
_NONDIFF = {
    "greater": np.greater, "greater_equal": np.greater_equal, "less": np.less,
    "less_equal": np.less_equal, "equal": np.equal, "not_equal": np.not_equal,
    "sign": np.sign, "isfinite": np.isfinite, "isnan": np.isnan,
    "logical_and": np.logical_and, "logical_or": np.logical_or,
    "logical_xor": np.logical_xor, "logical_not": np.logical_not,
}
for _name, _fn in _NONDIFF.items():
    _export(nondiff(_name, _fn), nargs=_fn.nin)
greater = OPS["greater"]
greater_equal = OPS["greater_equal"]
less = OPS["less"]
less_equal = OPS["less_equal"]
equal = OPS["equal"]
not_equal = OPS["not_equal"]
sign = OPS["sign"]
isfinite = OPS["isfinite"]
isnan = OPS["isnan"]
logical_and, logical_or, logical_xor, logical_not = (
    OPS["logical_and"], OPS["logical_or"], OPS["logical_xor"], OPS["logical_not"])
greater_p, greater_equal_p, less_p, less_equal_p, equal_p, not_equal_p = (
    f.primitive for f in (greater, greater_equal, less, less_equal, equal, not_equal))


# ---- selection ----------------------------------------------------------------------
def _where_t(t, ans, c, x, y, *, take):
    # The branch not taken contributes an exact zero: never 0 * (its value).
    xs = shape(x if take else y)
    nb = len(shape(t)) - len(xs)
    t = expand_to(t, nb, xs, len(shape(ans)))
    r = where(c, t, 0.0) if take else where(c, 0.0, t)
    return broadcast_batch(r, nb, shape(ans))


def _where_g(g, ans, c, x, y, *, take):
    nb = len(shape(g)) - len(shape(ans))
    r = where(c, g, 0.0) if take else where(c, 0.0, g)
    return unbroadcast(r, shape(x if take else y), nb)


where_p = define(
    "where", np.where,
    jvp=(None, lambda t, ans, c, x, y: _where_t(t, ans, c, x, y, take=True),
         lambda t, ans, c, x, y: _where_t(t, ans, c, x, y, take=False)),
    vjp=(None, lambda g, ans, c, x, y: _where_g(g, ans, c, x, y, take=True),
         lambda g, ans, c, x, y: _where_g(g, ans, c, x, y, take=False)),
    linear=True, sparsity=("gather", (1, 2)), cost="elementwise")
where = _export(where_p, nargs=3)


# ---- dtype conversion ---------------------------------------------------------------
def _astype_impl(x, dtype):
    return np.asarray(x).astype(dtype, copy=False)


def _inexact(dtype) -> bool:
    return np.issubdtype(dtype, np.inexact)


astype_p = define(
    "astype", _astype_impl,
    jvp=(lambda t, ans, x, dtype: astype(t, dtype) if _inexact(dtype) else None,),
    vjp=(lambda g, ans, x, dtype: astype(g, x.dtype),),
    linear=True, sparsity="elementwise", cost="move")


def astype(x, dtype):
    """``x`` converted to ``dtype``; converting to an integer type drops the derivative."""
    dtype = np.dtype(dtype)
    if getattr(x, "dtype", None) == dtype:
        return x
    return bind(astype_p, x, dtype=dtype)


astype.primitive = astype_p
OPS["astype"] = astype
