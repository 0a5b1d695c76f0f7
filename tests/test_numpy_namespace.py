"""dualtape.numpy as a drop-in for numpy's namespaces: the generated coverage report,
values equal to numpy's under tracing, the documented kinks, plain predicates, and the
errors for what numpy cannot hand over.  Derivatives to second order in both modes are
checked by the function table (tests/tables/namespace.py)."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.numpy import _coverage

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


# ---- coverage ---------------------------------------------------------------------------
def test_coverage_report_has_no_undocumented_or_missing_name():
    entries = list(_coverage.classify())
    bad = [(e.name, e.kind) for e in entries if e.kind in ("undocumented", "missing")]
    assert not bad, f"classify these in dualtape/numpy/_values.py or give them a rule: {bad}"
    assert not [e.name for e in entries if e.kind == "rule" and not e.dispatched]
    kinds = {e.name: e.kind for e in entries}
    for name in ("diff", "median", "nanmean", "r_", "linalg.svd", "fft.rfft"):
        assert kinds[name] == "rule", name
    for name in ("meshgrid", "seterr", "uint8", "errstate", "finfo", "random.normal",
                 "allclose", "count_nonzero"):
        assert kinds[name] in ("nondiff", "rule"), name


def test_coverage_report_catches_an_unclassified_numpy_function(monkeypatch):
    def brand_new(x):   # stands for a function a new numpy version adds
        return x
    monkeypatch.setattr(np, "brand_new", brand_new, raising=False)
    found = {e.name: e.kind for e in _coverage.classify()}
    assert found["brand_new"] == "undocumented"


def test_coverage_command_runs_and_passes():
    out = subprocess.run([sys.executable, "-m", "dualtape.report", "--coverage"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"UNDOCUMENTED[^\n]*: 0", out.stdout)
    assert "differentiable, with a rule:" in out.stdout


def test_functions_without_a_rule_are_in_the_readme_with_their_reason():
    readme = README.read_text()
    block = re.search(r"<!-- no-rule:start -->\n(.*?)\n<!-- no-rule:end -->", readme,
                      flags=re.S)
    assert block, "README lacks the generated no-rule list"
    assert block.group(1).strip() == _coverage.no_rule_markdown().strip(), (
        "regenerate the README's no-rule list from dualtape.numpy._coverage.NO_RULE")


_NO_RULE_CALLS = {
    "histogram2d": lambda x: np.histogram2d(x, x),
    "histogramdd": lambda x: np.histogramdd(x[:, None]),
    "bmat": lambda x: np.bmat([[np.outer(x, x)]]),
    "asmatrix": np.asmatrix,
}


@pytest.mark.parametrize("name", sorted(_coverage.NO_RULE))
def test_function_without_a_rule_raises_the_no_rule_error(name):
    call = _NO_RULE_CALLS[name]
    short = name.rpartition(".")[2]
    for run in (lambda f: dt.grad(f)(np.ones(3)),
                lambda f: dt.jvp(f, (np.ones(3),), (np.ones(3),))):
        with pytest.raises(TypeError, match=rf"{short} has no derivative rule"):
            run(lambda x: np.sum(call(x)[0]))


# ---- names resolve to numpy's own objects -------------------------------------------------
def test_names_without_derivative_are_numpys_objects():
    for name in ("seterr", "errstate", "uint8", "finfo", "printoptions", "busday_count",
                 "float128" if hasattr(np, "float128") else "float64", "ndindex", "ma"):
        assert getattr(dnp, name) is getattr(np, name), name
    assert dnp.linalg.test is np.linalg.test and dnp.fft.test is np.fft.test
    with pytest.raises(AttributeError):
        dnp.no_such_function  # noqa: B018


def test_random_is_a_real_submodule_of_numpys_samplers():
    import dualtape.numpy.random as npr
    assert npr is dnp.random
    assert npr.normal is np.random.normal and npr.default_rng is np.random.default_rng
    assert set(np.random.__all__) <= set(dir(npr))
    code = "import dualtape.numpy.random as npr; print(npr.Generator.__module__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.startswith("numpy")


# ---- values equal numpy's under tracing -----------------------------------------------------
rng = np.random.default_rng(7)
X = rng.standard_normal((3, 4))
V = rng.standard_normal(5)
NANX = np.where(np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]], bool), np.nan, X)

VALUES = {
    "diff": (lambda a: np.diff(a, 2, axis=1, prepend=0.5, append=[[1.0]] * 3), X),
    "ediff1d": (lambda a: np.ediff1d(a, to_end=[1.0, 2], to_begin=3.0), X),
    "gradient": (lambda a: np.gradient(a, 0.5, np.array([0.0, 1, 3, 4.5]),
                                       edge_order=2), X),
    "trapezoid": (lambda a: np.trapezoid(a, np.array([0.0, 1, 3, 4.5])), X),
    "cross": (lambda a: np.cross(a[:3, :3], a[::-1, 1:], axisc=0), X),
    "cross_axis": (lambda a: np.cross(a[:3, :], a[:3, ::-1], axis=0), X),
    "convolve": (lambda a: [np.convolve(a, [1.0, 2, 3], m) for m in
                           ("full", "same", "valid")], V),
    "convolve_long_kernel": (lambda a: [np.convolve(a[:2], a, m) for m in
                                       ("full", "same", "valid")], V),
    "correlate": (lambda a: [np.correlate(a, a[1:4], m) for m in ("full", "same", "valid")]
                  + [np.correlate(a[:2], a, m) for m in ("full", "same", "valid")], V),
    "correlate_complex": (lambda a: np.correlate(a, a[:3] * 1j + 1, "full"), V),
    "interp": (lambda a: np.interp(dnp.r_[a.ravel(), -1.0, 0.5, 2.0], [-1.0, 0, 0.5, 2],
                                   [1.0, 3, 2, 0], left=-5.0), X),
    "interp_period": (lambda a: np.interp(a, [0.0, 1, 2], [1.0, 3, 2], period=2.5), X),
    "sinc": (lambda a: np.sinc(dnp.r_[a, 0.0, 1e-3, -0.03]), V),
    "i0": (lambda a: np.i0(dnp.r_[a, 0.0, 30.0, -250.0, 700.0]), V),
    "heaviside": (lambda a: np.heaviside(dnp.r_[a, 0.0], 0.25), V),
    "ufuncs": (lambda a: [np.copysign(a, a[::-1]), np.nextafter(a, 0.0), np.ldexp(a, 3),
                          *np.frexp(a), *np.modf(a * 3), *np.divmod(a, 0.7),
                          np.unwrap(a * 4), np.spacing(a)], V),
    "nan_to_num": (lambda a: np.nan_to_num(a * np.array([np.nan, 1, np.inf, -np.inf, 1]),
                                           posinf=9.0), V),
    "vector_ufuncs": (lambda a: [np.vecdot(a, a[::-1]), np.matvec(a[:, :3], a[0, :3]),
                                 np.vecmat(a[0, :3], a[:3, :3].T)], X),
    "nan_reductions": (lambda a: [np.nansum(a, 1), np.nanmean(a, 0), np.nanprod(a),
                                  np.nanmax(a, 1), np.nanmin(a, 0), np.nanstd(a, 1, ddof=1),
                                  np.nanvar(a), np.nancumsum(a, 1), np.nancumprod(a)], NANX),
    "order_statistics": (lambda a: [np.median(a, 1), np.median(a), np.median(a[:, :3], 1),
                                    np.median(a, 0, keepdims=True),
                                    np.percentile(a, [10, 50, 95], axis=1),
                                    np.quantile(a, 0.3), np.quantile(a, [[0.2], [1.0]], 0),
                                    *[np.quantile(a, [0.0, 0.3, 0.8, 1.0], axis=0, method=m)
                                      for m in ("linear", "hazen", "weibull", "lower",
                                                "higher", "nearest", "midpoint",
                                                "median_unbiased", "normal_unbiased",
                                                "interpolated_inverted_cdf")],
                                    np.quantile(a, 0.35, axis=(0, 1), keepdims=True)], X),
    "nan_order_statistics": (lambda a: [np.nanmedian(a, 1), np.nanpercentile(a, 30, 1),
                                        np.nanquantile(a, [0.2, 0.9]), np.median(a, 1)],
                             NANX),
    "cov": (lambda a: [np.cov(a), np.cov(a[0], a[1], bias=True),
                       np.cov(a, rowvar=False, aweights=np.array([1.0, 2, 3])),
                       np.cov(a, fweights=np.array([1, 2, 3, 1]),
                              aweights=np.array([1.0, 2, 3, 0.5]), ddof=2),
                       np.corrcoef(a), np.corrcoef(a[0], a[2])], X),
    "histogram": (lambda a: [*np.histogram(a, 3), *np.histogram(a, 4, density=True),
                             *np.histogram(a, "auto"),
                             *np.histogram(a, [-1.0, 0.0, 0.5, 2.0], weights=a),
                             *np.histogram(a, 2, range=(-1.0, 1.0)),
                             np.histogram_bin_edges(a, "fd"),
                             *np.histogram(a[0, :1], 2)], X),
    "bincount": (lambda a: np.bincount([0, 1, 1, 3], weights=a[0], minlength=6), X),
    "polynomials": (lambda a: [np.polyval(a[0], a[1]), np.polyadd(a[0], a[1, :2]),
                               np.polysub(a[0, :2], a[1]), np.polymul(a[0], a[1, :2]),
                               np.polyder(a[0], 2), np.polyint(a[0], 2, k=[1.0, 2.0]),
                               *np.polydiv(a[0], a[1, :2]), np.poly(a[0]),
                               np.vander(a[0], 3), np.vander(a[0], increasing=True),
                               np.polyfit(np.arange(4.0), a[0], 2),
                               np.polyfit(a[0], a[1], 1, w=np.array([1.0, 2, 3, 4])),
                               np.polyfit(np.arange(4.0), a[:2].T, 2),
                               *np.polyfit(np.arange(4.0), a[0], 1, cov=True)], X),
    "constructors": (lambda a: [dnp.full((2, 3), a[0, 0]), np.full_like(a, 2.0),
                                np.logspace(a[0, 0], a[0, 1], 5),
                                np.geomspace(a[0, 0] ** 2 + 1, a[0, 1] ** 2 + 2, 5),
                                np.geomspace(-(a[0, 0] ** 2) - 1, -3.0, 4)], X),
    "apply": (lambda a: [np.apply_along_axis(lambda r: np.sum(r ** 2) * r[:2], 1, a),
                         np.apply_along_axis(lambda r: np.outer(r, r), 0, a),
                         np.apply_over_axes(np.sum, a, [0, 1])], X),
    "selection": (lambda a: [np.select([a < 0, a > 1], [a ** 2, a * 3], default=a[0, 0]),
                             np.piecewise(a, [a < 0, a > 1], [lambda t: t ** 2, 7.0,
                                                              lambda t: np.sin(t)]),
                             np.piecewise(a[0, 0], [a[0, 0] > 0], [lambda t: t * 2, 1.0])],
                  X),
    "sets": (lambda a: [np.unique(np.round(a * 2)), np.unique(dnp.r_[a[0], a[0]],
                                                              return_counts=True)[0],
                        np.unique(np.concatenate([a, a[:1]]), axis=0),
                        np.unique_all(a[0]).values, np.union1d(a[0], a[1]),
                        np.intersect1d(a[0], a[0, 1:]), np.setdiff1d(a[0], a[0, 1:]),
                        np.setxor1d(a[0], a[0, 1:]), np.sort_complex(a[0])], X),
    "movers": (lambda a: [np.delete(a, [0, 2], axis=1), np.insert(a, 1, a[0, 0] * 5, axis=1),
                          np.insert(a, [1, 3], [7.0, 8.0]), np.resize(a, (5, 3)),
                          np.compress([True, False, True], a, axis=0), np.extract(a > 0, a),
                          np.diagflat(a[0], 1), np.rollaxis(a, 1), np.permute_dims(a, (1, 0)),
                          np.matrix_transpose(a), np.unstack(a)[1], np.concat([a, a], 1),
                          *np.broadcast_arrays(a[0], a[:, :1]),
                          np.block([[a, np.ones((3, 1))], [a[:1], a[:1, :1]]]),
                          *np.meshgrid(a[0], a[1, :2], indexing="ij", sparse=True),
                          *np.meshgrid(a[0], a[1, :2]),
                          np.choose([0, 1, 1, 0], [a[0], a[1]]),
                          np.trim_zeros(dnp.r_[0.0, a[0], 0.0, 0.0]),
                          np.trim_zeros(dnp.r_[0.0, a[0], 0.0], "b")], X),
    "index_helpers": (lambda a: [dnp.r_[a[0], 0:3, a[1, :2], 7.0], dnp.c_[a[0], a[1],
                                                                          np.ones(4)],
                                 dnp.r_["0,2", a[0], a[1]], dnp.r_["-1", a, a],
                                 dnp.c_[a.T, a[0]]], X),
}
_NUMPY_SPELLING = {"constructors": lambda a: [np.full((2, 3), a[0, 0]), np.full_like(a, 2.0),
                                              np.logspace(a[0, 0], a[0, 1], 5),
                                              np.geomspace(a[0, 0] ** 2 + 1,
                                                           a[0, 1] ** 2 + 2, 5),
                                              np.geomspace(-(a[0, 0] ** 2) - 1, -3.0, 4)],
                   "index_helpers": lambda a: [np.r_[a[0], 0:3, a[1, :2], 7.0],
                                               np.c_[a[0], a[1], np.ones(4)],
                                               np.r_["0,2", a[0], a[1]], np.r_["-1", a, a],
                                               np.c_[a.T, a[0]]]}


def _leaves(r):
    return [np.asarray(v) for v in (r if isinstance(r, (list, tuple)) else [r])]


@pytest.mark.parametrize("name", sorted(VALUES))
@pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::DeprecationWarning")
def test_traced_values_equal_numpys(name):
    f, x = VALUES[name]
    want = _leaves(_NUMPY_SPELLING.get(name, f)(x))
    seen = {}

    def probe(a):
        out = f(a)
        seen["fwd"] = [np.asarray(getattr(v, "primal", v)) for v in _leaves_traced(out)]
        return out
    dt.jvp(probe, (x,), (np.ones_like(x),))
    for got, w in zip(seen["fwd"], want, strict=True):
        assert got.shape == w.shape
        np.testing.assert_allclose(got, w, rtol=1e-12, atol=1e-13, equal_nan=True)


def _leaves_traced(r):
    return list(r) if isinstance(r, (list, tuple)) else [r]


# ---- kinks and conventions ------------------------------------------------------------------
def test_median_of_an_even_count_splits_between_the_two_middle_elements():
    for g in (dt.grad(np.median)(np.array([4.0, 1.0, 3.0, 2.0])),
              dt.jacfwd(np.median)(np.array([4.0, 1.0, 3.0, 2.0]))):
        np.testing.assert_allclose(g, [0.0, 0.0, 0.5, 0.5])
    np.testing.assert_allclose(dt.grad(np.median)(np.array([5.0, 1.0, 3.0])), [0, 0, 1])


def test_quantile_interpolates_and_is_differentiable_in_q():
    x = np.array([3.0, 0.0, 1.0, 2.0])         # sorted: 0 1 2 3; q=0.5 -> index 1.5
    np.testing.assert_allclose(dt.grad(lambda a: np.quantile(a, 0.5))(x), [0, 0, 0.5, 0.5])
    np.testing.assert_allclose(dt.grad(lambda a: np.quantile(a, 0.6))(x), [0, 0, 0.2, 0.8])
    # d/dq: (n - 1) * (x[hi] - x[lo]) = 3 * 1
    np.testing.assert_allclose(dt.grad(lambda q: np.quantile(x, q))(0.6), 3.0)
    np.testing.assert_allclose(dt.grad(lambda a: np.percentile(a, 100.0))(x), [1, 0, 0, 0])


def test_nan_positions_get_derivative_zero():
    x = np.array([1.0, np.nan, 3.0, 2.0])
    np.testing.assert_array_equal(dt.grad(np.nansum)(x), [1, 0, 1, 1])
    np.testing.assert_array_equal(dt.grad(np.nanmax)(x), [0, 0, 1, 0])
    np.testing.assert_allclose(dt.grad(np.nanmean)(x), [1 / 3, 0, 1 / 3, 1 / 3])
    np.testing.assert_allclose(dt.grad(np.nanmedian)(x), [0, 0, 0, 1])
    np.testing.assert_array_equal(dt.grad(lambda a: np.sum(np.nan_to_num(a)))(x),
                                  [1, 0, 1, 1])
    np.testing.assert_array_equal(dt.grad(np.nanprod)(x), [6, 0, 2, 3])
    # a NaN in a slice makes median NaN; an all-NaN slice makes nanmax NaN
    assert np.isnan(dt.value_and_grad(np.median)(x)[0])
    assert np.isnan(dt.jvp(lambda a: np.nanmax(a), (np.full(2, np.nan),),
                           (np.ones(2),))[0])


def test_ties_follow_numpys_selection():
    x = np.array([1.0, 2.0, 2.0, 0.0])         # sorted 0 1 2 2: median (1 + 2) / 2
    g = dt.grad(np.median)(x)
    assert g.sum() == pytest.approx(1.0) and g[0] == 0.5 and g[3] == 0.0
    # unique: the derivative is split between equal elements
    np.testing.assert_allclose(dt.grad(lambda a: np.sum(np.unique(a) ** 1))(x),
                               [1, 0.5, 0.5, 1])
    np.testing.assert_allclose(dt.jacfwd(lambda a: np.unique(a))(x)[2], [0, 0.5, 0.5, 0])


def test_sinc_is_right_at_every_order_at_zero():
    d1 = dt.grad(np.sinc)
    d2 = dt.grad(d1)
    assert d1(0.0) == 0.0
    np.testing.assert_allclose(d2(0.0), -np.pi ** 2 / 3, rtol=1e-12)
    np.testing.assert_allclose(dt.hessian(np.sinc)(0.0), -np.pi ** 2 / 3, rtol=1e-12)
    np.testing.assert_allclose(dt.grad(dt.grad(dt.grad(dt.grad(np.sinc))))(0.0),
                               np.pi ** 4 / 5, rtol=1e-10)


def test_interp_at_a_knot_takes_the_right_segment_and_is_flat_outside():
    xp, fp = np.array([0.0, 1.0, 3.0]), np.array([0.0, 2.0, 3.0])
    slope = dt.grad(lambda x: np.interp(x, xp, fp))
    assert slope(1.0) == 0.5 and slope(0.5) == 2.0 and slope(3.0) == 0.0
    assert slope(-1.0) == 0.0 and slope(4.0) == 0.0
    np.testing.assert_allclose(dt.grad(lambda f: np.interp(2.0, xp, f))(fp), [0, 0.5, 0.5])
    np.testing.assert_allclose(dt.grad(lambda f: np.interp(-2.0, xp, f))(fp), [1, 0, 0])


def test_heaviside_passes_the_derivative_to_the_value_at_zero():
    g = dt.grad(lambda h: np.sum(np.heaviside(np.array([-1.0, 0.0, 0.0, 2.0]), h)))(0.5)
    assert g == 2.0


# ---- plain results ----------------------------------------------------------------------------
def test_predicates_on_traced_values_are_plain():
    seen = []

    def f(x):
        for r in (np.allclose(x, 1.0), np.isclose(x, 1.0), np.array_equal(x, x),
                  np.array_equiv(x, x[0]), np.iscomplex(x), np.isreal(x),
                  np.iscomplexobj(x), np.isrealobj(x), np.count_nonzero(x > 1),
                  np.argwhere(x > 0), np.isin(x, [1.0]), np.searchsorted(x, 1.5),
                  np.all(x > 0), np.any(x > 2), np.nonzero(x > 1), x.any(), x.all()):
            assert not isinstance(r, dt.Dual) and not hasattr(r, "_trace")
            seen.append(r)
        return np.sum(x ** 2)
    x = np.array([1.0, 2.0, 1.0])
    np.testing.assert_allclose(dt.grad(f)(x), 2 * x)
    dt.jvp(f, (x,), (x,))
    assert seen[0] is np.False_ or seen[0] is False
    assert bool(seen[2]) and bool(seen[3]) is False and bool(seen[7])
    assert int(seen[8]) == 1


def test_value_dependent_plain_results_refuse_global_sparsity():
    for f in (lambda x: x * np.count_nonzero(x > 0), lambda x: np.unique(x),
              lambda x: np.interp(x, [0.0, 1.0], [0.0, 2.0]), lambda x: np.nanmedian(x)):
        with pytest.raises(ValueError, match="no pattern holds for every input"):
            dt.sparsity(f, np.ones(3))
        dt.sparsity(f, np.ones(3), kind="local")
    dt.sparsity(lambda x: x * np.iscomplexobj(x), np.ones(3))     # value-free: fine


def test_nan_masks_and_conditions_give_global_patterns():
    # NaN masks, conditions and clipping go through comparison primitives, so global
    # detection counts both branches: the pattern holds for inputs without NaN too
    x = np.array([1.0, np.nan, 2.0])
    full = np.ones((1, 3), bool)
    for f in (np.nansum, np.nanmean, np.nanmax, np.nanvar):
        np.testing.assert_array_equal(dt.sparsity(f, x).toarray().reshape(1, 3), full)
    np.testing.assert_array_equal(dt.sparsity(np.median, np.ones(3)).toarray(), full)
    with pytest.raises(ValueError, match="no pattern holds"):    # NaN: a constant here
        dt.sparsity(np.median, x)
    np.testing.assert_array_equal(dt.sparsity(np.nan_to_num, x).toarray(), np.eye(3))
    pat = dt.sparsity(lambda a: np.select([a > 1.5], [a[::-1]], a * 2), np.ones(3))
    np.testing.assert_array_equal(pat.toarray(), (np.eye(3) + np.eye(3)[::-1]) > 0)
    pat = dt.sparsity(lambda h: np.heaviside(h[:2], h[2]), np.ones(3)).toarray()
    np.testing.assert_array_equal(pat, [[0, 0, 1], [0, 0, 1]])
    # corrcoef of two rows: a diagonal entry reads its own row, the others both
    pat = dt.sparsity(lambda a: np.corrcoef(a.reshape(2, 2)), np.arange(4.0)).toarray()
    np.testing.assert_array_equal(pat, [[1, 1, 0, 0], [1, 1, 1, 1], [1, 1, 1, 1],
                                        [0, 0, 1, 1]])


def test_sparsity_of_the_new_functions_is_exact():
    pat = dt.sparsity(lambda x: np.diff(x), np.ones(4)).toarray()
    np.testing.assert_array_equal(pat, [[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]])
    pat = dt.sparsity(lambda x: np.convolve(x, [1.0, 2.0]), np.ones(3)).toarray()
    np.testing.assert_array_equal(pat.astype(int), [[1, 0, 0], [1, 1, 0], [0, 1, 1],
                                                    [0, 0, 1]])
    pat = dt.sparsity(lambda x: dnp.r_[x[1:], 0.0, x[0]], np.ones(3)).toarray()
    np.testing.assert_array_equal(pat, np.eye(3)[[1, 2, 0]][[0, 1, 1, 2]] * [[1], [1], [0],
                                                                               [1]])


# ---- errors for what numpy converts without dispatching -----------------------------
@pytest.mark.parametrize("call, names", [
    (lambda x: np.array([x[0], x[1]]), r"numpy.array / numpy.asarray.*dualtape.numpy.array"),
    (lambda x: np.asarray(x), r"numpy.asarray.*dualtape.numpy.array / asarray"),
    (lambda x: np.full(3, x[0]), r"numpy.full converts.*dualtape.numpy.full"),
    (lambda x: np.full(3, x[0], dtype=float),
     r"numpy.full writes.*dualtape.numpy.full\(shape"),
    (lambda x: np.full_like(np.ones(2), x[0]), r"numpy.full_like writes.*dnp|numpy.full_like "
                                               r"writes.*dualtape.numpy.full_like"),
    (lambda x: np.copyto(np.ones(3), x), r"numpy.copyto writes"),
    (lambda x: np.r_[x, 1.0], r"numpy.r_ / numpy.c_ .*dualtape.numpy.r_ / c_"),
    (lambda x: np.mean([x[0], x[1]]), r"numpy.mean converts.*dualtape.numpy.mean"),
    (lambda x: np.vectorize(lambda t: t)(x), r"numpy.vectorize"),
    (lambda x: float(x[0]), r"Python number"),
    (lambda x: np.put(x, [0], 1.0), r"numpy.put writes into an existing array.*at\(x\)"),
    (lambda x: np.fill_diagonal(np.outer(x, x), 0.0), r"numpy.fill_diagonal writes"),
])
def test_unintercepted_numpy_calls_name_the_function_and_the_spelling(call, names):
    for run in (lambda f: dt.grad(f)(np.ones(3)),
                lambda f: dt.jvp(f, (np.ones(3),), (np.ones(3),))):
        with pytest.raises(TypeError, match=names):
            run(lambda x: np.sum(call(x)))


def test_full_and_full_like_with_a_traced_fill_value():
    g = dt.grad(lambda v: np.sum(dnp.full((2, 3), v) * np.arange(6.0).reshape(2, 3)))(1.5)
    assert g == 15.0
    g = dt.grad(lambda v: np.sum(dnp.full_like(np.ones((2, 2)), v, shape=(3,))))(1.5)
    assert g == 3.0
    g = dt.grad(lambda x: np.sum(np.full_like(x, x[0] * 2.0)))(np.ones(3))
    np.testing.assert_array_equal(g, [6.0, 0.0, 0.0])
    assert dnp.full(2, 1.0).tolist() == [1.0, 1.0]


# ---- random shapes ----------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 6), m=st.integers(1, 4), axis=st.integers(0, 1),
       order=st.integers(0, 3), q=st.floats(0.0, 1.0), seed=st.integers(0, 2 ** 16))
def test_diff_quantile_convolve_on_random_shapes(n, m, axis, order, q, seed):
    r = np.random.default_rng(seed)
    x = r.standard_normal((n, m))
    k = r.standard_normal(m)
    for f in (lambda a: np.diff(a, order, axis=axis),
              lambda a: np.quantile(a, q, axis=axis),
              lambda a: np.median(a, axis=axis),
              lambda a: np.gradient(a, axis=axis) if a.shape[axis] > 1 else a,
              lambda a: np.convolve(np.ravel(a), k, "same")):
        want = f(x)
        jf = dt.jacfwd(f)(x)
        jr = dt.jacrev(f)(x)
        np.testing.assert_allclose(jf, jr, atol=1e-12)
        np.testing.assert_allclose(dt.jvp(f, (x,), (np.ones_like(x),))[0], want,
                                   rtol=1e-12, atol=1e-12)
        h = 1e-6
        d = r.standard_normal(x.shape)
        fd = (f(x + h * d) - f(x - h * d)) / (2 * h)
        np.testing.assert_allclose(np.tensordot(jf, d, d.ndim), fd, rtol=1e-4, atol=1e-6)


def test_index_helpers_and_full_at_second_order_in_both_modes():
    x = np.random.default_rng(3).standard_normal(4)
    for f in (lambda a: dnp.r_[a[1:], 0.0, a[0] * a[1]] ** 2,
              lambda a: dnp.c_[a, a ** 2, np.ones(4)] * a[0],
              lambda a: dnp.r_["0,2", a[:2], a[2:]] ** 2,
              lambda a: np.full_like(a, a[0] * a[1]) * a,
              lambda a: dnp.full((2, 2), a[0] ** 2) * a[1]):
        dt.check_grads(f, (x,), order=2, modes=("fwd", "rev"))


def test_importing_the_namespace_loads_no_lazy_numpy_submodule():
    code = ("import sys, dualtape.numpy; print(sorted(m for m in ('numpy.testing', "
            "'numpy.f2py', 'numpy.ma', 'numpy.polynomial', 'unittest') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
