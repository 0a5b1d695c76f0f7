"""Rows for the Fourier transforms (see ``tables/__init__.py``).  Complex spectra are
returned as real and imaginary parts, and complex inputs are built from two real ones,
so every row is real in, real out."""

from __future__ import annotations

import dualtape.numpy as dnp
from dualtape.primitives import complex as cx
from dualtape.primitives import fft as ff

from tables import Row, _real


def _parts(z):
    return cx.real(z), cx.imag(z)


def _cz(x, y):
    return cx.complex_(x, y)


F = dnp.fft
PRIMITIVES: dict[str, Row] = {
    "fft": Row(lambda x, y: _parts(ff.fft(_cz(x, y), (-2, -1), False, "backward") ** 2)
               + _parts(ff.fft(x, (-2,), True, "ortho")), _real((2, 3), (2, 3))),
    "rfft": Row(lambda x: _parts(ff.rfft(x, -1, "forward") ** 2), _real((2, 4))),
    "irfft": Row(lambda x, y: (ff.irfft(_cz(x, y), -1, 4, "backward") ** 2,
                               ff.irfft(x, -1, 5, "ortho")), _real((2, 3), (2, 3))),
}

FUNCTIONS: dict[str, Row] = {
    "fft.fft": Row(lambda x, y: _parts(F.fft(_cz(x, y), n=5)), _real((2, 4), (2, 4))),
    "fft.ifft": Row(lambda x: _parts(F.ifft(x, n=3, axis=0, norm="ortho")), _real((4, 2))),
    "fft.fftn": Row(lambda x: _parts(F.fftn(x, s=(3, 2), axes=(0, 2))), _real((2, 2, 3))),
    "fft.ifftn": Row(lambda x, y: _parts(F.ifftn(_cz(x, y), norm="forward")),
                     _real((2, 3), (2, 3))),
    "fft.fft2": Row(lambda x: _parts(F.fft2(x)), _real((2, 3, 2))),
    "fft.ifft2": Row(lambda x: _parts(F.ifft2(x, s=(4, 2))), _real((3, 3))),
    "fft.rfft": Row(lambda x: _parts(F.rfft(x, n=6)), _real((2, 5))),
    "fft.irfft": Row(lambda x, y: F.irfft(_cz(x, y)), _real((2, 3), (2, 3))),
    "fft.rfftn": Row(lambda x: _parts(F.rfftn(x)), _real((2, 3, 4))),
    "fft.irfftn": Row(lambda x, y: F.irfftn(_cz(x, y), s=(2, 3), axes=(0, 1)),
                      _real((3, 2), (3, 2))),
    "fft.rfft2": Row(lambda x: _parts(F.rfft2(x, norm="ortho")), _real((3, 4))),
    "fft.irfft2": Row(lambda x, y: F.irfft2(_cz(x, y)), _real((2, 3), (2, 3))),
    "fft.hfft": Row(lambda x, y: F.hfft(_cz(x, y), n=5), _real((3,), (3,))),
    "fft.ihfft": Row(lambda x: _parts(F.ihfft(x)), _real((5,))),
    "fft.fftshift": Row(lambda x: F.fftshift(x) ** 2, _real((3, 4))),
    "fft.ifftshift": Row(lambda x: F.ifftshift(x, axes=0) ** 2, _real((3, 4))),
}
