"""Sparse Hessians and bidirectional Jacobians: time per stage and accuracy.

    PYTHONPATH=src python benchmarks/bench_sparse_hessian.py            # n = 1e3 .. 1e6
    PYTHONPATH=src python benchmarks/bench_sparse_hessian.py --max-n 1e5

1. Rosenbrock, ``dt.hessian(f, structure="sparse")``: detection, colouring, the one
   forward-over-reverse pass with all compressed HVPs, decompression, and the whole
   call; against n Hessian-vector products (one vector-mode pass with n directions
   where it fits in memory, else one HVP's time times n) and the dense Hessian where
   it fits.  Accuracy of star (direct) and acyclic (substitution) recovery against
   the closed-form Hessian: max |error| / max |H|.
2. Arrowhead Hessian and the dense-row-plus-dense-column Jacobian at n = 1e4: passes
   and time against the best one-sided plan.
3. Arrowhead Hessian, star and acyclic, with the colouring kernels compiled by numba
   and as plain Python, up to n = 1e5.

Each time is the median over a few repeats (the whole call also gives its minimum, the
least disturbed on a shared machine); the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any, Callable

import numpy as np

import dualtape as dt
from dualtape import coloring_sym as cs
from dualtape.coloring import color_columns, color_rows
from dualtape.forward import jvp_batch
from dualtape.sparsity_hessian import hessian_sparsity


def timed(fn: Callable[[], Any], repeats: int = 5) -> tuple[float, float, Any]:
    """(median, minimum) seconds of ``repeats`` calls after one warm-up, and the result."""
    out = fn()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts)), min(ts), out


def best(fn: Callable[[], Any], repeats: int = 5) -> tuple[float, Any]:
    """The median time of ``fn`` and its result."""
    med, _, out = timed(fn, repeats)
    return med, out


def load() -> str:
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_hessian(x):
    import scipy.sparse as sp
    d = np.zeros(x.size)
    d[:-1] += 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    d[1:] += 200
    off = -400 * x[:-1]
    return sp.diags_array([off, d, off], offsets=[-1, 0, 1], format="csr")


def ms(t: float) -> str:
    return f"{1e3 * t:9.2f}"


def rosenbrock_table(sizes: list[int]) -> None:
    print(f"1. Rosenbrock, dt.hessian(structure='sparse'); times in ms (median of 5); "
          f"{load()}")
    head = (f"{'n':>8} {'method':>8} {'col':>4} {'detect':>9} {'colour':>9} {'HVPs':>9} "
            f"{'decomp':>9} {'total':>9} {'(min)':>9} {'n HVPs':>11} {'dense':>9} "
            f"{'rel err':>9}")
    print(head)
    warm = np.linspace(-1, 1, 10)
    for m in ("star", "acyclic"):
        dt.hessian(rosenbrock, structure="sparse", method=m)(warm)
    for n in sizes:
        x = np.random.default_rng(0).uniform(-1.5, 1.5, n)
        exact = rosenbrock_hessian(x)
        scale = abs(exact).max()
        t_det, P = best(lambda: hessian_sparsity(rosenbrock, x))
        g = cs._graph(P)
        if n <= 10**3:
            t_nh, _ = best(lambda: jvp_batch(dt.grad(rosenbrock), x, np.eye(n)), 1)
            nh = f"{ms(t_nh):>11}"
        else:
            t_one, _ = best(lambda: dt.hvp(rosenbrock, x, x))
            nh = f"~{ms(t_one * n).strip():>10}"
        dense = "-"
        if n <= 2000:
            t_dense, _ = best(lambda: dt.hessian(rosenbrock)(x), 1)
            dense = ms(t_dense)
        for m in ("star", "acyclic"):
            t_col, col = best(lambda: cs._color_graph(cs._graph(P), m, "natural", None))
            seeds = cs.seed_matrix(col).T.copy()
            t_hvp, (_, B) = best(lambda: jvp_batch(dt.grad(rosenbrock), x, seeds))
            Bn = np.asarray(B).T.copy()
            t_dec, H = best(lambda: cs._decompress_graph(g, col, Bn))
            hm = dt.hessian(rosenbrock, structure="sparse", method=m)
            t_all, t_low, H2 = timed(lambda: hm(x))
            err = abs(H2 - exact).max() / scale
            print(f"{n:>8} {m:>8} {col.ncolors:>4} {ms(t_det)} {ms(t_col)} {ms(t_hvp)} "
                  f"{ms(t_dec)} {ms(t_all)} {ms(t_low)} {nh:>11} {dense:>9} {err:9.1e}",
                  flush=True)
    print("'n HVPs': one vector-mode pass with n directions (n <= 1e3), else ~ n x one "
          "dt.hvp; 'dense': dt.hessian (fwd-over-rev, dense); 'rel err': "
          "max |H - H_exact| / max |H_exact|.")


def arrowhead_and_bidirectional(n: int) -> None:
    print(f"\n2. n = {n}")

    def arrow(x):
        return np.sum(x ** 2) + x[0] * np.sum(np.sin(x[1:]))
    x = np.random.default_rng(1).uniform(-1, 1, n)
    t, (H, info) = best(lambda: dt.hessian(arrow, structure="sparse", return_info=True)(x))
    d2 = color_columns(hessian_sparsity(arrow, x)).ncolors
    small = 2000
    xs = x[:small]
    t_d2, _ = best(lambda: dt.jacobian(dt.grad(arrow), xs, structure="sparse", mode="fwd"), 1)
    t_st, _ = best(lambda: dt.hessian(arrow, structure="sparse")(xs))
    print(f"arrowhead Hessian: {info.colors} star colours, {ms(t).strip()} ms in all; a "
          f"distance-2 (Jacobian) colouring needs {d2} colours (at n = {small}: "
          f"distance-2 dt.jacobian(dt.grad(f), mode='fwd') {ms(t_d2).strip()} ms, star "
          f"{ms(t_st).strip()} ms)")

    def rowcol(x):
        return np.concatenate([np.sum(x ** 2)[None], np.sin(x[1:]) * x[0]])
    t, (J, info) = best(lambda: dt.jacobian(rowcol, x, structure="sparse", return_info=True))
    P = J != 0
    c, r = color_columns(P).ncolors, color_rows(P).ncolors
    t1, _ = best(lambda: dt.jacobian(rowcol, xs, structure="sparse", mode="fwd"), 1)
    t2, _ = best(lambda: dt.jacobian(rowcol, xs, structure="sparse"))
    print(f"dense row + dense column Jacobian: {info.passes} passes "
          f"({info.reason}), {ms(t).strip()} ms in all; one-sided: {c} column colours / "
          f"{r} row colours (at n = {small}: one-sided dt.jacobian(mode='fwd') "
          f"{ms(t1).strip()} ms, bidirectional {ms(t2).strip()} ms)")


def arrowhead_backends(sizes: list[int]) -> None:
    """The arrowhead's sparse Hessian, star and acyclic, with the colouring kernels
    compiled and as plain Python (the core install, without numba)."""
    import importlib.util
    backends = ["python"] + (["numba"] if importlib.util.find_spec("numba") else [])
    print(f"\n3. arrowhead, dt.hessian(structure='sparse'), ms (median of 3): "
          f"{', '.join(backends)} colouring kernels")

    def arrow(x):
        return np.sum(x ** 2) + x[0] * np.sum(np.sin(x[1:]))
    try:
        for n in sizes:
            x = np.random.default_rng(2).uniform(-1, 1, n)
            row = [f"{n:>8}"]
            for m in ("star", "acyclic"):
                for b in backends:
                    cs._KERNELS.use(b)
                    t, (_, info) = best(lambda: dt.hessian(
                        arrow, structure="sparse", method=m, return_info=True)(x), 3)
                    row.append(f"{m} {b} {ms(t).strip()} ({info.colors} colours)")
            print("  ".join(row), flush=True)
    finally:
        cs._KERNELS.reset()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-n", type=float, default=1e6)
    args = ap.parse_args()
    sizes = [n for n in (10**3, 10**4, 10**5, 10**6) if n <= args.max_n]
    rosenbrock_table(sizes)
    arrowhead_and_bidirectional(10**4)
    arrowhead_backends([n for n in sizes if n <= 10**5])
    print(f"\n{load()}")


if __name__ == "__main__":
    main()
