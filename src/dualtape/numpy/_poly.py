"""numpy's polynomial functions (coefficients highest power first), ``vander``, and
constructors that take differentiable numbers (``full``, ``logspace``, ``geomspace``),
plus the conversions ``astype``/``asanyarray``/... and ``apply_along_axis``.

All are composites: Horner's rule (polyval), convolution (polymul, poly), long
division (polydiv), least squares (polyfit), cumulative products (vander, so the
derivative is exact at x = 0).  ``roots`` is the eigenvalues of the companion matrix
(numpy's algorithm), and ``poly`` of a square matrix starts from its eigenvalues: both
differentiate through ``eig`` (distinct roots needed).
"""

from __future__ import annotations

from typing import Any, Callable, Literal

import numpy as np

from ..primitives import complex as _cx
from ..primitives import eig as _eig
from ..primitives import elementwise as _ew
from ..primitives import reductions as _red
from ..primitives import shape as _sh
from ..registry import Tracer, value_of
from ._calculus import _traced, convolve
from ._construct import _dtype, asarray, linspace
from ._dispatch import _dispatches

__all__ = [
    "apply_along_axis", "apply_over_axes", "asanyarray", "asarray_chkfinite",
    "ascontiguousarray", "asfortranarray", "astype", "full", "geomspace",
    "logspace", "poly", "polyadd", "polyder", "polydiv", "polyfit", "polyint", "polymul",
    "polysub", "polyval", "require", "roots", "vander",
]


def _coeffs(p: Any) -> Any:
    p = asarray(p.coeffs if isinstance(p, np.poly1d) else p)
    return _sh.reshape(p, (1,)) if np.ndim(p) == 0 else p


@_dispatches(np.polyval)
def polyval(p: Any, x: Any) -> Any:
    """``p[0] * x**(N-1) + ... + p[N-1]`` by Horner's rule; shape ``x.shape``."""
    if not _traced(p, x):
        return np.polyval(p, x)
    p = _coeffs(p)
    x = asarray(x)
    y = np.zeros(np.shape(x), dtype=np.result_type(_dtype(x), _dtype(p)))
    for i in range(np.shape(p)[0]):
        y = y * x + p[i]
    return y


def _pad_front(c: Any, n: int) -> Any:
    k = np.shape(c)[0]
    if k == n:
        return c
    return _sh.concatenate([np.zeros(n - k, _dtype(c)), c], 0)


@_dispatches(np.polyadd)
def polyadd(a1: Any, a2: Any) -> Any:
    """The sum of two polynomials (aligned at the constant term)."""
    if not _traced(a1, a2):
        return np.polyadd(a1, a2)
    a, b = _coeffs(a1), _coeffs(a2)
    n = max(np.shape(a)[0], np.shape(b)[0])
    return _pad_front(a, n) + _pad_front(b, n)


@_dispatches(np.polysub)
def polysub(a1: Any, a2: Any) -> Any:
    """The difference of two polynomials."""
    if not _traced(a1, a2):
        return np.polysub(a1, a2)
    a, b = _coeffs(a1), _coeffs(a2)
    n = max(np.shape(a)[0], np.shape(b)[0])
    return _pad_front(a, n) - _pad_front(b, n)


@_dispatches(np.polymul)
def polymul(a1: Any, a2: Any) -> Any:
    """The product of two polynomials: the convolution of their coefficients."""
    if not _traced(a1, a2):
        return np.polymul(a1, a2)
    return convolve(_coeffs(a1), _coeffs(a2))


@_dispatches(np.polyder)
def polyder(p: Any, m: int = 1) -> Any:
    """The ``m``-th derivative's coefficients."""
    if not _traced(p):
        return np.polyder(p, m)
    if m < 0:
        raise ValueError("Order of derivative must be positive (see polyint)")
    c = _coeffs(p)
    for _ in range(int(m)):
        n = np.shape(c)[0] - 1
        if n <= 0:
            return _sh.reshape(c[:1] * 0.0, (1,))
        c = c[:-1] * np.arange(n, 0, -1, dtype=float)
    return c


@_dispatches(np.polyint)
def polyint(p: Any, m: int = 1, k: Any = None) -> Any:
    """The ``m``-th antiderivative's coefficients, integration constants ``k``."""
    if not _traced(p, k):
        return np.polyint(p, m, k)
    m = int(m)
    if m < 0:
        raise ValueError("Order of integral must be positive (see polyder)")
    ks = asarray(0.0 if k is None else k)
    ks = _sh.broadcast_to(_sh.reshape(ks, (1,)), (m,)) if np.ndim(ks) == 0 else ks
    if m and np.shape(ks)[0] < m:
        raise ValueError("k must be a scalar or a rank-1 array of length 1 or >m.")
    c = _coeffs(p)
    for i in range(m):
        n = np.shape(c)[0]
        c = _sh.concatenate([c / np.arange(n, 0, -1, dtype=float),
                             _sh.reshape(asarray(ks[i]), (1,))], 0)
    return c


