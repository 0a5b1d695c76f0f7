"""Cost formulas: the flops of one application of a primitive.

Every formula has one signature, ``cost(ans, args, params) -> int`` (plain values), and
carries ``describe``, the formula in words, which ``python -m dualtape.report`` prints.
A flop is one floating-point add, multiply, divide, comparison or elementary function
evaluation; fractional constants (2/3 n^3) are rounded down.  The builders cover the
common cases; the decompositions, einsum, sorting and the FFTs state their own formulas
next to their definitions (with their sources).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Protocol, cast

import numpy as np


class Formula(Protocol):
    """A cost function with its formula in words."""

    describe: str

    def __call__(self, ans: Any, args: tuple, params: dict) -> int: ...


def formula(describe: str) -> Callable[[Callable[..., int]], Formula]:
    """Decorator: attach the human-readable ``describe`` to a cost function."""
    def deco(fn: Callable[..., int]) -> Formula:
        setattr(fn, "describe", describe)   # noqa: B010 (typed by Formula)
        return cast(Formula, fn)
    return deco


def _size(x: Any) -> int:
    # arrays and numpy scalars know their size; a Python number is one element
    return int(getattr(x, "size", 1))


def out_size(ans: Any) -> int:
    """Elements of the result (all results of a multiple-result primitive)."""
    if isinstance(ans, tuple):
        return sum(_size(a) for a in ans)
    return _size(ans)


@formula("1 per output element")
def elementwise(ans: Any, args: tuple, params: dict) -> int:
    return out_size(ans)


@formula("0 (moves or reinterprets data)")
def move(ans: Any, args: tuple, params: dict) -> int:
    return 0


@formula("1 per input element")
def reduction(ans: Any, args: tuple, params: dict) -> int:
    return _size(args[0])


@formula("1 per added element")
def scatter(ans: Any, args: tuple, params: dict) -> int:
    return _size(args[0])


@formula("2 k per output element, k the contracted length")
def matmul(ans: Any, args: tuple, params: dict) -> int:
    return 2 * out_size(ans) * int(np.shape(args[0])[-1])


def log2(n: int) -> float:
    return math.log2(n) if n > 1 else 0.0


def per_slice(per: Callable[[int], float], axis_of: Callable[[dict], Any],
              describe: str) -> Callable:
    """A cost of ``per(n)`` for every slice of length n along ``axis_of(params)``."""
    @formula(describe)
    def cost(ans: Any, args: tuple, params: dict) -> int:
        shape = np.shape(args[0])
        if not shape:
            return 0
        n = shape[axis_of(params)]
        slices = _size(args[0]) // n if n else 0
        return int(slices * per(n))
    return cost


def per_matrix(per: Callable[[int, int], float], describe: str) -> Callable:
    """A cost of ``per(m, n)`` for every m x n matrix in the last two axes of the first
    argument (a stack of matrices counts each)."""
    @formula(describe)
    def cost(ans: Any, args: tuple, params: dict) -> int:
        shape = np.shape(args[0])
        m, n = shape[-2:]
        return int(_size(args[0]) // max(m * n, 1) * per(m, n))
    return cost
