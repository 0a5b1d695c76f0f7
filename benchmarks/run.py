"""dualtape benchmark suite: ``python benchmarks/run.py [--quick]`` (``make bench``).

Sections
  1. per-operation overhead of a 200-op elementwise chain (f, jvp, grad)
  2. cheap-gradient ratio of an MLP loss (grad time / loss time)
  3. Rosenbrock Hessian-vector products and full Hessians in four modes
  4. sparse Jacobians of the tridiagonal function, per stage, against scipy's sparse
     finite differences

Every number is a median over repeats (time.perf_counter, after warm-up) with the
interquartile range as the spread, measured in this run.  Peers (HIPS autograd, jax
without jit, torch eager) are used when importable and skipped otherwise.  Results go
to benchmarks/results/*.json.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import sys
import time

# numpy, dualtape and the benchmark modules are imported inside functions, after
# main() has set the thread limits (they must be in the environment before numpy loads).
HERE = os.path.dirname(os.path.abspath(__file__))
PEER_NAMES = ("autograd", "jax", "torch")      # as in common.py, which imports numpy
SECTIONS = ("chain", "mlp", "hvp", "hessian", "sparse", "dense", "backprop", "prepared")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="fewer repeats and shorter repeats (about 4x faster, noisier)")
    ap.add_argument("--sections", default=",".join(SECTIONS),
                    help=f"comma-separated subset of {','.join(SECTIONS)}")
    ap.add_argument("--peers", default=",".join(PEER_NAMES),
                    help="comma-separated peers to compare with, or 'none'")
    ap.add_argument("--json", default=None,
                    help="where to write the results (default: benchmarks/results/"
                         "bench-<time>.json)")
    ap.add_argument("--threads", type=int, default=1,
                    help="BLAS / intra-op threads for numpy, torch and jax (default 1: "
                         "stable, comparable ratios); 0 leaves every library's default")
    ap.add_argument("--hessian-mem-gib", type=float, default=4.0,
                    help="address-space cap for each full-Hessian child process")
    args = ap.parse_args(argv)
    args.sections = tuple(s.strip() for s in args.sections.split(",") if s.strip())
    bad = set(args.sections) - set(SECTIONS)
    if bad:
        ap.error(f"unknown sections {sorted(bad)}; choose from {SECTIONS}")
    args.peers = () if args.peers.strip() == "none" else tuple(
        p.strip() for p in args.peers.split(",") if p.strip())
    return args


def environment(peers, settings, threads: int) -> dict:
    import numpy as np

    import dualtape as dt
    env = {
        "dualtape": f"{dt.__version__} ({os.path.dirname(dt.__file__)})",
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "threads": threads if threads > 0 else "library defaults",
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "peers": dict(peers.versions),
        "skipped_peers": dict(peers.skipped),
        "settings": {"repeats": settings.repeats, "min_repeat_time": settings.min_repeat_time,
                     "warmup": settings.warmup, "max_time": settings.max_time,
                     "quick": settings.quick},
        "threads_env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                    "MKL_NUM_THREADS") if k in os.environ},
    }
    env["git"] = git_state()
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        env["blas"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception:
        pass
    return env


def git_state() -> str:
    """The commit benchmarked, and whether src/ had uncommitted changes."""
    import subprocess
    root = os.path.dirname(HERE)
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, text=True,
                              capture_output=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=root,
                               text=True, capture_output=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not head:
        return "unknown"
    return head + (" + uncommitted changes in src/" if dirty else "")


def print_summary(rec, results: dict, wall: float) -> None:
    from common import fmt_ratio, fmt_time
    print()
    print("=" * 88)
    print("SUMMARY")
    print("=" * 88)
    chain = results.get("chain")
    if chain:
        for size, d in chain.items():
            print(f"per-op, size {size:>2}: numpy {fmt_time(d.get('numpy'), 'us')}/op, "
                  f"dualtape f {fmt_time(d.get('f'), 'us')}/op, "
                  f"jvp {fmt_time(d.get('jvp'), 'us')}/op, "
                  f"grad {fmt_time(d.get('grad'), 'us')}/op")
    mlp = results.get("mlp")
    if mlp:
        peers = ", ".join(f"{k} {fmt_ratio(v)}" for k, v in mlp["ratios_peers"].items()
                          if v is not None)
        print(f"MLP grad/loss: dualtape {fmt_ratio(mlp['ratio_dualtape'])}, hand backprop "
              f"{fmt_ratio(mlp['ratio_backprop'])}" + (f", {peers}" if peers else ""))
    hvp = results.get("hvp")
    if hvp:
        print("hvp/f (dualtape): " + ", ".join(f"n={n}: {fmt_ratio(r)}"
                                               for n, r in hvp["ratio"].items()))
    hess = results.get("hessian")
    if hess:
        by_n: dict[str, list] = {}
        for key, v in hess.items():
            mode, n = key.split(" ")
            by_n.setdefault(n, []).append(f"{mode} {fmt_time(v, 'ms') if v else 'FAILED'}")
        for n, parts in by_n.items():
            print(f"Hessian {n}: " + ", ".join(parts))
    sparse = results.get("sparse")
    if sparse:
        for n, d in sparse.items():
            print(f"sparse n={n}: total {fmt_time(d['total'], 'ms')} (mode='fwd': "
                  f"{fmt_time(d['total_fwd'], 'ms')}; detect "
                  f"{fmt_time(d['detect'], 'ms')}, colour {fmt_time(d['colour'], 'ms')}, "
                  f"pass {fmt_time(d['pass'], 'ms')}, decompress "
                  f"{fmt_time(d['decompress'], 'ms')}); scipy FD {fmt_time(d['fd'], 'ms')}; "
                  f"dense jacfwd {fmt_time(d['dense'], 'ms')}; max rel error "
                  f"{d['error']:.1e} vs FD {d['fd_error']:.1e}")
    print("\nTargets:")
    for t in rec.targets:
        val = "-" if t["value"] is None else f"{t['value']:.3g}{t['unit']}"
        print(f"  [{t['verdict']:6}] {t['name']}: {val}  ({t['kind']} <= {t['limit']:g}"
              f"{t['unit']})")
    failed = [c for c in rec.checks if not c["ok"]]
    print(f"\nCorrectness checks: {len(rec.checks) - len(failed)}/{len(rec.checks)} passed")
    for c in failed:
        print(f"  FAILED: {c['name']}")
    if rec.errors:
        print("Skipped or failed measurements:")
        for k, v in rec.errors.items():
            print(f"  {k}: {v}")
    if rec.cpu_shares:
        shares = [c["share"] for c in rec.cpu_shares]
        print(f"CPU share while timing (process CPU time / wall time, per table): "
              f"{100 * min(shares):.0f}% .. {100 * max(shares):.0f}%"
              + ("" if min(shares) >= 0.85 else "  <- the machine was busy; re-run when idle"))
    if rec.warnings:
        print(f"Warnings: {len(rec.warnings)} (see above)")
    print(f"\nTotal wall time: {wall:.0f} s")


def limit_threads(n: int) -> None:
    """Set thread counts through the environment; must run before numpy is imported
    (the child processes of section 3b inherit it)."""
    if n <= 0:
        return
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ[var] = str(n)
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_multi_thread_eigen" not in flags:
        extra = "--xla_cpu_multi_thread_eigen=false" if n == 1 else ""
        os.environ["XLA_FLAGS"] = f"{flags} {extra} intra_op_parallelism_threads={n}".strip()


def import_dualtape() -> None:
    """Use the installed dualtape, or else the source tree next to benchmarks/."""
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    try:
        import dualtape  # noqa: F401
    except ImportError:
        sys.path.insert(1, os.path.join(os.path.dirname(HERE), "src"))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t_start = time.perf_counter()
    limit_threads(args.threads)
    import_dualtape()
    from common import Recorder, Settings, load_peers
    settings = Settings.make(args.quick)
    peers = load_peers(args.peers, args.threads)
    env = environment(peers, settings, args.threads)
    print("dualtape benchmarks" + (" (--quick)" if args.quick else ""))
    for k in ("dualtape", "git", "python", "numpy", "blas", "platform", "cpus", "threads"):
        if k in env:
            print(f"  {k:9} {env[k]}")
    for name in PEER_NAMES:
        if name in peers.versions:
            print(f"  {name:9} {peers.versions[name]}")
        else:
            print(f"  {name:9} skipped ({peers.skipped.get(name)})")
    print(f"  timing    median of {settings.repeats} repeats, each >= "
          f"{settings.min_repeat_time * 1e3:.0f} ms of calls, after warm-up; spread = "
          f"half the interquartile range, relative to the median", flush=True)

    rec = Recorder()
    rec.load_check("at the start")
    results: dict = {}
    if "chain" in args.sections or "mlp" in args.sections:
        import bench_core
        if "chain" in args.sections:
            results["chain"] = bench_core.run_chain(rec, settings, peers)
        if "mlp" in args.sections:
            results["mlp"] = bench_core.run_mlp(rec, settings, peers)
    if "hvp" in args.sections or "hessian" in args.sections:
        import bench_higher
        if "hvp" in args.sections:
            results["hvp"] = bench_higher.run_hvp(rec, settings, peers)
        if "hessian" in args.sections:
            results["hessian"] = bench_higher.run_hessians(rec, settings,
                                                           args.hessian_mem_gib)
    if "sparse" in args.sections:
        import bench_jacobian
        results["sparse"] = bench_jacobian.run_sparse(rec, settings)
    if {"dense", "backprop", "prepared"} & set(args.sections):
        import bench_blas
        if "dense" in args.sections:
            results["dense"] = bench_blas.run_dense(rec, settings, peers)
        if "backprop" in args.sections:
            results["backprop"] = bench_blas.run_mlp_backprop(rec, settings)
        if "prepared" in args.sections:
            results["prepared"] = bench_blas.run_prepared(rec, settings)
    rec.load_check("at the end")
    wall = time.perf_counter() - t_start
    print_summary(rec, results, wall)

    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = args.json or os.path.join(HERE, "results", f"bench-{stamp}.json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as fh:
        json.dump({"created": stamp, "argv": sys.argv[1:], "environment": env,
                   "wall_seconds": wall, "summary": results, "rows": rec.rows,
                   "checks": rec.checks, "targets": rec.targets, "warnings": rec.warnings,
                   "load": rec.loads, "cpu_share": rec.cpu_shares,
                   "errors": rec.errors}, fh, indent=1, default=_json_default)
    print(f"Results written to {os.path.relpath(path)}")
    return 1 if any(not c["ok"] for c in rec.checks) else 0


def _json_default(o):
    import numpy as np
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


if __name__ == "__main__":
    sys.exit(main())
