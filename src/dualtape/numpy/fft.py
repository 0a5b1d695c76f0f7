"""``dualtape.numpy.fft``: numpy.fft's transforms, differentiable in every mode.

Three primitives (``dualtape.primitives.fft``: complex ``fft`` over axes, ``rfft`` and
``irfft`` along one axis) and composites for the rest: numpy's ``n=``/``s=`` crop or
zero-pad first (getitem, concatenate), the 2-D and n-D real transforms chain one real
transform with complex ones, ``hfft``/``ihfft`` are ``irfft``/``rfft`` with a conjugate
and the opposite normalisation (numpy's own definitions), and ``fftshift`` /
``ifftshift`` are index gathers.  ``fftfreq`` and ``rfftfreq`` are numpy's (they take
no array to differentiate).

Complex values follow JAX's convention (see ``dualtape.primitives.complex``); a real
input of a transform receives a real cotangent.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from numpy.fft import fftfreq, rfftfreq  # noqa: F401  (no traced input: numpy's own)

from ..primitives import complex as _cx
from ..primitives import fft as _fp
from ..registry import Tracer
from ._construct import asarray
from ._dispatch import _dispatches, _no_out

__all__ = [
    "fft", "fft2", "fftfreq", "fftn", "fftshift", "hfft", "ifft", "ifft2", "ifftn",
    "ifftshift", "ihfft", "irfft", "irfft2", "irfftn", "rfft", "rfft2", "rfftfreq", "rfftn",
]

_NORMS = ("backward", "ortho", "forward")
_SWAP = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def _norm(norm: Any) -> str:
    if norm is None:
        return "backward"
    if norm not in _NORMS:
        raise ValueError(f'Invalid norm value {norm}; should be "backward", "ortho" or '
                         f'"forward".')
    return norm


def _axis(axis: int, nd: int) -> int:
    axis = int(axis)
    if not -nd <= axis < nd:
        raise np.exceptions.AxisError(axis, nd)
    return axis % nd - nd


def _resize(x: Any, n: Any, axis: int) -> Any:
    """``x`` cropped or zero-padded to length ``n`` along ``axis`` (numpy's ``n=``)."""
    if n is None:
        return x
    n = int(n)
    if n < 1:
        raise ValueError(f"Invalid number of FFT data points ({n}) specified.")
    have = x.shape[axis]
    if n == have:
        return x
    if n < have:
        idx = (slice(None),) * (x.ndim + axis) + (slice(0, n),)
        return x[idx]
    return _fp._pad(x, axis, n)


def _real_input(x: Any, name: str) -> Any:
    if _cx.is_complex(x):
        raise TypeError(f"dualtape.numpy.fft.{name}: the input must be real (numpy "
                        f"refuses complex input too)")
    return x


def _prepare(a: Any, out: Any, name: str) -> Any:
    _no_out(name, out)
    a = asarray(a)
    if not isinstance(a, Tracer) and not np.issubdtype(a.dtype, np.inexact):
        a = a.astype(np.float64)
    return a


def _c2c(a, n, axis, norm, out, inverse, name):
    a = _prepare(a, out, name)
    axis = _axis(axis, a.ndim)
    return _fp.fft(_resize(a, n, axis), (axis,), inverse, _norm(norm))


@_dispatches(np.fft.fft)
def fft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None,
        out: Any = None) -> Any:
    """The 1-D DFT along ``axis`` (cropped or zero-padded to ``n``)."""
    return _c2c(a, n, axis, norm, out, False, "fft")


@_dispatches(np.fft.ifft)
def ifft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None,
         out: Any = None) -> Any:
    """The 1-D inverse DFT along ``axis``."""
    return _c2c(a, n, axis, norm, out, True, "ifft")


def _cook(a: Any, s: Any, axes: Any) -> tuple[list, list]:
    """numpy's rules for ``s`` and ``axes``: negative axes and one length per axis."""
    nd = a.ndim
    if axes is None:
        axes = list(range(-len(s), 0)) if s is not None else list(range(-nd, 0))
    axes = [_axis(ax, nd) for ax in axes]
    if s is None:
        s = [a.shape[ax] for ax in axes]
    s = list(s)
    if len(s) != len(axes):
        raise ValueError("Shape and axes have different lengths.")
    s = [a.shape[ax] if n == -1 else n for n, ax in zip(s, axes)]
    return s, axes


def _c2cn(a, s, axes, norm, out, inverse, name):
    a = _prepare(a, out, name)
    s, axes = _cook(a, s, axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"dualtape.numpy.fft.{name}: repeated axes are not supported")
    for n, ax in zip(s, axes):
        a = _resize(a, n, ax)
    if not axes:
        return a
    return _fp.fft(a, tuple(axes), inverse, _norm(norm))


@_dispatches(np.fft.fftn)
def fftn(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
         norm: str | None = None, out: Any = None) -> Any:
    """The n-D DFT over ``axes`` (default all; cropped or padded to ``s``)."""
    return _c2cn(a, s, axes, norm, out, False, "fftn")


@_dispatches(np.fft.ifftn)
def ifftn(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
          norm: str | None = None, out: Any = None) -> Any:
    """The n-D inverse DFT over ``axes``."""
    return _c2cn(a, s, axes, norm, out, True, "ifftn")


