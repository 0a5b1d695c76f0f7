"""Complex parts with numpy's signatures: real, imag, conj/conjugate, angle.

Derivatives follow JAX's convention (see ``dualtape.primitives.complex``): the VJP is
the transpose under the bilinear pairing ``Re(sum(a * b))``, so for a real-valued ``f``
of a complex ``z``, ``grad(f)(z) = df/dx - i df/dy``, and a real input always receives a
real cotangent.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..primitives import complex as _cx
from ..registry import Tracer, value_of
from ._dispatch import _dispatches, _ufunc

__all__ = ["angle", "conj", "conjugate", "imag", "real"]


@_dispatches(np.real)
def real(val: Any) -> Any:
    """The real part (a real array is returned as it is)."""
    return _cx.real(val) if isinstance(val, Tracer) else np.real(val)


@_dispatches(np.imag)
def imag(val: Any) -> Any:
    """The imaginary part; of a real array, constant zeros."""
    return _cx.imag(val) if isinstance(val, Tracer) else np.imag(val)


conj = conjugate = _ufunc(_cx.conj, np.conjugate, "conjugate")


@_dispatches(np.angle)
def angle(z: Any, deg: bool = False) -> Any:
    """The argument in (-pi, pi] (degrees with ``deg``).  Of a real array it is 0 or pi,
    locally constant: a plain array.  At z = 0 the derivative is taken as 0."""
    if not isinstance(z, Tracer) or not _cx.is_complex(z):
        return np.angle(value_of(z), deg=deg)
    a = _cx.angle(z)
    return a * (180.0 / np.pi) if deg else a
