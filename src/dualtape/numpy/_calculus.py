"""Differences, integrals, products of sequences, interpolation and the small
differentiable ufuncs numpy has beyond the core ones.

All are composites of registered primitives (``getitem``, ``concatenate``, ``where``,
``matmul``, arithmetic), so they differentiate in every mode and order.  Conventions:

* ``interp``: at a knot ``x == xp[j]`` the derivative in ``x`` is the slope of the
  segment to the right (``[xp[j], xp[j+1])``, numpy's searchsorted side); outside
  ``[xp[0], xp[-1]]`` it is 0 and the derivative goes to ``left``/``right`` (or the end
  values of ``fp``).  Differentiable in ``x``, ``xp``, ``fp``, ``left`` and ``right``.
* ``sinc``: near 0 a Taylor polynomial replaces sin(pi x)/(pi x), so every order of
  derivative is right at and around 0 (sinc'(0) = 0, sinc''(0) = -pi**2/3).
* ``heaviside``: derivative 0 in ``x1``; at ``x1 == 0`` the derivative goes to ``x2``.
* ``copysign``: ``|x1|`` with the sign of ``x2``; derivative 0 in ``x2`` and
  abs's subgradient (0) at ``x1 == 0``.
* ``nextafter``, ``modf`` (fractional part), ``unwrap``: the output moves one-for-one
  with ``x1``/``p`` (the added step is locally constant), so the derivative is 1.
* ``frexp``/``ldexp``: the mantissa is ``x * 2**-e`` with ``e`` plain.
* ``nan_to_num``: the replaced positions get derivative 0 in ``x`` (and 1 in a traced
  ``nan``/``posinf``/``neginf`` value); elsewhere 1.
"""

from __future__ import annotations

import builtins
from typing import Any, Callable, Literal

import numpy as np

from ..primitives import elementwise as _ew
from ..primitives import linalg as _la
from ..primitives import reductions as _red
from ..primitives import shape as _sh
from ..registry import Tracer, value_of
from ._construct import _dtype, _has_tracer, asarray
from ._dispatch import _UFUNCS, _dispatches, _no_out
from ._indexing import _along, _axis

__all__ = [
    "convolve", "copysign", "correlate", "cross", "diff", "divmod", "ediff1d", "frexp",
    "gradient", "heaviside", "i0", "interp", "ldexp", "matvec", "modf", "nan_to_num",
    "nextafter", "real_if_close", "sinc", "spacing", "trapezoid", "unwrap", "vecdot",
    "vecmat",
]

_NOVALUE = np._NoValue


def _plain(x: Any) -> Any:
    """The value of ``x`` where it cannot change which outputs depend on which inputs
    (a dtype, a constant added, an error check)."""
    return value_of(x, structural=False)


def _slice(a: Any, ax: int, start: Any, stop: Any = None) -> Any:
    return _sh.getitem(a, _along(ax, slice(start, stop)))


def _traced(*xs: Any) -> bool:
    return builtins.any(isinstance(x, Tracer) or _has_tracer(x) for x in xs)


def _float(a: Any) -> Any:
    a = asarray(a)
    if not np.issubdtype(_dtype(a), np.inexact):
        a = _ew.astype(a, np.float64) if isinstance(a, Tracer) else a.astype(np.float64)
    return a


# ---- differences ------------------------------------------------------------------------
@_dispatches(np.diff)
def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = _NOVALUE,
         append: Any = _NOVALUE) -> Any:
    """The ``n``-th forward difference along ``axis``: shape ``a.shape`` with that axis
    ``n`` shorter (after ``prepend``/``append``, broadcast as numpy does)."""
    if not _traced(a, prepend, append):
        kw = {k: v for k, v in (("prepend", prepend), ("append", append))
              if v is not _NOVALUE}
        return np.diff(a, n, axis, **kw)
    a = asarray(a)
    nd = np.ndim(a)
    if nd == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    ax = _axis(axis, nd)
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n!r}")
    parts = []
    for extra, where in ((prepend, 0), (append, 1)):
        if extra is _NOVALUE:
            continue
        e = asarray(extra)
        if np.ndim(e) == 0:
            s = list(np.shape(a))
            s[ax] = 1
            e = _sh.broadcast_to(e, tuple(s))
        parts.append((where, e))
    if parts:
        pre = [e for w, e in parts if w == 0]
        post = [e for w, e in parts if w == 1]
        a = _sh.concatenate(pre + [a] + post, ax)
    for _ in range(n):
        a = _slice(a, ax, 1) - _slice(a, ax, None, -1)
    return a


