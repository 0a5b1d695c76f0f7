"""Sparsity detection: which inputs can each output element depend on?

A third mode beside forward and reverse.  Its traced values carry, next to their
value, an index-set matrix: a boolean ``scipy.sparse`` CSR array with one row per
element of the value (C order) and one column per input element.  Each primitive
names its structure rule in the registry (``prim.sparsity``); this module holds one
interpreter per rule:

* ``"elementwise"``: an output element depends on the input elements that broadcast
  to it.  In local mode an argument whose partial is exactly zero there is dropped
  (relu at a negative input has an empty row).
* ``("gather", data_args)``: a linear map that moves elements (reshape, transpose,
  indexing, concatenate, where): the primitive itself is applied to arrays of element
  indices, which says where every output element comes from.
* ``"reduce"`` / ``"select"``: the union over the reduced axes (``select``, i.e.
  max/min, keeps only the selected elements in local mode).
* ``"scatter"``: the transpose of indexing; ``"matmul"``: a product with a constant
  uses the constant's non-zero pattern.
* anything else (None, user primitives): conservative, every output element depends on
  every input element of that operation.  Never wrong, only dense.

Global patterns hold for every input value, so a comparison of traced values (a
value-dependent branch) is an error there; local patterns use the current values.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._api import check_output, flatten, to_array
from ._api import sparse as sp

from .numpy import TracedArray
from .registry import Trace

__all__ = ["sparsity"]


class SparsityTrace(Trace):
    __slots__ = ("n", "local")
    mode = "sparsity"

    def __init__(self, n: int, local: bool) -> None:
        super().__init__()
        self.n = n
        self.local = local

    def process(self, prim, args, params):
        ans, primals, pats = self.unpack(prim, args, params, "pattern")
        if prim.nondiff:
            if not self.local and np.result_type(ans) == np.bool_:
                return Predicate(ans, None, self)
            return ans
        if prim.multiple_results:
            return tuple(IndexSets(a, _dense(pats, a, self.n), self) for a in ans)
        rule = prim.sparsity
        if isinstance(rule, tuple) and rule[0] == "gather":
            predicates = [i for i, a in enumerate(args) if isinstance(a, Predicate)]
            pat = _gather(prim, pats, ans, primals, params, rule[1], predicates)
        elif callable(rule):
            pat = rule(pats, ans, primals, params, self.local)
        else:
            pat = _RULES.get(rule, _dense_rule)(prim, pats, ans, primals, params, self.local)
        return IndexSets(ans, pat, self)


class IndexSets(TracedArray):
    """A value with the index sets of its elements (``pattern``: size x n, boolean)."""

    __slots__ = ("primal", "pattern")

    def __init__(self, primal: Any, pattern: sp.csr_array, trace: SparsityTrace) -> None:
        self._trace = trace
        self._level = trace.level
        self.primal = primal
        self.pattern = pattern


class Predicate(IndexSets):
    """A boolean computed from traced values during global detection.

    It may select between branches (``np.where``: both branches count, since the
    pattern must hold for every input), but a Python ``if`` on it would make the
    pattern depend on the values, so that raises.
    """

    __slots__ = ()

    def __bool__(self) -> bool:
        raise ValueError(
            "a Python branch on a comparison of traced values makes the pattern depend "
            "on the input's values, so no pattern holds for every input (global "
            "detection). Use dt.sparsity(f, x, kind='local') for the pattern at this "
            "point, or np.where / np.maximum instead of the branch.")

    def all(self, *args: Any, **kwargs: Any) -> bool:
        return self.__bool__()

    any = all


# ---- helpers --------------------------------------------------------------------------
def _count(shape: tuple) -> int:
    return int(np.prod(shape))


def _size(x: Any) -> int:
    return _count(np.shape(x))


def _csr(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, shape: tuple) -> Any:
    """A boolean CSR array from parts known to be well formed (sorted rows)."""
    P = sp.csr_array((data, indices, indptr), shape=shape, copy=False)
    P.has_sorted_indices = True
    return P


def _rows(P: sp.csr_array, idx: np.ndarray) -> sp.csr_array:
    """Rows ``idx`` of P; an index of -1 selects an empty row.

    Index sets are gathered with numpy directly: a contiguous run of rows is a view
    of P's arrays, anything else one vectorised gather, both without scipy's per-call
    checks (these gathers are most of the work of detection).
    """
    idx = np.asarray(idx, dtype=np.int64).ravel()
    k = idx.size
    indptr, indices = P.indptr, P.indices
    if k and idx[0] >= 0 and idx[-1] - idx[0] == k - 1 and (k == 1 or bool(
            (np.diff(idx) == 1).all())):
        a, b = int(idx[0]), int(idx[-1]) + 1
        if a == 0 and b == P.shape[0]:
            return P
        lo, hi = indptr[a], indptr[b]
        return _csr(P.data[lo:hi], indices[lo:hi], indptr[a:b + 1] - lo, (k, P.shape[1]))
    valid = idx >= 0
    safe = np.where(valid, idx, 0)
    starts = indptr[safe]
    lens = np.where(valid, indptr[safe + 1] - starts, 0)
    new_ptr = np.zeros(k + 1, dtype=indptr.dtype)
    np.cumsum(lens, out=new_ptr[1:])
    total = int(new_ptr[-1])
    # position of every gathered entry in P: its row's start plus its offset in the row
    pos = np.arange(total, dtype=np.int64) + np.repeat(starts - new_ptr[:-1], lens)
    return _csr(np.ones(total, dtype=bool), indices[pos], new_ptr, (k, P.shape[1]))


def _keep_rows(P: sp.csr_array, keep: np.ndarray) -> sp.csr_array:
    """P with the rows where ``keep`` is false emptied."""
    if keep.all():
        return P
    rows = np.repeat(np.arange(P.shape[0]), np.diff(P.indptr))
    P = P.copy()
    P.data = P.data.astype(bool) & keep[rows]
    P.eliminate_zeros()
    return P


def _union(acc: sp.csr_array | None, P: sp.csr_array) -> sp.csr_array:
    return P if acc is None else (acc + P).tocsr()


def _selector(out_of: np.ndarray, out_size: int, mask: np.ndarray | None = None) -> sp.csr_array:
    """The boolean matrix S with S[out_of[k], k] = 1: element k feeds output out_of[k]."""
    n_in = out_of.size
    cols = np.arange(n_in)
    if mask is not None:
        out_of, cols = out_of[mask], cols[mask]
    return sp.csr_array((np.ones(out_of.size, dtype=bool), (out_of, cols)),
                        shape=(out_size, n_in))


def _dense(pats: list, ans: Any, n: int) -> sp.csr_array:
    """Every output element depends on every input index any argument depends on."""
    cols = np.zeros(0, dtype=np.int64)
    for P in pats:
        if P is not None:
            cols = np.union1d(cols, P.indices)
    m = _size(ans)
    indptr = np.arange(m + 1, dtype=np.int64) * cols.size
    return sp.csr_array((np.ones(m * cols.size, dtype=bool), np.tile(cols, m), indptr),
                        shape=(m, n))


# ---- the rules ------------------------------------------------------------------------
def _dense_rule(prim, pats, ans, primals, params, local):
    n = next(P.shape[1] for P in pats if P is not None)
    return _dense(pats, ans, n)


def _elementwise(prim, pats, ans, primals, params, local):
    shape = np.shape(ans)
    acc = None
    for i, P in enumerate(pats):
        if P is None:
            continue
        xs = np.shape(primals[i])
        if xs != shape:
            P = _rows(P, np.broadcast_to(np.arange(_count(xs)).reshape(xs), shape))
        part = prim.partials[i] if prim.partials is not None else None
        if local and callable(part):
            with np.errstate(all="ignore"):
                pv = np.broadcast_to(np.asarray(part(ans, *primals, **params)), shape)
            P = _keep_rows(P, pv.ravel() != 0)
        acc = _union(acc, P)
    return acc


def _gather(prim, pats, ans, primals, params, data_args, predicates=()):
    if predicates:
        # A value-dependent selector (where's condition): every choice is possible.
        acc = None
        for value in (True, False):
            chosen = list(primals)
            for i in predicates:
                chosen[i] = np.full(np.shape(primals[i]), value)
            acc = _union(acc, _gather(prim, pats, ans, chosen, params, data_args))
        return acc
    data = range(len(primals)) if data_args is None else data_args
    args = list(primals)
    blocks, offset = [], 0
    for i in data:
        xs = np.shape(primals[i])
        if pats[i] is None:
            args[i] = np.full(xs, -1, dtype=np.int64)
        else:
            args[i] = np.arange(offset, offset + _count(xs), dtype=np.int64).reshape(xs)
            blocks.append(pats[i])
            offset += _count(xs)
    idx = np.asarray(prim.impl(*args, **params))
    P = blocks[0] if len(blocks) == 1 else sp.vstack(blocks, format="csr")
    return _rows(P, idx)


def _kept(x_shape: tuple, axis: tuple) -> tuple:
    nd = len(x_shape)
    return tuple(1 if i - nd in axis else s for i, s in enumerate(x_shape))


def _reduce(prim, pats, ans, primals, params, local):
    x, P = primals[0], pats[0]
    kept = _kept(np.shape(x), params["axis"])
    out_of = np.broadcast_to(np.arange(_count(kept)).reshape(kept), np.shape(x)).ravel()
    mask = None
    if local and prim.sparsity == "select":
        mask = np.asarray(x == np.reshape(ans, kept)).ravel()   # only the selected ones
    return (_selector(out_of, _size(ans), mask) @ P).tocsr().astype(bool)


def _scatter(prim, pats, ans, primals, params, local):
    shape = params["shape"]
    target = np.arange(_count(shape)).reshape(shape)[params["idx"]].ravel()
    return (_selector(target, _count(shape)) @ pats[0]).tocsr().astype(bool)


def _matmul(prim, pats, ans, primals, params, local):
    a, b = primals
    if np.ndim(a) > 2 or np.ndim(b) > 2:
        return _dense_rule(prim, pats, ans, primals, params, local)
    a2 = np.reshape(a, (1, -1)) if np.ndim(a) == 1 else a
    b2 = np.reshape(b, (-1, 1)) if np.ndim(b) == 1 else b
    m, p = a2.shape[0], b2.shape[1]

    def structure(v: Any, traced: bool) -> sp.csr_array:
        # The partner's non-zeros are known only if it is a constant (or in local mode).
        nz = np.ones(np.shape(v), bool) if traced and not local else np.asarray(v) != 0
        return sp.csr_array(nz)
    acc = None
    if pats[0] is not None:
        Ma = sp.kron(sp.eye_array(m, dtype=bool, format="csr"),
                     structure(b2, pats[1] is not None).T, format="csr")
        acc = _union(acc, (Ma @ pats[0]).tocsr().astype(bool))
    if pats[1] is not None:
        Mb = sp.kron(structure(a2, pats[0] is not None),
                     sp.eye_array(p, dtype=bool, format="csr"), format="csr")
        acc = _union(acc, (Mb @ pats[1]).tocsr().astype(bool))
    return acc


_RULES: dict[Any, Callable] = {
    "elementwise": _elementwise, "reduce": _reduce, "select": _reduce,
    "scatter": _scatter, "matmul": _matmul,
}


def sparsity(f: Callable, x: Any, kind: str = "global") -> sp.csr_array:
    """The Jacobian sparsity pattern of ``f`` at ``x``.

    Returns a boolean ``scipy.sparse.csr_array`` of shape ``(out.size, x.size)`` (C
    order) that is True wherever the Jacobian can be non-zero.  ``kind="global"``: the
    pattern holds for every input value (a comparison of traced values is an error);
    ``kind="local"``: it may use the values at ``x``, so e.g. relu at a negative input
    has an empty row.  Primitives without a structure rule are treated as dense.
    """
    if kind not in ("global", "local"):
        raise ValueError(f"kind must be 'global' or 'local', not {kind!r}")
    x = to_array(x, fn="sparsity")
    n = _size(x)
    trace = SparsityTrace(n, kind == "local")
    eye = sp.csr_array((np.ones(n, dtype=bool), np.arange(n), np.arange(n + 1)), shape=(n, n))
    try:
        out = f(IndexSets(x, eye, trace))
    finally:
        trace.finish()
    if isinstance(out, IndexSets) and out._level == trace.level:
        return out.pattern.tocsr()
    leaves = flatten(out)[0]
    for leaf in leaves:
        check_output(leaf, "sparsity")
    if len(leaves) != 1 or isinstance(out, (tuple, list, dict)):
        raise TypeError("sparsity: the function must return one array, not a container")
    return sp.csr_array((_size(out), n), dtype=bool)
