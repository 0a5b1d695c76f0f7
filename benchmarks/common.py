"""Shared benchmark machinery: timing settings, optional peer libraries, table printing.

Timing protocol: the one of the experiments harness, ``dualtape.harness.timing``
(every number in the suite comes from :func:`measure_many`, which calls its
``time_interleaved``):

* each callable is warmed up first (at least two calls and ``warmup`` seconds), so
  one-off costs (imports, caches, jax's op-by-op compilation) are not timed;
* a *repeat* runs the callable ``number`` times in a loop, ``number`` calibrated in
  timeit's autorange style (1, 2, 5, 10, ...) so a repeat lasts at least
  ``min_repeat_time`` seconds, and records the time per call (raw samples are kept);
* the rows of one table are measured interleaved, one repeat of each per round, so
  load from other processes on a shared machine affects them alike;
* the result is the median over repeats, with the first and third quartiles
  (interquartile range) as the spread.

The garbage collector stays enabled (allocation and collection are part of what a
tape-based library costs); a full collection runs before the timed rounds.
"""

from __future__ import annotations

import os
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from dualtape.harness.timing import time_interleaved


# ---- timing ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    """How hard to measure: ``--quick`` trades precision for time."""

    repeats: int
    min_repeat_time: float      # seconds one repeat lasts at least
    warmup: float               # seconds of warm-up calls
    max_time: float             # rough cap, seconds, on one measurement
    quick: bool

    @staticmethod
    def make(quick: bool) -> "Settings":
        # Many short repeats rather than a few long ones: on a shared machine the
        # median of many samples shrugs off bursts of load from other processes.
        if quick:
            return Settings(repeats=7, min_repeat_time=0.004, warmup=0.01, max_time=0.5,
                            quick=True)
        return Settings(repeats=31, min_repeat_time=0.01, warmup=0.05, max_time=2.0,
                        quick=False)


@dataclass
class Timing:
    """Seconds per call: median and quartiles over ``repeats`` repeats of ``number``
    calls each."""

    median: float
    q1: float
    q3: float
    repeats: int
    number: int
    samples: list = field(default_factory=list, repr=False)
    cpu_share: float = float("nan")   # process CPU time / wall time while timing

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    @property
    def rel_iqr(self) -> float:
        return self.iqr / self.median if self.median > 0 else float("nan")

    def scaled(self, factor: float) -> "Timing":
        """The same timing with every number multiplied by ``factor`` (e.g. per op)."""
        return Timing(self.median * factor, self.q1 * factor, self.q3 * factor,
                      self.repeats, self.number, [s * factor for s in self.samples],
                      self.cpu_share)

    def to_json(self) -> dict:
        d = asdict(self)
        d["iqr"] = self.iqr
        return d


def _quartiles(xs: list[float]) -> tuple[float, float, float]:
    if len(xs) == 1:
        return xs[0], xs[0], xs[0]
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], statistics.median(xs), q[2]


def measure_many(fns: list[Callable[[], Any]], settings: Settings) -> list:
    """Time several callables *interleaved* by the harness' protocol
    (``dualtape.harness.timing.time_interleaved``: warm-up, autorange-calibrated loops,
    one repeat of every callable per round), so a slow phase of a shared machine hits
    all of them alike and their ratios stay meaningful.  Returns a Timing per callable,
    or the exception it raised (that callable is then left out of the remaining rounds)."""
    results = time_interleaved(fns, repeats=settings.repeats, warmup=2,
                               warmup_time=settings.warmup,
                               min_time=settings.min_repeat_time, max_time=settings.max_time)
    out: list = []
    for res in results:
        if isinstance(res, BaseException) or res is None:
            out.append(res)
            continue
        q1, med, q3 = _quartiles(res.samples)
        out.append(Timing(med, q1, q3, len(res.samples), res.loops, res.samples,
                          res.cpu_share))
    return out


def measure(fn: Callable[[], Any], settings: Settings) -> Timing:
    """Time ``fn()`` (no arguments) on its own; see the module docstring."""
    res = measure_many([fn], settings)[0]
    if isinstance(res, Exception):
        raise res
    return res


# ---- optional peers --------------------------------------------------------------------
PEER_NAMES = ("autograd", "jax", "torch")


