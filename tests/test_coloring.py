"""Tests for dualtape.coloring: exact colour counts on structured patterns, validity and
greedy bounds on random patterns (checked by brute force, independently of
``is_valid``), exact decompression, orderings, edge cases and the pure-Python path."""

from __future__ import annotations

import dataclasses
import pathlib
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dualtape import coloring as C
from dualtape.coloring import (
    Coloring, color_columns, color_rows, decompress, is_valid, seed_matrix,
)

ORDERS = ["natural", "largest_first", "smallest_last"]
COLOR = {"column": color_columns, "row": color_rows}


# ---- helpers ---------------------------------------------------------------------------
def tridiagonal(n: int) -> sp.csr_array:
    ones = np.ones(n)
    return sp.diags_array([ones[:-1], ones, ones[:-1]], offsets=[-1, 0, 1], shape=(n, n),
                          format="csr")


def conflict_graph(p: np.ndarray, kind: str) -> np.ndarray:
    """Dense adjacency of the column- (row-) intersection graph, by brute force."""
    q = p.astype(np.int64)
    g = (q.T @ q if kind == "column" else q @ q.T) > 0
    np.fill_diagonal(g, False)
    return g


def brute_force_valid(p: np.ndarray, colors: np.ndarray, kind: str) -> bool:
    """No two distinct vertices of equal colour share a row (column) — pairwise."""
    q = p if kind == "column" else p.T
    nv = q.shape[1]
    for j in range(nv):
        for k in range(j + 1, nv):
            if colors[j] == colors[k] and np.any(q[:, j] & q[:, k]):
                return False
    return True


