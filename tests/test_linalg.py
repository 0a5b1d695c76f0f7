"""Linear algebra and einsum: values against numpy, derivatives against finite
differences and closed forms, vector mode, second order, structure and semantics.

(Every public function also has a row in tests/tables/linalg.py, checked to second
order in both modes by test_primitive_table.py.)
"""

from __future__ import annotations

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp

RNG = np.random.default_rng(3)
L = dnp.linalg


def fd_jacobian(f, x, eps=1e-6):
    y0 = np.asarray(f(x))
    J = np.zeros(y0.shape + x.shape)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        J[(...,) + i] = (np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * eps)
    return J


def all_modes(f, x, atol=1e-6):
    """Jacobians by forward (vector and chunked), reverse (batched) and differences
    agree; the Hessian of 0.5 |f|^2 agrees between forward-over-reverse and
    reverse-over-reverse."""
    want = fd_jacobian(f, x)
    for J in (dt.jacfwd(f)(x), dt.jacfwd(f, chunk_size=2)(x), dt.jacrev(f)(x),
              dt.jacrev(f, chunk_size=3)(x)):
        np.testing.assert_allclose(J, want, atol=atol, rtol=1e-5)

    def energy(x):
        y = f(x)
        return 0.5 * dnp.sum(y * y)
    np.testing.assert_allclose(dt.hessian(energy)(x), dt.jacrev(dt.grad(energy))(x),
                               atol=1e-6, rtol=1e-6)


def spd(n):
    a = RNG.standard_normal((n, n))
    return a @ a.T + n * np.eye(n)


# ---- einsum ---------------------------------------------------------------------------
EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ba,a", [(2, 3), (3,)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("iij->ji", [(2, 2, 3)]),
    ("ij->", [(2, 3)]),
    ("ij,k->kij", [(2, 3), (2,)]),
    ("ij,k->k", [(2, 3), (2,)]),
    ("...ij,...jk->...ik", [(2, 2, 3), (3, 2)]),
    ("i...,i...->...", [(3, 2, 2), (3, 1, 2)]),
    ("ij,ij->ij", [(1, 3), (2, 3)]),
    ("ij,jk,kl,li->", [(2, 3), (3, 2), (2, 2), (2, 2)]),
    ("abc,cd,a->bd", [(2, 3, 2), (2, 3), (2,)]),
    (",i->i", [(), (3,)]),
    (",->", [(), ()]),
]


@pytest.mark.parametrize("spec,shapes", EINSUMS, ids=[s for s, _ in EINSUMS])
def test_einsum_values_and_derivatives_of_every_operand(spec, shapes):
    ops = [np.asarray(RNG.standard_normal(s)) for s in shapes]
    got = dt.jvp(lambda x: np.einsum(spec, x, *ops[1:]), (ops[0],), (ops[0],))[0]
    np.testing.assert_allclose(got, np.einsum(spec, *ops), rtol=1e-12, atol=1e-12)
    for i in range(len(ops)):
        def f(x, i=i):
            args = list(ops)
            args[i] = x
            return dnp.reshape(dnp.einsum(spec, *args), (-1,))
        all_modes(f, ops[i])
    # the same operand twice (a quadratic form): both contributions are summed
    if len(shapes) == 2 and shapes[0] == shapes[1]:
        all_modes(lambda x: dnp.reshape(dnp.einsum(spec, x, x), (-1,)), ops[0])


def test_einsum_sublist_form_and_dtype():
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal(3)
    for subs in (([0, 1], [1], [0]), ([0, Ellipsis], [Ellipsis], [Ellipsis, 0]),
                 ([1, 0], [0], None)):
        args = [a, subs[0], b, subs[1]] + ([] if subs[2] is None else [subs[2]])
        got = dt.jvp(lambda a: np.einsum(a, *args[1:]), (a,), (a,))[0]
        np.testing.assert_allclose(got, np.einsum(*args))
    g = dt.grad(lambda a: dnp.sum(dnp.einsum("ij,j", a, b, dtype=np.float32)))(a)
    np.testing.assert_allclose(g, np.broadcast_to(b, (2, 3)), rtol=1e-6)


