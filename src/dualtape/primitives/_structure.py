"""Structure (sparsity) rules: which input elements each output element can depend on.

Every rule has one signature, ``rule(pats, ans, primals, params, local) -> pattern``:
``pats[i]`` is the index-set matrix of argument i (a boolean ``scipy.sparse`` CSR array
with one row per element of the argument, C order, and one column per input element of
the function; None for a constant), ``primals`` the argument values, ``ans`` the result.
``local`` says the pattern may use the current values; a global pattern must hold for
every input value, so a traced argument counts as possibly non-zero and a traced
selector as choosing either way.  Multiple-result primitives return one pattern per
result.  The builders below cover the common cases; a primitive may also state a rule
of its own next to its definition.

scipy is imported on first use, inside the rules: importing dualtape does not load it.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np


def _sp() -> Any:
    import scipy.sparse as sp
    return sp


# ---- index-set helpers ----------------------------------------------------------------
def count(shape: tuple) -> int:
    return int(np.prod(shape))


def size(x: Any) -> int:
    return count(np.shape(x))


def csr(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, shape: tuple) -> Any:
    """A boolean CSR array from parts known to be well formed (sorted rows)."""
    P = _sp().csr_array((data, indices, indptr), shape=shape, copy=False)
    P.has_sorted_indices = True
    return P


def empty(m: int, n: int) -> Any:
    """m empty rows over n inputs."""
    return csr(np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int32),
               np.zeros(m + 1, dtype=np.int32), (m, n))


def rows(P: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of P; an index of -1 selects an empty row.

    Index sets are gathered with numpy directly: a contiguous run of rows, possibly
    with empty rows before and after it (the transpose of a slice), is a view of P's
    arrays, anything else one vectorised gather, both without scipy's per-call checks
    (these gathers are most of the work of detection).
    """
    idx = np.asarray(idx, dtype=np.int64).ravel()
    k = idx.size
    indptr, indices = P.indptr, P.indices
    run = _run(idx)
    if run is not None:
        a, b, r = run                  # idx[a:b] == r, r + 1, ...; -1 elsewhere
        if a == 0 and b == k == P.shape[0] and r == 0:
            return P
        lo, hi = indptr[r], indptr[r + b - a]
        ptr = np.empty(k + 1, dtype=indptr.dtype)
        ptr[:a] = 0
        ptr[a:b + 1] = indptr[r:r + b - a + 1] - lo
        ptr[b + 1:] = hi - lo
        return csr(P.data[lo:hi], indices[lo:hi], ptr, (k, P.shape[1]))
    valid = idx >= 0
    safe = np.where(valid, idx, 0)
    starts = indptr[safe] if indptr.size > 1 else np.zeros(k, dtype=indptr.dtype)
    lens = np.where(valid, indptr[safe + 1] - starts, 0) if indptr.size > 1 else \
        np.zeros(k, dtype=indptr.dtype)
    new_ptr = np.zeros(k + 1, dtype=indptr.dtype)
    np.cumsum(lens, out=new_ptr[1:])
    total = int(new_ptr[-1])
    # position of every gathered entry in P: its row's start plus its offset in the row
    pos = np.arange(total, dtype=np.int64) + np.repeat(starts - new_ptr[:-1], lens)
    return csr(np.ones(total, dtype=bool), indices[pos], new_ptr, (k, P.shape[1]))


def _run(idx: np.ndarray) -> tuple[int, int, int] | None:
    """(a, b, r) if ``idx`` is -1 outside ``[a, b)`` and ``r, r + 1, ...`` inside it
    (a non-empty run), else None."""
    k = idx.size
    if not k:
        return None
    if idx[0] >= 0 and idx[-1] >= 0:
        a, b = 0, k
    else:
        valid = np.flatnonzero(idx >= 0)
        if not valid.size:
            return None
        a, b = int(valid[0]), int(valid[-1]) + 1
    r = int(idx[a])
    if r < 0 or idx[b - 1] - r != b - a - 1:
        return None
    if b - a > 1 and not bool((np.diff(idx[a:b]) == 1).all()):
        return None
    return a, b, r


def keep_rows(P: Any, keep: np.ndarray) -> Any:
    """P with the rows where ``keep`` is false emptied."""
    if keep.all():
        return P
    r = np.repeat(np.arange(P.shape[0]), np.diff(P.indptr))
    P = P.copy()
    P.data = P.data.astype(bool) & keep[r]
    P.eliminate_zeros()
    return P


