"""Forward versus reverse mode for a full Jacobian as the input size n and the output
size m grow.

f(x) = sin(z)·z + exp(-z²) with z = tanh(A x), A an m×n matrix (fixed seed): one
matrix product and a few elementwise operations, so cost(f) ~ m·n.  The full Jacobian
costs about n·cost(f) by forward mode (n tangent directions) and m·cost(f) by reverse
mode (m adjoint directions).  The plotted quantity is the ratio cost(J)/cost(f), in
exact operation counts (dualtape.count flops) and in wall-clock time, because cost(f)
itself grows with n and m.  Expected: slope 1 in n for forward (flat in m), slope 1 in
m for reverse (flat in n), and forward cheaper exactly when n < m (crossover n ≈ m).
"""

from __future__ import annotations

import pathlib

import numpy as np

import dualtape as dt
from dualtape.harness import sweep

import _common as C

NAME = "modes_vs_n_m"
DESCRIPTION = "full Jacobian by jacfwd vs jacrev relative to f, over n and m (counts, time)"
METHODS = ["f", "jacfwd", "jacrev"]
KEYS = ("n", "m")


def grid(quick: bool) -> dict[str, list[int]]:
    if quick:
        return {"n": C.powers(2, 1, 1024), "m": C.powers(2, 1, 1024)}
    return {"n": C.powers(4, 1, 4096), "m": C.powers(4, 1, 4096)}


def case(method: str, n: int, m: int):
    f, x = C.tanh_problem(n, m)
    fn = {"f": f, "jacfwd": dt.jacfwd(f), "jacrev": dt.jacrev(f)}[method]
    return fn, (x,)


def run(quick: bool = True, results_dir="experiments/results", progress=True) -> list[dict]:
    C.pin_blas_threads(1)
    return sweep(case, grid=grid(quick), methods=METHODS, repeats=5,
                 name=NAME, out_dir=results_dir, count=True, progress=progress, quick=quick)


def _fixed(values: list[int]) -> int:
    """The fixed size of a slice: the largest grid value, where cost(f) is dominated by
    arithmetic rather than by the interpreter's constant per-call overhead, so that the
    time ratio means what the count ratio means."""
    return max(values)


def plot(records: list[dict], figures_dir="paper/figures") -> list[pathlib.Path]:
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    from dualtape.harness.plots import paper_style, save_figure

    paper_style()
    rat = C.ratio_records(records, KEYS)
    ns = sorted({r["n"] for r in rat})
    ms = sorted({r["m"] for r in rat})
    m0, n0 = _fixed(ms), _fixed(ns)
    fig, axes = plt.subplots(2, 2, figsize=(7.2, 7.4), layout="constrained")
    colors = {"jacfwd": "tab:blue", "jacrev": "tab:red"}

    for ax, x, other, fixed, sizes in [(axes[0, 0], "n", "m", m0, ns),
                                       (axes[0, 1], "m", "n", n0, ms)]:
        fit_from = sizes[-1] / 16 if len(sizes) > 3 else None
        for method in ("jacfwd", "jacrev"):
            for quantity, style, what in [("flops_ratio", "-", "counts"),
                                          ("time_ratio", "--", "time")]:
                where = {"method": method, other: fixed}
                xs, ys = C.series(rat, x, quantity, {**where, "statistic": "median"})
                band = {}
                if quantity == "time_ratio":
                    for s in ("q25", "q75"):
                        band[s] = C.series(rat, x, quantity, {**where, "statistic": s})[1]
                if not xs:
                    continue
                C.line(ax, xs, ys, f"{method} {what}", fit_from=fit_from, xname=x,
                       color=colors[method], linestyle=style,
                       marker="o" if what == "counts" else "s",
                       mfc="white" if what == "time" else None,
                       lo=band.get("q25"), hi=band.get("q75"))
        xs = sizes
        C.reference(ax, xs, xs[-1], xs[-1], 1.0, f"slope 1 (ratio = {x})")
        ax.set_xscale("log")
        ax.set_yscale("log")
        C.log2_ticks(ax, sizes)
        ax.set_xlabel(f"{'input size n' if x == 'n' else 'output size m'}")
        ax.set_ylabel("cost(Jacobian) / cost(f)")
        ax.set_title(f"({'a' if x == 'n' else 'b'}) against {x}, {other} = {fixed}")
        ax.grid(True, which="major", alpha=0.3)
        # Below the panel: inside, the legend would hide the flat line of the other mode.
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1, frameon=False)

    # (n, m) plane: which mode is cheaper, by how much (log2 of fwd/rev), on one colour
    # scale for counts and time so that the two maps can be compared.
    planes = {}
    for quantity in ("flops_ratio", "time_ratio"):
        table = {(r["n"], r["m"], r["method"]): r[quantity] for r in rat
                 if r["statistic"] == "median"}
        Z = np.full((len(ms), len(ns)), np.nan)
        for i, m in enumerate(ms):
            for j, n in enumerate(ns):
                a, b = table.get((n, m, "jacfwd")), table.get((n, m, "jacrev"))
                if a and b:
                    Z[i, j] = np.log2(a / b)
        planes[quantity] = Z
    finite = [np.nanmax(np.abs(Z)) for Z in planes.values() if np.isfinite(Z).any()]
    lim = max([1.0, *map(float, finite)])
    norm = TwoSlopeNorm(0.0, -lim, lim)
    for ax, quantity, what, letter in [(axes[1, 0], "flops_ratio", "counts", "c"),
                                       (axes[1, 1], "time_ratio", "time", "d")]:
        Z = planes[quantity]
        mesh = ax.pcolormesh(np.arange(len(ns) + 1), np.arange(len(ms) + 1), Z,
                             cmap="RdBu_r", norm=norm, shading="flat")
        k = min(len(ns), len(ms))
        ax.plot([0, k], [0, k], color="k", linewidth=1.2, label="n = m (predicted)")
        if np.isfinite(Z).any() and np.nanmin(Z) < 0 < np.nanmax(Z):
            ax.contour(np.arange(len(ns)) + 0.5, np.arange(len(ms)) + 0.5, Z, levels=[0.0],
                       colors="gold", linewidths=1.8, linestyles="-")
            ax.plot([], [], color="gold", linewidth=1.8, label="measured equal cost")
        step = 2 if len(ns) > 9 else 1
        ax.set_xticks(np.arange(len(ns))[::step] + 0.5, [str(v) for v in ns][::step])
        ax.set_yticks(np.arange(len(ms))[::step] + 0.5, [str(v) for v in ms][::step])
        ax.set_xlabel("input size n")
        ax.set_ylabel("output size m")
        ax.set_title(f"({letter}) cheaper mode by {what}")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    cb = fig.colorbar(mesh, ax=list(axes[1, :]), shrink=0.85, pad=0.02)
    cb.set_label("log2(cost fwd / cost rev); blue: forward cheaper")

    fig.suptitle("Full Jacobian of f(x) = sin(z)·z + exp(−z²), z = tanh(Ax), A ∈ R^{m×n}\n"
                 "solid: exact counts (flops); dashed: median time (shaded: q25–q75)")
    return list(save_figure(fig, pathlib.Path(figures_dir) / NAME, records=records))


