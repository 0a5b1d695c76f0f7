"""Tests for dualtape.coloring_sym: star and acyclic colourings of symmetric patterns,
checked against their definitions by brute force (paths on four vertices; forests per
pair of colours), colour counts on known structures against optima found by
exhaustive search or construction, and exact decompression of compressed products."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import connected_components

from dualtape import coloring_sym as S
from dualtape._accel import Kernels
from dualtape.coloring_sym import (
    SymmetricColoring, acyclic_coloring, decompress, is_acyclic_coloring,
    is_star_coloring, seed_matrix, star_coloring,
)

ORDERS = ["natural", "largest_first", "smallest_last", "random"]
COLOR = {"star": star_coloring, "acyclic": acyclic_coloring}


# ---- patterns ------------------------------------------------------------------------
def band(n: int, b: int) -> sp.csr_array:
    offs = list(range(-b, b + 1))
    return sp.diags_array([np.ones(n - abs(k)) for k in offs], offsets=offs, shape=(n, n),
                          format="csr")


def arrowhead(n: int) -> sp.csr_array:
    rows = np.concatenate([np.zeros(n, int), np.arange(n), np.arange(n)])
    cols = np.concatenate([np.arange(n), np.zeros(n, int), np.arange(n)])
    a = sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(n, n))
    a.sum_duplicates()
    return a


def stencil(nx: int, ny: int) -> sp.csr_array:
    """Five-point stencil pattern on an nx x ny grid (C order)."""
    t = band(nx, 1)
    u = band(ny, 1)
    return (sp.kron(t, sp.eye_array(ny)) + sp.kron(sp.eye_array(nx), u)).tocsr()


# ---- definitions, by brute force -----------------------------------------------------
def adjacency(p: np.ndarray) -> list[list[int]]:
    q = (p != 0) | (p.T != 0)
    return [[j for j in range(q.shape[0]) if j != i and q[i, j]] for i in range(q.shape[0])]


def brute_star(p: np.ndarray, colors: np.ndarray) -> bool:
    """Proper, and no path a-b-c-d on four distinct vertices with only two colours."""
    adj = adjacency(p)
    for b, nb in enumerate(adj):
        for c in nb:
            if colors[b] == colors[c]:
                return False
            for a in nb:
                for d in adj[c]:
                    if len({a, b, c, d}) == 4 and colors[a] == colors[c] \
                            and colors[b] == colors[d]:
                        return False
    return True


def brute_acyclic(p: np.ndarray, colors: np.ndarray) -> bool:
    """Proper, and every pair of colour classes induces a forest (edges = vertices -
    components)."""
    q = ((p != 0) | (p.T != 0)).astype(int)
    np.fill_diagonal(q, 0)
    if np.any(q & (colors[:, None] == colors[None, :])):
        return False
    for a, b in itertools.combinations(np.unique(colors), 2):
        keep = np.nonzero((colors == a) | (colors == b))[0]
        sub = q[np.ix_(keep, keep)]
        ncomp, _ = connected_components(sp.csr_array(sub), directed=False)
        if sub.sum() // 2 != keep.size - ncomp:
            return False
    return True


def random_symmetric(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    q = (p != 0) | (p.T != 0)
    np.fill_diagonal(q, True)
    v = rng.standard_normal(q.shape) + 2.0
    return np.where(q, v + v.T, 0.0)


def check_decompression(p: Any, col: SymmetricColoring, rng: np.random.Generator,
                        rtol: float = 0.0) -> None:
    dense = p.toarray() if sp.issparse(p) else np.asarray(p)
    h = random_symmetric(dense, rng)
    got = decompress(p, col, h @ seed_matrix(col))
    assert isinstance(got, sp.csr_array) and got.has_canonical_format
    g = got.toarray()
    np.testing.assert_array_equal(g, g.T)                    # exactly symmetric
    if rtol == 0.0:
        np.testing.assert_array_equal(g, h)
    else:
        np.testing.assert_allclose(g, h, rtol=rtol, atol=rtol * np.abs(h).max())


# ---- known structures ----------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3, 7, 100, 100_000])
@pytest.mark.parametrize("order", ["natural", "largest_first", "smallest_last"])
def test_arrowhead_two_star_colours(n: int, order: str) -> None:
    p = arrowhead(n)
    col = star_coloring(p, order=order)
    assert col.ncolors == 2 and col.lower_bound == 2
    if n <= 100:
        assert brute_star(p.toarray(), np.asarray(col.colors))
        check_decompression(p, col, np.random.default_rng(n))


@pytest.mark.parametrize("n", [4, 5, 50, 1000])
def test_tridiagonal(n: int) -> None:
    p = band(n, 1)
    star, acyc = star_coloring(p), acyclic_coloring(p)
    assert star.ncolors <= 3 and acyc.ncolors <= 2
    assert star.lower_bound == 3 and acyc.lower_bound == 2     # a path: 3 star, 2 acyclic
    dense = p.toarray()
    if n <= 50:
        assert brute_star(dense, np.asarray(star.colors))
        assert brute_acyclic(dense, np.asarray(acyc.colors))
    rng = np.random.default_rng(0)
    check_decompression(p, star, rng)
    check_decompression(p, acyc, rng, rtol=1e-12)


def exhaustive_star_optimum(p: np.ndarray, kmax: int) -> int:
    """Fewest star colours, by backtracking over colourings with pruning."""
    adj = adjacency(p)
    n = len(adj)
    colors = np.full(n, -1)

    def fine() -> bool:
        for b, nb in enumerate(adj):
            for c in nb:
                if colors[b] < 0 or colors[c] < 0:
                    continue
                if colors[b] == colors[c]:
                    return False
                for a in nb:
                    for d in adj[c]:
                        if len({a, b, c, d}) == 4 and min(colors[a], colors[d]) >= 0 \
                                and colors[a] == colors[c] and colors[b] == colors[d]:
                            return False
        return True

    def extend(v: int, k: int) -> bool:
        if v == n:
            return True
        for c in range(min(k, colors[:v].max(initial=-1) + 2)):
            colors[v] = c
            if fine() and extend(v + 1, k):
                return True
        colors[v] = -1
        return False
    for k in range(1, kmax + 1):
        if extend(0, k):
            return k
    raise AssertionError("no colouring found")


@pytest.mark.parametrize("b", [1, 2])
def test_banded_small_against_exhaustive_optimum(b: int) -> None:
    p = band(8, b)
    opt = exhaustive_star_optimum(p.toarray(), 2 * b + 1)
    assert opt == 2 * b + 1
    assert star_coloring(p).ncolors == opt
    # acyclic: b + 1 is the clique size, and i mod (b + 1) is acyclic, so optimal
    assert brute_acyclic(p.toarray(), np.arange(8) % (b + 1))
    assert acyclic_coloring(p).ncolors == b + 1


@pytest.mark.parametrize("b", [1, 2, 3, 5])
def test_banded_large(b: int) -> None:
    n = 400
    p = band(n, b)
    star, acyc = star_coloring(p), acyclic_coloring(p)
    assert star.ncolors == 2 * b + 1        # the optimum of a long band (exhaustive above)
    assert acyc.ncolors == acyc.lower_bound == b + 1
    assert star.lower_bound >= b + 1
    rng = np.random.default_rng(b)
    check_decompression(p, star, rng)
    check_decompression(p, acyc, rng, rtol=1e-10)


def test_five_point_stencil() -> None:
    p = stencil(12, 9)
    dense = p.toarray()
    for method, fn in COLOR.items():
        col = fn(p, order="smallest_last")
        assert col.lower_bound == 3 <= col.ncolors
        assert (brute_star if method == "star" else brute_acyclic)(dense, np.asarray(col.colors))
        check_decompression(p, col, np.random.default_rng(1),
                            rtol=0.0 if method == "star" else 1e-12)
    assert star_coloring(p, order="smallest_last").ncolors <= 6
    assert acyclic_coloring(p, order="smallest_last").ncolors <= 4


def test_tridiagonal_million_is_fast() -> None:
    import time
    pytest.importorskip("numba")   # without it, large graphs take the distance-2 colouring
    p = band(10**6, 1)
    star_coloring(band(10, 1))     # compile outside the timing
    t = time.perf_counter()
    col = star_coloring(p)
    took = time.perf_counter() - t
    assert col.ncolors == 3
    assert took < 3.0, took        # typically ~0.3 s; generous for a loaded machine


# ---- random patterns -----------------------------------------------------------------
@st.composite
def symmetric_patterns(draw: Any) -> np.ndarray:
    n = draw(st.integers(1, 11))
    density = draw(st.floats(0.0, 0.8))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    upper = np.triu(rng.random((n, n)) < density, 1)
    p = upper | upper.T
    if draw(st.booleans()):
        np.fill_diagonal(p, True)
    if draw(st.booleans()):        # one half only: the union is coloured
        p = np.triu(p)
    return p


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(symmetric_patterns(), st.sampled_from(ORDERS), st.sampled_from(["star", "acyclic"]),
       st.integers(0, 1000))
def test_random_patterns_valid_and_exact(p: np.ndarray, order: str, method: str,
                                         seed: int) -> None:
    col = COLOR[method](sp.csr_array(p), order=order, seed=seed)
    colors = np.asarray(col.colors)
    assert colors.shape == (p.shape[0],) and col.ncolors == (colors.max() + 1)
    assert col.lower_bound <= col.ncolors
    brute = brute_star if method == "star" else brute_acyclic
    assert brute(p, colors)
    assert (is_star_coloring if method == "star" else is_acyclic_coloring)(p, colors)
    check_decompression(sp.csr_array(p), col, np.random.default_rng(seed),
                        rtol=0.0 if method == "star" else 1e-10)


@settings(max_examples=80, deadline=None)
@given(symmetric_patterns(), st.integers(0, 1000))
def test_validators_agree_with_definitions(p: np.ndarray, seed: int) -> None:
    n = p.shape[0]
    colors = np.random.default_rng(seed).integers(0, max(1, n // 2 + 1), n)
    assert is_star_coloring(p, colors) == brute_star(p, colors)
    assert is_acyclic_coloring(p, colors) == brute_acyclic(p, colors)


@settings(max_examples=60, deadline=None)
@given(symmetric_patterns())
def test_lower_bound_never_above_exhaustive_optimum(p: np.ndarray) -> None:
    if p.shape[0] > 7:
        p = p[:7, :7]
    opt = exhaustive_star_optimum(p, p.shape[0])
    assert S.lower_bound(p, "star") <= opt
    assert S.lower_bound(p, "acyclic") <= opt


def brute_has_p4(p: np.ndarray) -> bool:
    adj = adjacency(p)
    return any(len({a, b, c, d}) == 4 for b, nb in enumerate(adj) for c in nb
               for a in nb for d in adj[c])


@settings(max_examples=80, deadline=None)
@given(symmetric_patterns())
def test_path_on_four_vertices_found_exactly_when_there_is_one(p: np.ndarray) -> None:
    assert S._has_p4(S._graph(p)) == brute_has_p4(p)


@pytest.mark.parametrize("edges, expected", [
    ([(0, 1), (1, 2), (0, 2)], False),                 # a triangle
    ([(0, 1), (1, 2), (0, 2), (3, 4), (4, 5)], False),  # triangle and a 3-vertex star
    ([(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (5, 6)], True),  # the first edge is in a triangle
    ([(0, 1), (1, 2), (0, 2), (2, 3)], True),           # a pendant on a triangle
    ([(0, 1), (0, 2), (0, 3)], False),                 # a star
])
def test_path_on_four_vertices_on_small_graphs(edges: list, expected: bool) -> None:
    n = 1 + max(max(e) for e in edges)
    p = np.zeros((n, n), dtype=bool)
    for i, j in edges:
        p[i, j] = p[j, i] = True
    assert S._has_p4(S._graph(p)) is expected
    if expected:
        assert S.lower_bound(p, "star") >= 3


# ---- errors and edge cases -----------------------------------------------------------
def test_wrong_colouring_is_refused() -> None:
    p = band(6, 1)
    acyc = acyclic_coloring(p)
    fake = SymmetricColoring(acyc.colors, acyc.ncolors, 0, "star", "natural")
    with pytest.raises(ValueError, match="not a star colouring"):
        decompress(p, fake, np.zeros((6, 2)))
    cycle = band(4, 1).tolil()
    cycle[0, 3] = cycle[3, 0] = 1
    two = SymmetricColoring(np.array([0, 1, 0, 1]), 2, 0, "acyclic", "natural")
    with pytest.raises(ValueError, match="not an acyclic colouring"):
        decompress(cycle, two, np.zeros((4, 2)))
    same = SymmetricColoring(np.zeros(6, dtype=np.intp), 1, 0, "star", "natural")
    with pytest.raises(ValueError, match="not proper"):
        decompress(p, same, np.zeros((6, 1)))
    with pytest.raises(ValueError, match="shape"):
        decompress(p, acyc, np.zeros((6, 3)))
    with pytest.raises(ValueError, match="square"):
        star_coloring(np.ones((2, 3)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(symmetric_patterns(), st.sampled_from(ORDERS), st.integers(0, 1000))
def test_compiled_and_vectorised_direct_recovery_agree_bit_for_bit(
        p: np.ndarray, order: str, seed: int) -> None:
    col = star_coloring(p, order, seed=seed)
    rng = np.random.default_rng(seed)
    b = random_symmetric(p, rng) @ seed_matrix(col)
    real = S._compiled_ok
    compiled = decompress(p, col, b)
    try:
        S._compiled_ok = lambda name: name != "direct" and real(name)
        vectorised = decompress(p, col, b)
    finally:
        S._compiled_ok = real
    for part in ("data", "indices", "indptr"):
        np.testing.assert_array_equal(getattr(compiled, part), getattr(vectorised, part))
    # a colouring that is proper but not star is refused by both
    acyc = acyclic_coloring(band(6, 1))
    fake = SymmetricColoring(acyc.colors, acyc.ncolors, 0, "star", "natural")
    for ok in (real, lambda name: name != "direct" and real(name)):
        S._compiled_ok = ok
        try:
            with pytest.raises(ValueError, match="not a star colouring"):
                decompress(band(6, 1), fake, np.zeros((6, 2)))
        finally:
            S._compiled_ok = real


def test_empty_and_diagonal() -> None:
    for fn in COLOR.values():
        empty = fn(sp.csr_array((0, 0)))
        assert empty.ncolors == 0 and empty.lower_bound == 0
        assert decompress(sp.csr_array((0, 0)), empty, np.zeros((0, 0))).shape == (0, 0)
        diag = fn(sp.eye_array(5, format="csr"))
        assert diag.ncolors == 1 == diag.lower_bound
        d = decompress(sp.eye_array(5), diag, np.arange(5.0)[:, None])
        np.testing.assert_array_equal(d.toarray(), np.diag(np.arange(5.0)))


def test_plain_python_kernels_match_compiled() -> None:
    g = S._graph(stencil(5, 4))
    perm = np.arange(g.n, dtype=np.int64)
    for name in ("star", "acyclic"):
        c1, k1 = S._call(name, perm, g.ptr, g.idx, g.rev)
        c2, k2 = S._SOURCES[name](perm, g.ptr, g.idx, g.rev)
        np.testing.assert_array_equal(c1, c2)
        assert k1 == k2
    assert S._SOURCES["clique"](g.ptr, g.idx) == S._call("clique", g.ptr, g.idx)
    c, _ = S._call("star", perm, g.ptr, g.idx, g.rev)
    b = np.random.default_rng(0).standard_normal((g.n, int(c.max()) + 1))
    for a, z in zip(S._SOURCES["direct"](g.ptr, g.idx, g.rev, c, b),
                    S._call("direct", g.ptr, g.idx, g.rev, c, b)):
        np.testing.assert_array_equal(a, z)
    ok, *parts = S._SOURCES["graph"](np.asarray(stencil(5, 4).indptr, dtype=np.int64),
                                     np.asarray(stencil(5, 4).indices, dtype=np.int64))
    assert ok
    for a, b in zip(parts, g[1:]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("seed", range(4))
def test_colours_stay_below_the_degree_bound_the_kernels_size_their_arrays_by(seed) -> None:
    # the kernels keep per-colour arrays of D^2 + D + 2 entries (D the largest degree),
    # not n: on sparse graphs of small degree in random orders, colourings stay valid,
    # within that bound, and equal to the kernels run as plain Python (where numpy
    # checks every index, so an array too short would raise instead of being overrun)
    rng = np.random.default_rng(seed)
    n = 600
    a = rng.integers(0, n, 900)
    b = (a + rng.integers(1, n, 900)) % n
    p = sp.csr_array((np.ones(900), (a, b)), shape=(n, n))
    p = ((p + p.T) > 0).astype(float)
    g = S._graph(p)
    deg = int(np.diff(g.ptr).max())
    perm = rng.permutation(n).astype(np.int64)
    for name, bound in (("star", deg * deg + deg), ("acyclic", deg * deg)):
        c1, k1 = S._call(name, perm, g.ptr, g.idx, g.rev)
        c2, k2 = S._SOURCES[name](perm, g.ptr, g.idx, g.rev)
        np.testing.assert_array_equal(c1, c2)
        assert k1 == k2 <= bound + 1 < n
    dense = p.toarray() != 0
    assert brute_star(dense, S._call("star", perm, g.ptr, g.idx, g.rev)[0])
    assert brute_acyclic(dense, S._call("acyclic", perm, g.ptr, g.idx, g.rev)[0])


@pytest.mark.parametrize("p", [stencil(7, 6), arrowhead(40)])
def test_without_numba_small_graphs_get_the_greedy_colourings(p, monkeypatch) -> None:
    compiled = [(c.colors, c.ncolors, c.lower_bound) for c in (star_coloring(p),
                                                                acyclic_coloring(p))]
    monkeypatch.setattr(S, "_KERNELS", Kernels("test", S._SOURCES))
    S._KERNELS.use("python")                                    # as if numba were absent
    plain = [(c.colors, c.ncolors, c.lower_bound, c.order) for c in (star_coloring(p),
                                                                    acyclic_coloring(p))]
    for (c1, k1, b1), (c2, k2, b2, order) in zip(compiled, plain):
        np.testing.assert_array_equal(c1, c2)
        assert (k1, b1, order) == (k2, b2, "natural")


def test_without_numba_dense_rows_get_the_greedy_colourings(monkeypatch) -> None:
    # the distance-2 rounds would give the arrowhead a colour per vertex, in time and
    # memory quadratic in n; the greedy kernels as Python take a few ms per 1000 rows
    p = arrowhead(3000)
    compiled = [(c.colors, c.ncolors, c.lower_bound) for c in (star_coloring(p),
                                                                acyclic_coloring(p))]
    monkeypatch.setattr(S, "_KERNELS", Kernels("test", S._SOURCES))
    S._KERNELS.use("python")
    plain = [star_coloring(p), acyclic_coloring(p)]
    for (c1, k1, b1), col in zip(compiled, plain):
        np.testing.assert_array_equal(c1, col.colors)
        assert (k1, b1, col.order) == (2, 2, "natural") and col.ncolors == 2
    # a long band of low degree still takes the vectorised colouring
    assert star_coloring(band(200_000, 1)).order.startswith("distance-2")


@pytest.mark.parametrize("p", [stencil(7, 6), band(300, 2), arrowhead(40),
                               sp.csr_array(np.triu(np.ones((5, 5))))])
def test_without_numba_vectorised_distance2(p, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled_graph = S._graph(p)
    monkeypatch.setattr(S, "_KERNELS", Kernels("test", S._SOURCES))
    S._KERNELS.use("python")                                    # as if numba were absent
    monkeypatch.setattr(S, "_PYTHON_WORK", 0)                  # and the graph were large
    monkeypatch.setattr(S, "_PYTHON_STEP_COST", np.inf)        # (dense rows included)
    g = S._graph(p)
    for a, b in zip(g[1:], compiled_graph[1:]):
        np.testing.assert_array_equal(a, b)
    dense = p.toarray()
    for fn in COLOR.values():
        col = fn(p)
        assert col.order.startswith("distance-2")
        colors = np.asarray(col.colors)
        assert brute_star(dense, colors) and brute_acyclic(dense, colors)
        assert col.lower_bound <= col.ncolors
        check_decompression(p, col, np.random.default_rng(0))   # direct: exact either way


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(symmetric_patterns(), st.integers(0, 1000))
def test_acyclic_trees_listed_or_scanned_give_one_colouring(p: np.ndarray, seed: int) -> None:
    # Around a vertex of high degree the acyclic kernel reads its list of two-coloured
    # trees, around one of low degree its adjacency row: with every vertex listed (the
    # threshold at 0) the colouring must be the one the row scans give.
    from dualtape import _coloring_sym_kernels as K
    g = S._graph(sp.csr_array(p))
    perm = np.random.default_rng(seed).permutation(g.n).astype(np.int64)
    scanned = K._acyclic_kernel(perm, g.ptr, g.idx, g.rev)
    saved, K._LIST_DEGREE = K._LIST_DEGREE, 0
    try:
        listed = K._acyclic_kernel(perm, g.ptr, g.idx, g.rev)
    finally:
        K._LIST_DEGREE = saved
    np.testing.assert_array_equal(listed[0], scanned[0])
    assert listed[1] == scanned[1]
    assert brute_acyclic(p | p.T, listed[0])


@pytest.mark.parametrize("n", [40, 100_000])
def test_arrowhead_acyclic_two_colours_in_linear_work(n: int) -> None:
    # the hub is listed, so its leaves look at its one tree, not its n - 1 edges
    # (colouring them by scanning the hub's row took a second at n = 10**4)
    p = arrowhead(n)
    col = acyclic_coloring(p)
    assert col.ncolors == 2 and col.lower_bound == 2
    assert is_acyclic_coloring(p, col.colors)
    if n <= 100:
        assert brute_acyclic(p.toarray() != 0, np.asarray(col.colors))
        check_decompression(p, col, np.random.default_rng(n), rtol=1e-12)
