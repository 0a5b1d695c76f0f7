"""Rows for numpy's differentiable functions beyond the core: differences, convolution,
interpolation, nan-reductions, order statistics, covariance, polynomials, set
functions, selection and element-moving functions (see ``tables/__init__.py``).

Most rows call numpy's own spelling (``np.diff``), so they also check that numpy
dispatches to the rule.  Domains are generic: no ties, no knots, NaN only where the
function skips it, zeros only where they are constant (``x * mask``).  Outputs are
squared or multiplied so the second-order checks see a non-zero Hessian.
"""

from __future__ import annotations

import numpy as np

import dualtape.numpy as dnp

from tables import Row, _distinct, _real

ARR = _real((3, 4))
VEC = _real((5,))
NANS = np.array([[np.nan, 1.0, 1.0, 1.0], [1.0, 1.0, np.nan, 1.0], [1.0, 1.0, 1.0, 1.0]])
KNOTS = np.array([-1.0, 0.0, 0.5, 2.0])


def _with_nan(rng):
    return (np.where(np.isnan(NANS), np.nan, rng.standard_normal((3, 4))),)


def _sq(f):
    def g(*xs):
        r = f(*xs)
        return [v ** 2 for v in r] if isinstance(r, (list, tuple)) else r ** 2
    return g


def _generic_x(rng):
    # interpolation points away from the knots
    x = rng.uniform(-1.5, 2.5, (3, 4))
    near = np.abs(x[..., None] - KNOTS).min(-1) < 0.05
    return (np.where(near, x + 0.1, x),)