def test_einsum_errors_like_numpy():
    a = RNG.standard_normal((2, 3))
    with pytest.raises(ValueError, match="operands"):
        dnp.einsum("ij,jk", a)
    with pytest.raises(ValueError, match="ellipsis"):
        dnp.einsum("...j->j", RNG.standard_normal((2, 2)))
    with pytest.raises(TypeError, match="in place"):
        dt.grad(lambda a: dnp.sum(np.einsum("ij->i", a, out=np.empty(2))))(a)


def test_einsum_sparsity_is_exact():
    C = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]])
    x = RNG.standard_normal((3, 2))
    P = dt.sparsity(lambda x: dnp.einsum("ij,jk->ik", C, x), x).toarray()
    J = dt.jacfwd(lambda x: dnp.einsum("ij,jk->ik", C, x))(x).reshape(4, 6) != 0
    np.testing.assert_array_equal(P, J)
    # a diagonal and a trace
    sq = RNG.standard_normal((3, 3))
    P = dt.sparsity(lambda a: dnp.einsum("ii->i", a), sq).toarray()
    np.testing.assert_array_equal(P, np.eye(9, dtype=bool)[[0, 4, 8]])
    P = dt.sparsity(lambda a: dnp.einsum("ij,ij->i", a, a), sq).toarray()
    np.testing.assert_array_equal(P, np.kron(np.eye(3), np.ones(3)).astype(bool))


# ---- products -------------------------------------------------------------------------
@pytest.mark.parametrize("name,f,shapes", [
    ("vdot", lambda a, b: np.vdot(a, b), [(2, 3), (3, 2)]),
    ("inner", lambda a, b: np.inner(a, b), [(2, 3), (4, 3)]),
    ("outer", lambda a, b: np.outer(a, b), [(2, 2), (3,)]),
    ("tensordot_int", lambda a, b: np.tensordot(a, b, 1), [(2, 3), (3, 2)]),
    ("tensordot_pair", lambda a, b: np.tensordot(a, b, axes=([1, 0], [0, 2])),
     [(3, 2, 2), (2, 4, 3)]),
    ("tensordot_0", lambda a, b: np.tensordot(a, b, 0), [(2,), (3,)]),
    ("kron", lambda a, b: np.kron(a, b), [(2, 3), (2,)]),
    ("kron_3d", lambda a, b: np.kron(a, b), [(2, 1, 2), (3, 2)]),
])
def test_products_match_numpy_and_differentiate(name, f, shapes):
    a, b = (RNG.standard_normal(s) for s in shapes)
    got = dt.jvp(lambda a: f(a, b), (a,), (a,))[0]
    np.testing.assert_allclose(got, f(a, b), rtol=1e-12)
    all_modes(lambda a: dnp.reshape(f(a, b), (-1,)), a)
    all_modes(lambda b: dnp.reshape(f(a, b), (-1,)), b)


def test_kron_and_outer_sparsity_are_structural():
    a = RNG.standard_normal(2)
    P = dt.sparsity(lambda a: dnp.kron(a, np.array([1.0, 3.0, 2.0])), a).toarray()
    np.testing.assert_array_equal(P, np.kron(np.eye(2), np.ones((3, 1))).astype(bool))
    P = dt.sparsity(lambda a: dnp.kron(a, np.array([1.0, 0.0, 2.0])), a, kind="local")
    np.testing.assert_array_equal(P.toarray(),
                                  np.kron(np.eye(2), [[1], [0], [1]]).astype(bool))
    P = dt.sparsity(lambda a: np.outer(a, np.ones(3)), a).toarray()
    np.testing.assert_array_equal(P, np.kron(np.eye(2), np.ones((3, 1))).astype(bool))


