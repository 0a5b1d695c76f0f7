"""The error for a traced value converted to a plain array or number.

numpy cannot hand some calls to dualtape: ``np.array([traced, ...])``, ``np.asarray``,
``np.full(shape, traced)``, ``np.r_[traced, ...]`` and ``np.vectorize`` convert their
arguments with ``__array__`` before any dispatch.  The error names the function when the
conversion happens inside numpy or scipy (read off the calling frame, for the message
only: nothing depends on it) and always lists the dualtape.numpy spellings.
"""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any

# numpy's own helpers that convert (frame qualname -> what the user called)
_CALLERS = {
    "AxisConcatenator.__getitem__": "numpy.r_ / numpy.c_",
    "vectorize._vectorize_call": "numpy.vectorize",
    "vectorize.__call__": "numpy.vectorize",
}
_SPELLINGS = (
    "dualtape.numpy.array / asarray (or numpy.stack) for a list of traced values, "
    "dualtape.numpy.full(shape, value) for a traced fill value, dualtape.numpy.r_ / c_, "
    "and the dualtape.numpy / dualtape.scipy version of a library function")


def _caller(depth: int = 3) -> tuple[str, str, str] | None:
    """(what was called, its dualtape spelling, why it has no rule if it has none)
    when numpy or scipy converts: the outermost numpy/scipy frame, the function the
    user called."""
    frame: FrameType | None
    try:
        frame = sys._getframe(depth)   # 3: _caller <- conversion_error <- hook <- caller
    except ValueError:
        return None
    while frame is not None and frame.f_globals.get("__name__", "").startswith("dualtape"):
        frame = frame.f_back       # the dispatch machinery between numpy and the hook
    found = None
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.split(".")[0] not in ("numpy", "scipy"):
            break
        found = frame
        frame = frame.f_back
    if found is None:
        return None
    module = found.f_globals.get("__name__", "")
    qual = getattr(found.f_code, "co_qualname", found.f_code.co_name)
    name = found.f_code.co_name
    if qual in _CALLERS:
        what = _CALLERS[qual]
        return what, ("dualtape.numpy.r_ / c_" if "r_" in what else
                      "the function itself on traced arrays (no vectorize)"), ""
    if module.startswith("numpy"):
        import numpy as np

        import dualtape.numpy as dnp
        from ._coverage import NO_RULE
        if name in NO_RULE:
            return f"numpy.{name}", "", NO_RULE[name]
        if hasattr(np, name) and getattr(dnp, name, None) is not getattr(np, name):
            return f"numpy.{name}", f"dualtape.numpy.{name}", ""
        return f"numpy.{name}", "the dualtape.numpy spelling", ""
    public = ".".join(p for p in module.split(".") if not p.startswith("_"))
    return f"{public}.{name}", public.replace("scipy", "dualtape.scipy", 1) + f".{name}", ""


def conversion_error(value: Any, hook: str = "__array__") -> TypeError:
    """The TypeError for converting the traced ``value`` with ``hook`` (``__array__``,
    or ``number`` for float()/int()/complex())."""
    mode = value._trace.mode
    found = _caller()
    if found is not None:
        what, use, why = found
        if why:
            return TypeError(f"{what} has no derivative rule in dualtape and was called "
                             f"on a traced value ({mode} mode): {why}")
        return TypeError(
            f"{what} converts its argument to a plain numpy array, which would silently "
            f"drop the derivative of a traced value ({mode} mode): use {use} instead "
            f"(generally: {_SPELLINGS}). `.primal` reads the value on purpose.")
    if hook == "number":
        return TypeError(
            f"a traced value ({mode} mode) cannot be converted to a Python number "
            f"(float(), int(), complex(), math.*): that would silently drop its "
            f"derivative. Use dualtape.numpy functions (dnp.sin, not math.sin); "
            f"`.primal` (or `.value`) reads the value on purpose.")
    return TypeError(
        f"a traced value ({mode} mode) cannot be converted to a plain numpy array by "
        f"numpy.array / numpy.asarray (numpy converts lists and asarray arguments "
        f"without dispatching): that would silently drop its derivative. Use "
        f"{_SPELLINGS}. `.primal` (or `.value`) reads the value on purpose.")


def write_error(what: str, depth: int) -> TypeError:
    """The TypeError for numpy writing a traced value into a plain array (``what``:
    the writing function, e.g. numpy.copyto; ``depth``: frames up to its caller)."""
    found = _caller(depth)
    called = found[0] if found is not None else what
    return TypeError(
        f"{called} writes a traced value into a plain array (through {what}), which "
        f"would drop its derivative: use dualtape.numpy.full(shape, value) / "
        f"dualtape.numpy.full_like(a, value) for a traced fill value, or build a new "
        f"array with dualtape.numpy.at(x)[idx].set(v)")
