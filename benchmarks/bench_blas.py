"""Vector mode at BLAS speed, and prepared Jacobians.

5. Full Jacobians of ``f(x) = tanh(A (x sin x))``: at n = m = 1024 in both modes next
   to one 1024^3 matrix product measured in the same table (the physical limit: the
   Jacobian is ``diag(tanh') A diag(sin x + x cos x)``, and a mode that pushes n or pulls
   m directions through ``A`` does one n x m x n product); then the grid n, m in
   {1, 4, 16, 64, 256, 1024} in both modes (the crossover and the slopes).
6. The MLP gradient against hand-written numpy backprop, batch 256 and 1024.
7. Prepared Jacobians (``dt.prepare_jacobian``): the diagonal of tanh at n = 1e5 against
   f itself; the tridiagonal Jacobian at n = 1e5 per evaluation, with its one-off
   preparation and the unprepared call; ``scipy.optimize.least_squares`` on the Broyden
   tridiagonal problem at n = 1e3 and 1e5 with ``jac=prep`` against scipy's own
   finite differences given the pattern.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import scipy.sparse as sp

import dualtape as dt
import dualtape.numpy as dnp
from common import (Recorder, Rows, Settings, div, fmt_ratio, fmt_spread, fmt_time,
                    max_rel_err, section, table)
from workloads import make_mlp_loss, mlp_backprop, mlp_data, numpy_like

GRID = (1, 4, 16, 64, 256, 1024)
FULL_TARGET = 1.5          # full Jacobian / one 1024^3 matmul
MLP_TARGET = 1.05          # dualtape grad / hand backprop
DIAG_TARGET = 2.0          # prepared diagonal / f
TRI_TARGET_MS = 5.0        # prepared tridiagonal per evaluation


def _print(R: Rows, base_kind: tuple, title: str, base_name: str) -> None:
    base = R.median(*base_kind)
    print(table(["row", "time", "spread", f"÷ {base_name}"],
                [[it["label"], fmt_time(it["t"].median if it["t"] else None),
                  fmt_spread(it["t"]), fmt_ratio(div(it["t"].median if it["t"] else None,
                                                     base))]
                 for it in R.items], title=title))


def _record(rec: Recorder, R: Rows, sec: str, case: str) -> None:
    for it in R.items:
        rec.add(sec, case, it["label"], it["t"], lib=it["lib"], kind=it["kind"])


# ---- 5. full Jacobians ---------------------------------------------------------------
def dense_problem(n: int, m: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, n)) / np.sqrt(n), rng.uniform(-1, 1, n)


def dense_exact(A: np.ndarray, x: np.ndarray) -> np.ndarray:
    u = x * np.sin(x)
    y = np.tanh(A @ u)
    return (1 - y ** 2)[:, None] * A * (np.sin(x) + x * np.cos(x))[None, :]


def run_dense(rec: Recorder, settings: Settings, peers: Any) -> dict:
    section("5. Full Jacobian of tanh(A (x sin x)): vector mode against one matrix product")
    print("jacfwd pushes n tangents, jacrev pulls m cotangents, each as one stacked "
          "batch; the limit is one n x m x n matrix product (numpy @, same run).",
          flush=True)
    out: dict = {}
    n = m = 1024
    A, x = dense_problem(n, m)
    A_sq = np.random.default_rng(1).standard_normal((n, n))

    def f(x):
        return np.tanh(A @ (x * np.sin(x)))
    ref = dense_exact(A, x)
    for name, jac in (("jacfwd", dt.jacfwd(f)), ("jacrev", dt.jacrev(f))):
        rec.check(f"full[{n}] {name} == closed form", max_rel_err(jac(x), ref), 1e-12)
    R = Rows(rec, settings, "dense", f"n=m={n}")
    R.add("numpy A @ B (1024^3)", "numpy", "matmul", lambda: A_sq @ A_sq)
    R.add("dt.jacfwd", "dualtape", "fwd", lambda: dt.jacfwd(f)(x))
    R.add("dt.jacrev", "dualtape", "rev", lambda: dt.jacrev(f)(x))
    R.add("dt.jacobian (mode='auto')", "dualtape", "auto", lambda: dt.jacobian(f, x))
    if peers.has("torch"):
        rec.guard("dense/torch", lambda: _torch_rows(R, peers, A, x))
    if peers.has("jax"):
        rec.guard("dense/jax", lambda: _jax_rows(R, peers, A, x))
    R.run()
    _print(R, ("numpy", "matmul"), f"n = m = {n}", "matmul")
    _record(rec, R, "dense", f"n=m={n}")
    mm = R.median("numpy", "matmul")
    for kind in ("fwd", "rev"):
        r = div(R.median("dualtape", kind), mm)
        out[kind] = r
        rec.target(f"full Jacobian {kind} / 1024^3 matmul", r, FULL_TARGET, "target")
    out["matmul"] = mm
    out["grid"] = _grid(rec, settings)
    return out


def _torch_rows(R: Rows, peers: Any, A: np.ndarray, x: np.ndarray) -> None:
    torch = peers["torch"]["torch"]
    At, xt = torch.from_numpy(A), torch.from_numpy(x)

    def g(x):
        return torch.tanh(At @ (x * torch.sin(x)))
    R.add("torch.func.jacfwd", "torch", "fwd", lambda: torch.func.jacfwd(g)(xt))
    R.add("torch.func.jacrev", "torch", "rev", lambda: torch.func.jacrev(g)(xt))


def _jax_rows(R: Rows, peers: Any, A: np.ndarray, x: np.ndarray) -> None:
    jax, jnp = peers["jax"]["jax"], peers["jax"]["np"]
    Aj, xj = jnp.asarray(A), jnp.asarray(x)

    def g(x):
        return jnp.tanh(Aj @ (x * jnp.sin(x)))
    R.add("jax.jacfwd (eager)", "jax", "fwd", lambda: jax.jacfwd(g)(xj).block_until_ready())
    R.add("jax.jacrev (eager)", "jax", "rev", lambda: jax.jacrev(g)(xj).block_until_ready())


def _grid(rec: Recorder, settings: Settings) -> dict:
    # one table per n (rows: m, both modes), so each table's rows are interleaved
    quick = Settings(repeats=min(settings.repeats, 9), min_repeat_time=0.005,
                     warmup=0.01, max_time=settings.max_time, quick=True)
    res: dict = {}
    rows = []
    for n in GRID:
        R = Rows(rec, quick, "grid", f"n={n}")
        for m in GRID:
            A, x = dense_problem(n, m, seed=n * 7 + m)

            def f(x, A=A):
                return np.tanh(A @ (x * np.sin(x)))
            R.add(f"m={m} fwd", "dualtape", f"fwd{m}", lambda f=f, x=x: dt.jacfwd(f)(x))
            R.add(f"m={m} rev", "dualtape", f"rev{m}", lambda f=f, x=x: dt.jacrev(f)(x))
        R.run()
        _record(rec, R, "grid", f"n={n}")
        for m in GRID:
            tf, tr = R.median("dualtape", f"fwd{m}"), R.median("dualtape", f"rev{m}")
            res[(n, m)] = (tf, tr)
            rows.append([f"n={n} m={m}", fmt_time(tf), fmt_time(tr),
                         fmt_ratio(div(tr, tf)), "fwd" if (tf or 0) <= (tr or 0) else "rev"])
    print(table(["n, m", "jacfwd", "jacrev", "rev ÷ fwd", "faster"], rows,
                title="W3 grid: full Jacobian of tanh(A (x sin x)), A of shape (m, n)"))
    return {f"{n}x{m}": v for (n, m), v in res.items()}


# ---- 6. MLP against hand-written backprop ----------------------------------------------
def run_mlp_backprop(rec: Recorder, settings: Settings) -> dict:
    section("6. MLP gradient (256 -> 512 -> 512 -> 10, tanh, softmax cross-entropy) "
            "against hand-written numpy backprop")
    import workloads
    out: dict = {}
    saved = workloads.MLP_BATCH
    try:
        for batch in (256, 1024):
            workloads.MLP_BATCH = batch
            params, X, Y = mlp_data()
            loss_np = make_mlp_loss(numpy_like("numpy", np), X, Y)
            loss_dt = make_mlp_loss(numpy_like("dualtape", dnp), X, Y)
            hand = mlp_backprop(X, Y)
            g = dt.grad(loss_dt, argnums=tuple(range(len(params))))
            err = max(max_rel_err(a, b) for a, b in zip(g(*params), hand(*params),
                                                          strict=True))
            rec.check(f"mlp[batch {batch}] dualtape grad == hand backprop", err, 1e-10)
            R = Rows(rec, settings, "mlp-backprop", f"batch={batch}")
            R.add("numpy loss", "numpy", "f", lambda p=params, f=loss_np: f(*p))
            R.add("hand-written backprop (loss + grads)", "numpy", "hand",
                  lambda p=params, h=hand: h(*p))
            R.add("dt.grad (loss + grads)", "dualtape", "grad", lambda p=params, g=g: g(*p))
            R.run()
            _print(R, ("numpy", "hand"), f"batch {batch}", "hand backprop")
            _record(rec, R, "mlp-backprop", f"batch={batch}")
            r = div(R.median("dualtape", "grad"), R.median("numpy", "hand"))
            out[batch] = {"grad/hand": r,
                          "grad/loss": div(R.median("dualtape", "grad"),
                                           R.median("numpy", "f")),
                          "hand/loss": div(R.median("numpy", "hand"),
                                           R.median("numpy", "f"))}
            rec.target(f"MLP grad / hand backprop, batch {batch}", r, MLP_TARGET, "target")
    finally:
        workloads.MLP_BATCH = saved
    return out


# ---- 7. prepared Jacobians -----------------------------------------------------------
def tridiagonal(x):
    xp = np.concatenate([np.zeros(1), x, np.zeros(1)])
    return xp[:-2] * xp[1:-1] - xp[2:] ** 2


def broyden(x):
    """Broyden's tridiagonal residuals (More, Garbow & Hillstrom 1981, no. 30)."""
    xp = np.concatenate([np.zeros(1), x, np.zeros(1)])
    return (3.0 - 2.0 * x) * x - xp[:-2] - 2.0 * xp[2:] + 1.0