def random_jacobian(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    vals = rng.standard_normal(p.shape)
    vals[vals == 0] = 1.0
    return np.where(p, vals, 0.0)


def compress(jac: np.ndarray, col: Coloring) -> np.ndarray:
    s = seed_matrix(col)
    return jac @ s if col.kind == "column" else s @ jac


# ---- structured patterns ---------------------------------------------------------------
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("kind", ["column", "row"])
def test_tridiagonal_needs_three_colours(kind, order):
    p = tridiagonal(50)
    col = COLOR[kind](p, order)
    assert (col.ncolors, col.lower_bound, col.kind, col.order) == (3, 3, kind, order)
    assert col.colors.shape == (50,)
    assert is_valid(p, col)
    assert brute_force_valid(p.toarray() != 0, col.colors, kind)


def test_tridiagonal_natural_colours_are_index_mod_3():
    col = color_columns(tridiagonal(10), "natural")
    np.testing.assert_array_equal(col.colors, np.arange(10) % 3)


@pytest.mark.parametrize("order", ORDERS)
def test_arrowhead_dense_row(order):
    n = 30
    p = sp.lil_array((n, n))
    p[0, :] = 1
    p.setdiag(1)
    cols, rows = color_columns(p, order), color_rows(p, order)
    assert (cols.ncolors, cols.lower_bound) == (n, n)  # every column meets row 0
    assert (rows.ncolors, rows.lower_bound) == (2, 2)  # row 0 against all the rest
    assert is_valid(p, cols) and is_valid(p, rows)


@pytest.mark.parametrize("order", ORDERS)
def test_arrowhead_dense_first_column(order):
    n = 30
    p = sp.lil_array((n, n))
    p[:, 0] = 1
    p.setdiag(1)
    cols, rows = color_columns(p, order), color_rows(p, order)
    assert (cols.ncolors, cols.lower_bound) == (2, 2)
    assert (rows.ncolors, rows.lower_bound) == (n, n)
    assert is_valid(p, cols) and is_valid(p, rows)


@pytest.mark.parametrize("order", ORDERS)
def test_full_arrowhead_needs_n_both_ways(order):
    n = 12
    p = np.eye(n, dtype=bool)
    p[0, :] = p[:, 0] = True
    assert color_columns(p, order).ncolors == n
    assert color_rows(p, order).ncolors == n


@pytest.mark.parametrize("shape", [(1, 1), (7, 7), (5, 9), (9, 5)])
@pytest.mark.parametrize("kind", ["column", "row"])
def test_diagonal_needs_one_colour(shape, kind):
    p = sp.eye_array(*shape, format="csc")
    col = COLOR[kind](p)
    assert (col.ncolors, col.lower_bound) == (1, 1)
    assert np.all(col.colors == 0)


@pytest.mark.parametrize("order", ["natural", "largest_first", "smallest_last"])
@pytest.mark.parametrize("kind", ["column", "row"])
@pytest.mark.parametrize("batch,d", [(1, 4), (5, 3), (20, 7)])
def test_block_diagonal_needs_block_size_colours(batch, d, kind, order):
    p = sp.block_diag([np.ones((d, d))] * batch, format="csr")
    col = COLOR[kind](p, order)
    assert (col.ncolors, col.lower_bound) == (d, d)
    assert is_valid(p, col)
    if order == "natural":
        np.testing.assert_array_equal(col.colors, np.arange(batch * d) % d)


def test_empty_rows_and_columns_and_zero_sizes():
    p = sp.csr_array((4, 6))
    for f in (color_columns, color_rows):
        col = f(p)
        assert col.ncolors == 1 and col.lower_bound == 0 and np.all(col.colors == 0)
    for shape in [(0, 0), (0, 5), (5, 0)]:
        p = sp.csr_array(shape)
        cc, rc = color_columns(p), color_rows(p)
        assert cc.colors.shape == (shape[1],) and rc.colors.shape == (shape[0],)
        assert cc.ncolors == min(shape[1], 1) and rc.ncolors == min(shape[0], 1)
        assert seed_matrix(cc).shape == (shape[1], cc.ncolors)
        assert decompress(p, cc, np.zeros((shape[0], cc.ncolors))).shape == shape
        assert is_valid(p, cc) and is_valid(p, rc)


# ---- random patterns (hypothesis) ------------------------------------------------------
@st.composite
def patterns(draw):
    """(sparse pattern in a random format, dense boolean reference)."""
    m = draw(st.integers(0, 40))
    n = draw(st.integers(0, 40))
    density = draw(st.floats(0.0, 1.0))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dense = rng.random((m, n)) < density
    fmt = draw(st.sampled_from(["csr", "csc", "coo", "coo_dup", "csr_matrix", "lil",
                                "dense"]))
    i, j = np.nonzero(dense)
    if fmt == "dense":
        return dense.astype(np.float32), dense
    if fmt == "coo_dup":  # duplicates and explicit zeros are still structural entries
        k = rng.integers(0, i.size + 1)
        i, j = np.concatenate([i, i[:k]]), np.concatenate([j, j[:k]])
        data = rng.integers(-1, 2, size=i.size).astype(float)  # many zeros, some sums 0
        return sp.coo_array((data, (i, j)), shape=(m, n)), dense
    a = sp.coo_array((np.ones(i.size, dtype=bool), (i, j)), shape=(m, n))
    if fmt == "csr_matrix":
        return sp.csr_matrix(a), dense
    return a.asformat(fmt), dense


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pd=patterns(), kind=st.sampled_from(["column", "row"]),
       order=st.sampled_from(["natural", "largest_first", "smallest_last", "random"]))
def test_random_patterns_valid_and_within_greedy_bounds(pd, kind, order):
    p, dense = pd
    col = COLOR[kind](p, order, seed=0)
    nv = dense.shape[1] if kind == "column" else dense.shape[0]
    assert col.kind == kind and col.order == order
    assert col.colors.shape == (nv,) and col.colors.dtype.kind == "i"
    assert col.ncolors == (int(col.colors.max()) + 1 if nv else 0)
    assert np.all(col.colors >= 0)
    assert brute_force_valid(dense, col.colors, kind)
    assert is_valid(p, col)

    counts = dense.sum(axis=1 if kind == "column" else 0)
    assert col.lower_bound == (int(counts.max()) if counts.size else 0)
    assert col.ncolors >= col.lower_bound
    degree = conflict_graph(dense, kind).sum(axis=1)
    assert col.ncolors <= (int(degree.max()) + 1 if nv else 0)


