"""dualtape against other AD libraries, each timed in the same run: HIPS autograd, JAX
(eager and ``jit``) and PyTorch (eager autograd and ``torch.func``).

Two parts, one grid key ``part``:

* ``overhead``: a chain of 200 elementwise operations (tanh, sin, scaling, shifting in
  turn) on a vector of ``size`` 1 or 100, then a sum; the gradient of it, and, as the
  reference, the plain numpy function.  dualtape's gradient is timed three ways: eager,
  replayed from a recorded program (``dt.record``) and compiled (``Program.compile``,
  numba kernels where numba is installed); recording and compiling happen once, before
  the timed calls, as JAX's ``jit`` compiles once.  Reported: time per operation.
* ``jacobian``: the function of ``modes_vs_n_m`` at (n, m) = (16, 256) and (256, 16):
  the full Jacobian by forward and by reverse mode in each library.  Reported: which
  mode is faster in each library, i.e. whether each sees the crossover n = m.

Peers are optional: a library that cannot be imported is left out of the methods, with
one line saying so, and nothing else changes.  BLAS (and torch) run on one thread.
Counts are off: dt.count sees only dualtape's operations.
"""

from __future__ import annotations

import os
import pathlib
import sys

import numpy as np

import dualtape as dt
from dualtape.harness import sweep

import _common as C

NAME = "peers"
DESCRIPTION = "dualtape vs autograd, JAX (eager, jit), PyTorch (eager, torch.func), one run"
KEYS = ("part", "size", "n", "m")
CHAIN = 200
LIBRARIES = {"dualtape": ("dualtape",), "numpy": ("numpy",), "autograd": ("autograd",),
             "jax": ("jax",), "torch": ("torch",)}
#: method -> library it needs; the method names say library, mode and derivative.
OVERHEAD = {"numpy_f": "numpy", "dualtape_grad": "dualtape",
            "dualtape_replay_grad": "dualtape", "dualtape_compiled_grad": "dualtape",
            "autograd_grad": "autograd",
            "jax_grad": "jax", "jax_jit_grad": "jax", "torch_grad": "torch",
            "torch_func_grad": "torch"}
JACOBIAN = {"dualtape_jacfwd": "dualtape", "dualtape_jacrev": "dualtape",
            "autograd_jacrev": "autograd", "jax_jacfwd": "jax", "jax_jacrev": "jax",
            "jax_jit_jacfwd": "jax", "jax_jit_jacrev": "jax", "torch_func_jacfwd": "torch",
            "torch_func_jacrev": "torch"}


def available() -> dict[str, str | None]:
    """{library: None if importable, else the reason it is skipped}."""
    out: dict[str, str | None] = {"dualtape": None, "numpy": None}
    for lib in ("autograd", "jax", "torch"):
        try:
            _import(lib)
            out[lib] = None
        except Exception as exc:   # ImportError, or a broken install: skip, never fail
            out[lib] = f"{type(exc).__name__}: {exc}".splitlines()[0][:100]
    return out


def _import(lib: str):
    if lib == "autograd":
        import autograd
        import autograd.numpy as anp
        return autograd, anp
    if lib == "jax":
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
        import jax
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        return jax, jnp
    if lib == "torch":
        import torch
        import torch.func  # noqa: F401
        torch.set_num_threads(1)
        return torch, torch
    raise ValueError(f"unknown peer library {lib!r}")


def chain(ns, k: int = CHAIN):
    """f(x) = sum(op_k(...op_1(x))) with the elementwise ops of namespace ``ns``."""
    def f(x):
        for i in range(k):
            r = i % 4
            if r == 0:
                x = ns.tanh(x)
            elif r == 1:
                x = ns.sin(x)
            elif r == 2:
                x = 1.5 * x
            else:
                x = x + 0.25
        return ns.sum(x)

    return f


def _overhead_case(method: str, size: int):
    x = np.linspace(-0.5, 0.5, size)
    if method == "numpy_f":
        return chain(np), (x,)
    if method == "dualtape_grad":
        return dt.grad(chain(np)), (x,)
    if method in ("dualtape_replay_grad", "dualtape_compiled_grad"):
        # Recorded once here, outside the timed calls, as jit compiles once.
        prog = dt.record(dt.grad(chain(np)), x)
        return (prog if method == "dualtape_replay_grad" else prog.compile()), (x,)
    if method == "autograd_grad":
        autograd, anp = _import("autograd")
        return autograd.grad(chain(anp)), (x,)
    if method in ("jax_grad", "jax_jit_grad"):
        jax, jnp = _import("jax")
        g = jax.grad(chain(jnp))
        if method == "jax_jit_grad":
            g = jax.jit(g)
        xj = jnp.asarray(x)
        return (lambda v: g(v).block_until_ready()), (xj,)
    if method in ("torch_grad", "torch_func_grad"):
        torch, _ = _import("torch")
        f = chain(torch)
        xt = torch.tensor(x, dtype=torch.float64)
        if method == "torch_func_grad":
            return torch.func.grad(f), (xt,)

        def eager(v):
            v = v.detach().requires_grad_(True)
            f(v).backward()
            return v.grad

        return eager, (xt,)
    raise ValueError(f"unknown overhead method {method!r}")


