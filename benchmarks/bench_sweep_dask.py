"""The full grid of ``modes_vs_n_m`` sequentially and on a local Dask cluster, in one
session: wall time of a counts-only sweep (counts checked equal row by row), then of
the timed sweep with the spread of its repeats, to show what sharing a machine between
workers does to the times.

    PYTHONPATH=src python3 benchmarks/bench_sweep_dask.py [--workers 2] [--quick]
                                                          [--skip-timed]

Needs ``dualtape[distributed]``.  Results go to a temporary folder (``--keep DIR`` to
keep them); nothing in the repository is written.  The 1-minute load average before
and after each run is printed: on a shared machine it says how much the numbers mean.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
EXPERIMENT = HERE.parent / "experiments" / "modes_vs_n_m.py"


def _load():
    from dualtape.harness.cli import load_experiment

    return load_experiment(EXPERIMENT)


def _run(module, out: pathlib.Path, quick: bool, counts_only: bool, executor=None):
    from dualtape.harness import run_options

    load0 = os.getloadavg()[0]
    start = time.perf_counter()
    with run_options(fresh=True, quick=quick, executor=executor, counts_only=counts_only):
        rows = module.run(quick=quick, results_dir=str(out), progress=False)
    return rows, time.perf_counter() - start, load0, os.getloadavg()[0]


def _spread(rows) -> list[float]:
    """Per pair: the interquartile range of its repeats over their median."""
    by: dict[tuple, dict[str, float]] = {}
    for r in rows:
        by.setdefault((r["method"], r["n"], r["m"]), {})[r["statistic"]] = r["time_s"]
    return [(s["q75"] - s["q25"]) / s["median"] for s in by.values() if s.get("median")]


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="the quick grid instead")
    ap.add_argument("--skip-timed", action="store_true", help="counts only")
    ap.add_argument("--keep", type=pathlib.Path, default=None,
                    help="keep the results in this folder")
    args = ap.parse_args()
    from dualtape.harness.distributed import dask_executor
    from dualtape.harness.records import COUNT_COLUMNS

    module = _load()
    base = args.keep or pathlib.Path(tempfile.mkdtemp(prefix="bench_sweep_dask_"))
    grid = "quick" if args.quick else "full"
    print(f"modes_vs_n_m, {grid} grid; {os.cpu_count()} CPUs; results in {base}")
    print(f"{'run':<28} {'pairs':>5} {'wall s':>8} {'load before/after':>18}")

    def line(what, rows, wall, l0, l1):
        print(f"{what:<28} {len(rows) // 5:>5} {wall:8.1f} {l0:8.2f} / {l1:<7.2f}",
              flush=True)

    modes = [True] + ([] if args.skip_timed else [False])
    results = {}
    for counts_only in modes:
        kind = "counts only" if counts_only else "timed"
        seq = _run(module, base / f"seq_{kind[0]}", args.quick, counts_only)
        line(f"{kind}, sequential", *seq)
        start = time.perf_counter()
        with dask_executor(workers=args.workers) as ex:
            ready = time.perf_counter() - start
            par = _run(module, base / f"dask_{kind[0]}", args.quick, counts_only, ex)
        line(f"{kind}, {args.workers} dask workers", *par)
        print(f"{'':<28} (cluster start {ready:.1f} s, not included)")
        results[counts_only] = (seq, par)
        if counts_only:
            same = [tuple(a[c] for c in COUNT_COLUMNS) == tuple(b[c] for c in COUNT_COLUMNS)
                    for a, b in zip(seq[0], par[0])]
            print(f"{'':<28} counts equal row by row: {all(same)} ({len(same)} rows)")
            if not all(same):
                return 1
        print(f"{'':<28} speed-up {seq[1] / par[1]:.2f}x")
    if not args.skip_timed:
        (seq_rows, *_), (par_rows, *_) = results[False]
        s, p = _spread(seq_rows), _spread(par_rows)
        med = {(r["method"], r["n"], r["m"]): r["time_s"] for r in seq_rows
               if r["statistic"] == "median"}
        ratio = [r["time_s"] / med[(r["method"], r["n"], r["m"])] for r in par_rows
                 if r["statistic"] == "median" and med.get((r["method"], r["n"], r["m"]))]
        print("spread of repeats, (q75 - q25) / median over the pairs:")
        for what, xs in (("sequential", s), (f"{args.workers} dask workers", p)):
            print(f"  {what:<24} median {statistics.median(xs):6.1%}   "
                  f"90th percentile {_pct(xs, 0.9):6.1%}   max {max(xs):6.1%}")
        print(f"median time on the workers / sequential, per pair: median "
              f"{statistics.median(ratio):.2f}, 10th-90th percentile "
              f"{_pct(ratio, 0.1):.2f}-{_pct(ratio, 0.9):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
