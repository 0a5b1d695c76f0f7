"""Section 4: sparse Jacobians of the tridiagonal function
f_i = x_{i-1} x_i - x_{i+1}^2 at n = 10^3 ... 10^6.

Per n: the time of each stage of ``dt.jacobian(f, x, structure="sparse")`` (detect the
pattern, colour it, one compressed vector-mode pass, decompress) and in total; dense
``jacfwd`` where the n x n result fits in memory; and scipy's sparse finite differences
(``scipy.optimize.approx_derivative`` given the true pattern, column grouping) measured
in the same run, with the maximum error of each against the closed form.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

try:        # public in older scipy releases, private (but present) in newer ones
    from scipy.optimize import approx_derivative
except ImportError:
    from scipy.optimize._numdiff import approx_derivative

import dualtape as dt
from common import (Recorder, Rows, Settings, div, fmt_ratio, fmt_spread, fmt_time,
                    section, table)
from dualtape.coloring import color_columns, decompress, seed_matrix
from dualtape.forward import jvp_batch

SIZES = (1_000, 10_000, 100_000, 1_000_000)
DENSE_MAX_N = 4_000            # n x n float64: 128 MB at 4000
TOTAL_AIM_MS = 15.0            # at n = 1e5
FD_FACTOR_TARGET = 2.0         # total within 2x of scipy's finite differences at n = 1e5


def tridiagonal(x):
    # plain numpy: dualtape traces it, scipy evaluates it
    xp = np.concatenate([np.zeros(1), x, np.zeros(1)])
    return xp[:-2] * xp[1:-1] - xp[2:] ** 2


def exact(x: np.ndarray) -> sp.csr_array:
    """df_i/dx_{i-1} = x_i, df_i/dx_i = x_{i-1}, df_i/dx_{i+1} = -2 x_{i+1}."""
    n = x.size
    lower = x[1:]                       # row i >= 1, column i - 1
    diag = np.r_[0.0, x[:-1]]           # row i, column i
    upper = -2 * x[1:]                  # row i <= n - 2, column i + 1
    return sp.diags_array([lower, diag, upper], offsets=[-1, 0, 1], shape=(n, n),
                          format="csr")


def rel_err(J: Any, ref: sp.csr_array) -> float:
    D = (sp.csr_array(J) - ref) if not isinstance(J, np.ndarray) else J - ref.toarray()
    diff = np.max(np.abs(D.data if sp.issparse(D) else D)) if np.size(D) else 0.0
    return float(diff / max(1.0, np.max(np.abs(ref.data))))


def run_sparse(rec: Recorder, settings: Settings) -> dict:
    section("4. Sparse Jacobian of the tridiagonal f_i = x_{i-1} x_i - x_{i+1}^2")
    print("dualtape stages: detect = dt.sparsity, colour = greedy distance-2 (largest "
          "first), pass = one vector-mode JVP per colour, decompress = csr from the "
          "compressed block.\nscipy FD: approx_derivative(f, x, sparsity=true pattern) "
          "(2-point, column groups).", flush=True)
    out: dict = {}
    for n in SIZES:
        x = np.random.default_rng(n).uniform(0.5, 1.5, n)
        ref = exact(x)
        J, info = dt.jacobian(tridiagonal, x, structure="sparse", return_info=True)
        rec.check(f"tridiagonal[{n}] sparse == closed form", rel_err(J, ref), 1e-12)
        rec.flag(f"tridiagonal[{n}] colours", info.colors == 3, f"{info.colors} colours")
        P = dt.sparsity(tridiagonal, x)
        col = color_columns(P)
        S = seed_matrix(col)
        _, T = jvp_batch(tridiagonal, x, S.T.reshape((col.ncolors,) + x.shape))
        B = np.reshape(T, (col.ncolors, -1)).T
        fd = approx_derivative(tridiagonal, x, sparsity=P, method="2-point")
        fd_err = rel_err(fd, ref)
        R = Rows(rec, settings, "sparse", f"n={n}")
        R.add("detect", "dualtape", "detect", lambda: dt.sparsity(tridiagonal, x))
        R.add("colour", "dualtape", "colour", lambda: color_columns(P))
        R.add("compressed pass", "dualtape", "pass",
              lambda: jvp_batch(tridiagonal, x, S.T.reshape((col.ncolors,) + x.shape)))
        R.add("decompress", "dualtape", "decompress", lambda: decompress(P, col, B))
        R.add("total dt.jacobian", "dualtape", "total",
              lambda: dt.jacobian(tridiagonal, x, structure="sparse"))
        R.add("total, mode='fwd' (no planning)", "dualtape", "total_fwd",
              lambda: dt.jacobian(tridiagonal, x, structure="sparse", mode="fwd"))
        R.add("scipy FD (sparse, 2-point)", "scipy", "fd",
              lambda: approx_derivative(tridiagonal, x, sparsity=P, method="2-point"))
        if n <= DENSE_MAX_N:
            R.add("dense jacfwd", "dualtape", "dense", lambda: dt.jacfwd(tridiagonal)(x))
        R.run()
        total, fdt = R.median("dualtape", "total"), R.median("scipy", "fd")
        print(table(["stage", "time", "spread", "÷ scipy FD"],
              [[it["label"], fmt_time(it["t"].median if it["t"] else None, "ms"),
                fmt_spread(it["t"]), fmt_ratio(div(it["t"].median if it["t"] else None, fdt))]
               for it in R.items], title=f"n = {n}"))
        print(f"  max relative error: dualtape {rel_err(J, ref):.1e}, scipy FD {fd_err:.1e}")
        for it in R.items:
            rec.add("sparse", f"n={n}", it["label"], it["t"], error=(
                fd_err if it["kind"] == "fd" else rel_err(J, ref)))
        out[n] = {k: R.median(lib, k) for lib, k in (
            ("dualtape", "detect"), ("dualtape", "colour"), ("dualtape", "pass"),
            ("dualtape", "decompress"), ("dualtape", "total"), ("dualtape", "total_fwd"),
            ("dualtape", "dense"),
            ("scipy", "fd"))} | {"fd_error": fd_err, "error": rel_err(J, ref)}
        if n == 100_000:
            rec.target("sparse total at n=1e5 (ms)", None if total is None else total * 1e3,
                       TOTAL_AIM_MS, "aim", "ms")
            rec.target("sparse total / scipy FD at n=1e5", div(total, fdt), FD_FACTOR_TARGET,
                       "target")
    return out
