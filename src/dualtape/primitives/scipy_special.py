"""More of scipy.special: the gamma and beta functions, inverse error functions, the
normal distribution's log-CDF, x log1p(y), relative entropy, modified Bessel functions
of integer order, and the regularised incomplete gamma and beta functions.

Values are scipy's own (each primitive's implementation is the scipy ufunc), so they
agree with scipy to the last bit; derivatives are written with dualtape operations so
they differentiate again.  scipy.special is imported on first use, as in ``special``.

Where a derivative has no closed form the partial raises instead of being dropped:
the incomplete functions (``gammainc``, ``gammaincc``, ``betainc``, ``stdtr``) are
differentiable in their last argument only, and the Bessel order is an int parameter.
Kinks and singular points: ``erfinv`` and ``ndtri`` have infinite slope at the ends of
their domains; ``rel_entr`` has slope -inf in x at x = 0; ``ive`` is e^-|x| I_n(x), whose
derivative at x = 0 uses sign(0) = 0 (for n = 0 that is the subgradient 0 of a corner).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..registry import bind, exports
from ._rules import OPS, elementwise
from .elementwise import _export, exp, log, log1p, sign, where
from .special import digamma, gammaln, xlogy


def _sc() -> Any:
    from scipy import special
    return special


_SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2.0
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _no_derivative(name: str, arg: str, why: str):
    def partial(ans, *args, **params):
        raise TypeError(
            f"{name}: no derivative with respect to {arg} ({why}); pass {arg} as a plain "
            f"value, or differentiate only with respect to the last argument")
    return partial


# ---- gamma and beta -----------------------------------------------------------------
# Primitives rather than exp(gammaln) composites: at x = 100 exp(gammaln(x)) is some 400
# ulps from Gamma(x), and gammaln(a) + gammaln(b) - gammaln(a + b) cancels for large a.
def _dbetaln(a, b):
    # d/da log B(a, b) = digamma(a) - digamma(a + b), and symmetrically in b
    both = digamma(a + b)
    return digamma(a) - both, digamma(b) - both


gamma_p = elementwise("gamma", lambda x: _sc().gamma(x),
                      (lambda ans, x: ans * digamma(x),), singular=True)
gamma = _export(gamma_p)
beta_p = elementwise("beta", lambda a, b: _sc().beta(a, b), (
    lambda ans, a, b: ans * _dbetaln(a, b)[0],
    lambda ans, a, b: ans * _dbetaln(a, b)[1],
), singular=True)
beta = _export(beta_p)
betaln_p = elementwise("betaln", lambda a, b: _sc().betaln(a, b), (
    lambda ans, a, b: _dbetaln(a, b)[0],
    lambda ans, a, b: _dbetaln(a, b)[1],
), singular=True)
betaln = _export(betaln_p)

# ---- inverse error functions and the normal log-CDF ----------------------------------
# erfinv' = sqrt(pi)/2 exp(ans^2), ndtri' = sqrt(2 pi) exp(ans^2 / 2): infinite at the
# ends of the domain (+-1 and 0, 1), where ans is infinite.
erfinv_p = elementwise("erfinv", lambda x: _sc().erfinv(x),
                       (lambda ans, x: _SQRT_PI_OVER_2 * exp(ans * ans),), singular=True)
erfinv = _export(erfinv_p)
ndtri_p = elementwise("ndtri", lambda x: _sc().ndtri(x),
                      (lambda ans, x: _SQRT_2PI * exp(0.5 * (ans * ans)),), singular=True)
ndtri = _export(ndtri_p)
# log_ndtr' = phi(x) / Phi(x) = exp(-x^2/2 - log sqrt(2 pi) - ans): one exponential of a
# moderate number even far in the left tail, where phi and Phi both underflow.
log_ndtr_p = elementwise("log_ndtr", lambda x: _sc().log_ndtr(x),
                         (lambda ans, x: exp(-0.5 * (x * x) - _LOG_SQRT_2PI - ans),))
log_ndtr = _export(log_ndtr_p)


# ---- x log1p(y) and relative entropy ------------------------------------------------
# xlog1py(0, y) = 0 for every y, so d/dy = x / (1 + y) is 0 at x = 0, also at y = -1.
def _xlog1py_dx(ans, x, y):
    if isinstance(y, (int, float)):
        y = np.asarray(y, dtype=ans.dtype)
    return log1p(y)


def _xlog1py_dy(ans, x, y):
    return x / where(np.logical_and(x == 0, y == -1), 1.0, 1.0 + y)


xlog1py_p = elementwise("xlog1py", lambda x, y: _sc().xlog1py(x, y),
                        (_xlog1py_dx, _xlog1py_dy), singular=True)
xlog1py = _export(xlog1py_p)


# rel_entr(x, y) = x log(x / y) for x, y > 0, 0 at x = 0 <= y, inf elsewhere (constant
# there: derivative 0).  d/dx = log(x / y) + 1 (-inf at x = 0), d/dy = -x / y.
def _rel_entr_inside(x, y):
    return np.logical_and(x > 0, y > 0)


def _rel_entr_dx(ans, x, y):
    inside = _rel_entr_inside(x, y)
    at_zero = np.logical_and(x == 0, y >= 0)
    x1, y1 = where(inside, x, 1.0), where(inside, y, 1.0)
    edge = np.where(at_zero, -np.inf, 0.0).astype(ans.dtype)
    return where(inside, log(x1) - log(y1) + 1.0, edge)


def _rel_entr_dy(ans, x, y):
    inside = _rel_entr_inside(x, y)
    return where(inside, -x / where(inside, y, 1.0), 0.0)


rel_entr_p = elementwise("rel_entr", lambda x, y: _sc().rel_entr(x, y),
                         (_rel_entr_dx, _rel_entr_dy), singular=True)
rel_entr = _export(rel_entr_p)


# ---- modified Bessel functions of integer order ---------------------------------------
# I_n' = (I_{n-1} + I_{n+1}) / 2 with I_{-1} = I_1; the scaled ive_n = e^-|x| I_n has
# ive_n' = (ive_{n-1} + ive_{n+1}) / 2 - sign(x) ive_n.  The order stays an int, so every
# derivative is again one of these primitives.
def _order(name: str, n: Any) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 0:
        raise TypeError(f"{name}: the order n must be a non-negative int (it has no "
                        f"derivative), got {n!r}")
    return int(n)


def _float_like(x: Any, out: Any) -> Any:
    # scipy evaluates iv/ive of an int order in double precision; keep float32 as float32
    x = np.asarray(x)
    return np.asarray(out, dtype=np.result_type(x.dtype, np.float32))[()]


def _iv_impl(x, n):
    sc = _sc()
    out = sc.i0(x) if n == 0 else sc.i1(x) if n == 1 else sc.iv(n, x)
    return _float_like(x, out)


def _ive_impl(x, n):
    sc = _sc()
    out = sc.i0e(x) if n == 0 else sc.i1e(x) if n == 1 else sc.ive(n, x)
    return _float_like(x, out)


def _iv_partial(ans, x, n):
    if n == 0:
        return iv(1, x)
    return 0.5 * (iv(n - 1, x) + iv(n + 1, x))


def _ive_partial(ans, x, n):
    up = ive(1, x) if n == 0 else 0.5 * (ive(n - 1, x) + ive(n + 1, x))
    return up - sign(x) * ans


iv_p = elementwise("iv", _iv_impl, (_iv_partial,))
ive_p = elementwise("ive", _ive_impl, (_ive_partial,))


@exports(iv_p)
def iv(n: int, x: Any) -> Any:
    """The modified Bessel function of the first kind of int order ``n`` at ``x``."""
    return bind(iv_p, x, n=_order("iv", n))


@exports(ive_p)
def ive(n: int, x: Any) -> Any:
    """``iv(n, x) * exp(-|x|)``, without overflow for large ``|x|``."""
    return bind(ive_p, x, n=_order("ive", n))


OPS["iv"], OPS["ive"] = iv, ive


# ---- regularised incomplete gamma and beta functions ---------------------------------
# Differentiable in x: the partial is the density of the distribution they are the CDF
# of.  Their derivatives in the shape parameters have no closed form, so they raise.
def _gamma_density(a, x):
    # x^(a-1) e^-x / Gamma(a), 0 for x < 0 (outside the domain gammainc is 0 or NaN)
    pos = x > 0
    xs = where(pos, x, 1.0)
    return where(pos, exp(xlogy(a - 1.0, xs) - xs - gammaln(a)), 0.0)


def _beta_density(a, b, x):
    inside = np.logical_and(x > 0, x < 1)
    xs = where(inside, x, 0.5)
    return where(inside, exp(xlogy(a - 1.0, xs) + xlog1py(b - 1.0, -xs)
                             - betaln(a, b)), 0.0)


def _t_density(df, x):
    return exp(gammaln(0.5 * (df + 1.0)) - gammaln(0.5 * df) - 0.5 * log(np.pi * df)
               - 0.5 * (df + 1.0) * log1p(x * x / df))


_SHAPE = "no closed form: the derivative of an incomplete gamma/beta function in its " \
         "parameters is not available"
gammainc_p = elementwise("gammainc", lambda a, x: _sc().gammainc(a, x), (
    _no_derivative("gammainc", "a", _SHAPE),
    lambda ans, a, x: _gamma_density(a, x),
), singular=True)
gammainc = _export(gammainc_p)
gammaincc_p = elementwise("gammaincc", lambda a, x: _sc().gammaincc(a, x), (
    _no_derivative("gammaincc", "a", _SHAPE),
    lambda ans, a, x: -_gamma_density(a, x),
), singular=True)
gammaincc = _export(gammaincc_p)
betainc_p = elementwise("betainc", lambda a, b, x: _sc().betainc(a, b, x), (
    _no_derivative("betainc", "a", _SHAPE),
    _no_derivative("betainc", "b", _SHAPE),
    lambda ans, a, b, x: _beta_density(a, b, x),
), singular=True)
betainc = _export(betainc_p)
stdtr_p = elementwise("stdtr", lambda df, x: _sc().stdtr(df, x), (
    _no_derivative("stdtr", "df", _SHAPE),
    lambda ans, df, x: _t_density(df, x),
))
stdtr = _export(stdtr_p)