@_dispatches(np.ediff1d)
def ediff1d(ary: Any, to_end: Any = None, to_begin: Any = None) -> Any:
    """Differences of the flattened ``ary``, with ``to_begin``/``to_end`` (flattened)
    around them."""
    if not _traced(ary, to_end, to_begin):
        return np.ediff1d(ary, to_end, to_begin)
    a = _sh.ravel(asarray(ary))
    d = _slice(a, 0, 1) - _slice(a, 0, None, -1)
    parts = [d]
    if to_begin is not None:
        parts.insert(0, _sh.ravel(asarray(to_begin)))
    if to_end is not None:
        parts.append(_sh.ravel(asarray(to_end)))
    parts = [p if _dtype(p) == _dtype(d) else
             (_ew.astype(p, _dtype(d)) if isinstance(p, Tracer) else p.astype(_dtype(d)))
             for p in parts]
    return _sh.concatenate(parts, 0) if len(parts) > 1 else d


def _along_shape(v: Any, ax: int, nd: int) -> Any:
    """A 1-D ``v`` shaped to broadcast along axis ``ax`` of an ``nd``-D array."""
    return _sh.reshape(v, (1,) * ax + (-1,) + (1,) * (nd - ax - 1)) if nd > 1 else v


def _gradient_axis(f: Any, ax: int, nd: int, h: Any, edge_order: int) -> Any:
    n = np.shape(f)[ax]
    if n < edge_order + 1:
        raise ValueError("Shape of array too small to calculate a numerical gradient, "
                         "at least (edge_order + 1) elements are required.")
    f0, f1 = _slice(f, ax, 0, 1), _slice(f, ax, 1, 2)
    fl, fm = _slice(f, ax, n - 1, n), _slice(f, ax, n - 2, n - 1)
    if np.ndim(h) == 0:                    # uniform spacing
        mid = (_slice(f, ax, 2) - _slice(f, ax, None, -2)) / (h * 2.0)
        if edge_order == 1:
            left, right = (f1 - f0) / h, (fl - fm) / h
        else:
            f2, fk = _slice(f, ax, 2, 3), _slice(f, ax, n - 3, n - 2)
            left = (f0 * -1.5 + f1 * 2.0 - f2 * 0.5) / h
            right = (fk * 0.5 - fm * 2.0 + fl * 1.5) / h
        return _sh.concatenate([left, mid, right], ax)
    x = _float(h)                          # coordinates along the axis
    if np.ndim(x) != 1 or np.shape(x)[0] != n:
        raise ValueError("when 1d, distances must match the length of the "
                         "corresponding dimension")
    dx = _slice(x, 0, 1) - _slice(x, 0, None, -1)
    d1, d2 = _slice(dx, 0, None, -1), _slice(dx, 0, 1)
    a = -d2 / (d1 * (d1 + d2))
    b = (d2 - d1) / (d1 * d2)
    c = d1 / (d2 * (d1 + d2))
    shp = (lambda v: _along_shape(v, ax, nd))
    mid = (shp(a) * _slice(f, ax, None, -2) + shp(b) * _slice(f, ax, 1, -1)
           + shp(c) * _slice(f, ax, 2))
    if edge_order == 1:
        left = (f1 - f0) / shp(_slice(dx, 0, 0, 1))
        right = (fl - fm) / shp(_slice(dx, 0, n - 2, n - 1))
    else:
        f2, fk = _slice(f, ax, 2, 3), _slice(f, ax, n - 3, n - 2)
        e1, e2 = shp(_slice(dx, 0, 0, 1)), shp(_slice(dx, 0, 1, 2))
        left = (-(2.0 * e1 + e2) / (e1 * (e1 + e2)) * f0 + (e1 + e2) / (e1 * e2) * f1
                - e1 / (e2 * (e1 + e2)) * f2)
        e1, e2 = shp(_slice(dx, 0, n - 3, n - 2)), shp(_slice(dx, 0, n - 2, n - 1))
        right = (e2 / (e1 * (e1 + e2)) * fk - (e2 + e1) / (e1 * e2) * fm
                 + (2.0 * e2 + e1) / (e2 * (e1 + e2)) * fl)
    return _sh.concatenate([left, mid, right], ax)


