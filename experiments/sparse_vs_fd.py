"""Exact sparse Jacobians by compressed AD against scipy's sparse finite differences.

Two test functions, written with plain numpy so that scipy and dualtape run the same
code (x of size n, f(x) of size n):

* ``tridiagonal``: f_i = x_{i-1}·x_i - x_{i+1}² (x_0 = x_{n+1} = 0 outside the range),
  three non-zeros per row, 3 column colours;
* ``arrowhead``: f_0 = Σ_j x_j², f_i = sin(x_i) for i ≥ 1: one dense row plus the
  diagonal.  A column colouring needs n colours (every column meets the dense row), a
  row colouring 2, so compressed reverse mode needs 2 VJPs where column-grouped finite
  differences need n + 1 evaluations of f.

Methods: "dt_sparse" (``dt.jacobian(f, x, structure="sparse")``: detection, colouring,
compressed pass), "dt_sparse_pattern" (the same with the true pattern given, as scipy
gets it), "fd_2point" and "fd_3point" (``approx_derivative(f, x, method=...,
sparsity=pattern)`` from ``scipy.optimize._numdiff``, the sparse finite differences
behind scipy's least_squares; scipy does not export it publicly).

The error of each method, max |J - J_exact| against the closed-form Jacobian written
out below, is computed once per (problem, n, method) after the sweep and kept in the
side table ``results/sparse_vs_fd_error.csv`` (columns problem, n, method, max_error,
evaluations, mode); the sweep's CSV holds the time and memory.
"""

from __future__ import annotations

import pathlib

import numpy as np
import scipy.sparse as sps
from scipy.optimize._numdiff import approx_derivative

import dualtape as dt
from dualtape.harness import sweep

import _common as C

NAME = "sparse_vs_fd"
DESCRIPTION = "dt.jacobian(structure='sparse') vs scipy sparse finite differences: time, error"
KEYS = ("problem", "n")
PROBLEMS = ["tridiagonal", "arrowhead"]
METHODS = ["dt_sparse", "dt_sparse_pattern", "fd_2point", "fd_3point"]


def tridiagonal(x):
    z = np.zeros(1, dtype=float)
    left = np.concatenate([z, x[:-1]])          # x_{i-1}
    right = np.concatenate([x[1:], z])          # x_{i+1}
    return left * x - right ** 2


def tridiagonal_jacobian(x):
    """Closed form: J[i, i-1] = x_i, J[i, i] = x_{i-1}, J[i, i+1] = -2 x_{i+1}."""
    n = x.size
    return sps.diags_array([x[1:], np.concatenate([[0.0], x[:-1]]), -2.0 * x[1:]],
                           offsets=[-1, 0, 1], shape=(n, n)).tocsr()


def tridiagonal_pattern(n):
    return sps.diags_array([np.ones(n - 1), np.ones(n), np.ones(n - 1)], offsets=[-1, 0, 1],
                           shape=(n, n)).astype(bool).tocsr()


def arrowhead(x):
    return np.concatenate([np.sum(x * x, keepdims=True), np.sin(x[1:])])


def arrowhead_jacobian(x):
    """Closed form: J[0, j] = 2 x_j, J[i, i] = cos(x_i) for i ≥ 1."""
    n = x.size
    rows = np.concatenate([np.zeros(n, dtype=int), np.arange(1, n)])
    cols = np.concatenate([np.arange(n), np.arange(1, n)])
    vals = np.concatenate([2.0 * x, np.cos(x[1:])])
    return sps.csr_array((vals, (rows, cols)), shape=(n, n))


def arrowhead_pattern(n):
    return arrowhead_jacobian(np.ones(n)).astype(bool)


FUNCTIONS = {"tridiagonal": (tridiagonal, tridiagonal_jacobian, tridiagonal_pattern),
             "arrowhead": (arrowhead, arrowhead_jacobian, arrowhead_pattern)}


def sizes(quick: bool) -> list[int]:
    return C.powers(2, 16, 2048) if quick else C.powers(2, 16, 16384)


def make_problem(problem: str, n: int, seed: int = 0):
    f, jac, pattern = FUNCTIONS[problem]
    x = np.random.default_rng(seed).standard_normal(n)
    return f, x, jac, pattern(n)


def jacobian_fn(method: str, f, pattern):
    """The measured call v -> J (a sparse matrix) for one method."""
    if method == "dt_sparse":
        return lambda v: dt.jacobian(f, v, structure="sparse")
    if method == "dt_sparse_pattern":
        return lambda v: dt.jacobian(f, v, structure="sparse", sparsity=pattern)
    fd = {"fd_2point": "2-point", "fd_3point": "3-point"}[method]
    return lambda v: approx_derivative(f, v, method=fd, sparsity=pattern)


