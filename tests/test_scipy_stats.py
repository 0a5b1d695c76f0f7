"""dualtape.scipy.stats: values against scipy.stats itself, derivatives against finite
differences (dt.check_grads, both modes, second order) and closed forms, support and
parameter edges, signatures and errors.

Expected values come from scipy.stats on plain arrays, closed forms written here and
finite differences.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special as sc
import scipy.stats as ss

import dualtape as dt
import dualtape.scipy.stats as dst


def _primal(f, *args):
    """f's value with every argument traced (forward mode)."""
    return dt.jvp(f, args, tuple(np.ones_like(a) for a in args))[0]


X = np.array([-1.3, 0.2, 0.9, 2.7])
U = np.array([0.05, 0.3, 0.62, 0.93])           # inside (0, 1)
POS = np.array([0.2, 0.9, 2.0, 4.5])
# distribution, its shape parameters, points inside the support, loc, scale
UNIVARIATE = {
    "norm": ((), X, 0.4, 1.7),
    "t": ((np.array([1.0, 2.5, 7.0, np.inf]),), X, -0.3, 0.8),
    "gamma": ((np.array([0.7, 1.0, 2.5, 5.0]),), POS, -0.1, 1.5),
    "beta": ((np.array([0.6, 2.0, 3.0, 1.0]), np.array([2.5, 0.7, 3.0, 1.0])), U, 0.0, 1.0),
}
METHODS = ("logpdf", "pdf", "cdf", "logcdf")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", sorted(UNIVARIATE))
def test_univariate_values_equal_scipy(name, method):
    shapes, x, loc, scale = UNIVARIATE[name]
    ours, theirs = getattr(getattr(dst, name), method), getattr(getattr(ss, name), method)
    want = theirs(x, *shapes, loc=loc, scale=scale)
    got = _primal(lambda x, loc, scale: ours(x, *shapes, loc=loc, scale=scale),
                  x, np.array(loc), np.array(scale))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # positional loc and scale, as scipy accepts them
    got = _primal(lambda x: ours(x, *shapes, loc, scale), x)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_array_equal(ours(x, *shapes, loc=loc, scale=scale), want)   # plain


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", sorted(UNIVARIATE))
def test_univariate_second_order_in_data_loc_and_scale(name, method):
    shapes, x, loc, scale = UNIVARIATE[name]
    ours = getattr(getattr(dst, name), method)
    if name == "beta":         # keep z = (x - loc) / scale inside (0, 1) under the steps
        loc, scale = -0.05, 1.1
    dt.check_grads(lambda x, loc, scale: ours(x, *shapes, loc=loc, scale=scale),
                   (x, np.array(loc), np.array(scale)), order=2)


@pytest.mark.parametrize("method", ["logpdf", "pdf"])
@pytest.mark.parametrize("name", ["t", "gamma", "beta"])
def test_densities_second_order_in_shape_parameters(name, method):
    shapes, x, loc, scale = UNIVARIATE[name]
    ours = getattr(getattr(dst, name), method)
    dt.check_grads(lambda *s: ours(x, *s, loc=loc, scale=scale), shapes, order=2)


def test_closed_form_derivatives_of_the_normal():
    x, loc, s = X, 0.4, 1.7
    gx, gl, gs = dt.grad(lambda x, m, s: np.sum(dst.norm.logpdf(x, m, s)), argnums=(0, 1, 2))(
        x, np.array(loc), np.array(s))
    np.testing.assert_allclose(gx, -(x - loc) / s ** 2)
    np.testing.assert_allclose(gl, np.sum((x - loc) / s ** 2))
    np.testing.assert_allclose(gs, np.sum(-1 / s + (x - loc) ** 2 / s ** 3))
    h = dt.hessian(lambda x: np.sum(dst.norm.logpdf(x, loc, s)))(x)
    np.testing.assert_allclose(h, -np.eye(4) / s ** 2)
    # d/dx logcdf = pdf / cdf, also far in the left tail (log_ndtr)
    z = np.array([-40.0, 0.0, 3.0])
    g = dt.grad(lambda z: np.sum(dst.norm.logcdf(z)))(z)
    np.testing.assert_allclose(g[1:], ss.norm.pdf(z[1:]) / ss.norm.cdf(z[1:]))
    assert np.isfinite(g[0]) and abs(g[0] - 40.025) < 1e-3