def tri_pattern(n: int) -> sp.csr_array:
    return sp.diags_array([np.ones(n - 1), np.ones(n), np.ones(n - 1)], offsets=[-1, 0, 1],
                          shape=(n, n), format="csr").astype(bool)


def _once(fn: Any, repeats: int) -> float:
    """Median seconds of ``repeats`` single calls (for calls too long to loop)."""
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def run_prepared(rec: Recorder, settings: Settings) -> dict:
    section("7. Prepared Jacobians: plan once (detect, check, colour, CSR structure), "
            "then only passes and a gather per call")
    out: dict = {}
    n = 100_000
    x = np.random.default_rng(0).uniform(-2, 2, n)

    prep_d = dt.prepare_jacobian(np.tanh, x, structure="diagonal")
    rec.check("prepared diagonal tanh == 1 - tanh^2", max_rel_err(prep_d(x),
                                                                   1 - np.tanh(x) ** 2), 1e-15)
    R = Rows(rec, settings, "prepared", "diagonal")
    R.add("f = np.tanh", "numpy", "f", lambda: np.tanh(x))
    R.add("prep(x) (diagonal, one JVP)", "dualtape", "prepared", lambda: prep_d(x))
    R.add("dt.jacobian(structure='diagonal')", "dualtape", "unprepared",
          lambda: dt.jacobian(np.tanh, x, structure="diagonal"))
    R.run()
    _print(R, ("numpy", "f"), f"diagonal Jacobian of tanh, n = {n}", "f")
    _record(rec, R, "prepared", "diagonal")
    out["diagonal/f"] = div(R.median("dualtape", "prepared"), R.median("numpy", "f"))
    rec.target("prepared diagonal / f at n=1e5", out["diagonal/f"], DIAG_TARGET, "target")

    xt = np.random.default_rng(1).uniform(0.5, 1.5, n)
    t0 = time.perf_counter()
    prep_t = dt.prepare_jacobian(tridiagonal, xt, "fwd", structure="sparse")
    first = time.perf_counter() - t0
    prep_time = _once(lambda: dt.prepare_jacobian(tridiagonal, xt, "fwd",
                                                  structure="sparse"), 5)
    P = tri_pattern(n)
    given_time = _once(lambda: dt.prepare_jacobian(tridiagonal, xt, "fwd", structure="sparse",
                                                   sparsity=P), 5)
    ref = dt.jacobian(tridiagonal, xt, structure="sparse")
    rec.check("prepared tridiagonal == dt.jacobian",
              float(abs(prep_t(xt) - ref).max()), 0.0)
    R = Rows(rec, settings, "prepared", "tridiagonal")
    R.add("f", "numpy", "f", lambda: tridiagonal(xt))
    R.add("prep(x) (3 JVPs in one pass + gather)", "dualtape", "prepared", lambda: prep_t(xt))
    R.add("dt.jacobian(structure='sparse', pattern given)", "dualtape", "given",
          lambda: dt.jacobian(tridiagonal, xt, "fwd", structure="sparse", sparsity=P))
    R.add("dt.jacobian(structure='sparse')", "dualtape", "unprepared",
          lambda: dt.jacobian(tridiagonal, xt, structure="sparse"))
    R.run()
    _print(R, ("dualtape", "prepared"), f"tridiagonal Jacobian, n = {n}", "prep(x)")
    _record(rec, R, "prepared", "tridiagonal")
    per = R.median("dualtape", "prepared")
    print(f"  preparation (detect + colour + seeds + CSR structure): median "
          f"{fmt_time(prep_time)} (first call {fmt_time(first)}); with the pattern "
          f"given: {fmt_time(given_time)}")
    out["tridiagonal"] = {"per_eval": per, "prepare": prep_time,
                          "prepare_given": given_time, "f": R.median("numpy", "f")}
    rec.target("prepared tridiagonal per evaluation at n=1e5 (ms)",
               None if per is None else per * 1e3, TRI_TARGET_MS, "target", "ms")
    out["least_squares"] = _least_squares(rec)
    return out


