"""Section 3: higher order on Rosenbrock: Hessian-vector products against the cost of
f, and full Hessians in dualtape's four nesting modes.

Each full Hessian is computed in a child process (``python bench_higher.py
--hessian-child ...``) with a memory cap and a time limit: a nesting whose
intermediates grow like n**3 then shows up as a failed row instead of exhausting the
machine.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np

import dualtape as dt
import dualtape.numpy as dnp
from common import (Peers, Recorder, Rows, Settings, Timing, div, fmt_ratio, fmt_spread,
                    fmt_time, max_rel_err, measure, section, table)
from workloads import (make_rosenbrock, numpy_like, rosen_hessian_exact, rosen_hvp_exact,
                       rosen_input, torch_ns)

HVP_SIZES = (100, 1000, 10000)
HESSIAN_SIZES = (100, 1000)
HESSIAN_MODES = ("fwd-over-fwd", "fwd-over-rev", "rev-over-fwd", "rev-over-rev")
HESSIAN_CHUNK = 50          # outer directions per pass for the inner-forward modes, n >= 500
HVP_AIM_US = 150.0          # absolute dualtape hvp time at n = 1000, microseconds
HVP_TARGET_RATIO = 5.0      # hvp time / f time at n = 10000


def run_hvp(rec: Recorder, settings: Settings, peers: Peers) -> dict:

    section("3a. Hessian-vector products, Rosenbrock "
            "f(x) = sum(100 (x[1:] - x[:-1]**2)**2 + (1 - x[:-1])**2)")
    print("'x numpy f': hvp time / plain numpy f time; 'x own f': / the same library's f.  "
          "dualtape: dt.hvp (forward-over-reverse).\nautograd: hessian_vector_product "
          "(reverse-over-reverse); jax: jax.jvp(jax.grad(f)) eager; torch: "
          "torch.func.jvp(torch.func.grad(f)).", flush=True)
    f_np = make_rosenbrock(numpy_like("numpy", np))
    f_dt = make_rosenbrock(numpy_like("dualtape", dnp))
    summary: dict[str, Any] = {"ratio": {}, "abs": {}}
    for n in HVP_SIZES:
        case = f"n={n}"
        x, v = rosen_input(n)
        exact = rosen_hvp_exact(x, v)
        print(f"\n-- n = {n} --", flush=True)
        rec.check(f"rosenbrock[{n}] dualtape hvp == hand-written Hv",
                  max_rel_err(dt.hvp(f_dt, x, v), exact), 1e-12)
        R = Rows(rec, settings, "hvp", case)
        R.add("numpy f", "numpy", "f", lambda: f_np(x))
        R.add("dualtape f (dnp, plain arrays)", "dualtape", "f", lambda: f_dt(x))
        R.add("dualtape hvp", "dualtape", "hvp", lambda: dt.hvp(f_dt, x, v))
        if peers.has("autograd"):
            rec.guard(f"hvp/{case}/autograd", lambda: _hvp_autograd(R, rec, peers, x, v, exact))
        if peers.has("jax"):
            rec.guard(f"hvp/{case}/jax", lambda: _hvp_jax(R, rec, peers, x, v, exact))
        if peers.has("torch"):
            rec.guard(f"hvp/{case}/torch", lambda: _hvp_torch(R, rec, peers, x, v, exact))

        R.run()
        base = R.median("numpy", "f")
        mine = R.median("dualtape", "hvp")
        rows = []
        for it in R.items:
            t = it["t"]
            med = None if t is None else t.median
            own = R.median(it["lib"], "f")
            hv = it["kind"] == "hvp"
            peer = hv and it["lib"] != "dualtape"
            rows.append([it["label"], fmt_time(med, "us"), fmt_spread(t),
                         fmt_ratio(div(med, base)), fmt_ratio(div(med, own)) if hv else "",
                         fmt_ratio(div(mine, med)) if peer else ""])
            rec.add("hvp", case, it["label"], t, lib=it["lib"], kind=it["kind"],
                    ratio_numpy_f=div(med, base), ratio_own_f=div(med, own))
        print(table(["method", "time", "spread", "x numpy f", "x own f", "dualtape / this"],
                    rows, title=f"Hessian-vector product, n = {n}"))
        summary["ratio"][n] = div(mine, base)
        summary["abs"][n] = mine
        summary.setdefault("peers", {})[n] = {
            lib: div(R.median(lib, "hvp"), base) for lib in ("autograd", "jax", "torch")}
    t1000 = summary["abs"].get(1000)
    v = rec.target("dualtape hvp time at n=1000", None if t1000 is None else t1000 * 1e6,
                   HVP_AIM_US, "aim", "us")
    print(f"\ndualtape hvp at n = 1000: {fmt_time(t1000, 'us')}  (aim <= {HVP_AIM_US:.0f} us:"
          f" {v})")
    rec.target("dualtape hvp / numpy f at n=10000", summary["ratio"].get(10000),
               HVP_TARGET_RATIO, "target")
    print("dualtape hvp / f: " + ", ".join(f"n={n}: {fmt_ratio(r)}"
                                            for n, r in summary["ratio"].items()))
    return summary


def _hvp_autograd(R, rec, peers, x, v, exact):
    ag, anp = peers["autograd"]["autograd"], peers["autograd"]["np"]
    f = make_rosenbrock(numpy_like("autograd", anp))
    hvp = ag.hessian_vector_product(f)
    rec.check(f"rosenbrock[{x.size}] autograd hvp == hand-written Hv",
              max_rel_err(hvp(x, v), exact), 1e-12)
    R.add("autograd f (anp, plain arrays)", "autograd", "f", lambda: f(x))
    R.add("autograd hvp (hessian_vector_product)", "autograd", "hvp", lambda: hvp(x, v))


def _hvp_jax(R, rec, peers, x, v, exact):
    jax, jnp = peers["jax"]["jax"], peers["jax"]["np"]
    f = make_rosenbrock(numpy_like("jax", jnp))
    xj, vj = jnp.asarray(x), jnp.asarray(v)
    g = jax.grad(f)

    def hvp():
        return jax.block_until_ready(jax.jvp(g, (xj,), (vj,))[1])

    rec.check(f"rosenbrock[{x.size}] jax hvp == hand-written Hv",
              max_rel_err(hvp(), exact), 1e-12)
    R.add("jax f (jnp, eager)", "jax", "f", lambda: jax.block_until_ready(f(xj)))
    R.add("jax hvp (jvp of grad, eager)", "jax", "hvp", hvp)


def _hvp_torch(R, rec, peers, x, v, exact):
    torch = peers["torch"]["torch"]
    f = make_rosenbrock(torch_ns(torch))
    xt, vt = torch.tensor(x), torch.tensor(v)
    g = torch.func.grad(f)

    def hvp():
        return torch.func.jvp(g, (xt,), (vt,))[1]

    rec.check(f"rosenbrock[{x.size}] torch hvp == hand-written Hv",
              max_rel_err(hvp().numpy(), exact), 1e-12)
    R.add("torch f (eager)", "torch", "f", lambda: f(xt))
    R.add("torch hvp (func.jvp of func.grad)", "torch", "hvp", hvp)


# ---- full Hessians, one child process per (n, mode) -------------------------------------
def _memory_cap_bytes(gib: float) -> int:
    cap = int(gib * 2 ** 30)
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    cap = min(cap, int(int(line.split()[1]) * 1024 * 0.7))
    except OSError:
        pass
    return cap


def _limit_memory(cap: int) -> None:
    """Cap this process's address space (the child calls it on itself, so the parent
    never needs a fork-time hook)."""
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (ImportError, ValueError, OSError):
        pass


def _run_child(n: int, mode: str, quick: bool, outdir: str, cap: int,
               timeout: float) -> dict:
    src = os.path.dirname(os.path.dirname(os.path.abspath(dt.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    out = os.path.join(outdir, f"H_{mode}_{n}.npy")
    cmd = [sys.executable, os.path.abspath(__file__), "--hessian-child", str(n), mode,
           "quick" if quick else "full", out, str(cap)]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout:.0f} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        err = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"ok": False, "error": f"child exit {proc.returncode}: {err[:150]}",
                "wall": time.perf_counter() - t0}
    res = json.loads(lines[-1])
    res["path"] = out
    return res


def _child_main(argv: list[str]) -> None:
    """``--hessian-child n mode quick|full out.npy cap``: time dt.hessian, save it."""
    n, mode, speed, out, cap = int(argv[0]), argv[1], argv[2], argv[3], int(argv[4])
    _limit_memory(cap)
    f = make_rosenbrock(numpy_like("dualtape", dnp))
    x, _ = rosen_input(n)
    # With an inner forward mode the dense intermediates hold n^3 numbers; chunking the
    # outer directions bounds them (dt.hessian(chunk_size=...)).
    chunk = HESSIAN_CHUNK if mode.endswith("over-fwd") and n >= 500 else None
    hess = dt.hessian(f, mode=mode, chunk_size=chunk)
    try:
        t0 = time.perf_counter()
        H = hess(x)
        first = time.perf_counter() - t0
        np.save(out, H)
        del H
        t = measure(lambda: hess(x), Settings.make(speed == "quick"))
    except MemoryError as e:
        print(json.dumps({"ok": False, "error": f"MemoryError: {e}"[:200]}))
        return
    print(json.dumps({"ok": True, "timing": t.to_json(), "first_call": first,
                      "chunk": chunk}))


def run_hessians(rec: Recorder, settings: Settings, mem_gib: float = 4.0) -> dict:
    section("3b. Full Hessian of Rosenbrock in the four dualtape modes "
            "(dt.hessian(f, mode=m))")
    cap = _memory_cap_bytes(mem_gib)
    timeout = 40.0 if settings.quick else 60.0
    print(f"Each (n, mode) runs in a child process limited to {cap / 2**30:.1f} GiB of "
          f"address space and {timeout:.0f} s.  'x numpy f': Hessian time / plain numpy f "
          f"time.", flush=True)
    f_np = make_rosenbrock(numpy_like("numpy", np))
    summary: dict[str, Any] = {}
    rows = []
    with tempfile.TemporaryDirectory(prefix="dualtape-bench-") as tmp:
        for n in HESSIAN_SIZES:
            x, _ = rosen_input(n)
            exact = rosen_hessian_exact(x)
            tf = measure(lambda: f_np(x), settings).median
            mats: dict[str, np.ndarray] = {}
            for mode in HESSIAN_MODES:
                res = _run_child(n, mode, settings.quick, tmp, cap, timeout)
                case = f"n={n}"
                if not res.get("ok"):
                    rec.errors[f"hessian/{case}/{mode}"] = res["error"]
                    rec.warn(f"dt.hessian mode={mode} at n={n} failed: {res['error']}")
                    rec.add("hessian", case, mode, None, error=res["error"])
                    rows.append([f"{mode}", str(n), "FAILED", "", "", _short(res["error"])])
                    summary[f"{mode} n={n}"] = None
                    continue
                tj = res["timing"]
                t = Timing(tj["median"], tj["q1"], tj["q3"], tj["repeats"], tj["number"],
                           tj["samples"], tj.get("cpu_share", float("nan")))
                H = np.load(res["path"])
                mats[mode] = H
                err = max_rel_err(H, exact)
                rec.check(f"hessian[{n}] {mode} == hand-written Hessian", err, 1e-12)
                rec.add("hessian", case, mode, t, ratio_numpy_f=div(t.median, tf),
                        first_call=res.get("first_call"), error_vs_exact=err)
                label = mode + (f" (chunk {res['chunk']})" if res.get("chunk") else "")
                rows.append([label, str(n), fmt_time(t.median, "ms"), fmt_spread(t),
                             fmt_ratio(div(t.median, tf)), f"{err:.1e}"])
                summary[f"{mode} n={n}"] = t.median
            agree = _agreement(mats)
            rec.flag(f"hessian[{n}] the {len(mats)} modes that ran agree (np.allclose)",
                     agree is None, agree or "")
    print(table(["mode", "n", "time", "spread", "x numpy f", "err vs exact / note"], rows,
                title="Full Hessian"))
    return summary


def _short(error: str) -> str:
    """A table-sized version of a child's error message."""
    m = re.search(r"Unable to allocate ([\d.]+ \w+) for an array with shape (\([^)]*\))",
                  error)
    if m:
        return f"out of memory: one {m.group(1)} array {m.group(2)}"
    return error[:50]


def _agreement(mats: dict[str, np.ndarray]) -> str | None:
    """None if every pair of Hessians is np.allclose, else which pair differs."""
    names = list(mats)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if not np.allclose(mats[a], mats[b]):
                d = float(np.max(np.abs(mats[a] - mats[b])))
                return f"{a} vs {b}, max |difference| {d:.3e}"
    return None


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--hessian-child":
        _child_main(sys.argv[2:])
    else:
        sys.exit("bench_higher.py is run by run.py; see benchmarks/run.py --help")