@_dispatches(np.gradient)
def gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: Literal[1, 2] = 1) -> Any:
    """numpy's gradient: second-order central differences inside, first or second
    order (``edge_order``) one-sided ones at the ends; ``varargs`` are one spacing
    (scalar) or coordinate array per axis (differentiable too).  One array, or a tuple
    of one array per axis."""
    if not _traced(f, *varargs):
        return np.gradient(f, *varargs, axis=axis, edge_order=edge_order)
    f = _float(f)
    nd = np.ndim(f)
    axes = tuple(range(nd)) if axis is None else \
        tuple(_axis(a, nd) for a in np.atleast_1d(axis))
    if edge_order not in (1, 2):
        raise ValueError("'edge_order' greater than 2 not supported")
    if not varargs:
        spacing = [1.0] * len(axes)
    elif len(varargs) == 1 and np.ndim(_plain(varargs[0])) == 0:
        spacing = [varargs[0]] * len(axes)
    elif len(varargs) == len(axes):
        spacing = list(varargs)
    else:
        raise TypeError("invalid number of arguments")
    out = tuple(_gradient_axis(f, ax, nd, h, edge_order) for ax, h in zip(axes, spacing))
    return out[0] if len(out) == 1 else out


@_dispatches(np.trapezoid)
def trapezoid(y: Any, x: Any = None, dx: Any = 1.0, axis: int = -1) -> Any:
    """The trapezoidal rule along ``axis``; differentiable in ``y``, ``x`` and ``dx``."""
    if not _traced(y, x, dx):
        return np.trapezoid(y, x, dx, axis)
    y = asarray(y)
    nd = np.ndim(y)
    ax = _axis(axis, nd)
    if x is None:
        d = dx
    else:
        x = asarray(x)
        if np.ndim(x) == 1:
            d = _along_shape(_slice(x, 0, 1) - _slice(x, 0, None, -1), ax, nd)
        else:
            d = diff(x, axis=ax)
    return _red.sum(d * (_slice(y, ax, 1) + _slice(y, ax, None, -1)) / 2.0, (ax,), False)


# ---- products of sequences -------------------------------------------------------------
@_dispatches(np.cross)
def cross(a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1,
          axis: Any = None) -> Any:
    """The cross product of 2- or 3-vectors along ``axisa``/``axisb`` (``axis``
    overrides all three); 2-vector pairs give the scalar z component."""
    if not _traced(a, b):
        return np.cross(a, b, axisa, axisb, axisc, axis)
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = asarray(a), asarray(b)
    a = _sh.moveaxis(a, _axis(axisa, np.ndim(a)), -1)
    b = _sh.moveaxis(b, _axis(axisb, np.ndim(b)), -1)
    na, nb = np.shape(a)[-1], np.shape(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product\n(dimension must be "
                         "2 or 3)")
    a0, a1 = a[..., 0], a[..., 1]
    b0, b1 = b[..., 0], b[..., 1]
    if na == 2 and nb == 2:
        return a0 * b1 - a1 * b0
    a2 = a[..., 2] if na == 3 else 0.0
    b2 = b[..., 2] if nb == 3 else 0.0
    c = _sh.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], -1)
    nd = np.ndim(c)
    return _sh.moveaxis(c, -1, _axis(axisc, nd))


def _full_convolution(a: Any, v: Any) -> Any:
    """The full discrete convolution of 1-D ``a`` and ``v`` as one gather and one
    product: the shorter sequence times the matrix of shifted copies of the longer."""
    if np.shape(v)[0] > np.shape(a)[0]:
        a, v = v, a
    n, m = np.shape(a)[0], np.shape(v)[0]
    k = np.arange(n + m - 1)[None, :] - np.arange(m)[:, None]    # (m, n + m - 1)
    idx = np.where((k >= 0) & (k < n), k + 1, 0)
    dt = np.result_type(_dtype(a), _dtype(v))
    padded = _sh.concatenate([np.zeros(1, dt), a if _dtype(a) == dt else
                              _ew.astype(asarray(a), dt)], 0)
    return _la.matmul(v, _sh.getitem(padded, (idx,)))