@dataclass
class Peers:
    """The peer libraries that could be imported, and why the others were skipped."""

    modules: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.modules

    def __getitem__(self, name: str) -> Any:
        return self.modules[name]


def load_peers(wanted: tuple = PEER_NAMES, threads: int = 0) -> Peers:
    """Import each wanted peer; a peer that cannot be imported is skipped, with the
    reason recorded, and never stops the run.  ``threads > 0`` limits torch's intra-op
    threads (numpy's and jax's limits come from the environment, see run.py)."""
    peers = Peers()
    for name in PEER_NAMES:
        if name not in wanted:
            peers.skipped[name] = "disabled on the command line"
            continue
        try:
            peers.modules[name], peers.versions[name] = _IMPORTERS[name](threads)
        except Exception as e:  # ImportError, or a broken install
            peers.skipped[name] = f"{type(e).__name__}: {e}".splitlines()[0][:120]
    return peers


def _import_autograd(threads: int):
    import autograd
    import autograd.numpy as anp
    try:
        from importlib.metadata import version
        v = version("autograd")
    except Exception:
        v = getattr(autograd, "__version__", "?")
    return {"autograd": autograd, "np": anp}, v


def _import_jax(threads: int):
    # CPU only, float64, and no jit anywhere in this suite (eager, op by op).
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax
    jax.config.update("jax_platforms", "cpu")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    return {"jax": jax, "np": jnp}, jax.__version__


def _import_torch(threads: int):
    import torch
    import torch.func  # noqa: F401  (jvp, grad)
    if threads > 0:
        torch.set_num_threads(threads)
    return {"torch": torch}, f"{torch.__version__} ({torch.get_num_threads()} threads)"


_IMPORTERS = {"autograd": _import_autograd, "jax": _import_jax, "torch": _import_torch}


# ---- output ------------------------------------------------------------------------------
def fmt_time(seconds: float | None, unit: str = "auto") -> str:
    if seconds is None or seconds != seconds:
        return "-"
    if unit == "auto":
        unit = "s" if seconds >= 1 else "ms" if seconds >= 1e-3 else "us"
    scale = {"s": 1.0, "ms": 1e3, "us": 1e6}[unit]
    v = seconds * scale
    digits = 0 if v >= 1000 else 1 if v >= 100 else 2 if v >= 10 else 3
    return f"{v:.{digits}f} {unit}"


def fmt_ratio(r: float | None) -> str:
    if r is None or r != r:
        return "-"
    return f"{r:.3g}x" if r < 100 else f"{r:.0f}x"


def fmt_spread(t: Timing | None) -> str:
    if t is None:
        return "-"
    return f"±{100 * t.rel_iqr / 2:.1f}%"


