"""Vector-mode chunking: time and peak memory of jacfwd and jacrev against chunk_size.

``dt.jacfwd(f, chunk_size=c)`` pushes c tangent directions per pass, so it makes
ceil(n / c) passes; ``dt.jacrev(f, chunk_size=c)`` pulls c adjoints per backward sweep,
ceil(m / c) sweeps.  The function is the one of ``modes_vs_n_m`` at fixed n = m.
Expected: the derivative arithmetic (derivative flops) does not depend on c, while
jacfwd re-evaluates the primal in every pass (primal flops ~ n/c; jacrev records the
tape once); the number of primitive applications (and with it the interpreter
overhead, hence the time while c is small) falls like 1/c; the peak memory of a pass
grows like c once the per-direction arrays dominate.  chunk_size = n is one pass (the
default, chunk_size=None).
"""

from __future__ import annotations

import pathlib

import dualtape as dt
from dualtape.harness import sweep

import _common as C

NAME = "chunk_size"
DESCRIPTION = "jacfwd / jacrev time and peak memory against chunk_size at fixed n = m"
METHODS = ["jacfwd", "jacrev"]


def size(quick: bool) -> int:
    return 512 if quick else 2048


def grid(quick: bool) -> dict[str, list[int]]:
    n = size(quick)
    return {"n": [n], "m": [n], "chunk_size": C.powers(2, 1, n)}


def case(method: str, n: int, m: int, chunk_size: int):
    f, x = C.tanh_problem(n, m)
    jac = dt.jacfwd if method == "jacfwd" else dt.jacrev
    return jac(f, chunk_size=chunk_size), (x,)


def run(quick: bool = True, results_dir="experiments/results", progress=True) -> list[dict]:
    C.pin_blas_threads(1)
    return sweep(case, grid=grid(quick), methods=METHODS, repeats=5,
                 name=NAME, out_dir=results_dir, count=True, progress=progress, quick=quick)


def plot(records: list[dict], figures_dir="paper/figures") -> list[pathlib.Path]:
    import matplotlib.pyplot as plt

    from dualtape.harness.plots import paper_style, save_figure, scaling_plot

    paper_style()
    n = max(r["n"] for r in records)
    m = max(r["m"] for r in records)
    where = {"n": n, "m": m}
    fig, axes = plt.subplots(1, 3, figsize=(7.4, 3.9), layout="constrained")
    scaling_plot(records, x="chunk_size", y="time_s", where=where, ax=axes[0],
                 title="(a) time per full Jacobian", ylabel="time (s; shaded q25–q75)",
                 xlabel="chunk_size", reference={"slope -1": -1.0})
    scaling_plot(records, x="chunk_size", y="peak_bytes", where=where, ax=axes[1],
                 title="(b) peak memory (tracemalloc)", ylabel="peak memory (bytes)",
                 xlabel="chunk_size", reference=None)
    # Peak = fixed part + c x (one direction's arrays): slope 1 only at large c, so the
    # reference goes through the last point rather than the first.
    last = [r for r in C.medians(records) if r["method"] == "jacfwd" and r["n"] == n]
    if last:
        top = max(last, key=lambda r: r["chunk_size"])
        C.reference(axes[1], [r["chunk_size"] for r in last], top["chunk_size"],
                    top["peak_bytes"], 1.0, "slope 1 (through the last jacfwd point)")
        pass
    scaling_plot(records, x="chunk_size", y="calls", where=where, ax=axes[2],
                 title="(c) primitive applications (dt.count)", ylabel="calls (count)",
                 xlabel="chunk_size", reference={"slope -1": -1.0})
    # The arithmetic itself does not depend on the chunking: say so on panel (c).
    lines = []
    for method in METHODS:
        rows = [r for r in C.medians(records) if r["method"] == method
                and r.get("flops") is not None]
        for col, what in [("derivative_flops", "derivative"), ("primal_flops", "primal")]:
            v = [r[col] for r in rows]
            if v:
                lines.append(f"{what} {min(v):.2g} to {max(v):.2g}")
    chunks = sorted({r["chunk_size"] for r in records})
    for ax in axes:
        C.log2_ticks(ax, chunks)
        # Below the panels: inside, legends hide the lines at small chunks.
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False, fontsize=6)
    if lines:
        # Under the legend of (c): inside the panel, any box hides some of the lines.
        text = (f"flops over all chunk sizes (dt.count): jacfwd {', '.join(lines[:2])};  "
                f"jacrev {', '.join(lines[2:])}")
        fig.text(0.995, -0.005, text, ha="right", va="top", fontsize=6)
    fig.suptitle(f"Chunked vector mode at n = m = {n}: jacfwd makes ceil(n/chunk) passes, "
                 f"jacrev ceil(m/chunk) backward sweeps")
    return list(save_figure(fig, pathlib.Path(figures_dir) / NAME, records=records))


#: Headline quantities: (kind, tolerance, description), see modes_vs_n_m.TOLERANCES.
TOLERANCES = {
    "fwd_calls_slope": ("abs", 0.05, "slope of jacfwd's primitive calls in the chunk size"),
    "rev_calls_slope": ("abs", 0.05, "slope of jacrev's primitive calls in the chunk size"),
    "derivative_flops_spread": ("abs", 0.01, "relative spread of the derivative flops"),
    "fwd_time_gain": ("log10", 0.5, "time at chunk 1 / best time, jacfwd"),
    "rev_time_gain": ("log10", 0.5, "time at chunk 1 / best time, jacrev"),
}


def numbers(records: list[dict], results_dir=None) -> dict:
    """The headline quantities of this experiment (see TOLERANCES), from its records."""
    med = C.medians(records)
    out: dict = {"n": max(r["n"] for r in med)}
    spread = []
    for method, short in (("jacfwd", "fwd"), ("jacrev", "rev")):
        rows = sorted((r for r in med if r["method"] == method), key=lambda r: r["chunk_size"])
        cs = [r["chunk_size"] for r in rows]
        out[f"{short}_calls_slope"] = C.fit_slope(cs, [r["calls"] for r in rows])
        times = [r["time_s"] for r in rows]
        best = min(range(len(rows)), key=lambda i: times[i])
        out[f"{short}_time_gain"] = times[0] / times[best]
        out[f"{short}_time_1_ms"] = 1e3 * times[0]
        out[f"{short}_time_best_ms"] = 1e3 * times[best]
        out[f"{short}_best_chunk"] = cs[best]
        d = [r["derivative_flops"] for r in rows]
        spread.append(max(d) / min(d) - 1)
        out[f"{short}_derivative_flops"] = max(d)
        p = [r["primal_flops"] for r in rows]
        out[f"{short}_primal_flops_min"], out[f"{short}_primal_flops_max"] = min(p), max(p)
        peaks = [r["peak_bytes"] for r in rows]
        out[f"{short}_peak_min_mb"] = min(peaks) / 1e6
        out[f"{short}_peak_max_mb"] = max(peaks) / 1e6
    out["derivative_flops_spread"] = max(spread)
    return out
