"""Second-order derivatives, composed from the two modes.

Nesting is safe by construction: every ``jvp``/``vjp`` call opens a context with a
fresh, higher level, and ``bind`` always hands an operation to the innermost context
among its arguments, so an outer perturbation is a constant to an inner one.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ._api import check_input, checked, flatten, select_args, with_kwargs, wraps
from .forward import jacfwd, jvp
from .reverse import _value_and_grad, jacrev, linearize

__all__ = ["hessian", "hvp", "make_hvp", "HESSIAN_MODES"]

HESSIAN_MODES = {
    "fwd-over-fwd": (jacfwd, jacfwd),
    "fwd-over-rev": (jacfwd, jacrev),
    "rev-over-fwd": (jacrev, jacfwd),
    "rev-over-rev": (jacrev, jacrev),
}


def hessian(f: Callable, argnums: int | Sequence[int] = 0,
            mode: str = "fwd-over-rev", chunk_size: int | None = None,
            has_aux: bool = False) -> Callable:
    """The Hessian of ``f``, as ``outer(inner(f))`` for ``mode`` = "outer-over-inner".

    Returns ``h(*args, **kwargs)`` (keyword arguments are passed to f, not
    differentiated) with ``h(x).shape == out.shape + x.shape + x.shape`` (for a scalar
    ``f``: ``x.shape * 2``).  Pytree arguments nest as in JAX: for a dict ``x``,
    ``h(x)[a][b]`` has shape ``out.shape + x[a].shape + x[b].shape``; for a tuple
    ``argnums``, ``h(*args)[i][j]`` is the block of arguments i and j.  With
    ``has_aux=True`` f returns ``(out, aux)`` and h returns ``(H, aux)``.
    Forward-over-reverse (the default) costs one
    reverse sweep per forward direction.  ``chunk_size`` bounds the directions the outer
    mode carries at once: with an inner forward mode the intermediate values hold
    outer x inner x n numbers, n^3 for a dense Hessian, unless chunked.
    """
    try:
        outer, inner = HESSIAN_MODES[mode]
    except KeyError:
        raise ValueError(f"hessian mode must be one of {sorted(HESSIAN_MODES)}, "
                         f"not {mode!r}") from None
    h = outer(inner(checked(f, "hessian", has_aux), argnums, has_aux=has_aux), argnums,
              chunk_size=chunk_size, has_aux=has_aux)

    @wraps(f)
    def hess(*args: Any, **kwargs: Any) -> Any:
        for i in select_args(argnums, len(args))[0]:
            for leaf in flatten(args[i])[0]:
                check_input(leaf, "hessian")      # named here, not by the inner jacrev
        return h(*args, **kwargs)
    return hess


def hvp(f: Callable, x: Any, v: Any) -> Any:
    """The Hessian-vector product H(x) v of a scalar ``f``, by forward-over-reverse,
    without forming H.  ``x`` and ``v`` have the same shape; so does the result."""
    check_input(x, "hvp")
    check_input(v, "hvp")
    vg = _value_and_grad(checked(f, "hvp"), 0, "hvp", False)
    return jvp(lambda y: vg(y)[1], (x,), (v,))[1]


def make_hvp(f: Callable, argnums: int = 0) -> Callable:
    """Curried Hessian-vector products of a scalar ``f`` at one point.

    ``make_hvp(f)(*args, **kwargs)`` records the gradient of f with respect to
    ``args[argnums]`` (an array or a pytree of arrays) once and returns ``hvp(v)``:
    ``H v`` for a ``v`` shaped like that argument, by a forward pass over the gradient's
    recording (:func:`dualtape.linearize` of the gradient), so neither f nor its
    gradient runs again for each v.  Keyword arguments are passed to f.
    """
    if not isinstance(argnums, int):
        raise TypeError(f"make_hvp: argnums must be one int, not {argnums!r}")

    @wraps(f)
    def at(*args: Any, **kwargs: Any) -> Callable:
        i = select_args(argnums, len(args))[0][0]
        for leaf in flatten(args[i])[0]:
            check_input(leaf, "make_hvp")
        vg = _value_and_grad(checked(with_kwargs(f, kwargs), "make_hvp"), i, "make_hvp", False)
        _, hvp_v = linearize(lambda x: vg(*args[:i], x, *args[i + 1:])[1], args[i])
        return hvp_v
    return at