@settings(max_examples=100, deadline=None)
@given(pd=patterns(), kind=st.sampled_from(["column", "row"]),
       order=st.sampled_from(["natural", "largest_first"]), seed=st.integers(0, 2**31))
def test_decompress_recovers_jacobian_exactly(pd, kind, order, seed):
    p, dense = pd
    rng = np.random.default_rng(seed)
    col = COLOR[kind](p, order)
    jac = random_jacobian(dense, rng)
    s = seed_matrix(col)
    expected_seed_shape = ((dense.shape[1], col.ncolors) if kind == "column"
                           else (col.ncolors, dense.shape[0]))
    assert s.shape == expected_seed_shape
    assert np.all(s.sum(axis=1 if kind == "column" else 0) == 1)
    out = decompress(p, col, compress(jac, col))
    assert isinstance(out, sp.csr_array) and out.shape == dense.shape
    assert out.dtype == np.float64
    assert out.has_canonical_format
    for r in range(out.shape[0]):
        row = out.indices[out.indptr[r]:out.indptr[r + 1]]
        assert np.all(np.diff(row) > 0)
    assert out.nnz == dense.sum()  # structural: exactly the pattern's positions
    assert np.array_equal(out.toarray(), jac)


@settings(max_examples=100, deadline=None)
@given(pd=patterns(), kind=st.sampled_from(["column", "row"]), data=st.data())
def test_is_valid_rejects_merged_conflicting_colours(pd, kind, data):
    p, dense = pd
    col = COLOR[kind](p, "natural")
    colors = col.colors.copy()
    g = conflict_graph(dense, kind)
    if g.any():  # recolour one endpoint of a conflict edge with the other's colour
        a, b = np.argwhere(g)[data.draw(st.integers(0, int(g.sum()) - 1))]
        colors[b] = colors[a]
    bad = dataclasses.replace(col, colors=colors)
    assert is_valid(p, bad) == brute_force_valid(dense, colors, kind)
    assert is_valid(p, bad) == (not g.any())


# ---- orderings -------------------------------------------------------------------------
def _random_dense(seed, m=25, n=30, density=0.15):
    return np.random.default_rng(seed).random((m, n)) < density


def _order(dense, name, kind="column"):
    s = C._csr_structure(sp.csr_array(dense))
    vert, net = (C._transpose(s), s) if kind == "column" else (s, C._transpose(s))
    adj = tuple(C._common_index_dtype(vert.indptr, vert.indices, net.indptr, net.indices))
    perm, _ = C._resolve_order(name, vert.m, adj, None, C._get_kernels())
    return perm


@pytest.mark.parametrize("kind", ["column", "row"])
@pytest.mark.parametrize("seed", range(8))
def test_largest_first_is_decreasing_exact_degree_ties_by_index(seed, kind):
    dense = _random_dense(seed)
    deg = conflict_graph(dense, kind).sum(axis=1)
    perm = _order(dense, "largest_first", kind)
    expected = sorted(range(deg.size), key=lambda v: (-deg[v], v))
    np.testing.assert_array_equal(perm, expected)


@pytest.mark.parametrize("seed", range(8))
def test_smallest_last_property(seed):
    dense = _random_dense(seed)
    g = conflict_graph(dense, "column")
    perm = _order(dense, "smallest_last")
    assert sorted(perm.tolist()) == list(range(dense.shape[1]))
    # the k-th vertex has minimum degree in the subgraph induced by perm[:k + 1]
    for k in range(perm.size):
        sub = perm[:k + 1]
        degs = g[np.ix_(sub, sub)].sum(axis=1)
        assert degs[-1] == degs.min()


