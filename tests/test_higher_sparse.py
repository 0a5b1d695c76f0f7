"""Sparse Hessians: the Hessian pattern (exact for partially separable functions,
never too small), and dt.hessian(structure="sparse" / "auto") against closed forms on
Rosenbrock, an arrowhead, a 2-D five-point-stencil energy and random partially
separable functions."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
from dualtape.sparsity_hessian import hessian_sparsity

METHODS = ["star", "acyclic"]
RTOL = {"star": 1e-13, "acyclic": 1e-10}


# ---- objectives and their hand-derived Hessians --------------------------------------
def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_hessian(x):
    n = x.size
    d = np.zeros(n)
    d[:-1] += 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    d[1:] += 200
    off = -400 * x[:-1]
    return np.diag(d) + np.diag(off, 1) + np.diag(off, -1)


def arrow(x):
    return np.sum(x ** 2) + x[0] * np.sum(np.sin(x[1:]))


def arrow_hessian(x):
    H = np.diag(2 - x[0] * np.concatenate([[0.0], np.sin(x[1:])]))
    H[0, 1:] = H[1:, 0] = np.cos(x[1:])
    return H


def stencil_energy(u):
    """Discrete Dirichlet energy of a 2-D field plus a convex on-site term."""
    dx = u[1:, :] - u[:-1, :]
    dy = u[:, 1:] - u[:, :-1]
    return 0.5 * np.sum(dx * dx) + 0.5 * np.sum(dy * dy) + np.sum(np.exp(u))


def stencil_hessian(u):
    nx, ny = u.shape
    lap = lambda k: sp.diags_array([-np.ones(k - 1), np.r_[1, 2 * np.ones(k - 2), 1],  # noqa: E731
                                    -np.ones(k - 1)], offsets=[-1, 0, 1]).toarray()
    L = np.kron(lap(nx), np.eye(ny)) + np.kron(np.eye(nx), lap(ny))
    return L + np.diag(np.exp(u).ravel())


# ---- patterns ------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["global", "local"])
def test_pattern_of_rosenbrock_is_tridiagonal(kind):
    P = hessian_sparsity(rosenbrock, np.linspace(0.1, 1.2, 9), kind=kind)
    want = np.abs(np.subtract.outer(np.arange(9), np.arange(9))) <= 1
    np.testing.assert_array_equal(P.toarray(), want)


def test_pattern_of_products_has_no_diagonal_and_linear_terms_nothing():
    f = lambda x: x[0] * x[1] + 3.0 * x[2] + np.sin(x[3])  # noqa: E731
    want = np.zeros((4, 4), bool)
    want[0, 1] = want[1, 0] = want[3, 3] = True
    np.testing.assert_array_equal(hessian_sparsity(f, np.ones(4)).toarray(), want)


def test_local_pattern_may_be_smaller():
    f = lambda x: np.sum(np.maximum(x, 0.0) ** 3)  # noqa: E731
    x = np.array([1.0, -1.0, 2.0])
    assert hessian_sparsity(f, x, kind="local").nnz <= hessian_sparsity(f, x).nnz
    assert hessian_sparsity(f, x).nnz == 3


def test_public_spelling():
    x = np.linspace(0.1, 1.2, 7)
    for kind in ("global", "local"):
        np.testing.assert_array_equal(dt.sparsity(rosenbrock, x, kind, hessian=True).toarray(),
                                      hessian_sparsity(rosenbrock, x, kind).toarray())
    # the Jacobian pattern is unchanged without the flag
    assert dt.sparsity(np.sin, x).shape == (7, 7)


_rng = np.random.default_rng(5)
A = _rng.standard_normal((4, 6)) * (_rng.random((4, 6)) < 0.5)
NONSEPARABLE = {
    "relu-square": lambda x: np.sum(np.maximum(x[1:] * x[:-1], 0.0) ** 2),
    "abs-cubed": lambda x: np.sum(np.abs(x[::2] - x[1::2]) ** 3),
    "where": lambda x: np.sum(np.where(x > 0, x ** 3, np.sin(x)) * x[::-1]),
    "matmul": lambda x: np.sum(np.tanh(A @ x) ** 2),
    "max": lambda x: np.max(x[:3] * x[3:]) + np.sum(np.exp(x[:2])),
    "logsumexp": lambda x: np.log(np.sum(np.exp(x[2:5]))) * x[0],
}


@pytest.mark.parametrize("name", sorted(NONSEPARABLE))
def test_global_pattern_never_too_small(name):
    f = NONSEPARABLE[name]
    rng = np.random.default_rng(7)
    P = dt.sparsity(f, rng.uniform(-1, 1, 6), hessian=True).toarray()
    np.testing.assert_array_equal(P, P.T)
    for _ in range(5):               # other points, other signs and branches
        x = rng.uniform(-2, 2, 6)
        H = dt.hessian(f)(x)
        assert not np.any((H != 0) & ~P), name
        Hs = dt.hessian(f, structure="sparse")(x)
        np.testing.assert_allclose(Hs.toarray(), H, rtol=1e-12, atol=1e-12)


def test_vector_function_is_refused():
    with pytest.raises(TypeError, match="one output element"):
        hessian_sparsity(np.sin, np.ones(3))


# ---- random partially separable functions --------------------------------------------
@st.composite
def separable(draw):
    """A sum of terms on a few variables each, its structural pattern and a closed form
    of its Hessian."""
    n = draw(st.integers(1, 12))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    terms = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["exp", "prod", "sin", "lin", "square"]))
        size = {"exp": draw(st.integers(1, 3)), "prod": 2 + draw(st.integers(0, 1)),
                "sin": 1, "lin": 1, "square": 2}[kind]
        if size > n:
            continue
        idx = [int(i) for i in rng.choice(n, size, replace=False)]
        a = rng.uniform(0.5, 1.5, size) * rng.choice([-1, 1], size)
        terms.append((kind, idx, a))
    x = rng.uniform(-1, 1, n)
    return n, terms, x


def term_value(kind, idx, a, x):
    if kind == "exp":
        s = a[0] * x[idx[0]]
        for c, i in zip(a[1:], idx[1:]):
            s = s + c * x[i]
        return np.exp(0.3 * s)
    if kind == "prod":
        p = x[idx[0]] * x[idx[1]]
        return p * x[idx[2]] if len(idx) == 3 else p
    if kind == "sin":
        return np.sin(x[idx[0]])
    if kind == "lin":
        return a[0] * x[idx[0]]
    return (x[idx[0]] - x[idx[1]]) ** 2


def term_hessian(kind, idx, a, x, n):
    H = np.zeros((n, n))
    P = np.zeros((n, n), bool)
    if kind == "exp":
        b = 0.3 * a
        e = np.exp(b @ x[idx])
        H[np.ix_(idx, idx)] = np.outer(b, b) * e
        P[np.ix_(idx, idx)] = True
    elif kind == "prod":
        for s in range(len(idx)):
            for t in range(len(idx)):
                if s != t:
                    rest = [i for k, i in enumerate(idx) if k not in (s, t)]
                    H[idx[s], idx[t]] = np.prod(x[rest]) if rest else 1.0
                    P[idx[s], idx[t]] = True
    elif kind == "sin":
        H[idx[0], idx[0]] = -np.sin(x[idx[0]])
        P[idx[0], idx[0]] = True
    elif kind == "square":
        H[np.ix_(idx, idx)] = [[2, -2], [-2, 2]]
        P[np.ix_(idx, idx)] = True
    return H, P


def objective(terms):
    def f(x):
        total = 0.0 * x[0]
        for kind, idx, a in terms:
            total = total + term_value(kind, idx, a, x)
        return total
    return f


def closed_form(terms, x, n):
    H = np.zeros((n, n))
    P = np.zeros((n, n), bool)
    for t in terms:
        h, p = term_hessian(*t, x, n)
        H += h
        P |= p
    return H, P


@settings(max_examples=60, deadline=None)
@given(separable(), st.sampled_from(METHODS), st.sampled_from(["global", "local"]))
def test_partially_separable_exact_pattern_and_values(case, method, kind):
    n, terms, x = case
    f = objective(terms)
    H_want, P_want = closed_form(terms, x, n)
    P = hessian_sparsity(f, x, kind=kind).toarray()
    if kind == "global":
        np.testing.assert_array_equal(P, P_want)      # exactly the union of the blocks
    assert not np.any((H_want != 0) & ~P)             # never too small
    H, info = dt.hessian(f, structure="sparse", method=method, sparsity=kind,
                         return_info=True)(x)
    assert isinstance(H, sp.csr_array) and H.shape == (n, n)
    np.testing.assert_array_equal(H.toarray(), H.toarray().T)
    scale = max(1.0, np.abs(H_want).max())
    np.testing.assert_allclose(H.toarray(), H_want, rtol=0, atol=RTOL[method] * scale)
    assert info.method == method and info.passes == info.colors <= n
    assert info.lower_bound <= info.colors


# ---- known structures ----------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n", [2, 3, 50, 2000])
def test_rosenbrock(method, n):
    x = np.random.default_rng(n).uniform(-1.5, 1.5, n)
    H, info = dt.hessian(rosenbrock, structure="sparse", method=method, return_info=True)(x)
    want = rosenbrock_hessian(x)
    np.testing.assert_allclose(H.toarray(), want, rtol=0,
                               atol=RTOL[method] * np.abs(want).max())
    assert info.colors <= (3 if method == "star" else 2)
    assert info.sweeps == 1 and info.nnz == 3 * n - 2
    if method == "star" and n <= 50:   # direct recovery: as exact as the dense Hessian
        np.testing.assert_allclose(H.toarray(), dt.hessian(rosenbrock)(x), rtol=1e-15,
                                   atol=0)


@pytest.mark.parametrize("n", [3, 10, 1000])
def test_arrowhead_two_colours(n):
    if n * n > 200_000:
        pytest.importorskip("numba")   # without it, large graphs take the distance-2 colouring
    x = np.random.default_rng(0).uniform(-1, 1, n)
    H, info = dt.hessian(arrow, structure="sparse", return_info=True)(x)
    assert info.colors == 2 == info.lower_bound
    np.testing.assert_allclose(H.toarray(), arrow_hessian(x), rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("method", METHODS)
def test_five_point_stencil_energy_on_a_grid(method):
    u = np.random.default_rng(3).uniform(-1, 1, (9, 7))
    H, info = dt.hessian(stencil_energy, structure="sparse", method=method,
                         return_info=True)(u)
    assert H.shape == (63, 63)
    np.testing.assert_allclose(H.toarray(), stencil_hessian(u), rtol=0, atol=1e-12)
    assert info.lower_bound == 3 <= info.colors <= (6 if method == "star" else 4)


def test_auto_and_info_and_other_arguments():
    x = np.random.default_rng(1).uniform(-1, 1, 40)
    H, info = dt.hessian(rosenbrock, structure="auto", return_info=True)(x)
    assert isinstance(H, sp.csr_array) and info.structure == "sparse"
    assert "Hessian-vector products" in info.reason
    dense_f = lambda x: np.sum(x) ** 4  # noqa: E731
    H, info = dt.hessian(dense_f, structure="auto", return_info=True)(x)
    assert isinstance(H, np.ndarray) and H.shape == (40, 40) and info.method == "dense"
    np.testing.assert_allclose(H, np.full((40, 40), 12 * np.sum(x) ** 2))
    # argnums: differentiate the second argument only
    g = lambda a, y: a * rosenbrock(y)  # noqa: E731
    H = dt.hessian(g, argnums=1, structure="sparse")(2.0, x)
    np.testing.assert_allclose(H.toarray(), 2.0 * rosenbrock_hessian(x), rtol=1e-13)
    # a given pattern
    P = rosenbrock_hessian(x) != 0
    H = dt.hessian(rosenbrock, structure="sparse", sparsity=P)(x)
    np.testing.assert_allclose(H.toarray(), rosenbrock_hessian(x), rtol=1e-13)
    # full keeps its behaviour, and reports when asked
    H, info = dt.hessian(rosenbrock, return_info=True)(x)
    assert isinstance(H, np.ndarray) and info.passes == 40 and info.method == "dense"


def test_errors():
    x = np.ones(4)
    with pytest.raises(ValueError, match="structure"):
        dt.hessian(rosenbrock, structure="banded")
    with pytest.raises(ValueError, match="method"):
        dt.hessian(rosenbrock, structure="sparse", method="distance-2")
    with pytest.raises(TypeError, match="one integer argnums"):
        dt.hessian(lambda a, b: a * b, argnums=(0, 1), structure="sparse")(x, x)
    with pytest.raises(ValueError, match=r"\(4, 4\)"):
        dt.hessian(rosenbrock, structure="sparse", sparsity=np.ones((3, 3)))(x)
    with pytest.raises(TypeError, match="outer derivative"):
        dt.grad(lambda y: dt.hessian(rosenbrock, structure="sparse")(y).sum())(x)


def test_sparse_hessian_drives_trust_constr():
    import scipy.optimize as so

    def energy(x):
        u = x.reshape(20, 20)
        dx, dy = u[1:] - u[:-1], u[:, 1:] - u[:, :-1]
        return 0.5 * np.sum(dx ** 2) + 0.5 * np.sum(dy ** 2) + np.sum(np.cosh(u) - 0.5 * u)
    x0 = np.zeros(400)
    P = hessian_sparsity(energy, x0)
    hess = dt.hessian(energy, structure="sparse", sparsity=P)
    res = so.minimize(energy, x0, jac=dt.grad(energy), hess=hess, method="trust-constr")
    assert res.success
    # at the minimum sinh(u) = 0.5 - (L u), i.e. the gradient vanishes
    assert np.linalg.norm(dt.grad(energy)(res.x)) < 1e-6
