"""``dualtape.scipy.stats``: log-densities, densities and CDFs of scipy.stats
distributions, differentiable in the data and in the parameters, in every mode.

Each distribution is an object whose methods take scipy.stats' signatures
(``norm.logpdf(x, loc=0, scale=1)``, ``t.cdf(x, df, loc=0, scale=1)``,
``multivariate_normal.logpdf(x, mean=None, cov=1)``, ``poisson.logpmf(k, mu, loc=0)``,
...).  On plain arrays a method returns scipy.stats' own result; on traced values it is
built from dualtape's primitives.  scipy.stats' own functions convert their input with
``numpy.asarray``, so on a traced value they raise TypeError (never a dropped
derivative): call these instead.

Univariate: ``norm``, ``t``, ``gamma``, ``beta`` (logpdf, pdf, logcdf, cdf) and
``poisson`` (logpmf, pmf, logcdf, cdf).  Multivariate: ``multivariate_normal`` (logpdf,
pdf; cdf and logcdf on plain values only) and ``dirichlet`` (logpdf, pdf; scipy has no
CDF for it).

What has no derivative raises TypeError when it is traced: the shape parameters of the
CDFs of ``t`` (df), ``gamma`` (a) and ``beta`` (a, b), whose derivatives (of incomplete
beta/gamma functions in their parameters) have no closed form, and poisson's count
``k`` and ``loc``.  Outside the support the log-density is -inf (derivative 0); for
invalid parameters (scale <= 0, a <= 0, ...) every result is NaN, as in scipy.
"""

from __future__ import annotations

from ._multivariate import dirichlet, multivariate_normal
from ._univariate import beta, gamma, norm, poisson, t

__all__ = ["beta", "dirichlet", "gamma", "multivariate_normal", "norm", "poisson", "t"]