def _crop(full: Any, n: int, m: int, mode: str) -> Any:
    if mode == "full":
        return full
    long, short = builtins.max(n, m), builtins.min(n, m)
    if mode == "same":
        start = (short - 1) // 2
        return _slice(full, 0, start, start + long)
    if mode == "valid":
        return _slice(full, 0, short - 1, long)
    raise ValueError(f"mode must be one of 'full', 'same', or 'valid' (got {mode!r})")


@_dispatches(np.convolve)
def convolve(a: Any, v: Any, mode: Literal["full", "same", "valid"] = "full") -> Any:
    """The discrete linear convolution of two 1-D sequences (``mode`` as numpy)."""
    if not _traced(a, v):
        return np.convolve(a, v, mode)
    a, v = asarray(a), asarray(v)
    if np.ndim(a) == 0:
        a = _sh.reshape(a, (1,))
    if np.ndim(v) == 0:
        v = _sh.reshape(v, (1,))
    n, m = np.shape(a)[0], np.shape(v)[0]
    if n == 0 or m == 0:
        raise ValueError("v cannot be empty" if m == 0 else "a cannot be empty")
    return _crop(_full_convolution(a, v), n, m, mode)


@_dispatches(np.correlate)
def correlate(a: Any, v: Any, mode: Literal["full", "same", "valid"] = "valid") -> Any:
    """``c[k] = sum_n a[n + k] * conj(v[n])``: the convolution with ``v`` reversed."""
    if not _traced(a, v):
        return np.correlate(a, v, mode)
    from ._complex import conj
    a, v = asarray(a), asarray(v)
    if np.ndim(a) and np.ndim(v) and np.shape(a)[0] < np.shape(v)[0]:
        # numpy swaps the arguments (c(-k) = conj c'(k)); the crop of "same" follows
        r = _sh.flip(correlate(v, a, mode), 0)
        return conj(r) if np.iscomplexobj(np.asarray(_plain(r))) else r
    if np.iscomplexobj(np.asarray(_plain(v))):
        v = conj(v)
    return convolve(a, _sh.flip(v, 0) if np.ndim(v) else v, mode)


# ---- interpolation ------------------------------------------------------------------------
@_dispatches(np.interp)
def interp(x: Any, xp: Any, fp: Any, left: Any = None, right: Any = None,
           period: Any = None) -> Any:
    """Piecewise-linear interpolation of ``(xp, fp)`` at ``x``; see the module
    docstring for the derivative at knots and outside the range."""
    if not _traced(x, xp, fp, left, right, period):
        return np.interp(x, xp, fp, left, right, period)
    x, xp, fp = _float(x), _float(xp), asarray(fp)
    if np.ndim(xp) != 1 or np.ndim(fp) != 1:
        raise ValueError("data points must be 1-D sequences")
    if np.shape(xp)[0] != np.shape(fp)[0]:
        raise ValueError("fp and xp are not of the same length")
    if period is not None:
        if _plain(period) == 0:
            raise ValueError("period must be a non-zero value")
        period = abs(_plain(period))
        left = right = None
        x = _ew.mod(x, period)
        xp = _ew.mod(xp, period)
        order = np.argsort(value_of(xp), kind="stable")
        xp, fp = _sh.getitem(xp, (order,)), _sh.getitem(fp, (order,))
        n = np.shape(xp)[0]
        xp = _sh.concatenate([_slice(xp, 0, n - 1) - period, xp, _slice(xp, 0, 0, 1)
                              + period], 0)
        fp = _sh.concatenate([_slice(fp, 0, n - 1), fp, _slice(fp, 0, 0, 1)], 0)
    n = np.shape(xp)[0]
    xv, xpv = np.asarray(value_of(x)), np.asarray(value_of(xp))
    if n == 1:
        j = np.zeros(np.shape(xv), dtype=np.intp)
        inside = np.zeros(np.shape(xv), bool)
    else:
        j = np.clip(np.searchsorted(xpv, xv, side="right") - 1, 0, n - 2)
        inside = (xv >= xpv[0]) & (xv <= xpv[-1])
    x0, x1 = _sh.getitem(xp, (j,)), _sh.getitem(xp, (np.minimum(j + 1, n - 1),))
    y0, y1 = _sh.getitem(fp, (j,)), _sh.getitem(fp, (np.minimum(j + 1, n - 1),))
    if n > 1:
        at_end = xv == xpv[-1]
        step = _ew.where(at_end, 0.0, (x - x0) / _ew.where(at_end, 1.0, x1 - x0))
        y = _ew.where(at_end, y1, y0 + (y1 - y0) * step)
    else:
        y = y0
    lo = _slice(fp, 0, 0, 1)[0] if left is None else left
    hi = _slice(fp, 0, n - 1, n)[0] if right is None else right
    y = _ew.where(inside, y, _ew.where(xv < xpv[0], lo, hi))
    return y


