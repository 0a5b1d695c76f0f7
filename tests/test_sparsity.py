"""Sparsity detection through the registry's structure rules."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp


def dense(P):
    return P.toarray().astype(int)


def tridiagonal(x):
    # f_i = x_{i-1} x_i - x_{i+1}^2 with zero padding at both ends
    xp = dnp.concatenate([np.zeros(1), x, np.zeros(1)])
    return xp[:-2] * xp[1:-1] - xp[2:] ** 2


def test_tridiagonal_pattern():
    P = dt.sparsity(tridiagonal, np.ones(5))
    expected = np.eye(5, dtype=int) + np.eye(5, k=1, dtype=int) + np.eye(5, k=-1, dtype=int)
    np.testing.assert_array_equal(dense(P), expected)
    assert P.dtype == bool and P.format == "csr"


def test_matmul_by_a_constant_uses_its_nonzeros():
    A = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]])
    np.testing.assert_array_equal(dense(dt.sparsity(lambda x: np.tanh(A @ x), np.ones(3))),
                                  A != 0)
    # x @ A.T on a batch: row b, output i depends on x[b, j] where A[i, j] != 0
    P = dt.sparsity(lambda X: X @ A.T, np.ones((2, 3)))
    np.testing.assert_array_equal(dense(P), np.kron(np.eye(2), A != 0))


def test_product_of_two_traced_operands_is_dense_globally():
    P = dt.sparsity(lambda x: np.reshape(x[:4], (2, 2)) @ x[4:], np.ones(6))
    # out_i = sum_j X_ij v_j: row i depends on X[i, :] and all of v
    np.testing.assert_array_equal(dense(P), [[1, 1, 0, 0, 1, 1], [0, 0, 1, 1, 1, 1]])


def test_reductions_take_the_union_over_reduced_axes():
    P = dt.sparsity(lambda x: np.sum(np.reshape(x, (2, 3)) ** 2, axis=0), np.ones(6))
    np.testing.assert_array_equal(dense(P), [[1, 0, 0, 1, 0, 0], [0, 1, 0, 0, 1, 0],
                                             [0, 0, 1, 0, 0, 1]])
    assert dense(dt.sparsity(lambda x: np.max(x), np.ones(4))).tolist() == [[1, 1, 1, 1]]


def test_shape_and_indexing_move_rows():
    x = np.ones(6)
    P = dt.sparsity(lambda x: np.reshape(x, (2, 3)).T[::-1, [1, 1]], x)
    # T[::-1] rows are columns 2, 1, 0 of the (2, 3) view; then rows [1, 1] of each
    expected = np.zeros((6, 6), int)
    for r, (i, j) in enumerate([(2, 1), (2, 1), (1, 1), (1, 1), (0, 1), (0, 1)]):
        expected[r, j * 3 + i] = 1
    np.testing.assert_array_equal(dense(P), expected)


def test_where_and_scatter():
    cond = np.array([True, False, True])
    P = dt.sparsity(lambda x: np.where(cond, x[:3], x[3:]), np.ones(6))
    np.testing.assert_array_equal(dense(P), [[1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 0],
                                             [0, 0, 1, 0, 0, 0]])
    # repeated indices: the reverse rule of indexing sums both sources into element 0
    P = dt.grad(lambda x: np.sum(x[[0, 0, 2]] ** 2))
    Ps = dt.sparsity(lambda x: P(x), np.ones(3))
    np.testing.assert_array_equal(dense(Ps), np.diag([1, 0, 1]))


def test_local_patterns_use_values_and_global_ones_do_not():
    relu = lambda x: np.maximum(x, 0.0)          # noqa: E731
    x = np.array([1.0, -1.0, 2.0])
    np.testing.assert_array_equal(dense(dt.sparsity(relu, x)), np.eye(3))
    np.testing.assert_array_equal(dense(dt.sparsity(relu, x, kind="local")), np.diag([1, 0, 1]))
    np.testing.assert_array_equal(dense(dt.sparsity(np.max, x, kind="local")), [[0, 0, 1]])


def test_value_dependent_branch_needs_local_detection():
    def f(x):
        return x * 2 if x[0] > 0 else -x
    with pytest.raises(ValueError, match="kind='local'"):
        dt.sparsity(f, np.ones(3))
    np.testing.assert_array_equal(dense(dt.sparsity(f, np.ones(3), kind="local")), np.eye(3))


def test_primitive_without_rule_is_conservative():
    double = dt.defprimitive("sparsity_test_double", lambda x: 2 * x)
    dt.defjvp(double, lambda t, ans, x: 2 * t)
    P = dt.sparsity(lambda x: double(x[:2]) + x[2], np.ones(4))
    np.testing.assert_array_equal(dense(P), [[1, 1, 1, 0], [1, 1, 1, 0]])


def test_large_pattern_is_cheap():
    n = 1_000_000
    P = dt.sparsity(tridiagonal, np.ones(n))
    assert P.nnz == 3 * n - 2
    assert P.data.nbytes + P.indices.nbytes + P.indptr.nbytes < 64 * 2 ** 20


OPS = ["sin", "square", "shift_mul", "matmul_sparse", "sum_pairs", "relu", "where",
       "getitem", "transpose_mix"]


@st.composite
def programs(draw):
    n = draw(st.integers(2, 6))
    ops = draw(st.lists(st.sampled_from(OPS), min_size=1, max_size=5))
    x = np.array(draw(st.lists(st.floats(-2, 2), min_size=n, max_size=n)))
    seed = draw(st.integers(0, 2 ** 16))
    return ops, x, seed


def build(ops, n, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n)) * (rng.random((n, n)) < 0.3)
    perm = rng.permutation(n)
    cond = rng.random(n) < 0.5

    def f(x):
        for op in ops:
            if op == "sin":
                x = np.sin(x)
            elif op == "square":
                x = x * x
            elif op == "shift_mul":
                x = x * dnp.concatenate([x[1:], x[:1]])
            elif op == "matmul_sparse":
                x = A @ x
            elif op == "sum_pairs":
                x = x + dnp.sum(x[:2])
            elif op == "relu":
                x = np.maximum(x, 0.1)
            elif op == "where":
                x = np.where(cond, x, 2 * x[perm])
            elif op == "getitem":
                x = x[perm]
            else:
                x = np.reshape(np.reshape(dnp.concatenate([x, x]), (2, n)).T, (-1,))[:n]
        return x
    return f


@settings(max_examples=60, deadline=None)
@given(programs())
def test_detected_pattern_covers_every_numerical_nonzero(prog):
    ops, x, seed = prog
    f = build(ops, len(x), seed)
    J = dt.jacfwd(f)(x)
    for kind in ("global", "local"):
        P = dense(dt.sparsity(f, x, kind=kind))
        assert not np.any((J != 0) & (P == 0)), (kind, J, P)


# ---- global patterns hold for every input -------------------------------------------
def test_values_through_nondifferentiable_primitives_stay_value_dependent():
    x = np.array([-1.0, 2.0, -3.0, 4.0])
    f = lambda v: np.where(np.sign(v) > 0, v, 0.0)          # noqa: E731
    # the pattern at x and at -x is the same: either branch may be taken
    np.testing.assert_array_equal(dense(dt.sparsity(f, x)), np.eye(4))
    np.testing.assert_array_equal(dense(dt.sparsity(f, -x)), np.eye(4))
    np.testing.assert_array_equal(dense(dt.sparsity(f, x, kind="local")), np.diag([0, 1, 0, 1]))
    # arithmetic on such a value keeps it value-dependent
    g = lambda v: np.where(np.floor(v) * 2.0 + 1.0 > 0, v[::-1], v)   # noqa: E731
    np.testing.assert_array_equal(dense(dt.sparsity(g, x)), np.eye(4) + np.eye(4)[::-1])
    h = lambda v: np.where(dnp.argmax(v) == np.arange(4), v, v[[1, 2, 3, 0]])  # noqa: E731
    np.testing.assert_array_equal(dense(dt.sparsity(h, x)),
                                  np.eye(4) + np.roll(np.eye(4), 1, axis=1))


@pytest.mark.parametrize("f", [
    lambda v: v[dnp.argmax(v)],                                  # an index
    lambda v: dnp.take(v, dnp.argsort(v)),                       # positions
    lambda v: v[np.sign(v) > 0],                                 # a mask
    lambda v: np.zeros(int(np.floor(v[0]))) + v[1],              # a shape
    lambda v: v * 2 if np.sign(v[0]) > 0 else -v,                # a Python branch
    lambda v: dnp.reshape(v, (int(np.rint(v[0] * 0 + 4)),)),     # an int
])
def test_reading_a_value_dependent_value_suggests_local_detection(f):
    x = np.array([3.0, 2.0, -1.0, 4.0])
    with pytest.raises(ValueError, match="kind='local'"):
        dt.sparsity(f, x)
    J = dt.jacfwd(f)(x)
    P = dense(dt.sparsity(f, x, kind="local"))
    assert not np.any((J.reshape(P.shape) != 0) & (P == 0))


def test_nondifferentiable_results_of_constants_stay_plain():
    c = np.array([1.0, -2.0, 0.0])
    seen = []

    def f(v):
        s = np.sign(c)
        seen.append(type(s))
        return v * s[dnp.argmax(c)] + v[np.floor(c).astype(int) % 3]
    P = dense(dt.sparsity(f, np.ones(3)))
    assert seen == [np.ndarray]
    # v * 1 + v[[1, 1, 0]]
    np.testing.assert_array_equal(P, [[1, 1, 0], [0, 1, 0], [1, 0, 1]])


GLOBAL_OPS = ["where_sign", "abs", "maximum", "maximum_const", "floor", "sign_mul",
              "compare", "argmax", "sin", "minimum"]


def build_branchy(ops, n, seed):
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    shift = np.roll(np.arange(n), 1)

    def f(x):
        for op in ops:
            if op == "where_sign":
                x = np.where(np.sign(x) > 0, x, 0.5 * x[perm])
            elif op == "abs":
                x = np.abs(x) + x[shift]
            elif op == "maximum":
                x = np.maximum(x, x[perm])
            elif op == "maximum_const":
                x = np.maximum(x, 0.3)
            elif op == "floor":
                x = np.where(np.floor(x) % 2 == 0, x, 2.0 * x[shift])
            elif op == "sign_mul":
                x = np.sign(x[perm]) * x
            elif op == "compare":
                x = np.where(x > x[perm], x * x, 0.0)
            elif op == "argmax":
                x = np.where(dnp.argmax(x) == np.arange(n), x[shift], x)
            elif op == "minimum":
                x = np.minimum(x, -x[shift])
            else:
                x = np.sin(x)
        return x
    return f


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 6), ops=st.lists(st.sampled_from(GLOBAL_OPS), min_size=1, max_size=5),
       seed=st.integers(0, 2 ** 16))
def test_global_pattern_covers_the_jacobian_at_other_points(n, ops, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, n)
    f = build_branchy(ops, n, seed)
    P = dense(dt.sparsity(f, x))
    # the pattern found at x holds at -x (every sign flips), at x with some signs
    # flipped, and at unrelated points; the Jacobian there comes from forward mode
    points = [x, -x, x * rng.choice([-1.0, 1.0], n)] + [rng.uniform(-3, 3, n) for _ in range(3)]
    for y in points:
        J = dt.jacfwd(f)(y)
        assert not np.any((J != 0) & (P == 0)), (ops, y, J, P)


@pytest.mark.parametrize("f", [
    lambda v: dnp.max(v * v),
    lambda v: dnp.sum(np.maximum(v, 0.0) ** 2 * v),
    lambda v: dnp.sum(np.abs(v) ** 3),
    lambda v: dnp.sum(np.abs(v[0] + 1j * v[1:]) ** 2),
])
def test_hessian_patterns_through_selections_hold_for_every_input(f):
    # the gradient's rules compare values (ties, kinks): globally those comparisons are
    # value-dependent too, and the pattern found at x covers the Hessian elsewhere
    x = np.array([-1.0, 2.0, -3.0, 0.5])
    P = dense(dt.sparsity(dt.grad(f), x))
    rng = np.random.default_rng(0)
    for y in [x, -x, rng.uniform(-3, 3, 4), rng.uniform(-3, 3, 4)]:
        H = dt.hessian(f)(y)
        assert not np.any((H != 0) & (P == 0)), (y, H, P)


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 9), st.integers(1, 9), st.integers(0, 2**31), st.booleans())
def test_row_gathers_and_scatters_match_the_sparse_products(m, n, seed, run):
    # the index-set helpers take shortcuts (a run of rows between empty ones, a
    # scatter that hits each place once); every shortcut gives scipy's product
    import scipy.sparse as sps

    from dualtape.primitives import _structure
    rng = np.random.default_rng(seed)
    P = sps.csr_array(rng.random((m, n)) < 0.4)
    k = int(rng.integers(1, 12))
    if run:                          # -1 .. -1, r, r + 1, ..., -1 ..
        a, b = sorted(rng.integers(0, k + 1, 2))
        r = int(rng.integers(0, m))
        b = min(b, a + m - r)
        idx = np.full(k, -1)
        idx[a:b] = np.arange(r, r + b - a)
    else:
        idx = rng.integers(-1, m, k)
    S = sps.csr_array((np.ones(int((idx >= 0).sum())), (np.flatnonzero(idx >= 0),
                       idx[idx >= 0])), shape=(k, m))
    got = _structure.rows(P, idx)
    assert got.shape == (k, n)
    assert (got.toarray() == (S @ P.astype(float)).toarray().astype(bool)).all()
    # scatter: element j of the values goes to place target[j] of a vector of size k
    target = rng.permutation(k)[:m] if run and m <= k else rng.integers(0, k, m)
    want = sps.csr_array((np.ones(m), (target, np.arange(m))), shape=(k, m)) @ P
    got = _structure.scatter([P], None, None, {"shape": (k,), "idx": (target,)}, False)
    assert (got.toarray() == want.toarray().astype(bool)).all()


def test_a_full_reduction_is_the_union_of_the_rows():
    import scipy.sparse as sps

    from dualtape.primitives import _structure
    rng = np.random.default_rng(3)
    for m, n in [(1, 1), (5, 9), (40, 7)]:
        P = sps.csr_array(rng.random((m, n)) < 0.3)
        P.data[::3] = False               # explicit zeros are not dependences
        got = _structure._one_row(P)
        assert got.shape == (1, n)
        want = (P.toarray().any(axis=0))[None, :]
        assert (got.toarray() == want).all()
    # and through dt.sparsity: sum of a 2-D value over both axes, and over one
    x = np.ones((3, 4))
    assert dt.sparsity(lambda v: dnp.sum(v[:, 1:] ** 2), x).toarray().tolist() == \
        [[k % 4 != 0 for k in range(12)]]
    assert dt.sparsity(lambda v: dnp.sum(v, axis=0), x).nnz == 12
