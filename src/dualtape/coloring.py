"""Graph colouring for compressed sparse Jacobians.

A Jacobian ``J`` of shape ``(m, n)`` with a known sparsity pattern can be computed with
far fewer than ``n`` forward passes (JVPs) or ``m`` reverse passes (VJPs) by grouping
*structurally orthogonal* columns (or rows) together (Curtis, Powell & Reid 1974;
Coleman & Moré 1983; Gebremedhin, Manne & Pothen, "What color is your Jacobian?",
SIAM Review 47(4), 2005):

* **column colouring** — two columns that have a non-zero in a common row get different
  colours. With the seed matrix ``S`` of shape ``(n, ncolors)`` (``S[j, c] = 1`` iff
  column ``j`` has colour ``c``) the compressed Jacobian ``B = J @ S`` (one JVP per
  colour) determines ``J`` directly: ``J[i, j] = B[i, colors[j]]``.
* **row colouring** — two rows that have a non-zero in a common column get different
  colours; ``S`` has shape ``(ncolors, m)``, ``B = S @ J`` (one VJP per colour) and
  ``J[i, j] = B[colors[i], j]``.

Both are distance-2 colourings of the bipartite row/column graph restricted to one
side, i.e. ordinary colourings of the column- (row-) intersection graph, which is never
formed explicitly. The colouring is the classic sequential greedy algorithm: vertices
are visited in a chosen order and each takes the smallest colour not used by an
already-coloured distance-2 neighbour. A "forbidden colours" array stamped with the
current vertex id makes each vertex cost ``O(sum of the lengths of its rows)``, so a
full colouring costs ``O(sum_i r_i**2)`` where ``r_i`` is the number of non-zeros in
row ``i`` (column colouring; column counts for row colouring) — linear in the number of
non-zeros when rows are short, as for banded, stencil and block-diagonal patterns. The
smallest free colour is found by a scan that stops after at most (number of forbidden
colours + 1) steps, which the marking pass has already paid for.

With numba installed (the optional ``fast`` extra) the inner loops are compiled
(``@njit(cache=True)``) on first use; numba is imported lazily, so ``import
dualtape.coloring`` loads only numpy (scipy.sparse is also imported on first use).
Without numba, :mod:`dualtape._coloring_py` computes exactly the same colourings with
vectorised degrees and orders and a greedy loop over per-net colour bit-sets (see
``benchmarks/bench_coloring.py`` for the times of both).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Union

import numpy as np

from . import _coloring_py
from ._accel import Kernels

if TYPE_CHECKING:  # pragma: no cover
    import scipy.sparse
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "ORDERS", "Coloring", "backend", "color_columns", "color_rows", "decompress",
    "is_valid", "seed_matrix",
]

#: Named vertex orderings accepted by :func:`color_columns` and :func:`color_rows`.
ORDERS = ("natural", "largest_first", "smallest_last", "random")

Order = Union[Literal["natural", "largest_first", "smallest_last", "random"], "ArrayLike"]


# ---- result record -----------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Coloring:
    """A colouring of the columns (``kind="column"``) or rows (``kind="row"``) of a
    sparsity pattern of shape ``(m, n)``.

    Attributes
    ----------
    colors : ndarray of int, shape (n,) for column kind, (m,) for row kind
        ``colors[v]`` in ``range(ncolors)`` is the colour of column (row) ``v``.
        Read-only.
    ncolors : int
        Number of colours = number of JVPs (column kind) or VJPs (row kind) needed.
    lower_bound : int
        Maximum number of non-zeros in a row (column kind) or in a column (row kind):
        those entries must all get different colours, so no colouring uses fewer.
    kind : {"column", "row"}
    order : str
        The vertex ordering used: one of :data:`ORDERS`, or ``"custom"`` for an
        explicit permutation.
    """

    colors: NDArray[np.intp]
    ncolors: int
    lower_bound: int
    kind: Literal["column", "row"]
    order: str

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Coloring):
            return NotImplemented
        return (self.ncolors == other.ncolors and self.lower_bound == other.lower_bound
                and self.kind == other.kind and self.order == other.order
                and np.array_equal(self.colors, other.colors))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"Coloring(kind={self.kind!r}, ncolors={self.ncolors}, "
                f"lower_bound={self.lower_bound}, order={self.order!r}, "
                f"nvertices={self.colors.size})")


# ---- pattern handling --------------------------------------------------------------------
class _Structure(NamedTuple):
    """Canonical CSR structure (sorted, duplicate-free column indices per row)."""

    m: int
    n: int
    indptr: np.ndarray   # (m + 1,)
    indices: np.ndarray  # (nnz,)


def _csr_structure(pattern: Any) -> _Structure:
    """The stored entries of ``pattern`` as a canonical CSR structure.

    Explicitly stored zeros count as non-zeros (the pattern is structural), except that
    scipy's DIA format drops zeros when converted. Duplicates are merged. Dense
    array_likes are accepted too: their non-zero entries form the pattern. The returned
    arrays may be shared with ``pattern`` and must not be written to.
    """
    import scipy.sparse as sp

    if not sp.issparse(pattern):
        dense = np.asarray(pattern)
        if dense.ndim != 2:
            raise ValueError(f"pattern must be 2-D, got shape {dense.shape}")
        pattern = sp.csr_array(dense != 0)
    a = pattern.tocsr()
    if a.ndim != 2:
        raise ValueError(f"pattern must be 2-D, got shape {a.shape}")
    if not a.has_canonical_format:
        a = sp.csr_array((np.ones(a.indices.size, dtype=np.int8), a.indices.copy(),
                          a.indptr.copy()), shape=a.shape)
        a.sum_duplicates()
    m, n = (int(s) for s in a.shape)
    return _Structure(m, n, a.indptr, a.indices)


def _transpose(s: _Structure) -> _Structure:
    """CSR structure of the transpose (= CSC structure of ``s``), in O(nnz + m + n)."""
    import scipy.sparse as sp

    a = sp.csr_array((np.ones(s.indices.size, dtype=np.int8), s.indices, s.indptr),
                     shape=(s.m, s.n))
    c = a.tocsc()  # row indices come out sorted within each column
    return _Structure(s.n, s.m, c.indptr, c.indices)


def _common_index_dtype(*arrays: np.ndarray) -> list[np.ndarray]:
    dt = np.result_type(*(a.dtype for a in arrays))
    return [np.ascontiguousarray(a, dtype=dt) for a in arrays]


# ---- kernels (numba subset, compiled on first use; _coloring_py stands in without numba)
# Notation: the vertices being coloured are "v" (columns for column colouring); each
# vertex touches a set of "nets" (the rows it has a non-zero in): vptr/vidx is the
# vertex -> nets adjacency, nptr/nidx the net -> vertices adjacency. Two vertices are
# adjacent (must differ) iff they share a net.

def _greedy_kernel(order, vptr, vidx, nptr, nidx):  # pragma: no cover - jitted
    nv = order.shape[0]
    colors = np.full(nv, -1, dtype=np.int64)
    forbidden = np.full(nv + 1, -1, dtype=np.int64)  # forbidden[c] == v: c taken near v
    ncolors = 0
    for t in range(nv):
        v = order[t]
        for p in range(vptr[v], vptr[v + 1]):
            net = vidx[p]
            for q in range(nptr[net], nptr[net + 1]):
                c = colors[nidx[q]]
                if c >= 0:
                    forbidden[c] = v
        c = 0
        while forbidden[c] == v:
            c += 1
        colors[v] = c
        if c >= ncolors:
            ncolors = c + 1
    return colors, ncolors


def _degree_kernel(vptr, vidx, nptr, nidx):  # pragma: no cover - jitted
    # Exact degree of every vertex in the intersection graph (distinct neighbours).
    nv = vptr.shape[0] - 1
    mark = np.full(nv, -1, dtype=np.int64)
    deg = np.zeros(nv, dtype=np.int64)
    for v in range(nv):
        mark[v] = v
        d = 0
        for p in range(vptr[v], vptr[v + 1]):
            net = vidx[p]
            for q in range(nptr[net], nptr[net + 1]):
                w = nidx[q]
                if mark[w] != v:
                    mark[w] = v
                    d += 1
        deg[v] = d
    return deg


def _largest_first_kernel(deg):  # pragma: no cover - jitted
    # Counting sort: decreasing degree, ties by increasing index. O(nv + max degree).
    nv = deg.shape[0]
    maxd = 0
    for v in range(nv):
        if deg[v] > maxd:
            maxd = deg[v]
    start = np.zeros(maxd + 2, dtype=np.int64)
    for v in range(nv):
        start[maxd - deg[v] + 1] += 1
    for k in range(1, maxd + 2):
        start[k] += start[k - 1]
    order = np.empty(nv, dtype=np.int64)
    for v in range(nv):
        key = maxd - deg[v]
        order[start[key]] = v
        start[key] += 1
    return order


def _smallest_last_kernel(deg, vptr, vidx, nptr, nidx):  # pragma: no cover - jitted
    # Matula & Beck: repeatedly remove a vertex of minimum degree in the remaining
    # intersection graph; colour in reverse removal order. Degree buckets are doubly
    # linked lists; total cost O(sum_i r_i**2 + nv).
    nv = deg.shape[0]
    deg = deg.copy()
    maxd = 0
    for v in range(nv):
        if deg[v] > maxd:
            maxd = deg[v]
    head = np.full(maxd + 1, -1, dtype=np.int64)
    nxt = np.full(nv, -1, dtype=np.int64)
    prv = np.full(nv, -1, dtype=np.int64)
    for v in range(nv - 1, -1, -1):  # so each bucket starts in increasing index order
        d = deg[v]
        nxt[v] = head[d]
        if head[d] >= 0:
            prv[head[d]] = v
        head[d] = v
    removed = np.zeros(nv, dtype=np.bool_)
    mark = np.full(nv, -1, dtype=np.int64)
    order = np.empty(nv, dtype=np.int64)
    mind = 0
    for k in range(nv - 1, -1, -1):
        while head[mind] < 0:
            mind += 1
        v = head[mind]
        # unlink v (it is the head of its bucket)
        head[mind] = nxt[v]
        if nxt[v] >= 0:
            prv[nxt[v]] = -1
        removed[v] = True
        order[k] = v
        mark[v] = v
        for p in range(vptr[v], vptr[v + 1]):
            net = vidx[p]
            for q in range(nptr[net], nptr[net + 1]):
                w = nidx[q]
                if removed[w] or mark[w] == v:
                    continue
                mark[w] = v
                d = deg[w]
                # unlink w from bucket d
                if prv[w] >= 0:
                    nxt[prv[w]] = nxt[w]
                else:
                    head[d] = nxt[w]
                if nxt[w] >= 0:
                    prv[nxt[w]] = prv[w]
                # push w onto bucket d - 1
                d -= 1
                deg[w] = d
                prv[w] = -1
                nxt[w] = head[d]
                if head[d] >= 0:
                    prv[head[d]] = w
                head[d] = w
        if mind > 0:
            mind -= 1  # neighbours' degrees dropped by at most one
    return order


_KERNELS = Kernels("dualtape.coloring", {
    "greedy": _greedy_kernel,
    "degree": _degree_kernel,
    "largest_first": _largest_first_kernel,
    "smallest_last": _smallest_last_kernel,
}, _coloring_py.FALLBACKS)


def _get_kernels() -> Kernels:
    """The colouring kernels: compiled by numba when it is importable (on first use),
    the numpy/Python versions of :mod:`dualtape._coloring_py` otherwise."""
    return _KERNELS


def backend() -> str:
    """``"numba"`` if the colouring kernels are compiled, ``"python"`` otherwise
    (numba is the optional ``fast`` extra: ``pip install "dualtape[fast]"``)."""
    return _KERNELS.backend()


# ---- colouring ---------------------------------------------------------------------------
def _resolve_order(order: Order, nv: int, adj: tuple[np.ndarray, ...],
                   seed: int | np.random.Generator | None,
                   kernels: Kernels) -> tuple[np.ndarray, str]:
    if isinstance(order, str):
        if order == "natural":
            return np.arange(nv, dtype=np.int64), order
        if order == "random":
            return np.random.default_rng(seed).permutation(nv).astype(np.int64), order
        if order in ("largest_first", "smallest_last"):
            deg = kernels("degree", *adj)
            if order == "largest_first":
                return kernels("largest_first", deg), order
            return kernels("smallest_last", deg, *adj), order
        raise ValueError(f"unknown order {order!r}; expected one of {ORDERS} "
                         "or a permutation array")
    perm = np.asarray(order)
    if perm.shape != (nv,) or (nv and perm.dtype.kind not in "iu"):
        raise ValueError(f"an explicit order must be an integer permutation of shape "
                         f"({nv},), got dtype {perm.dtype} and shape {perm.shape}")
    perm = perm.astype(np.int64)
    if nv and (perm.min() < 0 or perm.max() >= nv
               or not np.all(np.bincount(perm, minlength=nv) == 1)):
        raise ValueError(f"explicit order is not a permutation of range({nv})")
    return perm, "custom"


def _color(vert: _Structure, net: _Structure, kind: Literal["column", "row"],
           order: Order, seed: int | np.random.Generator | None) -> Coloring:
    # vert: vertex -> nets adjacency (nv = vert.m rows); net: net -> vertices.
    nv = vert.m
    lower = int(np.diff(net.indptr).max()) if net.m else 0
    kernels = _get_kernels()
    adj = tuple(_common_index_dtype(vert.indptr, vert.indices, net.indptr, net.indices))
    perm, name = _resolve_order(order, nv, adj, seed, kernels)
    colors, ncolors = kernels("greedy", perm, *adj)
    colors = colors.astype(np.intp, copy=False)
    colors.flags.writeable = False
    return Coloring(colors=colors, ncolors=int(ncolors), lower_bound=lower, kind=kind,
                    order=name)


def color_columns(pattern: scipy.sparse.sparray | scipy.sparse.spmatrix | ArrayLike,
                  order: Order = "largest_first", *,
                  seed: int | np.random.Generator | None = None) -> Coloring:
    """Greedy column colouring (distance-2 colouring of the bipartite graph, column side).

    Two columns that have a stored entry in a common row get different colours, so
    ``J @ seed_matrix(coloring)`` — one JVP per colour — determines ``J``.

    Parameters
    ----------
    pattern : scipy.sparse matrix or array of shape (m, n), any format and dtype
        Stored entries are the structural non-zeros (a dense array_like is accepted
        too; its non-zeros are the pattern).
    order : str or int array of shape (n,)
        Order in which columns are coloured greedily:

        * ``"natural"`` — ``0, 1, ..., n-1``;
        * ``"largest_first"`` — decreasing *exact* degree in the column-intersection
          graph (number of distinct other columns sharing a row), ties by increasing
          index; the degrees are counted with the same stamped-marker pass as the
          colouring, so this costs one extra pass of ``O(sum_i r_i**2)``;
        * ``"smallest_last"`` — Matula–Beck smallest-last order on the intersection
          graph (bucket queue, same asymptotic cost), often the fewest colours;
        * ``"random"`` — a random permutation from ``numpy.random.default_rng(seed)``;
        * an explicit permutation of ``range(n)`` (reported as ``order="custom"``).
    seed : int or numpy Generator, optional
        Only used by ``order="random"``.

    Returns
    -------
    Coloring
        ``kind="column"``, ``colors`` of shape ``(n,)``, ``lower_bound`` = the maximum
        number of stored entries in a row.

    Cost is ``O(sum_i r_i**2 + m + n)`` time (``r_i`` = entries in row ``i``) and
    ``O(nnz + m + n)`` memory: linear in the number of non-zeros for bounded row
    lengths, quadratic in the length of a dense row (inherent to the greedy method,
    which must inspect every pair of columns in such a row).
    """
    s = _csr_structure(pattern)
    return _color(_transpose(s), s, "column", order, seed)


def color_rows(pattern: scipy.sparse.sparray | scipy.sparse.spmatrix | ArrayLike,
               order: Order = "largest_first", *,
               seed: int | np.random.Generator | None = None) -> Coloring:
    """Greedy row colouring (distance-2 colouring of the bipartite graph, row side).

    Two rows that have a stored entry in a common column get different colours, so
    ``seed_matrix(coloring) @ J`` — one VJP per colour — determines ``J``. This is
    :func:`color_columns` of the transposed pattern.

    Parameters
    ----------
    pattern : scipy.sparse matrix or array of shape (m, n), any format and dtype
    order : str or int array of shape (m,)
        As for :func:`color_columns`, with rows as vertices (``"largest_first"`` uses the
        exact degree in the row-intersection graph).
    seed : int or numpy Generator, optional
        Only used by ``order="random"``.

    Returns
    -------
    Coloring
        ``kind="row"``, ``colors`` of shape ``(m,)``, ``lower_bound`` = the maximum
        number of stored entries in a column.

    Cost is ``O(sum_j c_j**2 + m + n)`` with ``c_j`` the entries in column ``j``.
    """
    s = _csr_structure(pattern)
    return _color(s, _transpose(s), "row", order, seed)


# ---- using a colouring -------------------------------------------------------------------
def seed_matrix(coloring: Coloring, dtype: Any = np.float64) -> np.ndarray:
    """The dense seed matrix of a colouring.

    Returns an array of shape ``(n, ncolors)`` for a column colouring (``S[j, c] = 1``
    iff column ``j`` has colour ``c``; compute ``J @ S``), or ``(ncolors, m)`` for a row
    colouring (``S[c, i] = 1`` iff row ``i`` has colour ``c``; compute ``S @ J``).
    """
    colors = np.asarray(coloring.colors)
    nv = colors.size
    if coloring.kind == "column":
        s = np.zeros((nv, coloring.ncolors), dtype=dtype)
        s[np.arange(nv), colors] = 1
    elif coloring.kind == "row":
        s = np.zeros((coloring.ncolors, nv), dtype=dtype)
        s[colors, np.arange(nv)] = 1
    else:
        raise ValueError(f"unknown coloring kind {coloring.kind!r}")
    return s


def decompress(pattern: scipy.sparse.sparray | scipy.sparse.spmatrix | ArrayLike,
               coloring: Coloring, compressed: ArrayLike) -> scipy.sparse.csr_array:
    """Recover the sparse Jacobian from its compressed form (direct decompression).

    Parameters
    ----------
    pattern : sparse matrix of shape (m, n)
        The pattern that was coloured.
    coloring : Coloring
        From :func:`color_columns` or :func:`color_rows` on ``pattern``.
    compressed : array_like
        Column kind: shape ``(m, ncolors)``, ``J @ seed_matrix(coloring)``.
        Row kind: shape ``(ncolors, n)``, ``seed_matrix(coloring) @ J``.

    Returns
    -------
    scipy.sparse.csr_array of shape (m, n)
        Entries at exactly the pattern's positions (canonical: sorted indices, no
        duplicates), dtype of ``compressed``: ``J[i, j] = compressed[i, colors[j]]``
        (column kind) or ``compressed[colors[i], j]`` (row kind). Vectorised, O(nnz).
    """
    import scipy.sparse as sp

    s = _csr_structure(pattern)
    b = np.asarray(compressed)
    colors = np.asarray(coloring.colors)
    nnz = s.indices.size
    rows = np.repeat(np.arange(s.m, dtype=s.indices.dtype), np.diff(s.indptr))
    if coloring.kind == "column":
        if colors.shape != (s.n,):
            raise ValueError(f"column coloring has {colors.size} vertices, pattern has "
                             f"{s.n} columns")
        if b.shape != (s.m, coloring.ncolors):
            raise ValueError(f"compressed must have shape {(s.m, coloring.ncolors)}, "
                             f"got {b.shape}")
        values = b[rows, colors[s.indices]] if nnz else np.zeros(0, dtype=b.dtype)
    elif coloring.kind == "row":
        if colors.shape != (s.m,):
            raise ValueError(f"row coloring has {colors.size} vertices, pattern has "
                             f"{s.m} rows")
        if b.shape != (coloring.ncolors, s.n):
            raise ValueError(f"compressed must have shape {(coloring.ncolors, s.n)}, "
                             f"got {b.shape}")
        values = b[colors[rows], s.indices] if nnz else np.zeros(0, dtype=b.dtype)
    else:
        raise ValueError(f"unknown coloring kind {coloring.kind!r}")
    out = sp.csr_array((values, s.indices.copy(), s.indptr.copy()), shape=(s.m, s.n))
    out.has_sorted_indices = True
    out.has_canonical_format = True
    return out


def _distinct_per_group(ptr: np.ndarray, labels: np.ndarray, nlabels: int) -> bool:
    """True iff within each group ``labels[ptr[g]:ptr[g+1]]`` no label repeats."""
    import scipy.sparse as sp

    b = sp.csr_array((np.ones(labels.size, dtype=np.int8), labels, ptr),
                     shape=(ptr.size - 1, max(nlabels, 1)))
    b.sum_duplicates()  # sorts each group, merges repeats: O(sum g log g)
    return b.nnz == labels.size


def is_valid(pattern: scipy.sparse.sparray | scipy.sparse.spmatrix | ArrayLike,
             coloring: Coloring) -> bool:
    """Whether ``coloring`` is a valid colouring of ``pattern`` (shape ``(m, n)``).

    Column kind: ``colors`` has shape ``(n,)``, values in ``range(ncolors)``, and no two
    columns of the same colour have a stored entry in a common row. Row kind: likewise
    with rows and columns swapped. Vectorised, ``O(nnz log(max row length))``; does not
    trust ``coloring.ncolors`` beyond the range check.
    """
    s = _csr_structure(pattern)
    colors = np.asarray(coloring.colors)
    if coloring.kind == "column":
        nv, groups = s.n, s
    elif coloring.kind == "row":
        nv, groups = s.m, _transpose(s)
    else:
        return False
    if colors.shape != (nv,) or (nv and colors.dtype.kind not in "iu"):
        return False
    if nv and (colors.min() < 0 or colors.max() >= coloring.ncolors):
        return False
    return _distinct_per_group(groups.indptr, colors[groups.indices], coloring.ncolors)
