"""``sweep``: measure every (grid point, method) pair and keep tidy, resumable records."""

from __future__ import annotations

import itertools
import pathlib
import warnings
from typing import Any, Callable, Mapping, Sequence

from .env import env_metadata, timestamp
from .progress import progress_bar
from .records import (COUNT_COLUMNS, ENV_COLUMNS, STATISTICS, append_rows, columns_for,
                      parse_row, read_csv_raw, save_records)
from .timing import peak_bytes, summarize, time_repeats

__all__ = ["sweep", "grid_points", "measure"]

Case = Callable[..., tuple[Callable, Sequence[Any]]]


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """The cartesian product of ``grid``'s lists as dicts, the last key varying fastest:
    ``{"n": [1, 2], "m": [3]}`` -> ``[{"n": 1, "m": 3}, {"n": 2, "m": 3}]``."""
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


def _key(method: Any, point: Mapping[str, Any], keys: Sequence[str]) -> tuple[str, ...]:
    # Compared as the text the CSV holds, so 64 written and read back still matches 64
    # and a float grid value matches exactly (str(float) round-trips).
    return (str(method), *(str(point[k]) for k in keys))


def _finished(path: pathlib.Path, name: str, columns: list[str],
              keys: Sequence[str]) -> dict[tuple[str, ...], list[dict[str, str]]]:
    """Rows already in ``path`` grouped by pair; pairs missing a statistic row (cut off
    by an interruption) are dropped so they are measured again.  The file is rewritten
    with only the complete pairs, which also repairs a half-written last line."""
    if not path.exists():
        return {}
    header, rows = read_csv_raw(path)
    if not header:
        return {}
    if header != columns:
        backup = path.with_name(path.name + ".old")
        path.replace(backup)
        warnings.warn(f"{path} has different columns than this sweep; moved it to "
                      f"{backup.name} and starting afresh", stacklevel=3)
        return {}
    groups: dict[tuple[str, ...], list[dict[str, str]]] = {}
    for r in rows:
        if r["experiment"] == name:
            groups.setdefault(_key(r["method"], r, keys), []).append(r)
    done = {k: v for k, v in groups.items()
            if sorted(r["statistic"] for r in v) == sorted(STATISTICS)}
    kept = [r for v in done.values() for r in v]
    with open(path, "rb") as fh:
        fh.seek(max(0, path.stat().st_size - 1))
        ends_cleanly = fh.read(1) in (b"\n", b"")
    if len(kept) != len(rows) or not ends_cleanly:
        save_records(kept, path, columns=columns)
    return done


def measure(fn: Callable, args: Sequence[Any], repeats: int, warmup: int,
            count: bool) -> dict[str, Any]:
    """Time, peak memory and (if ``count``) operation counts of ``fn(*args)``.

    Returns ``{"times": [seconds per repeat], "peak_bytes": int, "counts": {column:
    int or None}}``, the counts keyed by the record's count columns.
    """
    times = time_repeats(fn, args, repeats=repeats, warmup=warmup)
    peak = peak_bytes(fn, args)
    counts: dict[str, Any] = dict.fromkeys(COUNT_COLUMNS)
    if count:
        import dualtape

        c = dualtape.count(fn, *args).as_dict()
        counts = {k: c[k] for k in COUNT_COLUMNS}
    return {"times": times, "peak_bytes": peak, "counts": counts}


def sweep(case: Case, grid: Mapping[str, Sequence[Any]], methods: Sequence[str],
          repeats: int = 5, name: str = "sweep",
          out_dir: str | pathlib.Path = "experiments/results", resume: bool = True,
          count: bool = True, progress: bool = True, warmup: int = 1) -> list[dict[str, Any]]:
    """Measure ``fn(*args)`` for every grid point and method, where
    ``fn, args = case(method, **point)``.

    ``grid`` maps names to lists; every combination is a point (see :func:`grid_points`).
    For each (point, method) the call is timed ``repeats`` times after ``warmup``
    untimed calls, run once more under tracemalloc for ``peak_bytes`` and, if ``count``,
    once under ``dualtape.count``.  Its five rows (statistic in median, q25, q75, min,
    max of the times) are appended to ``out_dir/name.csv`` at once, so an interrupted
    sweep loses at most the pair it was on.  With ``resume`` the pairs already in that
    file are not measured again (and ``case`` is not called for them); without it the
    file is started afresh.  At the end (also after an error) ``out_dir/name.json`` is
    rewritten from the CSV.

    Returns the records of this grid and these methods, grid order then method order,
    as dicts with the columns experiment, method, one per grid key, statistic, time_s,
    calls, flops, bytes, primal_calls, primal_flops, derivative_calls, derivative_flops,
    tape_records, tape_bytes, peak_bytes, repeats, python, numpy, dualtape, cpu, threads,
    commit, timestamp.  Count columns are None when ``count`` is false.
    """
    keys = list(grid)
    columns = columns_for(keys)
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out / f"{name}.csv", out / f"{name}.json"
    if not resume and csv_path.exists():
        csv_path.unlink()
    done = _finished(csv_path, name, columns, keys)

    pairs = [(p, m) for p in grid_points(grid) for m in methods]
    todo = [(p, m) for p, m in pairs if _key(m, p, keys) not in done]
    env = {k: v for k, v in env_metadata().items() if k in ENV_COLUMNS}
    fresh: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    bar = progress_bar(len(todo), desc=name, enabled=progress)
    try:
        for point, method in todo:
            bar.set_postfix_str(", ".join([str(method)] + [f"{k}={point[k]}" for k in keys]))
            fn, args = case(method, **point)
            m = measure(fn, tuple(args), repeats, warmup, count)
            stats = summarize(m["times"])
            base = {"experiment": name, "method": method, **point}
            tail = {**m["counts"], "peak_bytes": m["peak_bytes"], "repeats": repeats,
                    **env, "timestamp": timestamp()}
            rows = [{**base, "statistic": s, "time_s": stats[s], **tail} for s in STATISTICS]
            append_rows(csv_path, columns, rows)
            fresh[_key(method, point, keys)] = rows
            bar.update(1)
    finally:
        bar.close()
        if csv_path.exists():
            _, raw = read_csv_raw(csv_path)
            save_records([parse_row(r) for r in raw], json_path, columns=columns)

    records: list[dict[str, Any]] = []
    for point, method in pairs:
        k = _key(method, point, keys)
        if k in fresh:
            records.extend(fresh[k])
        else:
            records.extend(parse_row(r) for r in done[k])
    return records
