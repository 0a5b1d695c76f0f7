"""Three ways to run one derivative: operator overloading, a replayed tape, compiled code.

One function, f(x) = sum(y), where y comes from ``OPS`` elementwise operations on the
array x (unary functions, products and sums with constants and between traced
values), and its gradient computed three ways over the one primitive registry:

* ``eager``: ``dt.grad(f)``, operator overloading: every call runs f's Python code
  again, records a tape and sweeps it back;
* ``replay``: ``dt.record(dt.grad(f), x)``, the gradient recorded once as a program
  (forward and adjoint sweep) and replayed at the new input after the passes
  (dead code, folding, common subexpressions, release at last use);
* ``compiled``: that program's numba back end, each fused elementwise chain one loop.
  Without numba this method is skipped (one line says so).

``f`` is the plain numpy function, the base of ω = time(gradient) / time(f).
Expected: at small sizes the per-operation cost is the interpreter's and the three
differ by orders of magnitude (eager pays for tracing, replay only for numpy's calls,
compiled for neither); at large sizes numpy's arithmetic dominates, eager and replay
meet and ω by time falls into the band of the operation counts, while the fused loops
of the compiled code read and write memory once per chain rather than once per
operation.
"""

from __future__ import annotations

import pathlib
import sys
from typing import Any

import numpy as np

import dualtape as dt
from dualtape.harness import sweep

import _common as C

NAME = "strategies"
DESCRIPTION = "eager, replayed and compiled gradients: per-operation cost and ω against size"
METHODS = ["f", "eager", "replay", "compiled"]
STRATEGIES = METHODS[1:]
KEYS = ("n",)
BLOCKS = 10                  # six operations per block
OPS = 6 * BLOCKS + 1         # primitive applications of f: the chain and the final sum


def grid(quick: bool) -> dict[str, list[int]]:
    return {"n": C.powers(4, 1, 4 ** 8 if quick else 4 ** 10)}


def have_numba() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def methods() -> list[str]:
    """The methods this machine can run: ``compiled`` only with numba."""
    return METHODS if have_numba() else [m for m in METHODS if m != "compiled"]


def chain(x):
    """f(x) = sum(y), y from 6 * BLOCKS elementwise operations; |y| <= 1 for any x in
    [-1, 1] (the cosine ends each block), so a chain of any length stays finite."""
    y = x
    for _ in range(BLOCKS):
        s = np.sin(y)
        s = s * 0.9
        s = s + x
        t = np.tanh(s)
        p = t * y
        y = np.cos(p)
    return np.sum(y)


def point(n: int) -> np.ndarray:
    return np.random.default_rng(n).uniform(-1.0, 1.0, n)


def case(method: str, n: int):
    x = point(n)
    if method == "f":
        return chain, (x,)
    grad = dt.grad(chain)
    if method == "eager":
        return grad, (x,)
    prog = dt.record(grad, x)
    if method == "replay":
        return prog, (x,)
    if method == "compiled":
        if not have_numba():
            raise ImportError("strategies: the compiled method needs numba "
                              "(pip install numba)")
        return prog.compile("numba"), (x,)
    raise ValueError(f"strategies: unknown method {method!r}; use one of {METHODS}")


def run(quick: bool = True, results_dir="experiments/results", progress=True) -> list[dict]:
    C.pin_blas_threads(1)
    ms = methods()
    if "compiled" not in ms:
        print("strategies: numba is not installed, so the compiled method is skipped",
              file=sys.stderr)
    # more samples in the full grid: its medians are the paper's, on a shared machine
    return sweep(case, grid=grid(quick), methods=ms, repeats=5 if quick else 9, name=NAME,
                 out_dir=results_dir, count=True, progress=progress, quick=quick)


def per_op(records: list[dict]) -> list[dict]:
    """The median and quartile rows with ``us_per_op`` = time per call / OPS."""
    return [{**r, "us_per_op": 1e6 * r["time_s"] / OPS} for r in records
            if r.get("time_s") is not None]


LABELS = {"f": "numpy f", "eager": "eager (operator overloading)",
          "replay": "replayed program", "compiled": "compiled (numba)"}
STYLE = {"f": dict(color="0.3", linestyle=":"), "eager": dict(color="tab:red"),
         "replay": dict(color="tab:blue"), "compiled": dict(color="tab:green")}


