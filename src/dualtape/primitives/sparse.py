"""Products with constant ``scipy.sparse`` arrays and matrices and with
``scipy.sparse.linalg.LinearOperator``: ``sparse_matmul``.

The operator A is a constant (a parameter of the primitive, never traced); the traced
argument is a matrix ``x`` of shape (N, k) (vectors are columns, see ``apply``).  The
map is linear: its JVP is ``A @ t`` and its VJP ``A^T @ g`` (the plain transpose: JAX's
convention for complex values), both the primitive again, so every order and every
mode nests.  Batched tangents and cotangents are folded into extra columns: one
product with A per rule application, whatever the batch size.

Structure: output (i, c) depends on x[j, c] exactly where A[i, j] != 0 (stored zeros
are dropped, their derivative is 0); the pattern is A's, for every input.  A
LinearOperator built from matrices (``aslinearoperator``, ``IdentityOperator``, and
sums, products, multiples, powers, transposes and adjoints of those) has the pattern of
that combination (sums and products without cancellation, so possibly larger, never
smaller); any other LinearOperator is treated as dense.

Cost: 2 nnz(A) flops per column of x (one multiply and one add per non-zero); an
operator without a known matrix counts as dense, 2 M N per column.

scipy is never imported here: an operator can only exist if its module is loaded.
"""

from __future__ import annotations

import sys
from numbers import Number
from typing import Any

import numpy as np

from ..registry import Tracer, bind
from . import _cost
from ._rules import OPS, define, ndim, shape
from .complex import match_real


def _modules() -> tuple[Any, Any]:
    return sys.modules.get("scipy.sparse"), sys.modules.get("scipy.sparse.linalg")


def is_operator(x: Any) -> bool:
    """Whether ``x`` is a scipy.sparse array/matrix or a LinearOperator (cheap for
    arrays, numbers and traced values, and never imports scipy)."""
    if isinstance(x, (np.ndarray, Tracer, Number, np.generic)):
        return False
    sp, spl = _modules()
    if sp is not None and sp.issparse(x):
        return True
    return spl is not None and isinstance(x, spl.LinearOperator)


def not_an_array(x: Any, name: str = "dualtape.numpy") -> TypeError:
    """The error for a sparse operator where an array is needed (numpy would make a
    0-d object array of it, and every result from there on would be meaningless)."""
    return TypeError(
        f"{name}: a scipy.sparse operator ({type(x).__name__}) is not an array here. "
        f"Products with sparse constants are differentiable (A @ x, x @ A, A.dot(x), "
        f"dualtape.numpy.dot / matmul); for anything else use a dense constant, "
        f"A.toarray().")


def is_matrix_semantics(x: Any) -> bool:
    """``*`` is a matrix product for this operator (np.matrix-like spmatrix and
    LinearOperator), as scipy defines it; for sparse arrays it is elementwise."""
    sp, spl = _modules()
    return (sp is not None and isinstance(x, sp.spmatrix)) or (
        spl is not None and isinstance(x, spl.LinearOperator))


def _transpose(op: Any) -> Any:
    return op.T


def _apply_plain(op: Any, x: np.ndarray) -> np.ndarray:
    sp, _ = _modules()
    try:
        y = op @ x if sp is not None and sp.issparse(op) else op.matmat(x)
    except (NotImplementedError, TypeError) as e:
        if type(op).__name__ not in ("_TransposedLinearOperator", "_AdjointLinearOperator"):
            raise
        raise NotImplementedError(
            f"sparse_matmul: the transpose of the LinearOperator "
            f"{type(op.args[0]).__name__} cannot be applied ({type(e).__name__}: {e}); "
            f"x @ A and reverse mode need it: give the operator an rmatvec (or define "
            f"_rmatvec / _adjoint)") from e
    return np.asarray(y)


def _impl(x, op):
    return _apply_plain(op, x)


def _folded(op: Any, t: Any) -> Any:
    """``op @ t`` for t of shape batch + (N, k): batch axes become extra columns."""
    nb = ndim(t) - 2
    if nb == 0:
        return bind(sparse_matmul_p, t, op=op)
    ts = shape(t)
    batch, (n, k) = ts[:nb], ts[nb:]
    cols = OPS["reshape"](OPS["transpose"](t, (nb,) + tuple(range(nb)) + (nb + 1,)), (n, -1))
    y = bind(sparse_matmul_p, cols, op=op)
    m = shape(y)[0]
    y = OPS["reshape"](y, (m,) + tuple(batch) + (k,))
    return OPS["transpose"](y, tuple(range(1, nb + 1)) + (0, nb + 1))


def _jvp(t, ans, x, op):
    return _folded(op, t)


