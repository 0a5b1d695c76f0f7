"""Tests for dualtape.bicoloring and its use by dt.jacobian: bidirectional partitions
are checked entry by entry by brute force, decompression is exact on random
Jacobians, and the dense-row-plus-dense-column Jacobian takes a handful of passes
against its closed form."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
from dualtape.bicoloring import Bicoloring, bicolor, decompress, seed_matrices
from dualtape.coloring import color_columns, color_rows
from dualtape.jacobian import execute, plan_jacobian


def brute_direct(p: np.ndarray, bc: Bicoloring) -> bool:
    """Every non-zero is the only one of its colour on the side the partition assigns it:
    among the coloured columns of its row (JVP side) or coloured rows of its column."""
    cc, rc = np.asarray(bc.col_colors), np.asarray(bc.row_colors)
    for i, j in zip(*np.nonzero(p)):
        if bc.rows_rev[i] and not bc.cols_fwd[j]:
            if rc[i] < 0 or any(p[k, j] and rc[k] == rc[i] for k in range(p.shape[0]) if k != i):
                return False
        else:
            if cc[j] < 0 or any(p[i, k] and cc[k] == cc[j] for k in range(p.shape[1]) if k != j):
                return False
    return True


def dense_row_col(x: np.ndarray) -> np.ndarray:
    return np.concatenate([np.sum(x ** 2)[None], np.sin(x[1:]) * x[0]])


def dense_row_col_jacobian(x: np.ndarray) -> np.ndarray:
    n = x.size
    J = np.zeros((n, n))
    J[0] = 2 * x
    J[1:, 0] = np.sin(x[1:])
    J[np.arange(1, n), np.arange(1, n)] = x[0] * np.cos(x[1:])
    return J


def test_dense_row_and_column_in_a_few_passes() -> None:
    x = np.random.default_rng(0).uniform(-1, 1, 2000)
    J, info = dt.jacobian(dense_row_col, x, structure="sparse", return_info=True)
    assert info.passes <= 5 and info.sweeps <= 2
    assert info.mode == "fwd+rev" and info.nnz == 3 * 2000 - 2
    assert info.evaluations == 2                  # detection, then one recording
    # the one-sided colourings cannot beat it by their lower bounds, so do not run
    assert "compressed fwd+rev" in info.reason
    assert "column colouring not tried (needs >= 2000 colours)" in info.reason
    np.testing.assert_allclose(J.toarray(), dense_row_col_jacobian(x), rtol=1e-14, atol=0)
    # one-sided colourings of the same pattern need n colours each
    p = J != 0
    assert color_columns(p).ncolors == 2000 and color_rows(p).ncolors == 2000


def test_reverse_only_and_forward_only() -> None:
    # a dense row alone: one VJP-heavy or one-sided plan must be found cheaply
    p = np.zeros((30, 20), dtype=bool)
    p[0] = True
    p[np.arange(1, 21), np.arange(20)] = True
    bc = bicolor(p)
    assert bc.passes <= 2 and brute_direct(p, bc)
    # diagonal: one JVP, no VJP
    bc = bicolor(np.eye(7, dtype=bool))
    assert (bc.ncol_colors, bc.nrow_colors) == (1, 0)


@st.composite
def rect_patterns(draw):
    m, n = draw(st.integers(1, 14)), draw(st.integers(1, 14))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    p = rng.random((m, n)) < draw(st.floats(0.0, 0.6))
    for _ in range(draw(st.integers(0, 2))):        # dense rows and columns
        if draw(st.booleans()):
            p[rng.integers(m)] = True
        else:
            p[:, rng.integers(n)] = True
    return p


@settings(max_examples=150, deadline=None)
@given(rect_patterns(), st.sampled_from([1.0, 1.5, 3.0]), st.integers(0, 1000))
def test_random_bicolourings_valid_and_exact(p: np.ndarray, ratio: float, seed: int) -> None:
    bc = bicolor(sp.csr_array(p), cost_ratio=ratio)
    assert brute_direct(p, bc)
    price = bc.ncol_colors + ratio * bc.nrow_colors
    assert price <= color_columns(p, order="natural").ncolors + 1e-12
    assert price <= ratio * color_rows(p, order="natural").ncolors + 1e-12
    rng = np.random.default_rng(seed)
    J = np.where(p, rng.standard_normal(p.shape) + 3.0, 0.0)
    sc, sr = seed_matrices(bc)
    got = decompress(sp.csr_array(p), bc, J @ sc, sr @ J)
    assert got.has_canonical_format
    np.testing.assert_array_equal(got.toarray(), J)


def test_wrong_bicoloring_is_refused() -> None:
    p = np.ones((3, 3), dtype=bool)
    bc = Bicoloring(np.zeros(3, dtype=np.intp), np.full(3, -1), 1, 0,
                    np.zeros(3, dtype=bool), np.zeros(3, dtype=bool))
    with pytest.raises(ValueError, match="not determined directly by the JVPs"):
        decompress(p, bc, np.zeros((3, 1)), np.zeros((0, 3)))
    with pytest.raises(ValueError, match="shapes"):
        decompress(p, bc, np.zeros((3, 2)), np.zeros((0, 3)))


def test_planner_options() -> None:
    x = np.linspace(0.1, 1.0, 40)
    want = dense_row_col_jacobian(x)
    for kw in ({"sparsity": "local"}, {"sparsity": want != 0}, {"chunk_size": 1},
               {"structure": "auto"}, {"sparse_format": "csc"}):
        J, info = dt.jacobian(dense_row_col, x, **{"structure": "sparse", **kw},
                              return_info=True)
        assert info.mode == "fwd+rev", kw
        np.testing.assert_allclose(J.toarray(), want, rtol=1e-14)
        if "chunk_size" in kw:
            assert info.sweeps == info.passes
    # a mode forced to one side never mixes
    J, info = dt.jacobian(dense_row_col, x, mode="fwd", structure="sparse", return_info=True)
    assert info.mode == "fwd" and info.passes == 40
    # the plan can run again at another point
    p, _, _ = plan_jacobian(dense_row_col, x, structure="sparse")
    J, _ = execute(p, dense_row_col, 2 * x)
    np.testing.assert_allclose(J.toarray(), dense_row_col_jacobian(2 * x), rtol=1e-14)
