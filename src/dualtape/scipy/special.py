"""``dualtape.scipy.special``: scipy.special's functions, differentiable in every mode.

Importing this module also teaches scipy's own ufuncs (``scipy.special.expit``, ``erf``,
``gammaln`` ...) what to do with traced values, so code written against scipy works
unchanged after one ``import dualtape.scipy.special``.  (``import dualtape`` does not load
scipy.special: it takes about a third of a second.)  Without that import, calling a
scipy ufunc on a traced value raises TypeError; it never drops the derivative.

scipy's ``logsumexp``, ``softmax`` and ``log_softmax`` are Python functions that convert
their input with ``numpy.asarray``; on a traced value that raises TypeError, so call the
versions here (``logsumexp`` is also ``dualtape.numpy.logsumexp``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special as _sc

from ..numpy._dispatch import _ufunc
from ..numpy._elementwise import _traced, logsumexp
from ..primitives import elementwise as _ew
from ..primitives import special as _sp
from ..registry import Tracer

__all__ = [
    "digamma", "erf", "erfc", "expit", "gammaln", "log_softmax", "logit", "logsumexp",
    "polygamma", "psi", "softmax", "xlogy",
]


def _scipy_ufunc(op: Any, uf: np.ufunc) -> Any:
    f = _ufunc(op, uf)
    f.__doc__ = f"scipy.special.{uf.__name__}, differentiable in every mode."
    return f


expit = _scipy_ufunc(_sp.expit, _sc.expit)
logit = _scipy_ufunc(_sp.logit, _sc.logit)
erf = _scipy_ufunc(_sp.erf, _sc.erf)
erfc = _scipy_ufunc(_sp.erfc, _sc.erfc)
gammaln = _scipy_ufunc(_sp.gammaln, _sc.gammaln)
digamma = psi = _scipy_ufunc(_sp.digamma, _sc.digamma)   # scipy's psi is digamma
xlogy = _scipy_ufunc(_sp.xlogy, _sc.xlogy)


def polygamma(n: Any, x: Any) -> Any:
    """The n-th derivative of digamma at ``x``.  On a traced ``x``, ``n`` must be a
    non-negative int (it has no derivative)."""
    if not isinstance(x, Tracer):
        return _sc.polygamma(n, x)
    if isinstance(n, np.ndarray) and n.ndim == 0:
        n = n[()]
    return _sp.polygamma(n, x)


def softmax(x: Any, axis: Any = None) -> Any:
    """exp(x) / sum(exp(x)) over ``axis`` (None: all axes), as scipy.special.softmax.

    Computed as exp(x - logsumexp(x)): stable for any input, and its derivative
    s * (t - sum(s t)) comes out of logsumexp's."""
    if not _traced((x,)):
        return _sc.softmax(x, axis=axis)
    return _ew.exp(x - logsumexp(x, axis=axis, keepdims=True))


def log_softmax(x: Any, axis: Any = None) -> Any:
    """x - logsumexp(x) over ``axis`` (None: all axes), as scipy.special.log_softmax."""
    if not _traced((x,)):
        return _sc.log_softmax(x, axis=axis)
    return x - logsumexp(x, axis=axis, keepdims=True)
