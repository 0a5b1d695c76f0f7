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
import threading
import weakref
from contextlib import contextmanager
from contextvars import ContextVar
from typing import (TYPE_CHECKING, Any, Callable, Generic, Iterator, ParamSpec, Protocol,
                    Sequence, TypeVar, cast)


__all__ = [
    "EscapedTracerError",
    "Observer",
    "Op",
    "Primitive",
    "Trace",
    "Tracer",
    "bind",
    "deriving",
    "exports",
    "guarded",
    "in_rules",
    "lookup",
    "new_level",
    "observer",
    "observing",
    "primitives",
    "register",
    "seed",
    "value_of",
]


class Trace:
    """One active differentiation context.  Modes subclass it and implement ``process``.

    ``level`` orders nested contexts: a later (inner) context always has a higher level,
    so values of different contexts are never confused (perturbation confusion).
    """

    __slots__ = ("level", "finished")
    mode = "trace"  # a mode's human name, used in error messages

    def __init__(self) -> None:
        self.level = new_level()
        self.finished = False

    def finish(self) -> None:
        """Close the context: its transform has returned, so a traced value of it that
        escaped (into a global, a closure, a list) must not take part in new work."""
        self.finished = True

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
        if self.finished:
            raise _escaped(self, prim)
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


class EscapedTracerError(RuntimeError):
    """A traced value was used after the derivative that made it had finished."""


def _escaped(trace: Trace, prim: "Primitive") -> EscapedTracerError:
    return EscapedTracerError(
        f"{prim.name}: a traced value of a {trace.mode}-mode context that has already "
        f"finished (level {trace.level}) was used in a new operation. It escaped the "
        f"function being differentiated (kept in a global, a closure or a container), "
        f"so its derivative can no longer be recorded. Return it from the function "
        f"instead, or read its value with `.primal` on purpose.")


class Tracer:
    """Base class of every traced value; its value is in ``primal``.  Behaviour
    (operators, numpy hooks) is added by :mod:`dualtape.numpy`; modes subclass that."""

    __slots__ = ("_trace", "_level")
    _trace: Trace      # the mode's context that made it
    _level: int        # that trace's level
    if TYPE_CHECKING:
        # Every concrete traced value has these (a slot or a property of its class).
        primal: Any
        shape: tuple[int, ...]
        ndim: int
        size: int
        dtype: Any               # a numpy dtype (the registry imports no numpy)


# The one process-wide object: a monotone counter.  It holds no context, only makes
# levels unique; the lock keeps it so on interpreters without a global lock.
_levels = itertools.count(1)
_levels_lock = threading.Lock()


def new_level() -> int:
    """A level higher than every level handed out so far (safe under threads)."""
    with _levels_lock:
        return next(_levels)