# ---- small ufuncs ---------------------------------------------------------------------------
def _value_plus(x: Any, value: Any) -> Any:
    """``value`` (numpy's, computed on the plain values) with derivative 1 in ``x``."""
    xv = np.asarray(_plain(x))
    with np.errstate(invalid="ignore"):
        step = np.asarray(value) - xv
    ok = np.isfinite(xv) & np.isfinite(step)
    return _ew.where(ok, x + np.where(ok, step, 0.0), np.asarray(value))


def _sinc_series(z: Any) -> Any:
    z2 = z * z
    # 1 - z^2/3! + z^4/5! - z^6/7! + z^8/9!: exact to rounding for |z| < 0.1
    return 1.0 + z2 * (-1.0 / 6 + z2 * (1.0 / 120 + z2 * (-1.0 / 5040 + z2 / 362880.0)))


@_dispatches(np.sinc)
def sinc(x: Any) -> Any:
    """sin(pi x) / (pi x), 1 at 0; every derivative is right near 0 (Taylor there)."""
    if not isinstance(x, Tracer):
        return np.sinc(x)
    x = _float(x)
    z = x * np.pi
    small = np.abs(np.asarray(_plain(z))) < 0.1
    zs = _ew.where(small, 1.0, z)
    return _ew.where(small, _sinc_series(_ew.where(small, z, 0.0)), _ew.sin(zs) / zs)


@_dispatches(np.i0)
def i0(x: Any) -> Any:
    """The modified Bessel function of order 0, as the integral
    ``(1/pi) int_0^pi exp(x cos t) dt`` by the midpoint rule, which converges
    geometrically for this periodic integrand (nodes grow with sqrt(max |x|); agrees
    with numpy.i0 to about 1e-14).  Every order of derivative is the quadrature's."""
    if not isinstance(x, Tracer):
        return np.i0(x)
    x = _float(x)
    if np.issubdtype(_dtype(x), np.complexfloating):
        raise TypeError("i0 not supported for complex values")
    xv = np.asarray(_plain(x))
    # a constant shift by |x| keeps exp finite; the function does not depend on it
    m = np.where(np.isfinite(xv), np.abs(xv), 0.0)
    big = float(m.max()) if m.size else 0.0
    nodes = 16 + 6 * int(np.ceil(np.sqrt(big)))
    c = np.cos(np.pi * (np.arange(nodes) + 0.5) / nodes)
    e = _ew.exp(_sh.reshape(x, np.shape(x) + (1,)) * c - m[..., None])
    return _red.mean(e, (-1,), False) * np.exp(m)


def heaviside(x1: Any, x2: Any, out: Any = None, **kwargs: Any) -> Any:
    """0 for x1 < 0, ``x2`` at 0, 1 for x1 > 0 (NaN for NaN); differentiable in ``x2``."""
    _no_out("heaviside", out)
    if not _traced(x1, x2):
        return np.heaviside(x1, x2, **kwargs)
    v = np.asarray(_plain(x1))
    dt = np.result_type(_dtype(x1), _dtype(x2), np.float16)
    one = np.where(np.isnan(v), np.nan, np.where(v > 0, 1.0, 0.0)).astype(dt)
    # a comparison primitive, so that global sparsity counts x2 wherever x1 may be 0
    return _ew.where(_ew.equal(x1, 0.0), x2, one)


