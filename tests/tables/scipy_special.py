"""Rows for the primitives of ``dualtape.primitives.scipy_special`` and the functions
``dualtape.scipy.special`` adds on top of tables/special.py (see ``tables/__init__.py``).

The incomplete gamma/beta functions are differentiable in their last argument only;
their rows hold the shape parameters fixed.  ``SCIPY_FUNCTIONS`` runs in
tests/test_scipy_special.py (the primitive table test does not know the namespace)."""

from __future__ import annotations

import numpy as np

import dualtape.scipy.special as dss
from dualtape.primitives import scipy_special as ss

from tables import Row, _away_from_zero, _positive, _real


def _uniform(low, high, *shapes):
    return lambda rng: tuple(rng.uniform(low, high, s) for s in shapes)


def _gamma_domain(rng):
    # both signs of Gamma: (0.5, 3) and (-2.8, -2.2) (between poles)
    x = rng.uniform(0.5, 3.0, (2, 3))
    x[0, :2] = rng.uniform(-2.8, -2.2, 2)
    return (x,)


def _two(low, high):
    # two broadcasting arguments
    return lambda rng: (rng.uniform(low, high, (2, 3)), rng.uniform(low, high, (3,)))


A = np.array([0.7, 1.5, 3.0])      # fixed shape parameters of the incomplete functions
B = np.array([2.0, 0.8, 1.3])
DF = np.array([1.5, 4.0, 30.0])

PRIMITIVES: dict[str, Row] = {
    "gamma": Row(ss.gamma, _gamma_domain),
    "beta": Row(ss.beta, _two(0.5, 3.0)),
    "betaln": Row(ss.betaln, _two(0.5, 3.0)),
    "erfinv": Row(ss.erfinv, _uniform(-0.9, 0.9, (2, 3))),
    "ndtri": Row(ss.ndtri, _uniform(0.05, 0.95, (2, 3))),
    "log_ndtr": Row(ss.log_ndtr, lambda r: (r.uniform(-8.0, 4.0, (2, 3)),)),
    "xlog1py": Row(ss.xlog1py, lambda r: (r.standard_normal((2, 3)), r.uniform(-0.5, 2.0, 3))),
    "rel_entr": Row(ss.rel_entr, _two(0.3, 2.0)),
    "iv": Row(lambda x: ss.iv(0, x) * ss.iv(1, x) + ss.iv(3, x), _real((2, 3))),
    "ive": Row(lambda x: ss.ive(0, x) * ss.ive(1, x) + ss.ive(2, x), _away_from_zero),
    "gammainc": Row(lambda x: ss.gammainc(A, x), _uniform(0.3, 3.0, (2, 3))),
    "gammaincc": Row(lambda x: ss.gammaincc(A, x), _uniform(0.3, 3.0, (2, 3))),
    "betainc": Row(lambda x: ss.betainc(A, B, x), _uniform(0.1, 0.9, (2, 3))),
    "stdtr": Row(lambda x: ss.stdtr(DF, x), _real((2, 3))),
}

SCIPY_FUNCTIONS: dict[str, Row] = {
    "gamma": Row(dss.gamma, _positive((3,))),
    "beta": Row(dss.beta, _two(0.5, 3.0)),
    "betaln": Row(dss.betaln, _two(0.5, 3.0)),
    "erfinv": Row(dss.erfinv, _uniform(-0.9, 0.9, (3,))),
    "ndtr": Row(dss.ndtr, lambda r: (3.0 * r.standard_normal(3),)),
    "log_ndtr": Row(dss.log_ndtr, lambda r: (3.0 * r.standard_normal(3),)),
    "ndtri": Row(dss.ndtri, _uniform(0.05, 0.95, (3,))),
    "xlog1py": Row(dss.xlog1py, lambda r: (r.standard_normal(3), r.uniform(-0.5, 2.0, 3))),
    "entr": Row(dss.entr, _positive((3,))),
    "rel_entr": Row(dss.rel_entr, _two(0.3, 2.0)),
    "i0": Row(dss.i0, _real((3,))),
    "i1": Row(dss.i1, _real((3,))),
    "i0e": Row(dss.i0e, _away_from_zero),
    "i1e": Row(dss.i1e, _away_from_zero),
    "iv": Row(lambda x: dss.iv(2, x), _real((3,))),
    "ive": Row(lambda x: dss.ive(np.array(3), x), _away_from_zero),
    "multigammaln": Row(lambda a: dss.multigammaln(a, 3), _uniform(1.2, 4.0, (2, 3))),
    "softplus": Row(dss.softplus, lambda r: (3.0 * r.standard_normal(3),)),
    "gammainc": Row(lambda x: dss.gammainc(A, x), _uniform(0.3, 3.0, (3,))),
    "gammaincc": Row(lambda x: dss.gammaincc(A, x), _uniform(0.3, 3.0, (3,))),
    "betainc": Row(lambda x: dss.betainc(A, B, x), _uniform(0.1, 0.9, (3,))),
    "stdtr": Row(lambda x: dss.stdtr(DF, x), _real((3,))),
}
