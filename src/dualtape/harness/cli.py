"""The command line: list, run, plot and reproduce the experiments in a directory.

Experiments are the modules ``DIR/*.py`` not starting with ``_``; each defines
``NAME``, ``DESCRIPTION``, ``run(quick, results_dir, progress) -> records`` and
``plot(records, figures_dir) -> [paths]``, and may define ``numbers(records,
results_dir) -> {name: value}`` (its headline quantities, for the reproduction report
and the paper) and ``TOLERANCES`` (``{name: (kind, tolerance)}``).

Quick and full runs write to their own folders (``EXPERIMENTS/results/quick`` or
``.../full``, figures in ``figures/`` below that) unless ``--results``/``--figures`` say
otherwise; the paper's reference results and figures are written only on request.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import pathlib
import sys
import time
import traceback
import types
from typing import Any, Sequence

__all__ = ["main", "discover", "find_experiments", "load_experiment"]


def discover(directory: str | os.PathLike) -> dict[str, pathlib.Path]:
    """Experiment files of ``directory`` by name (the file stem), sorted by name."""
    d = pathlib.Path(directory)
    if not d.is_dir():
        return {}
    return {p.stem: p for p in sorted(d.glob("*.py")) if not p.name.startswith("_")}


def find_experiments(given: str | os.PathLike | None) -> tuple[pathlib.Path, str | None]:
    """The experiments directory to use, and ``None`` or the message saying why there is none.

    ``given`` (``--experiments DIR``) is used as it is.  Otherwise the first of these that
    holds experiments: ``./experiments``, ``experiments/`` of the nearest enclosing
    directory with a ``pyproject.toml`` (a checkout, from anywhere inside it), and
    ``experiments/`` of the checkout this package is imported from (an editable
    install).  An installed wheel has none of these: the experiments are not in it.
    """
    if given is not None:
        candidates = [pathlib.Path(given)]
    else:
        here = pathlib.Path.cwd()
        roots = [p for p in here.parents if (p / "pyproject.toml").is_file()][:1]
        roots.append(pathlib.Path(__file__).resolve().parents[3])  # src/dualtape/harness/
        candidates = [pathlib.Path("experiments")] + [r / "experiments" for r in roots]
    for c in candidates:
        if discover(c):
            return c, None
    if given is not None:
        state = "has no experiment files" if candidates[0].is_dir() else "does not exist"
        why = f"no experiments in {candidates[0]}: the directory {state}"
    else:
        places = ", ".join(dict.fromkeys(str(c) for c in candidates))
        why = f"no experiments found (looked in {places})"
    return candidates[0], (
        f"{why}.  The experiments are the scripts experiments/*.py of a checkout of the "
        "dualtape repository, also shipped in its source distribution (the .tar.gz); "
        "they are not installed with the package.  Run from a checkout or an unpacked "
        "sdist, or name the folder with --experiments DIR.")


def load_experiment(path: pathlib.Path) -> types.ModuleType:
    """Import one experiment file and check that it defines what the harness calls."""
    # Experiments may share helpers such as experiments/_common.py via a plain import.
    folder = str(path.parent.resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(f"dualtape_experiment_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look modules up here
    spec.loader.exec_module(module)
    missing = [a for a in ("NAME", "run", "plot") if not hasattr(module, a)]
    if missing:
        raise AttributeError(f"experiment {path.name} does not define {', '.join(missing)}")
    if module.NAME != path.stem:
        raise ValueError(f"experiment {path.name} has NAME={module.NAME!r}; it must equal "
                         f"the file name {path.stem!r}")
    return module


def _close_figures() -> None:
    # Figures made with pyplot stay registered until closed; a reproduce run over
    # every experiment would otherwise keep them all in memory.
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close("all")


def _plot(module: types.ModuleType, records: list[dict], figures: pathlib.Path,
          results: pathlib.Path | None = None) -> list[pathlib.Path]:
    import inspect

    kw = {}
    if results is not None and "results_dir" in inspect.signature(module.plot).parameters:
        kw["results_dir"] = str(results)        # side tables are read from there
    paths = module.plot(records, figures_dir=str(figures), **kw)
    _close_figures()
    return [pathlib.Path(p) for p in (paths or [])]


def _run_one(module: types.ModuleType, args: argparse.Namespace) -> dict[str, Any]:
    from .sweep import run_options

    start = time.perf_counter()
    with run_options(fresh=args.fresh, quick=args.quick, executor=args.executor,
                     counts_only=args.counts_only) as opts:
        try:
            records = module.run(quick=args.quick, results_dir=str(args.results),
                                 progress=args.progress)
        finally:
            args.saved += opts.saved
    failed = [f for s in opts.summaries for f in s.failed]
    # The figures show times too: a counts-only run saves its results and draws nothing.
    figures = ([] if args.counts_only
               else _plot(module, list(records), args.figures, args.results))
    out = {"name": module.NAME, "rows": len(records),
           "seconds": time.perf_counter() - start, "figures": figures}
    if failed:
        out["error"] = f"{len(failed)} failed pair(s), first: {failed[0]}"
    return out


def _print_summary(summaries: list[dict[str, Any]]) -> None:
    width = max([len(s["name"]) for s in summaries] + [10])
    print(f"{'experiment':<{width}}  {'rows':>6}  {'seconds':>8}  figures")
    for s in summaries:
        if "error" in s:
            print(f"{s['name']:<{width}}  {'-':>6}  {s['seconds']:8.1f}  FAILED: {s['error']}")
            continue
        figs = ", ".join(str(p) for p in s["figures"]) or "-"
        print(f"{s['name']:<{width}}  {s['rows']:>6}  {s['seconds']:8.1f}  {figs}")


def _cmd_list(args: argparse.Namespace, found: dict[str, pathlib.Path]) -> int:
    if not found:
        print(f"no experiments in {args.experiments}", file=sys.stderr)
        return 1
    status = 0
    width = max(len(n) for n in found)
    for name, path in found.items():
        try:
            description = getattr(load_experiment(path), "DESCRIPTION", "")
        except Exception as exc:  # one broken file must not hide the others
            description, status = f"<cannot load: {exc}>", 1
        csv = args.results / f"{name}.csv"
        done = "results present" if csv.exists() else "no results yet"
        print(f"{name:<{width}}  {description}  [{done}]")
    return status


def _cmd_run(args: argparse.Namespace, found: dict[str, pathlib.Path]) -> int:
    print(f"== {args.name} ({'quick' if args.quick else 'full'} grid)", file=sys.stderr,
          flush=True)
    summary = _run_one(load_experiment(found[args.name]), args)
    _print_summary([summary])
    return 1 if "error" in summary else 0


def _cmd_plot(args: argparse.Namespace, found: dict[str, pathlib.Path]) -> int:
    from .check import PlotRefused, check_for_plot

    module = load_experiment(found[args.name])
    csv = args.results / f"{args.name}.csv"
    try:
        records = check_for_plot(module, csv, allow_stale=args.allow_stale)
    except PlotRefused as exc:
        print(f"plot {args.name}: {exc}", file=sys.stderr)
        return 1
    for p in _plot(module, records, args.figures, args.results):
        print(p)
    return 0


def _cmd_reproduce(args: argparse.Namespace, found: dict[str, pathlib.Path]) -> int:
    summaries = []
    for i, (name, path) in enumerate(found.items(), start=1):
        print(f"== {name} ({i}/{len(found)}, {'quick' if args.quick else 'full'} grid)",
              file=sys.stderr, flush=True)
        start = time.perf_counter()
        try:
            summaries.append(_run_one(load_experiment(path), args))
        except Exception as exc:  # report every experiment, then fail at the end
            traceback.print_exc()
            summaries.append({"name": name, "seconds": time.perf_counter() - start,
                              "error": f"{type(exc).__name__}: {exc}"})
    _print_summary(summaries)
    status = 1 if any("error" in s for s in summaries) else 0
    if args.counts_only:
        print("counts only: no figures and no reproduction report (they need times)")
    elif args.reference is not None:
        from .report import reproduction_report

        text, ok = reproduction_report(found, args.results, args.reference, args.quick)
        print()
        print(text)
        report = args.results / "reproduction_report.md"
        report.write_text(text + "\n", encoding="utf-8")
        print(f"\n(report also in {report})")
        if not ok:
            status = status or 3
    return status


def _add_options(p: argparse.ArgumentParser, top: bool) -> None:
    # Options are accepted before and after the command; the sub-parsers use SUPPRESS
    # so an option given only before the command is not overwritten by their default.
    def d(value: Any) -> Any:
        return value if top else argparse.SUPPRESS

    p.add_argument("--experiments", type=pathlib.Path, default=d(None),
                   help="directory of experiment modules (default: ./experiments, or "
                        "those of the enclosing checkout)")
    p.add_argument("--results", type=pathlib.Path, default=d(None),
                   help="results directory (default: EXPERIMENTS/results)")
    p.add_argument("--figures", type=pathlib.Path, default=d(None),
                   help="figures directory (default: EXPERIMENTS/../paper/figures)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", dest="quick", action="store_true", default=d(True),
                      help="small grids, a few minutes in all (default)")
    size.add_argument("--full", dest="quick", action="store_false", default=d(True),
                      help="the grids of the paper")
    p.add_argument("--no-progress", dest="progress", action="store_false", default=d(True),
                   help="no progress bar or progress lines")
    p.add_argument("--fresh", action="store_true", default=d(False),
                   help="ignore every saved result and measure everything again")
    p.add_argument("--reference", type=pathlib.Path, default=d(None),
                   help="results the reproduction report compares with "
                        "(default: EXPERIMENTS/../paper/results)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=d(None), metavar="N",
                       help="measure on a local Dask cluster of N single-threaded worker "
                            "processes (needs dualtape[distributed])")
    where.add_argument("--scheduler", default=d(None), metavar="ADDRESS",
                       help="measure on the workers of the running Dask scheduler at "
                            "ADDRESS (e.g. tcp://host:8786); the experiment files are "
                            "uploaded to them")
    p.add_argument("--counts-only", dest="counts_only", action="store_true",
                   default=d(False),
                   help="operation counts and peak memory only, no times and no figures "
                        "(many worker processes may then share a machine)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m dualtape.harness``."""
    parser = argparse.ArgumentParser(prog="python -m dualtape.harness",
                                     description="Run the experiments and draw their plots.")
    _add_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in [("list", "list the experiments"),
                       ("run", "run one experiment and plot it"),
                       ("plot", "plot one experiment from its saved results"),
                       ("reproduce", "run and plot every experiment, then summarise")]:
        p = sub.add_parser(name, help=text)
        if name in ("run", "plot"):
            p.add_argument("name", help="experiment name (see `list`)")
        if name == "plot":
            p.add_argument("--allow-stale", action="store_true",
                           help="draw results measured by other code (e.g. the paper's "
                                "reference results) instead of refusing")
        _add_options(p, top=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    # Before any experiment imports pyplot: the command line only writes files, and must
    # work on a machine without a display.
    if "matplotlib.pyplot" not in sys.modules:
        os.environ["MPLBACKEND"] = "Agg"
    args = build_parser().parse_args(argv)
    args.experiments, missing = find_experiments(args.experiments)
    if missing:
        print(missing, file=sys.stderr)
        return 1
    scale = "quick" if args.quick else "full"
    if args.results is None:
        args.results = args.experiments / "results" / scale
    if args.figures is None:
        args.figures = args.results / "figures"
    if args.reference is None:
        default = args.experiments.parent / "paper" / "results"
        args.reference = default if default.is_dir() else None
    args.saved = 0
    if not hasattr(args, "allow_stale"):
        args.allow_stale = False
    found = discover(args.experiments)
    if getattr(args, "name", None) is not None and args.name not in found:
        known = ", ".join(found) or "none"
        print(f"unknown experiment {args.name!r} in {args.experiments} (known: {known})",
              file=sys.stderr)
        return 2
    commands = {"list": _cmd_list, "run": _cmd_run, "plot": _cmd_plot,
                "reproduce": _cmd_reproduce}
    if args.workers is not None and args.workers < 1:
        print(f"--workers must be at least 1, not {args.workers}", file=sys.stderr)
        return 2
    args.executor = None
    try:
        with contextlib.ExitStack() as stack:
            if args.command in ("run", "reproduce") and (args.workers or args.scheduler):
                from .distributed import dask_executor

                # Helpers (_common.py) first: uploading a file imports it on the workers.
                upload = (sorted(args.experiments.glob("*.py"),
                                 key=lambda p: (not p.name.startswith("_"), p.name))
                          if args.scheduler else ())
                try:
                    args.executor = stack.enter_context(
                        dask_executor(args.workers, args.scheduler, upload))
                except ImportError as exc:
                    print(exc, file=sys.stderr)
                    return 2
            return commands[args.command](args, found)
    except KeyboardInterrupt:
        print(f"\ninterrupted: {args.saved} pairs saved; run again to resume",
              file=sys.stderr, flush=True)
        return 130
