"""Recording: one more interpreter over the registry, at the outermost level.

``record`` wraps the inputs in :class:`Recorded` values of a :class:`RecordTrace`.
Every primitive application that touches them -- in ``f`` itself, or inside the
derivative rules of any mode nested within (rules are written in dualtape's own
operations) -- reaches this trace's ``process``, which runs numpy and appends one
instruction.  Recording ``dt.grad(f)`` therefore captures the forward sweep and the
adjoint equations as instructions, with no code per rule.

Whatever the trace lets Python *decide* from a recorded value becomes a guard with its
outcome: ``bool`` (an ``if``), ``int``/``index`` (a trip count, an index), a
finiteness check, and, for any other read of the concrete value (``.primal``,
positions such as argmax), the value itself.  ``numpy.asarray`` of a recorded value
raises, as in every mode: it would drop the derivative.  Replay checks each
guard where it was taken, so a program is never silently replayed down a path the
new input would not take.
"""

from __future__ import annotations

import operator
import os
import sys
from dataclasses import dataclass
from types import FrameType
from typing import Any, Callable

import numpy as np

from .. import registry
from .._api import flatten, unflatten
from ..numpy import TracedArray
from ..registry import Observer, Trace, Tracer, in_rules, observing

__all__ = ["Guard", "Instr", "RecordTrace", "Recorded", "RecordingError", "trace_function"]

_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class RecordingError(TypeError):
    """``f`` did something a program cannot capture (named in the message)."""


@dataclass(frozen=True)
class Instr:
    """One primitive application: ``outs = prim(*args, **params)``.

    ``args[i]`` is a slot (int) of the program's value table; ``outs`` are the slots
    written (one, or one per result of a multiple-result primitive); ``derivative`` says
    whether it ran inside a derivative rule (the adjoint or tangent sweep) or in ``f``.
    """

    prim: Any
    args: tuple
    params: dict
    outs: tuple
    derivative: bool


@dataclass(frozen=True)
class Guard:
    """A value-dependent decision: ``kind`` of slot ``slot`` had outcome ``outcome``.

    kinds: ``bool`` (truth value), ``int`` (``int()``/``operator.index``), ``float``
    (``float()``), ``finite`` (every number finite), ``value`` (the whole value was
    read: shape, dtype and every element must be the same).  ``where`` is the file and
    line of user code that made the decision.
    """

    kind: str
    slot: int
    outcome: Any
    where: str

    def holds(self, x: Any) -> bool:
        """Whether the decision comes out the same for the value ``x``."""
        x = _concrete(x)
        kind = self.kind
        if kind == "bool":
            return bool(x) == self.outcome
        if kind == "int":
            return operator.index(x) == self.outcome if _is_int(x) else int(x) == self.outcome
        if kind == "float":
            return _same(float(x), self.outcome)
        if kind == "finite":
            return _finite(x) == self.outcome
        return _same_value(x, self.outcome)

    def describe(self, name: str | None = None) -> str:
        what = {"bool": "truth value", "int": "integer value", "float": "float value",
                "finite": "finiteness", "value": "value"}[self.kind]
        out = self.outcome if self.kind != "value" else _short(self.outcome)
        return f"{what} of {name or f'slot {self.slot}'} was {out} at {self.where}"


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) or (
        isinstance(x, np.ndarray) and x.dtype.kind in "iub")


def _short(v: Any) -> str:
    a = np.asarray(v)
    return f"{a.dtype}{list(a.shape)}" if a.size > 4 else repr(a.tolist())


def _same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)


def _finite(x: Any) -> bool:
    a = np.asarray(x)
    return bool(np.isfinite(a).all()) if a.dtype.kind in "fc" else True


def _same_value(x: Any, want: Any) -> bool:
    a, b = np.asarray(x), np.asarray(want)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind in "fc":
        return bool(((a == b) | (np.isnan(a) & np.isnan(b))).all())
    return bool((a == b).all())


def _concrete(x: Any) -> Any:
    # a traced value during a traced replay: decisions are about its value, and an outer
    # recording sees this read as a guard of its own
    while isinstance(x, Tracer):
        x = x.primal
    return x


