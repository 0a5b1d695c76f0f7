"""The passes run on a recording before it replays, and the replay plan they produce.

In order:

* constant folding: an instruction whose arguments are all constants runs once, now;
  a guard on a constant is decided now (it held when recorded);
* common-subexpression elimination: the same primitive on the same slots with equal
  parameters is computed once (small constants with equal values are one slot first);
* dead-code elimination: only what the outputs or a guard read is kept -- in a
  recorded gradient, the primal values no adjoint equation reads are dropped;
* release at last use: each step lists the slots it reads for the last time, and the
  replay drops them, so intermediates do not pile up as on a tape;
* fusion: maximal chains of elementwise steps on same-sized arrays are marked as
  groups (the numba back end compiles each group into one kernel).
"""

from __future__ import annotations

import itertools
import operator
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..primitives.elementwise import add_p, negative_p, subtract_p
from .recording import Guard, Instr

__all__ = ["Plan", "plan", "fusable"]


def fusable(prim: Any) -> bool:
    """Whether ``prim`` runs element by element (it has a scalar kernel, see
    :class:`dualtape.registry.Primitive`), so chains of it fuse into one loop."""
    return prim.scalar is not None and not prim.multiple_results


@dataclass(frozen=True)
class Plan:
    """What a replay runs: ``steps`` of ``(fn, arg_slots, params, out_slot, release)``,
    the initial value table ``env0`` (constants filled in), ``out_refs``, and for each
    step its source (:class:`Instr`, :class:`Guard` or None for a result unpacking)."""

    steps: tuple
    sources: tuple
    env0: tuple
    out_refs: tuple
    avals: tuple
    groups: tuple
    report: dict
    input_bytes: int

    def memory(self) -> dict:
        sizes = [_nbytes(a) for a in self.avals]
        live = kept = peak = 0
        alive: set = set()
        for _fn, _ai, _kw, o, free in self.steps:
            if o < len(sizes) and o not in alive:
                alive.add(o)
                live += sizes[o]
                kept += sizes[o]
            peak = max(peak, live)
            for i in free:
                if i in alive:
                    alive.discard(i)
                    live -= sizes[i]
        return {"peak": peak, "kept": kept, "inputs": self.input_bytes}


def _nbytes(aval: tuple) -> int:
    shape, dtype = aval
    return int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize


def _params_key(params: dict) -> Any:
    try:
        key = tuple(sorted(params.items()))
        hash(key)
        return key
    except TypeError:
        return None


def _small_key(v: Any) -> Any:
    a = np.asarray(v)
    if a.size > 16 or a.dtype == object:
        return None
    return (type(v), a.dtype.str, a.shape, a.tobytes())


class _Checker:
    """A guard as a replay step: raises when the decision comes out differently."""

    __slots__ = ("guard",)

    def __init__(self, guard: Guard) -> None:
        self.guard = guard

    def __call__(self, x: Any) -> None:
        if not self.guard.holds(x):
            from .program import _Failed
            raise _Failed(self.guard.describe())


