"""Sparse Hessians by colouring: dense, n HVPs, distance-2, star and acyclic, against n.

Three scalar objectives of x in R^n, written with plain numpy, whose Hessians are
written out below in closed form:

* ``tridiagonal``: the chained Rosenbrock function
  Σ 100 (x_{i+1} − x_i²)² + (1 − x_i)²; tridiagonal Hessian (a path graph).
* ``arrowhead``: Σ x_i² + x_0 Σ_{i≥1} sin(x_i); one dense row and column plus the
  diagonal (a star graph).  A distance-2 colouring (the Hessian coloured as a general
  Jacobian) needs n colours, a star colouring 2.
* ``stencil``: a 2-D five-point-stencil energy on an s × s grid (n = s²),
  Σ_{neighbours p~q} φ(u_p − u_q) + Σ_p cos(u_p) with φ(d) = d²/2 + d⁴/12; the
  Hessian has the five-point pattern.

Methods (each returns the Hessian; the time of the sparse ones includes detecting the
pattern and colouring it):

* ``dense``: ``dt.hessian(f)(x)``, forward over reverse with n directions, an n × n array;
* ``hvps``: n Hessian-vector products, one per unit vector, by ``dt.make_hvp`` (the
  gradient recorded once, n forward passes over it);
* ``distance2``: ``dt.jacobian(dt.grad(f), x, structure="sparse", mode="fwd")``: the
  Hessian as the Jacobian of the gradient, column (distance-2) colouring, symmetry
  unused;
* ``star``, ``acyclic``: ``dt.hessian(f, structure="sparse", method=...)``: symmetric
  colourings, direct recovery or recovery by substitution.

The side table ``results/sparse_hessian_info.csv`` (columns problem, n, method, passes,
colors, lower_bound, nnz, max_error, rel_error) holds the Hessian-vector products each
method needs (n for dense and hvps, the colours otherwise) and its error against the
closed form, max |H − H_exact| and that over max |H_exact|, computed once per
(problem, n, method) after the sweep.  Operation counts are off (``dt.count`` cannot
follow ``dt.hessian`` of a counted argument, see experiments/README.md).
"""

from __future__ import annotations

import pathlib

import numpy as np
import scipy.sparse as sps

import dualtape as dt
from dualtape.harness import sweep

import _common as C

NAME = "sparse_hessian"
DESCRIPTION = "sparse Hessians: dense vs n HVPs vs distance-2, star, acyclic colourings"
KEYS = ("problem", "n")
PROBLEMS = ["tridiagonal", "arrowhead", "stencil"]
METHODS = ["dense", "hvps", "distance2", "star", "acyclic"]
SPARSE = ("star", "acyclic")


# ---- objectives and their Hessians in closed form ------------------------------------
def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_hessian(x):
    d = np.zeros(x.size)
    d[:-1] += 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    d[1:] += 200.0
    off = -400.0 * x[:-1]
    return sps.diags_array([off, d, off], offsets=[-1, 0, 1], format="csr")


def arrowhead(x):
    return np.sum(x * x) + x[0] * np.sum(np.sin(x[1:]))


def arrowhead_hessian(x):
    """H[0, 0] = 2, H[i, i] = 2 − x_0 sin(x_i), H[0, i] = H[i, 0] = cos(x_i)."""
    n = x.size
    i = np.arange(1, n)
    diag = np.concatenate([[2.0], 2.0 - x[0] * np.sin(x[1:])])
    rows = np.concatenate([np.arange(n), np.zeros(n - 1, dtype=int), i])
    cols = np.concatenate([np.arange(n), i, np.zeros(n - 1, dtype=int)])
    vals = np.concatenate([diag, np.cos(x[1:]), np.cos(x[1:])])
    return sps.csr_array((vals, (rows, cols)), shape=(n, n))


