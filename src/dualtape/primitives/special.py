"""Special functions (scipy.special) and the log-sum-exp reduction.

scipy.special is imported on first *use*, not by ``import dualtape``: it costs about a
third of a second to load, and most programs never call these primitives.

Derivatives chain through the same family: gammaln' = digamma, digamma' = polygamma(1),
polygamma(n)' = polygamma(n + 1), so every order is available.  logsumexp's derivative
is the softmax exp(a - ans), whose exponents are <= 0 (stable for any input).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..registry import Op, bind, exports, value_of
from . import _cost, _structure
from ._rules import OPS, define, elementwise, ndim, shape
from .elementwise import _export, exp, log, where
from .reductions import normalize_axis


def _sc() -> Any:
    from scipy import special
    return special


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

# ---- logistic ----------------------------------------------------------------------
# expit' = ans (1 - ans): exactly 0 (not NaN) where expit saturates at 0 or 1.
expit_p = elementwise("expit", lambda x: _sc().expit(x), (lambda ans, x: ans * (1.0 - ans),))
expit = _export(expit_p)
logit_p = elementwise("logit", lambda x: _sc().logit(x),
                      (lambda ans, x: 1.0 / (x * (1.0 - x)),), singular=True)
logit = _export(logit_p)

# ---- error function -------------------------------------------------------------------
# erfc is its own primitive: 1 - erf(x) loses every digit for large x.
erf_p = elementwise("erf", lambda x: _sc().erf(x),
                    (lambda ans, x: _TWO_OVER_SQRT_PI * exp(-(x * x)),))
erf = _export(erf_p)
erfc_p = elementwise("erfc", lambda x: _sc().erfc(x),
                     (lambda ans, x: -_TWO_OVER_SQRT_PI * exp(-(x * x)),))
erfc = _export(erfc_p)


# ---- gamma family -------------------------------------------------------------------
def _polygamma_impl(x: Any, n: int) -> Any:
    # scipy computes polygamma(n >= 1) in double precision; keep float32 as float32
    x = np.asarray(x)
    return np.asarray(_sc().polygamma(n, x), dtype=np.result_type(x.dtype, np.float32))[()]


polygamma_p = elementwise("polygamma", _polygamma_impl,
                          (lambda ans, x, n: polygamma(n + 1, x),), singular=True)


def polygamma(n: int, x: Any) -> Any:
    """The n-th derivative of digamma at ``x`` (``n`` a non-negative int, no derivative)."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 0:
        raise TypeError(f"polygamma: the order n must be a non-negative int, got {n!r}")
    return bind(polygamma_p, x, n=int(n))


exports(polygamma_p)(polygamma)   # not a decorator: its own rule refers to it by name
OPS["polygamma"] = polygamma

# gammaln = log|Gamma(x)|: its derivative is digamma on both signs of Gamma.
gammaln_p = elementwise("gammaln", lambda x: _sc().gammaln(x),
                        (lambda ans, x: digamma(x),), singular=True)
gammaln = _export(gammaln_p)
digamma_p = elementwise("digamma", lambda x: _sc().digamma(x),
                        (lambda ans, x: polygamma(1, x),), singular=True)
digamma: Op[..., Any] = _export(digamma_p)


# ---- x log y ------------------------------------------------------------------------
# xlogy(0, y) = 0 for every y, so d/dy = x / y is 0 at x = 0 (also at y = 0, where the
# quotient would be 0/0); d/dx = log y (-inf at y = 0, as the function's slope).
def _xlogy_dy(ans, x, y):
    return x / where(np.logical_and(x == 0, y == 0), 1.0, y)


def _xlogy_dx(ans, x, y):
    if isinstance(y, (int, float)):    # log(2.0) would be a float64 numpy scalar
        y = np.asarray(y, dtype=ans.dtype)
    return log(y)


xlogy_p = elementwise("xlogy", lambda x, y: _sc().xlogy(x, y), (
    _xlogy_dx,
    _xlogy_dy,
), singular=True)
xlogy = _export(xlogy_p)


# ---- log-sum-exp --------------------------------------------------------------------
def _kept(x_shape: tuple, axis: tuple) -> tuple:
    nd = len(x_shape)
    return tuple(1 if i - nd in axis else s for i, s in enumerate(x_shape))


def _lse_impl(a: Any, axis: tuple, keepdims: bool) -> Any:
    a = np.asarray(a)
    m = np.max(a, axis=axis, keepdims=True)
    # An all -inf (or inf) slice: shift by 0, so the result is -inf (inf), not NaN.
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis)[()]


def _lse_weights(ans: Any, a: Any, axis: tuple, keepdims: bool) -> Any:
    """softmax(a) along ``axis``, as e / sum(e) with e = exp(a - max a).

    Not exp(a - ans): ans carries the rounding of a large max (at 1000, ulp 1e-13), so
    that would give 0.50000000000003 for two equal entries instead of 0.5.  The shift is
    a constant (the weights do not depend on it), so higher derivatives stay exact."""
    m = np.max(np.asarray(value_of(a, structural=False)), axis=axis, keepdims=True)
    e = exp(a - np.where(np.isfinite(m), m, 0))
    return e / OPS["sum"](e, axis, True)


def _lse_jvp(t, ans, a, axis, keepdims):
    return OPS["sum"](t * _lse_weights(ans, a, axis, keepdims), axis, keepdims)


def _lse_vjp(g, ans, a, axis, keepdims):
    if not keepdims:
        nb = ndim(g) - ndim(ans)
        g = OPS["reshape"](g, tuple(shape(g)[:nb]) + _kept(shape(a), axis))
    return g * _lse_weights(ans, a, axis, keepdims)


logsumexp_p = define("logsumexp", _lse_impl, jvp=(_lse_jvp,), vjp=(_lse_vjp,),
                     sparsity=_structure.reduction(), cost=_cost.reduction)


@exports(logsumexp_p)
def logsumexp(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """log(sum(exp(a))) over ``axis`` (None: all axes), computed without overflow."""
    return bind(logsumexp_p, a, axis=normalize_axis(axis, ndim(a)), keepdims=bool(keepdims))


OPS["logsumexp"] = logsumexp
