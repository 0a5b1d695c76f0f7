"""Sweeps on an executor: every (grid point, method) pair is one task, measured on a
worker process; the driver is the only writer of the result store.

Works with any :class:`concurrent.futures.Executor`: a Dask cluster's
``Client.get_executor()`` (see :func:`dask_executor`, the only place that imports
Dask), a ``ProcessPoolExecutor``, or anything else with ``submit``.

* **What travels.**  A task is plain data (:class:`Task`): where the experiment's
  ``case`` lives (module name, file and qualified name, see :class:`CaseRef`), the grid
  point, the method, the settings and the driver's provenance.  The worker imports the
  case, calls it and measures, so nothing traced is ever pickled; only the finished
  rows come back.  A case that cannot be named (a closure, a callable object) is sent
  by value, which needs an executor that pickles closures (Dask does, with cloudpickle).
* **How experiments reach workers.**  The worker uses, in this order: the module if it
  is already imported (a forked process pool); the file at the driver's path, imported
  as the harness imports experiments (its folder on ``sys.path``, so ``_common.py``
  imports too), which holds on one machine and on a shared file system; a module of the
  file's name on the worker's path (what ``Client.upload_file`` installs: the command
  line uploads every ``EXPERIMENTS/*.py`` when given ``--scheduler``).  dualtape itself
  must be installed on the workers.
* **Never silently other code.**  Before measuring, the worker checks that its
  dualtape sources and versions (``CODE_FIELDS``) and the experiment's definition
  hashes equal the driver's; a mismatch is recorded as the pair's error.
* **Timing.**  Each worker process limits BLAS to one thread and runs one timed task at
  a time.  Rows carry the worker's machine (``MACHINE_FIELDS``) and ``pid``, and a
  time key computed from them.  (Counts-only tasks too run one at a time per process,
  since tracemalloc's peak is per process; they may share a host with many others.)
* **Faults.**  A task whose future raises (its worker died, the pool broke) is
  submitted again, at most ``retries`` times, then recorded as failed; Dask has by then
  retried a task lost with its worker on another one itself, and a task that killed
  ``distributed.scheduler.allowed-failures`` workers (``KilledWorker``) is not tried
  again.  On an interruption the outstanding tasks are cancelled and every finished
  row is kept.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import importlib
import importlib.util
import os
import pathlib
import signal
import sys
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

from .env import code_hash, package_version, timestamp
from .provenance import CODE_FIELDS, MACHINE_FIELDS, definition_hashes, machine, time_key

__all__ = ["CaseRef", "Task", "case_ref", "resolve_case", "run_task", "worker_info",
           "run_tasks", "dask_executor"]


@dataclass(frozen=True)
class CaseRef:
    """Where a case function lives: ``module`` (its ``__module__``), ``path`` (the
    module's file on the driver) and ``qualname``."""

    module: str
    path: str | None
    qualname: str


def case_ref(case: Callable) -> CaseRef | None:
    """A :class:`CaseRef` for ``case`` if it is reachable by name from its module (a
    module-level function or class), else None (it then travels by value)."""
    module = sys.modules.get(getattr(case, "__module__", None) or "")
    qualname = getattr(case, "__qualname__", None)
    if module is None or not qualname or "<" in qualname or module.__name__ == "__main__":
        return None
    obj: Any = module
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    if obj is not case:
        return None
    path = getattr(module, "__file__", None)
    return CaseRef(module.__name__, str(pathlib.Path(path).resolve()) if path else None,
                   qualname)


def _import_file(name: str, path: pathlib.Path) -> Any:
    folder = str(path.parent)
    if folder not in sys.path:        # helpers beside it (experiments/_common.py)
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _stamp(path: pathlib.Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_mtime_ns, st.st_size


def _module(ref: CaseRef) -> Any:
    have = sys.modules.get(ref.module)
    path = pathlib.Path(ref.path) if ref.path is not None else None
    if path is not None and path.is_file():
        # A long-lived worker imports the file again once it has changed, so that a
        # second sweep after an edit does not run the first one's code.
        if have is not None and getattr(have, "__file__", None) == str(path) and \
                getattr(have, "_dualtape_stamp", None) in (None, _stamp(path)):
            return have
        module = _import_file(ref.module, path)
        module._dualtape_stamp = _stamp(path)
        return module
    if have is not None:
        return have
    for name in dict.fromkeys([ref.module] + ([path.stem] if path else [])):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    import platform

    raise ImportError(
        f"cannot import the experiment module {ref.module!r} on worker "
        f"{platform.node()} (pid {os.getpid()}): {ref.path} is not there and no module "
        f"of that name is on the worker's path; put the experiments on a path the "
        f"workers share, or upload them (Client.upload_file; the command line does so "
        f"with --scheduler)")


def resolve_case(ref: CaseRef) -> Callable:
    """The case function ``ref`` names, imported in this (worker) process; see the
    module docstring for where it is looked for.  Raises ImportError saying how to make
    the experiment reachable."""
    obj: Any = _module(ref)
    for part in ref.qualname.split("."):
        obj = getattr(obj, part)
    return obj


@dataclass
class Task:
    """One (grid point, method) pair to measure; plain data, cheap to send."""

    name: str
    point: dict[str, Any]
    method: Any
    case: CaseRef | Callable     # by reference, or by value when it has no name
    prov: dict[str, Any]         # the driver's provenance of the sweep
    count_key: str
    params: Mapping[str, Any] | None
    repeats: int
    warmup: int
    count: bool
    min_time: float
    timed: bool
    token: str = field(default_factory=lambda: uuid.uuid4().hex)   # unique task names


# One measurement per worker process at a time, whatever the worker's thread count:
# two timed loops in one process would share its interpreter lock and CPU, and
# tracemalloc, which measures peak_bytes, traces the whole process.
_MEASURING = threading.Lock()


def worker_info() -> dict[str, Any]:
    """The calling process' machine fields, ``pid`` and code fields (see
    ``provenance``), after limiting its BLAS to one thread."""
    return {**_pinned_machine(), "pid": os.getpid(), **_code()}


# Both read once per worker process: hashing the sources, reading package metadata and
# scanning the loaded libraries for BLAS cost more than a small task, and neither the
# imported modules nor the BLAS limit (set once, for the whole process) change later.
@functools.lru_cache(maxsize=1)
def _pinned_machine() -> dict[str, Any]:
    _pin_blas()
    return machine()


@functools.lru_cache(maxsize=1)
def _code() -> dict[str, Any]:
    import platform

    import numpy

    import dualtape

    return {"code_hash": code_hash(), "dualtape": getattr(dualtape, "__version__", None),
            "python": platform.python_version(), "numpy": numpy.__version__,
            "scipy": package_version("scipy")}


@functools.lru_cache(maxsize=64)
def _definition(case: Callable) -> tuple[str, str]:
    return definition_hashes(case)     # keyed by the function: a new import, a new key


def _pin_blas() -> None:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return    # no limit possible; the rows' blas_threads say what was used
    import scipy.linalg  # noqa: F401  (scipy's own BLAS, so that the limit reaches it)

    threadpool_limits(limits=1, user_api="blas")


def run_task(task: Task) -> list[dict[str, Any]]:
    """Measure one pair on this worker; returns its rows (five statistics, or one error
    row), with this worker's machine fields, ``pid`` and time key."""
    from .sweep import error_rows, measure_pair

    info = worker_info()
    prov = {**task.prov, **{k: info[k] for k in (*MACHINE_FIELDS, "pid")}}
    tk = time_key(task.count_key, prov)
    base = row_base(task, prov, tk)
    try:
        case = resolve_case(task.case) if isinstance(task.case, CaseRef) else task.case
        differ = [f"{k} {info[k]} where the driver has {task.prov.get(k)}"
                  for k in CODE_FIELDS if info[k] != task.prov.get(k)]
        if differ:
            raise RuntimeError(f"worker {info['host']} (pid {info['pid']}) runs other code "
                               f"than the driver: {'; '.join(differ)}; install the same "
                               f"dualtape and versions on every worker")
        here = (_definition(case) if isinstance(task.case, CaseRef) and not task.params
                else definition_hashes(case, task.params))
        if here != (task.prov["source_hash"], task.prov["params_hash"]):
            raise RuntimeError(f"the experiment's definition on worker {info['host']} "
                               f"(pid {info['pid']}) differs from the driver's (source, "
                               f"params hashes {here} against {task.prov['source_hash']}, "
                               f"{task.prov['params_hash']}); give the workers the same "
                               f"experiment files")
    except Exception as exc:
        return error_rows(base, exc, timestamp())
    with _MEASURING:
        return measure_pair(case, base, task.point, task.method, task.repeats,
                            task.warmup, task.count, task.min_time, task.timed)


def row_base(task: Task, prov: Mapping[str, Any], tk: str) -> dict[str, Any]:
    """The cells every row of ``task``'s pair shares."""
    return {"experiment": task.name, "method": task.method, **task.point,
            **{k: v for k, v in prov.items() if k != "counted"},
            "count_key": task.count_key, "time_key": tk}


def _final(exc: BaseException) -> bool:
    # Dask already tried the task on allowed-failures workers, each of which died.
    return type(exc).__name__ == "KilledWorker"


def run_tasks(executor: cf.Executor, tasks: Sequence[Task],
              done: Callable[[Task, list[dict[str, Any]]], None],
              lost: Callable[[Task, BaseException, int], list[dict[str, Any]]],
              retries: int = 2) -> None:
    """Submit every task to ``executor`` and call ``done(task, rows)`` in this (the
    driver's) thread as each finishes, in the order they finish.  A task whose future
    raises is submitted again up to ``retries`` times, then ``done(task, lost(task,
    exc, tries))``.  On any exception here (Ctrl-C) the outstanding tasks are cancelled,
    the rows of tasks already finished are still passed to ``done``, and the exception
    propagates."""
    pending: dict[cf.Future, tuple[Task, int]] = {}

    def submit(task: Task, tries: int) -> None:
        try:
            pending[executor.submit(run_task, task)] = (task, tries)
        except Exception as exc:   # a broken or shut-down executor: nothing will run it
            done(task, lost(task, exc, tries + 1))

    try:
        for t in tasks:
            submit(t, 0)
        while pending:
            # Woken twice a second, so that Ctrl-C is seen at once however long a task.
            finished, _ = cf.wait(list(pending), timeout=0.5,
                                  return_when=cf.FIRST_COMPLETED)
            for fut in finished:
                task, tries = pending.pop(fut)
                exc = fut.exception()
                if exc is None:
                    done(task, fut.result())
                elif tries < retries and not _final(exc):
                    submit(task, tries + 1)
                else:
                    done(task, lost(task, exc, tries + 1))
    except BaseException:
        for fut in pending:
            fut.cancel()
        for fut, (task, _) in list(pending.items()):
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                done(task, fut.result())
        raise


@contextlib.contextmanager
def dask_executor(workers: int | None = None, scheduler: str | None = None,
                  upload: Sequence[os.PathLike | str] = ()) -> Iterator[cf.Executor]:
    """A Dask executor for the block: a local cluster of ``workers`` single-threaded
    worker processes, or a client of the running scheduler at ``scheduler``; the files
    ``upload`` are sent to its workers first.  The cluster (or the client) is closed at
    the end.  Needs the ``distributed`` extra: ``pip install "dualtape[distributed]"``."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ImportError("running on Dask needs dask.distributed: pip install "
                          "\"dualtape[distributed]\" (or \"dask[distributed]\")") from None
    with contextlib.ExitStack() as stack:
        if scheduler is not None:
            client = stack.enter_context(Client(scheduler))
        else:
            with _children_ignore_ctrl_c():
                cluster = stack.enter_context(LocalCluster(
                    n_workers=workers or 1, threads_per_worker=1, processes=True,
                    dashboard_address=None))
            client = stack.enter_context(Client(cluster))
        for f in upload:
            client.upload_file(str(f))
        executor = client.get_executor()
        try:
            yield executor
        finally:
            executor.shutdown(wait=False)


@contextlib.contextmanager
def _children_ignore_ctrl_c() -> Iterator[None]:
    """Processes started in the block ignore SIGINT.  Ctrl-C in a terminal reaches the
    whole process group: the local workers must leave it to the driver, which cancels
    their tasks, instead of each dying with a traceback.  An ignored SIGINT survives
    fork and exec, and Python then keeps it ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)

