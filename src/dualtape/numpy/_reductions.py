"""Reductions with numpy's signatures.

``sum``, ``mean``, ``max``/``min``, ``prod``, ``cumsum`` and ``cumprod`` are primitives;
``var``, ``std``, ``ptp``, ``average`` and the ``cumulative_*`` spellings are composites
of them.  Semantics at the non-smooth points:

* ``max``/``min``/``ptp``: the derivative follows the selected element; ties split it
  equally among the tied elements.
* ``prod``/``cumprod``: the derivative is the product of the *other* factors, computed
  without dividing by ``x``, so it is exact when the input has zeros.
* ``std``: at a constant input (variance exactly 0) the derivative is defined as 0
  (a double ``where``, so no NaN and no warning); elsewhere it is ``d var / (2 std)``.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from ..primitives import complex as _cx
from ..primitives import elementwise as _ew
from ..primitives import reductions as _red
from ..primitives import shape as _sh
from ._construct import _dtype, asarray
from ..registry import value_of
from ._dispatch import _dispatches, _no_out

__all__ = [
    "amax", "amin", "average", "cumprod", "cumsum", "cumulative_prod", "cumulative_sum",
    "max", "mean", "min", "prod", "ptp", "std", "sum", "var",
]


def _prep(a: Any, dtype: Any) -> Any:
    a = asarray(a)
    return a if dtype is None else _ew.astype(a, dtype)


def _mask(where: Any, a: Any) -> np.ndarray | None:
    """``where=`` as a plain boolean mask broadcast to ``a`` (None: everything)."""
    if where is True:
        return None
    return np.broadcast_to(np.asarray(value_of(where), dtype=bool), np.shape(a))


def _count(a: Any, axis: tuple, mask: np.ndarray | None, keepdims: bool) -> Any:
    if mask is None:
        nd = np.ndim(a)
        return int(np.prod([np.shape(a)[i + nd] for i in axis]))
    return np.sum(mask, axis=axis, keepdims=keepdims)


@_dispatches(np.sum)
def sum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,  # noqa: A001
        keepdims: bool = False, initial: Any = None, where: Any = True) -> Any:
    """Sum over ``axis`` (None: all).  Shape: ``a.shape`` without the reduced axes."""
    _no_out("sum", out)
    a = _prep(a, dtype)
    m = _mask(where, a)
    if m is not None:
        a = _ew.where(m, a, 0)
    r = _red.sum(a, axis, keepdims)
    return r if initial is None else r + initial


@_dispatches(np.prod)
def prod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
         keepdims: bool = False, initial: Any = None, where: Any = True) -> Any:
    """Product over ``axis``.  Its derivative is the product of the other factors (no
    division by ``a``, so exact with zeros)."""
    _no_out("prod", out)
    a = _prep(a, dtype)
    m = _mask(where, a)
    if m is not None:
        a = _ew.where(m, a, 1)
    r = _red.prod(a, axis, keepdims)
    return r if initial is None else r * initial


@_dispatches(np.mean)
def mean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
         keepdims: bool = False, *, where: Any = True) -> Any:
    """Mean over ``axis`` (None: all)."""
    _no_out("mean", out)
    a = _prep(a, dtype)
    m = _mask(where, a)
    if m is None:
        return _red.mean(a, axis, keepdims)
    ax = _red.normalize_axis(axis, np.ndim(a))
    return _red.sum(_ew.where(m, a, 0), ax, keepdims) / _count(a, ax, m, keepdims)


def _var(name: str, a: Any, axis: Any, dtype: Any, out: Any, ddof: Any, keepdims: bool,
         where: Any, mean: Any, correction: Any) -> Any:
    _no_out(name, out)
    if correction is not None:
        if ddof != 0:
            raise ValueError(f"{name}: ddof and correction can't be provided simultaneously")
        ddof = correction
    a = _prep(a, dtype)
    ax = _red.normalize_axis(axis, np.ndim(a))
    m = _mask(where, a)
    if mean is None:
        if m is None:
            mean = _red.mean(a, ax, True)
        else:
            mean = _red.sum(_ew.where(m, a, 0), ax, True) / _count(a, ax, m, True)
    d = a - mean
    if _cx.is_complex(d):                 # numpy: mean(|a - mean|^2), a real variance
        d2 = _cx.real(d) * _cx.real(d) + _cx.imag(d) * _cx.imag(d)
    else:
        d2 = d * d
    sq = d2 if m is None else _ew.where(m, d2, 0)
    n = _count(a, ax, m, keepdims)
    return _red.sum(sq, ax, keepdims) / np.maximum(n - ddof, 0)


@_dispatches(np.var)
def var(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
        keepdims: bool = False, *, where: Any = True, mean: Any = None,
        correction: Any = None) -> Any:
    """Variance over ``axis``: ``sum(|a - mean|**2) / (N - ddof)`` (real for complex
    ``a``, as numpy)."""
    return _var("var", a, axis, dtype, out, ddof, keepdims, where, mean, correction)


@_dispatches(np.std)
def std(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
        keepdims: bool = False, *, where: Any = True, mean: Any = None,
        correction: Any = None) -> Any:
    """Standard deviation, ``sqrt(var)``.  Where the variance is exactly 0 (a constant
    slice) the derivative is 0, never NaN."""
    v = _var("std", a, axis, dtype, out, ddof, keepdims, where, mean, correction)
    pos = v > 0
    return _ew.where(pos, _ew.sqrt(_ew.where(pos, v, 1.0)), 0.0)


def _extreme(name: str, red: Any, pick: Any, fill: float, a: Any, axis: Any,
             out: Any, keepdims: bool, initial: Any, where: Any) -> Any:
    _no_out(name, out)
    a = asarray(a)
    m = _mask(where, a)
    if m is not None:
        if initial is None:
            raise ValueError(f"reduction operation '{name}' does not have an identity, so "
                             f"to use a where mask one has to specify 'initial'")
        a = _ew.where(m, a, fill)
    r = red(a, axis, keepdims)
    return r if initial is None else pick(r, initial)


@_dispatches(np.max, np.amax)
def max(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,  # noqa: A001
        initial: Any = None, where: Any = True) -> Any:
    """Maximum over ``axis``; the derivative follows the maximum, ties split equally."""
    return _extreme("max", _red.max, _ew.maximum, -np.inf, a, axis, out, keepdims,
                    initial, where)


@_dispatches(np.min, np.amin)
def min(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,  # noqa: A001
        initial: Any = None, where: Any = True) -> Any:
    """Minimum over ``axis``; the derivative follows the minimum, ties split equally."""
    return _extreme("min", _red.min, _ew.minimum, np.inf, a, axis, out, keepdims,
                    initial, where)


amax, amin = max, min


@_dispatches(np.ptp)
def ptp(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    """``max - min`` over ``axis``; each part routes as max and min do (ties split)."""
    _no_out("ptp", out)
    a = asarray(a)
    return _red.max(a, axis, keepdims) - _red.min(a, axis, keepdims)


def _cumulative(name: str, scan: Any, a: Any, axis: Any, dtype: Any, out: Any) -> Any:
    _no_out(name, out)
    a = _prep(a, dtype)
    if axis is None:
        a, axis = _sh.ravel(a), 0
    return scan(a, int(axis))


@_dispatches(np.cumsum)
def cumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """Cumulative sum along ``axis`` (None: of the flattened array)."""
    return _cumulative("cumsum", _red.cumsum, a, axis, dtype, out)


@_dispatches(np.cumprod)
def cumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """Cumulative product along ``axis`` (None: flattened).  Exact derivative with zeros
    (a scan, no division)."""
    return _cumulative("cumprod", _red.cumprod, a, axis, dtype, out)


def _cumulative_new(name: str, scan: Any, identity: float, x: Any, axis: Any, dtype: Any,
                    out: Any, include_initial: bool) -> Any:
    x = asarray(x)
    if axis is None:
        if np.ndim(x) != 1:
            raise ValueError(f"{name}: axis must be specified for arrays with more than "
                             f"one dimension")
        axis = 0
    r = _cumulative(name, scan, x, axis, dtype, out)
    if not include_initial:
        return r
    nd = np.ndim(r)
    ax = int(axis) % nd
    first = np.full(np.shape(r)[:ax] + (1,) + np.shape(r)[ax + 1:], identity,
                    dtype=_dtype(r))
    return _sh.concatenate([first, r], ax)


def cumulative_sum(x: Any, /, *, axis: Any = None, dtype: Any = None, out: Any = None,
                   include_initial: bool = False) -> Any:
    """numpy's array-API cumulative sum (``include_initial`` prepends a 0)."""
    return _cumulative_new("cumulative_sum", _red.cumsum, 0.0, x, axis, dtype, out,
                           include_initial)