@pytest.mark.parametrize("name", sorted(UNIVARIATE))
def test_cdf_derivative_is_the_density(name):
    shapes, x, loc, scale = UNIVARIATE[name]
    d = getattr(dst, name)
    g = dt.grad(lambda x: np.sum(d.cdf(x, *shapes, loc=loc, scale=scale)))(x)
    np.testing.assert_allclose(g, getattr(ss, name).pdf(x, *shapes, loc=loc, scale=scale),
                               rtol=1e-12)
    g = dt.grad(lambda x: np.sum(d.logcdf(x, *shapes, loc=loc, scale=scale)))(x)
    want = getattr(ss, name).pdf(x, *shapes, loc=loc, scale=scale) / \
        getattr(ss, name).cdf(x, *shapes, loc=loc, scale=scale)
    np.testing.assert_allclose(g, want, rtol=1e-12)


def test_closed_form_shape_derivatives():
    a, z = UNIVARIATE["gamma"][0][0], POS
    np.testing.assert_allclose(dt.grad(lambda a: np.sum(dst.gamma.logpdf(z, a)))(a),
                               np.log(z) - sc.digamma(a), rtol=1e-12)
    a, b = UNIVARIATE["beta"][0]
    ga, gb = dt.grad(lambda a, b: np.sum(dst.beta.logpdf(U, a, b)), argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga, np.log(U) - sc.digamma(a) + sc.digamma(a + b), rtol=1e-12)
    np.testing.assert_allclose(gb, np.log1p(-U) - sc.digamma(b) + sc.digamma(a + b),
                               rtol=1e-12)
    df = np.array([1.0, 2.5, 7.0, 40.0])
    want = 0.5 * (sc.digamma((df + 1) / 2) - sc.digamma(df / 2) - 1 / df
                  - np.log1p(X ** 2 / df) + (df + 1) * X ** 2 / (df ** 2 + df * X ** 2))
    np.testing.assert_allclose(dt.grad(lambda df: np.sum(dst.t.logpdf(X, df)))(df), want,
                               rtol=1e-12)
    # df = inf is the normal distribution (as scipy), where the slope in df is 0
    g = dt.grad(lambda df: np.sum(dst.t.logpdf(X, df)))(np.array([3.0, np.inf, 2.0, 1.0]))
    assert g[1] == 0.0 and np.all(np.isfinite(g))


def test_outside_the_support_and_invalid_parameters_match_scipy():
    with np.errstate(all="ignore"):
        # (x, shapes, which x lie outside the support): there logpdf is -inf, slope 0
        cases = [
            (dst.gamma, ss.gamma, np.array([-1.0, 0.0, 0.0, 2.0]),
             (np.array([2.0, 1.0, 3.0, 0.5]),), [True, False, False, False]),
            (dst.beta, ss.beta, np.array([-0.5, 0.0, 1.0, 1.5]), (2.0, 3.0),
             [True, False, False, True]),
            (dst.gamma, ss.gamma, np.array([1.0, 2.0]), (np.array([-1.0, 2.0]),),
             [False, False]),
        ]
        for ours, theirs, x, shapes, outside in cases:
            for m in METHODS:
                want = getattr(theirs, m)(x, *shapes)
                got = _primal(lambda x: getattr(ours, m)(x, *shapes), x)
                np.testing.assert_allclose(got, want, rtol=1e-13)
                g = dt.grad(lambda x: np.sum(getattr(ours, m)(x, *shapes)))(x)
                np.testing.assert_array_equal(g[outside], 0.0)
        for m in METHODS:     # scale <= 0: NaN, as scipy
            got = _primal(lambda s: getattr(dst.norm, m)(X, 0.0, s),
                          np.array([-1.0, 0.0, 1.0, 2.0]))
            np.testing.assert_array_equal(np.isnan(got), [True, True, False, False])


