"""Where a result row comes from, and when a saved row may stand in for a new measurement.

A row carries its provenance as columns (see ``records.PROVENANCE_COLUMNS``) and two
digests of it:

* ``count_key``: what decides the operation counts: the experiment's definition (the
  source of ``case`` and of every function of the experiment it reaches, hashed as
  ``source_hash``; the module constants and explicit parameters it reads, hashed as
  ``params_hash``), the grid point and method, quick or full, the dualtape sources
  (``code_hash``) and version, and the versions of Python, numpy and scipy;
* ``time_key``: the count key plus what moves wall-clock times: the timing protocol and
  repeat settings, the CPU, the host, the BLAS library and its thread count.

A sweep reuses a saved pair only if its key equals the key the current run would
write; anything else is stale and measured again.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import pathlib
import types
from typing import Any, Callable, Mapping

from .env import (blas, code_hash, cpu_model, git_commit, git_dirty, host, package_version,
                  thread_count)

__all__ = ["definition_hashes", "run_provenance", "machine", "count_key", "time_key", "digest",
           "MACHINE_FIELDS", "CODE_FIELDS"]

_PLAIN = (int, float, str, bool, bytes, type(None), complex)


def digest(obj: Any) -> str:
    """16 hex digits of the SHA-256 of ``obj`` as canonical JSON (keys sorted)."""
    text = json.dumps(obj, sort_keys=True, default=repr, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _local(obj: Any, home: pathlib.Path | None) -> bool:
    """Whether ``obj`` (a function, class or module) is defined in a file of the
    experiment's own folder, so that editing it may change the experiment."""
    if home is None:
        return False
    try:
        f = inspect.getsourcefile(obj)
    except TypeError:
        return False
    return f is not None and pathlib.Path(f).resolve().parent == home


def _names(code: types.CodeType) -> set[str]:
    out = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            out |= _names(c)
    return out


def _constant(value: Any) -> Any | None:
    """A JSON-able stand-in for a module constant, or None if it is not data."""
    if isinstance(value, _PLAIN):
        return value if not isinstance(value, (bytes, complex)) else repr(value)
    if isinstance(value, (list, tuple, frozenset, set)):
        items = [_constant(v) for v in value]
        if all(i is not None or v is None for i, v in zip(items, value)):
            return sorted(map(repr, items)) if isinstance(value, (set, frozenset)) else items
        return None
    if isinstance(value, dict):
        entries = {str(k): _constant(v) for k, v in value.items()}
        return entries if all(v is not None or value[k] is None
                              for k, v in zip(value, entries.values())) else None
    if type(value).__module__ == "numpy" and hasattr(value, "tobytes"):
        return hashlib.sha256(value.tobytes()).hexdigest()[:16] + str(getattr(value, "shape", ""))
    return None


