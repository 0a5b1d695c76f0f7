"""multivariate_normal (through the Cholesky factor of cov) and dirichlet."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...numpy import _construct
from ...numpy import linalg as _dla
from .. import special as _sp
from ._univariate import _checked, _scalar, _traced

_LOG_2PI = math.log(2.0 * math.pi)


def _scipy(name: str) -> Any:
    import scipy.stats
    return getattr(scipy.stats, name)


class _MultivariateNormal:
    """The multivariate normal: ``multivariate_normal.logpdf(x, mean=None, cov=1)`` and
    ``pdf``, differentiable in x, mean and cov.

    Shapes as scipy: x (..., d) (for d = 1 also (...,)); mean (d,) or None (zeros);
    cov a scalar (times the identity), (d,) (a diagonal) or (d, d) positive definite;
    the result has x's shape without its last axis, squeezed as scipy squeezes it.
    As scipy, only the lower triangle of cov is read, so the gradient with respect to
    cov is lower triangular: with G = -(S^-1 - S^-1 r r^T S^-1) / 2 (the symmetric
    gradient, one point r = x - mean) it is G on the diagonal and 2 G below it.  Pass
    (c + c.T) / 2 for a symmetric gradient G.  On traced values cov must be positive
    definite (a singular one raises LinAlgError, whatever ``allow_singular`` says).
    ``cdf`` and ``logcdf`` (numerical integration) work on plain values only."""

    def __repr__(self) -> str:
        return "<dualtape.scipy.stats.multivariate_normal>"

    def _parameters(self, mean: Any, cov: Any) -> tuple:
        if mean is None:
            c = _checked(cov)
            dim = 1 if c.ndim < 2 else c.shape[0]
            mean = np.zeros(dim)
        mean = _construct.asarray(mean)
        if mean.ndim > 1:
            raise ValueError("multivariate_normal: array 'mean' must be a vector of "
                             "length dim")
        dim = int(np.prod(mean.shape)) if mean.ndim else 1
        mean = mean.reshape((dim,))
        cov = _construct.asarray(cov)
        if cov.ndim == 0:
            cov = cov * np.eye(dim)
        elif cov.ndim == 1:
            cov = cov[:, None] * np.eye(dim)
        if cov.shape != (dim, dim):
            raise ValueError(f"multivariate_normal: array 'cov' must be of shape "
                             f"({dim}, {dim}), got {cov.shape}")
        return dim, mean, cov

    def logpdf(self, x: Any, mean: Any = None, cov: Any = 1, allow_singular: bool = False) -> Any:
        """log N(x; mean, cov); x (..., d) -> (...), squeezed as scipy."""
        if not _traced(x, mean, cov):
            return _scipy("multivariate_normal").logpdf(x, mean, cov,
                                                        allow_singular=allow_singular)
        dim, mean, cov = self._parameters(mean, cov)
        x = _construct.asarray(x)
        if x.ndim == 0:
            x = x.reshape((1,))
        if x.ndim == 1 and dim == 1:
            x = x[:, None]
        if x.shape[-1] != dim:
            raise ValueError(f"multivariate_normal.logpdf: x's last axis has length "
                             f"{x.shape[-1]}, the distribution dimension is {dim}")
        chol = _dla.cholesky(cov)                  # reads the lower triangle, as scipy
        r = (x - mean).reshape((-1, dim))
        z = _dla.solve(chol, r.T)                  # L^-1 r for every point, (d, n)
        maha = np.sum(z * z, axis=0)
        logdet = 2.0 * np.sum(np.log(np.diagonal(chol)))
        out = -0.5 * (dim * _LOG_2PI + logdet + maha)
        return _scalar(out.reshape(tuple(s for s in x.shape[:-1] if s != 1)))

    def pdf(self, x: Any, mean: Any = None, cov: Any = 1, allow_singular: bool = False) -> Any:
        """N(x; mean, cov); shapes as ``logpdf``."""
        if not _traced(x, mean, cov):
            return _scipy("multivariate_normal").pdf(x, mean, cov,
                                                     allow_singular=allow_singular)
        return np.exp(self.logpdf(x, mean, cov))

    def cdf(self, x: Any, mean: Any = None, cov: Any = 1, **kwds: Any) -> Any:
        """scipy's CDF (numerical integration): plain values only."""
        return self._integral("cdf", x, mean, cov, kwds)

    def logcdf(self, x: Any, mean: Any = None, cov: Any = 1, **kwds: Any) -> Any:
        """scipy's log-CDF (numerical integration): plain values only."""
        return self._integral("logcdf", x, mean, cov, kwds)

    def _integral(self, method: str, x: Any, mean: Any, cov: Any, kwds: dict) -> Any:
        if _traced(x, mean, cov):
            raise TypeError(f"multivariate_normal.{method} is computed by numerical "
                            f"integration and has no derivative rule in dualtape; call it "
                            f"on plain values")
        return getattr(_scipy("multivariate_normal"), method)(x, mean, cov, **kwds)


