"""Exact, deterministic operation counts: ``dt.count(fn, *args)``.

Counting is one more context in the registry.  ``count`` wraps the arguments in the
outermost context, so every primitive application that touches them, in the primal
computation or inside a derivative rule of any mode nested within, reaches this
context's ``process`` and is counted before numpy runs it.  The modes mark the blocks
where derivative rules run (``registry.deriving``); that splits the counts into a
primal and a derivative part.  The observer ``count`` installs is context-local, so a
count in one thread never sees, or changes, derivatives computed in another.

Each primitive states its flop formula in its registry block (``prim.cost``, a callable
with a ``describe`` string; see :mod:`dualtape.primitives._cost`, and
``python -m dualtape.report`` for every formula); this module only calls it.  A
primitive without one (a user primitive) costs one flop per output element, an
estimate.

Bytes moved are the bytes of the array arguments plus those of the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ._api import check_input, flatten, unflatten
from .numpy import TracedArray
from .registry import Observer, Trace, Tracer, in_rules, observing, value_of

__all__ = ["Counts", "count", "cost_of"]


@dataclass
class Counts:
    """What ``count`` saw.  ``*_calls``: primitive applications; ``*_flops`` and
    ``*_bytes``: per the cost formulas; ``tape_records``/``tape_bytes``: the largest tape
    swept (records, and bytes of the values it keeps alive)."""

    primal_calls: int = 0
    primal_flops: int = 0
    primal_bytes: int = 0
    derivative_calls: int = 0
    derivative_flops: int = 0
    derivative_bytes: int = 0
    tape_records: int = 0
    tape_bytes: int = 0
    by_primitive: dict = field(default_factory=dict)
    value: Any = None

    @property
    def calls(self) -> int:
        return self.primal_calls + self.derivative_calls

    @property
    def flops(self) -> int:
        return self.primal_flops + self.derivative_flops

    @property
    def bytes(self) -> int:
        return self.primal_bytes + self.derivative_bytes

    def as_dict(self) -> dict:
        """The counts as a flat dict of numbers (no value, no per-primitive table)."""
        keys = ("primal_calls", "primal_flops", "primal_bytes", "derivative_calls",
                "derivative_flops", "derivative_bytes", "tape_records", "tape_bytes")
        return {k: getattr(self, k) for k in keys} | {
            "calls": self.calls, "flops": self.flops, "bytes": self.bytes}


def _nbytes(x: Any) -> int:
    return int(getattr(x, "nbytes", 8))


def cost_of(prim: Any, ans: Any, args: tuple, params: dict | None = None) -> tuple[int, int]:
    """(flops, bytes) of one application of ``prim`` with plain-value ``args``."""
    outs = ans if prim.multiple_results else (ans,)
    if prim.cost is None:
        flops = sum(int(np.size(o)) for o in outs)
    else:
        flops = int(prim.cost(ans, args, {} if params is None else params))
    moved = sum(_nbytes(a) for a in args if isinstance(a, (np.ndarray, np.generic)))
    moved += sum(_nbytes(o) for o in outs)
    return flops, moved


class CountTrace(Trace):
    __slots__ = ("counts",)
    mode = "count"

    def __init__(self) -> None:
        super().__init__()
        self.counts = Counts()

    def process(self, prim, args, params):
        ans, primals, _ = self.unpack(prim, args, params)
        flops, moved = cost_of(prim, ans, tuple(primals), params)
        c = self.counts
        if in_rules():
            c.derivative_calls += 1
            c.derivative_flops += flops
            c.derivative_bytes += moved
        else:
            c.primal_calls += 1
            c.primal_flops += flops
            c.primal_bytes += moved
        row = c.by_primitive.setdefault(prim.name, [0, 0, 0])
        row[0] += 1
        row[1] += flops
        row[2] += moved
        if prim.nondiff:
            return ans
        if prim.multiple_results:
            return tuple(Counted(a, self) for a in ans)
        return Counted(ans, self)


class Counted(TracedArray):
    __slots__ = ("primal",)

    def __init__(self, primal: Any, trace: CountTrace) -> None:
        self._trace = trace
        self._level = trace.level
        self.primal = primal


def count(fn: Callable, *args: Any) -> Counts:
    """Run ``fn(*args)`` and count every primitive application, in any mode.

    Counts are exact and deterministic: they depend only on shapes and the program,
    never on timing.  Each primitive states its flop formula in its registry block
    (``python -m dualtape.report`` lists them); a user primitive is charged one flop per
    output element, an estimate.

    Parameters
    ----------
    fn : callable
        ``f`` itself, ``dt.grad(f)``, ``dt.jacfwd(f)``, a Hessian...
    *args : array_like or pytree
        Float arrays among them (also inside lists, tuples, dicts) are followed.

    Returns
    -------
    counts : Counts
        Calls, flops and bytes split into the primal and the derivative part, the
        largest tape swept, a per-primitive breakdown, and ``value``, ``fn``'s result.

    Examples
    --------
    >>> c = dt.count(lambda x: np.sum(np.sin(x)), np.ones(10))
    >>> c.primal_calls, c.flops                 # sin: 10 flops, sum: 10
    (2, 20)
    >>> g = dt.count(dt.grad(lambda x: np.sum(np.sin(x))), np.ones(10))
    >>> g.derivative_calls > 0
    True
    """
    trace = CountTrace()
    wrapped = []
    for a in args:
        leaves, tree = flatten(a)
        for v in leaves:
            check_input(v, "count")
        leaves = [Counted(v if isinstance(v, Tracer) else np.asarray(v), trace)
                  if np.issubdtype(_dtype(v), np.inexact) else v for v in leaves]
        wrapped.append(unflatten(tree, leaves))

    def observe(size: int, tape: Any) -> None:
        c = trace.counts
        if size > c.tape_records:
            c.tape_records = size
            c.tape_bytes = sum(_record_bytes(r) for r in tape.records)

    def lift(x: Any) -> Any:
        # Seeds are constants, but the derivative work done on them is real work.
        if isinstance(x, Tracer) or not np.issubdtype(np.asarray(x).dtype, np.inexact):
            return x
        return Counted(np.asarray(x), trace)

    try:
        with observing(Observer(observe, lift)):
            out = fn(*wrapped)
    finally:
        trace.finish()
    leaves, tree = flatten(out)
    trace.counts.value = unflatten(tree, [value_of(v, trace.level) for v in leaves])
    return trace.counts


def _dtype(v: Any) -> Any:
    return v.dtype if isinstance(v, Tracer) else np.asarray(v).dtype


def _record_bytes(rec: Any) -> int:
    if rec is None or rec[0] is None:
        return 0
    _, primals, _, ans, _ = rec
    vals = list(primals) + list(ans if isinstance(ans, tuple) else (ans,))
    return sum(_record_nbytes(v) for v in vals)


def _record_nbytes(v: Any) -> int:
    # from the shape and dtype, never the value: a recording would guard a value read
    if isinstance(v, Tracer):
        return int(np.prod(v.shape, dtype=np.int64)) * np.dtype(v.dtype).itemsize
    return _nbytes(v) if isinstance(v, (np.ndarray, np.generic)) else 0
