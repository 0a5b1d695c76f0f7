"""Full, diagonal and sparse Jacobians of neural-network layers as the size n grows.

Layers (from ``dualtape.layers``), each a map R^n -> R^n of one vector x:

* ``relu``, ``tanh``: elementwise, so the Jacobian is diagonal (1 colour);
* ``softmax``: dense, diag(p) - p pᵀ (n colours);
* ``linear``: x ↦ W x + b with a dense n×n W (n colours);
* ``batched_mlp``: x reshaped to a batch (n/16, 16), then tanh(Linear(16→16)):
  block diagonal with 16×16 blocks, so 16 colours whatever n is.

Methods: "full" (``dt.jacobian(structure="full")``, dense n×n), "diagonal"
(``structure="diagonal"``, only for the elementwise layers: one forward pass) and
"sparse" (``structure="sparse"``: detect the pattern, colour, compressed pass,
decompress to CSR; the timing includes detection and colouring).  Reported: time and
tracemalloc peak memory (from the sweep), and, in the side table
``results/jacobian_structures_info.csv``, the directional passes (n for full, the
colours for sparse, 1 for diagonal), the colouring lower bound, the stored non-zeros and
the bytes of the returned Jacobian.  (Operation counts are off: ``dt.count`` cannot run
``dt.jacobian`` with a counted argument, see experiments/README.md.)
"""

from __future__ import annotations

import pathlib

import numpy as np

import dualtape as dt
from dualtape.harness import sweep
from dualtape.layers import Linear, ReLU, Softmax, Tanh

import _common as C

NAME = "jacobian_structures"
DESCRIPTION = "full vs diagonal vs sparse Jacobians of layers: time, memory, colours vs n"
KEYS = ("layer", "n")
BLOCK = 16
LAYERS = ["relu", "tanh", "softmax", "linear", "batched_mlp"]
ELEMENTWISE = ("relu", "tanh")


def methods_for(layer: str) -> list[str]:
    return ["full", "diagonal", "sparse"] if layer in ELEMENTWISE else ["full", "sparse"]


def sizes(layer: str, quick: bool) -> list[int]:
    # Sparse on a dense pattern (softmax, linear) pays a distance-2 colouring of a dense
    # graph, O(n^3): those layers stop earlier.
    dense = layer in ("softmax", "linear")
    if quick:
        return C.powers(2, 16, 512 if dense else 2048)
    return C.powers(2, 16, 2048 if dense else 8192)


