"""Speed of dualtape.coloring on tridiagonal patterns, n = 10^3 ... 10^6.

Times (median over repeats, after warm-up) greedy column and row colouring with the
natural, largest-first and smallest-last orders, the validity check and direct
decompression of a column-compressed Jacobian, and prints a table. The first call
(numba import plus JIT compilation, or loading the on-disk cache) is reported
separately.

Run: ``PYTHONPATH=src python3 benchmarks/bench_coloring.py [--quick]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from dualtape import coloring


def tridiagonal(n: int) -> sp.csr_array:
    """Boolean tridiagonal pattern of shape (n, n), CSR."""
    ones = np.ones(n, dtype=bool)
    return sp.diags_array([ones[:-1], ones, ones[:-1]], offsets=[-1, 0, 1],
                          shape=(n, n), format="csr", dtype=bool)


def median_time(fn: Callable[[], Any], repeats: int, min_time: float = 0.2) -> float:
    """Median seconds per call over ``repeats`` repeats (each repeat at least one call
    and about ``min_time`` seconds), after one warm-up call."""
    fn()
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    number = max(1, int(min_time / once))
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - t0) / number)
    return statistics.median(samples)


def fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:7.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:7.2f} ms"
    return f"{seconds:7.3f} s "


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats, n up to 1e5")
    args = ap.parse_args()
    repeats = 3 if args.quick else 7
    sizes = [10**3, 10**4, 10**5] + ([] if args.quick else [10**6])

    small = tridiagonal(16)
    t0 = time.perf_counter()
    for order in coloring.ORDERS[:3]:
        coloring.color_columns(small, order)
    first = time.perf_counter() - t0
    print(f"backend: {coloring.backend()}; first calls (import + JIT compile or cache "
          f"load, 3 orders): {first:.2f} s")

    cases: list[tuple[str, Callable[[sp.csr_array], Callable[[], Any]]]] = [
        ("col natural", lambda p: lambda: coloring.color_columns(p, "natural")),
        ("col largest_first", lambda p: lambda: coloring.color_columns(p, "largest_first")),
        ("col smallest_last", lambda p: lambda: coloring.color_columns(p, "smallest_last")),
        ("row natural", lambda p: lambda: coloring.color_rows(p, "natural")),
        ("row largest_first", lambda p: lambda: coloring.color_rows(p, "largest_first")),
    ]
    header = ["n", "nnz", *(name for name, _ in cases), "is_valid", "decompress", "ncolors"]
    rows = []
    rng = np.random.default_rng(0)
    for n in sizes:
        pattern = tridiagonal(n)
        row = [f"{n:.0e}", f"{pattern.nnz:.1e}"]
        for _, make in cases:
            row.append(fmt(median_time(make(pattern), repeats)))
        col = coloring.color_columns(pattern, "natural")
        assert col.ncolors == 3 and coloring.is_valid(pattern, col)
        row.append(fmt(median_time(lambda: coloring.is_valid(pattern, col), repeats)))
        jac = sp.csr_array((rng.standard_normal(pattern.nnz), pattern.indices,
                            pattern.indptr), shape=pattern.shape)
        compressed = np.asarray(jac @ coloring.seed_matrix(col))
        out = coloring.decompress(pattern, col, compressed)
        assert np.array_equal(out.data, jac.data)
        row.append(fmt(median_time(lambda: coloring.decompress(pattern, col, compressed),
                                   repeats)))
        row.append(str(col.ncolors))
        rows.append(row)
        print(".", end="", flush=True)
    print()

    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(header)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    for r in rows:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths)))
    print(f"(tridiagonal n x n patterns, CSR bool; median of {repeats} repeats)")


if __name__ == "__main__":
    main()