class _Dirichlet:
    """The Dirichlet distribution: ``dirichlet.logpdf(x, alpha)`` and ``pdf``,
    differentiable in x and alpha.  As scipy: alpha (k,); x (k, ...) or (k - 1, ...)
    (the last component is then 1 - the others' sum), components on the first axis,
    each in [0, 1] and summing to 1; the result has shape x.shape[1:]."""

    def __repr__(self) -> str:
        return "<dualtape.scipy.stats.dirichlet>"

    def _check(self, x: Any, alpha: Any) -> Any:
        a = _checked(alpha)
        if a.ndim != 1:
            raise ValueError("dirichlet: parameter vector 'alpha' must be one dimensional")
        if np.any(a <= 0):
            raise ValueError("dirichlet: all parameters must be greater than 0")
        x = _construct.asarray(x)
        k = a.shape[0]
        if x.shape[0] == k - 1:
            x = _construct.asarray(_concat(x, 1.0 - np.sum(x, axis=0, keepdims=True)))
        elif x.shape[0] != k:
            raise ValueError(f"dirichlet: vector 'x' must have either the same number of "
                             f"entries as, or one entry fewer than, parameter vector "
                             f"'alpha', but alpha.shape = {a.shape} and x.shape = {x.shape}")
        xp = _checked(x)
        if np.any(xp < 0) or np.any(xp > 1):
            raise ValueError("dirichlet: each entry in 'x' must be in [0, 1]")
        if np.any(np.abs(np.sum(xp, axis=0) - 1.0) > 10e-10):
            raise ValueError("dirichlet: the input vector 'x' must lie within the normal "
                             "simplex, but its entries sum to something other than 1")
        return x

    def logpdf(self, x: Any, alpha: Any) -> Any:
        """log Dir(x; alpha); x (k, ...) -> (...)."""
        if not _traced(x, alpha):
            return _scipy("dirichlet").logpdf(x, alpha)
        x = self._check(x, alpha)
        alpha = _construct.asarray(alpha)
        lnb = np.sum(_sp.gammaln(alpha)) - _sp.gammaln(np.sum(alpha))
        am1 = (alpha - 1.0).reshape((-1,) + (1,) * (x.ndim - 1))
        return _scalar(np.sum(_sp.xlogy(am1, x), axis=0) - lnb)

    def pdf(self, x: Any, alpha: Any) -> Any:
        """Dir(x; alpha); shapes as ``logpdf``."""
        if not _traced(x, alpha):
            return _scipy("dirichlet").pdf(x, alpha)
        return np.exp(self.logpdf(x, alpha))


def _concat(a: Any, b: Any) -> Any:
    return np.concatenate([a, b], axis=0)


multivariate_normal = _MultivariateNormal()
dirichlet = _Dirichlet()
