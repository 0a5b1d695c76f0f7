"""Helpers shared by the experiments (the harness skips files starting with ``_``).

Nothing here measures anything: the measuring is ``dualtape.harness.sweep``.  These
helpers derive ratios from tidy records, keep the small per-point side tables some
experiments need (colours, errors: things the harness cannot know), and draw the
log-log lines whose slope is fitted over the asymptotic end of the range.
"""

from __future__ import annotations

import os
import pathlib
import warnings
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from dualtape.harness import fit_slope, load_records, save_records

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_RESULTS = HERE / "results"

#: The harness' timing statistics; ratio records are built for each of them.
STATS = ("median", "q25", "q75", "min", "max")


def pin_blas_threads(threads: int = 1) -> int | None:
    """Limit the BLAS thread pools to ``threads`` for the measurements; returns the limit
    set, or None if nothing was changed.

    Why: on a machine whose cores are shared with other work, a multi-threaded OpenBLAS
    spin-waits for busy cores and a small matrix product can take 10-100x longer, which
    made time ratios in a quick run meaningless (ω of 0.03 and 35 in one sweep).  One
    thread gives stable, comparable timings; every experiment measures ratios, which
    single-threaded BLAS does not bias.  An explicit ``OPENBLAS_NUM_THREADS`` (or
    ``OMP_NUM_THREADS``) in the environment wins and is left alone.
    """
    if os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS"):
        return None
    try:
        from threadpoolctl import threadpool_limits   # in the `plots` extra
    except ImportError:
        warnings.warn("threadpoolctl is not installed, so BLAS threads are not limited; "
                      "set OPENBLAS_NUM_THREADS=1 for stable timings on a shared machine",
                      stacklevel=2)
        return None
    # scipy brings its own BLAS, loaded on first use of scipy.linalg (also by sparse
    # Jacobians); load it now so that the limit reaches it too.
    import scipy.linalg  # noqa: F401

    threadpool_limits(limits=threads, user_api="blas")
    return threads


def powers(base: int, lo: int, hi: int) -> list[int]:
    """``[lo, lo*base, ...]`` up to and including ``hi`` (``lo`` a power of ``base``)."""
    out, v = [], lo
    while v <= hi:
        out.append(v)
        v *= base
    return out