class Primitive:
    """A registered operation: its implementation and every rule about it, in one record.

    Each rule is a callable attribute; modes and interpreters call them and never ask
    what the primitive is.

    * ``jvp(tangents, ans, primals, params) -> tangent | None`` where ``tangents`` has one
      entry per argument, ``None`` for arguments without a tangent.
    * ``vjp(g, ans, primals, params, needed) -> tuple`` with one cotangent (or ``None``)
      per argument; only arguments with ``needed[i]`` true are computed.
    * ``sparsity(pats, ans, primals, params, local) -> pattern`` (a tuple of patterns for
      ``multiple_results``): the structure rule, see :mod:`dualtape.sparsity`.  None:
      every output element may depend on every input element (conservative).
    * ``cost(ans, args, params) -> int``: flops of one application with plain-value
      ``args``; ``cost.describe`` states the formula in words.  None: one flop per output
      element, an estimate (user primitives).
    * ``residuals``: what the VJP reads ("ans" and argument indices; None: everything):
      reverse mode keeps only those values alive and gives the rule the others' shapes
      and dtypes.
    * ``partials`` (elementwise primitives): the local partial of each argument, from
      which jvp, vjp and the local structure rule are built.

    Replay rules (what the passes and the compiled back end of a recorded program read;
    any primitive may carry them, user primitives included):

    * ``scalar``: the value at one element, as a Python expression over ``{0}``, ``{1}``,
      ... (e.g. ``"np.sin({0})"``) or a function of scalars that numba can compile.  It
      also says that each element of the result depends only on the same element (in
      flat order) of each argument, or on a one-element argument, so chains of such
      primitives fuse into one loop.  None: not fusable.
    * ``simplify(known, params) -> int | tuple | None``: given the constant arguments
      (``known``: argument index -> value), the index of an argument the result equals
      exactly whatever the others are (x * 1, x - 0: used when its shape and dtype are
      the result's), or a 1-tuple holding one value every element of the result takes.
    * ``signed_sum``: the result is exactly the sum of the arguments with these signs
      (``(1, 1)`` add, ``(1, -1)`` subtract, ``(-1,)`` negative), in IEEE arithmetic.
    * ``odd``: negating any one real floating-point argument negates the result exactly
      (multiply, divide).
    * ``pair_sum(params_a, params_b) -> (primitive, params) | None``: one step computing
      ``self(a, **params_a) + self(b, **params_b)`` from ``a, b`` (two scatters into
      zeros as one scatter-add), or None where it cannot.

    ``nondiff`` primitives (comparisons, ``sign``, ``floor``...) have derivative zero
    everywhere they are defined; modes return their plain numpy result, which is the
    symbolic zero.  ``multiple_results`` primitives return a tuple; their tangents and
    cotangents are tuples too.  ``kind`` ("elementwise", "array", "nondiff", "user") and
    ``user`` are for reports.
    """

    __slots__ = (
        "name", "impl", "jvp", "vjp", "nondiff", "multiple_results", "kind", "partials",
        "sparsity", "cost", "user", "residuals", "scalar", "simplify", "signed_sum", "odd",
        "pair_sum", "__weakref__",
    )

    def __init__(self, name: str, impl: Callable, *, nondiff: bool = False,
                 multiple_results: bool = False, kind: str = "array") -> None:
        self.name = name
        self.impl = impl
        self.nondiff = nondiff
        self.multiple_results = multiple_results
        self.kind = kind
        self.jvp: Callable | None = None
        self.vjp: Callable | None = None
        self.partials: Sequence | None = None
        self.sparsity: Callable | None = None
        self.cost: Callable | None = None
        self.user = False             # defined with dt.defprimitive
        self.residuals: tuple | None = None
        self.scalar: str | Callable | None = None
        self.simplify: Callable | None = None
        self.signed_sum: tuple | None = None
        self.odd = False
        self.pair_sum: Callable | None = None

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"

    def __call__(self, *args: Any, **params: Any) -> Any:
        return bind(self, *args, **params)


_P = ParamSpec("_P")
_R = TypeVar("_R", covariant=True)


class Op(Protocol, Generic[_P, _R]):
    """The plain function of a primitive, ``op(*args) -> bind(primitive, *args)``, with
    its record in ``primitive`` (so callers may bind it directly)."""

    primitive: Primitive
    __name__: str

    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _R: ...


def exports(prim: Primitive) -> Callable[[Callable[_P, _R]], Op[_P, _R]]:
    """Decorator: ``fn`` is the plain function of ``prim`` (its signature is kept)."""
    def mark(fn: Callable[_P, _R]) -> Op[_P, _R]:
        setattr(fn, "primitive", prim)   # noqa: B010 (a function attribute, typed by Op)
        return cast("Op[_P, _R]", fn)
    return mark


def value_of(x: Any, level: int = 0, *, structural: bool = True) -> Any:
    """The plain value under ``x``: every traced layer of level >= ``level`` removed
    (``level=0``: all of them); anything that is not traced is returned as it is.

    A traced value may refuse to give up its value: during global sparsity detection a
    pattern that read a value would hold at that point only, so those values raise
    (through their class's ``_check_read``).  ``structural=False`` is the caller's
    promise that the value cannot change which outputs depend on which inputs (a shift
    chosen for numerical stability, an error check), so it is read regardless.
    """
    while isinstance(x, Tracer) and x._level >= level:
        if structural:
            check = getattr(type(x), "_check_read", None)
            if check is not None:
                check(x)
        x = x.primal
    return x


