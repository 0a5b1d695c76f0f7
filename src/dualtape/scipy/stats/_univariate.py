"""norm, t, gamma, beta and poisson: each one standardised log-density and CDF, shifted
and scaled by one shared mechanism (``_LocScale``), as scipy.stats' rv_continuous does.
"""

from __future__ import annotations

import functools
import inspect
import math
from typing import Any, Callable

import numpy as np

from ...registry import Tracer, value_of
from .. import special as _sp

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _traced(*xs: Any) -> bool:
    return any(isinstance(x, Tracer) for x in xs)


def _checked(x: Any) -> np.ndarray:
    """The plain value of ``x`` for an error check (which decides no dependence)."""
    return np.asarray(value_of(x, structural=False))


def _scalar(out: Any) -> Any:
    # scipy returns numpy scalars for 0-d results
    return out[()] if getattr(out, "ndim", None) == 0 and not isinstance(out, Tracer) else out


def _shown_as(method: Callable[..., Any], sig: inspect.Signature) -> Callable[..., Any]:
    """``method`` under its own name, showing ``sig`` to inspect.signature and help()."""
    @functools.wraps(method)
    def shown(self: Any, x: Any, *args: Any, **kwds: Any) -> Any:
        return method(self, x, *args, **kwds)
    setattr(shown, "__signature__", sig)     # noqa: B010 (read by inspect)
    return shown