@_dispatches(np.polydiv)
def polydiv(u: Any, v: Any) -> tuple:
    """``(quotient, remainder)`` by long division; leading remainder coefficients that
    are numerically zero are dropped (decided on the values, as numpy)."""
    if not _traced(u, v):
        return np.polydiv(u, v)
    u, v = _coeffs(u) * 1.0, _coeffs(v) * 1.0
    m, n = np.shape(u)[0] - 1, np.shape(v)[0] - 1
    scale = 1.0 / v[0]
    r = [u[i] for i in range(m + 1)]
    q = []
    for k in range(max(m - n + 1, 0)):
        d = scale * r[k]
        q.append(d)
        for j in range(n + 1):
            r[k + j] = r[k + j] - d * v[j]
    from ._shape import stack
    qs = stack(q) if q else np.zeros(1)
    rem = stack(r)
    rv = np.asarray(value_of(rem))    # the remainder's length: structure
    start = 0
    while start < rv.size - 1 and np.allclose(rv[start], 0, rtol=1e-14):
        start += 1
    return qs, rem[start:]


@_dispatches(np.poly)
def poly(seq_of_zeros: Any) -> Any:
    """The monic polynomial with the given roots (1-D input)."""
    if not _traced(seq_of_zeros):
        return np.poly(seq_of_zeros)
    z = asarray(seq_of_zeros)
    if np.ndim(z) == 2 and np.shape(z)[0] == np.shape(z)[1] and np.shape(z)[0] != 0:
        z = _eig.eig(z)[0]                     # the characteristic polynomial
    if np.ndim(z) == 0:
        z = _sh.reshape(z, (1,))
    if np.ndim(z) != 1:
        raise ValueError("input must be 1d or non-empty square 2d array.")
    a = np.ones(1, dtype=_dtype(z))
    for i in range(np.shape(z)[0]):
        a = convolve(a, _sh.stack([asarray(np.ones((), _dtype(z))), -z[i]], 0))
    if _cx.is_complex(z):
        # numpy: roots in conjugate pairs give real coefficients (a decision on values)
        r = np.asarray(value_of(z))
        if np.all(np.sort(r) == np.sort(r.conjugate())):
            a = _cx.real(a)
    return a


@_dispatches(np.roots)
def roots(p: Any) -> Any:
    """The roots of the polynomial with coefficients ``p`` (highest power first): the
    eigenvalues of its companion matrix, numpy's algorithm; leading and trailing zero
    coefficients (a decision on values) are stripped as numpy does.  Derivatives need
    distinct roots."""
    if not _traced(p):
        return np.roots(p)
    p = asarray(p)
    if np.ndim(p) == 0:
        p = _sh.reshape(p, (1,))
    if np.ndim(p) != 1:
        raise ValueError("Input must be a rank-1 array.")
    nz = np.nonzero(np.asarray(value_of(p)))[0]
    if nz.size == 0:
        return np.array([])
    trailing = p.shape[0] - int(nz[-1]) - 1
    p = p[int(nz[0]):int(nz[-1]) + 1]
    n = p.shape[0]
    if n > 1:
        below = np.eye(n - 2, n - 1, dtype=_dtype(p)) if n > 2 else None
        first = _sh.reshape(-p[1:] / p[0], (1, n - 1))
        companion = first if below is None else _sh.concatenate([first, below], 0)
        r = _eig.eig(companion)[0]
    else:
        r = np.array([], dtype=_dtype(p))
    if trailing:
        r = _sh.concatenate([r, np.zeros(trailing, dtype=_dtype(r))], 0)
    return r


@_dispatches(np.vander)
def vander(x: Any, N: Any = None, increasing: bool = False) -> Any:
    """The Vandermonde matrix, columns ``x**(N-1), ..., x, 1`` (reversed with
    ``increasing``); built by cumulative products, so exact at x = 0."""
    if not _traced(x):
        return np.vander(x, N, increasing)
    x = asarray(x)
    if np.ndim(x) != 1:
        raise ValueError("x must be a one-dimensional array or sequence.")
    n = np.shape(x)[0]
    N = n if N is None else int(N)
    if N == 0:
        return np.zeros((n, 0), _dtype(x))
    cols = _sh.concatenate([np.ones((n, 1), _dtype(x)),
                            _sh.broadcast_to(_sh.reshape(x, (n, 1)), (n, N - 1))], 1)
    v = _red.cumprod(cols, 1)
    return v if increasing else _sh.flip(v, 1)