def _user_frame() -> str:
    """``file:line`` of the innermost caller outside dualtape (who made the decision)."""
    f: FrameType | None = sys._getframe(2)
    while f is not None and f.f_code.co_filename.startswith(_PKG):
        f = f.f_back
    if f is None:
        return "?"
    return f"{os.path.basename(f.f_code.co_filename)}:{f.f_lineno}"


class RecordTrace(Trace):
    """The recording context: a value table (inputs, constants, results) and the list
    of instructions and guards appended in the order they ran."""

    __slots__ = ("values", "kinds", "steps", "const_ids", "seeds")
    mode = "record"

    def __init__(self) -> None:
        super().__init__()
        self.values: list = []       # slot -> the value seen while recording
        self.kinds: list = []        # slot -> "input" | "const" | "result"
        self.steps: list = []        # Instr and Guard, in order
        self.const_ids: dict = {}    # id(python object) -> slot, for repeated constants
        self.seeds: list = []        # constant slots that are seeds a mode created

    def new_slot(self, value: Any, kind: str) -> int:
        self.values.append(value)
        self.kinds.append(kind)
        return len(self.values) - 1

    def constant(self, value: Any) -> int:
        if isinstance(value, Tracer):
            raise RecordingError(
                f"a traced value of a {value._trace.mode}-mode context from outside the "
                f"recording reached it; dt.record must be the outermost transform "
                f"(record dt.grad(f), not the other way round)")
        key = id(value)
        slot = self.const_ids.get(key)
        if slot is not None and self.values[slot] is value:
            return slot
        if type(value) is np.ndarray:
            value = value.copy()     # the caller may write into theirs later
        slot = self.new_slot(value, "const")
        self.const_ids[key] = slot
        return slot

    def process(self, prim, args, params):
        if self.finished:
            raise registry._escaped(self, prim)
        level = self.level
        slots = []
        vals = []
        for a in args:
            if isinstance(a, Recorded) and a._level == level:
                slots.append(a.slot)
                vals.append(a.val)
            else:
                s = self.constant(a)
                slots.append(s)
                vals.append(self.values[s])
        for v in params.values():
            if _has_tracer(v):
                raise RecordingError(
                    f"{prim.name}: a traced value inside the parameters of a primitive "
                    f"(an index or option computed from the input) cannot be recorded")
        ans = prim.impl(*vals, **params)
        if prim.multiple_results:
            outs = tuple(self.new_slot(a, "result") for a in ans)
            res: Any = tuple(Recorded(a, self, s) for a, s in zip(ans, outs))
        else:
            outs = (self.new_slot(ans, "result"),)
            res = Recorded(ans, self, outs[0])
        self.steps.append(Instr(prim, tuple(slots), dict(params), outs, in_rules()))
        return res

    def guard(self, x: "Recorded", kind: str, outcome: Any) -> Any:
        if self.finished:
            raise RecordingError(
                "a recorded value was read after its recording finished (it escaped "
                "f); return it from f instead")
        self.steps.append(Guard(kind, x.slot, outcome, _user_frame()))
        return outcome


def _has_tracer(v: Any) -> bool:
    if isinstance(v, Tracer):
        return True
    if isinstance(v, (tuple, list)):
        return any(_has_tracer(e) for e in v)
    return False