def plot(records: list[dict], figures_dir="paper/figures") -> list[pathlib.Path]:
    import matplotlib.pyplot as plt

    from dualtape.harness.plots import paper_style, save_figure

    paper_style()
    rows = per_op(records)
    rat = C.ratio_records(records, KEYS)
    have = [m for m in METHODS if any(r["method"] == m for r in records)]
    fig, axes = plt.subplots(1, 3, figsize=(7.4, 3.7), layout="constrained")

    ax = axes[0]
    for m in have:
        xs, ys = C.series(rows, "n", "us_per_op", {"method": m, "statistic": "median"})
        lo = C.series(rows, "n", "us_per_op", {"method": m, "statistic": "q25"})[1]
        hi = C.series(rows, "n", "us_per_op", {"method": m, "statistic": "q75"})[1]
        ok = len(lo) == len(xs) == len(hi)
        C.line(ax, xs, ys, LABELS[m], fit_from=max(xs) / 64 if xs else None,
               lo=lo if ok else None, hi=hi if ok else None, **STYLE[m])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("array size n")
    ax.set_ylabel(f"µs per operation of f ({OPS} operations)")
    ax.set_title("(a) cost per operation")

    ax = axes[1]
    ax.axhspan(1.0, 4.0, color="tab:green", alpha=0.10, zorder=0)
    for m in have[1:]:
        xs, ys = C.series(rat, "n", "time_ratio", {"method": m, "statistic": "median"})
        ax.plot(xs, ys, marker="o", markersize=3, label=LABELS[m], **STYLE[m])
    counts = {m: C.value(rat, "flops_ratio", method=m, n=max(r["n"] for r in rat))
              for m in ("eager", "replay")} if rat else {}
    for m, v in counts.items():
        if v is not None:
            ax.axhline(v, linewidth=0.8, linestyle="--", color=STYLE[m]["color"],
                       label=f"{m}: ω by counts {v:.2f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("array size n")
    ax.set_ylabel("ω = time(gradient) / time(numpy f)")
    ax.set_title("(b) ω by time (green: 1 ≤ ω ≤ 4)")

    ax = axes[2]
    for m in have:
        xs, ys = C.series(rows, "n", "peak_bytes", {"method": m, "statistic": "median"})
        ax.plot(xs, ys, marker="o", markersize=3, label=LABELS[m], **STYLE[m])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("array size n")
    ax.set_ylabel("peak memory (bytes, tracemalloc)")
    ax.set_title("(c) peak memory")

    from matplotlib.ticker import FuncFormatter

    ns = sorted({r["n"] for r in records})
    for a in axes:
        C.log2_ticks(a, ns[::2])          # powers of 4: every other one keeps them apart
        a.xaxis.set_major_formatter(FuncFormatter(_power_of_two))
        a.grid(True, which="major", alpha=0.3)
        a.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False, fontsize=6)
    if "compiled" not in have:
        fig.text(0.995, -0.005, "compiled: not measured (numba not installed)",
                 ha="right", va="top", fontsize=6)
    fig.suptitle(f"One gradient, three strategies over one registry: a chain of {OPS} "
                 f"elementwise operations and a sum")
    return list(save_figure(fig, pathlib.Path(figures_dir) / NAME, records=records))


def _power_of_two(v: float, _pos: Any = None) -> str:
    k = int(round(np.log2(v))) if v > 0 else 0
    return f"2{str(k).translate(str.maketrans('0123456789', '⁰¹²³⁴⁵⁶⁷⁸⁹'))}" \
        if v > 0 and 2 ** k == v else f"{v:g}"


#: Headline quantities: (kind, tolerance, description), see modes_vs_n_m.TOLERANCES.
TOLERANCES = {
    "eager_count_omega": ("abs", 0.01, "ω by counts of the eager gradient"),
    "replay_count_omega": ("abs", 0.01, "ω by counts of the replayed gradient"),
    "eager_us_per_op_1": ("log10", 0.5, "eager gradient, µs per operation at n = 1"),
    "replay_us_per_op_1": ("log10", 0.5, "replayed gradient, µs per operation at n = 1"),
    "compiled_us_per_op_1": ("log10", 0.5, "compiled gradient, µs per operation at n = 1"),
    "replay_speedup_1": ("log10", 0.5, "eager time / replayed time at n = 1"),
    "eager_omega_1": ("log10", 0.5, "ω by time of the eager gradient at n = 1"),
    "replay_omega_1": ("log10", 0.5, "ω by time of the replayed gradient at n = 1"),
    "eager_omega_large": ("log10", 0.3, "ω by time of the eager gradient at the largest n"),
    "replay_omega_large": ("log10", 0.3, "ω by time of the replayed gradient, largest n"),
    "compiled_omega_large": ("log10", 0.5, "ω by time of the compiled gradient, largest n"),
}


def numbers(records: list[dict], results_dir=None) -> dict:
    """The headline quantities of this experiment (see TOLERANCES), from its records;
    those of a method that was not measured (compiled without numba) are None."""
    med = [r for r in per_op(records) if r["statistic"] == "median"]
    rat = [r for r in C.ratio_records(records, KEYS) if r["statistic"] == "median"]
    n_max = max(r["n"] for r in med)
    n_min = min(r["n"] for r in med)
    out: dict = {"ops": OPS, "n_min": n_min, "n_max": n_max,
                 "compiled_measured": any(r["method"] == "compiled" for r in med)}
    for m in METHODS:
        for tag, n in (("1", n_min), ("large", n_max)):
            out[f"{m}_us_per_op_{tag}"] = C.value(med, "us_per_op", method=m, n=n)
    for m in STRATEGIES:
        for tag, n in (("1", n_min), ("large", n_max)):
            out[f"{m}_omega_{tag}"] = C.value(rat, "time_ratio", method=m, n=n)
        out[f"{m}_peak_ratio_large"] = C.value(rat, "peak_ratio", method=m, n=n_max)
    for m in ("eager", "replay"):
        out[f"{m}_count_omega"] = C.value(rat, "flops_ratio", method=m, n=n_max)
    for m in ("replay", "compiled"):
        for tag in ("1", "large"):
            e, s = out[f"eager_us_per_op_{tag}"], out[f"{m}_us_per_op_{tag}"]
            out[f"{m}_speedup_{tag}"] = e / s if e and s else None
    p_e, p_r = out["eager_peak_ratio_large"], out["replay_peak_ratio_large"]
    out["replay_peak_vs_eager_large"] = p_r / p_e if p_e and p_r else None
    return out
