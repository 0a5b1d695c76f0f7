"""``sweep``: measure every (grid point, method) pair and keep tidy, resumable records
that know where they came from (see ``provenance``) in a store that never loses them
(see ``store``)."""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import math
import os
import sys
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

from .env import load_average, timestamp
from .progress import progress_bar
from .provenance import MACHINE_FIELDS, count_key, definition_hashes, run_provenance, time_key
from .records import COUNT_COLUMNS, STATISTICS, columns_for, load_records, save_records
from .store import Store, pair_key
from .timing import PROTOCOL, peak_bytes, summarize, time_call

__all__ = ["sweep", "grid_points", "measure", "measure_pair", "error_rows", "run_options",
           "RunOptions", "SweepSummary"]

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
    #: Pairs to measure (re-measured plus new) and pairs finished and saved: fewer
    #: finished than planned when the sweep was interrupted.
    planned: int = 0
    finished: int = 0

    def line(self) -> str:
        fail = f", {len(self.failed)} FAILED" if self.failed else ""
        stop = (f"; stopped after {self.finished} of the {self.planned} pairs to measure"
                if self.finished < self.planned else "")
        return (f"{self.name}: reused {self.reused}, re-measured {self.remeasured}, "
                f"measured {self.new} new{fail}{stop}")


@dataclass
class RunOptions:
    """Settings a caller (the command line) gives every sweep run inside
    :func:`run_options`, and what those sweeps report back."""

    fresh: bool = False
    quick: bool | None = None
    executor: Executor | None = None     # where sweeps measure (None: in this process)
    counts_only: bool = False
    saved: int = 0                       # pairs written so far
    summaries: list[SweepSummary] = field(default_factory=list)


_RUN: contextvars.ContextVar[RunOptions | None] = contextvars.ContextVar(
    "dualtape_harness_run", default=None)


@contextlib.contextmanager
def run_options(fresh: bool = False, quick: bool | None = None,
                executor: Executor | None = None,
                counts_only: bool = False) -> Iterator[RunOptions]:
    """Within the block, every sweep ignores saved rows if ``fresh``, records ``quick``
    (quick or full grid) in its rows, measures on ``executor`` (if given) and counts
    only if ``counts_only`` (see :func:`sweep`), and reports its :class:`SweepSummary`
    and saved pairs to the yielded object.  Context-local: threads do not see each
    other's."""
    opts = RunOptions(fresh=fresh, quick=quick, executor=executor, counts_only=counts_only)
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
            min_time: float = 0.002, timed: bool = True) -> dict[str, Any]:
    """Time (calibrated loops, see ``timing``; not if ``timed`` is false), peak memory
    and (if ``count``) operation counts of ``fn(*args)``.

    Returns ``{"times": [seconds per call, one per repeat], "loops": calls per sample,
    "peak_bytes": int, "counts": {column: int or None}}`` (no times and ``loops`` None
    when not ``timed``).
    """
    if not timed:
        fn(*args)          # the one-off costs (imports, caches) stay out of peak_bytes
        peak = peak_bytes(fn, args)
        counts = _counts(fn, args) if count else dict.fromkeys(COUNT_COLUMNS)
        return {"times": [], "loops": None, "peak_bytes": peak, "counts": counts}
    t = time_call(fn, args, repeats=repeats, warmup=warmup, min_time=min_time)
    peak = peak_bytes(fn, args)
    counts = _counts(fn, args) if count else dict.fromkeys(COUNT_COLUMNS)
    return {"times": t.samples, "loops": t.loops, "peak_bytes": peak, "counts": counts}


def _counts(fn: Callable, args: Sequence[Any]) -> dict[str, Any]:
    import dualtape

    c = dualtape.count(fn, *args).as_dict()
    return {k: c[k] for k in COUNT_COLUMNS}


def _one_line(exc: BaseException) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text[:300]