class Recorded(TracedArray):
    """A value of a recording: ``slot`` names it in the program's value table.

    Its shape and dtype are free to read (they are fixed by the input's); reading the
    value itself records a guard, so the program knows what it decided from it.
    """

    __slots__ = ("val", "slot")
    _trace: RecordTrace

    def __init__(self, val: Any, trace: RecordTrace, slot: int) -> None:
        self._trace = trace
        self._level = trace.level
        self.val = val
        self.slot = slot

    shape = property(lambda self: np.shape(self.val))
    ndim = property(lambda self: np.ndim(self.val))
    size = property(lambda self: int(np.size(self.val)))
    dtype = property(lambda self: _dtype(self.val))

    @property
    def primal(self) -> Any:
        return self._trace.guard(self, "value", self.val)

    def __bool__(self) -> bool:
        return self._trace.guard(self, "bool", bool(self.val))

    def __int__(self) -> int:
        return self._trace.guard(self, "int", int(self.val))

    def __index__(self) -> int:
        return self._trace.guard(self, "int", operator.index(self.val))

    def __float__(self) -> float:
        return self._trace.guard(self, "float", float(self.val))

    def __complex__(self) -> complex:
        return complex(self.primal)

    def _index_value(self) -> Any:
        if self.dtype.kind not in "biu":
            raise TypeError("indexing with a traced float value is not supported; index "
                            "with integers, slices, boolean masks or integer arrays")
        if self.ndim == 0 and self.dtype.kind in "iu":
            return self.__index__()       # one position: an integer guard
        return self.primal

    def _all_finite(self) -> bool:
        return self._trace.guard(self, "finite", _finite(self.val))

    def __repr__(self) -> str:
        return f"Recorded(v{self.slot}: {_dtype(self.val)}{list(np.shape(self.val))})"


def _dtype(v: Any) -> Any:
    return v.dtype if hasattr(v, "dtype") else np.result_type(v)


def _is_input_leaf(v: Any) -> bool:
    return isinstance(v, (np.ndarray, np.generic, int, float, complex)) and \
        not isinstance(v, bool)


def trace_function(f: Callable, args: tuple, kwargs: dict) -> dict:
    """Run ``f(*args, **kwargs)`` under a fresh recording; return its raw parts.

    Every array or number leaf of ``args`` (inside tuples, lists, dicts) is an input;
    other leaves (strings, None, booleans) are static and part of the signature.
    """
    if kwargs:
        args = args + (kwargs,)
    leaves, tree = flatten(args)
    trace = RecordTrace()
    wrapped: list = []
    statics: list = []
    in_slots: list = []
    for i, v in enumerate(leaves):
        if isinstance(v, Tracer):
            raise RecordingError(
                f"dt.record: argument leaf {i} is a traced value of a {v._trace.mode}-mode "
                f"context; record must be the outermost transform (record dt.grad(f) "
                f"rather than differentiating a recording)")
        if _is_input_leaf(v):
            a = np.array(v)           # a copy: the caller may reuse their buffer
            s = trace.new_slot(a, "input")
            wrapped.append(Recorded(a, trace, s))
            in_slots.append(s)
            statics.append(None)
        else:
            wrapped.append(v)
            statics.append(v)

    def lift(x: Any) -> Any:
        # seeds (ones, unit vectors) become named constants, so the adjoint sweep of a
        # recorded derivative starts from a visible v̄ = 1 rather than a folded literal
        if isinstance(x, Tracer) or trace.finished:
            return x
        s = trace.constant(np.asarray(x))
        trace.seeds.append(s)
        return Recorded(trace.values[s], trace, s)

    new = unflatten(tree, wrapped)
    if kwargs:
        call_args, call_kwargs = tuple(new[:-1]), new[-1]
    else:
        call_args, call_kwargs = tuple(new), {}
    try:
        with observing(Observer(lambda size, tape: None, lift)):
            out = f(*call_args, **call_kwargs)
    finally:
        trace.finish()
    out_leaves, out_tree = flatten(out)
    out_refs = []
    for v in out_leaves:
        if isinstance(v, Recorded) and v._level == trace.level:
            out_refs.append(("slot", v.slot))
        elif isinstance(v, Tracer):
            raise RecordingError(
                f"dt.record: f returned a traced value of a {v._trace.mode}-mode context "
                f"that is not the recording's (it escaped a transform inside f)")
        else:
            out_refs.append(("const", v))
    return dict(trace=trace, in_tree=tree, statics=tuple(statics), in_slots=tuple(in_slots),
                in_sig=tuple((np.shape(trace.values[s]), _dtype(trace.values[s]))
                             for s in in_slots),
                out_tree=out_tree, out_refs=tuple(out_refs), has_kwargs=bool(kwargs))