def _jacobian_case(method: str, n: int, m: int):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((m, n)) / np.sqrt(n)
    x = rng.standard_normal(n)
    lib, mode = method.rsplit("_", 1)

    def f_for(ns, A_):
        def f(v):
            z = ns.tanh(A_ @ v)
            return ns.sin(z) * z + ns.exp(-z * z)
        return f

    if lib == "dualtape":
        jac = dt.jacfwd if mode == "jacfwd" else dt.jacrev
        return jac(f_for(np, A)), (x,)
    if lib == "autograd":
        autograd, anp = _import("autograd")
        return autograd.jacobian(f_for(anp, A)), (x,)
    if lib in ("jax", "jax_jit"):
        jax, jnp = _import("jax")
        jac = (jax.jacfwd if mode == "jacfwd" else jax.jacrev)(f_for(jnp, jnp.asarray(A)))
        if lib == "jax_jit":
            jac = jax.jit(jac)
        return (lambda v: jac(v).block_until_ready()), (jnp.asarray(x),)
    if lib == "torch_func":
        torch, _ = _import("torch")
        At = torch.tensor(A)
        jac = (torch.func.jacfwd if mode == "jacfwd" else torch.func.jacrev)(f_for(torch, At))
        return jac, (torch.tensor(x),)
    raise ValueError(f"unknown jacobian method {method!r}")


def case(method: str, part: str, size: int, n: int, m: int):
    if part == "overhead":
        return _overhead_case(method, size)
    return _jacobian_case(method, n, m)


def run(quick: bool = True, results_dir="experiments/results", progress=True) -> list[dict]:
    C.pin_blas_threads(1)
    have = available()
    for lib, why in have.items():
        if why is not None:
            print(f"{NAME}: {lib} skipped ({why})", file=sys.stderr, flush=True)
    ok = {lib for lib, why in have.items() if why is None}
    records = []
    grids = [({"part": ["overhead"], "size": [1, 100], "n": [0], "m": [0]},
              [k for k, lib in OVERHEAD.items() if lib in ok]),
             ({"part": ["jacobian"], "size": [0], "n": [16, 256], "m": [16, 256]},
              [k for k, lib in JACOBIAN.items() if lib in ok])]
    for grid, methods in grids:
        records += sweep(case, grid=grid, methods=methods, repeats=5 if quick else 9,
                         name=NAME, out_dir=results_dir, count=False, progress=progress,
                         quick=quick)
    return records


#: Compared in units of the same run's plain numpy f, so that a slower or faster machine
#: does not decide the verdict (the µs themselves are in the paper's text and table).
TOLERANCES = {
    "dualtape_grad_vs_numpy_f": ("rel", 1.0,
                                 "dualtape grad / numpy f, time per operation (size 1)"),
    "dualtape_replay_grad_vs_numpy_f": ("rel", 1.0,
                                        "replayed dualtape grad / numpy f (size 1)"),
    "dualtape_compiled_grad_vs_numpy_f": ("log10", 0.5,
                                          "compiled dualtape grad / numpy f (size 1)"),
}