def definition_hashes(case: Callable, params: Mapping[str, Any] | None = None
                      ) -> tuple[str, str]:
    """(source_hash, params_hash) of an experiment's ``case``.

    The source hash covers the source text of ``case`` and, transitively, of every
    function or class it names that is defined in a file of its own folder (for an
    experiment: the module and helpers such as ``_common.py``), reached directly or as
    an attribute of a local helper module.  The params hash covers the values of the
    module-level constants those functions read (numbers, strings, tuples, dicts,
    numpy arrays) and ``params``.  Editing the plot code of an experiment changes
    neither; editing what ``case`` computes, or a constant it uses, changes one.
    """
    start = inspect.unwrap(case)
    if inspect.ismethod(start):
        start = start.__func__
    elif not (inspect.isfunction(start) or inspect.isclass(start)) and callable(start):
        start = type(start)          # a callable object: its class defines what it does
    try:
        home: pathlib.Path | None = pathlib.Path(
            inspect.getsourcefile(start) or "").resolve().parent
    except TypeError:
        home = None
    sources: dict[str, str] = {}
    constants: dict[str, Any] = {}
    todo: list[Any] = [start]
    seen: set[int] = set()
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        # Labelled by file name, not module name: the harness imports an experiment
        # under a name of its own, and a hash must not depend on how it was imported.
        try:
            where = pathlib.Path(inspect.getsourcefile(obj) or "?").stem
        except TypeError:
            where = "?"
        label = f"{where}.{getattr(obj, '__qualname__', obj)}"
        try:
            sources[label] = inspect.getsource(obj)
        except (OSError, TypeError):
            code = getattr(obj, "__code__", None)
            sources[label] = repr(code.co_code + repr(code.co_consts).encode()) if code else label
        if inspect.isclass(obj):
            codes = [v.__code__ for v in vars(obj).values() if hasattr(v, "__code__")]
            scopes = [vars(inspect.getmodule(obj) or types.ModuleType("x"))]
        elif hasattr(obj, "__code__"):
            codes = [obj.__code__]
            scopes = [obj.__globals__]
            for cell in obj.__closure__ or ():
                try:
                    v = cell.cell_contents
                except ValueError:
                    continue
                if callable(v) and _local(v, home):
                    todo.append(v)
        else:
            continue
        names: set[str] = set()
        for c in codes:
            names |= _names(c)
        # Attribute names (C.tanh_problem) also sit in co_names: look them up in every
        # local helper module the function can see, too.
        helpers = [v for scope in scopes for v in scope.values()
                   if isinstance(v, types.ModuleType) and _local(v, home)]
        for scope in [*scopes, *(vars(m) for m in helpers)]:
            for name in names:
                if name not in scope or name.startswith("__"):
                    continue
                v = scope[name]
                if (inspect.isfunction(v) or inspect.isclass(v)) and _local(v, home):
                    todo.append(v)
                elif not callable(v) and not isinstance(v, types.ModuleType):
                    c = _constant(v)
                    if c is not None:
                        origin = pathlib.Path(str(scope.get("__file__", "?"))).stem
                        constants[f"{origin}.{name}"] = c
    source_hash = digest(sorted(sources.items()))
    params_hash = digest({"constants": constants, "params": dict(params or {})})
    return source_hash, params_hash


def run_provenance(quick: bool | None) -> dict[str, Any]:
    """The provenance columns shared by every row of one sweep (taken once, at its start,
    after the experiment has limited its BLAS threads)."""
    import platform

    import numpy

    import dualtape

    return {"scale": None if quick is None else ("quick" if quick else "full"),
            "dualtape": getattr(dualtape, "__version__", None), "commit": git_commit(),
            "dirty": git_dirty(), "code_hash": code_hash(),
            "python": platform.python_version(), "numpy": numpy.__version__,
            "scipy": package_version("scipy"), **machine()}


#: The provenance fields that describe the machine a row was measured on (a worker's
#: differ from the driver's); they move times, never counts.
MACHINE_FIELDS = ("blas", "blas_threads", "cpu", "host", "threads")
#: The fields that say which code measured a row; a worker must match the driver's.
CODE_FIELDS = ("code_hash", "dualtape", "python", "numpy", "scipy")


def machine() -> dict[str, Any]:
    """The machine fields of the calling process, now: BLAS library and thread count,
    CPU model, host name and usable CPUs (see ``MACHINE_FIELDS``)."""
    lib, threads = blas()
    return {"blas": lib, "blas_threads": threads, "cpu": cpu_model(), "host": host(),
            "threads": thread_count()}


_COUNT_FIELDS = ("source_hash", "params_hash", "scale", "counted", "code_hash", "dualtape",
                 "python", "numpy", "scipy")
_TIME_FIELDS = ("protocol", "repeats", "warmup", "min_time", "cpu", "host", "blas",
                "blas_threads", "threads")


def count_key(experiment: str, method: Any, point: Mapping[str, Any],
              prov: Mapping[str, Any]) -> str:
    """The digest of what decides a pair's counts (see the module docstring)."""
    return digest({"experiment": experiment, "method": str(method),
                   "point": {k: str(v) for k, v in point.items()},
                   **{k: prov.get(k) for k in _COUNT_FIELDS}})


def time_key(count: str, prov: Mapping[str, Any]) -> str:
    """The digest of a pair's count key and of what moves its times."""
    return digest({"count_key": count, **{k: prov.get(k) for k in _TIME_FIELDS}})
