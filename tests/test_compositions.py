"""Random compositions of numpy functions on random shapes: forward equals reverse,
both equal finite differences, and the plain-numpy spelling equals the dualtape.numpy
spelling, value and derivative."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp


def _menu(ns):
    """Shape-preserving steps on a 2-D array, spelled with namespace ``ns``; inputs are
    kept in a range where every step is smooth (no kinks, no ties)."""
    return {
        "tanh": lambda x: ns.tanh(x),
        "sin_cos": lambda x: ns.sin(x) * ns.cos(x * 0.5),
        "exp_log1p": lambda x: ns.log1p(ns.exp(x * 0.3)),
        "square_cbrt": lambda x: ns.cbrt(ns.square(x) + 1.0),
        "hypot": lambda x: ns.hypot(x, 0.5),
        "arctan_sinh": lambda x: ns.arctan(ns.sinh(x * 0.5)),
        "logaddexp": lambda x: ns.logaddexp(x, x * 0.3),
        "cumsum": lambda x: ns.cumsum(x, axis=-1) * 0.3,
        "cumprod": lambda x: ns.cumprod(ns.tanh(x) * 0.5 + 1.0, axis=0),
        "center": lambda x: x - ns.mean(x, axis=0, keepdims=True),
        "scale_var": lambda x: x / (1.0 + ns.var(x)),      # std has a kink at constants
        "flip_roll": lambda x: ns.roll(ns.flip(x, axis=-1), 1, axis=0),
        "transpose_back": lambda x: ns.transpose(ns.transpose(x) * 2.0) * 0.5,
        "matmul_sym": lambda x: ns.tanh(x @ ns.transpose(x) @ x * 0.1),
        "tril_triu": lambda x: ns.tril(x) + ns.triu(x, 1) * 0.5,
        "softplus": lambda x: ns.logaddexp(0.0, x),
        "sort_free": lambda x: x * ns.clip(x, -5.0, 5.0),
        "einsum": lambda x: ns.einsum("ij,ij->ij", x, x) * 0.2,
    }


DNP, NP = _menu(dnp), _menu(np)


@st.composite
def programs(draw):
    rows = draw(st.integers(1, 4))
    cols = draw(st.integers(1, 4))
    steps = draw(st.lists(st.sampled_from(sorted(DNP)), min_size=1, max_size=4))
    x = np.array(draw(st.lists(st.floats(-1.5, 1.5), min_size=rows * cols,
                               max_size=rows * cols))).reshape(rows, cols)
    return steps, x


def build(menu, steps):
    def f(x):
        for s in steps:
            x = menu[s](x)
        return x
    return f


def fd_jacobian(f, x, h=1e-6):
    cols = []
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = h
        e = e.reshape(x.shape)
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))).ravel() / (2 * h))
    return np.stack(cols, axis=-1).reshape(np.shape(f(x)) + x.shape)


@settings(max_examples=60, deadline=None)
@given(programs())
def test_random_compositions(program):
    steps, x = program
    f_dnp, f_np = build(DNP, steps), build(NP, steps)
    np.testing.assert_allclose(f_dnp(x), f_np(x), rtol=1e-12, atol=1e-12)
    Jf = dt.jacfwd(f_dnp)(x)
    Jr = dt.jacrev(f_dnp)(x)
    np.testing.assert_allclose(Jf, Jr, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(Jf, fd_jacobian(f_np, x), rtol=1e-5, atol=1e-6)
    # the plain numpy spelling, dispatched through __array_ufunc__/__array_function__
    np.testing.assert_allclose(dt.jacfwd(f_np)(x), Jf, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(dt.jacrev(f_np)(x), Jr, rtol=1e-12, atol=1e-13)
