"""scipy.sparse arrays/matrices and LinearOperators as constants applied to traced
values: every spelling, every mode, nested, counted, and in sparsity detection.

Expected values are the dense closed forms: the Jacobian of ``A @ x`` is A, that of
``x @ A`` is A^T, and of ``sum((A x)^3)`` the Hessian is ``A^T diag(6 A x) A``.  The
detected pattern must be exactly A's non-zero pattern.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, aslinearoperator

import dualtape as dt
import dualtape.numpy as dnp

RNG = np.random.default_rng(5)
D = np.array([[1.0, 0.0, 2.0, 0.0], [0.0, 3.0, 0.0, 0.0], [4.0, 0.0, 0.0, -1.0],
              [0.0, 0.0, 5.0, 0.0], [0.0, 0.5, 0.0, 2.0]])            # 5 x 4
M, N = D.shape


def _custom(d):
    return LinearOperator(d.shape, matvec=lambda v: d @ v, rmatvec=lambda v: d.conj().T @ v,
                          matmat=lambda v: d @ v, dtype=d.dtype)


OPERATORS = {
    "csr_array": lambda d: sp.csr_array(d), "csc_array": lambda d: sp.csc_array(d),
    "coo_array": lambda d: sp.coo_array(d), "lil_array": lambda d: sp.lil_array(d),
    "dia_array": lambda d: sp.dia_array(d), "bsr_array": lambda d: sp.bsr_array(d),
    "csr_matrix": lambda d: sp.csr_matrix(d), "coo_matrix": lambda d: sp.coo_matrix(d),
    "aslinearoperator": lambda d: aslinearoperator(sp.csr_array(d)),
    "LinearOperator": _custom,
}
# A LinearOperator given only as a function has no known matrix: its pattern is dense.
KNOWN_PATTERN = {k for k in OPERATORS if k != "LinearOperator"}

x0, y0, X0 = RNG.standard_normal(N), RNG.standard_normal(M), RNG.standard_normal((N, 3))
SPELLINGS = {
    # name: (f(A) -> function, input, dense Jacobian as a function of D)
    "A @ x": (lambda A: lambda x: A @ x, x0, lambda d: d),
    "A.dot(x)": (lambda A: lambda x: A.dot(x), x0, lambda d: d),
    "x @ A": (lambda A: lambda y: y @ A, y0, lambda d: d.T),
    "x.dot(A)": (lambda A: lambda y: y.dot(A), y0, lambda d: d.T),
    "A.T @ g": (lambda A: lambda y: A.T @ y, y0, lambda d: d.T),
    "A @ X": (lambda A: lambda X: A @ X, X0, lambda d: np.einsum("ij,kl->ikjl", d, np.eye(3))),
    "X.T @ A.T": (lambda A: lambda X: X.T @ A.T, X0,
                  lambda d: np.einsum("ij,kl->kijl", d, np.eye(3))),
    "dnp.dot(A, x)": (lambda A: lambda x: dnp.dot(A, x), x0, lambda d: d),
}


@pytest.mark.parametrize("kind", sorted(OPERATORS))
@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_every_spelling_every_first_order_mode(kind, spelling):
    make, x, jac = SPELLINGS[spelling]
    f = make(OPERATORS[kind](D))
    J = jac(D)
    out, t = dt.jvp(f, (x,), (np.ones_like(x),))
    np.testing.assert_allclose(out, np.tensordot(J, x, x.ndim), atol=1e-12)
    np.testing.assert_allclose(t, np.tensordot(J, np.ones_like(x), x.ndim), atol=1e-12)
    for got in (dt.jacfwd(f)(x), dt.jacfwd(f, chunk_size=2)(x), dt.jacrev(f)(x),
                dt.jacrev(f, chunk_size=2)(x), dt.jacobian(f, x, mode="fwd"),
                dt.jacobian(f, x, mode="rev")):
        np.testing.assert_allclose(got, J, atol=1e-12)
    u = RNG.standard_normal(np.shape(out))
    np.testing.assert_allclose(dt.vjp(f, x)[1](u)[0],
                               np.tensordot(u, J, np.ndim(out)), atol=1e-12)
    pattern = J.reshape(np.size(out), x.size) != 0
    for kind_ in ("global", "local"):
        P = dt.sparsity(f, x, kind=kind_).toarray()
        if kind in KNOWN_PATTERN:
            np.testing.assert_array_equal(P, pattern)          # exactly A's pattern
        else:                                     # dense operator: columns stay apart
            dense = jac(np.ones_like(D)).reshape(P.shape) != 0
            np.testing.assert_array_equal(P, dense)


@pytest.mark.parametrize("kind", sorted(OPERATORS))
def test_nested_second_order_closed_form(kind):
    A = OPERATORS[kind](D)

    def f(x):
        return dnp.sum((A @ x) ** 3) + dnp.sum(dnp.sin(x @ A.T))
    x = x0
    ax = D @ x
    want = D.T @ np.diag(6 * ax - np.sin(ax)) @ D
    np.testing.assert_allclose(dt.hessian(f)(x), want, atol=1e-10)
    third = np.einsum("ia,ib,ic,i->abc", D, D, D, 6 - np.cos(ax))
    np.testing.assert_allclose(dt.jacfwd(dt.jacrev(dt.grad(f)))(x), third, atol=1e-9)
    np.testing.assert_allclose(dt.jacrev(dt.grad(f))(x), want, atol=1e-10)
    np.testing.assert_allclose(dt.jacfwd(dt.jacfwd(f))(x), want, atol=1e-10)
    v = RNG.standard_normal(N)
    np.testing.assert_allclose(dt.hvp(f, x, v), want @ v, atol=1e-10)
    dt.check_grads(lambda x: A @ (x * x), (x,), order=3)


def test_sparse_jacobian_and_coloring_see_the_pattern():
    A = sp.csr_array(sp.diags_array([1.0, -2.0, 1.0], offsets=[-1, 0, 1], shape=(30, 30)))
    x = RNG.standard_normal(30)
    J, info = dt.jacobian(lambda x: A @ dnp.tanh(x), x, structure="sparse",
                          return_info=True)
    want = A.toarray() * (1 - np.tanh(x) ** 2)
    np.testing.assert_allclose(J.toarray(), want, atol=1e-12)
    assert info.nnz == A.nnz and info.colors == 3


def test_count_charges_two_flops_per_nonzero_and_column():
    A = sp.csr_array(D)

    def f(X):
        return dnp.sum(A @ X)
    c = dt.count(f, X0)
    calls, flops = c.by_primitive["sparse_matmul"][:2]
    assert calls == 1 and flops == 2 * A.nnz * X0.shape[1]
    g = dt.count(dt.grad(f), X0)
    assert g.by_primitive["sparse_matmul"][0] == 2 and g.derivative_calls > 0
    # a batched reverse sweep folds the batch into columns: still one product per rule
    j = dt.count(dt.jacrev(lambda x: A @ x), x0)
    assert j.by_primitive["sparse_matmul"][0] == 2


def test_combined_linear_operators_have_the_combined_pattern():
    A = aslinearoperator(sp.csr_array(D))
    B = aslinearoperator(sp.csr_array(np.eye(5, 4, k=1)))
    S = aslinearoperator(sp.csr_array(D.T @ D))
    cases = {
        "sum": (A + B, (D != 0) | (np.eye(5, 4, k=1) != 0), D + np.eye(5, 4, k=1)),
        "product": (A @ aslinearoperator(sp.csr_array(D.T)), (D != 0) @ (D.T != 0) > 0,
                    D @ D.T),
        "scaled": (2.5 * A, D != 0, 2.5 * D),
        "power": (S ** 2, (D.T @ D != 0) @ (D.T @ D != 0) > 0, (D.T @ D) @ (D.T @ D)),
        "transpose": (A.T, D.T != 0, D.T), "adjoint": (A.H, D.T != 0, D.T),
    }
    for name, (op, pattern, dense) in cases.items():
        x = RNG.standard_normal(op.shape[1])
        np.testing.assert_array_equal(dt.sparsity(lambda x: op @ x, x).toarray(), pattern,
                                      err_msg=name)
        np.testing.assert_allclose(dt.jacrev(lambda x: op @ x)(x), dense, atol=1e-12)


def test_stored_zeros_are_not_in_the_pattern():
    A = sp.csr_array(D)
    A.data[0] = 0.0                                   # an explicit zero stays stored
    assert A.nnz == np.count_nonzero(D)
    P = dt.sparsity(lambda x: A @ x, x0).toarray()
    np.testing.assert_array_equal(P, A.toarray() != 0)


def test_complex_operator_follows_the_convention():
    Z = D * (1.0 + 2.0j) - 1j * (D != 0)
    for A in (sp.csr_array(Z), aslinearoperator(sp.csr_array(Z)), _custom(Z)):
        _, pull = dt.vjp(lambda x: A @ x, x0)
        u = RNG.standard_normal(M) + 1j * RNG.standard_normal(M)
        ct = pull(u)[0]
        assert ct.dtype == np.float64                      # a real input: real cotangent
        np.testing.assert_allclose(ct, np.real(Z.T @ u), atol=1e-12)   # no conjugation
        z = x0 + 1j * RNG.standard_normal(N)
        dt.check_grads(lambda z: A @ z, (z,), order=2)
        np.testing.assert_allclose(dt.vjp(lambda z: A @ z, z)[1](u)[0], Z.T @ u, atol=1e-12)


def test_matrix_semantics_of_star_and_elementwise_errors():
    Mx = sp.csr_matrix(D)
    np.testing.assert_allclose(dt.jacfwd(lambda x: Mx * x)(x0), D)
    np.testing.assert_allclose(dt.jacrev(lambda y: y * Mx)(y0), D.T)
    Lop = _custom(D)
    np.testing.assert_allclose(dt.jacrev(lambda x: Lop * x)(x0), D)
    np.testing.assert_allclose(dt.jacrev(lambda x: Lop(x))(x0), D)
    np.testing.assert_allclose(dt.jacrev(lambda x: Lop.matvec(x))(x0), D)
    np.testing.assert_allclose(dt.jacrev(lambda y: Lop.rmatvec(y))(y0), D.T)
    np.testing.assert_allclose(dt.jacfwd(lambda X: Lop.matmat(X))(X0),
                               SPELLINGS["A @ X"][2](D))
    A = sp.csr_array(D)
    row = A[[0]]
    # numpy would make 0-d object arrays of the operator: every one of these refuses
    for f in (lambda y: y * row, lambda y: row * y, lambda y: y + row,
              lambda y: np.multiply(y, row), lambda y: A.multiply(y),
              lambda y: dnp.multiply(y, row), lambda y: dnp.where(y > 0, y, row),
              lambda y: np.inner(A, y), lambda y: np.tensordot(A, y, 1),
              lambda y: np.einsum("ij,j", A, y), lambda y: np.kron(row, y)):
        with pytest.raises(TypeError, match="scipy.sparse"):
            dt.grad(lambda y: dnp.sum(f(y)))(x0)


def test_shape_errors_and_missing_transpose_are_clear():
    A = sp.csr_array(D)
    with pytest.raises(ValueError, match=r"A @ x.*\(5, 4\).*\(5,\)"):
        dt.grad(lambda x: dnp.sum(A @ x))(y0)
    with pytest.raises(ValueError, match="x @ A"):
        dt.grad(lambda x: dnp.sum(x @ A))(x0)
    with pytest.raises(ValueError, match="1-D or 2-D|vector or a matrix"):
        dt.grad(lambda x: dnp.sum(A @ x))(np.ones((4, 2, 2)))
    forward_only = LinearOperator(D.shape, matvec=lambda v: D @ v, dtype=float)
    np.testing.assert_allclose(dt.jacfwd(lambda x: forward_only @ x)(x0), D)
    with pytest.raises(NotImplementedError, match="rmatvec"):
        dt.grad(lambda x: dnp.sum(forward_only @ x))(x0)


def test_plain_scipy_behaviour_is_unchanged():
    A, Lop = sp.csr_array(D), _custom(D)
    np.testing.assert_allclose(A @ x0, D @ x0)
    np.testing.assert_allclose(A.dot(x0), D @ x0)
    np.testing.assert_allclose(sp.coo_array(D).dot(x0), D @ x0)
    np.testing.assert_allclose(Lop @ x0, D @ x0)
    np.testing.assert_allclose(Lop.rmatvec(y0), D.T @ y0)
    with pytest.raises(TypeError, match="cannot be converted"):
        dt.grad(lambda x: dnp.sum(np.asarray(x)))(x0)       # conversions still refuse


def test_works_whatever_the_import_order():
    # scipy.sparse.linalg imported after dualtape: the import hook extends it
    code = ("import numpy as np, dualtape as dt, dualtape.numpy as dnp, sys\n"
            "assert 'scipy.sparse' not in sys.modules\n"
            "import scipy.sparse as sp\n"
            "from scipy.sparse.linalg import aslinearoperator\n"
            "A = aslinearoperator(sp.coo_array(np.array([[1.0, 2.0], [0.0, 3.0]])))\n"
            "J = dt.jacrev(lambda x: A @ x)(np.ones(2))\n"
            "K = dt.jacrev(lambda x: sp.coo_array(A.A).dot(x))(np.ones(2))\n"
            "print(J.tolist(), K.tolist())\n")
    src = pathlib.Path(__file__).resolve().parents[1] / "src"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(src)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[[1.0, 2.0], [0.0, 3.0]] [[1.0, 2.0], [0.0, 3.0]]"


def test_recorded_programs_keep_the_product():
    A, Lop = sp.csr_array(D), aslinearoperator(sp.coo_array(D))

    def f(x):
        return dnp.sum((A @ x) ** 2) + dnp.sum(Lop @ x) + dnp.sum(A.dot(x))
    prog = dt.record(f, x0)
    x = RNG.standard_normal(N)
    want = 2 * D.T @ (D @ x) + 2 * D.T @ np.ones(M)
    np.testing.assert_allclose(prog(x), f(x))
    np.testing.assert_allclose(dt.grad(prog)(x), want, atol=1e-12)
    np.testing.assert_allclose(dt.grad(f)(x), want, atol=1e-12)