def numbers(records: list[dict], results_dir=None) -> dict:
    """Per-operation times (µs, size 1) of every method present, ratios to dualtape,
    dualtape's gradients in units of numpy f, and per library whether forward mode wins
    at (n, m) = (16, 256) and reverse at (256, 16)."""
    med = C.medians(records)
    out: dict = {}
    base = C.value(med, "time_s", part="overhead", size=1, method="dualtape_grad")
    for method in OVERHEAD:
        t = C.value(med, "time_s", part="overhead", size=1, method=method)
        if t is not None:
            out[f"{method}_us_per_op"] = 1e6 * t / CHAIN
            if base:
                out[f"{method}_vs_dualtape"] = t / base
    f = out.get("numpy_f_us_per_op")
    for method in ("dualtape_grad", "dualtape_replay_grad", "dualtape_compiled_grad"):
        t = out.get(f"{method}_us_per_op")
        out[f"{method}_vs_numpy_f"] = t / f if t is not None and f else None
    out["chain"] = CHAIN
    sees, forward_only = [], []
    for lib in ("dualtape", "jax", "jax_jit", "torch_func"):
        fwd = {(n, m): C.value(med, "time_s", part="jacobian", n=n, m=m,
                               method=f"{lib}_jacfwd") for n, m in ((16, 256), (256, 16))}
        rev = {(n, m): C.value(med, "time_s", part="jacobian", n=n, m=m,
                               method=f"{lib}_jacrev") for n, m in ((16, 256), (256, 16))}
        if all(v is not None for v in (*fwd.values(), *rev.values())):
            out[f"{lib}_sees_crossover"] = (fwd[(16, 256)] < rev[(16, 256)]
                                            and rev[(256, 16)] < fwd[(256, 16)])
            if out[f"{lib}_sees_crossover"]:
                sees.append(LIBRARY_LABELS[lib])
            elif all(fwd[p] < rev[p] for p in fwd):
                forward_only.append(LIBRARY_LABELS[lib])
    # For the text: which libraries' timings show the crossover, and which favour
    # forward mode on both sides of n = m.
    out["crossover_libraries"] = _words(sees)
    out["forward_everywhere_libraries"] = _words(forward_only)
    return out


def _words(names: list[str]) -> str:
    if not names:
        return "none"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


LABELS = {"numpy_f": "numpy f", "dualtape_grad": "dualtape",
          "dualtape_replay_grad": "dualtape replay", "dualtape_compiled_grad": "dualtape compiled",
          "autograd_grad": "autograd",
          "jax_grad": "JAX eager", "jax_jit_grad": "JAX jit", "torch_grad": "PyTorch eager",
          "torch_func_grad": "torch.func"}


LIBRARY_LABELS = {"dualtape": "dualtape", "autograd": "autograd", "jax": "JAX eager",
                  "jax_jit": "JAX jit", "torch_func": "torch.func"}


def plot(records: list[dict], figures_dir="paper/figures") -> list[pathlib.Path]:
    import matplotlib.pyplot as plt

    from dualtape.harness.plots import paper_style, save_figure

    paper_style()
    med = C.medians(records)
    fig, (ax_o, ax_j) = plt.subplots(1, 2, figsize=(7.4, 3.8), layout="constrained")
    methods = [m for m in OVERHEAD if any(r["method"] == m for r in med)]
    width = 0.38
    for k, size in enumerate((1, 100)):
        ys = [1e6 * (C.value(med, "time_s", part="overhead", size=size, method=m) or np.nan)
              / CHAIN for m in methods]
        ax_o.bar(np.arange(len(methods)) + (k - 0.5) * width, ys, width,
                 label=f"vector of {size}")
    ax_o.set_xticks(np.arange(len(methods)), [LABELS[m] for m in methods], rotation=30,
                    ha="right")
    ax_o.set_yscale("log")
    ax_o.set_ylabel("µs per operation (gradient of a 200-op chain)")
    ax_o.set_title("(a) per-operation overhead")
    ax_o.legend(frameon=False, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.25))
    ax_o.grid(True, axis="y", alpha=0.3)
    libs = [lib for lib in ("dualtape", "autograd", "jax", "jax_jit", "torch_func")
            if any(r["method"].startswith(lib + "_jac") for r in med)]
    points = [(16, 256), (256, 16), (16, 16), (256, 256)]
    for k, (mode, hatch) in enumerate((("jacfwd", None), ("jacrev", "//"))):
        for j, (n, m) in enumerate(points[:2]):
            ys = [C.value(med, "time_s", part="jacobian", n=n, m=m, method=f"{lib}_{mode}")
                  for lib in libs]
            ax_j.bar(np.arange(len(libs)) + (2 * j + k - 1.5) * 0.2,
                     [1e3 * y if y is not None else np.nan for y in ys], 0.2, hatch=hatch,
                     color=("tab:blue", "tab:red")[j], alpha=0.6 if k else 1.0,
                     label=f"{mode}, n={n}, m={m}")
    ax_j.set_xticks(np.arange(len(libs)), [LIBRARY_LABELS[lib] for lib in libs], rotation=30,
                    ha="right")
    ax_j.set_yscale("log")
    ax_j.set_ylabel("ms per full Jacobian")
    ax_j.set_title("(b) forward vs reverse on both sides of n = m")
    # Below the panel: inside, the legend hides the tallest bars.
    ax_j.legend(frameon=False, fontsize=6, ncol=2, loc="upper center",
                bbox_to_anchor=(0.5, -0.25))
    ax_j.grid(True, axis="y", alpha=0.3)
    fig.suptitle("dualtape and its peers, timed in one run (CPU, float64, one thread)")
    return list(save_figure(fig, pathlib.Path(figures_dir) / NAME, records=records))
