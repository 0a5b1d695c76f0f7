"""Per-operation overhead and MLP gradient ratio of two source trees, in one run.

``python benchmarks/compare_trees.py --base /path/to/old/src [--head src] [--rounds 7]``

A change to the core must not slow the hot paths.  Timings on a shared machine drift by
tens of percent between runs, so the two trees are measured in the same run: each
round starts one child interpreter per tree (alternating which goes first) that times
the 200-op elementwise chain (jvp and grad, sizes 1 and 10) and the MLP gradient over
the plain numpy loss.  Each child takes the median of its repeats; the table shows the
median over rounds and the head/base ratio.  BLAS runs on one thread.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

CHILD = r"""
import json, sys, time
sys.path.insert(0, {bench!r})
import numpy as np
import dualtape as dt
import dualtape.numpy as dnp
from workloads import (CHAIN_OPS, chain_input, make_chain, make_mlp_loss, mlp_data,
                       numpy_like)

def median_time(fn, repeats):
    fn()
    n, t = 1, 0.0
    while True:                          # calibrate: at least 20 ms per sample
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        t = time.perf_counter() - t0
        if t >= 0.02:
            break
        n *= 2
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - t0) / n)
    samples.sort()
    return samples[len(samples) // 2]

out = {{"file": dt.__file__}}
ns = numpy_like("dualtape", dnp)
f = make_chain(ns)
for size in (1, 10):
    x = chain_input(size)
    v = np.ones_like(x)
    g = dt.grad(f)
    out[f"chain grad size {{size}} (us/op)"] = median_time(lambda: g(x), 9) / CHAIN_OPS * 1e6
    out[f"chain jvp size {{size}} (us/op)"] = median_time(
        lambda: dt.jvp(f, (x,), (v,)), 9) / CHAIN_OPS * 1e6
params, X, Y = mlp_data()
loss_np = make_mlp_loss(numpy_like("numpy", np), X, Y)
loss_dt = make_mlp_loss(ns, X, Y)
gm = dt.grad(loss_dt, argnums=tuple(range(len(params))))
t_f = median_time(lambda: loss_np(*params), 9)
t_g = median_time(lambda: gm(*params), 9)
out["mlp grad / numpy loss"] = t_g / t_f
print(json.dumps(out))
"""


def run_child(src: str) -> dict:
    env = dict(os.environ, PYTHONPATH=os.path.abspath(src), OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    res = subprocess.run([sys.executable, "-c", CHILD.format(bench=HERE)], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", required=True, help="the old tree's src directory")
    ap.add_argument("--head", default=os.path.join(HERE, "..", "src"),
                    help="the new tree's src directory (default: this checkout)")
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args(argv)
    got: dict[str, list[dict]] = {"base": [], "head": []}
    for r in range(args.rounds):
        order = ("base", "head") if r % 2 == 0 else ("head", "base")
        for which in order:
            got[which].append(run_child(getattr(args, which)))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    keys = [k for k in got["base"][0] if k != "file"]
    print(f"base: {got['base'][0]['file']}\nhead: {got['head'][0]['file']}")
    print(f"{'quantity':32s} {'base':>9s} {'head':>9s} {'head/base':>10s}")
    for k in keys:
        b = statistics.median(d[k] for d in got["base"])
        h = statistics.median(d[k] for d in got["head"])
        print(f"{k:32s} {b:9.3f} {h:9.3f} {h / b:10.3f}")


if __name__ == "__main__":
    main()