def _vjp(g, ans, x, op):
    return match_real(_folded(_transpose(op), g), x)


def _bool_csr(op: Any) -> Any:
    """The boolean pattern of the operator's matrix (see the module docstring)."""
    sp, _ = _modules()
    if sp.issparse(op):
        a = sp.csr_array(op, copy=True)
        a.data = a.data != 0
        a.eliminate_zeros()
        return a.astype(bool)
    iface = sys.modules.get("scipy.sparse.linalg._interface")
    m, n = op.shape

    def kind(name: str) -> bool:        # scipy's (private) combination classes
        return isinstance(op, getattr(iface, name, ()))
    args: tuple[Any, ...] = getattr(op, "args", ())
    if kind("MatrixLinearOperator"):
        a = op.A
        return _bool_csr(a) if sp.issparse(a) else sp.csr_array(np.asarray(a) != 0)
    if kind("IdentityOperator"):
        return sp.eye_array(m, n, dtype=bool, format="csr")
    if kind("_SumLinearOperator"):
        return (_bool_csr(args[0]) + _bool_csr(args[1])).astype(bool)
    if kind("_ProductLinearOperator"):
        return (_bool_csr(args[0]).astype(np.int64)
                @ _bool_csr(args[1]).astype(np.int64)).astype(bool).tocsr()
    if kind("_ScaledLinearOperator"):
        return _bool_csr(args[0]) if args[1] != 0 else sp.csr_array((m, n), dtype=bool)
    if kind("_PowerLinearOperator"):
        p = _bool_csr(args[0]).astype(np.int64)
        r = sp.eye_array(m, dtype=np.int64, format="csr")
        for _ in range(int(args[1])):
            r = (r @ p).astype(bool).astype(np.int64)
        return r.astype(bool).tocsr()
    if kind("_TransposedLinearOperator") or kind("_AdjointLinearOperator"):
        return _bool_csr(args[0]).T.tocsr()
    return sp.csr_array(np.ones((m, n), dtype=bool))


def _sparsity(pats, ans, primals, params, local):
    sp, _ = _modules()
    k = shape(primals[0])[1]
    a = _bool_csr(params["op"])
    s = sp.kron(a, sp.eye_array(k, dtype=bool, format="csr"), format="csr")
    return (s.astype(np.int64) @ pats[0].astype(np.int64)).astype(bool).tocsr()


@_cost.formula("2 nnz(A) per column of x (dense operators without a known matrix: "
               "2 m n per column)")
def _sparse_cost(ans, args, params):
    return int(2 * _bool_csr(params["op"]).nnz * np.shape(args[0])[1])


sparse_matmul_p = define("sparse_matmul", _impl, jvp=(_jvp,), vjp=(_vjp,),
                         sparsity=_sparsity, cost=_sparse_cost, residuals=())


def _shape_error(op: Any, x: Any, left: bool) -> ValueError:
    what = "A @ x" if left else "x @ A"
    return ValueError(f"matmul with a scipy.sparse operator ({what}): A has shape "
                      f"{tuple(op.shape)} and x has shape {shape(x)}; x must be a vector or "
                      f"a matrix whose {'first' if left else 'last'} axis matches A")


def apply(op: Any, x: Any) -> Any:
    """``op @ x`` for a constant operator ``op`` (M, N) and ``x`` of shape (N,) or
    (N, k); the result has shape (M,) or (M, k)."""
    if len(op.shape) != 2:
        raise ValueError(f"matmul with a scipy.sparse operator: only 2-D operators are "
                         f"supported, got shape {tuple(op.shape)}")
    m, n = op.shape
    xs = shape(x)
    if len(xs) not in (1, 2) or xs[0] != n:
        raise _shape_error(op, x, True)
    if len(xs) == 1:
        return OPS["reshape"](bind(sparse_matmul_p, OPS["reshape"](x, (n, 1)), op=op), (m,))
    return bind(sparse_matmul_p, x, op=op)


def rapply(x: Any, op: Any) -> Any:
    """``x @ op`` for ``x`` of shape (M,) or (k, M) and a constant operator (M, N):
    ``(op^T @ x^T)^T``."""
    xs = shape(x)
    if len(op.shape) != 2 or len(xs) not in (1, 2) or xs[-1] != op.shape[0]:
        raise _shape_error(op, x, False)
    t = _transpose(op)
    if len(xs) == 1:
        return apply(t, x)
    return OPS["transpose"](apply(t, OPS["transpose"](x, (1, 0))), (1, 0))


def matmul(a: Any, b: Any) -> Any:
    """``a @ b`` where one of the two is a constant operator."""
    if is_operator(a):
        if is_operator(b):
            return a @ b                        # two constants: nothing is traced
        return apply(a, b)
    return rapply(a, b)
