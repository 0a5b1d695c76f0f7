"""Symmetric colourings for compressed sparse Hessians.

A symmetric matrix ``H`` of order ``n`` with a known pattern is determined by the
compressed product ``B = H @ S`` (one Hessian-vector product per colour; ``S[j, c] = 1``
iff vertex ``j`` has colour ``c``) when the colouring of the adjacency graph of ``H``
(vertex ``i`` adjacent to ``j`` iff ``H[i, j]`` may be non-zero, ``i != j``) is

* a **star colouring** (Coleman & Moré 1984; Gebremedhin, Tarafdar, Manne & Pothen,
  SIAM J. Sci. Comput. 29(3), 2007): proper, and every path on four vertices uses at
  least three colours.  Then for every edge ``{i, j}`` one end, say ``i``, has no other
  neighbour of colour ``colors[j]``, so ``H[i, j] = B[i, colors[j]]`` (direct recovery:
  no arithmetic, exact to the rounding of the products themselves).  In fact that
  condition on every edge is equivalent to the star property; :func:`decompress` and
  :func:`is_star_coloring` both test it.
* an **acyclic colouring** (same paper; Gebremedhin et al., ACM TOMS 35(1), 2009): proper,
  and every cycle uses at least three colours, so the edges between any two colour
  classes form a forest.  Its entries are recovered by substitution: a leaf of such a
  tree reads its entry off ``B`` directly, which is then subtracted from its parent's
  sum, and so on towards the root.  Fewer colours than star colouring (2 instead of 3
  on a path) but each entry carries the rounding of the subtractions along its tree.

Both colourings are greedy: vertices are visited in a chosen order and take the
smallest colour that keeps the property.  The star kernel keeps every two-coloured
star with its hub, and each vertex a list of the stars it is in (at most one per other
colour), so colouring ``v`` looks at each neighbour's colours, not its neighbours:
``O(nnz * colours)`` in all, linear in the non-zeros even with dense rows (an
arrowhead at n = 10**6 colours in under a second).  The acyclic kernel keeps the
two-coloured trees in a disjoint-set forest over the edges (the structures of
Gebremedhin et al. 2007).  All edges from a vertex to one colour lie in one tree, so a
vertex of degree above ``_LIST_DEGREE`` keeps a list of its trees, one per colour, and
colouring a neighbour looks at that list; around a vertex of lower degree it scans the
adjacency row.  The cost is ``O(nnz * max(colours, _LIST_DEGREE))`` times a nearly
constant disjoint-set cost: linear for bounded degree and for dense rows alike (an
arrowhead at n = 10**6 in about 0.15 s, where scanning the hub's row for each leaf
took a second at n = 10**4).
The kernels are compiled with numba on first use when it is importable, as in
:mod:`dualtape.coloring`.  Without numba (the optional ``fast`` extra) small graphs
(up to ``_PYTHON_WORK`` kernel steps) run the same kernels as plain Python, with the
same results, and so do graphs with dense rows (an arrowhead at n = 10**4 in about
0.15 s).  Larger graphs of low degree are coloured by vectorised numpy instead
(:mod:`dualtape._coloring_vec`): a distance-2 colouring by Jones-Plassmann rounds,
which is a star and an acyclic colouring but may use more colours (the lower bound in
the result shows how many more); on a dense row it would need a colour per vertex of
the row and time and memory quadratic in its length, so it is not used there.  The
substitution kernel runs as plain Python there, and is only needed for colourings that
are not star colourings.  Everything around the
kernels (symmetrising the pattern, edge bookkeeping, lower bounds, direct recovery,
validity checks) is vectorised numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Literal, NamedTuple

import numpy as np

from ._accel import Kernels
from ._coloring_sym_kernels import (
    _LIST_DEGREE, _acyclic_kernel, _clique_kernel, _direct_kernel, _graph_kernel,
    _star_kernel, _substitute_kernel,
)
from .coloring import _csr_structure, _resolve_order
from .coloring import _get_kernels as _order_kernels

if TYPE_CHECKING:  # pragma: no cover
    import scipy.sparse
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "SymmetricColoring", "acyclic_coloring", "decompress", "is_acyclic_coloring",
    "is_star_coloring", "seed_matrix", "star_coloring",
]

Method = Literal["star", "acyclic"]


@dataclass(frozen=True, eq=False)
class SymmetricColoring:
    """A star or acyclic colouring of the adjacency graph of a symmetric pattern.

    Attributes
    ----------
    colors : ndarray of int, shape (n,)
        ``colors[v]`` in ``range(ncolors)``.  Read-only.
    ncolors : int
        Colours = Hessian-vector products needed.
    lower_bound : int
        No colouring with the same property uses fewer colours (see :func:`lower_bound`).
    method : {"star", "acyclic"}
    order : str
        Vertex order used (as in :func:`dualtape.coloring.color_columns`), or
        ``"distance-2 (numpy, no numba)"`` for the vectorised stand-in.
    """

    colors: NDArray[np.intp]
    ncolors: int
    lower_bound: int
    method: Method
    order: str

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"SymmetricColoring(method={self.method!r}, ncolors={self.ncolors}, "
                f"lower_bound={self.lower_bound}, order={self.order!r}, "
                f"nvertices={self.colors.size})")


class _Graph(NamedTuple):
    """Adjacency of ``pattern | pattern.T`` without the diagonal, in canonical CSR;
    ``rows[p]`` is the row of entry ``p`` and ``rev[p]`` the position of the entry
    ``(j, i)`` for the entry ``p = (i, j)``."""

    n: int
    ptr: np.ndarray
    idx: np.ndarray
    rows: np.ndarray
    rev: np.ndarray


def _graph(pattern: Any) -> _Graph:
    s = _csr_structure(pattern)
    if s.m != s.n:
        raise ValueError(f"a Hessian pattern must be square, got shape {(s.m, s.n)}")
    indptr, indices = (np.ascontiguousarray(v, dtype=np.int64) for v in (s.indptr, s.indices))
    out = _graph_parts(s.n, indptr, indices)
    if out[0]:
        return _Graph(s.n, *out[1:])
    # not symmetric: the pattern of a symmetric matrix holds both halves, take the union
    import scipy.sparse as sp
    a = sp.csr_array((np.ones(indices.size, dtype=np.int8), indices, indptr),
                     shape=(s.n, s.n))
    a = (a + a.T).tocsr()
    a.sum_duplicates()
    out = _graph_parts(s.n, *(np.ascontiguousarray(v, dtype=np.int64)
                              for v in (a.indptr, a.indices)))
    assert out[0]
    return _Graph(s.n, *out[1:])


def _graph_parts(n: int, indptr: np.ndarray, indices: np.ndarray) -> tuple:
    if _compiled_ok("graph"):
        return _call("graph", indptr, indices)
    from ._coloring_vec import graph_parts
    return graph_parts(n, indptr, indices)


# ---- kernels (plain Python in _coloring_sym_kernels, compiled by numba on first use) ---
_SOURCES: dict[str, Callable[..., Any]] = {
    "graph": _graph_kernel,
    "clique": _clique_kernel,
    "star": _star_kernel, "acyclic": _acyclic_kernel, "substitute": _substitute_kernel,
    "direct": _direct_kernel,
}
_KERNELS = Kernels("dualtape.coloring_sym", _SOURCES)


#: Without numba, graphs up to this many steps of the greedy kernels still run them, as
#: plain Python, so small problems get the same colourings and lower bounds whether or
#: not numba is installed; larger ones take the vectorised stand-ins where those are
#: faster (see _greedy_ok).
_PYTHON_WORK = 200_000
#: What one Python step of the greedy kernels costs in element steps of the vectorised
#: distance-2 rounds (measured: about 1-2.5 us against 10-100 ns).
_PYTHON_STEP_COST = 100


def _compiled_ok(name: str) -> bool:
    """Whether kernel ``name`` runs compiled (numba imported and jitted it)."""
    return _KERNELS.backend() == "numba"


def _greedy_ok(g: _Graph, name: str) -> bool:
    """Whether to run the greedy kernel ``name`` on ``g``: compiled, or as Python when
    that is cheap or cheaper than the distance-2 colouring."""
    if _compiled_ok(name):
        return True
    deg = np.diff(g.ptr).astype(np.int64)
    if not deg.size:
        return True
    # Each coloured neighbour w of a vertex costs the greedy kernels its row (low
    # degree) or its list of colours (high degree, taken as _LIST_DEGREE long).  The
    # distance-2 rounds go over the graph of distance two (up to deg @ deg entries)
    # once per colour, and need more than the largest degree: a dense row makes them
    # quadratic in time and memory, with a colour per vertex of the row.
    greedy = int(deg @ np.minimum(deg, _LIST_DEGREE))
    rounds = int(deg.max()) + 1
    return greedy <= _PYTHON_WORK or _PYTHON_STEP_COST * greedy <= rounds * int(deg @ deg)


def _call(name: str, *args: Any) -> Any:
    return _KERNELS(name, *args)


# ---- lower bounds ------------------------------------------------------------------------
def lower_bound(pattern: Any, method: Method = "star") -> int:
    """A number of colours no star (acyclic) colouring of ``pattern`` can go below.

    The largest of: 1 if ``n > 0``; a clique (grown greedily around every vertex, so
    ``b + 1`` for a band of half-bandwidth ``b``), since a clique's vertices all differ;
    the forest bound: with ``k`` colours the edges between any two colour classes form
    a forest (a star forest for star colouring), so the graph has at most
    ``(k - 1) n - k (k - 1) / 2`` edges; and, for star colouring only, 3 if the graph
    has a path on four vertices (which must use three colours).  The maximum number
    of non-zeros in a row is *not* a bound here (an arrowhead has a full row and
    needs 2 star colours).
    """
    g = _graph(pattern)
    return _lower_bound(g, method)


def _lower_bound(g: _Graph, method: Method) -> int:
    n, nedges = g.n, g.idx.size // 2
    if n == 0:
        return 0
    if nedges == 0:
        return 1
    # smallest k with (k - 1) (n - k / 2) >= nedges: the root of the quadratic, then
    # exact integer steps around it
    disc = max((2 * n + 1) ** 2 - 8 * (n + nedges), 0)
    forest = max(2, int(np.ceil(((2 * n + 1) - np.sqrt(disc)) / 2)))
    while forest > 2 and 2 * (forest - 2) * n - (forest - 1) * (forest - 2) >= 2 * nedges:
        forest -= 1
    while 2 * (forest - 1) * n - forest * (forest - 1) < 2 * nedges:
        forest += 1
    bound = max(2, forest, _clique(g))
    if method == "star" and bound < 3 and _has_p4(g):
        bound = 3
    return bound


def _clique(g: _Graph) -> int:
    """Size of the largest clique found by growing one greedily around every vertex."""
    if not g.idx.size:
        return 1
    # without numba and on a large graph the greedy clique search would be a long
    # Python loop: 2 (any edge)
    return int(_call("clique", g.ptr, g.idx)) if _greedy_ok(g, "clique") else 2


def _has_p4(g: _Graph) -> bool:
    """Whether some edge {u, v} extends to a path a-u-v-b with a != b."""
    n, idx, rows = g.n, g.idx, g.rows
    deg = np.diff(g.ptr)
    du, dv = deg[rows] - 1, deg[idx] - 1
    ok = (du >= 1) & (dv >= 1)
    # usually the first edge with two inner ends already is one (unless it lies in a
    # triangle): decide it alone before the full test
    p = int(np.argmax(ok)) if ok.size else 0
    if not ok.size or not ok[p]:
        return False
    u, v = int(rows[p]), int(idx[p])
    if du[p] >= 2 or dv[p] >= 2:
        return True
    nu = idx[g.ptr[u]:g.ptr[u + 1]]
    nv = idx[g.ptr[v]:g.ptr[v + 1]]
    if int(nu[nu != v][0]) != int(nv[nv != u][0]):
        return True
    if np.any(ok & ((du >= 2) | (dv >= 2))):
        return True
    nbsum = np.bincount(rows, weights=idx, minlength=n).astype(np.int64)
    a, b = nbsum[rows] - idx, nbsum[idx] - rows          # the one other neighbour each
    return bool(np.any(ok & (a != b)))


# ---- colouring ---------------------------------------------------------------------------
def _color(pattern: Any, method: Method, order: Any, seed: Any) -> SymmetricColoring:
    return _color_graph(_graph(pattern), method, order, seed)


def _color_graph(g: _Graph, method: Method, order: Any, seed: Any) -> SymmetricColoring:
    if not _greedy_ok(g, method):
        from ._coloring_vec import distance2_coloring
        colors, ncolors = distance2_coloring(g.n, g.ptr, g.idx, seed if seed is not None else 0)
        colors = colors.astype(np.intp, copy=False)
        colors.flags.writeable = False
        return SymmetricColoring(colors, int(ncolors), _lower_bound(g, method), method,
                                 "distance-2 (numpy, no numba)")
    ident = np.arange(g.n + 1, dtype=np.int64)
    perm, name = _resolve_order(order, g.n, (g.ptr, g.idx, ident, ident[:-1]), seed,
                                _order_kernels())
    colors, ncolors = _call(method, np.ascontiguousarray(perm, dtype=np.int64),
                            g.ptr, g.idx, g.rev)
    colors = colors.astype(np.intp, copy=False)
    colors.flags.writeable = False
    return SymmetricColoring(colors, int(ncolors), _lower_bound(g, method), method, name)


def star_coloring(pattern: scipy.sparse.sparray | scipy.sparse.spmatrix | ArrayLike,
                  order: Any = "natural", *,
                  seed: int | np.random.Generator | None = None) -> SymmetricColoring:
    """Greedy star colouring of the adjacency graph of a symmetric pattern ``(n, n)``.

    ``pattern | pattern.T`` is coloured (the diagonal does not matter).  ``order`` as in
    :func:`dualtape.coloring.color_columns` ("natural", "largest_first",
    "smallest_last", "random" or a permutation), with degrees in the adjacency graph.
    Returns a :class:`SymmetricColoring` (``method="star"``): ``H`` follows from
    ``H @ seed_matrix(coloring)`` by direct recovery (:func:`decompress`).
    Cost ``O(nnz * ncolors)``.
    """
    return _color(pattern, "star", order, seed)


def acyclic_coloring(pattern: scipy.sparse.sparray | scipy.sparse.spmatrix | ArrayLike,
                     order: Any = "natural", *,
                     seed: int | np.random.Generator | None = None) -> SymmetricColoring:
    """Greedy acyclic colouring of the adjacency graph of a symmetric pattern ``(n, n)``.

    As :func:`star_coloring`, but two colour classes may span trees, not only stars:
    fewer colours, recovery by substitution.  Cost about ``nnz * max(ncolors, 32)``
    disjoint-set operations, each nearly constant: linear in the non-zeros, dense rows
    included.
    """
    return _color(pattern, "acyclic", order, seed)


# ---- checks and decompression ------------------------------------------------------------
def _colors_of(g: _Graph, colors: Any, ncolors: int | None = None) -> np.ndarray:
    colors = np.asarray(colors)
    if colors.shape != (g.n,) or (g.n and colors.dtype.kind not in "iu"):
        raise ValueError(f"colors must be integers of shape ({g.n},), got dtype "
                         f"{colors.dtype} and shape {colors.shape}")
    if g.n and (colors.min() < 0 or (ncolors is not None and colors.max() >= ncolors)):
        raise ValueError(f"colors must lie in range({ncolors})")
    return colors.astype(np.int64)


def _single_side(g: _Graph, colors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """For every entry p = (i, j): whether i has exactly one neighbour of colour
    colors[j], and the flat index i * k + colors[j] of that (vertex, colour) pair."""
    pair = g.rows * k + colors[g.idx]
    counts = np.bincount(pair, minlength=g.n * k)
    return counts[pair] == 1, pair


def _proper(g: _Graph, colors: np.ndarray) -> bool:
    return not np.any(colors[g.rows] == colors[g.idx])


def is_star_coloring(pattern: Any, colors: ArrayLike) -> bool:
    """Whether ``colors`` (shape ``(n,)``) is a star colouring of ``pattern | pattern.T``:
    proper, and every edge has an end with no other neighbour of the other end's
    colour (equivalent to: no path on four vertices with two colours).  Vectorised."""
    g = _graph(pattern)
    c = _colors_of(g, colors)
    if not _proper(g, c):
        return False
    k = int(c.max()) + 1 if g.n else 1
    one, _ = _single_side(g, c, k)
    return bool(np.all(one | one[g.rev]))


def is_acyclic_coloring(pattern: Any, colors: ArrayLike) -> bool:
    """Whether ``colors`` is an acyclic colouring of ``pattern | pattern.T``: proper, and
    every two-coloured subgraph is a forest, i.e. leaf peeling consumes every edge."""
    g = _graph(pattern)
    c = _colors_of(g, colors)
    if not _proper(g, c):
        return False
    k = int(c.max()) + 1 if g.n else 1
    _, done = _call("substitute", g.ptr, g.idx, g.rev, c, np.zeros((g.n, k)), k)
    return done == g.idx.size


def seed_matrix(coloring: SymmetricColoring, dtype: Any = np.float64) -> np.ndarray:
    """The seed ``S`` of shape ``(n, ncolors)``: ``S[j, c] = 1`` iff ``colors[j] == c``."""
    colors = np.asarray(coloring.colors)
    s = np.zeros((colors.size, coloring.ncolors), dtype=dtype)
    s[np.arange(colors.size), colors] = 1
    return s


def decompress(pattern: scipy.sparse.sparray | scipy.sparse.spmatrix | ArrayLike,
               coloring: SymmetricColoring, compressed: ArrayLike) -> scipy.sparse.csr_array:
    """The symmetric matrix ``H`` from ``compressed = H @ seed_matrix(coloring)``.

    Parameters
    ----------
    pattern : (n, n) pattern that was coloured (``pattern | pattern.T`` is used).
    coloring : from :func:`star_coloring` (direct recovery) or :func:`acyclic_coloring`
        (substitution).
    compressed : array of shape ``(n, ncolors)``.

    Returns
    -------
    scipy.sparse.csr_array of shape (n, n), canonical, with entries at exactly the
    positions of ``pattern | pattern.T`` plus the diagonal, and exactly symmetric.
    Raises ``ValueError`` if the colouring does not allow the recovery it claims (so a
    wrong colouring never yields a wrong matrix).
    """
    return _decompress_graph(_graph(pattern), coloring, compressed)


def _decompress_graph(g: _Graph, coloring: SymmetricColoring,
                      compressed: ArrayLike) -> scipy.sparse.csr_array:
    k = coloring.ncolors
    c = _colors_of(g, coloring.colors, k)
    b = np.asarray(compressed)
    if b.shape != (g.n, k):
        raise ValueError(f"compressed must have shape {(g.n, k)}, got {b.shape}")
    if not np.issubdtype(b.dtype, np.inexact):
        b = b.astype(np.float64)
    if not _proper(g, c):
        raise ValueError("decompress: the colouring is not proper (two adjacent vertices "
                         "share a colour); colour the pattern with star_coloring")
    if coloring.method == "star" and _compiled_ok("direct"):
        data, indices, indptr, ok = _call("direct", g.ptr, g.idx, g.rev, c,
                                          np.ascontiguousarray(b))
        if not ok:
            raise ValueError(_NOT_STAR)
        return _csr(data, indices, indptr, g.n)
    one, pair = _single_side(g, c, k)
    direct = bool(np.all(one | one[g.rev]))
    if coloring.method == "star" or (coloring.method == "acyclic" and direct):
        # an acyclic colouring that happens to be a star colouring reads every entry
        # directly: no subtractions, no rounding they would add
        if not direct:
            raise ValueError(_NOT_STAR)
        flat = b.reshape(-1)
        vals = np.where(one, flat[pair], flat[pair[g.rev]])
        # both halves from one read, so H is symmetric bit for bit
        vals = np.where(np.arange(vals.size) <= g.rev, vals, vals[g.rev])
    elif coloring.method == "acyclic":
        vals, done = _call("substitute", g.ptr, g.idx, g.rev, c, np.ascontiguousarray(b), k)
        if done != g.idx.size:
            raise ValueError("decompress: not an acyclic colouring of this pattern (a "
                             "two-coloured cycle blocks substitution); use "
                             "acyclic_coloring")
    else:
        raise ValueError(f"unknown method {coloring.method!r}")
    # insert the diagonal into each (sorted) row: entry p moves right by its row
    # number, plus one if it lies right of the diagonal
    n, nnz = g.n, g.idx.size
    right = g.idx > g.rows
    data = np.empty(nnz + n, dtype=np.result_type(b.dtype, vals.dtype))
    indices = np.empty(nnz + n, dtype=np.int64)
    pos = np.arange(nnz, dtype=np.int64) + g.rows + right
    data[pos] = vals
    indices[pos] = g.idx
    left = np.bincount(g.rows[~right], minlength=n)
    dpos = g.ptr[:-1] + np.arange(n, dtype=np.int64) + left
    data[dpos] = b[np.arange(n), c] if n else 0
    indices[dpos] = np.arange(n, dtype=np.int64)
    return _csr(data, indices, g.ptr + np.arange(n + 1, dtype=np.int64), n)


_NOT_STAR = ("decompress: not a star colouring of this pattern (an edge has no end that "
             "reads it directly); use star_coloring or method 'acyclic'")


def _csr(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
         n: int) -> scipy.sparse.csr_array:
    """The (n, n) csr_array of canonical parts (sorted rows, no duplicates), built
    without scipy's O(nnz) format checks."""
    import scipy.sparse as sp
    out = sp.csr_array((n, n), dtype=data.dtype)
    out.data, out.indices, out.indptr = data, indices, indptr
    out.has_sorted_indices = True
    out.has_canonical_format = True
    return out