def table(headers: list[str], rows: list[list[str]], title: str | None = None) -> str:
    """A plain-text table; the first column is left-aligned, the others right-aligned."""
    widths = [len(h) for h in headers]
    for r in rows:
        for i, c in enumerate(r):
            widths[i] = max(widths[i], len(c))

    def line(cells: list[str]) -> str:
        out = [cells[0].ljust(widths[0])]
        out += [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join(out).rstrip()

    parts = []
    if title:
        parts += [title, "=" * len(title)]
    parts.append(line(headers))
    parts.append("  ".join("-" * w for w in widths))
    parts += [line(r) for r in rows]
    return "\n".join(parts)


def section(title: str) -> None:
    print()
    print("#" * 88)
    print(f"# {title}")
    print("#" * 88, flush=True)


def verdict(value: float | None, limit: float) -> str:
    if value is None or value != value:
        return "n/a"
    return "OK" if value <= limit else "MISSED"


def max_rel_err(a: Any, b: Any) -> float:
    """max |a - b| / max(1, max |b|): a scale-aware error between two arrays."""
    import numpy as np
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


class Recorder:
    """Collects every timing, correctness check, target and warning of a run, for the
    summary and the JSON file."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.checks: list[dict] = []
        self.targets: list[dict] = []
        self.warnings: list[str] = []
        self.errors: dict[str, str] = {}
        self.loads: list[dict] = []
        self.cpu_shares: list[dict] = []

    def add(self, section: str, case: str, label: str, timing: Timing | None,
            **extra: Any) -> Timing | None:
        row = {"section": section, "case": case, "label": label}
        row.update(timing.to_json() if timing is not None else {"median": None})
        row.update(extra)
        self.rows.append(row)
        return timing

    def flag(self, name: str, ok: bool, detail: str = "") -> bool:
        """A pass/fail check without a numeric error."""
        self.checks.append({"name": name, "ok": bool(ok), "detail": detail})
        print(f"  check {'OK  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}",
              flush=True)
        if not ok:
            self.warn(f"check failed: {name} {detail}")
        return bool(ok)

    def check(self, name: str, err: float, tol: float) -> bool:
        ok = bool(err <= tol)          # NaN fails
        self.checks.append({"name": name, "error": err, "tol": tol, "ok": ok})
        print(f"  check {'OK  ' if ok else 'FAIL'} {name}: error {err:.2e} (tol {tol:.0e})",
              flush=True)
        if not ok:
            self.warn(f"correctness check failed: {name} (error {err:.2e} > {tol:.0e})")
        return ok

    def target(self, name: str, value: float | None, limit: float, kind: str,
               unit: str = "") -> str:
        v = verdict(value, limit)
        self.targets.append({"name": name, "value": value, "limit": limit, "kind": kind,
                             "unit": unit, "verdict": v})
        return v

    def load_check(self, when: str) -> None:
        """Warn when other processes compete for the CPUs (timings get noisy)."""
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):
            return
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
        self.loads.append({"when": when, "load1": load, "cpus": cpus})
        if load > cpus + 0.5:
            self.warn(f"load average {load:.1f} on {cpus} CPUs {when}: other processes "
                      f"compete for the CPUs, so timings are noisier than usual")

    def warn(self, msg: str) -> None:
        self.warnings.append(msg)
        print(f"WARNING: {msg}", flush=True)

    def guard(self, key: str, fn: Callable[[], Any]) -> Any:
        """Run one (peer) measurement; an exception is recorded and printed, and the
        row skipped, so one library's API change never stops the suite."""
        try:
            return fn()
        except Exception as e:
            msg = f"{type(e).__name__}: {e}".splitlines()[0][:100]
            self.errors[key] = msg
            print(f"  [skipped {key}: {msg}]", flush=True)
            return None


class Rows:
    """The rows of one table: label, library, kind (f / jvp / grad ...) and callable.
    ``add`` registers a row; ``run`` times all rows interleaved (see measure_many)."""

    def __init__(self, rec: Recorder, settings: Settings, sec: str, case: str) -> None:
        self.rec, self.settings, self.sec, self.case = rec, settings, sec, case
        self.items: list[dict] = []

    def add(self, label: str, lib: str, kind: str, fn: Callable[[], Any],
            scale: float = 1.0) -> None:
        self.items.append({"label": label, "lib": lib, "kind": kind, "fn": fn,
                           "scale": scale, "t": None})

    def run(self) -> None:
        print(f"  timing {len(self.items)} rows, interleaved ...", flush=True)
        results = measure_many([it["fn"] for it in self.items], self.settings)
        for it, res in zip(self.items, results, strict=True):
            if isinstance(res, Exception):
                msg = f"{type(res).__name__}: {res}".splitlines()[0][:100]
                self.rec.errors[f"{self.sec}/{self.case}/{it['label']}"] = msg
                print(f"  [failed {it['label']}: {msg}]", flush=True)
            elif res is not None:
                it["t"] = res.scaled(it["scale"]) if it["scale"] != 1.0 else res
        shares = [it["t"].cpu_share for it in self.items if it["t"] is not None]
        if shares:
            share = statistics.median(shares)
            self.rec.cpu_shares.append({"table": f"{self.sec}/{self.case}", "share": share})
            if share < 0.85:
                self.rec.warn(f"{self.sec} {self.case}: this process got only "
                              f"{100 * share:.0f}% of a CPU while timing (other processes "
                              f"took the rest); absolute times are inflated, ratios noisy")

    def get(self, lib: str, kind: str) -> Timing | None:
        for it in self.items:
            if it["lib"] == lib and it["kind"] == kind and it["t"] is not None:
                return it["t"]
        return None

    def median(self, lib: str, kind: str) -> float | None:
        t = self.get(lib, kind)
        return None if t is None else t.median


def div(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b