def stencil(u):
    s = int(round(np.sqrt(u.size)))
    g = u.reshape(s, s)
    dx = g[1:, :] - g[:-1, :]
    dy = g[:, 1:] - g[:, :-1]
    return (np.sum(dx * dx / 2 + dx ** 4 / 12) + np.sum(dy * dy / 2 + dy ** 4 / 12)
            + np.sum(np.cos(u)))


def stencil_hessian(u):
    """Σ over neighbour pairs of φ''(u_p − u_q) (e_p − e_q)(e_p − e_q)ᵀ, φ'' = 1 + d²,
    minus diag(cos u)."""
    s = int(round(np.sqrt(u.size)))
    at = np.arange(u.size).reshape(s, s)
    p = np.concatenate([at[1:, :].ravel(), at[:, 1:].ravel()])
    q = np.concatenate([at[:-1, :].ravel(), at[:, :-1].ravel()])
    w = 1.0 + (u[p] - u[q]) ** 2
    rows = np.concatenate([p, q, p, q])
    cols = np.concatenate([p, q, q, p])
    vals = np.concatenate([w, w, -w, -w])
    H = sps.csr_array((vals, (rows, cols)), shape=(u.size, u.size))
    return (H - sps.diags_array(np.cos(u), format="csr")).tocsr()


FUNCTIONS = {"tridiagonal": (rosenbrock, rosenbrock_hessian),
             "arrowhead": (arrowhead, arrowhead_hessian),
             "stencil": (stencil, stencil_hessian)}


# ---- the grid --------------------------------------------------------------------------
def sizes(problem: str, method: str, quick: bool) -> list[int]:
    """The sizes of one (problem, method).  Dense and n HVPs cost n times a gradient
    (dense also stores n² numbers) and stop early; distance-2 on the arrowhead needs n
    colours, so it is as dense."""
    if problem == "stencil":
        side = C.powers(2, 4, 32 if quick else 128)          # n = 16 ... 1024 / 16384
        n_all = [s * s for s in side]
    else:
        n_all = C.powers(4, 16, 4096 if quick else 65536)
    dense_max = 256 if quick else 2048
    if method in ("dense", "hvps") or (problem == "arrowhead" and method == "distance2"):
        return [n for n in n_all if n <= dense_max]
    return n_all


def make_problem(problem: str, n: int, seed: int = 0):
    """(f, x, exact Hessian function) for one problem at size n."""
    f, hess = FUNCTIONS[problem]
    x = np.random.default_rng(seed).uniform(-1.0, 1.0, n)
    return f, x, hess


def hessian_fn(method: str, f):
    """The measured call v -> H (dense array or sparse matrix) for one method."""
    if method == "dense":
        return dt.hessian(f)
    if method == "hvps":
        def hvps(v):
            hvp = dt.make_hvp(f)(v)
            eye = np.eye(v.size)
            return np.stack([hvp(e) for e in eye], axis=1)
        return hvps
    if method == "distance2":
        return lambda v: dt.jacobian(dt.grad(f), v, structure="sparse", mode="fwd")
    return dt.hessian(f, structure="sparse", method=method)


def case(method: str, problem: str, n: int):
    f, x, _ = make_problem(problem, n)
    return hessian_fn(method, f), (x,)


def info_row(key) -> dict:
    """Passes, colours, lower bound, stored entries and error against the closed form
    of one (problem, n, method)."""
    f, x, hess = make_problem(key["problem"], key["n"])
    method, n = key["method"], key["n"]
    colors = lower = None
    if method in SPARSE:
        H, info = dt.hessian(f, structure="sparse", method=method, return_info=True)(x)
        passes, colors, lower = info.passes, info.colors, info.lower_bound
    elif method == "distance2":
        H, info = dt.jacobian(dt.grad(f), x, structure="sparse", mode="fwd",
                              return_info=True)
        passes, colors, lower = info.passes, info.colors, info.lower_bound
    else:
        H, passes = hessian_fn(method, f)(x), n
    exact = hess(x)
    diff = sps.csr_array(H) - exact
    err = float(abs(diff).max()) if diff.nnz else 0.0
    nnz = int(H.nnz) if sps.issparse(H) else int(np.count_nonzero(H))
    return {"passes": passes, "colors": colors, "lower_bound": lower, "nnz": nnz,
            "max_error": err, "rel_error": err / float(abs(exact).max())}