@_dispatches(np.polyfit)
def polyfit(x: Any, y: Any, deg: int, rcond: Any = None, full: bool = False,
            w: Any = None, cov: Any = False) -> Any:
    """Least-squares polynomial fit (numpy's column scaling, weights ``w``); ``full``
    and ``cov`` as numpy.  Differentiable in ``x``, ``y`` and ``w``."""
    if not _traced(x, y, w):
        np_polyfit: Callable[..., Any] = np.polyfit   # its result's type follows full, cov
        return np_polyfit(x, y, deg, rcond, full, w, cov)
    from . import linalg
    from ._shape import reshape
    order = int(deg) + 1
    x, y = asarray(x) * 1.0, asarray(y) * 1.0
    if deg < 0:
        raise ValueError("expected deg >= 0")
    if np.ndim(x) != 1 or np.shape(x)[0] == 0:
        raise TypeError("expected non-empty vector for x")
    if np.ndim(y) not in (1, 2) or np.shape(y)[0] != np.shape(x)[0]:
        raise TypeError("expected 1D or 2D array for y, of x's length")
    if rcond is None:
        rcond = np.shape(x)[0] * np.finfo(float).eps
    lhs = vander(x, order)
    rhs = y
    if w is not None:
        w = asarray(w) * 1.0
        lhs = lhs * reshape(w, (-1, 1))
        rhs = rhs * (w if np.ndim(rhs) == 1 else reshape(w, (-1, 1)))
    scale = _ew.sqrt(_red.sum(lhs * lhs, (0,), False))
    lhs = lhs / scale
    c, resids, rank, s = linalg.lstsq(lhs, rhs, rcond)
    c = (c / scale) if np.ndim(c) == 1 else c / reshape(scale, (-1, 1))
    if full:
        return c, resids, rank, s, rcond
    if cov:
        Vbase = linalg.inv(_sh.transpose(lhs) @ lhs)
        Vbase = Vbase / (reshape(scale, (-1, 1)) * reshape(scale, (1, -1)))
        if cov == "unscaled":
            fac = 1.0
        else:
            if np.shape(x)[0] <= order:
                raise ValueError("the number of data points must exceed order to scale "
                                 "the covariance matrix")
            fac = resids / (np.shape(x)[0] - order)
        if np.ndim(y) == 1:
            return c, Vbase * fac
        return c, reshape(Vbase, Vbase.shape + (1,)) * fac
    return c


# ---- constructors from differentiable numbers --------------------------------------------
def full(shape: Any, fill_value: Any, dtype: Any = None, order: Literal["C", "F"] = "C", *,
         device: Any = None, like: Any = None) -> Any:
    """An array of ``shape`` filled with ``fill_value``; a traced fill value is
    broadcast (differentiable in it)."""
    if not _traced(fill_value):
        kw = {} if like is None else {"like": like}
        return np.full(shape, fill_value, dtype, order, **kw)
    s = (int(shape),) if np.ndim(shape) == 0 else tuple(int(d) for d in shape)
    v = asarray(fill_value)
    if dtype is not None and _dtype(v) != np.dtype(dtype):
        v = _ew.astype(v, dtype)
    return _sh.broadcast_to(v, s)


@_dispatches(np.logspace)
def logspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True,
             base: Any = 10.0, dtype: Any = None, axis: int = 0) -> Any:
    """``base ** linspace(start, stop, num)``; differentiable in start, stop and base."""
    if not _traced(start, stop, base):
        return np.logspace(start, stop, num, endpoint, base, dtype, axis)
    if np.ndim(base) != 0:
        raise NotImplementedError("logspace: an array base is not supported on traced "
                                  "values")
    y = linspace(start, stop, num, endpoint, axis=axis)
    r = _ew.power(asarray(base) * 1.0, y)
    return r if dtype is None else _ew.astype(r, dtype)