def plan(rec: Any, optimize: bool = True) -> Plan:
    """The replay plan of a recording (see the module docstring for the passes)."""
    consts = dict(rec.consts)
    alias: dict[int, int] = {}
    report = {"recorded": sum(isinstance(s, Instr) for s in rec.steps),
              "guards": sum(isinstance(s, Guard) for s in rec.steps),
              "folded": 0, "cse": 0, "dead": 0, "guards_decided": 0}

    def res(s: int) -> int:
        return alias.get(s, s)

    # new constants (negated, 0-d) and values get slots after the recording's and two
    # scratch ones; avals grows with them
    fresh = itertools.count(rec.nslots + 2)
    avals = list(rec.avals) + [((), np.dtype(float))] * 2

    def new_slot(like: int | None) -> int:
        s_ = next(fresh)
        avals.extend([((), np.dtype(float))] * (s_ + 1 - len(avals)))
        if like is not None:
            avals[s_] = avals[like]
        return s_

    if optimize:
        by_value: dict[Any, int] = {}
        for s, v in consts.items():
            k = _small_key(v)
            if k is not None:
                alias[s] = by_value.setdefault(k, s)
    steps: list = []
    seen: dict = {}
    for st in rec.steps:
        if isinstance(st, Guard):
            s = res(st.slot)
            if optimize and s in consts:
                report["guards_decided"] += 1
                continue
            steps.append(Guard(st.kind, s, st.outcome, st.where))
            continue
        args = tuple(res(a) for a in st.args)
        ins = Instr(st.prim, args, st.params, st.outs, st.derivative)
        if optimize:
            same = _identity(st.prim, args, st.params, consts, rec.avals, st.outs[0])
            if same is not None:
                if isinstance(same, int):
                    alias[st.outs[0]] = res(same)
                else:
                    consts[st.outs[0]] = same[0]
                report["simplified"] = report.get("simplified", 0) + 1
                continue
        if optimize and all(a in consts for a in args):
            ans = st.prim.impl(*[consts[a] for a in args], **st.params)
            for o, v in zip(st.outs, ans if st.prim.multiple_results else (ans,)):
                consts[o] = v
            report["folded"] += 1
            continue
        if optimize:
            pk = _params_key(st.params)
            if pk is not None:
                key = (id(st.prim), args, pk)
                prev = seen.get(key)
                if prev is not None:
                    for o, p in zip(st.outs, prev):
                        alias[o] = p
                    report["cse"] += 1
                    continue
                seen[key] = st.outs
        steps.append(ins)
    out_refs = tuple(("slot", res(r[1])) if r[0] == "slot" else r for r in rec.out_refs)
    for i, r in enumerate(out_refs):
        if r[0] == "slot" and r[1] in consts:
            out_refs = out_refs[:i] + (("const", consts[r[1]]),) + out_refs[i + 1:]

    if optimize:
        steps = _scatter_sums(steps, out_refs, report)
        steps, out_refs = _negations(steps, consts, out_refs, new_slot, avals, report)

    # dead code: walk back from the outputs and the guards
    live = {r[1] for r in out_refs if r[0] == "slot"}
    kept: list = []
    for st in reversed(steps):
        if isinstance(st, Guard):
            live.add(st.slot)
            kept.append(st)
        elif not optimize or any(o in live for o in st.outs):
            live.update(st.args)
            kept.append(st)
        else:
            report["dead"] += 1
    kept.reverse()

    # last uses, then the executable steps
    outs_live = {r[1] for r in out_refs if r[0] == "slot"}
    last: dict[int, int] = {}
    for k, st in enumerate(kept):
        for a in (st.args if isinstance(st, Instr) else (st.slot,)):
            last[a] = k
    release: list[list] = [[] for _ in kept]
    for s, k in last.items():
        if s not in outs_live and s not in consts:
            release[k].append(s)
    for k, st in enumerate(kept):          # results nobody reads go at once
        if isinstance(st, Instr):
            release[k].extend(o for o in st.outs if o not in last and o not in outs_live)

    n = rec.nslots
    if optimize:
        kept = _scalars_as_arrays(kept, consts, avals, new_slot)
    scratch = n
    exe: list[tuple] = []
    sources: list[Any] = []      # the step of each entry of exe (None: an item of one)
    for k, st in enumerate(kept):
        free = tuple(release[k])
        if isinstance(st, Guard):
            exe.append((_Checker(st), (st.slot,), {}, scratch, free))
            sources.append(st)
        elif st.prim.multiple_results:
            tmp = scratch + 1
            exe.append((st.prim.impl, st.args, st.params, tmp, ()))
            sources.append(st)
            for j, o in enumerate(st.outs):
                exe.append((operator.itemgetter(j), (tmp,), {}, o,
                            free if j == len(st.outs) - 1 else ()))
                sources.append(None)
        else:
            exe.append((st.prim.impl, st.args, st.params, st.outs[0], free))
            sources.append(st)
    env0 = [None] * max(len(avals), max(consts, default=0) + 1, n + 2)
    for s, v in consts.items():
        env0[s] = v
    report["replayed"] = sum(isinstance(s, Instr) for s in kept)
    report["release"] = True
    groups = _fusion_groups(kept, avals, consts) if optimize else ()
    report["fused_groups"] = len(groups)
    report["fused_steps"] = sum(len(g) for g in groups)
    input_bytes = sum(_nbytes(rec.avals[s]) for s in rec.in_slots)
    return Plan(tuple(exe), tuple(sources), tuple(env0), out_refs, tuple(avals),
                groups, report, input_bytes)