def run(quick: bool = True, results_dir="experiments/results", progress=True) -> list[dict]:
    C.pin_blas_threads(1)
    records = []
    for problem in PROBLEMS:
        # one sweep per set of methods that share their sizes
        groups: dict[tuple, list[str]] = {}
        for method in METHODS:
            groups.setdefault(tuple(sizes(problem, method, quick)), []).append(method)
        for ns, methods in groups.items():
            # dt.count cannot follow dt.hessian (see experiments/README.md): no counts
            records += sweep(case, grid={"problem": [problem], "n": list(ns)},
                             methods=methods, repeats=5, name=NAME, out_dir=results_dir,
                             count=False, progress=progress, quick=quick)
    keys = (*KEYS, "method")
    wanted = [{k: r[k] for k in keys} for r in records if r["statistic"] == "median"]
    C.update_side_table(C.side_table_path(NAME, "info", results_dir), keys, wanted,
                        info_row, quick=quick)
    return records


# ---- the figure ------------------------------------------------------------------------
STYLE = {"dense": ("0.35", "o", "--"), "hvps": ("tab:orange", "v", "--"),
         "distance2": ("tab:purple", "s", "-"), "star": ("tab:blue", "D", "-"),
         "acyclic": ("tab:green", "^", "-")}
LABELS = {"dense": "dense (fwd-over-rev)", "hvps": "n HVPs", "distance2": "distance-2",
          "star": "star", "acyclic": "acyclic"}
TITLES = {"tridiagonal": "tridiagonal\n(Rosenbrock)", "arrowhead": "arrowhead\n(dense row, column)",
          "stencil": "2-D five-point\nstencil energy"}


def plot(records: list[dict], figures_dir="paper/figures", results_dir=None
         ) -> list[pathlib.Path]:
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from dualtape.harness.plots import paper_style, save_figure

    paper_style()
    keys = (*KEYS, "method")
    rows, spread = C.with_side_table(NAME, "info", records, results_dir, keys, info_row)
    problems = [p for p in PROBLEMS if any(r["problem"] == p for r in rows)]
    fig, axes = plt.subplots(2, len(problems), figsize=(6.4, 4.9), layout="constrained",
                             squeeze=False, sharex="col")
    for j, problem in enumerate(problems):
        ax_p, ax_t = axes[:, j]
        for method in METHODS:
            color, marker, style = STYLE[method]
            w = {"problem": problem, "method": method}
            xs, ts = C.series(rows, "n", "time_s", w)
            if not xs:
                continue
            kw = {"color": color, "marker": marker, "linestyle": style, "markersize": 3.5,
                  "linewidth": 1.2}
            xp, ps = C.series(rows, "n", "passes", w)
            ax_p.plot(xp, ps, **kw)
            lo = C.series(spread["q25"], "n", "time_s", w)[1]
            hi = C.series(spread["q75"], "n", "time_s", w)[1]
            ax_t.plot(xs, ts, **kw)
            if len(lo) == len(hi) == len(xs):
                ax_t.fill_between(xs, lo, hi, color=color, alpha=0.18, linewidth=0)
            slope, _ = C.tail_slope(xs, ts, xs[-1] / 16)
            if slope is not None and method in ("star", "dense"):
                ax_t.annotate(f"{slope:.1f}", (xs[-1], ts[-1]), textcoords="offset points",
                              xytext=(3, -2), fontsize=6, color=color)
        for ax in (ax_p, ax_t):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.grid(True, which="major", alpha=0.3)
        ax_p.set_title(TITLES[problem])
        ax_t.set_xlabel("n = x.size" if problem != "stencil" else "n = s² (grid s × s)")
        ax_p.set_ylim(1, None)
    axes[0, 0].set_ylabel("Hessian-vector products")
    axes[1, 0].set_ylabel("time per Hessian (s)\nshaded: q25–q75")
    handles = [Line2D([], [], color=STYLE[m][0], marker=STYLE[m][1], linestyle=STYLE[m][2],
                      markersize=3.5, label=LABELS[m]) for m in METHODS]
    fig.legend(handles=handles, loc="outside upper center", ncol=len(METHODS),
               frameon=False, fontsize=7, handlelength=2.2, columnspacing=1.0,
               title="Hessians by method; sparse times include detecting the pattern and "
                     "colouring it; numbers: fitted slopes", title_fontsize=7)
    return list(save_figure(fig, pathlib.Path(figures_dir) / NAME, records=records))


