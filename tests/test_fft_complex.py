"""Complex numbers and the Fourier transforms, in both modes.

The convention is JAX's (its autodiff cookbook, "Complex numbers and differentiation"):
a JVP is the R-linear derivative applied to the tangent; a VJP is its transpose under
the bilinear pairing Re(sum(a * b)); so grad of a real f at z is df/dx - i df/dy, and
the VJP of a holomorphic f is g * f'(z).  ``check_complex`` below checks exactly that,
independently of the code under test: JVPs against central differences along complex
directions, VJPs by the pairing identity Re<u, J v> = Re<J^T u, v>.
"""

from __future__ import annotations

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.primitives import complex as cx

RNG = np.random.default_rng(7)


def crandn(*shape):
    return RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)


def _pair(a, b):
    """The bilinear real pairing of JAX's convention (no conjugation)."""
    return float(np.sum(np.asarray(a) * np.asarray(b)).real)


def check_complex(f, *args, eps=1e-6, rtol=1e-6, atol=1e-7, order=1):
    """JVP vs central differences, VJP by the pairing identity; real inputs must get
    real cotangents.  ``order=2`` checks the JVP and VJP maps themselves again."""
    args = tuple(np.asarray(a) for a in args)
    dirs = tuple(crandn(*a.shape) if np.iscomplexobj(a) else RNG.standard_normal(a.shape)
                 for a in args)
    out, jv = dt.jvp(f, args, dirs)
    fd = (np.asarray(f(*(a + eps * d for a, d in zip(args, dirs))))
          - np.asarray(f(*(a - eps * d for a, d in zip(args, dirs))))) / (2 * eps)
    np.testing.assert_allclose(jv, fd, rtol=1e-5, atol=1e-6)
    u = crandn(*np.shape(out)) if np.iscomplexobj(out) else RNG.standard_normal(np.shape(out))
    _, pull = dt.vjp(f, *args)
    cts = pull(u)
    for a, c in zip(args, cts):
        assert np.iscomplexobj(c) == np.iscomplexobj(a), "a real input needs a real cotangent"
    lhs = _pair(u, jv)
    rhs = sum(_pair(c, d) for c, d in zip(cts, dirs))
    assert abs(lhs - rhs) <= rtol * max(1.0, abs(lhs)) + atol, (lhs, rhs)
    if order > 1:
        check_complex(lambda *xs: dt.jvp(f, xs, dirs)[1], *args, order=order - 1)
        for i in range(len(args)):
            check_complex(lambda *xs, i=i: dt.vjp(f, *xs)[1](u)[i], *args, order=order - 1)


# ---- the convention, on the cookbook's examples ---------------------------------------
def test_grad_of_real_function_is_dfdx_minus_i_dfdy():
    # JAX's cookbook: f(z) = x^2 + y^2 at 3 + 4j has grad 6 - 8j.
    g = dt.grad(lambda z: dnp.real(z) ** 2 + dnp.imag(z) ** 2)(np.array(3.0 + 4.0j))
    np.testing.assert_allclose(g, 6.0 - 8.0j)


def test_vjp_of_holomorphic_function_is_the_complex_derivative():
    z = np.array([3.0 + 4.0j, -0.5 + 0.2j])
    _, pull = dt.vjp(dnp.sin, z)
    np.testing.assert_allclose(pull(np.ones(2, complex))[0], np.cos(z))
    _, t = dt.jvp(dnp.sin, (z,), (np.ones(2, complex),))
    np.testing.assert_allclose(t, np.cos(z))


def test_conjugate_real_imag_rules():
    z = np.array([1.0 + 2.0j])
    u = np.array([0.3 - 0.7j])
    np.testing.assert_allclose(dt.vjp(dnp.conj, z)[1](u)[0], np.conj(u))
    np.testing.assert_allclose(dt.vjp(dnp.real, z)[1](np.array([2.0]))[0], [2.0 + 0j])
    np.testing.assert_allclose(dt.vjp(dnp.imag, z)[1](np.array([2.0]))[0], [-2.0j])
    np.testing.assert_allclose(dt.jvp(dnp.imag, (z,), (u,))[1], u.imag)


@pytest.mark.parametrize("f", [
    lambda z: dnp.real(z) * dnp.imag(z) ** 2,
    lambda z: dnp.conj(z) * z * z,
    lambda z: np.conjugate(z) + np.real(z) * np.imag(z),
    lambda z: dnp.angle(z) * 3.0,
    lambda z: cx.complex_abs(z * z),
    lambda z: dnp.exp(z) * dnp.conj(z),
    lambda z: z.real * z.imag ** 2 + z.conj() * z.conjugate(),
], ids=["real_imag", "conj", "np_spellings", "angle", "abs", "exp_conj", "methods"])
def test_complex_functions_both_modes_second_order(f):
    check_complex(f, crandn(3), order=2)


