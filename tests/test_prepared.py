"""Prepared Jacobians: planned once, the same Jacobian as an unprepared call (and the
closed form) at other inputs, refusing inputs they were not planned for; usable as
scipy.optimize's ``jac=``."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import dualtape as dt


def tridiagonal(x):
    xp = np.concatenate([np.zeros(1), x, np.zeros(1)])
    return xp[:-2] * xp[1:-1] - xp[2:] ** 2


def tridiagonal_exact(x):
    """df_i/dx_{i-1} = x_i, df_i/dx_i = x_{i-1}, df_i/dx_{i+1} = -2 x_{i+1}."""
    n = x.size
    return sp.diags_array([x[1:], np.r_[0.0, x[:-1]], -2 * x[1:]], offsets=[-1, 0, 1],
                          shape=(n, n)).toarray()


def broyden(x):
    """The Broyden tridiagonal residuals (More, Garbow & Hillstrom 1981, problem 30)."""
    xp = np.concatenate([np.zeros(1), x, np.zeros(1)])
    return (3.0 - 2.0 * x) * x - xp[:-2] - 2.0 * xp[2:] + 1.0


def broyden_exact(x):
    n = x.size
    return sp.diags_array([-np.ones(n - 1), 3.0 - 4.0 * x, -2.0 * np.ones(n - 1)],
                          offsets=[-1, 0, 1], shape=(n, n)).toarray()


class Counted:
    def __init__(self, f):
        self.f, self.calls = f, 0

    def __call__(self, x):
        self.calls += 1
        return self.f(x)


@pytest.mark.parametrize("mode", ["fwd", "rev", "auto"])
def test_prepared_sparse_matches_closed_form_and_unprepared_at_new_inputs(mode):
    rng = np.random.default_rng(1)
    x0 = rng.uniform(0.5, 1.5, 40)
    prep = dt.prepare_jacobian(tridiagonal, x0, mode, structure="sparse")
    assert prep.plan.structure == "sparse" and prep.plan.coloring.ncolors == 3
    for _ in range(3):
        x = rng.standard_normal(40)
        J = prep(x)
        assert isinstance(J, sp.csr_array) and J.shape == (40, 40)
        assert J.has_canonical_format
        np.testing.assert_allclose(J.toarray(), tridiagonal_exact(x), rtol=1e-14, atol=0)
        ref = dt.jacobian(tridiagonal, x, mode, structure="sparse")
        np.testing.assert_array_equal(J.toarray(), ref.toarray())


def test_each_call_evaluates_f_once_and_never_detects_again():
    f = Counted(tridiagonal)
    x0 = np.linspace(0.5, 1.5, 30)
    prep = dt.prepare_jacobian(f, x0, "fwd", structure="sparse")
    before = f.calls
    J, info = prep(x0 + 1.0, return_info=True)
    assert f.calls - before == 1
    assert info.evaluations == 1 and info.passes == 3 and info.sweeps == 1
    np.testing.assert_allclose(J.toarray(), tridiagonal_exact(x0 + 1.0), rtol=1e-14)


def test_jacobians_returned_do_not_share_index_arrays():
    # scipy rewrites index arrays in place (eliminate_zeros): one result must not
    # corrupt the plan or the next result
    x = np.linspace(0.5, 1.5, 12)
    prep = dt.prepare_jacobian(tridiagonal, x, "fwd", structure="sparse")
    J1 = prep(np.zeros(12))                # every value zero: eliminate_zeros empties it
    J1.eliminate_zeros()
    assert J1.nnz == 0
    np.testing.assert_allclose(prep(x).toarray(), tridiagonal_exact(x), rtol=1e-14)


@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_prepared_diagonal_and_full(mode):
    x0 = np.linspace(-1, 1, 25)
    diag = dt.prepare_jacobian(np.tanh, x0, mode, structure="diagonal")
    full = dt.prepare_jacobian(tridiagonal, x0, mode, structure="full")
    x = np.linspace(-2, 0.5, 25)
    np.testing.assert_allclose(diag(x), 1 - np.tanh(x) ** 2, rtol=1e-14)
    np.testing.assert_allclose(full(x), tridiagonal_exact(x), rtol=1e-14, atol=0)


def test_prepared_with_a_given_pattern_and_dia_format():
    x = np.linspace(0.5, 1.5, 20)
    P = sp.diags_array([np.ones(19), np.ones(20), np.ones(19)], offsets=[-1, 0, 1],
                       shape=(20, 20)).astype(bool)
    prep = dt.prepare_jacobian(tridiagonal, x, "rev", structure="sparse", sparsity=P)
    np.testing.assert_allclose(prep(2 * x).toarray(), tridiagonal_exact(2 * x), rtol=1e-14)
    d = dt.prepare_jacobian(np.sin, x, structure="diagonal", sparse_format="dia")
    np.testing.assert_allclose(d(x).toarray(), np.diag(np.cos(x)), rtol=1e-14)


def test_a_non_diagonal_map_is_refused_when_preparing():
    with pytest.raises(ValueError, match="elementwise"):
        dt.prepare_jacobian(tridiagonal, np.ones(5), structure="diagonal")


def test_mismatched_inputs_and_local_patterns_are_refused():
    x = np.linspace(0.5, 1.5, 10)
    prep = dt.prepare_jacobian(tridiagonal, x, structure="sparse")
    with pytest.raises(ValueError, match=r"shape \(10,\).*not \(11,\)"):
        prep(np.ones(11))
    with pytest.raises(ValueError, match="float32"):
        prep(x.astype(np.float32))
    with pytest.raises(ValueError, match="shape"):
        prep(x.reshape(2, 5))
    with pytest.raises(TypeError, match="integer|int"):
        prep(np.arange(10))
    with pytest.raises(TypeError, match="one input array"):
        prep(x, 3.0)
    with pytest.raises(ValueError, match="local sparsity pattern"):
        dt.prepare_jacobian(tridiagonal, x, structure="sparse", sparsity="local")


def test_an_output_of_another_size_at_a_new_input_is_refused():
    wide = [False]

    def f(x):           # its output size changes behind the plan's back
        return x[:4] * 2.0 if wide[0] else x[:3] * 2.0
    prep = dt.prepare_jacobian(f, np.ones(6), "fwd", structure="sparse")
    assert prep(np.full(6, 2.0)).shape == (3, 6)
    assert "sparse" in repr(prep) and "(6,)" in repr(prep)
    wide[0] = True
    with pytest.raises(ValueError, match="3 output rows.*4 elements"):
        prep(np.ones(6))


def test_least_squares_with_a_prepared_sparse_jacobian():
    from scipy.optimize import least_squares
    n = 200
    x0 = -np.ones(n)
    prep = dt.prepare_jacobian(broyden, x0, structure="sparse")
    calls = Counted(prep)
    res = least_squares(broyden, x0, jac=calls, method="trf", tr_solver="lsmr")
    assert res.success and calls.calls >= 1
    assert np.max(np.abs(res.fun)) < 1e-9
    ref = least_squares(broyden, x0, jac=broyden_exact, method="trf")
    np.testing.assert_allclose(res.x, ref.x, atol=1e-8)
    np.testing.assert_allclose(prep(res.x).toarray(), broyden_exact(res.x), rtol=1e-14)


@pytest.mark.parametrize("kind", ["column", "row"])
@pytest.mark.parametrize("seed", range(4))
def test_assembly_gathers_what_direct_decompression_gives(kind, seed):
    from dualtape.coloring import color_columns, color_rows, decompress
    from dualtape.jacobian import Assembly
    rng = np.random.default_rng(seed)
    m, n = rng.integers(1, 30, 2)
    P = sp.random_array((m, n), density=0.2, rng=rng, format="csr").astype(bool)
    col = (color_columns if kind == "column" else color_rows)(P)
    width = m if kind == "column" else n
    B = rng.standard_normal((col.ncolors, width))   # one row per colour, as passes give
    J = Assembly.of(P, col)(B)
    ref = decompress(P, col, B.T if kind == "column" else B)
    np.testing.assert_array_equal(J.indptr, ref.indptr)
    np.testing.assert_array_equal(J.indices, ref.indices)
    np.testing.assert_array_equal(J.data, ref.data)


# ---- prepared Hessians ------------------------------------------------------------------
# the objective and its hand-derived Hessian, shared with the sparse-Hessian tests
from test_higher_sparse import rosenbrock as _rosenbrock  # noqa: E402
from test_higher_sparse import rosenbrock_hessian as _rosenbrock_hessian  # noqa: E402


@pytest.mark.parametrize("method", ["star", "acyclic"])
def test_prepared_hessian_matches_the_closed_form_at_new_inputs(method, monkeypatch):
    import dualtape.sparsity_hessian as sh
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal(40)
    prep = dt.prepare_hessian(_rosenbrock, x0, method=method)
    detections = []
    real = sh._gradient_pattern
    monkeypatch.setattr(sh, "_gradient_pattern",
                        lambda *a, **k: detections.append(1) or real(*a, **k))
    for _ in range(3):
        x = rng.standard_normal(40)
        H, info = prep(x, return_info=True)
        assert isinstance(H, sp.csr_array) and H.shape == (40, 40)
        np.testing.assert_allclose(H.toarray(), _rosenbrock_hessian(x), rtol=1e-12,
                                   atol=1e-9)
        assert info.method == method and info.passes == info.colors <= 3
    assert detections == []                 # the pattern was found once, when preparing


def test_prepared_hessian_refuses_mismatched_inputs_and_local_patterns():
    prep = dt.prepare_hessian(_rosenbrock, np.zeros(5))
    with pytest.raises(ValueError, match="prepared for inputs of shape"):
        prep(np.zeros(6))
    with pytest.raises(ValueError, match="prepared for inputs of shape"):
        prep(np.zeros(5, dtype=np.float32))
    with pytest.raises(ValueError, match="holds at this x only"):
        dt.prepare_hessian(_rosenbrock, np.zeros(5), sparsity="local")


def test_prepared_hessian_in_trust_constr():
    import scipy.optimize as so
    x0 = np.full(20, -0.5)
    prep = dt.prepare_hessian(_rosenbrock, x0)
    res = so.minimize(_rosenbrock, x0, jac=dt.grad(_rosenbrock), hess=prep,
                      method="trust-constr", options={"gtol": 1e-10, "maxiter": 2000})
    np.testing.assert_allclose(res.x, np.ones(20), atol=1e-6)