# ---- matrix functions: closed forms --------------------------------------------------
def test_det_inv_logdet_closed_forms():
    a = RNG.standard_normal((3, 3)) + 2 * np.eye(3)
    ai = np.linalg.inv(a)
    np.testing.assert_allclose(dt.grad(np.linalg.det)(a), np.linalg.det(a) * ai.T)
    np.testing.assert_allclose(dt.grad(lambda a: np.linalg.slogdet(a)[1])(a), ai.T)
    np.testing.assert_allclose(dt.grad(lambda a: L.trace(np.linalg.inv(a)))(a),
                               -(ai @ ai).T)
    b = RNG.standard_normal(3)
    np.testing.assert_allclose(dt.grad(lambda b: dnp.sum(np.linalg.solve(a, b)))(b),
                               ai.T @ np.ones(3))


def test_slogdet_sign_has_no_derivative_and_det_recomposes():
    a = -spd(3)                             # negative determinant
    s, ld = np.linalg.slogdet(a)

    def f(a):
        sign, logabs = np.linalg.slogdet(a)
        assert not isinstance(sign, dt.Dual)   # a plain value in forward mode
        return sign * dnp.exp(logabs)
    np.testing.assert_allclose(dt.jvp(f, (a,), (np.eye(3),))[1],
                               dt.jvp(np.linalg.det, (a,), (np.eye(3),))[1])
    np.testing.assert_allclose(dt.grad(lambda a: np.linalg.slogdet(a)[0] + 0 * a[0, 0])(a),
                               np.zeros((3, 3)))
    np.testing.assert_allclose(dt.grad(f)(a), dt.grad(np.linalg.det)(a))
    assert s == -1 and np.isfinite(ld)


def test_eigh_closed_forms_and_triangle_convention():
    a = spd(3)
    w, v = np.linalg.eigh(a)
    # sum of eigenvalues = trace, read from the lower triangle: the gradient is I
    np.testing.assert_allclose(dt.grad(lambda a: dnp.sum(np.linalg.eigvalsh(a)))(a),
                               np.eye(3), atol=1e-12)
    # largest eigenvalue of X + X^T: gradient 2 v v^T
    x = np.tril(a) * 0.5

    def top(x):
        return np.linalg.eigh(x + x.T).eigenvalues[-1]
    vt = np.linalg.eigh(x + x.T)[1][:, -1]
    np.testing.assert_allclose(dt.grad(top)(x), 2 * np.outer(vt, vt), atol=1e-10)
    # numpy reads one triangle only: no derivative flows to the other
    g = dt.grad(lambda a: dnp.sum(np.linalg.eigh(a, UPLO="U")[1] ** 3))(a)
    assert np.all(np.tril(g, -1) == 0)
    g = dt.grad(lambda a: dnp.sum(np.linalg.cholesky(a) ** 3))(a)
    assert np.all(np.triu(g, 1) == 0)
    all_modes(lambda a: dnp.ravel(np.linalg.eigh(a)[1] * np.linalg.eigh(a)[1][:1]), a)


def test_svd_closed_forms():
    a = RNG.standard_normal((4, 3))
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose(dt.grad(lambda a: np.linalg.norm(a, "nuc"))(a), u @ vh,
                               atol=1e-10)
    np.testing.assert_allclose(dt.grad(lambda a: np.linalg.norm(a, 2))(a),
                               np.outer(u[:, 0], vh[0]), atol=1e-10)
    np.testing.assert_allclose(dt.grad(lambda a: dnp.sum(np.linalg.svd(a, compute_uv=False)))(a),
                               u @ vh, atol=1e-10)

    def vectors(a):
        U, S, Vh = np.linalg.svd(a, full_matrices=False)
        return dnp.ravel(dnp.einsum("ik,k,kj->ij", U[:, :2], S[:2], Vh[:2]))
    all_modes(vectors, a)
    all_modes(vectors, a.T.copy())


def test_cholesky_and_qr_reconstruct_and_differentiate():
    a = spd(3)
    all_modes(lambda a: dnp.ravel(np.linalg.cholesky(a)), a)
    all_modes(lambda a: dnp.ravel(np.linalg.cholesky(a, upper=True)), a)
    for shape in ((4, 3), (3, 3), (2, 4)):
        x = RNG.standard_normal(shape)
        q, r = np.linalg.qr(x)
        got = dt.jvp(lambda x: tuple(np.linalg.qr(x)), (x,), (x,))[0]
        np.testing.assert_allclose(got[0], q, atol=1e-12)
        np.testing.assert_allclose(got[1], r, atol=1e-12)
        all_modes(lambda x: dnp.concatenate([dnp.ravel(np.linalg.qr(x).Q),
                                             dnp.ravel(np.linalg.qr(x).R)]), x)


