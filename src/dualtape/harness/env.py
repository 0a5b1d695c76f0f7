"""Where a measurement was taken: versions, CPU, threads, git commit.

Every function here must succeed on any machine: a missing ``git``, a missing
``/proc/cpuinfo`` or a sandboxed ``sysctl`` gives ``None`` or a coarser answer,
never an exception, because losing a long sweep to a metadata lookup is absurd.
"""

from __future__ import annotations

import datetime as _dt
import os
import pathlib
import platform
import subprocess
from typing import Any

__all__ = ["env_metadata", "cpu_model", "thread_count", "git_commit", "git_dirty", "timestamp",
           "load_average", "host", "blas", "code_hash", "package_version"]

# The package directory sits inside the repository that holds the measured code.
_PACKAGE_DIR = pathlib.Path(__file__).resolve().parents[1]


def cpu_model() -> str:
    """A human-readable CPU name, e.g. ``"AMD EPYC 7B13"``; ``platform.machine()`` at worst."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if platform.system() == "Darwin":
        out = _run(["sysctl", "-n", "machdep.cpu.brand_string"], None)
        if out:
            return out
    return platform.processor() or platform.machine() or "unknown"


def thread_count() -> int | None:
    """CPUs this process may run on (the affinity mask, which containers and
    ``taskset`` shrink), falling back to ``os.cpu_count()``."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()


def host() -> str:
    """The machine's network name (``platform.node()``), ``"unknown"`` if it has none."""
    return platform.node() or "unknown"


def blas() -> tuple[str | None, int | None]:
    """(library, threads) of numpy's BLAS, e.g. ``("openblas 0.3.27 pthreads", 1)``, as
    threadpoolctl sees it now (so after any limit set); ``(None, None)`` without it."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None, None
    try:
        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    except Exception:  # threadpoolctl inspects foreign libraries; any failure is non-fatal
        return None, None
    if not pools:
        return None, None
    names = sorted({" ".join(str(p[k]) for k in ("internal_api", "version", "threading_layer")
                             if p.get(k)) for p in pools})
    return "; ".join(names), max(int(p.get("num_threads", 0)) for p in pools)


def package_version(name: str) -> str | None:
    """Installed version of distribution ``name`` without importing it, else None."""
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover
        return None
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def code_hash() -> str:
    """A short content hash of the dualtape sources that decide a measurement: every
    module of the package except the harness' bookkeeping (records, plots, command
    line), but including its timer.  Uncommitted edits change it, a commit that leaves
    the sources alone does not."""
    import hashlib

    h = hashlib.sha256()
    for p in sorted(_PACKAGE_DIR.rglob("*.py")):
        rel = p.relative_to(_PACKAGE_DIR).as_posix()
        if rel.startswith("harness/") and rel != "harness/timing.py":
            continue
        h.update(rel.encode())
        h.update(b"\0")
        h.update(p.read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:16]


def git_dirty(path: str | os.PathLike | None = None) -> bool | None:
    """Whether the repository holding ``path`` (default: the dualtape sources) has
    uncommitted changes to tracked files; None outside a git repository."""
    where = path if path is not None else _PACKAGE_DIR
    try:
        proc = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                              cwd=where, capture_output=True, text=True, timeout=10,
                              check=False)
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return bool(proc.stdout.strip())


def blas_threads() -> int | None:
    """Threads of numpy's BLAS pool if ``threadpoolctl`` is installed, else ``None``."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    try:
        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    except Exception:  # threadpoolctl inspects foreign libraries; any failure is non-fatal
        return None
    return max((int(p.get("num_threads", 0)) for p in pools), default=None)


def git_commit(path: str | os.PathLike | None = None) -> str | None:
    """Short hash of ``HEAD`` of the repository holding ``path`` (default: the dualtape
    sources, then the working directory); ``None`` outside a git repository."""
    candidates = [path] if path is not None else [_PACKAGE_DIR, pathlib.Path.cwd()]
    for where in candidates:
        out = _run(["git", "rev-parse", "--short=12", "HEAD"], where)
        if out:
            return out
    return None


def timestamp() -> str:
    """Current UTC time as ISO 8601 with seconds, e.g. ``"2024-05-01T12:00:00+00:00"``."""
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def load_average() -> float | None:
    """The machine's 1-minute load average (runnable processes), or None where the
    platform has none.  Saved with each timed row: on a shared machine it says how
    much other work competed with the measurement."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def env_metadata() -> dict[str, Any]:
    """The environment columns of a record.

    Returns a dict with ``python``, ``numpy``, ``dualtape`` (version strings), ``cpu``
    (model name), ``threads`` (usable CPUs), ``commit`` (short git hash or ``None``) and
    ``timestamp`` (UTC, ISO 8601), plus ``platform``, ``cpu_count`` and ``blas_threads``
    which are not record columns but useful in a report.
    """
    import numpy

    import dualtape

    return {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "dualtape": getattr(dualtape, "__version__", None),
        "cpu": cpu_model(),
        "threads": thread_count(),
        "commit": git_commit(),
        "timestamp": timestamp(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "blas_threads": blas_threads(),
    }


def _run(cmd: list[str], cwd: Any) -> str | None:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=10,
                              check=False)
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    out = proc.stdout.strip()
    return out if proc.returncode == 0 and out else None