class Observer:
    """What an observer of derivative work (the cost counter) installs for one context:
    ``tape(size, tape)`` is told of each reverse sweep, and ``lift(x)`` is applied to
    every seed tangent or cotangent a mode creates (seeds are constants, but the work
    done on them is derivative work worth seeing)."""

    __slots__ = ("tape", "lift")

    def __init__(self, tape: Callable, lift: Callable) -> None:
        self.tape = tape
        self.lift = lift


# Everything a mode or the counter keeps while it runs is context-local: each thread
# (and each asyncio task) sees only what its own calls installed.  Nothing here is
# process-wide; the defaults are what a fresh thread sees.
_observer: ContextVar[Observer | None] = ContextVar("dualtape_observer", default=None)
_rules: ContextVar[int] = ContextVar("dualtape_rules", default=0)
_guarded: ContextVar[bool] = ContextVar("dualtape_guarded", default=False)


#: ``observer()``: the observer of this context (None unless a counter runs here).  The
#: bound ``get`` itself, since forward mode asks once per operation.
observer = _observer.get


@contextmanager
def observing(obs: Observer | None) -> Iterator[None]:
    """Install ``obs`` as this context's observer while the block runs."""
    token = _observer.set(obs)
    try:
        yield
    finally:
        _observer.reset(token)


def seed(x: Any) -> Any:
    """A seed tangent/cotangent, as this context's observer wants to see it."""
    obs = _observer.get()
    return x if obs is None else obs.lift(x)


def in_rules() -> bool:
    """Whether derivative rules (not the primal computation) are running here."""
    return _rules.get() > 0


@contextmanager
def deriving() -> Iterator[None]:
    """Mark the block as derivative work (rules, seeding, assembling Jacobians)."""
    token = _rules.set(_rules.get() + 1)
    try:
        yield
    finally:
        _rules.reset(token)


#: ``guarded()``: whether rules must treat a zero cotangent as an exact zero even against
#: an infinite or NaN partial (set for the repeat of a sweep whose result was not
#: finite).  The bound ``get``: elementwise rules ask once per application.
guarded = _guarded.get


@contextmanager
def guarding() -> Iterator[None]:
    token = _guarded.set(True)
    try:
        yield
    finally:
        _guarded.reset(token)


# Built-in primitives are found by name (for reports and the rule tables); names are
# unique among them.  User primitives are objects: two may share a name, with each
# other or with a built-in, and re-running a definition makes a new one.
_BUILTIN: dict[str, Primitive] = {}
_USER: "weakref.WeakSet[Primitive]" = weakref.WeakSet()


def register(prim: Primitive, builtin: bool = True) -> Primitive:
    """Add ``prim`` to the registry.  Built-in names are unique; user primitives
    (``builtin=False``) are kept only while something refers to them, and their names
    may repeat."""
    if not builtin:
        _USER.add(prim)
        return prim
    if prim.name in _BUILTIN and _BUILTIN[prim.name] is not prim:
        raise ValueError(f"a built-in primitive named {prim.name!r} is already registered")
    _BUILTIN[prim.name] = prim
    return prim


def lookup(name: str) -> Primitive:
    """The built-in primitive called ``name`` (for reports: user primitives are reached
    through the function ``defprimitive`` returned, not by name)."""
    try:
        return _BUILTIN[name]
    except KeyError:
        raise KeyError(f"no built-in primitive named {name!r} is registered") from None


def primitives(user: bool = False) -> dict[str, Primitive]:
    """A snapshot of the built-in primitives, name -> Primitive; with ``user=True`` the
    live user primitives too, a repeated name suffixed with ``#k``."""
    out = dict(_BUILTIN)
    if user:
        for p in sorted(_USER, key=id):
            key, k = p.name, 1
            while key in out:
                k += 1
                key = f"{p.name}#{k}"
            out[key] = p
    return out


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
