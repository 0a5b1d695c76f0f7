"""Render paper/paper.md from paper/paper.template.md and the reference results.

Every measured number in the paper is a placeholder ``{{experiment.quantity}}`` or
``{{experiment.quantity:FORMAT}}`` (a Python format spec, e.g. ``.2f``), filled in from
``experiment.numbers(records, results_dir)`` computed on ``paper/results/``: the
committed full-grid results.  ``{{run.FIELD}}`` gives their provenance (commit, date,
host, cpu, versions, BLAS), ``{{run_EXPERIMENT.FIELD}}`` one experiment's.  A
placeholder that names no value is an error.

    python paper/render.py            # write paper/paper.md
    python paper/render.py --check    # exit 1 if paper/paper.md differs from a rendering
"""

from __future__ import annotations

import argparse
import pathlib
import re
import sys
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
TEMPLATE = HERE / "paper.template.md"
OUTPUT = HERE / "paper.md"
RESULTS = HERE / "results"
EXPERIMENTS = ROOT / "experiments"
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w]*\.[A-Za-z_]\w*)\s*(?::([^}]*))?\}\}")
BANNER = ("<!-- Rendered by paper/render.py from paper.template.md and paper/results/; "
          "edit the template, not this file. -->\n")


def provenance(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """``run.*`` values: one value per field if all rows agree, else the values joined."""
    def one(col: str, width: int | None = None) -> str:
        vals = sorted({str(r[col])[:width] for r in rows if r.get(col) not in (None, "")})
        return ", ".join(vals) if vals else "unknown"

    dates = sorted(str(r["timestamp"])[:10] for r in rows if r.get("timestamp"))
    loads = sorted(float(r["load"]) for r in rows if isinstance(r.get("load"), (int, float)))
    dirty = any(r.get("dirty") is True for r in rows)
    # each commit shortened, not the list of them: results of two commits name both
    return {"commit": one("commit", 12) + (" (with uncommitted changes)" if dirty else ""),
            "date": dates[0] if dates and dates[0] == dates[-1]
            else (f"{dates[0]} to {dates[-1]}" if dates else "unknown"),
            "host": one("host"), "cpu": one("cpu"), "python": one("python"),
            "numpy": one("numpy"), "scipy": one("scipy"), "dualtape": one("dualtape"),
            "blas": one("blas"), "blas_threads": one("blas_threads"), "scale": one("scale"),
            "rows": len(rows),
            # The 1-minute load average while the timed rows were measured.
            "load_min": loads[0] if loads else "unknown",
            "load_median": loads[len(loads) // 2] if loads else "unknown",
            "load_max": loads[-1] if loads else "unknown"}


def values(results: pathlib.Path = RESULTS,
           experiments: pathlib.Path = EXPERIMENTS) -> dict[str, Any]:
    """Every named value the template may use, computed from ``results``."""
    from dualtape.harness.check import usable_rows
    from dualtape.harness.cli import discover, load_experiment
    from dualtape.harness.records import load_records

    out: dict[str, Any] = {}
    every: list[dict[str, Any]] = []
    for name, path in discover(experiments).items():
        module = load_experiment(path)
        csv = results / f"{name}.csv"
        if not hasattr(module, "numbers") or not csv.exists():
            continue
        rows = usable_rows(load_records(csv))
        every += rows
        for key, v in module.numbers(rows, results_dir=str(results)).items():
            out[f"{name}.{key}"] = v
        for key, v in provenance(rows).items():          # one experiment's own run
            out[f"run_{name}.{key}"] = v
    for key, v in provenance(every).items():
        out[f"run.{key}"] = v
    return out


def _format(v: Any, spec: str | None) -> str:
    if spec:
        return format(v, spec)
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def render(template: str, named: dict[str, Any]) -> str:
    """``template`` with every placeholder replaced; KeyError naming the unknown ones."""
    unknown = sorted({m.group(1) for m in PLACEHOLDER.finditer(template)} - set(named))
    if unknown:
        raise KeyError(f"paper.template.md names values no experiment computes: "
                       f"{', '.join(unknown)}")
    missing = sorted(k for k in {m.group(1) for m in PLACEHOLDER.finditer(template)}
                     if named[k] is None)
    if missing:
        raise ValueError(f"the results give no value for: {', '.join(missing)}")
    text = PLACEHOLDER.sub(lambda m: _format(named[m.group(1)], m.group(2)), template)
    # After the YAML front matter, which pandoc reads only at the very top.
    if text.startswith("---\n"):
        end = text.index("\n---\n", 4) + 5
        return text[:end] + "\n" + BANNER + text[end:]
    return BANNER + text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if paper.md is not the rendering")
    parser.add_argument("--results", type=pathlib.Path, default=RESULTS)
    args = parser.parse_args(argv)
    text = render(TEMPLATE.read_text(encoding="utf-8"), values(args.results))
    if args.check:
        if OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{OUTPUT} is not the rendering of {TEMPLATE.name} with {args.results}; "
                  f"run `make paper`", file=sys.stderr)
            return 1
        print(f"{OUTPUT} matches the results in {args.results}")
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
