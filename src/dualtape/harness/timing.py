"""The one timing protocol of the repository (the harness and ``benchmarks/`` both use it),
peak memory, summary statistics and slope fits.

Protocol, per measured callable:

* warm-up: at least ``warmup`` calls (and ``warmup_time`` seconds), so one-off costs
  such as imports, caches or compilation are not timed;
* calibration in timeit's ``autorange`` style: the number of calls per sample
  (``loops``) grows 1, 2, 5, 10, 20, 50, ... until one sample lasts at least
  ``min_time`` seconds, so a call of a microsecond is timed over thousands of calls
  instead of by one pair of clock reads; a call slower than ``min_time`` gets
  ``loops = 1``;
* ``repeats`` samples of ``loops`` calls each, every sample kept as seconds per call
  (the raw samples are stored next to the summary statistics);
* one full garbage collection before the samples; the collector stays enabled while
  timing, because allocating and collecting is part of what a tape-based library costs.

Several callables can be timed interleaved (one sample of each per round), so a burst
of load from other processes on a shared machine hits all of them alike.
"""

from __future__ import annotations

import gc
import math
import time
import tracemalloc
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["PROTOCOL", "STATISTICS", "Timed", "calibrate", "time_call", "time_interleaved",
           "summarize", "peak_bytes", "fit_slope"]

#: Names the protocol in each record; bump it when the way of timing changes, so saved
#: times measured the old way are not reused.
PROTOCOL = "autorange-1"

STATISTICS = ("median", "q25", "q75", "min", "max")


@dataclass
class Timed:
    """Seconds per call of one callable: ``samples`` (one per repeat, each the mean over
    ``loops`` calls) and the share of a CPU the process got while timing."""

    loops: int
    samples: list = field(default_factory=list)
    cpu_share: float = float("nan")


def _loop(call: Callable[[], Any], loops: int) -> float:
    perf = time.perf_counter
    start = perf()
    for _ in range(loops):
        call()
    return perf() - start


def _ladder_at_least(x: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... that is at least ``x``."""
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale >= x:
                return step * scale
        scale *= 10


def calibrate(call: Callable[[], Any], min_time: float) -> int:
    """The number of calls per sample: the first ``loops`` in 1, 2, 5, 10, 20, 50, ...
    for which ``loops`` calls of ``call()`` last at least ``min_time`` seconds
    (timeit's autorange rule).  Steps of the ladder far below the target, as estimated
    from the last try, are skipped, so a very fast call is calibrated in a few tries."""
    loops = 1
    while True:
        elapsed = _loop(call, loops)
        if elapsed >= min_time:
            return loops
        needed = min_time / max(elapsed / loops, 1e-9)
        loops = _ladder_at_least(max(loops + 1, 0.5 * needed))


def _warm(call: Callable[[], Any], warmup: int, warmup_time: float, max_time: float) -> None:
    perf = time.perf_counter
    start = perf()
    done = 0
    while done < warmup or perf() - start < warmup_time:
        call()
        done += 1
        if perf() - start > max_time:
            break


def time_call(fn: Callable, args: Sequence[Any] = (), repeats: int = 5, warmup: int = 1,
              min_time: float = 0.002, warmup_time: float = 0.0) -> Timed:
    """Time ``fn(*args)`` by the protocol of this module; returns :class:`Timed` with
    ``repeats`` samples of seconds per call."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    args = tuple(args)

    def call() -> Any:
        return fn(*args)

    res = time_interleaved([call], repeats=repeats, warmup=warmup, min_time=min_time,
                           warmup_time=warmup_time)[0]
    if isinstance(res, BaseException):
        raise res
    return res


def time_interleaved(calls: Sequence[Callable[[], Any]], repeats: int, warmup: int = 1,
                     min_time: float = 0.002, warmup_time: float = 0.0,
                     max_time: float = math.inf) -> list:
    """Time several argument-less callables interleaved: each round takes one sample of
    every callable in turn.  Returns, per callable, a :class:`Timed` or the exception it
    raised (that callable then leaves the remaining rounds).  ``max_time`` caps, roughly,
    the seconds spent on one callable: fewer repeats (at least 3) are taken if the
    calibrated samples would take longer."""
    out: list = [None] * len(calls)
    loops: dict[int, int] = {}
    cost = 0.0
    for i, call in enumerate(calls):
        try:
            _warm(call, warmup, warmup_time, max_time)
            loops[i] = calibrate(call, min_time)
            cost += _loop(call, loops[i])
        except Exception as exc:
            out[i] = exc
    if loops and cost * repeats > max_time * len(loops):
        repeats = max(3, min(repeats, int(max_time * len(loops) / max(cost, 1e-12))))
    gc.collect()
    samples: dict[int, list[float]] = {i: [] for i in loops}
    busy = dict.fromkeys(loops, 0.0)
    wall = dict.fromkeys(loops, 0.0)
    for _ in range(repeats):
        for i in list(samples):
            try:
                c0 = time.process_time()
                elapsed = _loop(calls[i], loops[i])
                busy[i] += time.process_time() - c0
            except Exception as exc:
                out[i] = exc
                del samples[i]
                continue
            wall[i] += elapsed
            samples[i].append(elapsed / loops[i])
    for i, xs in samples.items():
        share = busy[i] / wall[i] if wall[i] > 0 else float("nan")
        out[i] = Timed(loops[i], xs, share)
    return out


def summarize(values: Sequence[float]) -> dict[str, float]:
    """``{"median", "q25", "q75", "min", "max"}`` of ``values`` (linear-interpolated
    quartiles, so the spread is meaningful even for 3 repeats)."""
    a = np.asarray(values, dtype=float)
    if a.size == 0:
        raise ValueError("summarize needs at least one value")
    q25, median, q75 = np.percentile(a, [25, 50, 75])
    out = {"median": median, "q25": q25, "q75": q75, "min": a.min(), "max": a.max()}
    return {k: float(out[k]) for k in STATISTICS}


def peak_bytes(fn: Callable, args: Sequence[Any]) -> int:
    """Peak of memory allocated (Python objects and numpy buffers, as seen by
    ``tracemalloc``) during one call ``fn(*args)``, above what was live before it."""
    already = tracemalloc.is_tracing()
    if not already:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        fn(*args)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not already:
            tracemalloc.stop()
    return max(0, int(peak - base))


def fit_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ``log(ys)`` against ``log(xs)``: the exponent p in y ~ x^p.

    Pairs where either value is missing, non-finite or not positive cannot sit on a
    log-log plot and are left out.  Raises ValueError if fewer than two distinct x remain.
    """
    pairs = [(float(x), float(y)) for x, y in zip(xs, ys)
             if x is not None and y is not None and _positive(x) and _positive(y)]
    lx = np.log([p[0] for p in pairs])
    ly = np.log([p[1] for p in pairs])
    if len(set(lx.tolist())) < 2:
        raise ValueError("fit_slope needs at least two distinct positive x values")
    slope, _ = np.polyfit(lx, ly, 1)
    return float(slope)


def _positive(v: Any) -> bool:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return False
    return math.isfinite(f) and f > 0