def copysign(x1: Any, x2: Any, out: Any = None, **kwargs: Any) -> Any:
    """``|x1|`` with the sign (sign bit) of ``x2``."""
    _no_out("copysign", out)
    if not _traced(x1, x2):
        return np.copysign(x1, x2, **kwargs)
    neg = np.signbit(np.asarray(_plain(x2)))
    return _ew.abs(_float(x1)) * np.where(neg, -1.0, 1.0)


def nextafter(x1: Any, x2: Any, out: Any = None, **kwargs: Any) -> Any:
    """The next float after ``x1`` towards ``x2``; derivative 1 in ``x1``, 0 in ``x2``."""
    _no_out("nextafter", out)
    if not _traced(x1, x2):
        return np.nextafter(x1, x2, **kwargs)
    x1 = _float(x1)
    v = np.nextafter(np.asarray(_plain(x1)), np.asarray(_plain(x2)))
    if not isinstance(x1, Tracer):
        return v
    return _value_plus(_sh.broadcast_to(x1, np.shape(v)) if np.shape(x1) != np.shape(v)
                       else x1, v)


def spacing(x: Any, out: Any = None, **kwargs: Any) -> Any:
    """The distance to the next float: locally constant, a plain value."""
    _no_out("spacing", out)
    return np.spacing(value_of(x), **kwargs)


def ldexp(x1: Any, x2: Any, out: Any = None, **kwargs: Any) -> Any:
    """``x1 * 2**x2`` with integer ``x2`` (plain)."""
    _no_out("ldexp", out)
    if not _traced(x1):
        return np.ldexp(x1, _plain(x2), **kwargs)
    scale = np.ldexp(np.ones((), _dtype(_float(x1))), np.asarray(_plain(x2)))
    return _float(x1) * scale


def frexp(x: Any, out: Any = None, **kwargs: Any) -> tuple:
    """``(mantissa, exponent)`` with ``x = mantissa * 2**exponent``; the exponent is
    plain, the mantissa ``x * 2**-exponent``."""
    _no_out("frexp", out)
    if not _traced(x):
        return np.frexp(x, **kwargs)
    x = _float(x)
    m, e = np.frexp(np.asarray(_plain(x)))
    return _ew.where(np.isfinite(m), x * np.ldexp(np.ones((), m.dtype), -e), m), e


def modf(x: Any, out: Any = None, **kwargs: Any) -> tuple:
    """``(fractional part, integral part)``; the integral part is plain (locally
    constant), the fractional part has derivative 1."""
    _no_out("modf", out)
    if not _traced(x):
        return np.modf(x, **kwargs)
    x = _float(x)
    f, i = np.modf(np.asarray(_plain(x)))
    return _value_plus(x, f), i


def divmod(x1: Any, x2: Any, out: Any = None, **kwargs: Any) -> tuple:  # noqa: A001
    """``(floor_divide(x1, x2), mod(x1, x2))``: the quotient is plain."""
    _no_out("divmod", out)
    if not _traced(x1, x2):
        return np.divmod(x1, x2, **kwargs)
    return _ew.floor_divide(x1, x2), _ew.mod(x1, x2)


for _uf, _fn in ((np.heaviside, heaviside), (np.copysign, copysign),
                 (np.nextafter, nextafter), (np.spacing, spacing), (np.ldexp, ldexp),
                 (np.frexp, frexp), (np.modf, modf), (np.divmod, divmod)):
    _UFUNCS[_uf] = _fn


@_dispatches(np.unwrap)
def unwrap(p: Any, discont: Any = None, axis: int = -1, *, period: float = 2 * np.pi) -> Any:
    """numpy's unwrap: ``p`` plus locally constant multiples of ``period`` (derivative
    1)."""
    if not _traced(p):
        return np.unwrap(p, discont, axis, period=period)
    p = _float(p)
    return _value_plus(p, np.unwrap(np.asarray(_plain(p)), discont, axis,
                                    period=period))


