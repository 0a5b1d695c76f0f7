"""The reproduction report: each experiment's headline quantities (its ``numbers``
function) from this run's results against the same quantities from the paper's
reference results, with the tolerance the experiment declares and a verdict."""

from __future__ import annotations

import math
import pathlib
from typing import Any, Mapping

from .check import usable_rows
from .records import ResultsError, load_records

__all__ = ["reproduction_report", "compare", "headline_numbers"]


def compare(kind: str, tol: float, paper: Any, ours: Any) -> bool | None:
    """Whether ``ours`` reproduces ``paper`` within ``tol`` of the given kind: ``abs``
    (|a − b| ≤ tol), ``rel`` (|a − b| ≤ tol·|b|), ``log10`` (decimal orders of
    magnitude apart; exact zeros must both be zero) or ``exact``.  None if a value is
    missing."""
    if paper is None or ours is None:
        return None
    if kind == "exact":
        return ours == paper
    a, b = float(ours), float(paper)
    if not (math.isfinite(a) and math.isfinite(b)):
        return False
    if kind == "abs":
        return abs(a - b) <= tol
    if kind == "rel":
        return abs(a - b) <= tol * abs(b)
    if kind == "log10":
        if a == 0 or b == 0:
            return a == b
        return abs(math.log10(abs(a)) - math.log10(abs(b))) <= tol
    raise ValueError(f"unknown tolerance kind {kind!r}; use abs, rel, log10 or exact")


def headline_numbers(module: Any, results: pathlib.Path) -> dict[str, Any]:
    """``module.numbers`` of the measured rows in ``results/NAME.csv``; raises
    FileNotFoundError or ResultsError when there are none to read."""
    csv = pathlib.Path(results) / f"{module.NAME}.csv"
    rows = usable_rows(load_records(csv))
    if not rows:
        raise ResultsError(f"{csv} holds no measured rows")
    return module.numbers(rows, results_dir=str(results))


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return "0" if v == 0 else f"{v:.3g}"
    return str(v)


def _tol(kind: str, tol: float) -> str:
    return {"abs": f"± {tol:g}", "rel": f"± {100 * tol:g} %",
            "log10": f"× 10^±{tol:g}", "exact": "exact"}[kind]


def reproduction_report(found: Mapping[str, pathlib.Path], results: pathlib.Path,
                        reference: pathlib.Path, quick: bool) -> tuple[str, bool]:
    """(Markdown text, every verdict passed) comparing this run's results in ``results``
    with the paper's in ``reference``, for every experiment in ``found`` that defines
    ``numbers`` and ``TOLERANCES``."""
    from .cli import load_experiment

    lines = ["## Reproduction report", "",
             f"This run ({'quick' if quick else 'full'} grid, {results}) against the "
             f"paper's reference results ({reference}).", "",
             "| experiment | quantity | paper | this run | tolerance | verdict |",
             "|---|---|---|---|---|---|"]
    ok = True
    counts = {"reproduced": 0, "NOT reproduced": 0, "not compared": 0}
    for name, path in found.items():
        module = load_experiment(path)
        tolerances = getattr(module, "TOLERANCES", None)
        if tolerances is None or not hasattr(module, "numbers"):
            continue
        try:
            ours = headline_numbers(module, results)
        except (OSError, ResultsError, ValueError, KeyError, TypeError) as exc:
            ours = {}
            lines.append(f"| {name} | (this run's results unusable: {exc}) | | | | |")
        try:
            paper = headline_numbers(module, reference)
        except (OSError, ResultsError, ValueError, KeyError, TypeError) as exc:
            paper = {}
            lines.append(f"| {name} | (reference results unusable: {exc}) | | | | |")
        for q, (kind, tol, what) in tolerances.items():
            verdict = compare(kind, tol, paper.get(q), ours.get(q))
            word = ("reproduced" if verdict else "not compared" if verdict is None
                    else "NOT reproduced")
            counts[word] += 1
            ok = ok and verdict is not False      # "not compared" is said, not failed
            lines.append(f"| {name} | {what} | {_fmt(paper.get(q))} | {_fmt(ours.get(q))} "
                         f"| {_tol(kind, tol)} | {word} |")
    lines += ["", f"{counts['reproduced']} reproduced, {counts['NOT reproduced']} not "
              f"reproduced, {counts['not compared']} not compared."]
    if quick:
        lines.append("A quick run has smaller grids than the paper's full run; the "
                     "tolerances allow for that (slopes are fitted at each grid's largest "
                     "size; errors and times at sizes both grids have).")
    return "\n".join(lines), ok
