"""The cheap gradient principle: ω = cost(grad f) / cost(f) stays bounded (ω ≤ 4 for
the operation count, Griewank & Walther 2008) however many inputs f has.

Two families, on one grid (family, width, depth):

* ``mlp``: a tanh MLP (16 inputs, ``depth`` hidden layers of ``width`` units, 10
  classes) on a fixed batch of 32 samples, softmax cross-entropy loss, gradient with
  respect to every weight and bias (a list of (W, b) pairs) by ``dt.grad``;
* ``chain``: a scalar pushed through ``depth`` = k elementwise operations (tanh, sin,
  scaling, shifting in turn), width 1.

Methods: "f" (the plain numpy function) and "grad".  ω is reported from exact counts
(dualtape.count flops of grad over flops of f) and from wall-clock time.
"""

from __future__ import annotations

import pathlib

import numpy as np

import dualtape as dt
from dualtape.harness import sweep
from dualtape.layers import CrossEntropy, Linear, Tanh

import _common as C

NAME = "cheap_gradient"
DESCRIPTION = "ω = cost(grad)/cost(f) for MLPs (width, depth) and a scalar chain of k ops"
METHODS = ["f", "grad"]
KEYS = ("family", "width", "depth")
BATCH, D_IN, CLASSES = 32, 16, 10


def grids(quick: bool) -> list[dict[str, list]]:
    if quick:
        return [{"family": ["mlp"], "width": [8, 32, 128, 512, 1024], "depth": [1, 2, 4, 8]},
                {"family": ["chain"], "width": [1], "depth": C.powers(10, 1, 10_000)}]
    return [{"family": ["mlp"], "width": C.powers(2, 8, 2048), "depth": [1, 2, 4, 8, 16]},
            {"family": ["chain"], "width": [1], "depth": C.powers(10, 1, 100_000)}]


def make_mlp(width: int, depth: int, seed: int = 0):
    """(loss, params): loss(params) is the mean cross-entropy of the MLP on a fixed batch;
    params is a list of (W, b) pairs."""
    rng = np.random.default_rng(seed)
    sizes = [D_IN] + [width] * depth + [CLASSES]
    params = [(rng.standard_normal((o, i)) / np.sqrt(i), 0.1 * rng.standard_normal(o))
              for i, o in zip(sizes[:-1], sizes[1:])]
    X = rng.standard_normal((BATCH, D_IN))
    y = rng.integers(0, CLASSES, BATCH)
    act, loss_fn = Tanh(), CrossEntropy()

    def loss(params):
        h = X
        for j, (W, b) in enumerate(params):
            h = Linear(W, b)(h)
            if j < len(params) - 1:
                h = act(h)
        return loss_fn(h, y)

    return loss, params


def make_chain(k: int):
    """(f, x): f applies k scalar elementwise operations to a 0-d array x."""
    def f(x):
        for i in range(k):
            r = i % 4
            if r == 0:
                x = np.tanh(x)
            elif r == 1:
                x = np.sin(x)
            elif r == 2:
                x = 1.5 * x
            else:
                x = x + 0.25
        return x

    return f, np.array(0.3)


def case(method: str, family: str, width: int, depth: int):
    f, arg = make_mlp(width, depth) if family == "mlp" else make_chain(depth)
    return (f if method == "f" else dt.grad(f)), (arg,)


def run(quick: bool = True, results_dir="experiments/results", progress=True) -> list[dict]:
    C.pin_blas_threads(1)
    records = []
    for g in grids(quick):
        records += sweep(case, grid=g, methods=METHODS, repeats=7, name=NAME,
                         out_dir=results_dir, count=True, progress=progress, quick=quick)
    return records


def parameters(width: int, depth: int) -> int:
    sizes = [D_IN] + [width] * depth + [CLASSES]
    return sum(o * i + o for i, o in zip(sizes[:-1], sizes[1:]))


