"""Discrete Fourier transforms: ``fft`` (complex to complex over some axes, forward or
inverse), ``rfft`` (real to half spectrum along one axis) and ``irfft`` (half spectrum
to real along one axis).  Padding and cropping (numpy's ``n=`` and ``s=``) are done by
the dualtape.numpy adapters with getitem and concatenate, so each primitive transforms
the length it is given.

All three are linear.  Under the bilinear pairing of JAX's convention (see
``complex.py``) the DFT matrix is symmetric, so ``fft`` is its own transpose (same
direction, same ``norm``); ``rfft``'s transpose is the real part of a forward ``fft``
of the zero-padded cotangent, and ``irfft``'s is ``c * conj(rfft(g))`` with the
opposite normalisation, where c_k = 2 for the bins that stand for two conjugate
frequencies and 1 for the zero (and, n even, the Nyquist) bin.

Structure: an output element depends on the input elements that share its indices on
the axes not transformed.  Cost: 5 N log2 N flops per complex transform of N points
(the radix-2 Cooley-Tukey count, N/2 log2 N butterflies of one complex multiplication
and two complex additions, i.e. 10 real flops each; the convention FFTW's benchmarks
report), and half of that, 2.5 N log2 N, for the real transforms, N the real length.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import bind
from . import _cost
from ._rules import OPS, define, shape
from .complex import conj, match_real, real

_SWAP = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def _grouped_rule(axes_of):
    """The structure rule of a transform along ``axes_of(params, nd)``: dense along the
    transformed axes, diagonal along the others."""
    def rule(pats, ans, primals, params, local):
        import scipy.sparse as sp
        x, P = primals[0], pats[0]
        xs, ys = np.shape(x), np.shape(ans)
        axes = {a % len(xs) for a in axes_of(params)}
        keep = [i for i in range(len(xs)) if i not in axes]
        groups = int(np.prod([xs[i] for i in keep]))

        def group_of(shp):
            idx = np.indices(shp).reshape(len(shp), -1)
            if not keep:
                return np.zeros(idx.shape[1], dtype=np.intp)
            return np.ravel_multi_index([idx[i] for i in keep], [xs[i] for i in keep])

        def onehot(shp):
            g = group_of(shp)
            return sp.csr_array((np.ones(g.size, dtype=bool), (np.arange(g.size), g)),
                                shape=(g.size, groups))
        per_group = (onehot(xs).T @ P).tocsr().astype(bool)
        return (onehot(ys) @ per_group).tocsr().astype(bool)
    return rule


def _fft_cost(axes_of, per: float, describe: str, on_output: bool = False):
    """``per * N log2 N`` for each transform, N the product of the transformed lengths
    of the input (of the output for irfft, whose real length is the output's)."""
    @_cost.formula(describe)
    def cost(ans, args, params):
        x = ans if on_output else args[0]
        xs = np.shape(x)
        N = int(np.prod([xs[a] for a in axes_of(x, ans, params)]))
        transforms = int(np.prod(xs)) // N if N else 0
        return int(transforms * per * N * _cost.log2(N))
    return cost


# ---- complex to complex --------------------------------------------------------------
def _fft_impl(x, axes, inverse, norm):
    return (np.fft.ifftn if inverse else np.fft.fftn)(x, axes=axes, norm=norm)


fft_p = define(
    "fft", _fft_impl,
    jvp=(lambda t, ans, x, axes, inverse, norm: fft(t, axes, inverse, norm),),
    vjp=(lambda g, ans, x, axes, inverse, norm: match_real(fft(g, axes, inverse, norm), x),),
    sparsity=_grouped_rule(lambda p: p["axes"]),
    cost=_fft_cost(lambda x, ans, p: p["axes"], 5.0, "5 N log2 N per transform of N points"))


def fft(x: Any, axes: tuple, inverse: bool = False, norm: str = "backward") -> Any:
    """The n-dimensional DFT over ``axes`` (negative ints), or its inverse."""
    return bind(fft_p, x, axes=tuple(axes), inverse=bool(inverse), norm=norm)


# ---- real to half spectrum -----------------------------------------------------------
def _pad(x: Any, axis: int, n: int) -> Any:
    """``x`` zero-padded along ``axis`` to length ``n``."""
    have = shape(x)[axis]
    if have >= n:
        return x
    s = list(shape(x))
    s[axis] = n - have
    dt = x.dtype if hasattr(x, "dtype") else np.result_type(x)
    return OPS["concatenate"]([x, np.zeros(s, dtype=dt)], axis)


def _rfft_vjp(g, ans, x, axis, norm):
    n = shape(x)[axis]
    return real(fft(_pad(g, axis, n), (axis,), False, norm))


rfft_p = define(
    "rfft", lambda x, axis, norm: np.fft.rfft(x, axis=axis, norm=norm),
    jvp=(lambda t, ans, x, axis, norm: rfft(t, axis, norm),),
    vjp=(_rfft_vjp,),
    sparsity=_grouped_rule(lambda p: (p["axis"],)),
    cost=_fft_cost(lambda x, ans, p: (p["axis"],), 2.5,
                   "2.5 N log2 N per transform of N real points"))


def rfft(x: Any, axis: int = -1, norm: str = "backward") -> Any:
    """The half spectrum of real ``x`` along ``axis`` (a negative int)."""
    return bind(rfft_p, x, axis=int(axis), norm=norm)


# ---- half spectrum to real -----------------------------------------------------------
def _weights(n: int, m: int, dtype: Any) -> np.ndarray:
    c = np.full(m, 2.0)
    c[0] = 1.0
    if n % 2 == 0 and m == n // 2 + 1:
        c[-1] = 1.0
    return c.astype(dtype)


def _irfft_vjp(g, ans, x, axis, n, norm):
    m = shape(x)[axis]
    w = conj(rfft(g, axis, _SWAP[norm]))
    c = _weights(n, m, getattr(ans, "dtype", np.float64))
    c = c.reshape((m,) + (1,) * (-axis - 1))
    return match_real(w * c, x)


irfft_p = define(
    "irfft", lambda x, axis, n, norm: np.fft.irfft(x, n=n, axis=axis, norm=norm),
    jvp=(lambda t, ans, x, axis, n, norm: irfft(t, axis, n, norm),),
    vjp=(_irfft_vjp,),
    sparsity=_grouped_rule(lambda p: (p["axis"],)),
    cost=_fft_cost(lambda x, ans, p: (p["axis"],), 2.5,
                   "2.5 N log2 N per transform of N real points", on_output=True))


def irfft(x: Any, axis: int, n: int, norm: str = "backward") -> Any:
    """The real signal of length ``n`` whose half spectrum is ``x`` (length n//2 + 1
    along ``axis``, a negative int)."""
    if shape(x)[axis] != n // 2 + 1:
        raise ValueError(f"irfft primitive: input length {shape(x)[axis]} along axis "
                         f"{axis} is not n // 2 + 1 = {n // 2 + 1}")
    return bind(irfft_p, x, axis=int(axis), n=int(n), norm=norm)


for _f in (fft, rfft, irfft):
    OPS["fft_" + _f.__name__] = _f