def test_pinv_solve_and_friends():
    a = RNG.standard_normal((4, 2))
    all_modes(lambda a: dnp.ravel(np.linalg.pinv(a)), a)
    # rank-deficient, along a path of constant rank (rank 1): Golub-Pereyra still holds
    all_modes(lambda p: dnp.ravel(np.linalg.pinv(np.outer(p[:3], p[3:]))),
              RNG.standard_normal(6), atol=1e-5)
    b = RNG.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    all_modes(lambda b: dnp.ravel(np.linalg.solve(b, np.ones(3))), b)
    all_modes(lambda v: dnp.ravel(np.linalg.solve(b, v)), RNG.standard_normal((3, 2)))
    all_modes(lambda v: np.linalg.lstsq(a, v)[0], RNG.standard_normal(4))


def test_matrix_power_and_trace():
    a = RNG.standard_normal((3, 3)) + 2 * np.eye(3)
    for n in (0, 1, 2, 5, -1, -3):
        got = dt.jvp(lambda a: np.linalg.matrix_power(a, n), (a,), (a,))[0]
        np.testing.assert_allclose(got, np.linalg.matrix_power(a, n), rtol=1e-10)
    ident = dt.jvp(lambda a: np.linalg.matrix_power(a, 0), (a,), (a,))
    assert type(ident[0]) is np.ndarray
    np.testing.assert_allclose(ident[1], 0)
    all_modes(lambda a: dnp.ravel(np.linalg.matrix_power(a, 3)), a)
    x = RNG.standard_normal((2, 3, 4))
    np.testing.assert_allclose(dt.jvp(lambda x: np.linalg.trace(x, offset=-1), (x,), (x,))[0],
                               np.linalg.trace(x, offset=-1))
    np.testing.assert_allclose(dt.jvp(lambda x: np.linalg.diagonal(x, offset=2), (x,), (x,))[0],
                               np.linalg.diagonal(x, offset=2))


# ---- norms ----------------------------------------------------------------------------
VECTOR, MATRIX = (4,), (3, 3)
NORMS = [
    (VECTOR, dict()), (VECTOR, dict(ord=1)), (VECTOR, dict(ord=np.inf)),
    (VECTOR, dict(ord=-np.inf)), (VECTOR, dict(ord=3)), (VECTOR, dict(ord=0.5)),
    (VECTOR, dict(ord=2)), (MATRIX, dict()), (MATRIX, dict(ord=2, axis=0)),
    (MATRIX, dict(ord=1, axis=-1, keepdims=True)), (MATRIX, dict(axis=(0, 1))),
    (MATRIX, dict(ord="fro")), (MATRIX, dict(ord="nuc")), (MATRIX, dict(ord=2)),
    (MATRIX, dict(ord=-2)), (MATRIX, dict(ord=1, axis=(1, 0))), (MATRIX, dict(ord=-1)),
    (MATRIX, dict(ord=np.inf, keepdims=True)), (MATRIX, dict(ord=-np.inf)),
    ((2, 3, 2), dict(ord="nuc", axis=(2, 0), keepdims=True)),
]


@pytest.mark.parametrize("shape,kw", NORMS, ids=[f"{s}-{k}" for s, k in NORMS])
def test_norms_match_numpy_and_differentiate(shape, kw):
    x = RNG.standard_normal(shape)
    got = dt.jvp(lambda x: np.linalg.norm(x, **kw), (x,), (x,))[0]
    np.testing.assert_allclose(got, np.linalg.norm(x, **kw), rtol=1e-12)
    all_modes(lambda x: dnp.ravel(dnp.linalg.norm(x, **kw)), x, atol=1e-5)


@pytest.mark.parametrize("kw", [dict(), dict(ord=1), dict(ord=3), dict(ord=np.inf),
                                dict(ord="fro"), dict(ord="nuc"), dict(ord=2)])