def make_layer(layer: str, n: int, seed: int = 0):
    """(f, x) for one layer at size n."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    if layer == "relu":
        return ReLU(), x
    if layer == "tanh":
        return Tanh(), x
    if layer == "softmax":
        return Softmax(), x
    if layer == "linear":
        lin = Linear(rng.standard_normal((n, n)) / np.sqrt(n), rng.standard_normal(n))
        return lin, x
    if layer == "batched_mlp":
        lin = Linear(rng.standard_normal((BLOCK, BLOCK)) / np.sqrt(BLOCK),
                     rng.standard_normal(BLOCK))
        act = Tanh()

        def mlp(v):
            return act(lin(v.reshape(n // BLOCK, BLOCK))).reshape(n)

        return mlp, x
    raise ValueError(f"unknown layer {layer!r}")


def case(method: str, layer: str, n: int):
    f, x = make_layer(layer, n)

    def jac(v):
        return dt.jacobian(f, v, structure=method)

    return jac, (x,)


def _result_bytes(J) -> int:
    if isinstance(J, np.ndarray):
        return int(J.nbytes)
    return int(sum(getattr(J, a).nbytes for a in ("data", "indices", "indptr")
                   if hasattr(J, a)))


def info_row(key) -> dict:
    """The side-table columns of one (layer, n, method): what dt.jacobian reports."""
    f, x = make_layer(key["layer"], key["n"])
    J, info = dt.jacobian(f, x, structure=key["method"], return_info=True)
    return {"mode": info.mode, "passes": info.passes, "colors": info.colors,
            "lower_bound": info.lower_bound,
            "nnz": info.nnz if info.nnz is not None else int(np.count_nonzero(J)),
            "result_bytes": _result_bytes(J)}


def run(quick: bool = True, results_dir="experiments/results", progress=True) -> list[dict]:
    C.pin_blas_threads(1)
    records = []
    for layer in LAYERS:
        records += sweep(case, grid={"layer": [layer], "n": sizes(layer, quick)},
                         methods=methods_for(layer), repeats=5, name=NAME,
                         out_dir=results_dir, count=False, progress=progress, quick=quick)
    keys = (*KEYS, "method")
    wanted = [{k: r[k] for k in keys} for r in records if r["statistic"] == "median"]
    C.update_side_table(C.side_table_path(NAME, "info", results_dir), keys, wanted,
                        info_row, quick=quick)
    return records


COLORS = {"relu": "tab:orange", "tanh": "tab:green", "softmax": "tab:purple",
          "linear": "tab:red", "batched_mlp": "tab:blue"}
LABELS = {"relu": "ReLU", "tanh": "tanh", "softmax": "softmax", "linear": "linear Wx+b",
          "batched_mlp": f"batched ({BLOCK}×{BLOCK} blocks)"}
DASH = {"sparse": "-", "diagonal": ":"}
# Layers of equal structure give equal lines (ReLU and tanh; softmax and linear): hollow
# large markers under small filled ones keep both visible.
MARKERS = {"relu": ("o", 6, "none"), "tanh": ("o", 2.5, None), "softmax": ("s", 6, "none"),
           "linear": ("s", 2.5, None), "batched_mlp": ("^", 3.5, None)}


def plot(records: list[dict], figures_dir="paper/figures", results_dir=None
         ) -> list[pathlib.Path]:
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from dualtape.harness.plots import paper_style, save_figure

    paper_style()
    keys = (*KEYS, "method")
    rows, _ = C.with_side_table(NAME, "info", records, results_dir, keys, info_row)
    by = {(r["layer"], r["n"], r["method"]): r for r in rows}
    layers = [ly for ly in LAYERS if any(r["layer"] == ly for r in rows)]
    fig, grid = plt.subplots(2, 2, figsize=(6.4, 5.8), layout="constrained")
    axes, key_ax = [grid[0, 0], grid[0, 1], grid[1, 0]], grid[1, 1]
    all_n = sorted({r["n"] for r in rows})
    for layer in layers:
        ns = sorted({r["n"] for r in rows if r["layer"] == layer})
        for method in methods_for(layer)[1:]:
            pts = [(n, by[(layer, n, "full")], by[(layer, n, method)]) for n in ns
                   if (layer, n, "full") in by and (layer, n, method) in by]
            if not pts:
                continue
            marker, size, face = MARKERS[layer]
            style = {"color": COLORS[layer], "linestyle": DASH[method], "marker": marker,
                     "markersize": size, "mfc": face}
            xs = [p[0] for p in pts]
            axes[0].plot(xs, [f["time_s"] / s["time_s"] for _, f, s in pts], **style)
            axes[1].plot(xs, [f["result_bytes"] / s["result_bytes"] for _, f, s in pts],
                         **style)
            if method == "sparse":
                axes[2].plot(xs, [s["passes"] for _, f, s in pts], **style)
    axes[2].plot(all_n, all_n, color="0.4", linestyle=(0, (5, 3)), linewidth=1)
    axes[2].text(all_n[-1], all_n[-1], " full: n passes", fontsize=6, color="0.3",
                 ha="right", va="bottom")
    for ax in axes[:2]:
        ax.axhline(1.0, color="0.4", linewidth=0.8)
    titles = ["(a) speed-up over the full Jacobian\n(time full / time structured)",
              "(b) size of the full Jacobian over\nthe structured one (bytes)",
              "(c) directional passes (colours)\nof the sparse Jacobian"]
    for ax, title in zip(axes, titles):
        ax.set_xscale("log")
        ax.set_yscale("log")
        C.log2_ticks(ax, all_n)
        ax.grid(True, which="major", alpha=0.3)
        ax.set_title(title)
        ax.set_xlabel("n (inputs = outputs)")
    axes[0].set_ylabel("ratio (> 1: structure pays)")
    axes[1].set_ylabel("ratio")
    axes[2].set_ylabel("passes")
    handles = [Line2D([], [], color=COLORS[ly], marker=MARKERS[ly][0],
                      markersize=MARKERS[ly][1], mfc=MARKERS[ly][2], label=LABELS[ly])
               for ly in layers]
    handles += [Line2D([], [], color="0.2", linestyle=DASH[m], label=f"structure='{m}'")
                for m in ("sparse", "diagonal")]
    key_ax.axis("off")
    key_ax.legend(handles=handles, loc="center", frameon=False, title="layer / method")
    fig.suptitle("Jacobians of layers by structure: dt.jacobian(f, x, structure=...)\n"
                 "time of 'sparse' includes pattern detection and colouring")
    return list(save_figure(fig, pathlib.Path(figures_dir) / NAME, records=records))


#: Headline quantities: (kind, tolerance, description), see modes_vs_n_m.TOLERANCES.
TOLERANCES = {
    "elementwise_colors": ("exact", 0, "colours of the elementwise layers"),
    "batched_colors": ("exact", 0, "colours of the batched layer at every n"),
    "relu_speedup": ("log10", 0.5, "time full / time diagonal, ReLU at n = 2048"),
    "relu_full_mb": ("rel", 0.25, "peak memory of ReLU's full Jacobian at n = 2048 (MB)"),
    "batched_speedup": ("log10", 0.5, "time full / time sparse, batched layer at n = 2048"),
    "softmax_slowdown": ("log10", 0.5, "time sparse / time full, softmax at n = 512"),
}


def numbers(records: list[dict], results_dir=None) -> dict:
    """The headline quantities of this experiment (see TOLERANCES), from its records and
    its side table."""
    keys = (*KEYS, "method")
    rows, _ = C.with_side_table(NAME, "info", records, results_dir, keys, info_row)

    def v(col, **w):
        return C.value(rows, col, **w)

    colors = {r["colors"] for r in rows if r["method"] == "sparse"
              and r["layer"] in ELEMENTWISE}
    batched = {r["colors"] for r in rows if r["method"] == "sparse"
               and r["layer"] == "batched_mlp"}
    return {
        "elementwise_colors": colors.pop() if len(colors) == 1 else None,
        "batched_colors": batched.pop() if len(batched) == 1 else None,
        "relu_full_ms": 1e3 * v("time_s", layer="relu", n=2048, method="full"),
        "relu_diag_ms": 1e3 * v("time_s", layer="relu", n=2048, method="diagonal"),
        "relu_speedup": v("time_s", layer="relu", n=2048, method="full")
        / v("time_s", layer="relu", n=2048, method="diagonal"),
        "relu_full_mb": v("peak_bytes", layer="relu", n=2048, method="full") / 1e6,
        "relu_diag_mb": v("peak_bytes", layer="relu", n=2048, method="diagonal") / 1e6,
        "batched_full_ms": 1e3 * v("time_s", layer="batched_mlp", n=2048, method="full"),
        "batched_sparse_ms": 1e3 * v("time_s", layer="batched_mlp", n=2048, method="sparse"),
        "batched_speedup": v("time_s", layer="batched_mlp", n=2048, method="full")
        / v("time_s", layer="batched_mlp", n=2048, method="sparse"),
        "softmax_full_ms": 1e3 * v("time_s", layer="softmax", n=512, method="full"),
        "softmax_sparse_ms": 1e3 * v("time_s", layer="softmax", n=512, method="sparse"),
        "softmax_slowdown": v("time_s", layer="softmax", n=512, method="sparse")
        / v("time_s", layer="softmax", n=512, method="full"),
        "n_max": max(r["n"] for r in rows),
    }
