"""Rows for the primitives of ``dualtape.primitives.scipy_linalg`` (see
``tables/__init__.py``): expm on a stack of small matrices, sqrtm on symmetric
positive definite ones (a real principal root), the Sylvester solver with separated
spectra, and lu_factor on well-conditioned matrices (a locally constant pivot order).
"""

from __future__ import annotations

from dualtape.primitives import scipy_linalg as sli

from tables import Row
from tables.linalg import _spd, _wellcond


def _scaled(rng):
    return (0.5 * rng.standard_normal((2, 3, 3)),)


def _sylvester_domain(rng):
    a, = _wellcond((3, 3))(rng)
    b, = _wellcond((2, 2))(rng)
    return a, b, rng.standard_normal((3, 2))


PRIMITIVES: dict[str, Row] = {
    "expm": Row(sli.expm, _scaled),
    "sqrtm": Row(sli.sqrtm, _spd(3)),
    "solve_sylvester": Row(sli.solve_sylvester, _sylvester_domain),
    "lu_factor": Row(lambda a: sli.lu_factor(a)[0], _wellcond((4, 4))),
}
