"""The colouring kernels of :mod:`dualtape.coloring` without numba.

Same signatures and exactly the same results as the compiled kernels there (the
colouring does not depend on whether numba is installed), written for the interpreter:

* degrees and the largest-first order are vectorised (a boolean sparse product counts
  each vertex's distinct distance-2 neighbours in scipy's C code, in chunks that bound
  memory; a stable argsort is the counting sort);
* the greedy colouring is sequential, so it is a Python loop, but one whose cost per
  vertex is one integer operation per net it touches rather than one step per
  distance-2 neighbour: each net keeps the colours used in it as the bits of a Python
  int, a vertex's forbidden colours are the OR of its nets' ints, and the smallest free
  colour is the lowest zero bit.  A net's int is dropped once all its vertices are
  coloured, which keeps memory near the size of the pattern for banded and arrowhead
  patterns in natural or degree order;
* smallest-last is the bucket-queue loop over Python lists.

Vertices ``v`` touch nets (``vptr``/``vidx``), nets list their vertices
(``nptr``/``nidx``), as in :mod:`dualtape.coloring`.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

#: Distance-2 pairs counted per sparse product in :func:`degree` (bounds its memory).
_CHUNK_WORK = 1 << 22


def greedy(order: np.ndarray, vptr: np.ndarray, vidx: np.ndarray, nptr: np.ndarray,
           nidx: np.ndarray) -> tuple[np.ndarray, int]:
    nv = order.shape[0]
    ptr = vptr.tolist()
    nets = vidx.tolist()
    left = np.diff(nptr).tolist()         # uncoloured vertices per net
    used = [0] * (len(nptr) - 1)          # bit c of used[r]: colour c is taken in net r
    colors = [-1] * nv
    ncolors = 0
    for v in order.tolist():
        mine = nets[ptr[v]:ptr[v + 1]]
        taken = 0
        for r in mine:
            taken |= used[r]
        c = (~taken & (taken + 1)).bit_length() - 1   # lowest zero bit
        colors[v] = c
        bit = 1 << c
        for r in mine:
            k = left[r] - 1
            left[r] = k
            used[r] = used[r] | bit if k else 0
        if c >= ncolors:
            ncolors = c + 1
    return np.array(colors, dtype=np.int64).reshape(nv), ncolors


def degree(vptr: np.ndarray, vidx: np.ndarray, nptr: np.ndarray,
           nidx: np.ndarray) -> np.ndarray:
    import scipy.sparse as sp

    nv, m = vptr.shape[0] - 1, nptr.shape[0] - 1
    deg = np.zeros(nv, dtype=np.int64)
    if nv == 0 or m == 0:
        return deg
    lengths = np.diff(nptr).astype(np.int64)
    # work[v] = sum of the lengths of v's nets >= the distance-2 pairs v's row will hold
    cum = np.concatenate([[0], np.cumsum(lengths[vidx])])
    vwork = np.cumsum(cum[vptr[1:]] - cum[vptr[:-1]])
    nets = sp.csr_array((np.ones(nidx.size, dtype=bool), nidx, nptr), shape=(m, nv))
    start = 0
    while start < nv:
        base = vwork[start - 1] if start else 0
        stop = max(int(np.searchsorted(vwork, base + _CHUNK_WORK, side="right")), start + 1)
        lo, hi = int(vptr[start]), int(vptr[stop])
        block = sp.csr_array((np.ones(hi - lo, dtype=bool), vidx[lo:hi],
                              vptr[start:stop + 1] - lo), shape=(stop - start, m))
        deg[start:stop] = np.diff((block @ nets).indptr)
        start = stop
    return deg - (np.diff(vptr) > 0)     # a vertex with a net counted itself


def largest_first(deg: np.ndarray) -> np.ndarray:
    # decreasing degree, ties by increasing index: the compiled counting sort's order
    return np.argsort(-deg, kind="stable").astype(np.int64)


def smallest_last(deg: np.ndarray, vptr: np.ndarray, vidx: np.ndarray, nptr: np.ndarray,
                  nidx: np.ndarray) -> np.ndarray:
    nv = deg.shape[0]
    d = deg.tolist()
    vp, vi, np_, ni = vptr.tolist(), vidx.tolist(), nptr.tolist(), nidx.tolist()
    maxd = max(d, default=0)
    head = [-1] * (maxd + 1)
    nxt = [-1] * nv
    prv = [-1] * nv
    for v in range(nv - 1, -1, -1):
        k = d[v]
        nxt[v] = head[k]
        if head[k] >= 0:
            prv[head[k]] = v
        head[k] = v
    removed = [False] * nv
    mark = [-1] * nv
    order = [0] * nv
    mind = 0
    for pos in range(nv - 1, -1, -1):
        while head[mind] < 0:
            mind += 1
        v = head[mind]
        head[mind] = nxt[v]
        if nxt[v] >= 0:
            prv[nxt[v]] = -1
        removed[v] = True
        order[pos] = v
        mark[v] = v
        for p in range(vp[v], vp[v + 1]):
            r = vi[p]
            for q in range(np_[r], np_[r + 1]):
                w = ni[q]
                if removed[w] or mark[w] == v:
                    continue
                mark[w] = v
                k = d[w]
                if prv[w] >= 0:
                    nxt[prv[w]] = nxt[w]
                else:
                    head[k] = nxt[w]
                if nxt[w] >= 0:
                    prv[nxt[w]] = prv[w]
                k -= 1
                d[w] = k
                prv[w] = -1
                nxt[w] = head[k]
                if head[k] >= 0:
                    prv[head[k]] = w
                head[k] = w
        if mind > 0:
            mind -= 1
    return np.array(order, dtype=np.int64).reshape(nv)


FALLBACKS: dict[str, Callable[..., Any]] = {
    "greedy": greedy, "degree": degree, "largest_first": largest_first,
    "smallest_last": smallest_last}
