"""Rows for scipy.special's functions and log-sum-exp (see ``tables/__init__.py``).

``SCIPY_FUNCTIONS`` are the public functions of ``dualtape.scipy.special``; the primitive
table test does not know that namespace, so tests/test_special.py runs them."""

from __future__ import annotations

import dualtape.numpy as dnp
import dualtape.scipy.special as dss
from dualtape.primitives import special as sp

from tables import Row, _positive, _real


def _uniform(low, high, *shapes):
    return lambda rng: tuple(rng.uniform(low, high, s) for s in shapes)


def _gamma_domain(rng):
    # both signs of Gamma: (1, 3) and (-2.8, -2.2) (between poles)
    x = rng.uniform(1.0, 3.0, (2, 3))
    x[0, :2] = rng.uniform(-2.8, -2.2, 2)
    return (x,)


def _lse(x):
    return (sp.logsumexp(x, axis=(0, 2), keepdims=True) ** 2
            + sp.logsumexp(x, axis=1, keepdims=True) * sp.logsumexp(x)
            + sp.logsumexp(x, axis=-1)[..., None])


PRIMITIVES: dict[str, Row] = {
    "expit": Row(sp.expit, lambda r: (3.0 * r.standard_normal((2, 3)),)),
    "logit": Row(sp.logit, _uniform(0.1, 0.9, (2, 3))),
    "erf": Row(sp.erf, _real((2, 3))),
    "erfc": Row(sp.erfc, _real((2, 3))),
    "gammaln": Row(sp.gammaln, _gamma_domain),
    "digamma": Row(sp.digamma, _gamma_domain),
    "polygamma": Row(lambda x: sp.polygamma(1, x) * sp.polygamma(0, x) + sp.polygamma(2, x),
                     _uniform(1.0, 3.0, (2, 3))),
    "xlogy": Row(sp.xlogy, lambda r: (r.standard_normal((2, 3)), r.uniform(0.5, 2.0, (3,)))),
    "logsumexp": Row(_lse, _real((2, 3, 2))),
}


def _lse_b(x, b):
    # b of both signs with a positive sum in each column; with and without return_sign
    out, sgn = dnp.logsumexp(x, axis=0, b=b, return_sign=True)
    return out * sgn + dnp.logsumexp(x, b=b * b, keepdims=True)


def _lse_b_domain(rng):
    b = rng.uniform(0.5, 1.5, (3, 2))
    b[1] *= -0.2
    return rng.standard_normal((3, 2)), b


FUNCTIONS: dict[str, Row] = {
    "logsumexp": Row(lambda x: dnp.logsumexp(x, axis=-1) * dnp.logsumexp(x), _real((2, 3))),
    "logsumexp(b=)": Row(_lse_b, _lse_b_domain),
}

SCIPY_FUNCTIONS: dict[str, Row] = {
    "expit": Row(dss.expit, lambda r: (3.0 * r.standard_normal(3),)),
    "logit": Row(dss.logit, _uniform(0.1, 0.9, (3,))),
    "erf": Row(dss.erf, _real((3,))),
    "erfc": Row(dss.erfc, _real((3,))),
    "gammaln": Row(dss.gammaln, _positive((3,))),
    "digamma": Row(dss.digamma, _positive((3,))),
    "psi": Row(dss.psi, _positive((3,))),
    "polygamma": Row(lambda x: dss.polygamma(1, x), _uniform(1.0, 3.0, (3,))),
    "xlogy": Row(dss.xlogy, lambda r: (r.standard_normal(3), r.uniform(0.5, 2.0, 3))),
    "logsumexp": Row(lambda x: dss.logsumexp(x, axis=0), _real((3, 2))),
    "softmax": Row(lambda x: dss.softmax(x, axis=1), _real((2, 3))),
    "softmax(axis=None)": Row(dss.softmax, _real((2, 2))),
    "log_softmax": Row(lambda x: dss.log_softmax(x, axis=0), _real((2, 3))),
}