def test_explicit_permutation_and_random_order():
    p = tridiagonal(12)
    nat = color_columns(p, "natural")
    perm = color_columns(p, np.arange(12))
    assert perm.order == "custom"
    np.testing.assert_array_equal(perm.colors, nat.colors)
    rev = color_columns(p, np.arange(12)[::-1])
    np.testing.assert_array_equal(rev.colors, nat.colors[::-1])
    r1 = color_rows(p, "random", seed=3)
    r2 = color_rows(p, "random", seed=3)
    assert r1 == r2 and is_valid(p, r1)


@pytest.mark.parametrize("bad", [np.arange(11), np.zeros(12, dtype=int),
                                 np.arange(1, 13), np.arange(12.0), "bogus"])
def test_bad_orders_raise(bad):
    with pytest.raises(ValueError):
        color_columns(tridiagonal(12), bad)


# ---- record, seed matrix, decompression details ----------------------------------------
def test_coloring_record_is_frozen_and_read_only():
    col = color_columns(tridiagonal(6))
    with pytest.raises(dataclasses.FrozenInstanceError):
        col.ncolors = 2
    with pytest.raises(ValueError):
        col.colors[0] = 5
    assert col == color_columns(tridiagonal(6))
    assert col != color_rows(tridiagonal(6))
    assert "ncolors=3" in repr(col)


def test_seed_matrix_layout():
    col = Coloring(colors=np.array([0, 1, 0, 2]), ncolors=3, lower_bound=2, kind="column",
                   order="custom")
    np.testing.assert_array_equal(seed_matrix(col), [[1, 0, 0], [0, 1, 0], [1, 0, 0],
                                                     [0, 0, 1]])
    row = dataclasses.replace(col, kind="row")
    np.testing.assert_array_equal(seed_matrix(row), seed_matrix(col).T)


@pytest.mark.parametrize("dtype", [np.float32, np.complex128, np.int64])
@pytest.mark.parametrize("kind", ["column", "row"])
def test_decompress_keeps_dtype(dtype, kind):
    rng = np.random.default_rng(0)
    p = tridiagonal(9)
    jac = (random_jacobian(p.toarray() != 0, rng) * 10).astype(dtype)
    col = COLOR[kind](p)
    b = compress(jac, col).astype(dtype)
    out = decompress(p, col, b)
    assert out.dtype == dtype
    assert np.array_equal(out.toarray(), jac)


def test_decompress_keeps_explicit_zero_entries_and_rejects_bad_shapes():
    p = sp.csr_array((np.array([0.0, 1.0, 0.0]), np.array([0, 1, 2]), np.array([0, 2, 3])),
                     shape=(2, 3))
    col = color_columns(p)
    assert col.lower_bound == 2
    out = decompress(p, col, np.zeros((2, col.ncolors)))
    assert out.nnz == 3
    with pytest.raises(ValueError):
        decompress(p, col, np.zeros((3, col.ncolors)))
    with pytest.raises(ValueError):
        decompress(p, color_rows(p), np.zeros((2, 3)))


def test_is_valid_rejects_malformed_colorings():
    p = tridiagonal(6)
    col = color_columns(p)
    assert not is_valid(p, dataclasses.replace(col, colors=col.colors[:5]))
    assert not is_valid(p, dataclasses.replace(col, ncolors=2))  # colour 2 out of range
    assert not is_valid(p, dataclasses.replace(col, colors=np.zeros(6, dtype=int)))


def test_input_pattern_is_not_modified():
    unsorted = sp.csr_array((np.ones(3), np.array([2, 0, 0]), np.array([0, 2, 3])),
                            shape=(2, 3))
    before = (unsorted.indices.copy(), unsorted.indptr.copy())
    col = color_columns(unsorted)
    assert col.ncolors == 2 and is_valid(unsorted, col)
    np.testing.assert_array_equal(unsorted.indices, before[0])
    np.testing.assert_array_equal(unsorted.indptr, before[1])


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_both_index_dtypes(index_dtype):
    p = tridiagonal(20)
    p = sp.csr_array((p.data, p.indices.astype(index_dtype), p.indptr.astype(index_dtype)),
                     shape=p.shape)
    assert p.indices.dtype == index_dtype
    for f in (color_columns, color_rows):
        for order in ORDERS:
            col = f(p, order)
            assert col.ncolors == 3 and is_valid(p, col)