def union(acc: Any, P: Any) -> Any:
    return P if acc is None else (acc + P).tocsr()


def selector(out_of: np.ndarray, out_size: int, mask: np.ndarray | None = None) -> Any:
    """The boolean matrix S with S[out_of[k], k] = 1: element k feeds output out_of[k]."""
    n_in = out_of.size
    cols = np.arange(n_in)
    if mask is not None:
        out_of, cols = out_of[mask], cols[mask]
    return _sp().csr_array((np.ones(out_of.size, dtype=bool), (out_of, cols)),
                           shape=(out_size, n_in))


def width(pats: Sequence) -> int:
    """The number of inputs of the function (columns of any index set)."""
    return next(P.shape[1] for P in pats if P is not None)


def all_of(pats: Sequence, m: int) -> Any:
    """m rows, each depending on every input index any argument depends on."""
    cols = np.zeros(0, dtype=np.int64)
    for P in pats:
        if P is not None:
            cols = np.union1d(cols, P.indices)
    indptr = np.arange(m + 1, dtype=np.int64) * cols.size
    return _sp().csr_array((np.ones(m * cols.size, dtype=bool), np.tile(cols, m), indptr),
                           shape=(m, width(pats)))


# ---- builders -------------------------------------------------------------------------
def dense(pats, ans, primals, params, local):
    """The conservative rule: every output element depends on every input element of
    the operation.  Never wrong, only dense."""
    if isinstance(ans, tuple):
        return tuple(all_of(pats, size(a)) for a in ans)
    return all_of(pats, size(ans))


def constant(pats, ans, primals, params, local):
    """No dependence (the derivative is zero everywhere: ``nondiff`` primitives).  The
    result is still a function of the inputs' values, which global detection tracks."""
    n = width(pats)
    if isinstance(ans, tuple):
        return tuple(empty(size(a), n) for a in ans)
    return empty(size(ans), n)


def elementwise(partials: Sequence | None = None) -> Callable:
    """An output element depends on the elements of each argument that broadcast to it;
    in local mode an argument whose partial (``partials[i](ans, *args, **params)``) is
    exactly zero there is dropped (relu at a negative input has an empty row)."""
    parts = tuple(partials) if partials is not None else None

    def rule(pats, ans, primals, params, local):
        shape = np.shape(ans)
        acc = None
        for i, P in enumerate(pats):
            if P is None:
                continue
            xs = np.shape(primals[i])
            if xs != shape:
                P = rows(P, np.broadcast_to(np.arange(count(xs)).reshape(xs), shape))
            part = parts[i] if parts is not None else None
            if local and callable(part):
                with np.errstate(all="ignore"):
                    pv = np.broadcast_to(np.asarray(part(ans, *primals, **params)), shape)
                P = keep_rows(P, pv.ravel() != 0)
            acc = union(acc, P)
        return acc
    return rule


def gather(impl: Callable, data_args: Sequence[int] | None = None) -> Callable:
    """A linear map that moves elements (reshape, transpose, indexing, concatenate,
    where): the primitive itself is applied to arrays of element indices, which says
    where every output element comes from.  ``data_args``: the arguments that are moved
    (None: all); the others are boolean selectors (where's condition).  A traced
    selector in global mode may choose either way, so both choices are taken."""
    def rule(pats, ans, primals, params, local):
        data = range(len(primals)) if data_args is None else data_args
        chosen = [list(primals)]
        if not local:
            for i in range(len(primals)):
                if i not in data and pats[i] is not None:
                    chosen = [c[:i] + [np.full(np.shape(primals[i]), v)] + c[i + 1:]
                              for c in chosen for v in (True, False)]
        args = list(primals)
        blocks, offset = [], 0
        for i in data:
            xs = np.shape(primals[i])
            if pats[i] is None:
                args[i] = np.full(xs, -1, dtype=np.int64)
            else:
                args[i] = np.arange(offset, offset + count(xs), dtype=np.int64).reshape(xs)
                blocks.append(pats[i])
                offset += count(xs)
        if not blocks:                  # only constants are moved: no dependence
            return empty(size(ans), width(pats))
        P = blocks[0] if len(blocks) == 1 else _sp().vstack(blocks, format="csr")
        acc = None
        for c in chosen:
            for i in range(len(primals)):
                if i not in data:
                    args[i] = c[i]
            acc = union(acc, rows(P, np.asarray(impl(*args, **params))))
        return acc
    return rule


