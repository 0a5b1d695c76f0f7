"""Vectorised numpy stand-ins for the symmetric-colouring kernels, used when numba is
not available (:mod:`dualtape.coloring_sym` runs its compiled kernels otherwise).

The greedy star and acyclic kernels are sequential by nature; run as plain Python they
cost seconds at n = 10**5.  Without numba the colouring is therefore a *distance-2*
colouring of the adjacency graph (no two vertices within distance two share a colour),
which is a star colouring (a two-coloured path on four vertices would put equal colours
at distance two) and so also an acyclic one, and which vectorises: Jones-Plassmann
rounds with random priorities, each colouring at once every uncoloured vertex whose
priority beats all its uncoloured distance-2 neighbours, with the smallest colour none
of its coloured distance-2 neighbours has.  With random priorities the number of
rounds is small (logarithmic in n for bounded degree); each round is O(nnz of the
distance-2 graph).  It may use more colours than the greedy kernels (an arrowhead
needs n instead of 2), which the lower bound in the result makes visible.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def graph_parts(n: int, indptr: np.ndarray, indices: np.ndarray) -> tuple:
    """As the compiled graph kernel: ``(symmetric, ptr, idx, rows, rev)`` of the
    off-diagonal part of a canonical CSR structure, by one scipy transpose."""
    import scipy.sparse as sp

    a = sp.csr_array((np.arange(indices.size, dtype=np.int64), indices, indptr),
                     shape=(n, n))
    t = a.T.tocsr()                       # rows of the transpose come out sorted
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    empty = np.zeros(0, dtype=np.int64)
    if not (np.array_equal(t.indptr, indptr) and np.array_equal(t.indices, indices)):
        return False, np.zeros(n + 1, dtype=np.int64), empty, empty, empty
    off = rows != indices
    newpos = np.cumsum(off) - 1
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows[off], minlength=n), out=ptr[1:])
    rev = newpos[np.asarray(t.data, dtype=np.int64)[off]]
    return True, ptr, np.ascontiguousarray(indices[off], dtype=np.int64), rows[off], rev


def distance2_coloring(n: int, ptr: np.ndarray, idx: np.ndarray,
                       seed: Any = 0) -> tuple[np.ndarray, int]:
    """``(colors, ncolors)``: a distance-2 colouring by Jones-Plassmann rounds."""
    import scipy.sparse as sp

    colors = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return colors, 0
    a = sp.csr_array((np.ones(idx.size, dtype=np.int8), idx, ptr), shape=(n, n))
    a2 = (a + a @ a).tocsr()               # within distance two
    a2.sum_duplicates()
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(a2.indptr))
    cols = np.asarray(a2.indices, dtype=np.int64)
    keep = rows != cols
    rows, cols = rows[keep], cols[keep]
    prio = np.random.default_rng(seed).permutation(n)
    while True:
        todo = colors < 0
        if not todo.any():
            break
        # v waits while an uncoloured distance-2 neighbour has a higher priority
        blocks = todo[rows] & todo[cols] & (prio[cols] > prio[rows])
        ready = todo & (np.bincount(rows[blocks], minlength=n) == 0)
        # smallest colour absent among each ready vertex's coloured neighbours
        sel = ready[rows] & ~todo[cols]
        r, c = rows[sel], colors[cols[sel]]
        key = np.unique(r * (n + 1) + c)
        r, c = key // (n + 1), key % (n + 1)
        start = np.searchsorted(r, r, side="left")
        rank = np.arange(r.size) - start
        gap = np.where(c != rank, rank, np.iinfo(np.int64).max)
        first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first, r, gap)
        count = np.bincount(r, minlength=n)
        pick = np.where(first == np.iinfo(np.int64).max, count, first)
        v = np.nonzero(ready)[0]
        colors[v] = pick[v]
    return colors, int(colors.max()) + 1
