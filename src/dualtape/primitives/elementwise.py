"""Elementwise primitives: each block is the numpy implementation and its local partials.

A partial is ``p(ans, *args)``; both modes derive their rules from it (see ``_rules``).
Partials are written with dualtape operations so they differentiate again.
Kinks: abs'(0) = 0 (through sign); maximum/minimum split ties equally.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..registry import Op, Primitive, bind, exports, lookup
from . import _cost, _structure
from ._rules import (INPLACE_MIN, OPS, broadcast_batch, define, elementwise, expand_to, fresh,
                     nondiff, shape, unbroadcast)


def _export(prim: Primitive, name: str | None = None,
            nargs: int | None = None) -> Op[..., Any]:
    """The plain function ``op(*args) -> bind(prim, *args)``, recorded in ``OPS``."""
    n = prim.name if name is None else name
    if nargs is None:
        nargs = len(prim.partials or ())
    op: Callable[..., Any]
    if nargs == 1:
        def op1(x: Any) -> Any:
            return bind(prim, x)
        op = op1
    elif nargs == 2:
        def op2(x: Any, y: Any) -> Any:
            return bind(prim, x, y)
        op = op2
    else:
        def opn(*args: Any) -> Any:
            return bind(prim, *args)
        op = opn
    op.__name__ = n
    OPS[n] = marked = exports(prim)(op)
    return marked


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
), residuals=(0, 1))
multiply = _export(multiply_p)

divide_p = elementwise("divide", np.divide, (
    lambda ans, x, y: 1.0 / y,
    lambda ans, x, y: -ans / y,
), singular=True, residuals=("ans", 1))
divide = _export(divide_p)


def _dpow_dx(ans, x, y):
    # y x^(y-1), written so that y = 0 gives 0 and not 0 * x^-1 = NaN at x = 0 (which
    # the third derivative of x ** 2 would otherwise reach)
    if isinstance(y, (int, float, np.integer, np.floating)):
        # constant exponents: x ** 2 gives 2 x (one operation, not two), x ** 1 gives 1
        if y == 0 or y == 1:
            return float(y)
        return y * x if y == 2 else y * power(x, y - 1)
    return where(y == 0, 0.0, y * power(x, y - 1))


def _dpow_dy(ans, x, y):
    # d/dy x**y = x**y log x; at x == 0 the limit (for y > 0) is 0, not 0 * -inf.
    pos = x != 0
    return where(pos, ans * log(where(pos, x, 1.0)), 0.0)


def _pow_singular(ans, x, y):
    # y x^(y-1) is finite wherever x is when the exponent is a constant >= 1 (x ** 2)
    return not (isinstance(y, (int, float, np.integer, np.floating)) and y >= 1)


power_p = elementwise("power", np.power, (
    _dpow_dx,
    _dpow_dy,
), singular=_pow_singular)
power = _export(power_p)

# ---- transcendental ----------------------------------------------------------------
exp_p = elementwise("exp", np.exp, (lambda ans, x: ans,), residuals=("ans",))
exp = _export(exp_p)
log_p = elementwise("log", np.log, (lambda ans, x: 1.0 / x,), singular=True,
                    residuals=(0,))
log = _export(log_p)
sin_p = elementwise("sin", np.sin, (fresh(lambda ans, x: cos(x)),), residuals=(0,))
sin = _export(sin_p)
cos_p = elementwise("cos", np.cos, (fresh(lambda ans, x: -sin(x)),), residuals=(0,))
cos: Op[..., Any] = _export(cos_p)
@fresh
def _dtanh(ans, x):
    if type(ans) is np.ndarray and ans.size >= INPLACE_MIN:   # 1 - ans^2, one temporary
        s = ans * ans
        return np.subtract(1.0, s, out=s)
    return 1.0 - ans * ans


tanh_p = elementwise("tanh", np.tanh, (_dtanh,), residuals=("ans",))
tanh = _export(tanh_p)
sqrt_p = elementwise("sqrt", np.sqrt, (lambda ans, x: 0.5 / ans,), singular=True,
                     residuals=("ans",))
sqrt = _export(sqrt_p)

# ---- kinks ---------------------------------------------------------------------------
abs_p = elementwise("abs", np.abs, (lambda ans, x: sign(x),), residuals=(0,))
_export(abs_p)


def abs(x):  # noqa: A001  (numpy's name)
    """|x|; for complex x the modulus, whose derivative is not a complex multiple of the
    tangent, so it has a primitive of its own (``complex_abs``)."""
    if getattr(x, "dtype", None) is not None and x.dtype.kind == "c":
        return OPS["complex_abs"](x)
    return bind(abs_p, x)


OPS["abs"] = abs


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
_ND = {_name: _export(nondiff(_name, _fn), nargs=_fn.nin) for _name, _fn in _NONDIFF.items()}
greater = _ND["greater"]
greater_equal = _ND["greater_equal"]
less = _ND["less"]
less_equal = _ND["less_equal"]
equal = _ND["equal"]
not_equal = _ND["not_equal"]
sign: Op[..., Any] = _ND["sign"]
isfinite = _ND["isfinite"]
isnan = _ND["isnan"]
logical_and, logical_or, logical_xor, logical_not = (
    _ND["logical_and"], _ND["logical_or"], _ND["logical_xor"], _ND["logical_not"])
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
    sparsity=_structure.gather(np.where, (1, 2)), cost=_cost.elementwise, residuals=(0,))
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
    sparsity=_structure.elementwise(), cost=_cost.move, residuals=())


def astype(x: Any, dtype: Any) -> Any:
    """``x`` converted to ``dtype``; converting to an integer type drops the derivative."""
    dtype = np.dtype(dtype)
    if getattr(x, "dtype", None) == dtype:
        return x
    return bind(astype_p, x, dtype=dtype)


exports(astype_p)(astype)     # not a decorator: the rules above refer to it by name
OPS["astype"] = astype


# =====================================================================================
# The rest of numpy's differentiable ufuncs.  exp2/log2/log10 are primitives rather
# than exp(x ln 2) or log(x) / ln 10 so that the value equals numpy's to the last bit
# (log10(1000.0) is 3.0, log(1000.0) / ln 10 is not); expm1, log1p, logaddexp, hypot
# and cbrt are primitives for accuracy and stability.
# =====================================================================================
_LN2 = float(np.log(2.0))
_LN10 = float(np.log(10.0))

# ---- exponentials and logarithms ----------------------------------------------------
exp2_p = elementwise("exp2", np.exp2, (lambda ans, x: ans * _LN2,))
exp2 = _export(exp2_p)
expm1_p = elementwise("expm1", np.expm1, (lambda ans, x: ans + 1.0,))
expm1 = _export(expm1_p)
log2_p = elementwise("log2", np.log2, (lambda ans, x: 1.0 / (x * _LN2),), singular=True)
log2 = _export(log2_p)
log10_p = elementwise("log10", np.log10, (lambda ans, x: 1.0 / (x * _LN10),), singular=True)
log10 = _export(log10_p)
log1p_p = elementwise("log1p", np.log1p, (lambda ans, x: 1.0 / (1.0 + x),), singular=True)
log1p = _export(log1p_p)

# log(e^x + e^y): the partials e^(x - ans), e^(y - ans) have exponents <= 0, so they
# stay finite (and sum to one) however large the inputs are.
logaddexp_p = elementwise("logaddexp", np.logaddexp, (
    lambda ans, x, y: exp(x - ans),
    lambda ans, x, y: exp(y - ans),
))
logaddexp = _export(logaddexp_p)
logaddexp2_p = elementwise("logaddexp2", np.logaddexp2, (
    lambda ans, x, y: exp2(x - ans),
    lambda ans, x, y: exp2(y - ans),
))
logaddexp2 = _export(logaddexp2_p)

# cbrt is defined for negative x (power(x, 1/3) is not); infinite slope at 0.
cbrt_p = elementwise("cbrt", np.cbrt, (lambda ans, x: 1.0 / (3.0 * ans * ans),),
                     singular=True)
cbrt = _export(cbrt_p)

# ---- trigonometric and hyperbolic ---------------------------------------------------
tan_p = elementwise("tan", np.tan, (lambda ans, x: 1.0 + ans * ans,))
tan = _export(tan_p)
arcsin_p = elementwise("arcsin", np.arcsin, (lambda ans, x: 1.0 / sqrt(1.0 - x * x),),
                       singular=True)
arcsin = _export(arcsin_p)
arccos_p = elementwise("arccos", np.arccos, (lambda ans, x: -1.0 / sqrt(1.0 - x * x),),
                       singular=True)
arccos = _export(arccos_p)
arctan_p = elementwise("arctan", np.arctan, (lambda ans, x: 1.0 / (1.0 + x * x),))
arctan = _export(arctan_p)
# arctan2(y, x) is the angle of the point (x, y); undefined at the origin.
arctan2_p = elementwise("arctan2", np.arctan2, (
    lambda ans, y, x: x / (x * x + y * y),
    lambda ans, y, x: -y / (x * x + y * y),
), singular=True)
arctan2 = _export(arctan2_p)
sinh_p = elementwise("sinh", np.sinh, (lambda ans, x: cosh(x),))
sinh = _export(sinh_p)
cosh_p = elementwise("cosh", np.cosh, (lambda ans, x: sinh(x),))
cosh: Op[..., Any] = _export(cosh_p)
arcsinh_p = elementwise("arcsinh", np.arcsinh, (lambda ans, x: 1.0 / sqrt(x * x + 1.0),))
arcsinh = _export(arcsinh_p)
arccosh_p = elementwise("arccosh", np.arccosh, (
    lambda ans, x: 1.0 / (sqrt(x - 1.0) * sqrt(x + 1.0)),), singular=True)
arccosh = _export(arccosh_p)
arctanh_p = elementwise("arctanh", np.arctanh, (lambda ans, x: 1.0 / (1.0 - x * x),),
                        singular=True)
arctanh = _export(arctanh_p)


def _hypot_scale(ans):
    # hypot is a cone at the origin: there the subgradient 0 is used (x / 1 with x = 0).
    return where(ans == 0, 1.0, ans)


hypot_p = elementwise("hypot", np.hypot, (
    lambda ans, x, y: x / _hypot_scale(ans),
    lambda ans, x, y: y / _hypot_scale(ans),
))
hypot = _export(hypot_p)


# ---- NaN-ignoring maximum/minimum ---------------------------------------------------
# fmax(x, nan) = x, so x receives the whole derivative where y is NaN (and vice versa);
# ties split equally as for maximum; where both are NaN neither gets any.
def _fmax_weight(ans, a, b):
    wins = np.logical_or(a > b, np.logical_and(isnan(b), np.logical_not(isnan(a))))
    return _tie_weights(wins, a == b, ans)


def _fmin_weight(ans, a, b):
    wins = np.logical_or(a < b, np.logical_and(isnan(b), np.logical_not(isnan(a))))
    return _tie_weights(wins, a == b, ans)


fmax_p = elementwise("fmax", np.fmax, (
    lambda ans, x, y: _fmax_weight(ans, x, y),
    lambda ans, x, y: _fmax_weight(ans, y, x),
))
fmax = _export(fmax_p)
fmin_p = elementwise("fmin", np.fmin, (
    lambda ans, x, y: _fmin_weight(ans, x, y),
    lambda ans, x, y: _fmin_weight(ans, y, x),
))
fmin = _export(fmin_p)


# ---- remainders ---------------------------------------------------------------------
# mod(x, y) = x - floor(x / y) y and fmod(x, y) = x - trunc(x / y) y.  The integer
# quotient is read back from the result, (x - ans) / y rounded, so it is the one the
# primal computation actually used even where x / y rounds across an integer.  At a
# jump the derivative is the one-sided one: 1 w.r.t. x, -quotient w.r.t. y.
def _neg_quotient(ans, x, y):
    return -rint((x - ans) / y)


mod_p = elementwise("mod", np.mod, (1, _neg_quotient), singular=True)
mod = _export(mod_p)
fmod_p = elementwise("fmod", np.fmod, (1, _neg_quotient), singular=True)
fmod = _export(fmod_p)

# ---- piecewise constant and inspection: no derivative, plain results ----------------
_NONDIFF_MORE = {
    "floor": np.floor, "ceil": np.ceil, "trunc": np.trunc, "rint": np.rint,
    "floor_divide": np.floor_divide, "isinf": np.isinf, "signbit": np.signbit,
}
_ND.update({_name: _export(nondiff(_name, _fn), nargs=_fn.nin)
            for _name, _fn in _NONDIFF_MORE.items()})
floor, ceil, trunc, rint = _ND["floor"], _ND["ceil"], _ND["trunc"], _ND["rint"]
floor_divide, isinf, signbit = _ND["floor_divide"], _ND["isinf"], _ND["signbit"]

round_p = nondiff("round", lambda x, decimals: np.round(x, decimals))


@exports(round_p)
def round_(x: Any, decimals: int = 0) -> Any:
    """``x`` rounded to ``decimals`` places (half to even, as numpy); no derivative."""
    return bind(round_p, x, decimals=int(decimals))


OPS["round"] = round_


# ---- replay rules (see Primitive): scalar kernels and exact simplifications ---------
def _is_all(v: Any, x: Any) -> bool:
    a = np.asarray(v)
    return a.dtype.kind in "biuf" and a.size > 0 and bool((a == x).all())


def _unit_at(*where: int, unit: float) -> Any:
    """simplify rule: the result is the other argument where argument ``i`` is ``unit``."""
    def simplify(known: dict, params: dict) -> Any:
        for i in where:
            if i in known and _is_all(known[i], unit):
                return 1 - i
        return None
    return simplify


def _absorbing(value: bool) -> Any:
    """simplify rule of logical_or (value True) and logical_and (False)."""
    def simplify(known: dict, params: dict) -> Any:
        for v in known.values():
            if np.asarray(v).dtype.kind in "biuf" and _is_all(np.asarray(v) != 0, value):
                return (value,)
        return None
    return simplify


def _where_simplify(known: dict, params: dict) -> Any:
    if 0 not in known:
        return None
    c = np.asarray(known[0])
    return 1 if c.all() else 2 if not c.any() else None


_SCALAR = {
    "add": "({0} + {1})", "subtract": "({0} - {1})", "multiply": "({0} * {1})",
    "divide": "({0} / {1})", "negative": "(-{0})", "power": "({0} ** {1})",
    "sin": "np.sin({0})", "cos": "np.cos({0})", "tan": "np.tan({0})",
    "tanh": "np.tanh({0})", "exp": "np.exp({0})", "log": "np.log({0})",
    "sqrt": "np.sqrt({0})", "abs": "abs({0})", "sinh": "np.sinh({0})",
    "cosh": "np.cosh({0})", "arcsin": "np.arcsin({0})", "arccos": "np.arccos({0})",
    "arctan": "np.arctan({0})", "log1p": "np.log1p({0})", "expm1": "np.expm1({0})",
    "sign": "np.sign({0})", "maximum": "np.maximum({0}, {1})",
    "minimum": "np.minimum({0}, {1})", "where": "({1} if {0} else {2})",
    "isfinite": "np.isfinite({0})", "logical_or": "({0} or {1})",
    "logical_and": "({0} and {1})", "logical_not": "(not {0})",
    "not_equal": "({0} != {1})", "equal": "({0} == {1})", "less": "({0} < {1})",
    "less_equal": "({0} <= {1})", "greater": "({0} > {1})",
    "greater_equal": "({0} >= {1})",
}
for _name, _expr in _SCALAR.items():
    lookup(_name).scalar = _expr
multiply_p.simplify = _unit_at(0, 1, unit=1)
divide_p.simplify = _unit_at(1, unit=1)
power_p.simplify = _unit_at(1, unit=1)
subtract_p.simplify = _unit_at(1, unit=0)     # x + 0 is not x: -0.0 + 0 is +0.0
logical_or.primitive.simplify = _absorbing(True)
logical_and.primitive.simplify = _absorbing(False)
where_p.simplify = _where_simplify
add_p.signed_sum, subtract_p.signed_sum, negative_p.signed_sum = (1, 1), (1, -1), (-1,)
multiply_p.odd = divide_p.odd = True