def _kept(x_shape: tuple, axis: tuple) -> tuple:
    nd = len(x_shape)
    return tuple(1 if i - nd in axis else s for i, s in enumerate(x_shape))


def _one_row(P: Any) -> Any:
    """One row holding the union of P's rows (in O(nnz + columns), without sorting)."""
    seen = np.zeros(P.shape[1], dtype=bool)
    end = int(P.indptr[-1])
    seen[P.indices[:end][P.data[:end] != 0]] = True
    cols = np.flatnonzero(seen).astype(P.indices.dtype, copy=False)
    return csr(np.ones(cols.size, dtype=bool), cols,
               np.array([0, cols.size], dtype=P.indptr.dtype), (1, P.shape[1]))


def reduction(select: bool = False) -> Callable:
    """The union over the reduced axes (``params["axis"]``, negative ints).  ``select``
    (max, min): in local mode only the selected elements count."""
    def rule(pats, ans, primals, params, local):
        x, P = primals[0], pats[0]
        if size(ans) == 1 and not (local and select):
            return _one_row(P)          # everything into one element: no sparse product
        kept = _kept(np.shape(x), params["axis"])
        out_of = np.broadcast_to(np.arange(count(kept)).reshape(kept), np.shape(x)).ravel()
        mask = None
        if local and select:
            mask = np.asarray(x == np.reshape(ans, kept)).ravel()   # only the selected ones
        return (selector(out_of, size(ans), mask) @ P).tocsr().astype(bool)
    return rule


def scatter(pats, ans, primals, params, local):
    """The transpose of indexing: element k of the values goes to ``idx``'s k-th place."""
    shape = params["shape"]
    m = count(shape)
    target = np.arange(m).reshape(shape)[params["idx"]].ravel()
    if target.size and np.bincount(target, minlength=m).max() <= 1:
        # each place receives at most one element (a slice's transpose, as in every
        # gradient of x[1:]): a gather of rows, without a sparse product
        source = np.full(m, -1, dtype=np.int64)
        source[target] = np.arange(target.size)
        return rows(pats[0], source)
    return (selector(target, m) @ pats[0]).tocsr().astype(bool)


def matmul(pats, ans, primals, params, local):
    """A product with a constant uses the constant's non-zero pattern (in local mode
    also a traced partner's current non-zeros); stacked products are treated densely."""
    a, b = primals
    if np.ndim(a) > 2 or np.ndim(b) > 2:
        return dense(pats, ans, primals, params, local)
    sp = _sp()
    a2 = np.reshape(a, (1, -1)) if np.ndim(a) == 1 else a
    b2 = np.reshape(b, (-1, 1)) if np.ndim(b) == 1 else b
    m, p = a2.shape[0], b2.shape[1]

    def structure(v: Any, traced: bool) -> Any:
        nz = np.ones(np.shape(v), bool) if traced and not local else np.asarray(v) != 0
        return sp.csr_array(nz)
    acc = None
    if pats[0] is not None:
        Ma = sp.kron(sp.eye_array(m, dtype=bool, format="csr"),
                     structure(b2, pats[1] is not None).T, format="csr")
        acc = union(acc, (Ma @ pats[0]).tocsr().astype(bool))
    if pats[1] is not None:
        Mb = sp.kron(structure(a2, pats[0] is not None),
                     sp.eye_array(p, dtype=bool, format="csr"), format="csr")
        acc = union(acc, (Mb @ pats[1]).tocsr().astype(bool))
    return acc


def along_axis(P: Any, x_shape: tuple, axis: int, prefix: bool) -> Any:
    """Index sets of an op whose output element j along ``axis`` depends on input
    elements ``i <= j`` (``prefix``, cumsum/cumprod) or on the whole slice (sort)."""
    sz = count(x_shape)
    n = x_shape[axis] if x_shape else 1
    idx = np.moveaxis(np.arange(sz).reshape(x_shape), axis, -1).reshape(-1, max(n, 1))
    if prefix:
        jj, ii = np.tril_indices(n)
    else:
        jj, ii = np.divmod(np.arange(n * n), n)
    r, c = idx[:, jj].ravel(), idx[:, ii].ravel()
    S = _sp().csr_array((np.ones(r.size, dtype=bool), (r, c)), shape=(sz, sz))
    return (S @ P).tocsr().astype(bool)


def prefix(pats, ans, primals, params, local):
    """Scans along ``params["axis"]``: element j depends on elements 0..j of its slice."""
    return along_axis(pats[0], np.shape(primals[0]), params["axis"], prefix=True)