def cumulative_prod(x: Any, /, *, axis: Any = None, dtype: Any = None, out: Any = None,
                    include_initial: bool = False) -> Any:
    """numpy's array-API cumulative product (``include_initial`` prepends a 1)."""
    return _cumulative_new("cumulative_prod", _red.cumprod, 1.0, x, axis, dtype, out,
                           include_initial)


if hasattr(np, "cumulative_sum"):      # numpy >= 2.1
    _dispatches(np.cumulative_sum)(cumulative_sum)
    _dispatches(np.cumulative_prod)(cumulative_prod)


@_dispatches(np.average)
def average(a: Any, axis: Any = None, weights: Any = None, returned: bool = False, *,
            keepdims: bool = False) -> Any:
    """Weighted mean ``sum(a * w) / sum(w)`` over ``axis``; differentiable in ``a`` and
    in ``weights``.  ``returned=True`` also gives the sum of the weights."""
    a = asarray(a)
    nd = np.ndim(a)
    ax = _red.normalize_axis(axis, nd)
    if weights is None:
        avg = _red.mean(a, ax, keepdims)
        scl = np.asarray(np.size(a) // builtins.max(int(np.prod(np.shape(avg))), 1),
                         dtype=_dtype(avg))
    else:
        w = asarray(weights)
        if np.shape(w) != np.shape(a):
            if axis is None:
                raise TypeError("average: axis must be specified when shapes of a and "
                                "weights differ")
            want = tuple(np.shape(a)[i] for i in ax)
            if np.shape(w) != want:
                raise ValueError("average: shape of weights must be consistent with the "
                                 "shape of a along the specified axis")
            w = _sh.reshape(w, tuple(np.shape(a)[i] if i - nd in ax else 1
                                     for i in range(nd)))
        scl = _red.sum(_sh.broadcast_to(w, np.shape(a)) if np.shape(w) != np.shape(a)
                       else w, ax, keepdims)
        if np.any(np.asarray(value_of(scl, structural=False)) == 0):   # an error check
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        avg = _red.sum(a * w, ax, keepdims) / scl
    if not returned:
        return avg
    return avg, _sh.broadcast_to(scl, np.shape(avg)) if np.shape(scl) != np.shape(avg) else scl