def tanh_problem(n: int, m: int, seed: int = 0):
    """(f, x): f(x) = sin(z)·z + exp(-z²) with z = tanh(A x), A an m×n matrix with
    N(0, 1/n) entries, and a point x ~ N(0, 1); both from ``seed``.  One matrix product
    and a few elementwise operations: cost(f) ~ 2 m n + O(m).  Used by modes_vs_n_m and
    chunk_size."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) / np.sqrt(n)
    x = rng.standard_normal(n)

    def f(x):
        z = np.tanh(A @ x)
        return np.sin(z) * z + np.exp(-z * z)

    return f, x


def medians(records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in records if r.get("statistic") == "median"]


def ratio_records(records: Sequence[Mapping[str, Any]], keys: Sequence[str],
                  base: str = "f") -> list[dict[str, Any]]:
    """Cost of every method relative to the ``base`` method at the same grid point.

    Returns one dict per (point, non-base method, statistic) with the grid keys,
    ``method``, ``statistic``, ``flops_ratio`` = flops(method) / flops(base) (exact
    counts, identical on every statistic row), ``time_ratio`` = time_s(method, statistic)
    / median time_s(base) (so the q25/q75 rows give the spread of the method's timing),
    ``calls_ratio`` and ``peak_ratio`` likewise.
    """
    def point(r: Mapping[str, Any]) -> tuple:
        return tuple(r.get(k) for k in keys)

    ref = {point(r): r for r in records if r["method"] == base and r["statistic"] == "median"}
    out = []
    for r in records:
        b = ref.get(point(r))
        if r["method"] == base or b is None:
            continue
        row = {k: r.get(k) for k in keys}
        row.update(method=r["method"], statistic=r["statistic"],
                   flops_ratio=_div(r.get("flops"), b.get("flops")),
                   calls_ratio=_div(r.get("calls"), b.get("calls")),
                   time_ratio=_div(r.get("time_s"), b.get("time_s")),
                   peak_ratio=_div(r.get("peak_bytes"), b.get("peak_bytes")))
        out.append(row)
    return out


def _div(a: Any, b: Any) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return float(a) / float(b)


# ---- side tables: per-point facts the harness does not record -------------------------
def side_table_path(name: str, suffix: str, results_dir: str | pathlib.Path) -> pathlib.Path:
    return pathlib.Path(results_dir) / f"{name}_{suffix}.csv"


def update_side_table(path: pathlib.Path, keys: Sequence[str],
                      wanted: Iterable[Mapping[str, Any]],
                      compute: Callable[[Mapping[str, Any]], Mapping[str, Any]],
                      quick: bool | None = None) -> list[dict[str, Any]]:
    """Rows of the side table at ``path`` for the ``wanted`` key dicts.

    Every row carries the provenance of a counted result (definition of ``compute``,
    library code and versions, quick or full: ``count_key``); a saved row is kept only
    if its provenance matches this run's, as ``sweep`` keeps its pairs.  Missing and
    stale rows are computed with ``compute(key_dict) -> extra columns`` and the file is
    rewritten atomically.  Returns the rows for ``wanted``, in its order.
    """
    from dualtape.harness import ResultsError
    from dualtape.harness.env import timestamp
    from dualtape.harness.provenance import count_key, definition_hashes, run_provenance

    def key(r: Mapping[str, Any]) -> tuple:
        return tuple(str(r.get(k)) for k in keys)

    source, params = definition_hashes(compute)
    prov = {**run_provenance(quick), "source_hash": source, "params_hash": params,
            "counted": True}
    have: dict[tuple, dict] = {}
    if path.exists():
        try:
            have = {key(r): dict(r) for r in load_records(path)}
        except ResultsError as exc:
            warnings.warn(f"{exc}; the side table is computed again", stacklevel=2)
    rows, changed, reused = [], False, 0
    for w in wanted:
        k = key(w)
        ck = count_key(path.stem, "side", {c: w[c] for c in keys}, prov)
        if k in have and have[k].get("count_key") == ck:
            reused += 1
        else:
            have[k] = {**{c: w[c] for c in keys}, **compute(w),
                       **{c: v for c, v in prov.items() if c != "counted"},
                       "timestamp": timestamp(), "count_key": ck}
            changed = True
        rows.append(have[k])
    if changed:
        save_records(list(have.values()), path)
    return rows


def read_side_table(name: str, suffix: str, *dirs: str | pathlib.Path | None
                    ) -> list[dict[str, Any]]:
    """The side table from the first of ``dirs`` that has it (only when none is given:
    ``experiments/results/quick``); empty if none does."""
    given = [d for d in dirs if d is not None]
    for d in given or [DEFAULT_RESULTS / "quick"]:
        if d is None:
            continue
        p = side_table_path(name, suffix, d)
        if p.exists():
            return load_records(p)
    return []


def join(records: Sequence[Mapping[str, Any]], side: Sequence[Mapping[str, Any]],
         keys: Sequence[str]) -> list[dict[str, Any]]:
    """``records`` with the columns of the matching ``side`` row (by ``keys``) added."""
    def key(r: Mapping[str, Any]) -> tuple:
        return tuple(str(r.get(k)) for k in keys)

    table = {key(s): s for s in side}
    return [{**r, **{c: v for c, v in table.get(key(r), {}).items() if c not in r}}
            for r in records]


# ---- drawing ---------------------------------------------------------------------------
def tail_slope(xs: Sequence[float], ys: Sequence[float], fit_from: float | None
               ) -> tuple[float | None, float | None]:
    """(slope, x where the fit starts): the log-log slope over ``x >= fit_from`` (all
    points if None or if fewer than two remain)."""
    pairs = [(x, y) for x, y in zip(xs, ys) if y is not None]
    tail = [p for p in pairs if fit_from is None or p[0] >= fit_from]
    if len({p[0] for p in tail}) < 2:
        tail = pairs
    try:
        return fit_slope([p[0] for p in tail], [p[1] for p in tail]), min(p[0] for p in tail)
    except ValueError:
        return None, None


def line(ax: Any, xs: Sequence[float], ys: Sequence[float], label: str,
         fit_from: float | None = None, xname: str = "n", lo: Sequence[float] | None = None,
         hi: Sequence[float] | None = None, **style: Any) -> Any:
    """One series on log-log axes, its fitted slope in the legend entry
    (``"label (slope 0.98, n ≥ 16)"``), with an optional shaded band ``lo``..``hi``."""
    slope, start = tail_slope(xs, ys, fit_from)
    if slope is None:
        text = label
    elif start is not None and start > min(xs):
        text = f"{label} (slope {slope:.2f}, {xname}≥{start:g})"
    else:
        text = f"{label} (slope {slope:.2f})"
    style.setdefault("marker", "o")
    style.setdefault("markersize", 4)
    (drawn,) = ax.plot(xs, ys, label=text, **style)
    if lo is not None and hi is not None:
        ax.fill_between(xs, lo, hi, color=drawn.get_color(), alpha=0.18, linewidth=0)
    return drawn


def reference(ax: Any, xs: Sequence[float], x0: float, y0: float, slope: float,
              label: str, **style: Any) -> None:
    """A dashed grey line of the given log-log ``slope`` through (x0, y0) over ``xs``."""
    style.setdefault("color", "0.45")
    style.setdefault("linestyle", (0, (5, 3)))
    style.setdefault("linewidth", 1)
    lo, hi = min(xs), max(xs)
    ax.plot([lo, hi], [y0 * (lo / x0) ** slope, y0 * (hi / x0) ** slope], label=label,
            **style)


def log2_ticks(ax: Any, values: Sequence[float], axis: str = "x") -> None:
    """Plain labels ("1", "16", "256") at the grid's sizes on a log axis."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    values = sorted(set(values))
    if len(values) > 9:                     # keep labels apart on a narrow panel
        values = values[::2]
    a = ax.xaxis if axis == "x" else ax.yaxis
    a.set_major_locator(FixedLocator(values))
    a.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    a.set_minor_formatter(NullFormatter())


def series(rows: Iterable[Mapping[str, Any]], x: str, y: str,
           where: Mapping[str, Any]) -> tuple[list, list]:
    """(xs, ys) sorted by x, from the rows matching ``where``."""
    pts = sorted((r[x], r[y]) for r in rows
                 if all(r.get(k) == v for k, v in where.items()) and r.get(y) is not None)
    return [p[0] for p in pts], [p[1] for p in pts]


def quick_note(records: Sequence[Mapping[str, Any]]) -> str:
    """A short provenance line for a figure: environment of the run."""
    r = next(iter(records), {})
    parts = [f"dualtape {r.get('dualtape', '?')}", f"numpy {r.get('numpy', '?')}",
             f"{r.get('threads', '?')} threads", f"commit {str(r.get('commit', '?'))[:8]}"]
    return ", ".join(parts)


def with_side_table(name: str, side: str, records: list[dict], results_dir: Any,
                    keys: Sequence[str], recompute: Callable[[dict], dict]
                    ) -> tuple[list[dict], dict[str, list[dict]]]:
    """The median rows joined with the experiment's side table (read back, or, when only
    the CSV is there, recomputed per point: those facts are cheap and exact), and the
    q25/q75 rows for the spread bands."""
    table = read_side_table(name, side, results_dir)
    if not table:
        table = [{**k, **recompute(k)} for k in
                 ({c: r[c] for c in keys} for r in records if r["statistic"] == "median")]
    rows = join(medians(records), table, keys)
    spread = {s: [r for r in records if r["statistic"] == s] for s in ("q25", "q75")}
    return rows, spread


# ---- headline quantities: what the paper quotes and the reproduction report checks ----
def fixed_slope(rat: Sequence[Mapping[str, Any]], x: str, quantity: str,
                where: Mapping[str, Any], fit_from: float | None = None) -> float | None:
    """The log-log slope of ``quantity`` against ``x`` over the median rows matching
    ``where``, fitted over ``x >= fit_from`` (see :func:`tail_slope`)."""
    xs, ys = series(rat, x, quantity, {**where, "statistic": "median"})
    return tail_slope(xs, ys, fit_from)[0] if len(xs) >= 2 else None


def value(rows: Iterable[Mapping[str, Any]], column: str, **where: Any) -> Any:
    """The ``column`` of the one median row matching ``where`` (None if there is none)."""
    found = [r[column] for r in rows if r.get("statistic", "median") == "median"
             and all(r.get(k) == v for k, v in where.items())]
    return found[0] if found else None
