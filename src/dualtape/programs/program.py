"""``Program``: a recorded evaluation trace that replays at new inputs.

A program holds one or more *recordings* (immutable: instructions, guards, constants),
one per path through ``f`` seen so far.  ``prog(*args)`` checks the input signature
and replays the first recording whose guards all hold at the new input; when none
does, ``f`` is recorded again there (the new path is kept for next time) and the
result is that fresh evaluation's, so a replay is never silently wrong.  The set of
recordings only grows, under a lock; replay itself keeps its values in a local table,
so one program replays from several threads at once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .._api import flatten, unflatten
from ..registry import Tracer, bind
from .passes import Plan, plan
from .compile import GuardFailed as GuardFailed_
from .recording import Guard, Instr, _dtype, trace_function

__all__ = ["GuardError", "Program", "ProgramStats", "Recording", "record", "recorded"]


class GuardError(RuntimeError):
    """A replay's input would take another path than the recording (``on_guard="raise"``)."""


class _Failed(Exception):
    """A guard did not hold during a replay (its description is the message)."""


@dataclass(frozen=True)
class ProgramStats:
    """How a program's calls went: ``replays`` (a recording's guards held),
    ``rerecords`` (none did, so ``f`` ran again), ``guard_failures`` (recordings tried
    and left at a failed guard), ``recordings`` (paths kept)."""

    replays: int
    rerecords: int
    guard_failures: int
    recordings: int


class Recording:
    """One path through ``f``: the value table, instructions and guards, immutable.

    Slots ``in_slots`` are the inputs, ``consts`` maps constant slots to values,
    ``steps`` is the list of :class:`Instr` and :class:`Guard` in the order they ran,
    ``avals[s]`` the (shape, dtype) of slot s.
    """

    def __init__(self, parts: dict) -> None:
        trace = parts["trace"]
        self.nslots = len(trace.values)
        self.kinds = tuple(trace.kinds)
        self.avals = tuple((np.shape(v), _dtype(v)) for v in trace.values)
        self.consts = {s: v for s, (v, k) in enumerate(zip(trace.values, trace.kinds))
                       if k == "const"}
        self.steps = tuple(trace.steps)
        self.seeds = tuple(trace.seeds)
        self.example = {s: trace.values[s] for s in parts["in_slots"]}
        self.in_slots = parts["in_slots"]
        self.in_tree = parts["in_tree"]
        self.in_sig = parts["in_sig"]
        self.statics = parts["statics"]
        self.out_tree = parts["out_tree"]
        self.out_refs = parts["out_refs"]
        self.has_kwargs = parts["has_kwargs"]
        # the values seen while recording, for the result of the call that recorded
        # (copies of what the program keeps: constants, the example inputs)
        self._first = [(trace.values[r[1]] if trace.kinds[r[1]] == "result" else
                        _fresh(trace.values[r[1]])) if r[0] == "slot" else _fresh(r[1])
                       for r in self.out_refs]
        self.plan: Plan = plan(self)
        self._traced: tuple | None = None
        self._fast: Callable | None = None
        self._lock = threading.Lock()

    @property
    def instructions(self) -> tuple:
        return tuple(s for s in self.steps if isinstance(s, Instr))

    def _input_value(self, s: int) -> Any:
        return self.example[s]

    @property
    def guards(self) -> tuple:
        return tuple(s for s in self.steps if isinstance(s, Guard))

    def matches(self, leaves: list) -> bool:
        """Whether ``leaves`` have this recording's signature (shapes, dtypes, statics)."""
        if len(leaves) != len(self.statics):
            return False
        k = 0
        for v, st in zip(leaves, self.statics):
            if st is None:
                if isinstance(v, (bool, str)) or v is None:
                    return False
                shape, dtype = self.in_sig[k]
                k += 1
                if np.shape(v) != shape or _dtype(v) != dtype:
                    return False
            elif not (v is st or (type(v) is type(st) and _eq(v, st))):
                return False
        return True

    def run(self, leaves: list) -> list:
        """Replay at the input leaves (signature already checked); raises _Failed.

        Plain inputs run the plan as straight-line Python (generated once, on first
        use); traced inputs (a replay under a transform) step through the plan with
        ``bind``, so the transform sees every primitive."""
        xs = [v for v, st in zip(leaves, self.statics) if st is None]
        if any(isinstance(v, Tracer) for v in xs):
            return self._interpret(xs, self._traced_steps())
        fast = self._fast or self._build()
        try:
            out = fast(*[v if type(v) is np.ndarray else np.asarray(v) for v in xs])
        except GuardFailed_ as e:
            raise _Failed(str(e)) from None
        return [out] if len(self.out_refs) == 1 else list(out)

    def _build(self) -> Callable:
        from .compile import compile_plan
        with self._lock:
            if self._fast is None:
                self._fast = compile_plan(self, None)
        return self._fast

    def _interpret(self, xs: list, steps: tuple) -> list:
        env = list(self.plan.env0)
        for s, v in zip(self.in_slots, xs):
            env[s] = v
        for fn, ai, kw, o, free in steps:
            env[o] = fn(*[env[i] for i in ai], **kw)
            for i in free:
                env[i] = None
        return [env[r[1]] if r[0] == "slot" else _fresh(r[1]) for r in self.plan.out_refs]

    def _traced_steps(self) -> tuple:
        # under a transform (grad of a replay, a count): the same plan through bind
        if self._traced is None:
            steps = []
            for (fn, ai, kw, o, free), src in zip(self.plan.steps, self.plan.sources):
                if isinstance(src, Instr):
                    fn = _binder(src.prim)
                steps.append((fn, ai, kw, o, free))
            self._traced = tuple(steps)
        return self._traced