class _LocScale:
    """A continuous distribution with shape parameters ``shapes`` and loc/scale.

    Subclasses give the standardised ``_logpdf(z, *shapes)``, ``_cdf(z, *shapes)``
    (and ``_logcdf`` when log(cdf) loses digits), the support ``[lo, hi]`` of z, a point
    ``inner`` inside it, ``_valid(*shapes)`` (plain), and ``cdf_shapes_differentiable``.
    """

    name = ""
    shapes: tuple[str, ...] = ()
    lo, hi, inner = -np.inf, np.inf, 0.0
    cdf_shapes_differentiable = True
    # A subclass's own, over its own shape parameters: (z, *shapes) -> array.
    _logpdf: Callable[..., Any]
    _cdf: Callable[..., Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # help() and IDEs show what _parse accepts, (x, <shapes>, loc=0, scale=1), where
        # scipy.stats shows only (x, *args, **kwds)
        P = inspect.Parameter
        sig = inspect.Signature(
            [P(n, P.POSITIONAL_OR_KEYWORD) for n in ("self", "x", *cls.shapes)]
            + [P("loc", P.POSITIONAL_OR_KEYWORD, default=0),
               P("scale", P.POSITIONAL_OR_KEYWORD, default=1)])
        for name in ("logpdf", "pdf", "logcdf", "cdf"):    # the class's own, if it has one
            setattr(cls, name, _shown_as(inspect.unwrap(getattr(cls, name)), sig))

    def __repr__(self) -> str:
        return f"<dualtape.scipy.stats.{self.name}>"

    def _scipy(self) -> Any:
        import scipy.stats
        return getattr(scipy.stats, self.name)

    def _parse(self, method: str, args: tuple, kwds: dict) -> tuple:
        names = self.shapes + ("loc", "scale")
        if len(args) > len(names):
            raise TypeError(f"{self.name}.{method}() takes at most {len(names) + 1} "
                            f"positional arguments ({len(args) + 1} given)")
        vals = dict(zip(names, args))
        for k, v in kwds.items():
            if k not in names:
                raise TypeError(f"{self.name}.{method}() got an unexpected keyword "
                                f"argument {k!r}")
            if k in vals:
                raise TypeError(f"{self.name}.{method}() got multiple values for {k!r}")
            vals[k] = v
        missing = [s for s in self.shapes if s not in vals]
        if missing:
            raise TypeError(f"{self.name}.{method}() missing required argument(s) "
                            f"{', '.join(map(repr, missing))}")
        return tuple(vals[s] for s in self.shapes), vals.get("loc", 0.0), vals.get("scale", 1.0)

    def _standardise(self, x: Any, shapes: tuple, loc: Any, scale: Any) -> tuple:
        # The masks are comparisons of the (traced) values themselves, not of plain
        # copies: the modes see plain booleans, and global sparsity detection a selector
        # that may go either way, so its patterns hold for every input.
        ok = np.logical_and(self._valid(*shapes), scale > 0)
        scale = np.where(ok, scale, 1.0)
        z = (x - loc) / scale
        inside = np.logical_and(z >= self.lo, z <= self.hi)
        return ok, z, scale, inside, z

    def logpdf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        shapes, loc, scale = self._parse("logpdf", args, kwds)
        if not _traced(x, *shapes, loc, scale):
            return self._scipy().logpdf(x, *shapes, loc=loc, scale=scale)
        ok, z, scale, inside, _ = self._standardise(x, shapes, loc, scale)
        val = self._logpdf(np.where(inside, z, self.inner), *shapes) - np.log(scale)
        return _scalar(np.where(ok, np.where(inside, val, -np.inf), np.nan))

    def pdf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        shapes, loc, scale = self._parse("pdf", args, kwds)
        if not _traced(x, *shapes, loc, scale):
            return self._scipy().pdf(x, *shapes, loc=loc, scale=scale)
        return np.exp(self.logpdf(x, *shapes, loc=loc, scale=scale))

    def _check_cdf_shapes(self, method: str, shapes: tuple) -> None:
        if not self.cdf_shapes_differentiable and _traced(*shapes):
            raise TypeError(
                f"{self.name}.{method}: no derivative with respect to "
                f"{', '.join(self.shapes)} (the derivative of an incomplete beta/gamma "
                f"function in its parameters has no closed form); pass them as plain "
                f"values (x, loc and scale stay differentiable)")

    def cdf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        shapes, loc, scale = self._parse("cdf", args, kwds)
        if not _traced(x, *shapes, loc, scale):
            return self._scipy().cdf(x, *shapes, loc=loc, scale=scale)
        self._check_cdf_shapes("cdf", shapes)
        ok, z, scale, inside, zp = self._standardise(x, shapes, loc, scale)
        val = self._cdf(np.where(inside, z, self.inner), *shapes)
        out = np.where(inside, val, np.where(zp > self.hi, 1.0, 0.0))
        return _scalar(np.where(ok, out, np.nan))

    def logcdf(self, x: Any, *args: Any, **kwds: Any) -> Any:
        shapes, loc, scale = self._parse("logcdf", args, kwds)
        if not _traced(x, *shapes, loc, scale):
            return self._scipy().logcdf(x, *shapes, loc=loc, scale=scale)
        self._check_cdf_shapes("logcdf", shapes)
        ok, z, scale, inside, zp = self._standardise(x, shapes, loc, scale)
        with np.errstate(divide="ignore"):      # log 0 = -inf, scipy's value there too
            val = self._logcdf(np.where(inside, z, self.inner), *shapes)
        out = np.where(inside, val, np.where(zp > self.hi, 0.0, -np.inf))
        return _scalar(np.where(ok, out, np.nan))

    def _logcdf(self, z: Any, *shapes: Any) -> Any:
        return np.log(self._cdf(z, *shapes))

    # which shape parameters are valid (plain); a subclass with shapes has its own
    _valid: Callable[..., Any] = staticmethod(lambda *shapes: True)


class _Norm(_LocScale):
    """The normal distribution: ``norm.logpdf(x, loc=0, scale=1)`` and pdf, cdf, logcdf."""

    name = "norm"

    def _logpdf(self, z: Any) -> Any:
        return -0.5 * (z * z) - _LOG_SQRT_2PI

    def _cdf(self, z: Any) -> Any:
        return _sp.ndtr(z)

    def _logcdf(self, z: Any) -> Any:
        return _sp.log_ndtr(z)        # log(ndtr) underflows in the left tail


class _T(_LocScale):
    """Student's t: ``t.logpdf(x, df, loc=0, scale=1)`` and pdf, cdf, logcdf.  The CDFs
    are not differentiable in ``df`` (TypeError when it is traced)."""

    name = "t"
    shapes = ("df",)
    cdf_shapes_differentiable = False

    # df = inf is the normal distribution, as in scipy
    def _logpdf(self, z: Any, df: Any) -> Any:
        finite = np.isfinite(df)
        df = np.where(finite, df, 1.0)
        val = (_sp.gammaln(0.5 * (df + 1.0)) - _sp.gammaln(0.5 * df)
               - 0.5 * np.log(np.pi * df) - 0.5 * (df + 1.0) * np.log1p(z * z / df))
        return np.where(finite, val, norm._logpdf(z))

    def _cdf(self, z: Any, df: Any) -> Any:
        finite = np.isfinite(df)
        return np.where(finite, _sp.stdtr(np.where(finite, df, 1.0), z), norm._cdf(z))

    def _valid(self, df: np.ndarray) -> Any:
        return df > 0


class _Gamma(_LocScale):
    """The gamma distribution: ``gamma.logpdf(x, a, loc=0, scale=1)`` and pdf, cdf,
    logcdf.  The CDFs are not differentiable in ``a`` (TypeError when it is traced)."""

    name = "gamma"
    shapes = ("a",)
    lo, inner = 0.0, 1.0
    cdf_shapes_differentiable = False

    def _logpdf(self, z: Any, a: Any) -> Any:
        return _sp.xlogy(a - 1.0, z) - z - _sp.gammaln(a)

    def _cdf(self, z: Any, a: Any) -> Any:
        return _sp.gammainc(a, z)

    def _valid(self, a: np.ndarray) -> Any:
        return a > 0


class _Beta(_LocScale):
    """The beta distribution: ``beta.logpdf(x, a, b, loc=0, scale=1)`` and pdf, cdf,
    logcdf.  The CDFs are not differentiable in ``a``, ``b`` (TypeError when traced)."""

    name = "beta"
    shapes = ("a", "b")
    lo, hi, inner = 0.0, 1.0, 0.5
    cdf_shapes_differentiable = False

    def _logpdf(self, z: Any, a: Any, b: Any) -> Any:
        return _sp.xlog1py(b - 1.0, -z) + _sp.xlogy(a - 1.0, z) - _sp.betaln(a, b)

    def _cdf(self, z: Any, a: Any, b: Any) -> Any:
        return _sp.betainc(a, b, z)

    def _valid(self, a: np.ndarray, b: np.ndarray) -> Any:
        return np.logical_and(a > 0, b > 0)


class _Poisson:
    """The Poisson distribution: ``poisson.logpmf(k, mu, loc=0)`` and pmf, cdf, logcdf;
    differentiable in ``mu``.  The count ``k`` and ``loc`` have no derivative
    (TypeError when they are traced)."""

    name = "poisson"

    def __repr__(self) -> str:
        return "<dualtape.scipy.stats.poisson>"

    def _prepare(self, method: str, k: Any, mu: Any, loc: Any) -> tuple:
        if _traced(k, loc):
            raise TypeError(f"poisson.{method}: the count k and loc are integers and have "
                            f"no derivative; pass them as plain values (mu stays "
                            f"differentiable)")
        k = np.asarray(k, dtype=float) - np.asarray(loc, dtype=float)
        ok = mu >= 0
        return k, ok, np.where(ok, mu, 1.0)

    def _scipy(self) -> Any:
        import scipy.stats
        return scipy.stats.poisson

    def logpmf(self, k: Any, mu: Any, loc: Any = 0) -> Any:
        if not _traced(k, mu, loc):
            return self._scipy().logpmf(k, mu, loc=loc)
        k, ok, mu = self._prepare("logpmf", k, mu, loc)
        inside = np.logical_and(k >= 0, k == np.floor(k))
        ks = np.where(inside, k, 0.0)
        val = _sp.xlogy(ks, mu) - _sp.gammaln(ks + 1.0) - mu
        return _scalar(np.where(ok, np.where(inside, val, -np.inf), np.nan))

    def pmf(self, k: Any, mu: Any, loc: Any = 0) -> Any:
        if not _traced(k, mu, loc):
            return self._scipy().pmf(k, mu, loc=loc)
        return np.exp(self.logpmf(k, mu, loc))

    def _cdf(self, method: str, k: Any, mu: Any, loc: Any, log: bool) -> Any:
        k, ok, mu = self._prepare(method, k, mu, loc)
        inside = k >= 0
        # P(K <= k) = Q(floor(k) + 1, mu), the regularised upper incomplete gamma
        val = _sp.gammaincc(np.floor(np.where(inside, k, 0.0)) + 1.0, mu)
        if log:
            with np.errstate(divide="ignore"):
                val = np.log(val)
        return _scalar(np.where(ok, np.where(inside, val, -np.inf if log else 0.0), np.nan))

    def cdf(self, k: Any, mu: Any, loc: Any = 0) -> Any:
        if not _traced(k, mu, loc):
            return self._scipy().cdf(k, mu, loc=loc)
        return self._cdf("cdf", k, mu, loc, log=False)

    def logcdf(self, k: Any, mu: Any, loc: Any = 0) -> Any:
        if not _traced(k, mu, loc):
            return self._scipy().logcdf(k, mu, loc=loc)
        return self._cdf("logcdf", k, mu, loc, log=True)


norm = _Norm()
t = _T()
gamma = _Gamma()
beta = _Beta()
poisson = _Poisson()