def test_abs_and_angle_at_zero_have_derivative_zero():
    z = np.array([0.0 + 0.0j, 3.0 + 4.0j])
    for f in (cx.complex_abs, dnp.angle):
        g = dt.grad(lambda z: dnp.sum(f(z)))(z)
        _, t = dt.jvp(f, (z,), (np.ones(2, complex),))
        assert np.isfinite(g).all() and np.isfinite(t).all()
        assert g[0] == 0 and t[0] == 0
    np.testing.assert_allclose(dt.grad(lambda z: dnp.sum(cx.complex_abs(z)))(z)[1],
                               (3 - 4j) / 5)


def test_real_inputs_keep_plain_numpy_semantics():
    x = np.array([1.0, -2.0])

    def f(x):
        assert dnp.real(x) is x and dnp.conj(x) is x
        im, ang = dnp.imag(x), dnp.angle(x)
        assert type(im) is np.ndarray and type(ang) is np.ndarray   # plain: no derivative
        np.testing.assert_array_equal(ang, [0.0, np.pi])
        return dnp.sum(x * x)
    dt.grad(f)(x)
    dt.jvp(f, (x,), (x,))


def test_complex_linear_algebra():
    a, b = crandn(3, 3) + 3 * np.eye(3), crandn(3, 2)
    check_complex(dnp.linalg.inv, a, order=2)
    check_complex(dnp.linalg.det, a, order=2)
    check_complex(dnp.linalg.solve, a, b)
    check_complex(lambda a: dnp.linalg.slogdet(a)[0] * dnp.linalg.slogdet(a)[1], a)
    check_complex(lambda a, b: dnp.einsum("ij,jk->ki", a, b), a, b, order=2)
    check_complex(lambda a, b: dnp.vdot(a, b), a, a.T.copy())
    check_complex(lambda a: dnp.linalg.norm(a) + dnp.linalg.norm(a, 1, axis=0).sum(), a)


def test_complex_values_with_real_inputs_give_real_cotangents():
    x, y = RNG.standard_normal((2, 3)), RNG.standard_normal((3, 3))
    check_complex(lambda x, y: dnp.einsum("ij,jk", cx.complex_(x, x), y), x, y, order=2)
    check_complex(lambda x, y: dnp.linalg.solve(y + 3 * np.eye(3), cx.complex_(x, x).T),
                  x, y)


def test_complex_parts_reject_nothing_silently_in_decompositions():
    a = crandn(3, 3)
    for fn in (dnp.linalg.cholesky, dnp.linalg.qr, dnp.linalg.pinv):
        with pytest.raises(TypeError, match=fn.__name__):
            dt.grad(lambda a: dnp.real(dnp.sum(fn(a)[0])))(a)


# ---- Fourier transforms ---------------------------------------------------------------
FFTS = {
    "fft": lambda x: dnp.fft.fft(x, n=5),
    "fft_axis": lambda x: np.fft.fft(x, n=3, axis=0, norm="ortho"),
    "ifft": lambda x: np.fft.ifft(x, norm="forward"),
    "fftn": lambda x: np.fft.fftn(x, s=(3, 5), axes=(0, 1)),
    "fft2": lambda x: np.fft.fft2(x),
    "ifftn": lambda x: np.fft.ifftn(x, axes=(1,), norm="ortho"),
    "ifft2": lambda x: np.fft.ifft2(x, s=(2, 3)),
    "irfft": lambda x: np.fft.irfft(x),
    "irfft_n": lambda x: np.fft.irfft(x, n=7, axis=0, norm="ortho"),
    "irfftn": lambda x: np.fft.irfftn(x, axes=(0, 1)),
    "irfft2": lambda x: np.fft.irfft2(x, s=(2, 5), norm="forward"),
    "hfft": lambda x: np.fft.hfft(x, n=6),
    "fftshift": lambda x: np.fft.fftshift(x),
    "ifftshift": lambda x: np.fft.ifftshift(x, axes=(1,)),
}
REAL_FFTS = {
    "rfft": lambda x: np.fft.rfft(x),
    "rfft_n": lambda x: np.fft.rfft(x, n=3, axis=0, norm="ortho"),
    "rfftn": lambda x: np.fft.rfftn(x),
    "rfft2": lambda x: np.fft.rfft2(x, s=(3, 6), norm="forward"),
    "ihfft": lambda x: np.fft.ihfft(x),
    "fft_of_real": lambda x: np.fft.fft(x),
}