def _fresh(v: Any) -> Any:
    # a constant output handed out as a copy: the caller may write into it
    return v.copy() if isinstance(v, np.ndarray) else v


def _binder(prim: Any) -> Callable:
    def call(*args: Any, **params: Any) -> Any:
        return bind(prim, *args, **params)
    return call


def _eq(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:
        return False


class Program:
    """A function recorded as its evaluation trace; call it to replay.

    ``prog(*args)`` takes arguments structured like the example's (arrays of the same
    shapes and dtypes: otherwise, or when a guard fails, ``f`` is recorded again, or
    :class:`GuardError` is raised with ``on_guard="raise"``) and returns what ``f``
    would.  ``print(prog)``, :meth:`table`, :meth:`source` and :meth:`graph` show the
    first recording.
    """

    def __init__(self, f: Callable, first: Recording, *, on_guard: str = "rerecord",
                 max_recordings: int = 8) -> None:
        if on_guard not in ("rerecord", "raise"):
            raise ValueError(f"dt.record: on_guard must be 'rerecord' or 'raise', "
                             f"not {on_guard!r}")
        self._f = f
        self._recs: tuple = (first,)
        self._lock = threading.Lock()
        self._counts = [0, 0, 0]
        self._on_guard = on_guard
        self._max = max_recordings
        self.__wrapped__ = f

    @property
    def on_guard(self) -> str:
        """"rerecord" or "raise": what a call does on an input no recording fits."""
        return self._on_guard

    # ---- replay -----------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        leaves, tree = flatten(args + (kwargs,) if kwargs else args)
        failures = 0
        last = None
        for rec in self._recs:
            if tree != rec.in_tree or not rec.matches(leaves):
                failures += 1
                last = "the input signature (shapes, dtypes, structure) differs"
                continue
            try:
                out = rec.run(leaves)
            except _Failed as e:
                failures += 1
                last = str(e)
                continue
            self._count(0, failures)
            return unflatten(rec.out_tree, out)
        if self._on_guard == "raise":
            self._count(None, failures)
            raise GuardError(
                f"dt.record: this input takes another path through "
                f"{getattr(self._f, '__name__', 'f')} than any recording ({last}); "
                f"call with on_guard='rerecord' to record the new path")
        rec = Recording(trace_function(self._f, args, kwargs))
        with self._lock:
            recs = self._recs + (rec,)
            # the first recording stays (it is what the program shows)
            self._recs = recs if len(recs) <= self._max else recs[:1] + recs[2:]
        self._count(1, failures)
        return unflatten(rec.out_tree, rec._first)

    def _count(self, which: int | None, failures: int) -> None:
        with self._lock:
            if which is not None:
                self._counts[which] += 1
            self._counts[2] += failures

    @property
    def stats(self) -> ProgramStats:
        with self._lock:
            r, rr, gf = self._counts
            return ProgramStats(r, rr, gf, len(self._recs))

    @property
    def recordings(self) -> tuple:
        """Every path recorded so far, the first one first."""
        return self._recs

    @property
    def recording(self) -> Recording:
        return self._recs[0]

    @property
    def instructions(self) -> tuple:
        return self.recording.instructions

    @property
    def guards(self) -> tuple:
        return self.recording.guards

    def memory(self) -> dict:
        """Peak bytes of the values alive during a replay: ``peak`` with each
        intermediate released at its last use, ``kept`` with every value kept to the end
        (what a tape does), and ``inputs`` (the arguments themselves)."""
        return self.recording.plan.memory()

    # ---- showing (see show.py) --------------------------------------------------------
    def __str__(self) -> str:
        from .show import trace_text
        return trace_text(self.recording)

    def __repr__(self) -> str:
        rec = self.recording
        return (f"<Program {getattr(self._f, '__name__', 'f')}: {len(rec.instructions)} "
                f"instructions, {len(rec.guards)} guards, {len(self._recs)} recording(s)>")

    def table(self, *args: Any, tangents: Any = None, cotangents: Any = None) -> str:
        """The evaluation trace at ``args`` as text tables: the forward primal trace,
        with the tangent trace beside it when ``tangents`` (one per input leaf) is
        given, and the reverse adjoint trace when ``cotangents`` (one per output leaf)
        is given.  ``args`` default to the recorded example."""
        from .show import table
        return table(self, args, tangents, cotangents)

    def source(self, optimized: bool = False) -> str:
        """Runnable Python of the program: ``def program(x1, x2, ...): ... return ...``.

        With ``optimized`` the replay plan (after the passes) is shown instead of the
        trace as recorded.  For a recorded derivative it is the forward sweep followed by
        the adjoint sweep."""
        from .compile import source
        return source(self.recording, optimized)

    def graph(self, *args: Any, tangents: Any = None, cotangents: Any = None,
              render: str | None = None) -> str:
        """The computational graph as graphviz DOT source; edges carry values (and
        tangents / adjoints when given).  ``render="out.png"`` (or .svg) also writes a
        picture when the ``dot`` program is installed."""
        from .show import graph
        return graph(self, args, tangents, cotangents, render)

    def compile(self, backend: str = "auto") -> Callable:
        """A compiled replay of the first recording: ``"python"`` (straight-line code),
        ``"numba"`` (fused elementwise kernels), or ``"auto"`` (numba when installed).
        Guards are checked as in replay; on a failed one the call falls back to
        ``self(*args)``."""
        from .compile import compile_program
        return compile_program(self, backend)


def record(f: Callable, *args: Any, on_guard: str = "rerecord", max_recordings: int = 8,
           **kwargs: Any) -> Program:
    """Record ``f(*args, **kwargs)`` once as a :class:`Program`.

    ``f`` may be any function of arrays, including a derivative: ``dt.record(dt.grad(f),
    x)`` records the forward and adjoint sweeps.  Every array or number among ``args``
    (also inside lists, tuples, dicts) is an input; the program takes arguments of the
    same structure, shapes and dtypes.

    What a program holds fixed: arrays ``f`` reads that are not arguments (closures,
    globals) are constants, copied when recorded, so pass what changes as an argument;
    random numbers drawn while recording are constants too.  A value Python reads
    whole (``.primal``) is guarded by its every element (``numpy.asarray`` of a traced
    value raises, as in every mode), which is right but makes the program record again
    whenever it changes.

    Parameters
    ----------
    f : callable
        The function to record.
    *args : array_like or pytree
        The inputs it is recorded at.
    on_guard : {"rerecord", "raise"}, default "rerecord"
        What a call does when its input would take another path: record it and return
        the right result, or raise :class:`GuardError`.
    max_recordings : int, default 8
        How many paths a program keeps.
    **kwargs
        Passed to ``f`` (constants of the program).

    Returns
    -------
    prog : Program
        ``prog(*args)`` replays at new inputs; ``prog.table(...)``, ``prog.graph(...)``,
        ``prog.source()`` and ``print(prog)`` show the evaluation trace.

    Examples
    --------
    >>> prog = dt.record(lambda x: np.sin(x) * x, np.array([1.0, 2.0]))
    >>> prog(np.array([0.0, np.pi / 2]))           # replayed, f's Python not run
    array([0.    , 1.5708])
    >>> print(prog)                                 # the evaluation trace
    v₀ = x₁  : float64[2]
    v₁ = sin v₀  : float64[2]
    v₂ = v₁ × v₀  : float64[2]
    y = v₂
    """
    rec = Recording(trace_function(f, args, kwargs))
    return Program(f, rec, on_guard=on_guard, max_recordings=max_recordings)


class recorded:
    """``recorded(fn)``: ``fn`` recorded at its first call and replayed afterwards.

    One program per input signature (structure, shapes, dtypes), so a call with new
    shapes records a new program instead of failing a guard.  Compose it with any
    transform: ``recorded(dt.grad(f))``, ``recorded(lambda x, v: dt.hvp(f, x, v))``.

    Parameters
    ----------
    fn : callable
        The function to record, often a derivative.
    on_guard : {"rerecord", "raise"}, default "rerecord"
        As for :func:`dualtape.record`.
    max_recordings : int, default 8
        As for :func:`dualtape.record`, per program.

    Examples
    --------
    >>> g = dt.recorded(dt.grad(lambda x: np.sum(np.sin(x) ** 2)))
    >>> g(np.zeros(3))                                 # recorded
    array([0., 0., 0.])
    >>> np.allclose(g(np.ones(3)), np.sin(2.0))        # replayed: sin(2x)
    True
    """

    def __init__(self, fn: Callable, *, on_guard: str = "rerecord",
                 max_recordings: int = 8) -> None:
        self.fn = fn
        self.on_guard = on_guard
        self.max_recordings = max_recordings
        self._programs: dict = {}
        self._lock = threading.Lock()
        self.__wrapped__ = fn
        self.__name__ = getattr(fn, "__name__", "recorded")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        key = _signature(args, kwargs)
        prog = self._programs.get(key)
        if prog is not None:
            return prog(*args, **kwargs)
        prog = record(self.fn, *args, on_guard=self.on_guard,
                      max_recordings=self.max_recordings, **kwargs)
        with self._lock:
            self._programs.setdefault(key, prog)
        return unflatten(prog.recording.out_tree, prog.recording._first)

    @property
    def programs(self) -> dict:
        """signature -> Program, one per input signature seen."""
        return dict(self._programs)


def _signature(args: tuple, kwargs: dict) -> tuple:
    leaves, tree = flatten(args + (kwargs,) if kwargs else args)
    sig: list[tuple[Any, str]] = []
    for v in leaves:
        if isinstance(v, (np.ndarray, np.generic, int, float, complex)) and \
                not isinstance(v, bool):
            sig.append((np.shape(v), str(_dtype(v))))
        else:
            sig.append((type(v).__name__, repr(v)))
    return (repr(tree), tuple(sig))