K = np.array([0.0, 1.0, 3.0, 7.0, -1.0, 2.5])
MU = np.array([0.4, 2.5, 3.0, 6.0, 1.0, 2.0])


@pytest.mark.parametrize("method", ["logpmf", "pmf", "cdf", "logcdf"])
def test_poisson_values_and_derivatives_in_mu(method):
    with np.errstate(divide="ignore"):
        want = getattr(ss.poisson, method)(K, MU)
        got = _primal(lambda mu: getattr(dst.poisson, method)(K, mu), MU)
    np.testing.assert_allclose(got, want, rtol=1e-13)
    dt.check_grads(lambda mu: getattr(dst.poisson, method)(K[:4], mu), (MU[:4],), order=2)
    np.testing.assert_allclose(_primal(lambda mu: getattr(dst.poisson, method)(K + 1, mu,
                                                                               loc=1), MU),
                               want, rtol=1e-13)


def test_poisson_closed_forms():
    k, mu = K[:4], MU[:4]
    np.testing.assert_allclose(dt.grad(lambda mu: np.sum(dst.poisson.logpmf(k, mu)))(mu),
                               k / mu - 1)
    # d/dmu P(K <= k) = -pmf(floor k; mu)
    k = np.array([0.0, 2.5, 4.0])
    mu = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(dt.grad(lambda mu: np.sum(dst.poisson.cdf(k, mu)))(mu),
                               -ss.poisson.pmf(np.floor(k), mu), rtol=1e-12)


# ---- multivariate --------------------------------------------------------------------
RNG = np.random.default_rng(3)
M = RNG.standard_normal(3)
_a = RNG.standard_normal((3, 3))
COV = _a @ _a.T + np.eye(3)
PTS = RNG.standard_normal((4, 3))


@pytest.mark.parametrize("method", ["logpdf", "pdf"])
@pytest.mark.parametrize("x,mean,cov", [
    (PTS, M, COV), (PTS[0], M, COV), (PTS[:1], None, COV), (PTS, M, np.array([1.0, 2.0, 0.5])),
    (np.array([0.3, -1.0]), 0.5, 2.0), (np.array(0.3), None, 2.0),
    (RNG.standard_normal((2, 4, 3)), M, COV)])
def test_multivariate_normal_values_equal_scipy(method, x, mean, cov):
    want = getattr(ss.multivariate_normal, method)(x, mean, cov)
    args = [np.asarray(x, float)] + [np.asarray(v, float) for v in (mean, cov) if v is not None]

    def f(x, *rest):
        m, c = (rest if mean is not None else (None,) + rest)
        return getattr(dst.multivariate_normal, method)(x, m, c)
    got = _primal(f, *args)
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_multivariate_normal_derivatives():
    f = dst.multivariate_normal.logpdf
    dt.check_grads(f, (PTS, M, COV), order=2)
    dt.check_grads(lambda x, m, c: dst.multivariate_normal.pdf(x, m, c), (PTS[0], M, COV),
                   order=2)
    r = PTS[0] - M
    si = np.linalg.inv(COV)
    gx, gm, gc = dt.grad(f, argnums=(0, 1, 2))(PTS[0], M, COV)
    np.testing.assert_allclose(gx, -si @ r, rtol=1e-12)
    np.testing.assert_allclose(gm, si @ r, rtol=1e-12)
    sym = -0.5 * (si - np.outer(si @ r, si @ r))
    np.testing.assert_allclose(gc, np.tril(2 * sym) - np.diag(np.diag(sym)), rtol=1e-12)
    # scipy too reads only the lower triangle: a change above the diagonal does nothing
    up = COV + np.triu(np.ones((3, 3)), 1)
    np.testing.assert_allclose(ss.multivariate_normal.logpdf(PTS, M, up),
                               ss.multivariate_normal.logpdf(PTS, M, COV), rtol=1e-14)
    np.testing.assert_allclose(_primal(f, PTS, M, up), f(PTS, M, COV), rtol=1e-13)
    gc = dt.grad(lambda c: f(PTS[0], M, 0.5 * (c + c.T)))(COV)     # symmetrised by hand
    np.testing.assert_allclose(gc, sym, rtol=1e-12)
    np.testing.assert_allclose(dt.hessian(lambda x: f(x, M, COV))(PTS[0]), -si, rtol=1e-12)


