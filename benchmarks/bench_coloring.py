"""Speed of dualtape.coloring with numba and without it, n = 10^3, 10^5, 10^6.

For tridiagonal and arrowhead (dense first row and column plus the diagonal) patterns,
times greedy column colouring in natural, largest-first and smallest-last order and row
colouring in natural order, once with the numba kernels and once with the numpy/Python
fallback (the same colourings: checked), plus the validity check and direct
decompression, which are numpy in both.  A case whose work would exceed the budget is
skipped with its estimate: the compiled greedy loop costs sum_i r_i**2 steps (r_i = entries
in row i, so n**2 for the arrowhead's dense row), the fallback's loop one big-integer
operation per entry, each of about ncolors / 64 machine words.

Run: ``PYTHONPATH=src python3 benchmarks/bench_coloring.py [--quick]``  (numba needed for
the compiled column: ``pip install -e ".[fast]"``)
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from dualtape import coloring

BUDGET = 3e9   # estimated elementary steps per call beyond which a case is skipped


def tridiagonal(n: int) -> sp.csr_array:
    """Boolean tridiagonal pattern of shape (n, n), CSR."""
    ones = np.ones(n, dtype=bool)
    return sp.diags_array([ones[:-1], ones, ones[:-1]], offsets=[-1, 0, 1],
                          shape=(n, n), format="csr", dtype=bool)


def arrowhead(n: int) -> sp.csr_array:
    """Boolean arrowhead pattern of shape (n, n): row 0, column 0 and the diagonal."""
    k = np.arange(1, n)
    rows = np.concatenate([np.zeros(n, dtype=np.int64), k, k])
    cols = np.concatenate([np.arange(n), np.zeros(n - 1, dtype=np.int64), k])
    return sp.csr_array((np.ones(rows.size, dtype=bool), (rows, cols)), shape=(n, n))


def median_time(fn: Callable[[], Any], repeats: int, min_time: float = 0.2) -> float:
    """Median seconds per call over ``repeats`` repeats (each repeat at least one call
    and about ``min_time`` seconds), after one warm-up call."""
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    if once > 2:                     # a slow case: the warm-up call is the measurement
        return once
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
        return f"{seconds * 1e6:6.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:6.2f} ms"
    return f"{seconds:6.2f} s "


def work(pattern: sp.csr_array, kind: str, order: str, backend: str) -> float:
    """Estimated elementary steps of one colouring (see the module docstring)."""
    nets = pattern if kind == "column" else pattern.T.tocsr()
    lengths = np.diff(nets.indptr).astype(np.float64)
    pairs = float(np.sum(lengths ** 2))
    greedy = pairs if backend == "numba" else nets.nnz * (1 + lengths.max() / 64)
    return greedy + (pairs if order != "natural" else 0.0)


CASES = [("col natural", "column", "natural"), ("col largest_first", "column", "largest_first"),
         ("col smallest_last", "column", "smallest_last"), ("row natural", "row", "natural")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats, n up to 1e5")
    args = ap.parse_args()
    repeats = 3 if args.quick else 5
    sizes = [10**3, 10**5] + ([] if args.quick else [10**6])
    kernels = coloring._get_kernels()
    backends = ["numba", "python"] if importlib.util.find_spec("numba") else ["python"]

    for b in backends:
        kernels.use(b)
        t0 = time.perf_counter()
        for order in coloring.ORDERS[:3]:
            coloring.color_columns(tridiagonal(16), order)
        print(f"{b}: first calls (import + JIT compile or cache load, 3 orders): "
              f"{time.perf_counter() - t0:.2f} s")

    header = ["pattern", "n", "case", *backends, *(["python/numba"] * (len(backends) > 1)),
              "ncolors"]
    rows, numpy_rows = [], []
    rng = np.random.default_rng(0)
    for make in (tridiagonal, arrowhead):
        for n in sizes:
            pattern = make(n)
            for case, kind, order in CASES:
                fn = coloring.color_columns if kind == "column" else coloring.color_rows
                times, results = {}, {}
                for b in backends:
                    est = work(pattern, kind, order, b)
                    if est > BUDGET:
                        times[b] = f"skip ~{est:.0e}"
                        continue
                    kernels.use(b)
                    results[b] = fn(pattern, order)
                    times[b] = median_time(lambda: fn(pattern, order), repeats)
                if len(results) == 2:
                    assert results["numba"] == results["python"], (make.__name__, n, case)
                ratio = ([f"{times['python'] / times['numba']:.1f}x"
                          if len(results) == 2 else "-"] if len(backends) > 1 else [])
                colours = next(iter(results.values())).ncolors if results else "-"
                rows.append([make.__name__, f"{n:.0e}", case,
                             *(fmt(t) if isinstance(t, float) else t for t in times.values()),
                             *ratio, str(colours)])
                print(".", end="", flush=True)
            col = coloring.color_columns(pattern, "natural")
            jac = sp.csr_array((rng.standard_normal(pattern.nnz), pattern.indices,
                                pattern.indptr), shape=pattern.shape)
            t_valid = fmt(median_time(lambda: coloring.is_valid(pattern, col), repeats))
            t_dec = "-"   # an arrowhead's n colours make the compressed Jacobian dense
            if col.ncolors * n <= 10**8:
                compressed = np.asarray(jac @ coloring.seed_matrix(col))
                t_dec = fmt(median_time(lambda: coloring.decompress(pattern, col, compressed),
                                        repeats))
            numpy_rows.append([make.__name__, f"{n:.0e}", t_valid, t_dec])
    print()
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(header)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    for r in rows:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths)))
    print()
    for r in [["pattern", "n", "is_valid", "decompress"], *numpy_rows]:
        print("  ".join(c.rjust(12) for c in r))
    print(f"(n x n patterns, CSR bool; median of {repeats} repeats; budget {BUDGET:.0e} "
          "steps per call)")


if __name__ == "__main__":
    main()
