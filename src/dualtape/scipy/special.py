"""``dualtape.scipy.special``: scipy.special's functions, differentiable in every mode.

Importing this module also teaches scipy's own ufuncs (``scipy.special.expit``, ``erf``,
``gammaln`` ...) what to do with traced values, so code written against scipy works
unchanged after one ``import dualtape.scipy.special``.  (``import dualtape`` does not load
scipy.special: it takes about a third of a second.)  Without that import, calling a
scipy ufunc on a traced value raises TypeError; it never drops the derivative.

scipy's ``logsumexp``, ``softmax``, ``log_softmax`` and ``multigammaln`` are Python
functions that convert their input with ``numpy.asarray``; on a traced value that raises
TypeError, so call the versions here (``logsumexp`` is also ``dualtape.numpy.logsumexp``).
scipy's ``softplus`` is ``numpy.logaddexp(0, x)`` and works on traced values as it is.

Derivatives that do not exist or have no closed form raise TypeError instead of being
dropped: the integer orders of ``polygamma``, ``iv``/``ive`` and the dimension of
``multigammaln``; the shape parameters of the incomplete functions ``gammainc``,
``gammaincc``, ``betainc`` and ``stdtr`` (differentiable in their last argument).
Kinks: ``i0e``/``i1e``/``ive`` contain e^-|x|, whose slope at 0 is taken with sign(0) = 0;
``entr``'s slope at 0 and ``rel_entr``'s in x at x = 0 are +inf and -inf (one-sided).
"""

from __future__ import annotations

import sys as _sys
from typing import Any

import numpy as np
import scipy.special as _sc

from ..numpy import _signatures
from ..numpy._dispatch import _ufunc
from ..numpy._elementwise import _traced, logsumexp
from ..numpy._elementwise import logaddexp as _logaddexp
from ..primitives import elementwise as _ew
from ..primitives import scipy_special as _ss
from ..primitives import special as _sp
from ..registry import Tracer, value_of

__all__ = [
    "beta", "betainc", "betaln", "digamma", "entr", "erf", "erfc", "erfinv", "expit",
    "gamma", "gammainc", "gammaincc", "gammaln", "i0", "i0e", "i1", "i1e", "iv", "ive",
    "log_ndtr", "log_softmax", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri",
    "polygamma", "psi", "rel_entr", "softmax", "softplus", "stdtr", "xlog1py", "xlogy",
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
gamma = _scipy_ufunc(_ss.gamma, _sc.gamma)
beta = _scipy_ufunc(_ss.beta, _sc.beta)
betaln = _scipy_ufunc(_ss.betaln, _sc.betaln)
erfinv = _scipy_ufunc(_ss.erfinv, _sc.erfinv)
ndtri = _scipy_ufunc(_ss.ndtri, _sc.ndtri)
log_ndtr = _scipy_ufunc(_ss.log_ndtr, _sc.log_ndtr)
xlog1py = _scipy_ufunc(_ss.xlog1py, _sc.xlog1py)
rel_entr = _scipy_ufunc(_ss.rel_entr, _sc.rel_entr)
gammainc = _scipy_ufunc(_ss.gammainc, _sc.gammainc)
gammaincc = _scipy_ufunc(_ss.gammaincc, _sc.gammaincc)
betainc = _scipy_ufunc(_ss.betainc, _sc.betainc)
stdtr = _scipy_ufunc(_ss.stdtr, _sc.stdtr)


def _composite(uf: np.ufunc, traced_fn: Any) -> Any:
    """scipy's ufunc on plain values (its bits), ``traced_fn`` on traced ones."""
    def op(*args: Any) -> Any:
        return traced_fn(*args) if _traced(args) else uf(*args)
    op.__name__ = uf.__name__
    return _scipy_ufunc(op, uf)


_SQRT1_2 = float(np.sqrt(0.5))
# Phi(x) = erfc(-x / sqrt 2) / 2: no cancellation in either tail.
ndtr = _composite(_sc.ndtr, lambda x: 0.5 * _sp.erfc(-x * _SQRT1_2))
# -x log x = -rel_entr(x, 1): 0 at 0 and -inf for x < 0, as scipy
entr = _composite(_sc.entr, lambda x: -_ss.rel_entr(x, np.ones((), dtype=_float_dtype(x))))
i0 = _composite(_sc.i0, lambda x: _ss.iv(0, x))
i1 = _composite(_sc.i1, lambda x: _ss.iv(1, x))
i0e = _composite(_sc.i0e, lambda x: _ss.ive(0, x))
i1e = _composite(_sc.i1e, lambda x: _ss.ive(1, x))


def _float_dtype(x: Any) -> Any:
    return np.result_type(x.dtype, np.float16)


def _int_order(name: str, n: Any) -> Any:
    if isinstance(n, Tracer):
        raise TypeError(f"{name}: the order n has no derivative; pass a plain int")
    if isinstance(n, np.ndarray) and n.ndim == 0:
        n = n[()]
    return n


def _iv(v: Any, z: Any) -> Any:
    """The modified Bessel function I_v(z).  On a traced ``z``, ``v`` must be a
    non-negative int (it has no derivative)."""
    if not _traced((v, z)):
        return _sc.iv(v, z)
    return _ss.iv(_int_order("iv", v), z)


def _ive(v: Any, z: Any) -> Any:
    """``iv(v, z) * exp(-|z|)``.  On a traced ``z``, ``v`` must be a non-negative int."""
    if not _traced((v, z)):
        return _sc.ive(v, z)
    return _ss.ive(_int_order("ive", v), z)


iv = _scipy_ufunc(_iv, _sc.iv)
ive = _scipy_ufunc(_ive, _sc.ive)
iv.__doc__, ive.__doc__ = _iv.__doc__, _ive.__doc__


def softplus(x: Any, **kwargs: Any) -> Any:
    """log(1 + exp(x)), as scipy.special.softplus: ``logaddexp(0, x, **kwargs)``
    (stable), with the ufunc keywords (``out``, ``where``, ``dtype`` ...) that
    ``dualtape.numpy.logaddexp`` takes."""
    return _logaddexp(0, x, **kwargs)


def multigammaln(a: Any, d: int) -> Any:
    """The log of the multivariate gamma function of dimension ``d`` at ``a`` (any
    shape; every entry must exceed (d - 1) / 2, as scipy requires).  ``d`` is a plain
    int with no derivative."""
    if not _traced((a,)):
        return _sc.multigammaln(a, d)
    if isinstance(d, Tracer) or not float(d).is_integer() or d <= 0:
        raise TypeError(f"multigammaln: the dimension d must be a positive plain int, "
                        f"got {d!r}")
    d = int(d)
    if np.any(np.asarray(value_of(a, structural=False)) <= 0.5 * (d - 1)):
        raise ValueError("multigammaln: condition a > (d-1)/2 not met")
    shifts = -0.5 * np.arange(d, dtype=_float_dtype(a))
    terms = _sp.gammaln(a[..., None] + shifts)
    return 0.25 * d * (d - 1) * float(np.log(np.pi)) + np.sum(terms, axis=-1)


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


# scipy's parameter names for inspect.signature and help() (computed when first read);
# logsumexp is dualtape.numpy's and keeps its own signature
_signatures.expose(_sys.modules[__name__], _sc, [n for n in __all__ if n != "logsumexp"])
