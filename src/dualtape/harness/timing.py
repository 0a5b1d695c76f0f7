"""Timers, peak memory and summary statistics for one measured call ``fn(*args)``."""

from __future__ import annotations

import gc
import math
import time
import tracemalloc
from typing import Any, Callable, Sequence

import numpy as np

from .records import STATISTICS

__all__ = ["time_repeats", "summarize", "peak_bytes", "fit_slope"]


def time_repeats(fn: Callable, args: Sequence[Any], repeats: int = 5,
                 warmup: int = 1) -> list[float]:
    """Wall-clock seconds of ``repeats`` calls ``fn(*args)`` after ``warmup`` untimed calls.

    The garbage collector is paused during each timed call (as ``timeit`` does), so a
    collection triggered by garbage from earlier calls is not billed to this one.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    for _ in range(warmup):
        fn(*args)
    times = []
    enabled = gc.isenabled()
    try:
        for _ in range(repeats):
            gc.disable()
            start = time.perf_counter()
            fn(*args)
            times.append(time.perf_counter() - start)
            if enabled:
                gc.enable()
    finally:
        if enabled:
            gc.enable()
    return times


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
