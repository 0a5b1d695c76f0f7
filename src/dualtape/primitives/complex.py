"""Complex numbers: real and imaginary parts, conjugation, modulus, argument, and
building a complex value from two real ones.

Convention (JAX's, stated in its autodiff cookbook, "Complex numbers and
differentiation"):

* a JVP is the R-linear derivative applied to the tangent, whatever the function:
  ``df = (df/dz) dz + (df/dconj(z)) conj(dz)``;
* a VJP is the transpose of that map under the *bilinear* real pairing
  ``<a, b> = Re(sum(a * b))`` (no conjugation).  For a holomorphic map the VJP is then
  ``g * f'(z)``, the same product as the JVP, so holomorphic elementwise partials serve
  both modes unchanged; for ``f: C -> R``, ``grad(f)(z) = df/dx - i df/dy`` (the
  conjugate of the steepest-ascent direction);
* the cotangent of a real input is real: the real part of what the pairing gives.

Every rule below keeps that last point by construction: a real cotangent becomes
complex only through ``complex`` (whose VJP takes real parts back), never through a
product of a real traced value with a complex one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import bind
from . import _cost, _structure
from ._rules import OPS, broadcast_batch, define, expand_to, ndim, shape, unbroadcast


def is_complex(x: Any) -> bool:
    """Whether ``x`` (array, traced value or number) has a complex dtype."""
    return np.iscomplexobj(x) if not hasattr(x, "dtype") else x.dtype.kind == "c"


def real_dtype(dtype: Any) -> np.dtype:
    """The real dtype of the same precision (float64 for integers)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        return np.finfo(dtype).dtype
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


def match_real(ct: Any, x: Any) -> Any:
    """A cotangent for ``x``: its real part when ``x`` is real (JAX's convention)."""
    if ct is not None and is_complex(ct) and not is_complex(x):
        return real(ct)
    return ct


# ---- complex(re, im) = re + i im -----------------------------------------------------
def _complex_impl(re, im):
    dt = np.result_type(re, im, np.complex64)
    out = np.empty(np.broadcast_shapes(np.shape(re), np.shape(im)), dtype=dt)
    out.real = re
    out.imag = im
    return out


def _spread(c, t, x, ans):
    """A contribution computed at ``x``'s shape, broadcast to the output's shape."""
    if shape(x) == shape(ans):
        return c
    nb = ndim(t) - ndim(x)
    return broadcast_batch(expand_to(c, nb, shape(x), ndim(ans)), nb, shape(ans))


complex_p = define(
    "complex", _complex_impl,
    jvp=(lambda t, ans, re, im: _spread(complex_(t, 0.0), t, re, ans),
         lambda t, ans, re, im: _spread(complex_(0.0, t), t, im, ans)),
    vjp=(lambda g, ans, re, im: unbroadcast(real(g), shape(re), ndim(g) - ndim(ans)),
         lambda g, ans, re, im: unbroadcast(-imag(g), shape(im), ndim(g) - ndim(ans))),
    sparsity=_structure.elementwise(), cost=_cost.elementwise)


def complex_(re: Any, im: Any) -> Any:
    """``re + 1j * im`` from the real parts of ``re`` and ``im`` (broadcasting).  A
    complex argument is a cotangent that reached a real value: its real part is the one
    that counts (JAX's convention), taken here explicitly."""
    return bind(complex_p, real(re), real(im))


# ---- real, imag, conj ---------------------------------------------------------------
real_p = define(
    "real", lambda x: np.real(x).copy(),
    jvp=(lambda t, ans, x: real(t),),
    vjp=(lambda g, ans, x: complex_(g, 0.0),),
    sparsity=_structure.elementwise(), cost=_cost.move)

imag_p = define(
    "imag", lambda x: np.imag(x).copy(),
    jvp=(lambda t, ans, x: imag(t),),
    # <g, Im t> = Re(-i g t): the cotangent is -i g.
    vjp=(lambda g, ans, x: complex_(0.0, -g),),
    sparsity=_structure.elementwise(), cost=_cost.move)

conj_p = define(
    "conj", np.conjugate,
    jvp=(lambda t, ans, x: conj(t),),
    vjp=(lambda g, ans, x: conj(g),),
    sparsity=_structure.elementwise(), cost=_cost.elementwise)


def real(x: Any) -> Any:
    """The real part; a real ``x`` is returned as it is."""
    return bind(real_p, x) if is_complex(x) else x


def imag(x: Any) -> Any:
    """The imaginary part; for a real ``x``, constant zeros (a plain array)."""
    if is_complex(x):
        return bind(imag_p, x)
    dt = x.dtype if hasattr(x, "dtype") else np.result_type(x)
    return np.zeros(shape(x), dtype=real_dtype(dt))


def conj(x: Any) -> Any:
    """The complex conjugate; a real ``x`` is returned as it is."""
    return bind(conj_p, x) if is_complex(x) else x


# ---- modulus and argument -----------------------------------------------------------
def _guarded_inverse(v: Any) -> Any:
    """``1 / v`` where ``v != 0`` and exactly 0 elsewhere, with no NaN in any derivative
    (the division only ever sees non-zero values)."""
    nz = OPS["not_equal"](v, 0)       # no derivative: a plain mask (traced in global sparsity)
    return OPS["where"](nz, 1.0 / OPS["where"](nz, v, 1.0), 0.0)


def _cabs_jvp(t, ans, z):
    # d|z| = Re(conj(z) dz) / |z|; at z = 0 the subgradient 0 (like abs'(0) = 0).
    return real(conj(z) * t) * _guarded_inverse(ans)


def _cabs_vjp(g, ans, z):
    return complex_(g * _guarded_inverse(ans), 0.0) * conj(z)


complex_abs_p = define("complex_abs", np.abs, jvp=(_cabs_jvp,), vjp=(_cabs_vjp,),
                       sparsity=_structure.elementwise(), cost=_cost.elementwise)


def complex_abs(z: Any) -> Any:
    """``|z|`` of a complex ``z``; the derivative at 0 is 0."""
    return bind(complex_abs_p, z)


def _angle_jvp(t, ans, z):
    # d arg z = Im(dz / z); at z = 0 the derivative is taken as 0.
    return imag(t * _guarded_inverse(z))


def _angle_vjp(g, ans, z):
    # <g, Im(t / z)> = Re(-i g t / z): the cotangent is -i g / z.
    return complex_(0.0, -g) * _guarded_inverse(z)


angle_p = define("angle", np.angle, jvp=(_angle_jvp,), vjp=(_angle_vjp,),
                 sparsity=_structure.elementwise(), cost=_cost.elementwise)


def angle(z: Any) -> Any:
    """The argument of a complex ``z`` in (-pi, pi]; derivative 0 at z = 0."""
    return bind(angle_p, z)


for _f in (real, imag, conj, complex_abs, angle):
    OPS[_f.__name__] = _f
OPS["complex"] = complex_