# ---- headline quantities ---------------------------------------------------------------
#: (kind, tolerance, description), see modes_vs_n_m.TOLERANCES.  Colours at every size
#: or at n = AT_COLORS (32² for the stencil), errors at n <= AT_COLORS, time ratios at
#: n = AT (16² for the stencil), among the sparse methods at n = AT_LARGE: sizes both
#: grids have.  Ratios of calls within a few times of each other at n = AT (distance-2
#: against star on the arrowhead, dense against star on the stencil) are returned but
#: not compared: on a shared machine a quick run moved them by a factor of 4.
AT, AT_COLORS, AT_LARGE = 256, 1024, 4096
TOLERANCES = {
    "tri_star_colors": ("exact", 0, "star colours, tridiagonal, every n"),
    "tri_acyclic_colors": ("exact", 0, "acyclic colours, tridiagonal, every n"),
    "tri_d2_colors": ("exact", 0, "distance-2 colours, tridiagonal, every n"),
    "arrow_star_colors": ("exact", 0, "star colours, arrowhead, every n"),
    "arrow_acyclic_colors": ("exact", 0, "acyclic colours, arrowhead, every n"),
    "arrow_d2_colors": ("exact", 0, f"distance-2 colours, arrowhead, n = {AT}"),
    "stencil_star_colors": ("exact", 0, f"star colours, stencil, n = {AT_COLORS}"),
    "stencil_acyclic_colors": ("exact", 0, f"acyclic colours, stencil, n = {AT_COLORS}"),
    "stencil_d2_colors": ("exact", 0, f"distance-2 colours, stencil, n = {AT_COLORS}"),
    "direct_error": ("log10", 1.0, "largest relative error of dense, n HVPs, distance-2 "
                                   f"and star (n ≤ {AT_COLORS})"),
    "acyclic_error": ("log10", 1.0, f"largest relative error of acyclic (n ≤ {AT_COLORS})"),
    "tri_dense_over_star": ("log10", 0.5, f"time dense / time star, tridiagonal, n = {AT}"),
    "tri_hvps_over_star": ("log10", 0.5, f"time n HVPs / time star, tridiagonal, n = {AT}"),
    "tri_star_over_acyclic": ("log10", 0.5,
                              f"time star / time acyclic, tridiagonal, n = {AT_LARGE}"),
    "arrow_acyclic_over_star": ("log10", 0.5,
                                f"time acyclic / time star, arrowhead, n = {AT_COLORS}"),
}