def _least_squares(rec: Recorder) -> dict:
    from scipy.optimize import least_squares
    res: dict = {}
    rows = []
    for n, reps in ((1_000, 5), (100_000, 3)):
        x0 = -np.ones(n)
        P = tri_pattern(n)
        t = time.perf_counter()
        prep = dt.prepare_jacobian(broyden, x0, structure="sparse")
        t_prep = time.perf_counter() - t
        kw = dict(method="trf", tr_solver="lsmr", x_scale=1.0)
        a = least_squares(broyden, x0, jac=prep, **kw)
        b = least_squares(broyden, x0, jac="2-point", jac_sparsity=P, **kw)
        rec.check(f"least_squares[{n}] dualtape residual", float(np.max(np.abs(a.fun))), 1e-8)
        rec.check(f"least_squares[{n}] same solution as scipy FD",
                  float(np.max(np.abs(a.x - b.x))), 1e-6)
        t_dt = _once(lambda: least_squares(broyden, x0, jac=prep, **kw), reps)
        t_fd = _once(lambda: least_squares(broyden, x0, jac="2-point", jac_sparsity=P, **kw),
                     reps)
        res[n] = {"dualtape": t_dt, "prepare": t_prep, "scipy_fd": t_fd,
                  "njev": (int(a.njev), int(b.njev)), "nfev": (int(a.nfev), int(b.nfev))}
        rows.append([f"n={n}", fmt_time(t_dt), fmt_time(t_prep), fmt_time(t_fd),
                     fmt_ratio(div(t_dt, t_fd)), f"{a.njev} / {b.njev}",
                     f"{a.nfev} / {b.nfev}"])
        for label, tm in (("dualtape jac=prep", t_dt), ("scipy 2-point, pattern given", t_fd)):
            rec.add("least_squares", f"n={n}", label, None, median_s=tm)
    print(table(["problem", "jac=prep", "+ prepare", "scipy FD", "÷ FD", "njev dt / FD",
                 "nfev dt / FD"], rows,
                title="least_squares on Broyden tridiagonal, trf + lsmr (medians of solves)"))
    return res
