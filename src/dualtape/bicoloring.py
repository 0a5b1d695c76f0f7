"""Bidirectional colouring: Jacobians from compressed JVPs *and* VJPs together.

A Jacobian with a dense row needs ``n`` column colours and one with a dense column
``m`` row colours; with both, each one-sided colouring is as slow as the dense
Jacobian.  A bidirectional partition (Coleman & Verma, SIAM J. Sci. Comput. 19(4),
1998; Hossain & Steihaug 1998; Gebremedhin, Manne & Pothen, SIAM Review 47(4), 2005,
sec. 5) determines some non-zeros from a few JVPs and the rest from a few VJPs.

The scheme here is a direct bidirectional partition built around the densest rows and
columns.  Choose a set ``R`` of rows and a set ``C`` of columns (``C`` only among the
columns with a non-zero in ``R``).  Then

* every column in ``C`` gets a colour of its own (one JVP each);
* the other columns are coloured (distance-2, :func:`dualtape.coloring.color_columns`)
  on the rows outside ``R``; columns with no non-zero there are *neutral* (in no JVP);
* the rows in ``R`` are coloured on the columns outside ``C``; the other rows are
  neutral (in no VJP).

An entry ``(i, j)`` with ``i`` in ``R`` and ``j`` not in ``C`` is read from the VJPs,
``J[i, j] = (S_r @ J)[row_color[i], j]``; every other entry from the JVPs,
``J[i, j] = (J @ S_c)[i, col_color[j]]``.  Both reads are direct (no arithmetic): among
the coloured columns of row ``i`` only ``j`` has its colour (resp. among the coloured
rows of column ``j`` only ``i``), which :func:`decompress` verifies before reading.
``R`` and ``C`` are searched over the top-``k`` densest rows and columns for ``k`` in
``0, 1, 2, 4, ...`` (plus all rows), pruned by lower bounds, and the partition with the
fewest passes (a VJP priced ``cost_ratio`` JVPs) wins.  ``R`` empty is the column
colouring, ``R`` all rows with ``C`` empty the row colouring, so the result is never
worse than either one-sided plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .coloring import _csr_structure, color_columns, color_rows

if TYPE_CHECKING:  # pragma: no cover
    import scipy.sparse
    from numpy.typing import ArrayLike, NDArray

__all__ = ["Bicoloring", "bicolor", "decompress", "seed_matrices"]


@dataclass(frozen=True, eq=False)
class Bicoloring:
    """A bidirectional partition of a pattern of shape ``(m, n)``.

    Attributes
    ----------
    col_colors : int array (n,)
        JVP colour of each column, ``-1`` for a neutral column (in no JVP).
    row_colors : int array (m,)
        VJP colour of each row, ``-1`` for a neutral row.
    ncol_colors, nrow_colors : int
        JVPs and VJPs needed.
    rows_rev : bool array (m,)
        ``R``: rows whose entries (outside ``C``) come from the VJPs.
    cols_fwd : bool array (n,)
        ``C``: columns whose entries in ``R`` still come from the JVPs.
    """

    col_colors: NDArray[np.intp]
    row_colors: NDArray[np.intp]
    ncol_colors: int
    nrow_colors: int
    rows_rev: NDArray[np.bool_]
    cols_fwd: NDArray[np.bool_]

    __hash__ = None  # type: ignore[assignment]

    @property
    def passes(self) -> int:
        """JVPs plus VJPs."""
        return self.ncol_colors + self.nrow_colors

    #: colours in all (as a one-sided colouring's ``ncolors``): JVPs plus VJPs
    ncolors = passes

    @property
    def lower_bound(self) -> None:
        """No lower bound is computed for bidirectional partitions."""
        return None

    def __repr__(self) -> str:
        return (f"Bicoloring(jvps={self.ncol_colors}, vjps={self.nrow_colors}, "
                f"rows_rev={int(self.rows_rev.sum())}, cols_fwd={int(self.cols_fwd.sum())})")


def _entries(pattern: Any) -> tuple[int, int, np.ndarray, np.ndarray, np.ndarray]:
    s = _csr_structure(pattern)
    rows = np.repeat(np.arange(s.m, dtype=np.int64), np.diff(s.indptr))
    return s.m, s.n, rows, np.asarray(s.indices, dtype=np.int64), np.asarray(s.indptr)


def _sub(m: int, n: int, rows: np.ndarray, cols: np.ndarray, keep: np.ndarray) -> Any:
    import scipy.sparse as sp
    return sp.csr_array((np.ones(int(keep.sum()), dtype=bool), (rows[keep], cols[keep])),
                        shape=(m, n))


def _compact(colors: np.ndarray, used: np.ndarray) -> tuple[np.ndarray, int]:
    """Neutral (-1) where not ``used``; the remaining colours renumbered 0..k-1."""
    c = np.where(used, colors, -1)
    live = np.unique(c[c >= 0])
    lookup = np.full(int(colors.max(initial=-1)) + 2, -1, dtype=np.intp)
    lookup[live] = np.arange(live.size)
    return lookup[c], int(live.size)


def _tops(k_max: int, full: bool) -> list[int]:
    ks = [0]
    k = 1
    while k <= min(k_max, 32):
        ks.append(k)
        k *= 2
    if full and k_max not in ks:
        ks.append(k_max)
    return ks


def bicolor(pattern: scipy.sparse.sparray | scipy.sparse.spmatrix | ArrayLike,
            cost_ratio: float = 1.0, order: str = "natural") -> Bicoloring:
    """The cheapest bidirectional partition of ``pattern`` (shape ``(m, n)``) found.

    ``cost_ratio``: one VJP's price in JVPs (the planner's counted ratio).  ``order``:
    the vertex order of the one-sided colourings.  Returns a :class:`Bicoloring` whose
    price ``ncol_colors + cost_ratio * nrow_colors`` is at most that of the column and
    of the row colouring in the same order.  Cost: a few one-sided colourings of
    sub-patterns (those that cannot beat the best so far by their lower bounds are
    skipped).
    """
    m, n, rows, cols, _ = _entries(pattern)
    rnnz = np.bincount(rows, minlength=m)
    cnnz = np.bincount(cols, minlength=n)
    rorder = np.argsort(-rnnz, kind="stable")
    corder = np.argsort(-cnnz, kind="stable")
    plans = []
    for kr in _tops(m, full=True):
        R = np.zeros(m, dtype=bool)
        R[rorder[:kr]] = True
        in_R = R[rows]
        touches_R = np.bincount(cols[in_R], minlength=n) > 0
        for kc in _tops(n, full=False) if kr else [0]:
            C = np.zeros(n, dtype=bool)
            C[corder[:kc]] = True
            C &= touches_R
            if kc and not C.any():
                continue
            via_rev = in_R & ~C[cols]
            fwd_keep = ~in_R & ~C[cols]          # what the shared column colours cover
            lb_c = int(C.sum()) + int(np.bincount(rows[fwd_keep], minlength=1).max())
            lb_r = int(np.bincount(cols[via_rev], minlength=1).max())
            plans.append((lb_c + cost_ratio * lb_r, kr, kc, R, C, via_rev, fwd_keep))
    plans.sort(key=lambda p: (p[0], p[1], p[2]))
    best = None
    for bound, _kr, _kc, R, C, via_rev, fwd_keep in plans:
        if best is not None and bound >= best[0]:
            break
        bc = _build(m, n, rows, cols, R, C, via_rev, fwd_keep, order)
        price = bc.ncol_colors + cost_ratio * bc.nrow_colors
        if best is None or price < best[0]:
            best = (price, bc)
    assert best is not None
    return best[1]


def _build(m: int, n: int, rows: np.ndarray, cols: np.ndarray, R: np.ndarray,
           C: np.ndarray, via_rev: np.ndarray, fwd_keep: np.ndarray, order: str) -> Bicoloring:
    shared = color_columns(_sub(m, n, rows, cols, fwd_keep), order=order)
    used = np.bincount(cols[fwd_keep], minlength=n) > 0
    colc, k_shared = _compact(np.asarray(shared.colors), used & ~C)
    own = np.nonzero(C)[0]
    colc[own] = k_shared + np.arange(own.size)
    rcol = color_rows(_sub(m, n, rows, cols, via_rev), order=order)
    used_r = np.bincount(rows[via_rev], minlength=m) > 0
    colr, k_rows = _compact(np.asarray(rcol.colors), used_r & R)
    for a in (colc, colr):
        a.flags.writeable = False
    R, C = R.copy(), C.copy()
    R.flags.writeable = C.flags.writeable = False
    return Bicoloring(colc, colr, k_shared + own.size, k_rows, R, C)


def seed_matrices(bc: Bicoloring, dtype: Any = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """``(S_c, S_r)``: ``S_c`` of shape ``(n, ncol_colors)`` for ``J @ S_c`` (JVPs) and
    ``S_r`` of shape ``(nrow_colors, m)`` for ``S_r @ J`` (VJPs); neutral vertices are
    zero rows/columns."""
    c, r = np.asarray(bc.col_colors), np.asarray(bc.row_colors)
    sc = np.zeros((c.size, bc.ncol_colors), dtype=dtype)
    sr = np.zeros((bc.nrow_colors, r.size), dtype=dtype)
    sc[np.nonzero(c >= 0)[0], c[c >= 0]] = 1
    sr[r[r >= 0], np.nonzero(r >= 0)[0]] = 1
    return sc, sr


def _unique_colour(group: np.ndarray, colour: np.ndarray, ngroups: int,
                   ncolours: int) -> np.ndarray:
    """Per entry: its colour is >= 0 and no other entry of its group has that colour."""
    ok = colour >= 0
    key = group * max(ncolours, 1) + np.where(ok, colour, 0)
    counts = np.bincount(key[ok], minlength=ngroups * max(ncolours, 1))
    return ok & (counts[key] == 1)


def decompress(pattern: scipy.sparse.sparray | scipy.sparse.spmatrix | ArrayLike,
               bc: Bicoloring, fwd: ArrayLike, rev: ArrayLike) -> scipy.sparse.csr_array:
    """The Jacobian from ``fwd = J @ S_c`` (shape ``(m, ncol_colors)``) and
    ``rev = S_r @ J`` (shape ``(nrow_colors, n)``), see :func:`seed_matrices`.

    Returns a canonical ``scipy.sparse.csr_array`` of shape ``(m, n)`` with entries at
    the pattern's positions.  Raises ``ValueError`` if some entry cannot be read
    directly from the side the partition assigns it (so a partition that does not
    fit the pattern never gives a wrong Jacobian).  Vectorised, O(nnz).
    """
    import scipy.sparse as sp

    m, n, rows, cols, indptr = _entries(pattern)
    colc, colr = np.asarray(bc.col_colors), np.asarray(bc.row_colors)
    if colc.shape != (n,) or colr.shape != (m,):
        raise ValueError(f"bicoloring is for {colr.size} rows and {colc.size} columns, "
                         f"pattern has shape {(m, n)}")
    fwd, rev = np.asarray(fwd), np.asarray(rev)
    if fwd.shape != (m, bc.ncol_colors) or rev.shape != (bc.nrow_colors, n):
        raise ValueError(f"compressed products must have shapes {(m, bc.ncol_colors)} "
                         f"and {(bc.nrow_colors, n)}, got {fwd.shape} and {rev.shape}")
    via_rev = np.asarray(bc.rows_rev)[rows] & ~np.asarray(bc.cols_fwd)[cols]
    # every coloured column / row is in its products, whichever entries it serves
    ok_f = _unique_colour(rows, colc[cols], m, bc.ncol_colors)
    ok_r = _unique_colour(cols, colr[rows], n, bc.nrow_colors)
    bad = np.nonzero(np.where(via_rev, ~ok_r, ~ok_f))[0]
    if bad.size:
        i, j = int(rows[bad[0]]), int(cols[bad[0]])
        raise ValueError(f"decompress: entry ({i}, {j}) is not determined directly by the "
                         f"{'VJPs' if via_rev[bad[0]] else 'JVPs'} of this bicoloring; "
                         "bicolor this pattern")
    dtype = np.result_type(fwd.dtype, rev.dtype, np.float64)
    vals = np.empty(rows.size, dtype=dtype)
    f = ~via_rev
    vals[f] = fwd[rows[f], colc[cols[f]]]
    vals[via_rev] = rev[colr[rows[via_rev]], cols[via_rev]]
    out = sp.csr_array((vals, cols.copy(), np.asarray(indptr).copy()), shape=(m, n))
    out.has_sorted_indices = True
    out.has_canonical_format = True
    return out