def test_dirichlet():
    alpha = np.array([1.5, 2.0, 3.0, 0.8])
    x = RNG.dirichlet(alpha, 5).T                  # components first, as scipy
    for method in ("logpdf", "pdf"):
        want = getattr(ss.dirichlet, method)(x, alpha)
        got = _primal(lambda x, a: getattr(dst.dirichlet, method)(x, a), x, alpha)
        np.testing.assert_allclose(got, want, rtol=1e-12)
        got = _primal(lambda a: getattr(dst.dirichlet, method)(x[:-1], a), alpha)  # k - 1
        np.testing.assert_allclose(got, want, rtol=1e-12)
        got = _primal(lambda a: getattr(dst.dirichlet, method)(x[:, 0], a), alpha)
        np.testing.assert_allclose(got, getattr(ss.dirichlet, method)(x[:, 0], alpha),
                                   rtol=1e-12)
    # d/dalpha = log x - digamma(alpha) + digamma(sum alpha); d/dx = (alpha - 1) / x
    ga = dt.grad(lambda a: dst.dirichlet.logpdf(x[:, 0], a))(alpha)
    np.testing.assert_allclose(ga, np.log(x[:, 0]) - sc.digamma(alpha)
                               + sc.digamma(alpha.sum()), rtol=1e-12)
    gx = dt.grad(lambda v: dst.dirichlet.logpdf(v, alpha))(x[:, 0])
    np.testing.assert_allclose(gx, (alpha - 1) / x[:, 0], rtol=1e-12)
    dt.check_grads(lambda a: dst.dirichlet.logpdf(x, a), (alpha,), order=2)
    dt.check_grads(lambda v: dst.dirichlet.logpdf(v, alpha), (x[:-1],), order=2)
    with pytest.raises(ValueError, match="simplex"):
        dt.grad(lambda a: dst.dirichlet.logpdf(x[:, 0] * 0.9, a))(alpha)
    with pytest.raises(ValueError, match="greater than 0"):
        dt.grad(lambda a: dst.dirichlet.logpdf(x[:, 0], a - 1))(alpha)


def test_what_has_no_derivative_raises():
    x = np.array([0.5, 1.5])
    cases = [
        (lambda df: dst.t.cdf(x, df), "t.cdf: no derivative with respect to df"),
        (lambda a: dst.gamma.logcdf(x, a), "gamma.logcdf: no derivative with respect to a"),
        (lambda a: dst.beta.cdf(x / 2, a, 2.0), "beta.cdf: no derivative with respect to a, b"),
        (lambda k: dst.poisson.logpmf(k, 2.0), "poisson.logpmf: the count k"),
        (lambda loc: dst.poisson.cdf(x, 2.0, loc), "poisson.cdf: the count k and loc"),
        (lambda m: dst.multivariate_normal.cdf(x, m), "multivariate_normal.cdf is computed"),
    ]
    for fn, msg in cases:
        with pytest.raises(TypeError, match=msg):
            dt.grad(lambda v: np.sum(fn(v)))(x)
        with pytest.raises(TypeError, match=msg):
            dt.jvp(fn, (x,), (np.ones(2),))
    # plain values: scipy's integration
    np.testing.assert_array_equal(dst.multivariate_normal.cdf(x, None, np.eye(2)),
                                  ss.multivariate_normal.cdf(x, None, np.eye(2)))
    # scipy.stats itself converts its input: a loud error, never a dropped derivative
    with pytest.raises(TypeError, match="traced value"):
        dt.grad(lambda v: np.sum(ss.norm.logpdf(v)))(x)