def case(method: str, problem: str, n: int):
    f, x, _, pattern = make_problem(problem, n)
    return jacobian_fn(method, f, pattern), (x,)


def error_row(key) -> dict:
    """max |J - J_exact| of one (problem, n, method), and how many evaluations it took."""
    f, x, jac, pattern = make_problem(key["problem"], key["n"])
    method = key["method"]
    exact = jac(x)
    if method.startswith("dt"):
        given = pattern if method == "dt_sparse_pattern" else "global"
        J, info = dt.jacobian(f, x, structure="sparse", sparsity=given, return_info=True)
        evaluations, mode = info.passes, f"{info.mode} ({info.colors} colours)"
    else:
        fd = {"fd_2point": "2-point", "fd_3point": "3-point"}[method]
        J, out = approx_derivative(f, x, method=fd, sparsity=pattern, full_output=True)
        evaluations, mode = int(out["nfev"]), f"{fd} finite differences"
    err = abs(sps.csr_array(J) - exact).max()
    return {"max_error": float(err), "evaluations": evaluations, "mode": mode}


def run(quick: bool = True, results_dir="experiments/results", progress=True) -> list[dict]:
    C.pin_blas_threads(1)
    records = []
    for problem in PROBLEMS:
        # dt.count cannot follow dt.jacobian (see experiments/README.md), and counts of
        # scipy's plain numpy calls would be zero: no counts here.
        records += sweep(case, grid={"problem": [problem], "n": sizes(quick)},
                         methods=METHODS, repeats=5, name=NAME,
                         out_dir=results_dir, count=False, progress=progress, quick=quick)
    keys = (*KEYS, "method")
    wanted = [{k: r[k] for k in keys} for r in records if r["statistic"] == "median"]
    C.update_side_table(C.side_table_path(NAME, "error", results_dir), keys, wanted,
                        error_row, quick=quick)
    return records


STYLE = {"dt_sparse": ("tab:blue", "s", "-"), "dt_sparse_pattern": ("tab:cyan", "D", "-"),
         "fd_2point": ("tab:orange", "o", "--"), "fd_3point": ("tab:red", "^", "--")}
LABELS = {"dt_sparse": "dualtape sparse (detects pattern)",
          "dt_sparse_pattern": "dualtape sparse (pattern given)",
          "fd_2point": "scipy FD 2-point (pattern given)",
          "fd_3point": "scipy FD 3-point (pattern given)"}
ZERO = 1e-17   # where an exact zero error is drawn on the log axis


def plot(records: list[dict], figures_dir="paper/figures", results_dir=None
         ) -> list[pathlib.Path]:
    import matplotlib.pyplot as plt

    from dualtape.harness.plots import paper_style, save_figure

    paper_style()
    keys = (*KEYS, "method")
    rows, spread = C.with_side_table(NAME, "error", records, results_dir, keys, error_row)
    problems = [p for p in PROBLEMS if any(r["problem"] == p for r in rows)]
    fig, axes = plt.subplots(2, len(problems), figsize=(3.6 * len(problems), 6.6),
                             layout="constrained", squeeze=False)
    titles = {"tridiagonal": "tridiagonal: f_i = x_{i−1} x_i − x_{i+1}²",
              "arrowhead": "arrowhead: f_0 = Σ x_j², f_i = sin(x_i)"}
    for j, problem in enumerate(problems):
        ax_t, ax_e = axes[:, j]
        ns = sorted({r["n"] for r in rows if r["problem"] == problem})
        for method in METHODS:
            color, marker, style = STYLE[method]
            w = {"problem": problem, "method": method}
            xs, ts = C.series(rows, "n", "time_s", w)
            if not xs:
                continue
            ev = {r["n"]: r.get("evaluations") for r in rows
                  if all(r[k] == v for k, v in w.items())}
            lo = C.series(spread["q25"], "n", "time_s", w)[1]
            hi = C.series(spread["q75"], "n", "time_s", w)[1]
            ok = len(lo) == len(hi) == len(xs)
            C.line(ax_t, xs, ts, LABELS[method], color=color, marker=marker,
                   linestyle=style, lo=lo if ok else None, hi=hi if ok else None)
            slope, _ = C.tail_slope(xs, ts, None)
            xe, es = C.series(rows, "n", "max_error", w)
            unit = "passes" if method.startswith("dt") else "f evals"
            ax_e.plot(xe, [max(e, ZERO) for e in es], color=color, marker=marker,
                      linestyle=style, markersize=4,
                      label=f"{LABELS[method]}:\nerror ≤ {max(es):.1e}, "
                            f"{ev.get(xs[-1])} {unit} at n={xs[-1]}, time slope "
                            f"{slope:.2f}")
        ax_e.axhline(ZERO, color="0.5", linewidth=0.8, linestyle=":")
        ax_e.text(ns[0], ZERO * 2.0, "exact (error 0) drawn here", fontsize=6, color="0.3")
        for ax in (ax_t, ax_e):
            ax.set_xscale("log")
            ax.set_yscale("log")
            C.log2_ticks(ax, ns)
            ax.grid(True, which="major", alpha=0.3)
            ax.set_xlabel("n (inputs = outputs)")
        ax_t.set_title(titles[problem])
        ax_t.set_ylabel("time per Jacobian (s; shaded q25–q75)")
        ax_e.set_ylabel("max |J − J_exact|")
        ax_e.set_ylim(ZERO / 10, None)
        # Below the panels: inside, a legend hides the short error curves.
        ax_e.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False,
                    fontsize=6)
    fig.suptitle("Sparse Jacobians: compressed AD (exact) against scipy's sparse finite "
                 "differences;\ntime (top) and error (bottom), one legend per column below")
    return list(save_figure(fig, pathlib.Path(figures_dir) / NAME, records=records))


