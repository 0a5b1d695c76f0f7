"""``sweep``: measure every (grid point, method) pair and keep tidy, resumable records
that know where they came from (see ``provenance``) in a store that never loses them
(see ``store``)."""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

from .env import load_average, timestamp
from .progress import progress_bar
from .provenance import count_key, definition_hashes, run_provenance, time_key
from .records import COUNT_COLUMNS, STATISTICS, columns_for, load_records, save_records
from .store import Store, pair_key
from .timing import PROTOCOL, peak_bytes, summarize, time_call

__all__ = ["sweep", "grid_points", "measure", "run_options", "RunOptions", "SweepSummary"]

Case = Callable[..., tuple[Callable, Sequence[Any]]]


@dataclass
class SweepSummary:
    """What one sweep did: pairs reused from the file, re-measured (saved but stale,
    damaged or failed before), measured new, and failed now."""

    name: str
    reused: int = 0
    remeasured: int = 0
    new: int = 0
    failed: list[str] = field(default_factory=list)

    def line(self) -> str:
        fail = f", {len(self.failed)} FAILED" if self.failed else ""
        return (f"{self.name}: reused {self.reused}, re-measured {self.remeasured}, "
                f"measured {self.new} new{fail}")


@dataclass
class RunOptions:
    """Settings a caller (the command line) gives every sweep run inside
    :func:`run_options`, and what those sweeps report back."""

    fresh: bool = False
    quick: bool | None = None
    saved: int = 0                       # pairs written so far
    summaries: list[SweepSummary] = field(default_factory=list)


_RUN: contextvars.ContextVar[RunOptions | None] = contextvars.ContextVar(
    "dualtape_harness_run", default=None)


@contextlib.contextmanager
def run_options(fresh: bool = False, quick: bool | None = None) -> Iterator[RunOptions]:
    """Within the block, every sweep ignores saved rows if ``fresh``, records ``quick``
    (quick or full grid) in its rows, and reports its :class:`SweepSummary` and saved
    pairs to the yielded object.  Context-local: threads do not see each other's."""
    opts = RunOptions(fresh=fresh, quick=quick)
    token = _RUN.set(opts)
    try:
        yield opts
    finally:
        _RUN.reset(token)


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """The cartesian product of ``grid``'s lists as dicts, the last key varying fastest:
    ``{"n": [1, 2], "m": [3]}`` -> ``[{"n": 1, "m": 3}, {"n": 2, "m": 3}]``."""
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


def measure(fn: Callable, args: Sequence[Any], repeats: int, warmup: int, count: bool,
            min_time: float = 0.002) -> dict[str, Any]:
    """Time (calibrated loops, see ``timing``), peak memory and (if ``count``) operation
    counts of ``fn(*args)``.

    Returns ``{"times": [seconds per call, one per repeat], "loops": calls per sample,
    "peak_bytes": int, "counts": {column: int or None}}``.
    """
    timed = time_call(fn, args, repeats=repeats, warmup=warmup, min_time=min_time)
    peak = peak_bytes(fn, args)
    counts: dict[str, Any] = dict.fromkeys(COUNT_COLUMNS)
    if count:
        import dualtape

        c = dualtape.count(fn, *args).as_dict()
        counts = {k: c[k] for k in COUNT_COLUMNS}
    return {"times": timed.samples, "loops": timed.loops, "peak_bytes": peak,
            "counts": counts}


def _one_line(exc: BaseException) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text[:300]


