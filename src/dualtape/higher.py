"""Second-order derivatives, composed from the two modes.

Nesting is safe by construction: every ``jvp``/``vjp`` call opens a context with a
fresh, higher level, and ``bind`` always hands an operation to the innermost context
among its arguments, so an outer perturbation is a constant to an inner one.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ._api import check_input, checked, flatten, select_args
from .forward import jacfwd, jvp
from .reverse import grad, jacrev

__all__ = ["hessian", "hvp", "HESSIAN_MODES"]

HESSIAN_MODES = {
    "fwd-over-fwd": (jacfwd, jacfwd),
    "fwd-over-rev": (jacfwd, jacrev),
    "rev-over-fwd": (jacrev, jacfwd),
    "rev-over-rev": (jacrev, jacrev),
}


def hessian(f: Callable, argnums: int | Sequence[int] = 0,
            mode: str = "fwd-over-rev", chunk_size: int | None = None) -> Callable:
    """The Hessian of ``f``, as ``outer(inner(f))`` for ``mode`` = "outer-over-inner".

    Returns ``h(*args)`` with ``h(x).shape == out.shape + x.shape + x.shape`` (for a
    scalar ``f``: ``x.shape * 2``).  Forward-over-reverse (the default) costs one
    reverse sweep per forward direction.  ``chunk_size`` bounds the directions the outer
    mode carries at once: with an inner forward mode the intermediate values hold
    outer x inner x n numbers, n^3 for a dense Hessian, unless chunked.
    """
    try:
        outer, inner = HESSIAN_MODES[mode]
    except KeyError:
        raise ValueError(f"hessian mode must be one of {sorted(HESSIAN_MODES)}, "
                         f"not {mode!r}") from None
    h = outer(inner(checked(f, "hessian"), argnums), argnums, chunk_size=chunk_size)

    def hess(*args: Any) -> Any:
        for i in select_args(argnums, len(args))[0]:
            for leaf in flatten(args[i])[0]:
                check_input(leaf, "hessian")      # named here, not by the inner jacrev
        return h(*args)
    return hess


def hvp(f: Callable, x: Any, v: Any) -> Any:
    """The Hessian-vector product H(x) v of a scalar ``f``, by forward-over-reverse,
    without forming H.  ``x`` and ``v`` have the same shape; so does the result."""
    check_input(x, "hvp")
    check_input(v, "hvp")
    return jvp(grad(checked(f, "hvp")), (x,), (v,))[1]