FUNCTIONS: dict[str, Row] = {
    # differences and integrals
    "diff": Row(_sq(lambda x: [np.diff(x, 2, axis=1, prepend=0.5),
                               np.diff(x, axis=0, append=x[:1])]), ARR),
    "ediff1d": Row(_sq(lambda x: np.ediff1d(x, to_begin=x[0, 0], to_end=[1.0, 2.0])), ARR),
    "gradient": Row(_sq(lambda x: np.gradient(x, 0.5)[1] + np.gradient(x, edge_order=2)[0]
                        + np.gradient(x, np.array([0.0, 1.0, 3.0, 4.5]), axis=1,
                                      edge_order=2)), ARR),
    "trapezoid": Row(lambda x, t: np.trapezoid(x ** 2, np.cumsum(t ** 2)) * np.trapezoid(x),
                     _real((3, 4), (4,))),
    "cross": Row(lambda x: np.cross(x[:, :3], x[::-1, 1:]) * np.cross(x[:, :2], x[:, 1:3])[
        :, None] + np.cross(x[:, :2], x[:, 1:]), ARR),
    # sequences
    "convolve": Row(lambda x, v: np.convolve(x, v) ** 2 + np.convolve(v, x, "same").sum()
                    * np.convolve(x, v[:2], "valid")[0], _real((5,), (3,))),
    "correlate": Row(lambda x, v: np.correlate(x, v, "full") ** 2
                     + np.correlate(x, v).sum(), _real((5,), (3,))),
    "interp": Row(lambda x: np.interp(x, KNOTS, [1.0, 3.0, 2.0, 0.0]) * x
                  + np.interp(0.7, KNOTS, x[0] ** 2)
                  + np.interp(x, [0.0, 1.0, 2.0], [1.0, 3.0, 2.0], period=2.5) ** 2,
                  _generic_x),
    "sinc": Row(lambda x: np.sinc(x) * x, lambda r: (np.r_[r.standard_normal(4), 0.0,
                                                          0.01, -0.02],)),
    "heaviside": Row(lambda x, h: np.heaviside(x, h ** 2) * x
                     + np.heaviside(np.array([0.0, 1.0, 0.0, -1.0]), h) ** 2 * h,
                     lambda r: (r.uniform(0.5, 1.0, 4) * r.choice([-1, 1], 4),
                                r.standard_normal(4))),
    "i0": Row(lambda x: np.i0(x) * x, lambda r: (np.r_[r.standard_normal(3) * 3, 0.0, 40.0],)),
    "copysign": Row(lambda x, y: np.copysign(x, y) * x, lambda r: (
        r.uniform(0.5, 2, 4) * r.choice([-1, 1], 4), r.uniform(0.5, 2, 4) * [-1, 1, 1, -1])),
    "nextafter": Row(lambda x: np.nextafter(x, 0.0) ** 2, VEC),
    "spacing": Row(lambda x: np.spacing(x), VEC, nondiff=True),
    "ldexp": Row(lambda x: np.ldexp(x, np.array([1, -2, 0, 3, 1])) ** 2, VEC),
    "frexp": Row(lambda x: np.frexp(x)[0] ** 2, VEC),
    "modf": Row(lambda x: np.modf(3.0 * x)[0] ** 2, VEC),
    "divmod": Row(lambda x: np.divmod(x, 0.7)[1] ** 2, VEC),
    "unwrap": Row(lambda x: np.unwrap(4.0 * x) ** 2, VEC),
    "nan_to_num": Row(lambda x: np.nan_to_num(x, nan=x[0, 1]) ** 2, _with_nan),
    "real_if_close": Row(lambda x: np.real_if_close(x + 0j) ** 2, VEC),
    "vecdot": Row(lambda x: np.vecdot(x, x[::-1]) ** 2, ARR),
    "matvec": Row(lambda x: np.matvec(x, x[0, :]) ** 2, ARR),
    "vecmat": Row(lambda x: np.vecmat(x[:, 0], x) ** 2, ARR),
    # nan-reductions (NaN positions: derivative 0)
    "nansum": Row(lambda x: np.nansum(x, axis=1) ** 2 + np.nansum(x), _with_nan),
    "nanprod": Row(lambda x: np.nanprod(x, axis=0) + np.nanprod(x), _with_nan),
    "nanmean": Row(lambda x: np.nanmean(x, axis=1) ** 2 * np.nanmean(x), _with_nan),
    "nanmax": Row(lambda x: np.nanmax(x, axis=1) ** 2 + np.nanmax(x), _with_nan),
    "nanmin": Row(lambda x: np.nanmin(x, axis=0) ** 2 + np.nanmin(x), _with_nan),
    "nanvar": Row(lambda x: np.nanvar(x, axis=1) * np.nanvar(x, ddof=1), _with_nan),
    "nanstd": Row(lambda x: np.nanstd(x, axis=1) * np.nanstd(x), _with_nan),
    "nancumsum": Row(lambda x: np.nancumsum(x, axis=1) ** 2, _with_nan),
    "nancumprod": Row(lambda x: np.nancumprod(x) * 1.0, _with_nan),
    # order statistics (selection-based)
    "median": Row(lambda x: [np.median(x, axis=1) ** 2, np.median(x) * np.median(
        x, axis=0, keepdims=True)], _distinct),
    "percentile": Row(lambda x: np.percentile(x, [10.0, 50.0, 95.0], axis=1) ** 2,
                      _distinct),
    "quantile": Row(lambda x, q: np.quantile(x, 0.3 + 0.1 * np.tanh(q)) ** 2
                    + np.quantile(x, [0.3, 0.8], axis=0, method="hazen")
                    * np.quantile(x, 0.35, axis=1, method="lower", keepdims=True)[0, 0],
                    lambda r: (_distinct(r)[0], r.standard_normal(()))),
    "nanmedian": Row(lambda x: np.nanmedian(x, axis=1) ** 2, _with_nan),
    "nanpercentile": Row(lambda x: np.nanpercentile(x, [30.0, 70.0], axis=1) ** 2,
                         _with_nan),
    "nanquantile": Row(lambda x: np.nanquantile(x, 0.4, axis=0) ** 2, _with_nan),
    # covariance
    "cov": Row(lambda x, w: np.cov(x) ** 2 + np.cov(x, rowvar=False, aweights=w ** 2 + 0.5)
               .sum() + np.cov(x[0], x[1], bias=True).sum(), _real((3, 4), (3,))),
    "corrcoef": Row(lambda x: np.corrcoef(x) ** 2 + np.corrcoef(x[0], x[1]).sum(), ARR),
    "histogram": Row(lambda x, w: [np.histogram(x, 3, density=True)[0] * w[0],
                                   np.histogram(x, 4, weights=w ** 2)[0],
                                   np.histogram(x, "auto")[1] ** 2,
                                   np.histogram(x, [-3.0, 0.0, 3.0], weights=w)[0]],
                     lambda r: (r.permutation(6) * 0.37 + r.uniform(0, 0.1, 6),
                                r.standard_normal(6))),
    "histogram_bin_edges": Row(lambda x: np.histogram_bin_edges(x, 3) ** 2, _distinct),
    "bincount": Row(lambda w: np.bincount([0, 1, 1, 3, 0], weights=w) ** 2, VEC),
    # polynomials
    "polyval": Row(lambda p, x: np.polyval(p, x) ** 2, _real((4,), (3,))),
    "polyadd": Row(lambda a, b: np.polyadd(a, b) ** 2, _real((4,), (2,))),
    "polysub": Row(lambda a, b: np.polysub(b, a) ** 2, _real((4,), (2,))),
    "polymul": Row(lambda a, b: np.polymul(a, b) ** 2, _real((4,), (2,))),
    "polyder": Row(lambda a: np.polyder(a, 2) ** 2, _real((5,))),
    "polyint": Row(lambda a: np.polyint(a, 2, k=[1.0, a[0]]) ** 2, _real((4,))),
    "polydiv": Row(lambda a, b: np.polydiv(a, b + np.array([3.0, 0.0]))[0] ** 2
                   + np.polydiv(a, b + np.array([3.0, 0.0]))[1].sum(), _real((5,), (2,))),
    "poly": Row(lambda z: np.poly(z) ** 2, _real((3,))),
    "poly[matrix]": Row(lambda a: np.poly(a), _real((3, 3))),
    "roots": Row(lambda p: np.roots(p), _real((5,))),
    "vander": Row(lambda x: [np.vander(x, 4) ** 2, np.vander(x, increasing=True)],
                  _real((3,))),
    "polyfit": Row(lambda x, y: np.polyfit(x, y, 2) ** 2 + np.polyfit(x, y, 1, w=x ** 2 + 1)
                   .sum(), lambda r: (np.arange(5.0) + r.uniform(0, 0.3, 5),
                                      r.standard_normal(5))),
    # constructors and conversions
    "full": Row(lambda x: dnp.full((2, 3), x[0]) * x[1], VEC),
    "logspace": Row(lambda x: np.logspace(x[0], x[1], 4, base=x[2] ** 2 + 2.0), _real((3,))),
    "geomspace": Row(lambda x: np.geomspace(x[0] ** 2 + 1.0, x[1] ** 2 + 2.0, 4) ** 2,
                     _real((2,))),
    "astype": Row(lambda x: np.astype(x * 2.0, np.float64) ** 2, VEC),
    "asanyarray": Row(lambda x: dnp.asanyarray(x) ** 2, VEC),
    "ascontiguousarray": Row(lambda x: dnp.ascontiguousarray(x) ** 2, VEC),
    "asfortranarray": Row(lambda x: dnp.asfortranarray(x) ** 2, VEC),
    "asarray_chkfinite": Row(lambda x: dnp.asarray_chkfinite(x) ** 2, VEC),
    "require": Row(lambda x: dnp.require(x) ** 2, VEC),
    "apply_along_axis": Row(lambda x: np.apply_along_axis(
        lambda r: np.sum(r ** 2) * r[:2], 1, x), ARR),
    "apply_over_axes": Row(lambda x: np.apply_over_axes(np.sum, x ** 2, [0, 1]), ARR),
    # selection
    "select": Row(lambda x: np.select([x < 0, x > 1], [x ** 2, x * 3.0], default=x[0, 0])
                  ** 2, ARR),
    "piecewise": Row(lambda x: np.piecewise(x, [x < 0, x > 1], [lambda t: t ** 2, 7.0,
                                                                 lambda t: np.sin(t)]) * x,
                     ARR),
    "unique": Row(lambda x: np.unique(x) ** 2 + np.unique(x, return_counts=True)[0],
                  _distinct),
    "unique_all": Row(lambda x: np.unique_all(x).values ** 2, _distinct),
    "unique_counts": Row(lambda x: np.unique_counts(x).values ** 2, _distinct),
    "unique_inverse": Row(lambda x: np.unique_inverse(x).values ** 2, _distinct),
    "unique_values": Row(lambda x: np.unique_values(x) ** 2, _distinct),
    "union1d": Row(lambda x: np.union1d(x[0], x[1]) ** 2, _distinct),
    "intersect1d": Row(lambda x: np.intersect1d(x[0], x[0, 1:]) ** 2, _distinct),
    "setdiff1d": Row(lambda x: np.setdiff1d(x[0], x[0, 1:]) ** 2, _distinct),
    "setxor1d": Row(lambda x: np.setxor1d(x[0], x[1, 1:]) ** 2, _distinct),
    "sort_complex": Row(lambda x: np.real(np.sort_complex(x)) ** 2, _distinct),
    # element-moving functions (one gather each)
    "delete": Row(_sq(lambda x: np.delete(x, [0, 2], axis=1)), ARR),
    "insert": Row(_sq(lambda x: [np.insert(x, 1, x[0, 0] * 5, axis=1),
                                 np.insert(x, [1, 3], [7.0, 8.0])]), ARR),
    "resize": Row(_sq(lambda x: np.resize(x, (5, 3))), ARR),
    "compress": Row(_sq(lambda x: np.compress([True, False, True], x, axis=0)), ARR),
    "extract": Row(_sq(lambda x: np.extract(x > 0, x)), ARR),
    "diagflat": Row(_sq(lambda x: np.diagflat(x[0], 1)), ARR),
    "rollaxis": Row(_sq(lambda x: np.rollaxis(x, 1)), ARR),
    "permute_dims": Row(_sq(lambda x: np.permute_dims(x, (1, 0))), ARR),
    "matrix_transpose": Row(_sq(lambda x: np.matrix_transpose(x)), ARR),
    "unstack": Row(_sq(lambda x: np.unstack(x, axis=1)), ARR),
    "concat": Row(_sq(lambda x: np.concat([x, x * 2.0], axis=1)), ARR),
    "broadcast_arrays": Row(_sq(lambda x: np.broadcast_arrays(x[0], x[:, :1])), ARR),
    "block": Row(_sq(lambda x: np.block([[x, np.ones((3, 1))], [x[:1], x[:1, :1]]])), ARR),
    "meshgrid": Row(_sq(lambda x: np.meshgrid(x[0], x[1, :2], indexing="ij")), ARR),
    "choose": Row(_sq(lambda x: np.choose([0, 1, 1, 0], [x[0], x[1]])), ARR),
    "row_stack": Row(_sq(lambda x: dnp.row_stack([x, x[:1]])), ARR),
    "trim_zeros": Row(_sq(lambda x: np.trim_zeros(x * np.array([0.0, 1.0, 0.0, 1.0, 0.0]))),
                      VEC),
}