def sweep(case: Case, grid: Mapping[str, Sequence[Any]], methods: Sequence[str],
          repeats: int = 5, name: str = "sweep", out_dir: Any = "experiments/results",
          resume: bool = True, count: bool = True, progress: bool = True, warmup: int = 1,
          quick: bool | None = None, params: Mapping[str, Any] | None = None,
          min_time: float = 0.002) -> list[dict[str, Any]]:
    """Measure ``fn(*args)`` for every grid point and method, where
    ``fn, args = case(method, **point)``.

    ``grid`` maps names to lists; every combination is a point (see :func:`grid_points`).
    For each (point, method) the call is timed by the protocol of ``timing`` (``warmup``
    calls, loops calibrated to last ``min_time`` seconds per sample, ``repeats``
    samples), run once more under tracemalloc for ``peak_bytes`` and, if ``count``, once
    under ``dualtape.count``.  Its five rows (statistic in median, q25, q75, min, max of
    the samples; the raw samples in ``samples``) are appended to ``out_dir/name.csv`` at
    once.  A pair whose ``case`` or measurement raises is recorded as one row with
    statistic and status ``"error"`` and the message in ``error``; the sweep goes on.

    Every row carries its provenance (see ``provenance``: the definition hashes of
    ``case`` and ``params``, quick or full, versions, commit, BLAS, CPU, host).  A saved
    pair is reused only if its provenance matches this run's; stale, damaged and
    previously failed pairs are measured again, and one line on stderr says how many
    pairs were reused, re-measured and measured new.  ``resume=False`` (or
    ``run_options(fresh=True)``) ignores every saved row of this grid.  At the end (also
    after an error or an interruption) ``out_dir/name.json`` is rewritten from the CSV
    if anything changed.  ``quick`` defaults to the value given by ``run_options``.

    Returns the records of this grid and these methods (failed pairs left out), grid
    order then method order, as dicts with the columns of ``records.columns_for``.
    """
    keys = list(grid)
    columns = columns_for(keys)
    opts = _RUN.get()
    if quick is None and opts is not None:
        quick = opts.quick
    fresh = not resume or (opts is not None and opts.fresh)
    source_hash, params_hash = definition_hashes(case, params)
    prov = {**run_provenance(quick), "source_hash": source_hash, "params_hash": params_hash,
            "protocol": PROTOCOL, "repeats": repeats, "warmup": warmup, "min_time": min_time,
            "counted": bool(count)}
    summary = SweepSummary(name)
    store = Store(out_dir, name, columns, keys)
    pairs = [(p, m) for p in grid_points(grid) for m in methods]
    records: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    wrote = False
    with store.locked():
        saved = store.read()
        todo, drop = [], set()
        for point, method in pairs:
            key = pair_key(method, point, keys)
            ck = count_key(name, method, point, prov)
            tk = time_key(ck, prov)
            have = saved.pairs.get(key)
            if not fresh and have is not None and have[0]["time_key"] == tk:
                records[key] = have
                summary.reused += 1
                continue
            if have is not None or key in saved.failed:
                drop.add(key)
                summary.remeasured += 1
            else:
                summary.new += 1
            todo.append((key, point, method, ck, tk))
        try:
            if drop or saved.needs_rewrite:
                keep = [r for k, rows in saved.pairs.items() if k not in drop for r in rows]
                keep += [r for k, r in saved.failed.items() if k not in drop]
                gone = [r for k, rows in saved.pairs.items() if k in drop for r in rows]
                store.rewrite(keep, saved, dropped=gone)
                wrote = True
            bar = progress_bar(len(todo), desc=name, enabled=progress)
            try:
                for key, point, method, ck, tk in todo:
                    bar.set_postfix_str(" ".join([str(method)] + [f"{k}={point[k]}" for k in keys]))
                    rows = _measure_pair(case, name, point, method, prov, ck, tk, repeats,
                                         warmup, count, min_time)
                    store.append(rows)
                    wrote = True
                    if opts is not None:
                        opts.saved += 1
                    if rows[0]["status"] == "error":
                        summary.failed.append(f"{method} {point}: {rows[0]['error']}")
                    else:
                        records[key] = rows
                    bar.update(1)
            finally:
                bar.close()
        finally:
            if store.writable and (wrote or (store.path.exists()
                                             and not store.json_path.exists())):
                save_records(load_records(store.path, strict=False), store.json_path,
                             columns=columns)
            if opts is not None:
                opts.summaries.append(summary)
            print(summary.line(), file=sys.stderr, flush=True)
            for f in summary.failed:
                print(f"{name}: failed {f}", file=sys.stderr, flush=True)

    out: list[dict[str, Any]] = []
    for point, method in pairs:
        for r in records.get(pair_key(method, point, keys), []):
            out.append({c: r.get(c) for c in columns})
    return out


def _measure_pair(case: Case, name: str, point: dict[str, Any], method: Any,
                  prov: Mapping[str, Any], ck: str, tk: str, repeats: int, warmup: int,
                  count: bool, min_time: float) -> list[dict[str, Any]]:
    base = {"experiment": name, "method": method, **point,
            **{k: v for k, v in prov.items() if k != "counted"},
            "count_key": ck, "time_key": tk}
    try:
        fn, args = case(method, **point)
        m = measure(fn, tuple(args), repeats, warmup, count, min_time)
    except Exception as exc:   # recorded, and the sweep goes on; Ctrl-C is not caught
        return [{**base, "statistic": "error", "status": "error", "error": _one_line(exc),
                 "timestamp": timestamp()}]
    stats = summarize(m["times"])
    tail = {**m["counts"], "peak_bytes": m["peak_bytes"], "status": "ok",
            "loops": m["loops"], "samples": m["times"], "timestamp": timestamp(),
            "load": load_average()}
    return [{**base, "statistic": s, "time_s": stats[s], **tail} for s in STATISTICS]