def sweep(case: Case, grid: Mapping[str, Sequence[Any]], methods: Sequence[str],
          repeats: int = 5, name: str = "sweep", out_dir: Any = "experiments/results",
          resume: bool = True, count: bool = True, progress: bool = True, warmup: int = 1,
          quick: bool | None = None, params: Mapping[str, Any] | None = None,
          min_time: float = 0.002, executor: Executor | None = None,
          counts_only: bool | None = None, retries: int = 2) -> list[dict[str, Any]]:
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

    ``counts_only`` measures counts and peak memory but no times (``time_s`` is NaN,
    ``protocol`` ``"none"``); it needs ``count``.  It reuses any saved pair whose counts
    match, timed or not.

    ``executor`` (any ``concurrent.futures.Executor``: a Dask ``Client.get_executor()``,
    a ``ProcessPoolExecutor``) measures the pairs as tasks on its workers, see
    ``dualtape.harness.distributed``; this process stays the only writer and appends each
    pair as its task finishes.  A task lost with its worker is submitted again up to
    ``retries`` times, then recorded as failed.  Rows measured on a worker carry its
    machine (host, CPU, BLAS and threads) and ``pid``.

    Every row carries its provenance (see ``provenance``: the definition hashes of
    ``case`` and ``params``, quick or full, versions, commit, BLAS, CPU, host).  A saved
    pair is reused only if its provenance matches this run's (with an executor: the
    machine may be any machine with the CPU and BLAS of the executor's workers); stale,
    damaged and previously failed pairs are measured again, and one line on stderr says
    how many pairs were reused, re-measured and measured new.  ``resume=False`` (or
    ``run_options(fresh=True)``) ignores every saved row of this grid.  At the end (also
    after an error or an interruption) ``out_dir/name.json`` is rewritten from the CSV
    if anything changed.  ``quick``, ``executor`` and ``counts_only`` default to the
    values given by ``run_options``.

    Returns the records of this grid and these methods (failed pairs left out), grid
    order then method order, as dicts with the columns of ``records.columns_for``.
    """
    keys = list(grid)
    columns = columns_for(keys)
    opts = _RUN.get()
    if opts is not None:
        quick = opts.quick if quick is None else quick
        executor = opts.executor if executor is None else executor
        counts_only = opts.counts_only if counts_only is None else counts_only
    counts_only = bool(counts_only)
    if counts_only and not count:
        raise ValueError(f"sweep {name!r}: counts only was asked for, but this sweep "
                         f"measures no counts (count=False); run it with times")
    fresh = not resume or (opts is not None and opts.fresh)
    source_hash, params_hash = definition_hashes(case, params)
    prov = {**run_provenance(quick), "pid": os.getpid(), "source_hash": source_hash,
            "params_hash": params_hash,
            "protocol": "none" if counts_only else PROTOCOL,
            "repeats": 0 if counts_only else repeats, "warmup": 0 if counts_only else warmup,
            "min_time": 0.0 if counts_only else min_time, "counted": bool(count)}
    summary = SweepSummary(name)
    store = Store(out_dir, name, columns, keys)
    pairs = [(p, m) for p in grid_points(grid) for m in methods]
    records: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    cluster = _cluster_machine(executor, name) if executor is not None else None
    wrote = False
    with store.locked():
        saved = store.read()
        todo, drop = [], set()
        for point, method in pairs:
            key = pair_key(method, point, keys)
            ck = count_key(name, method, point, prov)
            tk = time_key(ck, prov)
            have = saved.pairs.get(key)
            if not fresh and have is not None and _reusable(have[0], ck, tk, prov,
                                                            counts_only, cluster):
                records[key] = have
                summary.reused += 1
                continue
            if have is not None or key in saved.failed:
                drop.add(key)
                summary.remeasured += 1
            else:
                summary.new += 1
            todo.append((key, point, method, ck, tk))
        summary.planned = len(todo)
        try:
            if drop or saved.needs_rewrite or (saved.old_layout and todo):
                keep = [r for k, rows in saved.pairs.items() if k not in drop for r in rows]
                keep += [r for k, r in saved.failed.items() if k not in drop]
                gone = [r for k, rows in saved.pairs.items() if k in drop for r in rows]
                store.rewrite(keep, saved, dropped=gone)
                wrote = True
            bar = progress_bar(len(todo), desc=name, enabled=progress)

            def finished(key: tuple[str, ...], point: dict[str, Any], method: Any,
                         rows: list[dict[str, Any]]) -> None:
                nonlocal wrote
                store.append(rows)
                wrote = True
                summary.finished += 1
                if opts is not None:
                    opts.saved += 1
                if rows[0]["status"] == "error":
                    summary.failed.append(f"{method} {point}: {rows[0]['error']}")
                else:
                    records[key] = rows
                bar.set_postfix_str(" ".join([str(method)] + [f"{k}={point[k]}" for k in keys]))
                bar.update(1)

            try:
                if executor is None:
                    for key, point, method, ck, tk in todo:
                        base = {"experiment": name, "method": method, **point,
                                **{k: v for k, v in prov.items() if k != "counted"},
                                "count_key": ck, "time_key": tk}
                        finished(key, point, method,
                                 measure_pair(case, base, point, method, repeats, warmup,
                                              count, min_time, not counts_only))
                else:
                    _on_executor(executor, case, name, keys, todo, prov, params, repeats,
                                 warmup, count, min_time, counts_only, retries, finished)
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


def _reusable(row: Mapping[str, Any], ck: str, tk: str, prov: Mapping[str, Any],
              counts_only: bool, cluster: Mapping[str, Any] | None) -> bool:
    """Whether a saved pair (its first row) may stand in for measuring it now."""
    if counts_only:
        return row["count_key"] == ck          # counts are the same on any machine
    if row["time_key"] == tk:
        return True
    if cluster is None or row["count_key"] != ck:
        return False
    # Measured on some worker: its own machine fields must give its time key with this
    # run's settings, and its CPU and BLAS must be those of this run's workers.
    mine = {**prov, **{k: row.get(k) for k in MACHINE_FIELDS}}
    return (row["time_key"] == time_key(ck, mine)
            and all(row.get(k) == cluster.get(k) for k in ("cpu", "blas", "blas_threads")))


def _cluster_machine(executor: Executor, name: str) -> dict[str, Any]:
    """The machine of one of ``executor``'s workers (a probe task), which also shows at
    once whether the workers run the driver's code."""
    from .distributed import worker_info
    from .provenance import CODE_FIELDS, run_provenance

    info = executor.submit(worker_info).result()
    here = run_provenance(None)
    differ = [f"{k} {info[k]} where the driver has {here[k]}" for k in CODE_FIELDS
              if info[k] != here[k]]
    if differ:
        raise RuntimeError(f"sweep {name!r}: the executor's worker on {info['host']} runs "
                           f"other code than the driver ({'; '.join(differ)}); install "
                           f"the same dualtape and versions on every worker")
    return info