def test_import_is_light():
    src = pathlib.Path(__file__).resolve().parents[1] / "src"
    code = ("import sys, dualtape.coloring\n"
            "print([m for m in sys.modules if m.split('.')[0] == 'numba' "
            "or m.startswith('scipy.sparse')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(src)})
    assert out.stdout.strip() == "[]"


# ---- the numpy/Python kernels agree with the compiled ones -----------------------------
@pytest.fixture
def fresh_kernels():
    """The colouring kernels as in a new process, before and after the test."""
    C._KERNELS.reset()
    yield C._KERNELS
    C._KERNELS.reset()


def _arrowhead(n):
    a = np.eye(n, dtype=bool)
    a[0, :] = a[:, 0] = True
    return sp.csr_array(a)


def _all_colourings(patterns):
    return [(f(q, o, seed=5).colors, f(q, o, seed=5).ncolors) for q in patterns
            for o in ORDERS for f in (color_columns, color_rows)]


def test_fallback_kernels_agree_with_compiled(monkeypatch, fresh_kernels):
    pytest.importorskip("numba")
    p = [sp.csr_array(_random_dense(s, 15, 12, 0.25)) for s in range(4)]
    p += [sp.csr_array(_random_dense(9, 40, 30, 0.1)), _arrowhead(30), tridiagonal(25),
          sp.csr_array(np.ones((1, 6))), sp.csr_array(np.zeros((4, 3)))]
    assert fresh_kernels.backend() == "numba"
    compiled = _all_colourings(p)
    fresh_kernels.reset()
    monkeypatch.setitem(sys.modules, "numba", None)  # make `import numba` fail
    assert fresh_kernels.backend() == "python"
    for (c1, n1), (c2, n2) in zip(compiled, _all_colourings(p)):
        assert n1 == n2
        np.testing.assert_array_equal(c1, c2)


def test_without_numba_no_warning_and_hand_derived_colours(monkeypatch, fresh_kernels):
    monkeypatch.setitem(sys.modules, "numba", None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # numba is optional: its absence is not a warning
        assert C.backend() == "python"
        _tridiagonal_colours_ok(color_columns(tridiagonal(7), order="natural"))
        # arrowhead: every column shares row 0, so natural order gives colour j to column j
        col = color_columns(_arrowhead(6), order="natural")
    np.testing.assert_array_equal(col.colors, np.arange(6))
    # degrees in the column-intersection graph of a tridiagonal pattern: 2, 3, 4, ..., 4, 3, 2
    s = C._csr_structure(tridiagonal(7))
    adj = tuple(C._common_index_dtype(*C._transpose(s)[2:], s.indptr, s.indices))
    np.testing.assert_array_equal(C._KERNELS("degree", *adj), [2, 3, 4, 4, 4, 3, 2])


def test_fallback_degree_chunks_agree(monkeypatch):
    from dualtape import _coloring_py as P
    s = C._csr_structure(sp.csr_array(_random_dense(3, 60, 50, 0.2)))
    adj = tuple(C._common_index_dtype(*C._transpose(s)[2:], s.indptr, s.indices))
    whole = P.degree(*adj)
    monkeypatch.setattr(P, "_CHUNK_WORK", 7)   # many small sparse products
    np.testing.assert_array_equal(P.degree(*adj), whole)
    dense = _random_dense(3, 60, 50, 0.2) != 0   # distinct columns sharing a row, by brute force
    share = (dense.T.astype(int) @ dense.astype(int)) > 0
    np.testing.assert_array_equal(whole, share.sum(axis=1) - share.diagonal())


# ---- scale ------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["column", "row"])
def test_tridiagonal_1e5(kind):
    n = 10**5
    p = tridiagonal(n)
    for order in ("natural", "largest_first"):
        col = COLOR[kind](p, order)
        assert col.ncolors == 3 and col.lower_bound == 3
        assert is_valid(p, col)
    colors = col.colors
    assert np.all(colors[:-1] != colors[1:]) and np.all(colors[:-2] != colors[2:])
    rng = np.random.default_rng(1)
    jac = sp.csr_array((rng.standard_normal(p.nnz), p.indices, p.indptr), shape=p.shape)
    s = seed_matrix(col)
    b = np.asarray(jac @ s) if kind == "column" else np.asarray((jac.T @ s.T).T)
    out = decompress(p, col, b)
    np.testing.assert_array_equal(out.data, jac.data)
    np.testing.assert_array_equal(out.indices, p.indices)


# ---- an interrupted first import of the backend leaves later calls working ---------------
class _Numba:
    """Stands in for the numba module: raises KeyboardInterrupt on first use (an import
    interrupted by the user), or compiles kernels that fail (a half-imported numba)."""

    def __init__(self, real, broken=False):
        self.real, self.broken, self.interrupted = real, broken, False

    def __getattr__(self, name):
        if name.startswith("__"):             # the import machinery's own look-ups
            raise AttributeError(name)
        if not self.broken and not self.interrupted:
            self.interrupted = True
            raise KeyboardInterrupt
        if self.broken and name == "njit":
            def njit(**_):
                def fails(*args):
                    raise AttributeError("module 'numba' has no attribute 'core'")
                return lambda f: fails
            return njit
        return getattr(self.real, name)


def _tridiagonal_colours_ok(coloring):
    # natural order on a tridiagonal pattern: columns i, i+1, i+2 share rows, so 3
    # colours, i % 3 (hand-derived)
    assert coloring.ncolors == 3
    np.testing.assert_array_equal(coloring.colors, np.arange(7) % 3)


def test_interrupted_backend_import_is_retried(monkeypatch, fresh_kernels):
    numba = pytest.importorskip("numba")
    monkeypatch.setitem(sys.modules, "numba", _Numba(numba))
    with pytest.raises(KeyboardInterrupt):
        color_columns(tridiagonal(7), order="natural")
    _tridiagonal_colours_ok(color_columns(tridiagonal(7), order="natural"))
    assert C.backend() == "numba"


def test_backend_that_fails_to_compile_falls_back_to_python(monkeypatch, fresh_kernels):
    numba = pytest.importorskip("numba")
    monkeypatch.setitem(sys.modules, "numba", _Numba(numba, broken=True))
    with pytest.warns(RuntimeWarning, match="numba is unusable"):
        _tridiagonal_colours_ok(color_columns(tridiagonal(7), order="natural"))
    assert C.backend() == "python"
    _tridiagonal_colours_ok(color_columns(tridiagonal(7), order="natural"))


def test_real_interrupt_inside_numbas_import_leaves_sparse_jacobians_working():
    pytest.importorskip("numba")
    src = pathlib.Path(__file__).resolve().parents[1] / "src"
    code = (
        "import sys, warnings, numpy as np\n"
        "class Interrupt:\n"
        "    done = set()\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name in ('numba.core.decorators', 'scipy.sparse._csr') \\\n"
        "                and name not in self.done:\n"
        "            self.done.add(name)\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "import dualtape as dt\n"
        "warnings.simplefilter('ignore', RuntimeWarning)\n"
        "x = np.linspace(-1, 1, 5)\n"
        "for attempt in range(4):\n"
        "    try:\n"
        "        J = dt.jacobian(np.tanh, x, structure='sparse').toarray()\n"
        "    except KeyboardInterrupt:\n"
        "        print('interrupted')\n"
        "        continue\n"
        "    print(np.abs(J - np.diag(1 - np.tanh(x) ** 2)).max() < 1e-15)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(src)})
    lines = out.stdout.split()
    assert lines.count("interrupted") == 2 and lines[2:] == ["True", "True"], out.stdout
