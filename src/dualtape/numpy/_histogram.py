"""``histogram`` and ``histogram_bin_edges`` on traced values.

The counts are piecewise constant in the data: a plain integer array.  The bin edges
are not: with a number of bins (or a rule such as ``"auto"``) and no ``range`` they
span ``[min(a), max(a)]`` and move with the data (the derivative follows the minimum
and the maximum, ties split equally).  Traced ``weights`` give differentiable sums per
bin, and ``density=True`` divides by the total and the bin widths, so it is
differentiable in the data through the widths.  Which bin an element falls in is
decided on the values (numpy's rule: half-open bins, the last one closed).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..primitives import elementwise as _ew
from ..primitives import reductions as _red
from ..primitives import shape as _sh
from ..registry import Tracer, value_of
from ._calculus import _traced
from ._construct import _dtype, asarray, linspace
from ._dispatch import _dispatches

__all__ = ["histogram", "histogram_bin_edges"]


def _edges(a: Any, bins: Any, range: Any, weights: Any) -> Any:  # noqa: A002
    """numpy's bin edges for ``a`` (flattened), traced where they move with it."""
    if np.ndim(bins) == 1 or isinstance(bins, Tracer):
        e = asarray(bins)
        if np.any(np.diff(np.asarray(value_of(e, structural=False))) < 0):
            raise ValueError("`bins` must increase monotonically, when an array")
        return e
    av = np.asarray(value_of(a, structural=False))
    if isinstance(bins, str):
        # the rule's number of bins depends on the values: structure
        n = np.histogram_bin_edges(np.asarray(value_of(a)), bins, range,
                                   None if weights is None else value_of(weights)).size - 1
    else:
        n = int(bins)
        if n < 1:
            raise ValueError("`bins` must be positive, when an integer")
    if range is not None:
        lo, hi = (float(value_of(r, structural=False)) for r in range)
        if lo > hi:
            raise ValueError("max must be larger than min in range parameter.")
        first, last = asarray(range[0]) * 1.0, asarray(range[1]) * 1.0
        if lo == hi:
            first, last = first - 0.5, last + 0.5
    elif av.size == 0:
        first, last = np.float64(0.0), np.float64(1.0)
    else:
        if not np.all(np.isfinite([av.min(), av.max()])):
            raise ValueError(f"autodetected range of [{av.min()}, {av.max()}] is not finite")
        first, last = _red.min(a, None, False), _red.max(a, None, False)
        if av.min() == av.max():
            first, last = first - 0.5, last + 0.5
    dt = np.result_type(_dtype(a), np.float64) if np.issubdtype(_dtype(a), np.inexact) \
        else np.float64
    e = linspace(first, last, n + 1)
    return _ew.astype(e, dt) if isinstance(e, Tracer) and _dtype(e) != dt else e


@_dispatches(np.histogram_bin_edges)
def histogram_bin_edges(a: Any, bins: Any = 10, range: Any = None,  # noqa: A002
                        weights: Any = None) -> Any:
    """numpy's bin edges; differentiable in ``a`` when they span its range."""
    if not _traced(a, bins, range):
        return np.histogram_bin_edges(a, bins, range, weights)
    return _edges(_sh.ravel(asarray(a)), bins, range, weights)


@_dispatches(np.histogram)
def histogram(a: Any, bins: Any = 10, range: Any = None,  # noqa: A002
              density: Any = None, weights: Any = None) -> tuple[Any, Any]:
    """``(hist, bin_edges)`` as numpy: counts (plain), or sums of ``weights`` per bin
    (differentiable in them), or a density (differentiable through the bin widths)."""
    if not _traced(a, bins, range, weights):
        return np.histogram(a, bins, range, density, weights)
    a = _sh.ravel(asarray(a))
    w = None if weights is None else _sh.ravel(asarray(weights))
    if w is not None and np.shape(w) != np.shape(a):
        raise ValueError("weights should have the same shape as a.")
    edges = _edges(a, bins, range, weights)
    ev = np.asarray(value_of(edges, structural=False))
    n = ev.size - 1
    # which bin each element is in: decided on the values (structure)
    av = np.asarray(value_of(a))
    idx = np.searchsorted(ev, av, side="right") - 1
    idx[av == ev[-1]] = n - 1
    keep = (av >= ev[0]) & (av <= ev[-1])
    if w is None or not isinstance(w, Tracer):
        hist = np.bincount(idx[keep], None if w is None else np.asarray(w)[keep],
                           minlength=n)
        hist = hist if w is not None else hist.astype(np.intp)
    else:
        sel = np.flatnonzero(keep)
        hist = _sh.index_add(_sh.getitem(w, (sel,)), (idx[keep],), True, (n,))
    if not density:
        return hist, edges
    widths = _sh.getitem(asarray(edges), (slice(1, None),)) - \
        _sh.getitem(asarray(edges), (slice(None, -1),))
    total = _red.sum(hist, None, False) if isinstance(hist, Tracer) else hist.sum()
    return hist / widths / total, edges
