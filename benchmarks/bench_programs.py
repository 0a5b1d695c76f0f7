"""Recorded programs (``dt.record``): replayed and compiled derivatives against eager
dualtape, plain numpy and hand-written derivatives, timed interleaved in one run.

    PYTHONPATH=src python3 benchmarks/bench_programs.py [--quick] [--no-numba]

Sections: 1. the 200-op elementwise chain at size 1 (us per operation); 2. the
Hessian-vector product of Rosenbrock at n = 10^4 (ratio to f); 3. the MLP gradient
against hand-written backprop; 4. a scalar chain of 10^4 operations (omega by time:
gradient time / f time); 5. peak memory (tracemalloc) of the replayed gradient against
eager on the MLP and a long chain.  Every replay is checked against eager first.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc

# one BLAS thread, as the other benchmarks: set before numpy loads
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np                                             # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dualtape as dt                                          # noqa: E402
import dualtape.numpy as dnp                                   # noqa: E402
from common import Settings, fmt_time, max_rel_err, measure_many, table   # noqa: E402
from workloads import (CHAIN_OPS, chain_input, make_chain, make_mlp_loss,  # noqa: E402
                       make_rosenbrock, mlp_backprop, mlp_data, numpy_like, rosen_hvp_exact,
                       rosen_input)

NP, DNP = numpy_like("numpy", np), numpy_like("dualtape", dnp)
FAILED: list = []


def check(name: str, got, want, tol: float) -> None:
    err = max(max_rel_err(g, w) for g, w in zip(_leaves(got), _leaves(want)))
    ok = err <= tol
    print(f"  check {name}: rel err {err:.1e} {'ok' if ok else 'FAILED'}")
    if not ok:
        FAILED.append(name)


def _leaves(x):
    return list(x) if isinstance(x, (tuple, list)) else [x]


def timed(rows: list, settings: Settings, scale: float = 1.0) -> list:
    """Median seconds per call (times ``scale``) of each row, timed interleaved; the
    fastest repeat of each is kept in BEST (on a loaded machine the median of a short
    row suffers more from preemption than a long row's, the minimum less)."""
    ts = measure_many([fn for _, fn in rows], settings)
    out = []
    BEST.clear()
    for (label, _), t in zip(rows, ts):
        if isinstance(t, Exception):
            print(f"  {label}: failed ({t!r})")
            FAILED.append(label)
            out.append(None)
            BEST.append(None)
        else:
            out.append(t.median * scale)
            BEST.append(min(t.samples) * scale)
    return out


BEST: list = []


def ratios(rows: list, ts: list, unit: str, base_label: str, fmt=None) -> str:
    """The table of one section: median and best, each also as a ratio to row 0."""
    fmt = fmt or (lambda t: f"{t:.3f}")
    body = []
    for (label, _), t, b in zip(rows, ts, BEST):
        body.append([label, fmt(t), f"{t / ts[0]:.2f}", fmt(b), f"{b / BEST[0]:.2f}"])
    return table(["", f"median {unit}", f"x {base_label}", f"best {unit}",
                  f"x {base_label} (best)"], body)


def verdict(value: float | None, limit: float) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3g} ({'meets' if value <= limit else 'misses'} <= {limit})"


def chain(settings: Settings, numba: bool) -> None:
    print(f"\n== 1. chain of {CHAIN_OPS} elementwise ops + sum, size 1: us per op ==")
    f_np, f_dt = make_chain(NP), make_chain(DNP)
    x, v = chain_input(1), np.array([0.7])
    grad = dt.grad(f_dt)
    jvp = lambda x, v: dt.jvp(f_dt, (x,), (v,))
    t0 = time.perf_counter()
    pg = dt.record(grad, x)
    pj = dt.record(jvp, x, v)
    rec_s = time.perf_counter() - t0
    x2 = chain_input(1) * 0.5
    check("replayed grad == eager", pg(x2), grad(x2), 1e-13)
    check("replayed jvp == eager", pj(x2, v), jvp(x2, v), 1e-13)
    rows = [("numpy f", lambda: f_np(x)), ("eager grad", lambda: grad(x)),
            ("eager jvp", lambda: jvp(x, v)), ("replayed grad", lambda: pg(x)),
            ("replayed jvp", lambda: pj(x, v))]
    if numba:
        t0 = time.perf_counter()
        cg, cj = pg.compile("numba"), pj.compile("numba")
        cg(x), cj(x, v)
        comp_s = time.perf_counter() - t0
        check("compiled grad == eager", cg(x2), grad(x2), 1e-13)
        check("compiled jvp == eager", cj(x2, v), jvp(x2, v), 1e-13)
        rows += [("compiled grad (numba)", lambda: cg(x)), ("compiled jvp (numba)",
                                                             lambda: cj(x, v))]
    ts = timed(rows, settings, 1e6 / CHAIN_OPS)
    base = ts[0]
    best = list(BEST)
    print(ratios(rows, ts, "us/op", "numpy f"))
    rep = pg.recording.plan.report
    print(f"  grad program: {rep['recorded']} instructions recorded, {rep['replayed']} "
          f"replayed; recording both took {rec_s:.2f} s"
          + (f", numba compilation {comp_s:.1f} s" if numba else ""))
    for i, name, limit in ((3, "replayed grad", 1.5), (4, "replayed jvp", 1.0),
                           (5, "compiled grad", 0.2)):
        if i < len(ts):
            print(f"  target {name} <= {limit} us/op: median {verdict(ts[i], limit)}, "
                  f"best {verdict(best[i], limit)}")
    print(f"  (numpy f here takes {base:.3f} us/op; the targets assume 0.37-0.51)")


