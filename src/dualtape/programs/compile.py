"""Generated code: the program as straight-line Python, and numba kernels for its
fused elementwise chains.

``source(rec)`` writes ``def program(x1, ..., xn): ...; return y`` with one line per
primitive (numpy's own function where the primitive's implementation is one), each
guard as an ``if ...: raise GuardFailed`` at the place it was recorded, and, in the
optimized form, ``del`` at each value's last use.  ``compile_program`` executes that
source; with numba, each fusion group of the plan becomes one compiled loop.
"""

from __future__ import annotations

import cmath
import math
import re
import threading
from typing import Any, Callable

import numpy as np

from .._api import flatten, unflatten
from ..registry import Tracer
from ..registry import lookup
from .passes import fusable
from .recording import Guard, Instr, _same_value
from .show import names

__all__ = ["GuardFailed", "compile_program", "same_value", "source"]


class GuardFailed(Exception):
    """Raised by generated code when the input would take another path."""


same_value = _same_value


def _ident(name: str) -> str:
    """A textbook name (v₋₁, s₁, c₀) as a Python identifier (v_m1, s1, c0)."""
    table = str.maketrans("₋₀₁₂₃₄₅₆₇₈₉", "-0123456789")
    s = name.translate(table)
    return s[0] + ("_m" + s[2:] if s[1:2] == "-" else s[1:])


