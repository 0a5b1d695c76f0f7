"""The primitive registry and ``bind``, the one door every traced operation goes through.

A :class:`Primitive` keeps, side by side, the numpy implementation of an operation and
its derivative rules.  Every mode reads the same record through two uniform entry
points, ``prim.jvp`` and ``prim.vjp``; how those were built (local partials of an
elementwise map, per-argument rules, a transpose) is the primitive's business.

``bind(prim, *args, **params)`` looks at the arguments, finds the traced value with
the highest level (the innermost active mode), and hands the call to that value's
trace.  With no traced argument it runs numpy.  The registry knows no mode by name:
a mode is any :class:`Trace` subclass, and it takes part simply by creating traces
with fresh levels from :func:`new_level`.

Conventions every rule follows
------------------------------
* Zero is symbolic: a tangent or cotangent of ``None`` means "no dependence", and
  the work for it is skipped.
* Rules are batch-aware: a tangent (cotangent) may carry extra *leading* axes (k
  directions in vector mode, k adjoints in ``jacrev``).  Its trailing axes have the
  shape of the primal input (output).  Rules therefore use negative axes.
* Rules are written with dualtape's own operations, so they can be differentiated
  again (higher order) by whatever mode is active around them.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Sequence

__all__ = [
    "Primitive",
    "Trace",
    "Tracer",
    "bind",
    "lookup",
    "new_level",
    "primitives",
    "register",
    "state",
]


class Trace:
    """One active differentiation context.  Modes subclass it and implement ``process``.

    ``level`` orders nested contexts: a later (inner) context always has a higher level,
    so values of different contexts are never confused (perturbation confusion).
    """

    __slots__ = ("level",)
    mode = "trace"  # a mode's human name, used in error messages

    def __init__(self) -> None:
        self.level = new_level()

    def process(self, prim: "Primitive", args: tuple, params: dict) -> Any:
        raise NotImplementedError

    def unpack(self, prim: "Primitive", args: tuple, params: dict,
               field: str | None = None) -> tuple[Any, list, list]:
        """Apply ``prim`` to the values under this context's traced arguments.

        Returns ``(ans, primals, parts)``: the result (computed by numpy, or by an outer
        context when one of its values takes part), the argument values, and
        ``parts[i] = getattr(args[i], field)`` for this context's values (None for
        constants and outer values).  Every mode's ``process`` starts here.
        """
        level = self.level
        primals = list(args)
        parts: list = [None] * len(args)
        outer = False
        for i, a in enumerate(args):
            if isinstance(a, Tracer):
                if a._level == level:
                    p = primals[i] = a.primal
                    if field is not None:
                        parts[i] = getattr(a, field)
                    outer = outer or isinstance(p, Tracer)
                else:
                    outer = True
        ans = bind(prim, *primals, **params) if outer else prim.impl(*primals, **params)
        return ans, primals, parts


class Tracer:
    """Base class of every traced value; its value is in ``primal``.  Behaviour
    (operators, numpy hooks) is added by :mod:`dualtape.numpy`; modes subclass that."""

    __slots__ = ("_trace", "_level")


_levels = itertools.count(1)


def new_level() -> int:
    """A level higher than every level handed out so far."""
    return next(_levels)


class Primitive:
    """A registered operation: implementation and derivative rules in one record.

    Uniform entry points read by every mode:

    * ``jvp(tangents, ans, primals, params) -> tangent | None`` where ``tangents`` has one
      entry per argument, ``None`` for arguments without a tangent.
    * ``vjp(g, ans, primals, params, needed) -> tuple`` with one cotangent (or ``None``)
      per argument; only arguments with ``needed[i]`` true are computed.

    ``nondiff`` primitives (comparisons, ``sign``, ``floor``...) have derivative zero
    everywhere they are defined; modes return their plain numpy result, which is the
    symbolic zero.  ``multiple_results`` primitives return a tuple; their tangents and
    cotangents are tuples too.  ``residuals`` names what the VJP reads ("ans" and
    argument indices; None: everything): reverse mode keeps only those values alive
    and gives the rule the others' shapes and dtypes.
    """

    __slots__ = (
        "name", "impl", "jvp", "vjp", "nondiff", "multiple_results",
        "kind", "jvp_rules", "vjp_rules", "partials", "linear",
        "sparsity", "cost", "user", "batched", "residuals", "__weakref__",
    )

    def __init__(self, name: str, impl: Callable, *, nondiff: bool = False,
                 multiple_results: bool = False, kind: str = "array") -> None:
        self.name = name
        self.impl = impl
        self.nondiff = nondiff
        self.multiple_results = multiple_results
        self.kind = kind              # "elementwise" | "array" | "nondiff" | "user"
        self.jvp: Callable | None = None
        self.vjp: Callable | None = None
        self.jvp_rules: Sequence | None = None
        self.vjp_rules: Sequence | None = None
        self.partials: Sequence | None = None
        self.linear = False           # the vjp is the transpose of a linear map
        self.sparsity: Callable | None = None
        self.cost: Callable | None = None
        self.user = False             # defined with dt.defprimitive
        self.batched = True           # rules accept leading batch axes
        self.residuals: tuple | None = None

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"

    def __call__(self, *args: Any, **params: Any) -> Any:
        return bind(self, *args, **params)


class State:
    """Process-wide facts the modes keep up to date for observers such as the cost
    counter: ``rules`` > 0 while derivative rules run (as opposed to the primal
    computation; modes may skip this bookkeeping while ``observer`` is None),
    ``observer(tape_size, tape)`` is told of each reverse sweep, and
    ``lift`` (if set) is applied to every seed tangent or cotangent a mode creates."""

    __slots__ = ("rules", "observer", "lift")

    def __init__(self) -> None:
        self.rules = 0
        self.observer: Callable | None = None
        self.lift: Callable | None = None

    def seed(self, x: Any) -> Any:
        """A seed tangent/cotangent, as an observer wants to see it."""
        return x if self.lift is None else self.lift(x)

    def deriving(self) -> "_Deriving":
        """A context for derivative work outside rules (seeding, assembling Jacobians)."""
        return _Deriving(self)


class _Deriving:
    __slots__ = ("state",)

    def __init__(self, st: State) -> None:
        self.state = st

    def __enter__(self) -> None:
        self.state.rules += 1

    def __exit__(self, *exc: Any) -> None:
        self.state.rules -= 1


state = State()

_REGISTRY: dict[str, Primitive] = {}


def register(prim: Primitive) -> Primitive:
    """Add ``prim`` to the registry; names are unique."""
    if prim.name in _REGISTRY and _REGISTRY[prim.name] is not prim:
        raise ValueError(f"a primitive named {prim.name!r} is already registered")
    _REGISTRY[prim.name] = prim
    return prim


def lookup(name: str) -> Primitive:
    """The registered primitive called ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no primitive named {name!r} is registered") from None


def primitives() -> dict[str, Primitive]:
    """A snapshot of the registry, name -> Primitive."""
    return dict(_REGISTRY)


def bind(prim: Primitive, *args: Any, **params: Any) -> Any:
    """Apply ``prim`` to ``args``: numpy when nothing is traced, else the innermost mode."""
    top = None
    level = 0
    for a in args:
        if isinstance(a, Tracer) and a._level > level:
            top = a
            level = a._level
    if top is None:
        return prim.impl(*args, **params)
    return top._trace.process(prim, args, params)