def rosenbrock(settings: Settings) -> None:
    n = 10_000
    print(f"\n== 2. Rosenbrock Hessian-vector product, n = {n} ==")
    f_np, f_dt = make_rosenbrock(NP), make_rosenbrock(DNP)
    x, v = rosen_input(n)
    hvp = lambda x, v: dt.hvp(f_dt, x, v)
    ph = dt.record(hvp, x, v)
    check("replayed hvp == analytic", ph(x, v), rosen_hvp_exact(x, v), 1e-10)
    rows = [("numpy f", lambda: f_np(x)), ("eager hvp", lambda: hvp(x, v)),
            ("replayed hvp", lambda: ph(x, v))]
    ts = timed(rows, settings)
    print(ratios(rows, ts, "", "f", fmt_time))
    print(f"  target replayed hvp <= 5 x f: median {verdict(ts[2] / ts[0], 5.0)}, "
          f"best {verdict(BEST[2] / BEST[0], 5.0)}")


def mlp(settings: Settings) -> None:
    print("\n== 3. MLP gradient (256-512-512-10, batch 256) ==")
    params, X, Y = mlp_data()
    loss = make_mlp_loss(DNP, X, Y)
    grad = dt.grad(loss, tuple(range(6)))
    hand = mlp_backprop(X, Y)
    pg = dt.record(grad, *params)
    check("replayed grad == hand backprop", pg(*params), hand(*params), 1e-10)
    rows = [("hand-written backprop", lambda: hand(*params)),
            ("eager grad", lambda: grad(*params)), ("replayed grad", lambda: pg(*params))]
    ts = timed(rows, settings)
    print(ratios(rows, ts, "", "backprop", fmt_time))
    print(f"  target replayed within 5% of backprop: median {verdict(ts[2] / ts[0], 1.05)}, "
          f"best {verdict(BEST[2] / BEST[0], 1.05)}")


def long_chain(settings: Settings) -> None:
    n_ops = 10_000
    print(f"\n== 4. scalar chain of {n_ops} operations: omega by time ==")
    f_np, f_dt = make_chain(NP, n_ops), make_chain(DNP, n_ops)
    x = chain_input(1)
    grad = dt.grad(f_dt)
    t0 = time.perf_counter()
    pg = dt.record(grad, x)
    pg(x)
    print(f"  recording and first replay: {time.perf_counter() - t0:.2f} s")
    check("replayed grad == eager", pg(x * 0.9), grad(x * 0.9), 1e-12)
    quick = Settings(repeats=min(settings.repeats, 7), min_repeat_time=0.0, warmup=0.0,
                     max_time=settings.max_time, quick=True)
    rows = [("numpy f", lambda: f_np(x)), ("eager grad", lambda: grad(x)),
            ("replayed grad", lambda: pg(x))]
    ts = timed(rows, quick)
    print(ratios(rows, ts, "", "f (omega)", fmt_time))
    print(f"  target omega by time <= 5 with replay: median {verdict(ts[2] / ts[0], 5.0)}, "
          f"best {verdict(BEST[2] / BEST[0], 5.0)}")


def peak(fn) -> int:
    fn()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak_ = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak_


def memory() -> None:
    print("\n== 5. peak memory of one gradient (tracemalloc, above what was allocated) ==")
    params, X, Y = mlp_data()
    grad = dt.grad(make_mlp_loss(DNP, X, Y), tuple(range(6)))
    pg = dt.record(grad, *params)
    f_dt = make_chain(DNP, 200)
    xs = chain_input(10_000)
    cgrad = dt.grad(f_dt)
    pc = dt.record(cgrad, xs)
    rows = []
    for label, eager, replay, prog in (("MLP", lambda: grad(*params), lambda: pg(*params), pg),
                                       ("chain 200 ops, n = 10^4", lambda: cgrad(xs),
                                        lambda: pc(xs), pc)):
        e, r = peak(eager), peak(replay)
        plan = prog.memory()
        rows.append([label, f"{e / 2**20:.1f}", f"{r / 2**20:.1f}", f"{r / e:.2f}",
                     f"{plan['peak'] / 2**20:.1f} / {plan['kept'] / 2**20:.1f}"])
    print(table(["", "eager MiB", "replayed MiB", "replayed / eager",
                 "plan: peak / all kept MiB"], rows))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-numba", action="store_true", help="skip the compiled back end")
    ap.add_argument("--sections", default="chain,hvp,mlp,long,memory")
    a = ap.parse_args(argv)
    settings = Settings.make(a.quick)
    numba = not a.no_numba
    if numba:
        try:
            import numba as _  # noqa: F401
        except ImportError:
            print("numba is not installed: the compiled back end is skipped")
            numba = False
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    secs = a.sections.split(",")
    if "chain" in secs:
        chain(settings, numba)
    if "hvp" in secs:
        rosenbrock(settings)
    if "mlp" in secs:
        mlp(settings)
    if "long" in secs:
        long_chain(settings)
    if "memory" in secs:
        memory()
    if FAILED:
        print(f"\nFAILED: {', '.join(FAILED)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