def test_signature_errors():
    x = np.array([0.5])
    with pytest.raises(TypeError, match="missing required argument"):
        dt.grad(lambda v: np.sum(dst.t.logpdf(v)))(x)
    with pytest.raises(TypeError, match="unexpected keyword argument 'mu'"):
        dt.grad(lambda v: np.sum(dst.norm.logpdf(v, mu=1.0)))(x)
    with pytest.raises(TypeError, match="multiple values for 'loc'"):
        dt.grad(lambda v: np.sum(dst.norm.logpdf(v, 1.0, loc=1.0)))(x)
    with pytest.raises(TypeError, match="at most"):
        dt.grad(lambda v: np.sum(dst.norm.logpdf(v, 0.0, 1.0, 2.0)))(x)
    with pytest.raises(ValueError, match="must be of shape"):
        dt.grad(lambda v: dst.multivariate_normal.logpdf(v, np.zeros(2), np.eye(3)))(
            np.zeros(2))


def test_generated_function_list_names_the_scipy_namespaces():
    from dualtape.report import functions_markdown
    md = functions_markdown()
    assert "`dualtape.scipy.stats`: `beta.cdf`" in md and "`norm.logpdf`" in md
    assert "`poisson.logpmf`" in md and "`multivariate_normal.logpdf`" in md
    assert "`dualtape.scipy.linalg`: `cho_factor`" in md and "`sqrtm`" in md


def test_global_sparsity_holds_for_every_input():
    # support and parameter masks are comparisons of the traced values: global detection
    # takes both branches, so the pattern is the density's own (elementwise here)
    x = np.array([0.3, -1.2, 2.5])
    for f in (dst.norm.logpdf, dst.norm.cdf, lambda x: dst.gamma.logpdf(x, 2.0),
              lambda x: dst.beta.logcdf(x / 3, 2.0, 3.0), lambda s: dst.t.pdf(1.0, 3.0, 0.0, s),
              lambda mu: dst.poisson.logpmf(np.array([1.0, 2.0, 3.0]), mu * mu)):
        np.testing.assert_array_equal(dt.sparsity(f, x).toarray(), np.eye(3, dtype=bool))


@pytest.mark.parametrize("name", ["norm", "t", "gamma", "beta"])
@pytest.mark.parametrize("method", ["logpdf", "pdf", "logcdf", "cdf"])
def test_signature_shows_scipys_shape_parameters_and_each_is_accepted(name, method):
    import inspect
    fn = getattr(getattr(dst, name), method)
    scipy_dist = getattr(ss, name)
    shapes = scipy_dist.shapes.split(", ") if scipy_dist.shapes else []
    shown = inspect.signature(fn)
    assert list(shown.parameters) == ["x", *shapes, "loc", "scale"]
    assert (shown.parameters["loc"].default, shown.parameters["scale"].default) == (0, 1)
    x = 0.35                                          # inside every support here
    kwargs = {"x": x, **{s: 2.5 for s in shapes}, "loc": 0.1, "scale": 1.5}
    want = getattr(scipy_dist, method)(x, *[2.5] * len(shapes), loc=0.1, scale=1.5)
    assert fn(**kwargs) == pytest.approx(want, rel=1e-13)
    traced = _primal(lambda v: fn(**{**kwargs, "x": v}), np.float64(x))
    assert float(traced) == pytest.approx(want, rel=1e-12)
    assert fn(*kwargs.values()) == pytest.approx(want, rel=1e-13)


def test_a_distribution_keeps_its_own_methods_under_the_shown_signature():
    import inspect

    from dualtape.scipy.stats._univariate import _LocScale

    class Scaled(type(dst.t)):
        def logpdf(self, x, *args, **kwds):
            return 2.0 * super().logpdf(x, *args, **kwds)

    class Again(Scaled):                                # inherits Scaled's, wrapped once
        pass

    for cls in (Scaled, Again):
        d = cls()
        assert list(inspect.signature(d.logpdf).parameters) == ["x", "df", "loc", "scale"]
        assert d.logpdf(0.3, 4.0) == pytest.approx(2.0 * ss.t.logpdf(0.3, 4.0), rel=1e-13)
        assert d.cdf(0.3, df=4.0) == pytest.approx(ss.t.cdf(0.3, 4.0), rel=1e-13)
    assert issubclass(Scaled, _LocScale)