def plot(records: list[dict], figures_dir="paper/figures") -> list[pathlib.Path]:
    import matplotlib.pyplot as plt

    from dualtape.harness.plots import paper_style, save_figure

    paper_style()
    rat = C.ratio_records(records, KEYS)
    for r in rat:
        r["parameters"] = parameters(r["width"], r["depth"]) if r["family"] == "mlp" else 1
    fig, axes = plt.subplots(1, 3, figsize=(7.4, 3.6), layout="constrained")
    cmap = plt.get_cmap("viridis")

    def band(ax):
        ax.axhspan(1.0, 4.0, color="tab:green", alpha=0.10, zorder=0)
        ax.axhline(4.0, color="tab:green", linewidth=1.2, linestyle="-", label="ω = 4")

    mlp = [r for r in rat if r["family"] == "mlp"]
    depths = sorted({r["depth"] for r in mlp})
    for ax, quantity, what, letter in [(axes[0], "flops_ratio", "counts", "a"),
                                       (axes[1], "time_ratio", "time", "b")]:
        band(ax)
        for i, d in enumerate(depths):
            where = {"depth": d, "method": "grad"}
            xs, ys = C.series(mlp, "parameters", quantity, {**where, "statistic": "median"})
            if not xs:
                continue
            lo = hi = None
            if quantity == "time_ratio":
                lo = C.series(mlp, "parameters", quantity, {**where, "statistic": "q25"})[1]
                hi = C.series(mlp, "parameters", quantity, {**where, "statistic": "q75"})[1]
            color = cmap(i / max(1, len(depths) - 1) * 0.9)
            ax.plot(xs, ys, marker="o", markersize=3, color=color, label=f"depth {d}")
            if lo and hi and len(lo) == len(xs) == len(hi):
                ax.fill_between(xs, lo, hi, color=color, alpha=0.15, linewidth=0)
        ax.set_xscale("log")
        ax.set_xlabel("MLP parameters (weights + biases)")
        ax.set_ylabel(f"ω = cost(grad) / cost(f), {what}")
        ax.set_title(f"({letter}) MLP, ω by {what}")
        ax.grid(True, alpha=0.3)

    # Counts: linear axis from 0 shows the band; time may exceed it by far: log axis.
    axes[0].set_ylim(0, 5)
    axes[1].set_yscale("log")

    ax = axes[2]
    band(ax)
    chain = [r for r in rat if r["family"] == "chain" and r["method"] == "grad"]
    for quantity, what, style in [("flops_ratio", "counts", "-"), ("time_ratio", "time", "--")]:
        xs, ys = C.series(chain, "depth", quantity, {"statistic": "median"})
        if xs:
            ax.plot(xs, ys, marker="o" if what == "counts" else "s", linestyle=style,
                    markersize=3, color="k", label=f"ω by {what}",
                    mfc="white" if what == "time" else None)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("chain length k (scalar operations)")
    ax.set_ylabel("ω = cost(grad) / cost(f)")
    ax.set_title("(c) scalar chain")
    ax.grid(True, which="major", alpha=0.3)

    for a in axes:
        a.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    fig.suptitle("Cheap gradient principle: ω = cost(gradient) / cost(function); "
                 "green: 1 ≤ ω ≤ 4")
    return list(save_figure(fig, pathlib.Path(figures_dir) / NAME, records=records))


#: Headline quantities: (kind, tolerance, description), see modes_vs_n_m.TOLERANCES.
TOLERANCES = {
    "mlp_count_min": ("abs", 0.1, "smallest ω of the MLPs (counts)"),
    "mlp_count_max": ("abs", 0.1, "largest ω of the MLPs (counts)"),
    "chain_count_1": ("abs", 0.01, "ω of the chain of one operation (counts)"),
    "chain_count_long": ("abs", 0.05, "ω of the longest chain (counts)"),
    "mlp_time_wide_min": ("rel", 0.5, "smallest ω by time at width 1024"),
    "mlp_time_wide_max": ("rel", 0.5, "largest ω by time at width 1024"),
    "chain_time_min": ("rel", 0.5, "smallest ω by time of the chain"),
    "chain_time_max": ("rel", 0.5, "largest ω by time of the chain"),
}


def numbers(records: list[dict], results_dir=None) -> dict:
    """The headline quantities of this experiment (see TOLERANCES), from its records."""
    rat = [r for r in C.ratio_records(records, KEYS) if r["statistic"] == "median"]
    mlp = [r for r in rat if r["family"] == "mlp"]
    chain = [r for r in rat if r["family"] == "chain"]
    wide = [r["time_ratio"] for r in mlp if r["width"] == 1024]
    longest = max(r["depth"] for r in chain)
    counts = [r["flops_ratio"] for r in mlp]
    return {
        "mlp_count_min": min(counts), "mlp_count_max": max(counts),
        "mlp_time_min": min(r["time_ratio"] for r in mlp),
        "mlp_time_max": max(r["time_ratio"] for r in mlp),
        "mlp_time_wide_min": min(wide) if wide else None,
        "mlp_time_wide_max": max(wide) if wide else None,
        "chain_count_1": C.value(chain, "flops_ratio", depth=1),
        "chain_count_long": C.value(chain, "flops_ratio", depth=longest),
        "chain_longest": longest,
        "chain_time_min": min(r["time_ratio"] for r in chain),
        "chain_time_max": max(r["time_ratio"] for r in chain),
        "width_max": max(r["width"] for r in mlp), "depth_max": max(r["depth"] for r in mlp),
        "parameters_max": max(parameters(r["width"], r["depth"]) for r in mlp),
    }