@_dispatches(np.fft.fft2)
def fft2(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
         norm: str | None = None, out: Any = None) -> Any:
    """The 2-D DFT over ``axes``."""
    return _c2cn(a, s, axes, norm, out, False, "fft2")


@_dispatches(np.fft.ifft2)
def ifft2(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
          norm: str | None = None, out: Any = None) -> Any:
    """The 2-D inverse DFT over ``axes``."""
    return _c2cn(a, s, axes, norm, out, True, "ifft2")


# ---- real transforms -----------------------------------------------------------------
@_dispatches(np.fft.rfft)
def rfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None,
         out: Any = None) -> Any:
    """The half spectrum (n // 2 + 1 bins) of a real signal along ``axis``."""
    a = _real_input(_prepare(a, out, "rfft"), "rfft")
    axis = _axis(axis, a.ndim)
    return _fp.rfft(_resize(a, n, axis), axis, _norm(norm))


@_dispatches(np.fft.irfft)
def irfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None,
          out: Any = None) -> Any:
    """The real signal of length ``n`` (default ``2 (m - 1)``) with half spectrum ``a``."""
    a = _prepare(a, out, "irfft")
    axis = _axis(axis, a.ndim)
    if n is None:
        n = 2 * (a.shape[axis] - 1)
    if n < 1:
        raise ValueError(f"Invalid number of FFT data points ({n}) specified.")
    return _fp.irfft(_resize(a, n // 2 + 1, axis), axis, n, _norm(norm))


@_dispatches(np.fft.rfftn)
def rfftn(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
          norm: str | None = None, out: Any = None) -> Any:
    """The real n-D DFT: ``rfft`` over the last of ``axes``, ``fft`` over the others."""
    a = _real_input(_prepare(a, out, "rfftn"), "rfftn")
    s, axes = _cook(a, s, axes)
    norm = _norm(norm)
    r = _fp.rfft(_resize(a, s[-1], axes[-1]), axes[-1], norm)
    for n, ax in zip(s[:-1], axes[:-1]):
        r = _resize(r, n, ax)
    return _fp.fft(r, tuple(axes[:-1]), False, norm) if len(axes) > 1 else r


@_dispatches(np.fft.irfftn)
def irfftn(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
           norm: str | None = None, out: Any = None) -> Any:
    """The inverse of ``rfftn``: ``ifft`` over all but the last of ``axes``, then
    ``irfft`` (output length ``s[-1]``, default ``2 (m - 1)``) over the last."""
    a = _prepare(a, out, "irfftn")
    given = s is not None
    s, axes = _cook(a, s, axes)
    if not given:
        s[-1] = 2 * (a.shape[axes[-1]] - 1)
    norm = _norm(norm)
    for n, ax in zip(s[:-1], axes[:-1]):
        a = _resize(a, n, ax)
    if len(axes) > 1:
        a = _fp.fft(a, tuple(axes[:-1]), True, norm)
    n = s[-1]
    return _fp.irfft(_resize(a, n // 2 + 1, axes[-1]), axes[-1], n, norm)


@_dispatches(np.fft.rfft2)
def rfft2(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
          norm: str | None = None, out: Any = None) -> Any:
    return rfftn(a, s, axes, norm, out)


@_dispatches(np.fft.irfft2)
def irfft2(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
           norm: str | None = None, out: Any = None) -> Any:
    return irfftn(a, s, axes, norm, out)


@_dispatches(np.fft.hfft)
def hfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None,
         out: Any = None) -> Any:
    """The real spectrum of a Hermitian-symmetric signal given by its first half."""
    a = _prepare(a, out, "hfft")
    return irfft(_cx.conj(a), n, axis, _SWAP[_norm(norm)])


@_dispatches(np.fft.ihfft)
def ihfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None,
          out: Any = None) -> Any:
    """The inverse of ``hfft``: the half of a Hermitian-symmetric signal."""
    a = _prepare(a, out, "ihfft")
    return _cx.conj(rfft(a, n, axis, _SWAP[_norm(norm)]))


# ---- shifts --------------------------------------------------------------------------
def _shift(x: Any, axes: Any, sign: int) -> Any:
    x = asarray(x)
    nd = x.ndim
    if axes is None:
        axes = tuple(range(nd))
    elif isinstance(axes, (int, np.integer)):
        axes = (axes,)
    for ax in axes:
        ax = _axis(ax, nd)
        n = x.shape[ax]
        idx = (np.arange(n) - sign * (n // 2)) % n
        x = x[(slice(None),) * (nd + ax) + (idx,)]
    return x


@_dispatches(np.fft.fftshift)
def fftshift(x: Any, axes: Any = None) -> Any:
    """Move the zero-frequency bin to the centre (a gather)."""
    return _shift(x, axes, 1)


@_dispatches(np.fft.ifftshift)
def ifftshift(x: Any, axes: Any = None) -> Any:
    """The inverse of ``fftshift``."""
    return _shift(x, axes, -1)



def __getattr__(name: str) -> Any:
    # numpy.fft's other public names (its test runner) are numpy's own objects
    if not name.startswith("_") and name in dir(np.fft):
        return getattr(np.fft, name)
    raise AttributeError(f"module 'dualtape.numpy.fft' has no attribute {name!r}")
