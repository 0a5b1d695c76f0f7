"""What ``plot`` checks before it draws: results that exist, are readable, come from one
kind of run (quick or full), and were measured by the current code."""

from __future__ import annotations

import pathlib
import types
from typing import Any

from .env import code_hash
from .provenance import definition_hashes
from .records import ResultsError, load_records

__all__ = ["PlotRefused", "check_for_plot", "usable_rows"]


class PlotRefused(ValueError):
    """The results cannot be drawn; the message says why and what to run."""


def usable_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The measured rows (failed pairs, status ``"error"``, left out)."""
    return [r for r in records if r.get("status", "ok") == "ok"]


def check_for_plot(module: types.ModuleType, csv: pathlib.Path,
                   allow_stale: bool = False) -> list[dict[str, Any]]:
    """The measured rows of ``csv`` for the experiment ``module``, or PlotRefused when
    the file is missing, damaged, empty, mixes quick and full rows, or (unless
    ``allow_stale``) was measured by other library code or another definition of the
    experiment than the current one."""
    name = module.NAME
    if not csv.exists():
        raise PlotRefused(f"no results at {csv}; run `python -m dualtape.harness run "
                          f"{name}` first")
    try:
        records = load_records(csv)
    except ResultsError as exc:
        raise PlotRefused(f"damaged results: {exc}; run the experiment again, which "
                          f"measures the damaged rows again") from None
    rows = usable_rows(records)
    if not rows:
        raise PlotRefused(f"{csv} holds no measured rows; run the experiment first")
    scales: dict[Any, int] = {}
    for r in rows:
        scales[r.get("scale")] = scales.get(r.get("scale"), 0) + 1
    if len(scales) > 1:
        parts = ", ".join(f"{n} {s or 'unknown'}" for s, n in sorted(
            scales.items(), key=lambda kv: str(kv[0])))
        raise PlotRefused(f"{csv} mixes rows of different runs ({parts}); a figure must "
                          f"come from one grid: run `run {name} --fresh` with --quick or "
                          f"--full")
    if allow_stale:
        return rows
    now_code = code_hash()
    # An experiment's definition is its ``case`` (with what it reaches), as the sweep
    # hashes it; experiments give sweep no extra ``params``.
    now_def = definition_hashes(module.case) if hasattr(module, "case") else None
    stale_code = sum(r.get("code_hash") != now_code for r in rows)
    stale_def = (sum((r.get("source_hash"), r.get("params_hash")) != now_def for r in rows)
                 if now_def is not None else 0)
    if stale_code or stale_def:
        why = []
        if stale_code:
            why.append(f"{stale_code} of {len(rows)} rows by other dualtape code")
        if stale_def:
            why.append(f"{stale_def} of {len(rows)} rows by another definition of {name}")
        raise PlotRefused(f"{csv} is stale ({'; '.join(why)}); run `python -m "
                          f"dualtape.harness run {name}` to measure them again, or pass "
                          f"--allow-stale to draw them anyway")
    return rows