@_dispatches(np.nan_to_num)
def nan_to_num(x: Any, copy: bool = True, nan: Any = 0.0, posinf: Any = None,
               neginf: Any = None) -> Any:
    """NaN -> ``nan``, +inf -> ``posinf`` (default: the largest float), -inf ->
    ``neginf`` (default: the most negative); for complex input, to each part."""
    if not _traced(x, nan, posinf, neginf):
        return np.nan_to_num(x, copy, nan, posinf, neginf)
    x = asarray(x)
    dt = _dtype(x)
    if np.issubdtype(dt, np.complexfloating):
        from ._complex import imag, real
        return (nan_to_num(real(x), copy, nan, posinf, neginf)
                + 1j * nan_to_num(imag(x), copy, nan, posinf, neginf))
    if not np.issubdtype(dt, np.inexact):
        return x
    big = np.finfo(dt).max
    # masks from primitives: global sparsity then counts both branches
    inf = _ew.isinf(x)
    out = _ew.where(_ew.isnan(x), nan, x)
    out = _ew.where(_ew.logical_and(inf, _ew.greater(x, 0.0)),
                    big if posinf is None else posinf, out)
    out = _ew.where(_ew.logical_and(inf, _ew.less(x, 0.0)),
                    -big if neginf is None else neginf, out)
    return _ew.astype(out, dt) if _dtype(out) != dt else out


@_dispatches(np.real_if_close)
def real_if_close(a: Any, tol: float = 100) -> Any:
    """The real part if every imaginary part is within ``tol`` machine epsilons of 0
    (decided on the values); else ``a`` unchanged."""
    if not _traced(a):
        return np.real_if_close(a, tol)
    a = asarray(a)
    if not np.issubdtype(_dtype(a), np.complexfloating):
        return a
    eps = np.finfo(_dtype(a)).eps
    t = tol * eps if tol > 1 else tol
    if np.all(np.abs(np.imag(np.asarray(_plain(a)))) < t):
        from ._complex import real
        return real(a)
    return a


# ---- numpy 2's vector ufuncs ----------------------------------------------------------------
def _gufunc_kwargs(name: str, kwargs: dict) -> int:
    axis = kwargs.pop("axis", -1)
    if kwargs.pop("out", None) is not None:
        _no_out(name, True)
    if kwargs:
        raise TypeError(f"{name}: unsupported keyword arguments {sorted(kwargs)} on "
                        f"traced values")
    return axis


def vecdot(x1: Any, x2: Any, /, out: Any = None, **kwargs: Any) -> Any:
    """``sum(conj(x1) * x2, axis)`` with broadcasting (numpy's vecdot)."""
    axis = _gufunc_kwargs("vecdot", {"out": out, **kwargs})
    if not _traced(x1, x2):
        # gufuncs take axis=, which numpy's stubs of vecdot leave out
        return np.vecdot(x1, x2, axis=axis)  # type: ignore[call-overload]
    from ._complex import conj
    a, b = asarray(x1), asarray(x2)
    if np.iscomplexobj(np.asarray(_plain(a))):
        a = conj(a)
    return _red.sum(a * b, (axis,), False)


def matvec(x1: Any, x2: Any, /, out: Any = None, **kwargs: Any) -> Any:
    """Matrix-vector products over the last axes: ``(..., m, n), (..., n) -> (..., m)``."""
    _no_out("matvec", out)
    if kwargs:
        raise TypeError(f"matvec: unsupported keyword arguments {sorted(kwargs)}")
    if not _traced(x1, x2):
        return np.matvec(x1, x2)
    return _la.einsum("...ij,...j->...i", asarray(x1), asarray(x2))


def vecmat(x1: Any, x2: Any, /, out: Any = None, **kwargs: Any) -> Any:
    """Vector-matrix products ``conj(x1) @ x2``: ``(..., n), (..., n, m) -> (..., m)``."""
    _no_out("vecmat", out)
    if kwargs:
        raise TypeError(f"vecmat: unsupported keyword arguments {sorted(kwargs)}")
    if not _traced(x1, x2):
        return np.vecmat(x1, x2)
    from ._complex import conj
    a = asarray(x1)
    if np.iscomplexobj(np.asarray(_plain(a))):
        a = conj(a)
    return _la.einsum("...j,...jk->...k", a, asarray(x2))


_GUFUNC_WRAPPERS: tuple[tuple[Any, Callable[..., Any]], ...] = (
    (getattr(np, "vecdot", None), vecdot), (getattr(np, "matvec", None), matvec),
    (getattr(np, "vecmat", None), vecmat))
for _uf, _fn in _GUFUNC_WRAPPERS:
    if _uf is not None:
        _UFUNCS[_uf] = _fn