def _scatter_sums(steps: list, out_refs: tuple, report: dict) -> list:
    """A sum of two results of one primitive that has a ``pair_sum`` rule becomes the
    one step the rule gives: the sum of two scatters into zeros (what the transposes of
    two slices of one array give in a gradient) is one scatter-add into one buffer, one
    zero-filled array and one full-size addition less."""
    made: dict = {}
    uses: dict = {}
    for st in steps:
        for a in (st.args if isinstance(st, Instr) else (st.slot,)):
            uses[a] = uses.get(a, 0) + 1
    for r in out_refs:
        if r[0] == "slot":
            uses[r[1]] = uses.get(r[1], 0) + 1
    out = []
    for st in steps:
        if isinstance(st, Instr):
            made[st.outs[0]] = st
            if st.prim.signed_sum == (1, 1):
                pa: Any
                pb: Any
                pa, pb = (made.get(a) for a in st.args)
                one = None
                if all(p is not None and p.prim.pair_sum is not None and
                       uses.get(p.outs[0]) == 1 and len(p.args) == 1
                       for p in (pa, pb)) and pa.prim is pb.prim:
                    one = pa.prim.pair_sum(pa.params, pb.params)
                if one is not None:
                    st = Instr(one[0], (pa.args[0], pb.args[0]), one[1], st.outs,
                               st.derivative)
                    report["scatter_sums"] = report.get("scatter_sums", 0) + 1
        out.append(st)
    return out


def _negations(steps: list, consts: dict, out_refs: tuple, new_slot: Any,
               avals: list, report: dict) -> tuple:
    """Negations carried through products and quotients and absorbed by a sum, each
    rewrite exact in IEEE arithmetic (zeros' signs included):

    -(a) b = -(a b), a / -(b) = -(a / b), (-a)(-b) = a b, -(-a) = a, a + (-b) = a - b,
    (-a) + b = b - a, a - (-b) = a + b, (-a) - (-b) = b - a (real floating-point values
    only: integer negation wraps around).  A negation that reaches
    anything else is computed where it is read.  Returns the steps and the output
    references (an output may now be another slot).
    """
    add, sub, neg = add_p, subtract_p, negative_p
    pending: dict = {}            # slot -> base slot: the slot's value is -(base's)
    done: dict = {}               # slot -> materialised already
    alias: dict = {}              # slot -> the slot holding its value (-(-a) is a)
    out: list = []

    def real(a: int, derivative: bool) -> int:
        """A slot holding the value itself (computing a pending negation once)."""
        if a not in pending:
            return a
        if a not in done:
            out.append(Instr(neg, (pending[a],), {}, (a,), derivative))
            done[a] = a
        return a

    for st in steps:
        if isinstance(st, Guard):
            g = alias.get(st.slot, st.slot)
            # -a is finite (non-zero) exactly where a is: no need to compute it
            g = pending[g] if g in pending and st.kind in ("finite", "bool") else real(g, True)
            out.append(Guard(st.kind, g, st.outcome, st.where))
            continue
        st = Instr(st.prim, tuple(alias.get(a, a) for a in st.args), st.params, st.outs,
                   st.derivative)
        if st.prim.multiple_results or st.params:
            out.append(Instr(st.prim, tuple(real(a, st.derivative) for a in st.args),
                             st.params, st.outs, st.derivative))
            continue
        args, o, d = st.args, st.outs[0], st.derivative
        signs, odd = st.prim.signed_sum, st.prim.odd
        negs = [a in pending for a in args]
        base = [pending.get(a, a) for a in args]
        if signs == (-1,) and np.dtype(avals[o][1]).kind == "f":
            if negs[0]:
                alias[o] = base[0]
            else:
                pending[o] = args[0]
            report["negations"] = report.get("negations", 0) + 1
            continue
        if odd and st.prim.simplify is not None and len(args) == 2 and not any(negs) and \
                np.dtype(avals[o][1]).kind == "f":
            for i in (0, 1):             # x * -1 is -x (an odd rule with unit 1 at i)
                if st.prim.simplify({i: 1}, {}) != 1 - i:
                    continue
                other = args[1 - i]
                if args[i] in consts and _is(consts[args[i]], -1) and \
                        other not in consts and avals[other] == avals[o]:
                    pending[o] = other
                    break
            if o in pending:
                report["negations"] = report.get("negations", 0) + 1
                continue
        if odd and len(args) == 2 and any(negs):
            if all(negs):
                out.append(Instr(st.prim, tuple(base), {}, (o,), d))
            else:
                f = new_slot(o)
                out.append(Instr(st.prim, tuple(base), {}, (f,), d))
                pending[o] = f
            report["negations"] = report.get("negations", 0) + 1
            continue
        if signs in ((1, 1), (1, -1)) and any(negs):
            a, b = base
            if signs == (1, 1):
                new = (sub, (args[0], b)) if negs == [False, True] else \
                    (sub, (args[1], a)) if negs == [True, False] else \
                    (sub, (real(args[0], d), b))
            else:
                new = (add, (args[0], b)) if negs == [False, True] else \
                    (sub, (b, a)) if negs == [True, True] else \
                    (sub, (real(args[0], d), args[1]))
            out.append(Instr(new[0], new[1], {}, (o,), d))
            report["negations"] = report.get("negations", 0) + 1
            continue
        out.append(Instr(st.prim, tuple(real(a, d) for a in args), st.params, st.outs, d))
    refs = tuple(("slot", real(alias.get(r[1], r[1]), True)) if r[0] == "slot" else r
                 for r in out_refs)
    return out, refs


