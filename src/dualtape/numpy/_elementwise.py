"""numpy's ufuncs on traced values, each a thin adapter to one primitive."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..primitives import elementwise as _ew
from ..primitives import linalg as _la
from ._dispatch import _dispatches, _no_out, _plain, _ufunc

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

__all__ = [
    "abs", "absolute", "add", "cos", "divide", "dot", "equal", "exp", "greater",
    "greater_equal", "isfinite", "isnan", "less", "less_equal", "log", "logical_and",
    "logical_not", "logical_or", "logical_xor", "matmul", "maximum", "minimum", "multiply",
    "negative", "not_equal", "power", "sign", "sin", "sqrt", "subtract", "tanh",
    "true_divide", "where",
]


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