def _lit(v: Any) -> str | None:
    """Python source for a parameter or small constant, or None if it has none."""
    if v is None or isinstance(v, (bool, int, str)):
        return repr(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else f"float({str(v)!r})"
    if isinstance(v, np.generic) and v.dtype.kind in "biuf":
        return f"np.{v.dtype.name}({_lit(v.item())})"
    if isinstance(v, np.dtype):
        return f"np.dtype({v.str!r})"
    if isinstance(v, type) and issubclass(v, np.generic):
        return f"np.{v.__name__}"
    if isinstance(v, slice):
        return f"slice({_lit(v.start)}, {_lit(v.stop)}, {_lit(v.step)})"
    if isinstance(v, (tuple, list)):
        parts: list[Any] = [_lit(e) for e in v]
        if any(p is None for p in parts):
            return None
        inner = ", ".join(parts) + ("," if isinstance(v, tuple) and len(v) == 1 else "")
        return f"({inner})" if isinstance(v, tuple) else f"[{inner}]"
    if v is Ellipsis:
        return "Ellipsis"
    if isinstance(v, np.ndarray) and v.size <= 16 and v.dtype.kind in "biuf":
        return f"np.array({v.tolist()!r}, dtype={v.dtype.str!r})"
    return None


def _fn_name(prim: Any) -> tuple[str, bool]:
    impl = prim.impl
    nm = getattr(impl, "__name__", "")
    for mod, pre in ((np, "np."), (np.linalg, "np.linalg."), (np.fft, "np.fft.")):
        if nm and getattr(mod, nm, None) is impl:
            return pre + nm, True
    return f"{prim.name}_impl", False


def _program_parts(rec: Any, optimized: bool) -> tuple:
    if optimized:
        plan = rec.plan
        steps = [s for s in plan.sources if s is not None]
        consts = {s: v for s, v in enumerate(plan.env0) if v is not None}
        frees: list[Any] = []
        for (_, _, _, _, free), src in zip(plan.steps, plan.sources):
            if src is None:
                frees[-1] = frees[-1] + tuple(free)
            else:
                frees.append(tuple(free))
        return steps, consts, plan.out_refs, frees
    return list(rec.steps), dict(rec.consts), rec.out_refs, [()] * len(rec.steps)


#: Generated code releases values at their last use once the values of the whole program
#: would take this many bytes (below, keeping them costs less than the ``del``s).
RELEASE_BYTES = 256 * 1024


def generate(rec: Any, optimized: bool, groups: dict | None = None,
             fast: bool = False) -> tuple[str, dict]:
    """(source, namespace): the namespace holds what the source refers to by name
    (implementations that are not numpy's, constants and parameters without a
    literal).  ``groups`` (step index -> kernel call) replaces fused runs.  ``fast``
    (code to execute, not to read): numpy's functions are bound to plain names, and
    values are released only when some intermediate is large enough to matter, all of
    them together take ``RELEASE_BYTES`` or more, or the program is long (many small
    values alive at once cost cache)."""
    avals = rec.plan.avals if optimized else rec.avals
    release = optimized and (not fast or max(
        (int(np.prod(a[0], dtype=np.int64)) for a in avals), default=0) >= 4096
        or len(avals) > 2000 or rec.plan.memory()["kept"] >= RELEASE_BYTES)
    nm = names(rec)
    steps, consts, out_refs, frees = _program_parts(rec, optimized)
    ns: dict = {"np": np, "GuardFailed": GuardFailed, "same_value": same_value}
    header: list = []
    body: list = []

    def ref(s: int) -> str:
        if s in consts:
            lit = _lit(consts[s])
            if lit is not None and s not in rec.seeds and (
                    not optimized or type(consts[s]) in (bool, int, float)):
                return lit            # a number as it was written (arrays get a name)
            key = _ident(nm[s]) if s in nm and nm[s][0] in "cs" else f"k{s}"
            if key not in ns:
                ns[key] = consts[s]
                header.append(f"{key} = {lit}" if lit is not None else
                              f"{key} = constants[{key!r}]   # {consts[s].dtype}"
                              f"{list(np.shape(consts[s]))}")
            return key
        return _ident(nm[s]) if s in nm else f"t{s}"

    inputs = [_ident(nm[s]) for s in rec.in_slots]
    scal, ctx = (_scalar_slots(rec, steps, consts, avals) if fast and optimized and
                 not groups else (set(), set()))
    restored: dict = {}

    def whole(s: int) -> str:
        """``s`` with its recorded shape (a value held as a numpy scalar is reshaped)."""
        if s not in scal:
            return ref(s)
        if s not in restored:
            restored[s] = f"{ref(s)}_a"
            ns["_as_shape"] = _as_shape
            body.append(f"{restored[s]} = _as_shape({ref(s)}, {avals[s][0]!r})")
        return restored[s]

    def one(s: int) -> str:
        """``s`` in a step computed on numpy scalars (constants as numpy scalars too)."""
        if s in consts and isinstance(consts[s], np.ndarray):
            key = f"{ref(s)}_s"
            if key not in ns:
                ns[key] = consts[s].reshape(-1)[0]
                header.append(f"{key} = {ref(s)}.reshape(-1)[0]")
            return key
        return ref(s)

    for j, s in enumerate(rec.in_slots):
        if s in scal:
            # the argument as given serves the steps that need its shape
            restored[s] = inputs[j] + "_a"
            body.append(f"{inputs[j]} = {restored[s]}.reshape(-1)[0]")
            inputs[j] = restored[s]
    sweep = None
    skip: set = set()
    for k, st in enumerate(steps):
        if k in skip:
            continue
        if groups and k in groups:
            lines, covered = groups[k](ref)
            ns.update(groups[k].ns)
            body.extend(lines)
            skip.update(covered)
            continue
        if isinstance(st, Guard):
            # truth, number and finiteness read one element alike; a value, whole
            x = whole(st.slot) if st.kind == "value" else ref(st.slot)
            cond = _guard_condition(st, x, k, ns, avals[st.slot])
            body.append(f"if {cond}:   # guard recorded at {st.where}")
            body.append(f"    raise GuardFailed({st.describe(nm.get(st.slot)).strip()!r})")
        else:
            if st.derivative != sweep and (sweep is not None or st.derivative):
                body.append("# adjoint / tangent sweep (derivative rules)" if st.derivative
                            else "# primal")
            sweep = st.derivative
            if k in ctx:
                expr = st.prim.scalar.format(*[one(a) for a in st.args])
                if expr.startswith("np."):          # a unary ufunc: bound to a name
                    fn = expr[3:expr.index("(")]
                    ns["_" + fn] = getattr(np, fn)
                    expr = "_" + expr[3:]
                body.append(f"{ref(st.outs[0])} = {expr}")
                if release and frees[k]:
                    dead = [ref(s) for s in frees[k] if s not in consts and
                            s not in rec.in_slots]
                    if dead:
                        body.append(f"del {', '.join(dead)}")
                continue
            fn, builtin = _fn_name(st.prim)
            if fast and builtin and fn.startswith("np."):
                # one name lookup instead of two per call
                short = "_" + fn[3:].replace(".", "_")
                ns[short] = st.prim.impl
                fn = short
            if not builtin and not st.prim.user and not _registered(st.prim):
                # a step only replay plans write: import its implementation by name
                fn, builtin = st.prim.impl.__name__, True
                ns[fn] = st.prim.impl
                line = f"from {st.prim.impl.__module__} import {fn}"
                if line not in header:
                    header.append(line)
            if not builtin:
                key = fn if ns.get(fn, st.prim.impl) is st.prim.impl else f"{fn}{k}"
                fn = key
                if key not in ns:
                    ns[key] = st.prim.impl
                    header.append(f"{key} = lookup({st.prim.name!r}).impl"
                                  if not st.prim.user else
                                  f"{key} = ...   # the implementation of user primitive "
                                  f"{st.prim.name!r}")
            args = [whole(a) for a in st.args]
            for p, v in st.params.items():
                lit = _lit(v)
                if lit is None:
                    key = f"p{k}_{p}"
                    ns[key] = v
                    header.append(f"{key} = params[{key!r}]")
                    lit = key
                args.append(f"{p}={lit}")
            lhs = ", ".join(ref(o) for o in st.outs)
            if st.prim.multiple_results and len(st.outs) == 1:
                lhs += ","
            body.append(f"{lhs} = {fn}({', '.join(args)})")
        if release and frees[k]:
            dead = [ref(s) for s in frees[k] if s not in consts and s not in rec.in_slots]
            if dead:
                body.append(f"del {', '.join(dead)}")
    outs = []
    for j, r in enumerate(out_refs):
        if r[0] == "slot":
            # a constant the program keeps is handed out as a copy: the caller may
            # write into what it gets
            copy = ".copy()" if isinstance(consts.get(r[1]), np.ndarray) else ""
            outs.append(whole(r[1]) + copy)
        else:                                 # an output that is a constant
            lit = _lit(r[1])
            if lit is None:
                ns[f"out{j}"] = r[1]
                header.append(f"out{j} = constants['out{j}']")
                lit = f"out{j}" + (".copy()" if isinstance(r[1], np.ndarray) else "")
            outs.append(lit)
    ret = ", ".join(outs) if len(outs) != 1 else outs[0]
    text = "\n".join(header + body)
    lines = [f"from {ns['isfinite'].__module__} import isfinite"] if "isfinite" in ns else []
    lines.append("import numpy as np")
    if "lookup(" in text:
        lines.append("from dualtape.registry import lookup")
    used = [n for n in ("GuardFailed", "same_value") if n + "(" in text]
    if used:
        lines.append(f"from dualtape.programs.compile import {', '.join(used)}")
    lines.append("")
    lines += header + ([""] if header else [])
    defn = [f"def program({', '.join(inputs)}):"] + ["    " + b for b in body]
    defn.append(f"    return ({ret})")
    ns["__definition__"] = "\n".join(defn) + "\n"
    return "\n".join(lines + defn) + "\n", ns


#: Scalar rules that, applied to numpy scalars, are numpy's own scalar arithmetic or a
#: unary ufunc: both give the bits the ufunc gives on arrays, at a fraction of the cost.
_SCALAR_FORM = re.compile(r"\(\{0\} [-+*/] \{1\}\)|\(-\{0\}\)|np\.\w+\(\{0\}\)")


def _scalar_slots(rec: Any, steps: list, consts: dict, avals: tuple) -> tuple[set, set]:
    """(slots, steps): the one-element floating-point values a replay may hold as numpy
    scalars, and the steps computed on them, or nothing when too few steps would be.

    Numpy's per-call cost on a one-element array is several times its cost on a numpy
    scalar; elementwise steps do not care which of the two they get (every value has
    one element), and the steps that do get the value reshaped to its recorded shape.
    """
    def single(s: int) -> bool:
        if s in consts:
            return int(np.size(consts[s])) == 1
        return int(np.prod(avals[s][0], dtype=np.int64)) == 1

    def floating(s: int) -> bool:
        return np.dtype(avals[s][1]).kind == "f"

    scal = {s for s in rec.in_slots if single(s) and floating(s)}
    ctx = set()
    for k, st in enumerate(steps):
        if not isinstance(st, Instr) or st.prim.multiple_results or st.params or \
                not isinstance(st.prim.scalar, str) or \
                not _SCALAR_FORM.fullmatch(st.prim.scalar):
            continue
        o = st.outs[0]
        if single(o) and floating(o) and all(single(a) and (a in scal or a in consts)
                                             for a in st.args) and \
                any(a in scal for a in st.args):
            scal.add(o)
            ctx.add(k)
    return (scal, ctx) if len(ctx) >= 8 else (set(), set())


def _as_shape(v: Any, shape: tuple) -> Any:
    """A one-element value (numpy scalar or array) with the given shape; shape () gives a
    numpy scalar, as numpy's functions return."""
    if shape == ():
        return v.reshape(())[()] if type(v) is np.ndarray else v
    return np.reshape(v, shape)


def _guard_condition(g: Guard, x: str, k: int, ns: dict, aval: tuple) -> str:
    """Python for "the guard ``g`` on ``x`` fails" (``aval``: its shape and dtype)."""
    shape, dtype = aval
    if g.kind == "finite" and shape in ((), (1,)) and np.dtype(dtype).kind in "fc":
        # one number: math's test on the Python number is ten times cheaper
        ns["isfinite"] = cmath.isfinite if np.dtype(dtype).kind == "c" else math.isfinite
        return f"{'not ' if g.outcome else ''}isfinite({x}.item())"
    if g.kind == "bool":
        return f"bool({x}) is not {g.outcome!r}"
    if g.kind == "int":
        return f"int({x}) != {g.outcome!r}"
    if g.kind == "float":
        return f"not same_value(float({x}), {g.outcome!r})"
    if g.kind == "finite":
        return f"{'not ' if g.outcome else ''}np.isfinite({x}).all()"
    ns[f"g{k}"] = g.outcome
    return f"not same_value({x}, g{k})"


def source(rec: Any, optimized: bool = False) -> str:
    """The program as runnable Python (see the module docstring)."""
    return generate(rec, optimized)[0]


# ---- the compiled callables -------------------------------------------------------------
_kernel_cache: dict = {}
_kernel_lock = threading.Lock()


def compile_program(prog: Any, backend: str = "auto") -> Callable:
    """A function replaying ``prog``'s first recording through generated code."""
    if backend not in ("auto", "python", "numba"):
        raise ValueError(f"compile: backend must be 'auto', 'python' or 'numba', not "
                         f"{backend!r}")
    rec = prog.recording
    groups = None
    if backend != "python":
        nb = _numba()
        if nb is None and backend == "numba":
            raise ImportError("compile(backend='numba') needs numba (pip install numba); "
                              "backend='python' or 'auto' work without it")
        if nb is not None:
            groups = _kernels(rec, nb)
    fn: Any = compile_plan(rec, groups)       # with its generated source in .source
    src = fn.source
    in_slots = rec.in_slots

    def run(*args: Any, **kwargs: Any) -> Any:
        leaves, tree = flatten(args + (kwargs,) if kwargs else args)
        if tree != rec.in_tree or not rec.matches(leaves):
            return prog(*args, **kwargs)
        xs = [v for v, st in zip(leaves, rec.statics) if st is None]
        if len(xs) != len(in_slots) or any(isinstance(v, Tracer) for v in xs):
            # under a transform (a count, a derivative of the compiled function) the
            # program replays through bind, so the transform sees every primitive
            return prog(*args, **kwargs)
        xs = [v if type(v) is np.ndarray else np.asarray(v) for v in xs]
        try:
            out = fn(*xs)
        except GuardFailed:
            return prog(*args, **kwargs)
        return unflatten(rec.out_tree, [out] if len(rec.out_refs) == 1 else list(out))
    setattr(run, "source", src)                                    # noqa: B010
    setattr(run, "backend", "numba" if groups else "python")      # noqa: B010
    return run


def compile_plan(rec: Any, groups: dict | None) -> Callable:
    """The optimized plan of ``rec`` as a Python function of the input arrays
    returning the tuple of output leaves; raises GuardFailed on a failed guard."""
    src, ns = generate(rec, True, groups, fast=True)
    # only the definition: what the header names is in the namespace already
    exec(compile(ns.pop("__definition__"), "<dualtape program>", "exec"), ns)
    fn = ns["program"]
    fn.source = src
    return fn


def _numba() -> Any:
    try:
        import numba
    except ImportError:
        return None
    return numba


def _registered(prim: Any) -> bool:
    try:
        return lookup(prim.name) is prim
    except (KeyError, LookupError, ValueError):
        return False


def _scalar_term(prim: Any, terms: list, ns: dict, numba: Any) -> str:
    """One element of ``prim``'s result in a kernel: its ``scalar`` rule, a Python
    expression over ``{0}``, ``{1}``, ... or a scalar function (compiled by numba and
    called by name)."""
    rule = prim.scalar
    if isinstance(rule, str):
        return rule.format(*terms)
    key = f"s_{id(rule)}"
    if key not in ns:
        ns[key] = rule if hasattr(rule, "py_func") else numba.njit(rule)
    return f"{key}({', '.join(terms)})"


def _kernels(rec: Any, numba: Any) -> dict:
    """step index -> a function writing the kernel call for each fusion group."""
    plan = rec.plan
    steps = [s for s in plan.sources if s is not None]
    consts = {s: v for s, v in enumerate(plan.env0) if v is not None}
    reads_after: dict[int, int] = {}
    for k, st in enumerate(steps):
        for a in (st.args if isinstance(st, Instr) else (st.slot,)):
            reads_after[a] = k
    outputs = {r[1] for r in plan.out_refs if r[0] == "slot"}
    calls: dict = {}
    for g in plan.groups:
        ins: list = []
        kns: dict = {}                # what the kernel's source calls by name
        made: set = set()
        body: list = []
        checks: list = []
        for k in g:
            st = steps[k]
            if isinstance(st, Guard):
                a = st.slot
                term = f"t{a}" if a in made else None
                if term is None:
                    if a not in ins:
                        ins.append(a)
                    term = f"a{ins.index(a)}[i if a{ins.index(a)}.size > 1 else 0]"
                body.append(f"if {'not ' if st.outcome else ''}np.isfinite({term}): bad = 1")
                checks.append(st.describe(names(rec).get(a)))
                continue
            if not fusable(st.prim):
                break
            terms = []
            for a in st.args:
                if a in made:
                    terms.append(f"t{a}")
                elif a in consts and np.size(consts[a]) == 1 and \
                        np.asarray(consts[a]).dtype.kind in "biuf":
                    terms.append(repr(np.asarray(consts[a]).reshape(()).item()))
                else:
                    if a not in ins:
                        ins.append(a)
                    terms.append(f"a{ins.index(a)}[i if a{ins.index(a)}.size > 1 else 0]")
            o = st.outs[0]
            body.append(f"t{o} = {_scalar_term(st.prim, terms, kns, numba)}")
            made.add(o)
        else:
            last = g[-1]
            outs = [o for o in made if o in outputs or reads_after.get(o, -1) > last]
            if not outs:
                continue
            src = _kernel_source(ins, outs, body)
            kern = _jit(numba, src, kns)
            calls[g[0]] = _call_writer(kern, ins, outs, plan.avals, g, len(calls), checks)
    return calls


def _kernel_source(ins: list, outs: list, body: list) -> str:
    args = ", ".join([f"a{j}" for j in range(len(ins))] + [f"o{j}" for j in range(len(outs))])
    lines = [f"def kernel(n, {args}):", "    bad = 0", "    for i in range(n):"]
    lines += ["        " + b for b in body]
    lines += [f"        o{j}[i] = t{o}" for j, o in enumerate(outs)]
    lines.append("    return bad")
    return "\n".join(lines) + "\n"


def _jit(numba: Any, src: str, names: dict) -> Callable:
    # the scalar functions a kernel calls are part of what it is
    key = (src, tuple(sorted((k, id(v)) for k, v in names.items())))
    with _kernel_lock:
        kern = _kernel_cache.get(key)
        if kern is None:
            ns: dict = {"np": np, **names}
            exec(src, ns)
            kern = numba.njit(error_model="numpy", nogil=True)(ns["kernel"])
            _kernel_cache[key] = kern
        return kern


def _call_writer(kern: Callable, ins: list, outs: list, avals: tuple, group: tuple,
                 j: int, checks: list) -> Callable:
    ns: dict = {}

    def write(ref: Callable) -> tuple[list[str], tuple]:
        shapes = [avals[o] for o in outs]
        n = int(np.prod(shapes[0][0], dtype=np.int64))
        name = f"kernel{j}"
        ns[name] = kern
        alloc = "; ".join(f"{ref(o)} = np.empty({s!r}, dtype=np.{np.dtype(d).name})"
                          for o, (s, d) in zip(outs, shapes))
        args = [f"np.ravel({ref(a)})" for a in ins] + \
               [f"{ref(o)}.reshape(-1)" for o in outs]
        # a 0-d result is a numpy scalar, as numpy's own functions return it
        scal = "".join(f"; {ref(o)} = {ref(o)}[()]" for o, (s, _) in zip(outs, shapes)
                       if s == ())
        call = f"{name}({n}, {', '.join(args)})"
        if not checks:
            return [f"{alloc}; {call}{scal}"], group
        # the finiteness guards of the run, checked inside the loop
        lines = [alloc, f"if {call}:", f"    raise GuardFailed({'; '.join(checks)!r})"]
        return lines + ([scal[2:]] if scal else []), group
    setattr(write, "ns", ns)      # noqa: B010 (the names the written calls use)
    return write