#: Headline quantities: (kind, tolerance, description); kinds are "abs", "rel", "log10"
#: (difference of decimal logarithms) and "exact".  A quick run is compared with the
#: paper's full grid, so slopes are fitted at the largest fixed size of each grid.
TOLERANCES = {
    "fwd_count_slope": ("abs", 0.05, "slope in n of jacfwd's flop ratio (counts)"),
    "rev_count_slope": ("abs", 0.05, "slope in m of jacrev's flop ratio (counts)"),
    "fwd_count_flat": ("abs", 0.05, "slope in m of jacfwd's flop ratio (counts)"),
    "rev_count_flat": ("abs", 0.05, "slope in n of jacrev's flop ratio (counts)"),
    "count_crossover": ("exact", 0, "share of points off n = m where counts pick the mode "
                                    "n < m predicts"),
    "fwd_time_slope": ("abs", 0.35, "slope in n of jacfwd's time ratio"),
    "rev_time_slope": ("abs", 0.35, "slope in m of jacrev's time ratio"),
}


def numbers(records: list[dict], results_dir=None) -> dict:
    """The headline quantities of this experiment (see TOLERANCES), from its records."""
    rat = C.ratio_records(records, KEYS)
    ns = sorted({r["n"] for r in rat})
    ms = sorted({r["m"] for r in rat})
    n0, m0 = max(ns), max(ms)
    out = {"n_max": n0, "m_max": m0}
    for name, method, x, other, fixed, q in [
            ("fwd_count_slope", "jacfwd", "n", "m", m0, "flops_ratio"),
            ("rev_count_slope", "jacrev", "m", "n", n0, "flops_ratio"),
            ("fwd_count_flat", "jacfwd", "m", "n", n0, "flops_ratio"),
            ("rev_count_flat", "jacrev", "n", "m", m0, "flops_ratio"),
            ("fwd_time_slope", "jacfwd", "n", "m", m0, "time_ratio"),
            ("rev_time_slope", "jacrev", "m", "n", n0, "time_ratio"),
            ("fwd_time_flat", "jacfwd", "m", "n", n0, "time_ratio"),
            ("rev_time_flat", "jacrev", "n", "m", m0, "time_ratio")]:
        sizes = ns if x == "n" else ms
        out[name] = C.fixed_slope(rat, x, q, {"method": method, other: fixed},
                                  fit_from=sizes[-1] / 16)
    out["fit_from"] = max(ns) / 16
    agree = total = 0
    for n in ns:
        for m in ms:
            a = C.value(rat, "flops_ratio", method="jacfwd", n=n, m=m)
            b = C.value(rat, "flops_ratio", method="jacrev", n=n, m=m)
            if n != m and a is not None and b is not None:
                total += 1
                agree += (a < b) == (n < m)
    out["count_crossover"] = agree / total if total else None
    return out