def _on_executor(executor: Executor, case: Case, name: str, keys: Sequence[str],
                 todo: Sequence[tuple], prov: Mapping[str, Any],
                 params: Mapping[str, Any] | None, repeats: int, warmup: int, count: bool,
                 min_time: float, counts_only: bool, retries: int,
                 finished: Callable[..., None]) -> None:
    from .distributed import Task, case_ref, row_base, run_tasks

    ref = case_ref(case)
    where: dict[str, tuple[tuple[str, ...], str]] = {}
    tasks = []
    for key, point, method, ck, tk in todo:
        t = Task(name=name, point=dict(point), method=method,
                 case=ref if ref is not None else case, prov=dict(prov), count_key=ck,
                 params=params, repeats=repeats, warmup=warmup, count=count,
                 min_time=min_time, timed=not counts_only)
        where[t.token] = (key, tk)
        tasks.append(t)

    def done(task: Any, rows: list[dict[str, Any]]) -> None:
        finished(where[task.token][0], task.point, task.method, rows)

    def lost(task: Any, exc: BaseException, tries: int) -> list[dict[str, Any]]:
        base = row_base(task, prov, where[task.token][1])
        return error_rows(base, RuntimeError(
            f"the task was lost on the executor after {tries} tries ({_one_line(exc)})"),
            timestamp())

    # Last grid points first: grids grow along their lists, so the longest tasks start
    # first instead of ending the sweep on one busy worker while the others idle.
    run_tasks(executor, tasks[::-1], done, lost, retries=retries)


def error_rows(base: Mapping[str, Any], exc: BaseException, when: str
               ) -> list[dict[str, Any]]:
    """The one row that records a failed pair."""
    return [{**base, "statistic": "error", "status": "error", "error": _one_line(exc),
             "timestamp": when}]


def measure_pair(case: Case, base: Mapping[str, Any], point: Mapping[str, Any],
                 method: Any, repeats: int, warmup: int, count: bool, min_time: float,
                 timed: bool = True) -> list[dict[str, Any]]:
    """The rows of one pair: ``base`` (the cells they share) with the statistics of
    ``fn(*args)``, ``fn, args = case(method, **point)``, or one error row if that
    raises.  Without ``timed``, counts and peak memory only (times NaN)."""
    try:
        fn, args = case(method, **point)
        m = measure(fn, tuple(args), repeats, warmup, count, min_time, timed=timed)
    except Exception as exc:   # recorded, and the sweep goes on; Ctrl-C is not caught
        return error_rows(base, exc, timestamp())
    stats = summarize(m["times"]) if timed else dict.fromkeys(STATISTICS, math.nan)
    tail = {**m["counts"], "peak_bytes": m["peak_bytes"], "status": "ok",
            "loops": m["loops"], "samples": m["times"] or None, "timestamp": timestamp(),
            "load": load_average()}
    return [{**base, "statistic": s, "time_s": stats[s], **tail} for s in STATISTICS]