def numbers(records: list[dict], results_dir=None) -> dict:
    """The headline quantities of this experiment (see TOLERANCES), from its records and
    its side table."""
    keys = (*KEYS, "method")
    rows, _ = C.with_side_table(NAME, "info", records, results_dir, keys, info_row)

    def v(col, **w):
        return C.value(rows, col, **w)

    def same(problem, method):
        """The colour count if it is the same at every n, else None."""
        found = {r["colors"] for r in rows if r["problem"] == problem
                 and r["method"] == method}
        return found.pop() if len(found) == 1 else None

    def ratio(problem, a, b, n=AT):
        ta, tb = v("time_s", problem=problem, n=n, method=a), \
            v("time_s", problem=problem, n=n, method=b)
        return None if ta is None or tb is None else ta / tb

    def ms(problem, method, n):
        t = v("time_s", problem=problem, n=n, method=method)
        return None if t is None else 1e3 * t

    small = [r for r in rows if r["n"] <= AT_COLORS]
    n_max = max((r["n"] for r in rows if r["problem"] == "tridiagonal"
                 and r["method"] == "star"), default=None)
    def top(problem, method):
        return max((r["n"] for r in rows if r["problem"] == problem
                    and r["method"] == method), default=None)

    # at the largest size the dense methods reach (grid-dependent, so not compared)
    dense_n_max = top("tridiagonal", "dense")
    return {
        "dense_n_max": dense_n_max,
        "tri_dense_over_star_max": ratio("tridiagonal", "dense", "star", dense_n_max),
        "tri_hvps_over_star_max": ratio("tridiagonal", "hvps", "star", dense_n_max),
        "stencil_dense_over_star_max": ratio("stencil", "dense", "star", dense_n_max),
        "arrow_d2_over_star_max": ratio("arrowhead", "distance2", "star", dense_n_max),
        "arrow_n_max": top("arrowhead", "star"),
        "arrow_star_ms_max": ms("arrowhead", "star", top("arrowhead", "star")),
        "stencil_n_max": top("stencil", "star"),
        "stencil_star_ms_max": ms("stencil", "star", top("stencil", "star")),
        "tri_star_colors": same("tridiagonal", "star"),
        "tri_acyclic_colors": same("tridiagonal", "acyclic"),
        "tri_d2_colors": same("tridiagonal", "distance2"),
        "arrow_star_colors": same("arrowhead", "star"),
        "arrow_acyclic_colors": same("arrowhead", "acyclic"),
        "arrow_d2_colors": v("colors", problem="arrowhead", n=AT, method="distance2"),
        "stencil_star_colors": v("colors", problem="stencil", n=AT_COLORS, method="star"),
        "stencil_acyclic_colors": v("colors", problem="stencil", n=AT_COLORS,
                                    method="acyclic"),
        "stencil_d2_colors": v("colors", problem="stencil", n=AT_COLORS,
                               method="distance2"),
        "direct_error": max(r["rel_error"] for r in small if r["method"] != "acyclic"),
        "acyclic_error": max(r["rel_error"] for r in small if r["method"] == "acyclic"),
        "tri_dense_over_star": ratio("tridiagonal", "dense", "star"),
        "tri_hvps_over_star": ratio("tridiagonal", "hvps", "star"),
        "arrow_d2_over_star": ratio("arrowhead", "distance2", "star"),
        "stencil_dense_over_star": ratio("stencil", "dense", "star"),
        "tri_star_over_acyclic": ratio("tridiagonal", "star", "acyclic", AT_LARGE),
        "arrow_acyclic_over_star": ratio("arrowhead", "acyclic", "star", AT_COLORS),
        "tri_dense_ms": ms("tridiagonal", "dense", AT),
        "tri_hvps_ms": ms("tridiagonal", "hvps", AT),
        "tri_star_ms": ms("tridiagonal", "star", AT),
        "tri_acyclic_ms": ms("tridiagonal", "acyclic", AT),
        "arrow_d2_ms": ms("arrowhead", "distance2", AT),
        "arrow_star_ms": ms("arrowhead", "star", AT),
        "tri_star_ms_large": ms("tridiagonal", "star", AT_LARGE),
        "tri_acyclic_ms_large": ms("tridiagonal", "acyclic", AT_LARGE),
        "tri_n_max": n_max,
        "tri_star_ms_max": ms("tridiagonal", "star", n_max),
        "tri_star_slope": C.fixed_slope(rows, "n", "time_s",
                                        {"problem": "tridiagonal", "method": "star"},
                                        fit_from=n_max / 16 if n_max else None),
    }