def test_norm_at_zero_has_derivative_zero(kw):
    x = np.zeros((2, 2)) if isinstance(kw.get("ord"), str) or kw.get("ord") == 2 \
        else np.zeros(3)
    g = dt.grad(lambda x: np.linalg.norm(x, **kw))(x)
    _, t = dt.jvp(lambda x: np.linalg.norm(x, **kw), (x,), (np.ones_like(x),))
    assert np.all(g == 0) and t == 0
    if "ord" not in kw or kw["ord"] in (3, "fro"):
        assert np.all(np.isfinite(dt.hessian(lambda x: np.linalg.norm(x, **kw))(x)))


def test_vector_and_matrix_norm_spellings():
    x = RNG.standard_normal((2, 3, 3))
    for f in (lambda x: np.linalg.vector_norm(x, axis=(1, 2), ord=1),
              lambda x: np.linalg.matrix_norm(x, ord="nuc"),
              lambda x: np.linalg.cond(x), lambda x: np.linalg.cond(x, "fro")):
        np.testing.assert_allclose(dt.jvp(f, (x,), (x,))[0], f(x), rtol=1e-10)
        all_modes(lambda x: dnp.ravel(f(x)), x, atol=1e-5)


# ---- semantics ------------------------------------------------------------------------
def test_unsupported_and_non_differentiable_cases_raise_clearly():
    a = RNG.standard_normal((3, 3))
    with pytest.raises(TypeError, match="full_matrices"):
        dt.grad(lambda a: dnp.sum(np.linalg.svd(a[:2])[0]))(a)
    with pytest.raises(TypeError, match="mode='complete'"):
        dt.grad(lambda a: dnp.sum(np.linalg.qr(a, mode="complete")[0]))(a)
    with pytest.raises(TypeError, match="in place"):
        dt.grad(lambda a: dnp.sum(np.outer(a, a, out=np.empty((9, 9)))))(a)
    with pytest.raises(np.linalg.LinAlgError):
        dt.grad(np.linalg.det)(np.ones((2, 2)))        # singular: solve raises, no NaN


def test_namedtuple_results_can_be_returned():
    x = RNG.standard_normal((3, 2))
    dt.jvp(lambda x: np.linalg.qr(x), (x,), (x,))


def test_every_linalg_function_has_a_table_row():
    from tables import FUNCTION_TABLE
    skip = {"LinAlgError"}                             # an exception
    missing = [n for n in dnp.linalg.__all__
               if n not in skip and f"linalg.{n}" not in FUNCTION_TABLE]
    assert not missing


def test_matrix_rank_is_plain():
    a = RNG.standard_normal((3, 2))

    def f(a):
        r = np.linalg.matrix_rank(a)
        assert isinstance(r, (int, np.integer)) and r == 2
        return dnp.sum(a)
    dt.grad(f)(a)
    dt.jvp(f, (a,), (a,))


def test_counting_and_sparsity_see_decompositions():
    a = spd(3)
    c = dt.count(dt.grad(lambda a: dnp.sum(np.linalg.eigh(a)[1] ** 2)), a)
    assert c.by_primitive["eigh"][0] == 1 and c.derivative_calls > 0
    P = dt.sparsity(lambda a: np.linalg.inv(a), a)
    assert P.nnz == 81                                   # dense, as it must be


@pytest.mark.parametrize("f", [
    np.linalg.inv, np.linalg.det, np.linalg.svdvals, np.linalg.pinv,
    lambda a: np.linalg.solve(a, np.ones((3, 2))), lambda a: np.linalg.cholesky(a),
], ids=["inv", "det", "svdvals", "pinv", "solve", "cholesky"])
def test_stacked_matrices_have_block_diagonal_patterns(f):
    a = np.stack([spd(3), spd(3)])
    P = dt.sparsity(f, a).toarray()
    blocks = np.kron(np.eye(2), np.ones((P.shape[0] // 2, 9))).astype(bool)
    np.testing.assert_array_equal(P, blocks)
    J = dt.jacfwd(f)(a).reshape(P.shape)
    assert np.all(P[J != 0])