def _scalars_as_arrays(steps: list, consts: dict, avals: Sequence, fresh: Any) -> list:
    """Python numbers among an elementwise step's arguments become 0-d arrays of the
    array arguments' dtype (numpy casts a Python number to that dtype anyway, so the
    result is the same), because numpy's per-call cost is about twice as high with a
    Python number."""
    out, made = [], {}
    for st in steps:
        if not isinstance(st, Instr) or not fusable(st.prim) or len(st.args) < 2:
            out.append(st)
            continue
        dts = {np.dtype(avals[a][1]) for a in st.args if a not in consts}
        if len(dts) != 1 or next(iter(dts)).kind not in "fc":
            out.append(st)
            continue
        dt = next(iter(dts))
        args = list(st.args)
        for i, a in enumerate(args):
            v: Any = consts.get(a)
            if type(v) in (int, float) and (type(v) is float or abs(v) < 2 ** 53):
                key = (a, dt.str)
                if key not in made:
                    made[key] = fresh(None)
                    consts[made[key]] = np.asarray(v, dtype=dt)
                args[i] = made[key]
        out.append(Instr(st.prim, tuple(args), st.params, st.outs, st.derivative)
                   if tuple(args) != st.args else st)
    return out


def _is(v: Any, x: float) -> bool:
    a = np.asarray(v)
    return a.dtype.kind in "biuf" and a.size > 0 and bool((a == x).all())


def _identity(prim: Any, args: tuple, params: dict, consts: dict, avals: tuple,
              out: int) -> Any:
    """An instruction that is one of its arguments (a slot) or a constant (a 1-tuple),
    exactly, whatever the other arguments' values, by the primitive's ``simplify`` rule
    (x * 1, x / 1, x - 0, where with a constant condition, logical_or with True, a
    reshape to the same shape)."""
    if prim.simplify is None or prim.multiple_results:
        return None
    same = prim.simplify({i: consts[a] for i, a in enumerate(args) if a in consts}, params)
    if isinstance(same, tuple):
        shape, dtype = avals[out]
        return (np.full(shape, same[0], dtype=dtype),)
    if same is not None and avals[args[same]] == avals[out]:
        return args[same]
    return None


def _fusion_groups(steps: list, avals: Sequence, consts: dict) -> tuple:
    """Maximal runs of consecutive fusable instructions over one element count (every
    array argument has that many elements or one); runs of one are left alone."""
    groups: list = []
    cur: list = []
    size: Any = None
    for k, st in enumerate(steps):
        n = None
        if isinstance(st, Guard) and st.kind == "finite" and cur and \
                int(np.prod(avals[st.slot][0], dtype=np.int64)) in (1, size):
            cur.append(k)             # checked inside the loop, raised after it
            continue
        if isinstance(st, Instr) and fusable(st.prim):
            n = int(np.prod(avals[st.outs[0]][0], dtype=np.int64))
            sizes = {int(np.size(consts[a])) if a in consts else
                     int(np.prod(avals[a][0], dtype=np.int64)) for a in st.args}
            if not sizes <= {1, n}:
                n = None
        if n is not None and (size is None or n == size):
            cur.append(k)
            size = n
            continue
        if len(cur) > 1:
            groups.append(tuple(cur))
        cur, size = ([k], n) if n is not None else ([], None)
    if len(cur) > 1:
        groups.append(tuple(cur))
    return tuple(groups)
