"""Instructions per call of the hot paths, for two source trees, under callgrind.

``python benchmarks/instructions.py --base /path/to/old/src [--head src]``

On a shared machine wall-clock medians drift by tens of percent; callgrind's count of
executed instructions does not (the same binary and inputs give the same count, whatever
else runs).  For each tree and workload (200-op chain at size 1: grad and jvp; the MLP
gradient) the workload is run k1 and k2 times after a warm-up, and the difference of the
two totals over k2 - k1 is the cost of one call, start-up excluded.  Needs valgrind.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

CHILD = r"""
import sys
sys.path.insert(0, {bench!r})
import numpy as np
import dualtape as dt
import dualtape.numpy as dnp
from workloads import chain_input, make_chain, make_mlp_loss, mlp_data, numpy_like
which, reps = sys.argv[1], int(sys.argv[2])
ns = numpy_like("dualtape", dnp)
if which == "mlp grad":
    params, X, Y = mlp_data()
    g = dt.grad(make_mlp_loss(ns, X, Y), argnums=tuple(range(6)))
    call = lambda: g(*params)
else:
    f, x = make_chain(ns), chain_input(1)
    g = dt.grad(f)
    call = (lambda: g(x)) if which == "chain grad" else (
        lambda: dt.jvp(f, (x,), (np.ones_like(x),)))
call()
for _ in range(reps):
    call()
"""

WORKLOADS = {"chain grad": (5, 85), "chain jvp": (5, 85), "mlp grad": (2, 7)}


def instructions(src: str, which: str, reps: int) -> int:
    env = dict(os.environ, PYTHONPATH=os.path.abspath(src), OPENBLAS_NUM_THREADS="1",
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    res = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         "-c", CHILD.format(bench=HERE), which, str(reps)],
        env=env, capture_output=True, text=True, check=True)
    return int(re.search(r"Collected : (\d+)", res.stderr).group(1))


def per_call(src: str, which: str) -> float:
    k1, k2 = WORKLOADS[which]
    return (instructions(src, which, k2) - instructions(src, which, k1)) / (k2 - k1)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", required=True, help="the old tree's src directory")
    ap.add_argument("--head", default=os.path.join(HERE, "..", "src"))
    ap.add_argument("--only", default=",".join(WORKLOADS),
                    help=f"comma-separated subset of {', '.join(WORKLOADS)}")
    args = ap.parse_args(argv)
    print(f"{'workload':12s} {'base':>14s} {'head':>14s} {'head/base':>10s}")
    for which in [w.strip() for w in args.only.split(",") if w.strip()]:
        b, h = per_call(args.base, which), per_call(args.head, which)
        print(f"{which:12s} {b:14,.0f} {h:14,.0f} {h / b:10.3f}", flush=True)


if __name__ == "__main__":
    main()
