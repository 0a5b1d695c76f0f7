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


STYLE = {"full": ("tab:red", "o"), "diagonal": ("tab:green", "^"), "sparse": ("tab:blue", "s")}
TITLES = {"relu": "ReLU (diagonal)", "tanh": "tanh (diagonal)",
          "softmax": "softmax (dense)", "linear": "linear Wx+b (dense)",
          "batched_mlp": f"batched tanh∘linear ({BLOCK}×{BLOCK} blocks)"}


def plot(records: list[dict], figures_dir="paper/figures", results_dir=None
         ) -> list[pathlib.Path]:
    import matplotlib.pyplot as plt

    from dualtape.harness.plots import save_figure

    keys = (*KEYS, "method")
    rows, spread = C.with_side_table(NAME, "info", records, results_dir, keys, info_row)
    layers = [ly for ly in LAYERS if any(r["layer"] == ly for r in rows)]
    fig, axes = plt.subplots(3, len(layers), figsize=(4.1 * len(layers), 11.0),
                             layout="constrained", squeeze=False)
    for j, layer in enumerate(layers):
        ax_t, ax_m, ax_p = axes[:, j]
        ns = sorted({r["n"] for r in rows if r["layer"] == layer})
        for method in methods_for(layer):
            color, marker = STYLE[method]
            w = {"layer": layer, "method": method}
            xs, ts = C.series(rows, "n", "time_s", w)
            if not xs:
                continue
            lo = C.series(spread["q25"], "n", "time_s", w)[1]
            hi = C.series(spread["q75"], "n", "time_s", w)[1]
            ok = len(lo) == len(hi) == len(xs)
            C.line(ax_t, xs, ts, method, color=color, marker=marker,
                   lo=lo if ok else None, hi=hi if ok else None)
            C.line(ax_m, *C.series(rows, "n", "peak_bytes", w), f"{method} peak",
                   color=color, marker=marker)
            C.line(ax_m, *C.series(rows, "n", "result_bytes", w), f"{method} result",
                   color=color, marker=marker, linestyle="--", mfc="white")
            # Full and sparse coincide (n passes) on dense layers, diagonal and sparse
            # (1 pass) on elementwise ones: hollow, larger markers keep all visible.
            big = {"markersize": 9, "mfc": "none"} if method != "sparse" else {}
            C.line(ax_p, *C.series(rows, "n", "passes", w), method, color=color,
                   marker=marker, **big)
        for ax in (ax_t, ax_m, ax_p):
            ax.set_xscale("log")
            ax.set_yscale("log")
            C.log2_ticks(ax, ns)
            ax.grid(True, which="major", alpha=0.3)
            ax.legend(fontsize="x-small", loc="upper left")
        ax_t.set_title(TITLES[layer], fontsize="medium")
        passes = [r["passes"] for r in rows if r["layer"] == layer and r.get("passes")]
        C.log2_ticks(ax_p, passes + [1], axis="y")
        ax_p.set_xlabel("n (inputs = outputs)")
        if j == 0:
            ax_t.set_ylabel("time per Jacobian (s, median)")
            ax_m.set_ylabel("memory (bytes): solid peak,\ndashed returned Jacobian")
            ax_p.set_ylabel("directional passes\n(n full, colours sparse, 1 diagonal)")
    fig.suptitle("Jacobians of layers by structure: dt.jacobian(f, x, structure=...); "
                 "time includes pattern detection and colouring for 'sparse'",
                 fontsize="medium")
    return list(save_figure(fig, pathlib.Path(figures_dir) / NAME))