#: Headline quantities: (kind, tolerance, description), see modes_vs_n_m.TOLERANCES.
#: Errors and times are taken at n <= 2048, the sizes both grids have.
TOLERANCES = {
    "dt_error": ("exact", 0, "largest error of dualtape's sparse Jacobians"),
    "fd2_tri_error": ("log10", 1.0, "largest error, 2-point FD, tridiagonal"),
    "fd3_tri_error": ("log10", 1.0, "largest error, 3-point FD, tridiagonal"),
    "fd2_arrow_error": ("log10", 1.0, "largest error, 2-point FD, arrowhead"),
    "fd3_arrow_error": ("log10", 1.0, "largest error, 3-point FD, arrowhead"),
    "tri_colors": ("exact", 0, "passes of dualtape, tridiagonal"),
    "arrow_colors": ("exact", 0, "passes of dualtape, arrowhead"),
    "arrow_fd2_evals": ("exact", 0, "f evaluations of 2-point FD, arrowhead, n = 2048"),
    "arrow_speedup": ("log10", 0.5, "time 2-point FD / time dualtape, arrowhead, n = 2048"),
}


def numbers(records: list[dict], results_dir=None) -> dict:
    """The headline quantities of this experiment (see TOLERANCES), from its records and
    its error side table."""
    keys = (*KEYS, "method")
    rows, _ = C.with_side_table(NAME, "error", records, results_dir, keys, error_row)
    rows = [r for r in rows if r["n"] <= 2048]

    def worst(problem, method):
        return max(r["max_error"] for r in rows if r["problem"] == problem
                   and r["method"] == method)

    def v(col, **w):
        return C.value(rows, col, **w)

    return {
        "dt_error": max(r["max_error"] for r in rows if r["method"].startswith("dt")),
        "fd2_tri_error": worst("tridiagonal", "fd_2point"),
        "fd3_tri_error": worst("tridiagonal", "fd_3point"),
        "fd2_arrow_error": worst("arrowhead", "fd_2point"),
        "fd3_arrow_error": worst("arrowhead", "fd_3point"),
        "tri_colors": v("evaluations", problem="tridiagonal", n=2048, method="dt_sparse"),
        "arrow_colors": v("evaluations", problem="arrowhead", n=2048, method="dt_sparse"),
        "tri_fd2_evals": v("evaluations", problem="tridiagonal", n=2048, method="fd_2point"),
        "arrow_fd2_evals": v("evaluations", problem="arrowhead", n=2048, method="fd_2point"),
        "arrow_fd3_evals": v("evaluations", problem="arrowhead", n=2048, method="fd_3point"),
        "arrow_dt_ms": 1e3 * v("time_s", problem="arrowhead", n=2048, method="dt_sparse"),
        "arrow_fd2_ms": 1e3 * v("time_s", problem="arrowhead", n=2048, method="fd_2point"),
        "arrow_fd3_ms": 1e3 * v("time_s", problem="arrowhead", n=2048, method="fd_3point"),
        "arrow_speedup": v("time_s", problem="arrowhead", n=2048, method="fd_2point")
        / v("time_s", problem="arrowhead", n=2048, method="dt_sparse"),
        "tri_dt_ms": 1e3 * v("time_s", problem="tridiagonal", n=2048, method="dt_sparse"),
        "tri_fd2_ms": 1e3 * v("time_s", problem="tridiagonal", n=2048, method="fd_2point"),
    }
