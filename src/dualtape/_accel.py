"""Optional numba acceleration: kernels compiled when numba is importable, numpy/Python
stand-ins otherwise.

numba is an optional dependency (``pip install "dualtape[fast]"``).  A module with hot
sequential loops declares them once as a :class:`Kernels` set: each kernel has a source
written in the numba subset (compiled with ``numba.njit`` on first use) and, optionally, a
separate fallback tuned for the interpreter (vectorised numpy where possible, Python
lists and integers where not).  Without a fallback the source itself runs as Python.

Nothing is imported until a kernel is first called, so ``import dualtape`` never loads
numba.  The only state is the set's cache of compiled functions, shared by all threads
and filled under a lock; a first import interrupted by KeyboardInterrupt caches nothing,
so the next call tries again.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any, Callable

__all__ = ["Kernels"]


class Kernels:
    """A named set of kernels, compiled by numba if it is importable.

    Parameters
    ----------
    owner : str
        The module using them, named in the warning about a broken numba.
    sources : dict of name -> function
        Kernels in the numba subset (nopython mode).
    fallbacks : dict of name -> function, optional
        Interpreter-friendly versions with the same signature and results, used when
        numba is absent or unusable; a kernel without one runs its source as Python.

    Call a kernel with ``kernels("name", *args)``; :meth:`backend` says which ran.
    """

    def __init__(self, owner: str, sources: dict[str, Callable[..., Any]],
                 fallbacks: dict[str, Callable[..., Any]] | None = None) -> None:
        self.owner = owner
        self.sources = dict(sources)
        self.fallbacks = {k: (fallbacks or {}).get(k, f) for k, f in self.sources.items()}
        self._active: dict[str, Callable[..., Any]] | None = None
        self._backend: str | None = None
        self._lock = threading.Lock()

    def _load(self) -> dict[str, Callable[..., Any]]:
        active = self._active
        if active is not None:
            return active
        with self._lock:
            if self._active is None:
                try:
                    import numba
                    jit = numba.njit(cache=True, nogil=True)
                    jitted: dict[str, Callable[..., Any]] = {
                        k: jit(f) for k, f in self.sources.items()}
                except ImportError as e:
                    if getattr(e, "name", None) != "numba":
                        self._fall_back(e)   # numba present but its import fails
                    else:                    # not installed: a supported set-up, no warning
                        self._active, self._backend = dict(self.fallbacks), "python"
                except Exception as e:       # a broken install: never fatal here
                    self._fall_back(e)
                else:
                    self._active, self._backend = jitted, "numba"
            assert self._active is not None
            return self._active

    def _fall_back(self, err: BaseException) -> None:
        warnings.warn(f"numba is unusable ({err!r}): {self.owner} uses its numpy/Python "
                      "kernels, slower on large inputs (restart the interpreter to retry "
                      "numba)", RuntimeWarning, stacklevel=5)
        self._active, self._backend = dict(self.fallbacks), "python"

    def backend(self) -> str:
        """``"numba"`` if the kernels are compiled, ``"python"`` otherwise."""
        self._load()
        assert self._backend is not None
        return self._backend

    def __call__(self, name: str, *args: Any) -> Any:
        """Run kernel ``name``.  If a compiled kernel fails (a numba left half-imported
        by an interrupt fails when it first compiles) every kernel switches to its
        fallback, with a warning; an error in a fallback itself is raised."""
        active = self._load()
        fn = active[name]
        try:
            return fn(*args)
        except Exception as e:
            if fn is self.fallbacks[name]:
                raise
            with self._lock:
                self._fall_back(e)
            return self.fallbacks[name](*args)

    def use(self, backend: str) -> None:
        """Run the compiled kernels (``"numba"``, which must import) or the fallbacks
        (``"python"``) from now on: for benchmarks and tests comparing the two."""
        if backend not in ("numba", "python"):
            raise ValueError(f"backend must be 'numba' or 'python', got {backend!r}")
        self.reset()
        if backend == "numba":
            import numba  # noqa: F401  (fail here, clearly, when it is not installed)
            if self.backend() != "numba":
                raise RuntimeError(f"{self.owner}: numba imports but does not compile")
        else:
            with self._lock:
                self._active, self._backend = dict(self.fallbacks), "python"

    def reset(self) -> None:
        """Forget what was loaded (tests use this to simulate a fresh process)."""
        with self._lock:
            self._active, self._backend = None, None