@_dispatches(np.geomspace)
def geomspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True,
              dtype: Any = None, axis: int = 0) -> Any:
    """Numbers spaced evenly on a log scale from ``start`` to ``stop`` (same sign,
    real), the end points exact; differentiable in both."""
    if not _traced(start, stop):
        return np.geomspace(start, stop, num, endpoint, dtype, axis)
    sv = np.asarray(value_of(start, structural=False))
    ev = np.asarray(value_of(stop, structural=False))
    if np.iscomplexobj(sv) or np.iscomplexobj(ev):
        raise NotImplementedError("geomspace: complex end points are not supported on "
                                  "traced values")
    if np.any(sv == 0) or np.any(ev == 0):
        raise ValueError("Geometric sequence cannot include zero")
    if np.any(np.sign(sv) != np.sign(ev)):
        raise NotImplementedError("geomspace: end points of different signs (a complex "
                                  "sequence) are not supported on traced values")
    sign = np.sign(sv)
    s, e = asarray(start) * sign, asarray(stop) * sign
    y = _ew.exp(linspace(_ew.log(s), _ew.log(e), num, endpoint, axis=0))
    num = int(num)
    if num > 0:
        first = np.zeros((num,) + (1,) * (np.ndim(y) - 1), dtype=bool)
        first[0] = True
        y = _ew.where(first, s, y)
    y = y * sign
    if axis != 0:
        y = _sh.moveaxis(y, 0, int(axis))
    return y if dtype is None else _ew.astype(y, dtype)


# ---- conversions --------------------------------------------------------------------------
def _conversion(name: str, check: Callable[[np.ndarray], None] | None = None) -> Callable:
    np_fn = getattr(np, name)

    def fn(a: Any, dtype: Any = None, *args: Any, **kwargs: Any) -> Any:
        if not _traced(a):
            return np_fn(a, dtype, *args, **kwargs)
        if check is not None:
            check(np.asarray(value_of(asarray(a), structural=False)))
        return asarray(a, dtype)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"numpy.{name}: a traced value is returned as a traced array (it is "
                  f"immutable, so memory layout does not apply).")
    return fn


def _finite(v: np.ndarray) -> None:
    if np.issubdtype(v.dtype, np.inexact) and not np.isfinite(v).all():
        raise ValueError("array must not contain infs or NaNs")


asanyarray = _conversion("asanyarray")
ascontiguousarray = _conversion("ascontiguousarray")
asfortranarray = _conversion("asfortranarray")
asarray_chkfinite = _conversion("asarray_chkfinite", _finite)
require = _conversion("require")


@_dispatches(np.astype)
def astype(x: Any, dtype: Any, /, *, copy: bool = True, device: Any = None) -> Any:
    """``x`` cast to ``dtype`` (differentiable between floating types)."""
    if not isinstance(x, Tracer):
        return np.astype(x, dtype, copy=copy)
    return _ew.astype(x, dtype)


# ---- applying functions -------------------------------------------------------------------
@_dispatches(np.apply_along_axis)
def apply_along_axis(func1d: Callable, axis: int, arr: Any, *args: Any,
                     **kwargs: Any) -> Any:
    """``func1d`` applied to each 1-D slice along ``axis``; the result's axes replace
    ``axis`` (numpy's layout).  Differentiable when ``func1d`` is."""
    if not _traced(arr):
        return np.apply_along_axis(func1d, axis, arr, *args, **kwargs)
    from ._indexing import _axis
    from ._shape import stack
    a = asarray(arr)
    nd = np.ndim(a)
    ax = _axis(axis, nd)
    moved = _sh.moveaxis(a, ax, -1)
    batch = np.shape(moved)[:-1]
    if int(np.prod(batch)) == 0:
        raise ValueError("Cannot apply_along_axis when any iteration dimensions are 0")
    res = [asarray(func1d(moved[idx], *args, **kwargs)) for idx in np.ndindex(*batch)]
    out = _sh.reshape(stack(res, 0), batch + np.shape(res[0]))
    k = len(np.shape(res[0]))
    order = list(range(ax)) + list(range(len(batch), len(batch) + k)) + \
        list(range(ax, len(batch)))
    return _sh.transpose(out, order)


@_dispatches(np.apply_over_axes)
def apply_over_axes(func: Callable, a: Any, axes: Any) -> Any:
    """``func(a, axis)`` applied repeatedly over ``axes``, keeping the dimensions."""
    if not _traced(a):
        return np.apply_over_axes(func, a, axes)
    val = asarray(a)
    nd = np.ndim(val)
    for axis in np.atleast_1d(axes):
        axis = int(axis) % nd
        res = asarray(func(val, axis))
        if np.ndim(res) == np.ndim(val):
            val = res
        elif np.ndim(res) == np.ndim(val) - 1:
            val = _sh.expand_dims(res, axis)
        else:
            raise ValueError("function is not returning an array of the correct shape")
    return val