@pytest.mark.parametrize("name", sorted(FFTS))
def test_fft_complex_input(name):
    f = FFTS[name]
    x = crandn(2, 4)
    out, _ = dt.jvp(f, (x,), (x,))
    np.testing.assert_allclose(out, f(x), rtol=1e-12, atol=1e-12)
    check_complex(f, x, order=2)


@pytest.mark.parametrize("name", sorted(REAL_FFTS))
def test_fft_real_input(name):
    f = REAL_FFTS[name]
    x = RNG.standard_normal((2, 4))
    out, _ = dt.jvp(f, (x,), (x,))
    np.testing.assert_allclose(out, f(x), rtol=1e-12, atol=1e-12)
    check_complex(f, x, order=2)


def test_parseval_gradient_is_real_and_closed_form():
    # sum |fft(x)|^2 = n sum x^2, so the gradient is 2 n x (real, for a real x).
    x = RNG.standard_normal(6)

    def energy(x):
        y = dnp.fft.fft(x)
        return dnp.sum(dnp.real(y) ** 2 + dnp.imag(y) ** 2)
    g = dt.grad(energy)(x)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, 12 * x)
    np.testing.assert_allclose(dt.jacfwd(dt.grad(energy))(x), 12 * np.eye(6), atol=1e-12)


def test_fft_vector_mode_and_jacobians():
    x = RNG.standard_normal((3, 4))

    def f(x):
        return dnp.real(np.fft.rfft2(x) * np.fft.rfft2(x[::-1]))
    J1, J2 = dt.jacfwd(f, chunk_size=5)(x), dt.jacrev(f, chunk_size=4)(x)
    np.testing.assert_allclose(J1, J2, atol=1e-12)
    # the DFT matrix itself: d fft(x) / dx for real x (real part of the columns)
    Jr = dt.jacfwd(lambda x: dnp.real(dnp.fft.fft(x)))(np.zeros(4))
    np.testing.assert_allclose(Jr, np.real(np.fft.fft(np.eye(4), axis=0)), atol=1e-12)


def test_fft_sparsity_is_block_diagonal_over_untransformed_axes():
    x = RNG.standard_normal((3, 4))
    P = dt.sparsity(lambda x: dnp.real(dnp.fft.fft(x, axis=1)), x).toarray()
    np.testing.assert_array_equal(P, np.kron(np.eye(3), np.ones((4, 4))).astype(bool))
    P = dt.sparsity(lambda x: dnp.fft.irfft(dnp.fft.rfft(x, axis=0), n=3, axis=0), x)
    np.testing.assert_array_equal(P.toarray(),
                                  np.kron(np.ones((3, 3)), np.eye(4)).astype(bool))


def test_every_fft_function_has_a_table_row():
    from tables import FUNCTION_TABLE
    skip = {"fftfreq", "rfftfreq"}                     # numpy's own: no array input
    assert not [n for n in dnp.fft.__all__ if n not in skip and f"fft.{n}" not in FUNCTION_TABLE]


def test_fft_arguments():
    x = RNG.standard_normal(4)
    with pytest.raises(ValueError, match="Invalid norm"):
        dt.grad(lambda x: dnp.sum(dnp.real(dnp.fft.fft(x, norm="bad"))))(x)
    with pytest.raises(TypeError, match="in place"):
        dt.grad(lambda x: dnp.sum(dnp.real(np.fft.fft(x, out=np.empty(4, complex)))))(x)
    with pytest.raises(TypeError, match="rfft"):
        dt.grad(lambda z: dnp.sum(np.fft.rfft(z)).real)(crandn(4))
    np.testing.assert_allclose(dnp.fft.fftfreq(4), np.fft.fftfreq(4))


# ---- core conventions for complex values --------------------------------------------
def test_core_abs_of_complex():
    z = np.array([3.0 + 4.0j])
    np.testing.assert_allclose(dt.jvp(dnp.abs, (z,), (np.ones(1, complex),))[1], [0.6])
    np.testing.assert_allclose(dt.grad(lambda z: dnp.sum(np.abs(z)))(z), [0.6 - 0.8j])


def test_core_real_input_gets_real_gradient():
    x = np.array([0.3, 0.5])
    g = dt.grad(lambda x: dnp.sum(dnp.real(dnp.exp(1j * x))))(x)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, -np.sin(x))


def test_check_grads_accepts_holomorphic_functions():
    dt.check_grads(lambda z: z * z * dnp.exp(z), (crandn(3),), order=1)
