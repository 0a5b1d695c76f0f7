"""NaN-ignoring reductions, order statistics (median, percentile, quantile and their
nan-forms), cov, corrcoef and bincount, as composites of primitives.

* nan-reductions: NaN positions get derivative 0 (they are replaced by the identity
  with ``where``, which never lets the branch not taken into a derivative).  An
  all-NaN slice gives NaN (nanmax, nanmin, nanmean, nanvar, nanstd, nanmedian, ...) or
  the identity (nansum 0, nanprod 1), as numpy.
* order statistics are selection-based: the input is sorted (the ``sort`` primitive)
  and the derivative flows to the selected elements.  ``median`` of an even count is
  the mean of the two middle elements (1/2 each); ``quantile``/``percentile`` with the
  continuous methods interpolate between two neighbours, weights ``1 - t`` and ``t``
  (and ``q`` itself is differentiable: the slope between them).  Ties: the sorted order
  is numpy's stable one, so the derivative goes to the tied element numpy selects (one
  of the one-sided derivatives).  A NaN in a slice makes the result NaN for
  median/quantile; the nan-forms skip NaNs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..primitives import complex as _cx
from ..primitives import elementwise as _ew
from ..primitives import reductions as _red
from ..primitives import shape as _sh
from ..primitives import sorting as _so
from ..registry import Tracer, value_of
from ._construct import _dtype, asarray
from ._dispatch import _dispatches, _no_out
from ._indexing import take_along_axis
from ._reductions import _mask, _prep, max, min, prod, sum  # noqa: A004

__all__ = [
    "bincount", "corrcoef", "cov", "median", "nancumprod", "nancumsum", "nanmax",
    "nanmean", "nanmedian", "nanmin", "nanpercentile", "nanprod", "nanquantile",
    "nanstd", "nanvar", "nansum", "percentile", "quantile",
]


def _plain(x: Any) -> Any:
    """A value that cannot change which outputs depend on which inputs (a count used
    as a divisor, an error check)."""
    return value_of(x, structural=False)


def _skip(a: Any, where: Any = True) -> Any:
    """Where ``a`` is NaN (or ``where`` is False).  A comparison primitive, so global
    sparsity detection counts both branches of the ``where`` that uses it."""
    nan = _ew.isnan(a)
    mask = _mask(where, a)
    if mask is None:            # where=True
        return nan
    return _ew.logical_or(nan, ~mask)


def _fill_nan(a: Any, value: float) -> Any:
    a = asarray(a)
    if not np.issubdtype(_dtype(a), np.inexact):
        return a
    return _ew.where(_ew.isnan(a), value, a)


@_dispatches(np.nansum)
def nansum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
           keepdims: bool = False, initial: Any = None, where: Any = True) -> Any:
    """Sum treating NaN as 0 (NaN positions: derivative 0)."""
    return sum(_fill_nan(a, 0.0), axis, dtype, out, keepdims, initial, where)


@_dispatches(np.nanprod)
def nanprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
            keepdims: bool = False, initial: Any = None, where: Any = True) -> Any:
    """Product treating NaN as 1 (NaN positions: derivative 0)."""
    return prod(_fill_nan(a, 1.0), axis, dtype, out, keepdims, initial, where)


def _nan_slices(a: Any, axis: Any, keepdims: bool) -> np.ndarray:
    """The all-NaN slices (constant NaN results).  Read without structure first; if
    there are any, the result's pattern holds at this point only, so read again as
    structure (global sparsity detection refuses)."""
    ax = _red.normalize_axis(axis, np.ndim(a))
    empty = np.all(np.isnan(np.asarray(_plain(a))), axis=ax, keepdims=keepdims)
    if np.any(empty):
        value_of(a)
    return empty


def _nan_extreme(name: str, red: Any, fill: float, a: Any, axis: Any, out: Any,
                 keepdims: bool, initial: Any, where: Any) -> Any:
    _no_out(name, out)
    a = asarray(a)
    r = red(_fill_nan(a, fill), axis, None, keepdims, initial, where)
    if not np.issubdtype(_dtype(a), np.inexact) or initial is not None:
        return r
    empty = _nan_slices(a, axis, keepdims)
    return _ew.where(empty, np.nan, r) if np.any(empty) else r


@_dispatches(np.nanmax)
def nanmax(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,
           initial: Any = None, where: Any = True) -> Any:
    """Maximum ignoring NaN (ties split equally; an all-NaN slice gives NaN)."""
    return _nan_extreme("nanmax", max, -np.inf, a, axis, out, keepdims, initial, where)


@_dispatches(np.nanmin)
def nanmin(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,
           initial: Any = None, where: Any = True) -> Any:
    """Minimum ignoring NaN (ties split equally; an all-NaN slice gives NaN)."""
    return _nan_extreme("nanmin", min, np.inf, a, axis, out, keepdims, initial, where)


def _nan_moments(name: str, a: Any, axis: Any, dtype: Any, keepdims: bool, where: Any,
                 mean: Any = None) -> tuple[Any, Any, Any, Any, tuple]:
    """(the NaN-skipping mean kept as an axis, the skip mask, the counts, the axes)."""
    a = _prep(a, dtype)
    ax = _red.normalize_axis(axis, np.ndim(a))
    skip = _skip(a, where)
    n = np.sum(~np.asarray(_plain(skip), dtype=bool), axis=ax, keepdims=keepdims)
    if mean is None:
        n_kept = np.sum(~np.asarray(_plain(skip), dtype=bool), axis=ax, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = _red.sum(_ew.where(skip, 0.0, a), ax, True) / np.maximum(n_kept, 1)
    return a, mean, skip, n, ax


@_dispatches(np.nanmean)
def nanmean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
            keepdims: bool = False, *, where: Any = True) -> Any:
    """Mean of the non-NaN elements (an all-NaN slice gives NaN)."""
    _no_out("nanmean", out)
    a = _prep(a, dtype)
    ax = _red.normalize_axis(axis, np.ndim(a))
    skip = _skip(a, where)
    n = np.sum(~np.asarray(_plain(skip), dtype=bool), axis=ax, keepdims=keepdims)
    s = _red.sum(_ew.where(skip, 0.0, a), ax, keepdims)
    if np.any(n == 0):
        value_of(skip)          # a constant NaN: this pattern holds here only
        return _ew.where(n > 0, s / np.maximum(n, 1), np.nan)
    return s / n


def _nanvar(name: str, a: Any, axis: Any, dtype: Any, out: Any, ddof: Any,
            keepdims: bool, where: Any, mean: Any, correction: Any) -> Any:
    _no_out(name, out)
    if correction is not None:
        if ddof != 0:
            raise ValueError(f"{name}: ddof and correction can't be provided simultaneously")
        ddof = correction
    a, mean, skip, n, ax = _nan_moments(name, a, axis, dtype, keepdims, where, mean)
    d = _ew.where(skip, 0.0, a - mean)
    dof = n - ddof
    if _cx.is_complex(d):                 # numpy: |a - mean|^2, a real variance
        d2 = _cx.real(d) * _cx.real(d) + _cx.imag(d) * _cx.imag(d)
    else:
        d2 = d * d
    ss = _red.sum(d2, ax, keepdims)
    if np.any(dof <= 0):
        value_of(skip)          # a constant NaN: this pattern holds here only
        return _ew.where(dof > 0, ss / np.maximum(dof, 1), np.nan)
    return ss / dof


@_dispatches(np.nanvar)
def nanvar(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
           keepdims: bool = False, *, where: Any = True, mean: Any = None,
           correction: Any = None) -> Any:
    """Variance of the non-NaN elements, ``sum((a - mean)**2) / (N - ddof)`` (NaN where
    ``N - ddof <= 0``)."""
    return _nanvar("nanvar", a, axis, dtype, out, ddof, keepdims, where, mean, correction)


@_dispatches(np.nanstd)
def nanstd(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
           keepdims: bool = False, *, where: Any = True, mean: Any = None,
           correction: Any = None) -> Any:
    """Standard deviation of the non-NaN elements; derivative 0 where it is 0."""
    v = _nanvar("nanstd", a, axis, dtype, out, ddof, keepdims, where, mean, correction)
    pos = v > 0
    return _ew.where(_ew.isnan(v), np.nan, _ew.where(pos, _ew.sqrt(_ew.where(pos, v, 1.0)),
                                                    0.0))


@_dispatches(np.nancumsum)
def nancumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """Cumulative sum treating NaN as 0."""
    from ._reductions import cumsum
    return cumsum(_fill_nan(a, 0.0), axis, dtype, out)


@_dispatches(np.nancumprod)
def nancumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """Cumulative product treating NaN as 1."""
    from ._reductions import cumprod
    return cumprod(_fill_nan(a, 1.0), axis, dtype, out)


# ---- order statistics ---------------------------------------------------------------------
# (alpha, beta) of numpy's continuous quantile methods (Hyndman & Fan's notation)
_CONTINUOUS = {"linear": (1.0, 1.0), "hazen": (0.5, 0.5), "weibull": (0.0, 0.0),
               "median_unbiased": (1 / 3, 1 / 3), "normal_unbiased": (3 / 8, 3 / 8),
               "interpolated_inverted_cdf": (0.0, 1.0)}
_DISCRETE = ("lower", "higher", "nearest", "midpoint")


def _to_last(a: Any, axis: Any) -> tuple[Any, tuple, tuple]:
    """``a`` with the reduced axes merged into one last axis; the kept shape and the
    keepdims shape."""
    nd = np.ndim(a)
    ax = _red.normalize_axis(axis, nd)
    ax = tuple(sorted(i % nd for i in ax)) if nd else ()
    rest = [i for i in range(nd) if i not in ax]
    kept = tuple(np.shape(a)[i] for i in rest)
    keep = tuple(1 if i in ax else np.shape(a)[i] for i in range(nd))
    moved = _sh.transpose(a, rest + list(ax)) if nd else a
    return _sh.reshape(moved, kept + (-1,)), kept, keep


def _order_stat(name: str, a: Any, q: Any, axis: Any, method: str, keepdims: bool,
                skip_nan: bool, median: bool = False) -> Any:
    a = asarray(a)
    if np.issubdtype(_dtype(a), np.complexfloating):
        raise TypeError(f"{name}: complex input is not supported (numpy orders only "
                        f"real values)")
    if not np.issubdtype(_dtype(a), np.inexact):
        a = _ew.astype(a, np.float64)
    flat, kept, keep = _to_last(a, axis)
    n = np.shape(flat)[-1]
    s = _so.sort(flat, -1)                        # NaN sorts last
    # the NaN count selects elements in the nan-forms (structure); otherwise it only
    # turns a slice into a constant NaN (read as structure only then)
    nan = np.isnan(np.asarray(value_of(flat) if skip_nan else _plain(flat)))
    if not skip_nan and nan.any():
        value_of(flat)
    cnt = (n - nan.sum(-1)) if skip_nan else np.full(kept, n)
    cnt = np.asarray(cnt)[..., None]              # kept + (1,)
    qv = np.asarray(value_of(q), dtype=np.float64)
    if np.any((qv < 0) | (qv > 1)) or np.any(np.isnan(qv)):
        raise ValueError("Quantiles must be in the range [0, 1]")
    qs = np.shape(qv)
    qflat = _sh.reshape(asarray(q), (-1,)) if isinstance(q, Tracer) else qv.reshape(-1)
    qf = qv.reshape(-1)
    last = np.maximum(cnt - 1, 0)
    if median or method == "midpoint" or method in _DISCRETE:
        h = (cnt - 1) * qf                          # plain: no derivative in q
        lo, hi = np.floor(h), np.ceil(h)
        if method == "lower":
            hi = lo
        elif method == "higher":
            lo = hi
        elif method == "nearest":
            lo = hi = np.around(h)
        lo = np.clip(lo, 0, last).astype(np.intp)
        hi = np.clip(hi, 0, last).astype(np.intp)
        s_lo = take_along_axis(s, np.broadcast_to(lo, kept + (qf.size,)), -1)
        s_hi = take_along_axis(s, np.broadcast_to(hi, kept + (qf.size,)), -1)
        out = s_lo if method in ("lower", "higher", "nearest") and not median \
            else (s_lo + s_hi) * 0.5
    elif method in _CONTINUOUS:
        al, be = _CONTINUOUS[method]
        hv = cnt * qf + (al + qf * (1 - al - be)) - 1
        lo = np.clip(np.floor(hv), 0, last).astype(np.intp)
        hi = np.clip(lo + 1, 0, last).astype(np.intp)
        h = cnt * qflat + (al + qflat * (1 - al - be)) - 1     # traced if q is
        t = _ew.where((hv >= 0) & (hv <= last), h - lo, np.where(hv > last, 1.0, 0.0))
        t = _ew.where(hi == lo, 0.0, t)
        s_lo = take_along_axis(s, np.broadcast_to(lo, kept + (qf.size,)), -1)
        s_hi = take_along_axis(s, np.broadcast_to(hi, kept + (qf.size,)), -1)
        out = s_lo + (s_hi - s_lo) * t
    else:
        raise NotImplementedError(
            f"{name}: method={method!r} is not supported on traced values; use one of "
            f"{', '.join(repr(m) for m in list(_CONTINUOUS) + list(_DISCRETE))}")
    bad = (cnt == 0) if skip_nan else nan.any(-1, keepdims=True)
    if np.any(bad):
        out = _ew.where(np.broadcast_to(bad, np.shape(out)), np.nan, out)
    # numpy's layout: q's axes first, then the kept (or keepdims) axes
    shape = keep if keepdims else kept
    out = _sh.reshape(out, kept + qs) if qs else _sh.reshape(out, kept)
    nq = len(qs)
    if nq:
        out = _sh.transpose(out, list(range(len(kept), len(kept) + nq))
                            + list(range(len(kept))))
    out = _sh.reshape(out, qs + shape)
    if not isinstance(out, Tracer):
        return out
    return _sh.getitem(out, ()) if out.ndim == 0 else out


def _check_q_args(name: str, out: Any, weights: Any, interpolation: Any,
                  method: str) -> str:
    _no_out(name, out)
    if weights is not None:
        raise NotImplementedError(f"{name}: weights are not supported on traced values")
    return interpolation if interpolation is not None else method


@_dispatches(np.quantile)
def quantile(a: Any, q: Any, axis: Any = None, out: Any = None,
             overwrite_input: bool = False, method: str = "linear",
             keepdims: bool = False, *, weights: Any = None,
             interpolation: Any = None) -> Any:
    """The ``q``-th quantiles (``q`` in [0, 1]) along ``axis``: shape ``q.shape`` +
    the kept axes.  Selection-based derivative (see the module docstring)."""
    method = _check_q_args("quantile", out, weights, interpolation, method)
    return _order_stat("quantile", a, q, axis, method, keepdims, False)


@_dispatches(np.percentile)
def percentile(a: Any, q: Any, axis: Any = None, out: Any = None,
               overwrite_input: bool = False, method: str = "linear",
               keepdims: bool = False, *, weights: Any = None,
               interpolation: Any = None) -> Any:
    """The ``q``-th percentiles (``q`` in [0, 100]); ``quantile(a, q / 100)``."""
    method = _check_q_args("percentile", out, weights, interpolation, method)
    return _order_stat("percentile", a, asarray(q) / 100.0, axis, method, keepdims, False)


@_dispatches(np.nanquantile)
def nanquantile(a: Any, q: Any, axis: Any = None, out: Any = None,
                overwrite_input: bool = False, method: str = "linear",
                keepdims: bool = False, *, weights: Any = None,
                interpolation: Any = None) -> Any:
    """``quantile`` of the non-NaN elements of each slice."""
    method = _check_q_args("nanquantile", out, weights, interpolation, method)
    return _order_stat("nanquantile", a, q, axis, method, keepdims, True)


@_dispatches(np.nanpercentile)
def nanpercentile(a: Any, q: Any, axis: Any = None, out: Any = None,
                  overwrite_input: bool = False, method: str = "linear",
                  keepdims: bool = False, *, weights: Any = None,
                  interpolation: Any = None) -> Any:
    """``percentile`` of the non-NaN elements of each slice."""
    method = _check_q_args("nanpercentile", out, weights, interpolation, method)
    return _order_stat("nanpercentile", a, asarray(q) / 100.0, axis, method, keepdims,
                       True)


@_dispatches(np.median)
def median(a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
           keepdims: bool = False) -> Any:
    """The median along ``axis``; of an even count, the mean of the two middle elements
    (each gets half the derivative)."""
    _no_out("median", out)
    return _order_stat("median", a, 0.5, axis, "linear", keepdims, False, median=True)


@_dispatches(np.nanmedian)
def nanmedian(a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
              keepdims: bool = False) -> Any:
    """The median of the non-NaN elements of each slice."""
    _no_out("nanmedian", out)
    return _order_stat("nanmedian", a, 0.5, axis, "linear", keepdims, True, median=True)


# ---- covariance ---------------------------------------------------------------------------
@_dispatches(np.cov)
def cov(m: Any, y: Any = None, rowvar: bool = True, bias: bool = False, ddof: Any = None,
        fweights: Any = None, aweights: Any = None, *, dtype: Any = None) -> Any:
    """numpy's covariance matrix (variables in rows unless ``rowvar=False``), with
    frequency and analytic weights; differentiable in ``m``, ``y`` and ``aweights``."""
    from ._shape import concatenate, squeeze
    from ._elementwise import dot
    from ._complex import conj
    if ddof is not None and ddof != int(ddof):
        raise ValueError("ddof must be integer")
    X = asarray(m)
    if np.ndim(X) > 2:
        raise ValueError("m has more than 2 dimensions")
    X = _sh.reshape(X, (1, -1)) if np.ndim(X) < 2 else X
    if not rowvar and np.shape(X)[0] != 1:
        X = _sh.transpose(X)
    if np.shape(X)[0] == 0:
        return np.array([]).reshape(0, 0)
    if y is not None:
        Y = asarray(y)
        if np.ndim(Y) > 2:
            raise ValueError("y has more than 2 dimensions")
        Y = _sh.reshape(Y, (1, -1)) if np.ndim(Y) < 2 else Y
        if not rowvar and np.shape(Y)[0] != 1:
            Y = _sh.transpose(Y)
        X = concatenate([X, Y], 0)
    dt = dtype or np.result_type(_dtype(X), np.float64)
    if _dtype(X) != dt:
        X = _ew.astype(X, dt)
    if ddof is None:
        ddof = 0 if bias else 1
    w = None
    if fweights is not None:
        fw = np.asarray(_plain(fweights), dtype=float)
        if not np.all(fw == np.around(fw)):
            raise TypeError("fweights must be integer")
        if np.any(fw < 0):
            raise ValueError("fweights cannot be negative")
        w = fw
    if aweights is not None:
        aw = asarray(aweights)
        if np.any(np.asarray(_plain(aw)) < 0):
            raise ValueError("aweights cannot be negative")
        w = aw if w is None else w * aw
    n = np.shape(X)[1]
    if w is None:
        avg = _red.mean(X, (1,), True)
        fact = n - ddof
    else:
        w_sum = _red.sum(w, (0,), False)
        avg = _red.sum(X * w, (1,), True) / w_sum
        if ddof == 0:
            fact = w_sum
        elif aweights is None:
            fact = w_sum - ddof
        else:
            fact = w_sum - ddof * _red.sum(w * aw, (0,), False) / w_sum
    X = X - avg
    XT = _sh.transpose(X if w is None else X * w)
    if np.issubdtype(dt, np.complexfloating):
        XT = conj(XT)
    c = dot(X, XT) / fact
    return squeeze(c)


@_dispatches(np.corrcoef)
def corrcoef(x: Any, y: Any = None, rowvar: bool = True, *, dtype: Any = None) -> Any:
    """Pearson correlation coefficients, ``cov / sqrt(outer(diag, diag))``; values are
    clipped to [-1, 1] as numpy does (where clipped, the derivative is 0)."""
    c = cov(x, y, rowvar, dtype=dtype)
    if np.ndim(c) == 0:
        return c / c
    from ._indexing import diag
    d = diag(c)
    sd = _ew.sqrt(d)
    r = c / _sh.reshape(sd, (-1, 1)) / _sh.reshape(sd, (1, -1))
    if np.issubdtype(_dtype(r), np.complexfloating):
        return r
    # comparison primitives, so that global sparsity counts both branches
    return _ew.where(_ew.greater(r, 1.0), 1.0, _ew.where(_ew.less(r, -1.0), -1.0, r))


@_dispatches(np.bincount)
def bincount(x: Any, weights: Any = None, minlength: int = 0) -> Any:
    """Counts (plain) of each value of the non-negative integers ``x``; with
    ``weights``, their sums per value (differentiable in the weights)."""
    xv = np.asarray(value_of(x))
    if weights is None or not isinstance(weights, Tracer):
        return np.bincount(xv, None if weights is None else _plain(weights), minlength)
    counts = np.bincount(xv, minlength=minlength)
    w = asarray(weights)
    if _dtype(w) != np.float64:
        w = _ew.astype(w, np.float64)
    return _sh.index_add(w, (xv,), True, (counts.size,))
