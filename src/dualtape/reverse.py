"""Reverse mode: a tape of primitive applications and an iterative backward sweep.

Each traced value knows its slot on the tape.  A record keeps the primitive, its
arguments' values, its parameters and its output: everything a VJP rule reads.  The
sweep walks the tape backwards once, summing cotangents over all paths, with no
recursion (a chain of any length is fine).  ``jacrev`` pushes k cotangents through one
sweep by giving the seed a leading batch axis.
"""

from __future__ import annotations

from typing import Any, Callable, Concatenate, Literal, Sequence, overload

import numpy as np

from ._api import (all_finite, as_tangent, assemble, basis, check_float, check_output,
                   flatten, leaves_like, select_args, shape_of, split_aux, strip_aux,
                   to_array, unflatten, with_kwargs, wraps, zeros_tangent)
from .numpy import TracedArray
from .primitives import OPS
from . import registry
from ._typing import A, P, R, X
from .registry import Trace, Tracer, deriving, guarded, guarding, observer

__all__ = ["Tape", "vjp", "vjp_batch", "grad", "value_and_grad", "jacrev", "linearize"]


class Tape(Trace):
    """One reverse-mode context: the list of records its traced values index into.

    ``records[i]`` is None for an input, ``(prim, args, params, ans, parents)`` for a
    primitive application (``parents[j]`` is the slot of argument j, or None for a
    constant), or ``(None, slot, j)`` for output j of a multiple-result primitive.
    """

    __slots__ = ("records",)
    mode = "reverse"
    stubs = True      # keep only what VJP rules read (others: stubs if large, uncopied)

    def __init__(self) -> None:
        super().__init__()
        self.records: list = []

    def process(self, prim, args, params):
        ans, primals, parents = self.unpack(prim, args, params, "slot")
        if prim.nondiff:
            return ans
        recs = self.records
        slot = len(recs)
        # what the rules will read (None: everything; a forward-read tape keeps it all)
        keep = prim.residuals if self.stubs else None
        if None in parents and not _CONTAINERS.isdisjoint(map(type, primals)):
            for i, a in enumerate(primals):
                if type(a) in _CONTAINERS and parents[i] is None and (keep is None or i in keep):
                    primals[i] = _own(a)
        if params:
            params = {k: _own(v) for k, v in params.items()}
        if keep is not None and type(ans) is np.ndarray and ans.size > _STUB_MIN:
            # keep alive only what the VJP reads; the rest become shape-and-dtype stubs
            # (for large arrays only: small ones cost less to keep than to stub)
            recs.append((prim, [p if i in keep else _stub(p) for i, p in enumerate(primals)],
                         params, ans if "ans" in keep else _stub(ans), parents))
        else:
            recs.append((prim, primals, params, ans, parents))
        if prim.multiple_results:
            outs = []
            for j, a in enumerate(ans):
                recs.append((None, slot, j))
                outs.append(Variable(a, self, slot + 1 + j))
            return tuple(outs)
        return Variable(ans, self, slot)

    def new_input(self, value: Any) -> "Variable":
        self.records.append(None)
        return Variable(value, self, len(self.records) - 1)

    def backward(self, seeds: dict[int, Any], wanted: Sequence[int]) -> list:
        """Sweep cotangents from ``seeds`` (slot -> cotangent) back to the ``wanted``
        slots; returns their cotangents (None where nothing reached them)."""
        obs = observer()
        if obs is not None:
            obs.tape(len(self.records), self)
        with deriving():
            if guarded():
                return self._sweep(seeds, wanted)
            # Warnings of a sweep whose result is finite came from values masked later
            # (0 * inf in a branch not taken): noise.  A non-finite result is swept again
            # below, with numpy's warnings as the user set them.
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                got = self._sweep(seeds, wanted)
            if not all_finite(got):
                # A zero cotangent met an infinite or NaN partial somewhere (the branch
                # `where` did not take, at an input that is inf there): sweep again with
                # every rule treating zero cotangents as exact zeros.
                with guarding():
                    got = self._sweep(seeds, wanted)
            return got

    def _sweep(self, seeds: dict[int, Any], wanted: Sequence[int]) -> list:
        recs = self.records
        cts: list = [None] * len(recs)
        for s, g in seeds.items():
            cts[s] = g if cts[s] is None else cts[s] + g
        for i in range(max(seeds, default=-1), -1, -1):
            g = cts[i]
            rec = recs[i]
            if g is None or rec is None:
                continue
            cts[i] = None
            prim = rec[0]
            if prim is None:                       # output j of a multi-result primitive
                parent, j = rec[1], rec[2]
                acc = cts[parent]
                if acc is None:
                    acc = cts[parent] = [None] * len(recs[parent][3])
                acc[j] = g if acc[j] is None else acc[j] + g
                continue
            _, primals, params, ans, parents = rec
            needed = [p is not None for p in parents]
            vjp = prim.vjp
            if vjp is None:
                grads = _vjp_from_jvp(prim, g, ans, primals, params, needed)
            else:
                grads = vjp(g, ans, primals, params, needed)
            for p, gi, x in zip(parents, grads, primals):
                if p is not None and gi is not None:
                    if gi.dtype.kind == "c" and getattr(x, "dtype", gi.dtype).kind != "c":
                        gi = OPS["real"](gi)      # a real input gets a real cotangent
                    c = cts[p]
                    cts[p] = gi if c is None else c + gi
        return [cts[w] for w in wanted]


_STUB_MIN = 4096      # elements


# Plain arrays the sweep reads are copied when recorded: without the copy, a buffer used
# in f and then overwritten in place (``buf[:] = ...`` in a loop) would be read by the
# sweep with its final contents for every use.  Traced values need no copy: their
# primals are results this library made and never writes.
_CONTAINERS = frozenset({np.ndarray, tuple, list})


def _own(v: Any) -> Any:
    """``v`` as the sweep may keep it: a copy of a plain array (the caller may write into
    theirs before the sweep), containers of them copied through, anything else as is."""
    if type(v) is np.ndarray:
        return v.copy()
    if isinstance(v, (tuple, list)) and any(isinstance(e, (np.ndarray, tuple, list)) for e in v):
        return type(v)(_own(e) for e in v)
    return v


class Shaped:
    """What the tape keeps of a value its VJP does not read: shape and dtype."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape: tuple, dtype: Any) -> None:
        self.shape = shape
        self.dtype = dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)


def _stub(x: Any) -> Any:
    if isinstance(x, (np.ndarray, np.generic, Tracer)):
        return Shaped(tuple(x.shape), x.dtype)
    return x                     # Python numbers, None: small and needed as they are


class Variable(TracedArray):
    """A value recorded on a tape; ``slot`` is its place there."""

    __slots__ = ("primal", "slot")

    def __init__(self, primal: Any, tape: Tape, slot: int) -> None:
        self._trace = tape
        self._level = tape.level
        self.primal = primal
        self.slot = slot

    def __repr__(self) -> str:
        return f"Variable({self.primal!r})"


def _vjp_from_jvp(prim, g, ans, primals, params, needed):
    """A VJP for a primitive that states only a JVP.

    A JVP is linear in its tangent, so its transpose applied to ``g`` is the gradient of
    <g, jvp(t)> with respect to t: reverse mode run on the JVP rule itself.
    """
    if prim.jvp is None:
        raise NotImplementedError(
            f"primitive {prim.name!r} has neither a VJP nor a JVP rule, so reverse mode "
            f"cannot differentiate it; add one with dt.defvjp (or dt.defjvp)")
    multi = prim.multiple_results
    gs, outs = (list(g), list(ans)) if multi else ([g], [ans])
    j0 = next(j for j, c in enumerate(gs) if c is not None)
    nb = len(shape_of(gs[j0])) - len(shape_of(outs[j0]))
    batch = shape_of(gs[j0])[:nb]
    out = []
    for i, need in enumerate(needed):
        if not need:
            out.append(None)
            continue
        tape = Tape()
        t = tape.new_input(zeros_tangent(primals[i], batch))
        tangents = [None] * len(primals)
        tangents[i] = t
        y = prim.jvp(tangents, ans, primals, params)
        tape.finish()
        ys = list(y) if multi else [y]
        seeds = {}
        for yj, gj in zip(ys, gs):
            if gj is not None and isinstance(yj, Variable) and yj._level == tape.level:
                seeds[yj.slot] = gj if yj.slot not in seeds else seeds[yj.slot] + gj
        out.append(tape.backward(seeds, [t.slot])[0] if seeds else None)
    return tuple(out)


def _trace_call(f: Callable, args: tuple, argnums: tuple, fn: str,
                tape: Tape | None = None) -> tuple:
    """Run ``f`` with the chosen arguments as inputs of ``tape`` (None: a new Tape).  An
    argument named twice in ``argnums`` is one input: each copy gets its full cotangent."""
    tape = Tape() if tape is None else tape
    new = list(args)
    inputs: dict[int, tuple] = {}
    for i in dict.fromkeys(argnums):
        leaves, tree = flatten(args[i])
        # copies: vjp_fn may sweep long after, and the caller may write into x by then
        leaves = [_own(check_float(to_array(x, fn=fn), fn)) for x in leaves]
        vs = [tape.new_input(x) for x in leaves]
        new[i] = unflatten(tree, vs)
        inputs[i] = ([v.slot for v in vs], leaves, tree)
    try:
        out = f(*new)
    finally:
        tape.finish()
    in_slots, in_leaves, in_trees = ([inputs[i][k] for i in argnums] for k in range(3))
    return tape, out, in_slots, in_leaves, in_trees


def _out_parts(tape: Tape, out: Any, fn: str) -> tuple[list, list, Any]:
    leaves, tree = flatten(out)
    values, slots = [], []
    for leaf in leaves:
        if isinstance(leaf, Variable) and leaf._level == tape.level:
            values.append(leaf.primal)
            slots.append(leaf.slot)
        else:
            check_output(leaf, fn)
            values.append(leaf)
            slots.append(-1)
    return values, slots, tree


def _cotangents(tape, seeds, in_slots, in_leaves, in_trees, batch=()):
    flat = [s for group in in_slots for s in group]
    got = tape.backward(seeds, flat) if seeds else [None] * len(flat)
    res, k = [], 0
    seen: set = set()
    for leaves, tree in zip(in_leaves, in_trees):
        vals = []
        for x in leaves:
            g = got[k]
            if flat[k] in seen and isinstance(g, np.ndarray):
                g = g.copy()              # a repeated argnum: its own array, not an alias
            seen.add(flat[k])
            k += 1
            vals.append(zeros_tangent(x, batch) if g is None else g)
        res.append(unflatten(tree, vals))
    return res


@overload
def vjp(f: Callable[..., R], *primals: Any,
        has_aux: Literal[False] = False) -> tuple[R, Callable[[Any], tuple[Any, ...]]]: ...
@overload
def vjp(f: Callable[..., tuple[R, A]], *primals: Any,
        has_aux: Literal[True]) -> tuple[R, Callable[[Any], tuple[Any, ...]], A]: ...
def vjp(f: Callable[..., Any], *primals: Any, has_aux: bool = False) -> tuple[Any, ...]:
    """Evaluate ``f(*primals)`` on a tape and return ``(out, vjp_fn)``.

    Parameters
    ----------
    f : callable
        A function of arrays or pytrees of arrays.
    *primals : array or pytree
        The point, one entry per argument of ``f``.
    has_aux : bool, default False
        ``f`` returns ``(out, aux)`` and vjp returns ``(out, vjp_fn, aux)``, ``aux`` with
        this derivative's traced values replaced by their values.

    Returns
    -------
    out : array or pytree
        ``f(*primals)``.
    vjp_fn : callable
        ``vjp_fn(ct)`` takes a cotangent with ``out``'s structure, shapes and dtype
        (Python numbers and lists are converted) and returns a tuple with one cotangent
        ``ct @ J`` per primal, each shaped like that primal.  It may be called many
        times; the tape lives as long as ``vjp_fn``.

    Raises
    ------
    TypeError
        From ``vjp_fn`` if a cotangent's structure, shape or dtype differs from ``out``'s.

    Examples
    --------
    >>> A = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    >>> out, vjp_fn = dt.vjp(lambda x: A @ x, np.ones(2))
    >>> vjp_fn(np.array([1.0, 0.0, 1.0]))       # a tuple: one cotangent per primal
    (array([6., 8.]),)
    """
    tape, out, in_slots, in_leaves, in_trees = _trace_call(f, primals,
                                                           tuple(range(len(primals))), "vjp")
    if has_aux:
        out, aux = split_aux(out, "vjp")
    values, slots, tree = _out_parts(tape, out, "vjp")

    def vjp_fn(ct: Any) -> tuple:
        cl = leaves_like(tree, ct, "vjp_fn", "cotangent")
        seeds: dict[int, Any] = {}
        for s, c, v in zip(slots, cl, values):
            c = registry.seed(as_tangent(c, v, "vjp_fn", "cotangent"))
            if shape_of(c) != shape_of(v):
                raise ValueError(f"vjp_fn: cotangent shape {shape_of(c)} != output shape "
                                 f"{shape_of(v)}")
            if s >= 0:
                seeds[s] = c if s not in seeds else seeds[s] + c
        return tuple(_cotangents(tape, seeds, in_slots, in_leaves, in_trees))

    if has_aux:
        return unflatten(tree, values), vjp_fn, strip_aux(aux, tape.level)
    return unflatten(tree, values), vjp_fn


def _scalar_seed(value: Any, fn: str) -> Any:
    shape = shape_of(value)
    if int(np.prod(shape)) != 1:
        raise TypeError(
            f"{fn} needs a function with exactly one output element, got shape {shape}; "
            f"for vector outputs use dt.jacrev (all rows) or dt.vjp (one cotangent)")
    return registry.seed(np.ones(shape, dtype=zeros_tangent(value).dtype))


@overload
def value_and_grad(f: Callable[Concatenate[X, P], R], argnums: Literal[0] = 0,
                   has_aux: Literal[False] = False
                   ) -> Callable[Concatenate[X, P], tuple[R, X]]: ...
@overload
def value_and_grad(f: Callable[Concatenate[X, P], R], argnums: int,
                   has_aux: Literal[False] = False
                   ) -> Callable[Concatenate[X, P], tuple[R, Any]]: ...
@overload
def value_and_grad(f: Callable[P, R], argnums: Sequence[int],
                   has_aux: Literal[False] = False
                   ) -> Callable[P, tuple[R, tuple[Any, ...]]]: ...
@overload
def value_and_grad(f: Callable[Concatenate[X, P], tuple[R, A]], argnums: Literal[0] = 0, *,
                   has_aux: Literal[True]
                   ) -> Callable[Concatenate[X, P], tuple[tuple[R, A], X]]: ...
@overload
def value_and_grad(f: Callable[P, tuple[R, A]], argnums: int | Sequence[int],
                   has_aux: Literal[True]) -> Callable[P, tuple[tuple[R, A], Any]]: ...
def value_and_grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
                   has_aux: bool = False) -> Callable[..., Any]:
    """The value and the gradient of a scalar-valued ``f`` from one evaluation and one
    reverse sweep.

    Parameters
    ----------
    f : callable
        Returns exactly one element.
    argnums : int or sequence of int, default 0
        The argument(s) to differentiate, as in :func:`dualtape.grad`.
    has_aux : bool, default False
        ``f`` returns ``(value, aux)``.

    Returns
    -------
    vg : callable
        ``vg(*args, **kwargs)`` returns ``(f(*args), gradient)``, with ``has_aux=True``
        ``((value, aux), gradient)``; the gradient is shaped as in :func:`dualtape.grad`.

    Raises
    ------
    TypeError
        As :func:`dualtape.grad`.

    Examples
    --------
    >>> value, g = dt.value_and_grad(lambda x: np.sum(np.sin(x)))(np.zeros(2))
    >>> float(value), g
    (0.0, array([1., 1.]))
    """
    return _value_and_grad(f, argnums, "value_and_grad", has_aux)


def _value_and_grad(f: Callable, argnums: int | Sequence[int], fn: str,
                    has_aux: bool) -> Callable:
    @wraps(f)
    def vg(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        nums, single = select_args(argnums, len(args))
        tape, out, in_slots, in_leaves, in_trees = _trace_call(with_kwargs(f, kwargs), args,
                                                               nums, fn)
        if has_aux:
            out, aux = split_aux(out, fn)
        values, slots, tree = _out_parts(tape, out, fn)
        if len(values) != 1 or isinstance(out, (tuple, list, dict)):
            raise TypeError(f"{fn}: the function must return one array, not a container"
                            + ("" if has_aux else "; if it returns (value, aux), pass "
                               "has_aux=True"))
        seeds = {slots[0]: _scalar_seed(values[0], fn)} if slots[0] >= 0 else {}
        grads = _cotangents(tape, seeds, in_slots, in_leaves, in_trees)
        tape.records = []                      # release the tape after the sweep
        g = grads[0] if single else tuple(grads)
        if has_aux:
            return (values[0], strip_aux(aux, tape.level)), g
        return values[0], g
    return vg


@overload
def grad(f: Callable[Concatenate[X, P], Any], argnums: Literal[0] = 0,
         has_aux: Literal[False] = False) -> Callable[Concatenate[X, P], X]: ...
@overload
def grad(f: Callable[Concatenate[X, P], Any], argnums: int,
         has_aux: Literal[False] = False) -> Callable[Concatenate[X, P], Any]: ...
@overload
def grad(f: Callable[P, Any], argnums: Sequence[int],
         has_aux: Literal[False] = False) -> Callable[P, tuple[Any, ...]]: ...
@overload
def grad(f: Callable[Concatenate[X, P], tuple[Any, A]], argnums: Literal[0] = 0, *,
         has_aux: Literal[True]) -> Callable[Concatenate[X, P], tuple[X, A]]: ...
@overload
def grad(f: Callable[P, tuple[Any, A]], argnums: int | Sequence[int],
         has_aux: Literal[True]) -> Callable[P, tuple[Any, A]]: ...
def grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
         has_aux: bool = False) -> Callable[..., Any]:
    """The gradient of a scalar-valued ``f`` by one reverse sweep.

    Parameters
    ----------
    f : callable
        Returns exactly one element (shape ``()``, ``(1,)``, ``(1, 1)``...).
    argnums : int or sequence of int, default 0
        The argument(s) to differentiate.  An argument named twice gets its full
        gradient in each place.
    has_aux : bool, default False
        ``f`` returns ``(value, aux)`` and ``g`` returns ``(gradient, aux)``, ``aux`` with
        this derivative's traced values replaced by their values (as in JAX).

    Returns
    -------
    g : callable
        ``g(*args, **kwargs)`` (keyword arguments go to ``f``, not differentiated)
        returns an array shaped like ``args[argnums]``, or a tuple of them for a tuple
        ``argnums``; lists/dicts of arrays give the same structure back.

    Raises
    ------
    TypeError
        If ``f`` returns more than one element (use :func:`dualtape.jacrev` or
        :func:`dualtape.vjp`), or if a differentiated input is an integer array.

    Examples
    --------
    >>> g = dt.grad(lambda x: np.sum(x ** 3))
    >>> g(np.array([1.0, 2.0]))                 # 3 x^2
    array([ 3., 12.])
    >>> dfdx, dfdy = dt.grad(lambda x, y: x * y, argnums=(0, 1))(2.0, 5.0)
    >>> float(dfdx), float(dfdy)
    (5.0, 2.0)
    """
    vg = _value_and_grad(f, argnums, "grad", has_aux)

    @wraps(f)
    def g(*args: Any, **kwargs: Any) -> Any:
        value, gr = vg(*args, **kwargs)
        return (gr, value[1]) if has_aux else gr
    return g


@overload
def jacrev(f: Callable[Concatenate[X, P], Any], argnums: int = 0,
           chunk_size: int | None = None,
           has_aux: Literal[False] = False) -> Callable[Concatenate[X, P], Any]: ...
@overload
def jacrev(f: Callable[P, Any], argnums: Sequence[int], chunk_size: int | None = None,
           has_aux: Literal[False] = False) -> Callable[P, tuple[Any, ...]]: ...
@overload
def jacrev(f: Callable[P, tuple[Any, A]], argnums: int | Sequence[int] = 0,
           chunk_size: int | None = None, *,
           has_aux: Literal[True]) -> Callable[P, tuple[Any, A]]: ...
def jacrev(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
           chunk_size: int | None = None, has_aux: bool = False) -> Callable[..., Any]:
    """The Jacobian of ``f`` by reverse sweeps with batches of cotangents.

    The function is recorded once; each sweep pushes ``chunk_size`` rows of one output
    leaf at once, so the cost is about ``ceil(m / chunk_size)`` sweeps.

    Parameters
    ----------
    f : callable
        A function of arrays or pytrees.
    argnums : int or sequence of int, default 0
        The argument(s) to differentiate.
    chunk_size : int, optional
        Cotangents per sweep (None: all rows of an output leaf in one sweep).
    has_aux : bool, default False
        ``f`` returns ``(out, aux)`` and ``jac`` returns ``(J, aux)``.

    Returns
    -------
    jac : callable
        ``jac(*args, **kwargs)`` (keyword arguments go to ``f``, not differentiated)
        returns J with ``J.shape == out.shape + arg.shape`` for array input and output;
        pytrees nest as in :func:`dualtape.jacfwd` (``J[out_path][in_path]``).

    Raises
    ------
    TypeError
        If a differentiated input is an integer or boolean array.

    Examples
    --------
    >>> A = np.arange(6.0).reshape(3, 2)
    >>> dt.jacrev(lambda x: A @ x)(np.ones(2))          # shape (3, 2): out + in
    array([[0., 1.],
           [2., 3.],
           [4., 5.]])
    """
    @wraps(f)
    def jac(*args: Any, **kwargs: Any) -> Any:
        nums, single = select_args(argnums, len(args))
        tape, out, in_slots, in_leaves, in_trees = _trace_call(with_kwargs(f, kwargs), args,
                                                               nums, "jacrev")
        if has_aux:
            out, aux = split_aux(out, "jacrev")
            aux = strip_aux(aux, tape.level)
        values, slots, tree = _out_parts(tape, out, "jacrev")
        per_out = []
        for v, s in zip(values, slots):
            shp = shape_of(v)
            m = int(np.prod(shp))
            k = max(m, 1) if chunk_size is None else max(1, int(chunk_size))
            rows: list[list] = [[[] for _ in leaves] for leaves in in_leaves]
            for start in range(0, max(m, 1), k):
                stop = min(start + k, m)
                seed = registry.seed(basis(m, start, stop, shp, zeros_tangent(v).dtype))
                seeds = {s: seed} if s >= 0 else {}
                got = _cotangents(tape, seeds, in_slots, in_leaves, in_trees,
                                  batch=(stop - start,))
                for a, gtree in enumerate(got):
                    for q, gval in enumerate(flatten(gtree)[0]):
                        rows[a][q].append(gval)
            by_arg = [unflatten(tree_a, [assemble(v, r, shape_of(x), columns=False)
                                         for x, r in zip(leaves, rows_a)])
                      for tree_a, leaves, rows_a in zip(in_trees, in_leaves, rows)]
            per_out.append(by_arg[0] if single else tuple(by_arg))
        tape.records = []
        J = unflatten(tree, per_out)
        return (J, aux) if has_aux else J
    return jac


def vjp_batch(f: Callable, x: Any) -> tuple[Any, Callable]:
    """Record ``f`` at ``x`` once; return ``(out, pull)`` where ``pull(cts)`` sweeps a
    batch of k cotangents, shape ``(k,) + out.shape``, in one pass and returns the
    ``(k,) + x.shape`` results.  ``f`` takes one array and returns one array."""
    x = check_float(to_array(x, fn="vjp_batch"), "vjp_batch")
    tape, out, in_slots, in_leaves, in_trees = _trace_call(f, (x,), (0,), "vjp_batch")
    values, slots, _ = _out_parts(tape, out, "vjp_batch")
    if len(values) != 1:
        raise TypeError("vjp_batch needs a function returning one array")

    def pull(cts: Any) -> Any:
        cts = registry.seed(to_array(cts, dtype=zeros_tangent(values[0]).dtype))
        seeds = {slots[0]: cts} if slots[0] >= 0 else {}
        return _cotangents(tape, seeds, in_slots, in_leaves, in_trees,
                           batch=shape_of(cts)[:1])[0]
    return values[0], pull


# ---- one recording, read backwards and forwards ---------------------------------------

class _FullTape(Tape):
    """A tape that keeps every value: JVP rules read arguments a VJP may not."""

    __slots__ = ()
    stubs = False


class Recording:
    """``f`` recorded once at ``x`` on a tape, to be differentiated many times.

    ``pull(cts)`` sweeps k cotangents back, ``(k,) + out.shape -> (k,) + x.shape``;
    ``push(ts)`` (on a recording made with ``forward=True``) runs k tangents through the
    same records in recording order by the primitives' JVP rules, ``(k,) + x.shape ->
    (k,) + out.shape``.  Neither evaluates ``f`` again.  Build one with :func:`record`.
    """

    __slots__ = ("tape", "x", "out", "out_slot", "forward", "_ins", "_uses")
    _ins: tuple[Any, Any, Any]

    def __init__(self, tape: Tape, x: Any, out: Any, out_slot: int, forward: bool,
                 ins: tuple) -> None:
        self.tape = tape
        self.x = x
        self.out = out
        self.out_slot = out_slot
        self.forward = forward
        self._ins = ins                    # (in_slots, in_leaves, in_trees) of _trace_call
        self._uses: tuple[Any, list] | None = None

    def pull(self, cts: Any) -> Any:
        """Sweep ``cts`` (shape ``(k,) + out.shape``) back; ``(k,) + x.shape``."""
        cts = registry.seed(to_array(cts, dtype=zeros_tangent(self.out).dtype))
        seeds = {self.out_slot: cts} if self.out_slot >= 0 else {}
        return _cotangents(self.tape, seeds, *self._ins, batch=shape_of(cts)[:1])[0]

    def push(self, tangents: Any) -> Any:
        """Run ``tangents`` (shape ``(k,) + x.shape``) forward; ``(k,) + out.shape``."""
        tangents = registry.seed(to_array(tangents, dtype=self.x.dtype))
        k = shape_of(tangents)[0]
        t = self.push_slots({self._ins[0][0][0]: tangents}, [self.out_slot])[0]
        return zeros_tangent(self.out, (k,)) if t is None else t

    def push_slots(self, seeds: dict[int, Any], outs: Sequence[int]) -> list:
        """The forward pass over the records: tangents ``seeds`` (input slot -> tangent,
        with or without leading batch axes) run through the JVP rules in recording order
        up to the ``outs`` slots; returns their tangents (None: no dependence, also for
        a slot < 0, a constant output)."""
        if not self.forward:
            raise ValueError("push needs a recording made with forward=True: this tape "
                             "kept only what the VJP rules read")
        end = max(outs, default=-1)
        if end < 0:
            return [None] * len(outs)
        recs = self.tape.records
        uses = self._last_uses(tuple(outs))
        tan: list = [None] * (end + 1)
        for slot, t in seeds.items():
            tan[slot] = t
        with deriving():
            for i in range(end + 1):
                rec = recs[i]
                if rec is None:
                    continue
                prim = rec[0]
                if prim is None:                   # output j of a multiple-result primitive
                    t = tan[rec[1]]
                    tan[i] = None if t is None else t[rec[2]]
                else:
                    _, primals, params, ans, parents = rec
                    ts = [None if p is None else tan[p] for p in parents]
                    if any(t is not None for t in ts):
                        tan[i] = _jvp_rule(prim)(ts, ans, primals, params)
                for p in uses[i]:                  # free tangents nothing later reads
                    tan[p] = None
        return [None if s < 0 else tan[s] for s in outs]

    def _last_uses(self, outs: tuple) -> list:
        """``uses[i]``: the slots whose last reader (up to the last of ``outs``) is
        record i; the ``outs`` themselves are kept to the end."""
        if self._uses is None or self._uses[0] != outs:
            end = max(outs)
            recs = self.tape.records
            last: dict[int, int] = {}
            for i in range(end + 1):
                rec = recs[i]
                if rec is not None:
                    for p in ((rec[1],) if rec[0] is None else rec[4]):
                        if p is not None:
                            last[p] = i
            keep = set(outs)
            uses: list = [[] for _ in range(end + 1)]
            for p, i in last.items():
                if p not in keep:
                    uses[i].append(p)
            self._uses = (outs, uses)
        return self._uses[1]

    def values(self) -> list:
        """Per record, what its rules read that depends on ``x``: ``(traced arguments,
        result)`` (None for inputs and multiple-result outputs).  Constants are left
        out.  With :meth:`replaced` this lets a counter see the derivative work."""
        out: list = []
        for rec in self.tape.records:
            if rec is None or rec[0] is None:
                out.append(None)
            else:
                _, primals, _, ans, parents = rec
                out.append(([v for v, p in zip(primals, parents) if p is not None], ans))
        return out

    def replaced(self, values: list) -> "Recording":
        """A copy whose records hold ``values`` (shaped like :meth:`values`) instead."""
        tape = type(self.tape)()
        recs = []
        for rec, val in zip(self.tape.records, values):
            if rec is None or rec[0] is None:
                recs.append(rec)
                continue
            prim, primals, params, _, parents = rec
            traced, ans = val
            it = iter(traced)
            recs.append((prim, [v if p is None else next(it) for v, p in zip(primals, parents)],
                         params, ans, parents))
        tape.records = recs
        return Recording(tape, self.x, self.out, self.out_slot, self.forward, self._ins)


def _jvp_rule(prim: Any) -> Callable:
    if prim.jvp is None:
        raise NotImplementedError(
            f"primitive {prim.name!r} has no JVP rule, which forward mode needs; add one "
            f"with dt.defjvp")
    return prim.jvp


def record_tape(f: Callable, x: Any, forward: bool = False,
                fn: str = "record_tape") -> Recording:
    """Evaluate ``f`` (one array in, one array out) once at ``x`` on a tape.

    ``forward=True`` keeps every value on the tape (no stubs), so that
    :meth:`Recording.push` can read it forwards as well as backwards.  ``fn`` names the
    caller in error messages.
    """
    x = check_float(to_array(x, fn=fn), fn)
    tape = _FullTape() if forward else Tape()
    tape, out, in_slots, in_leaves, in_trees = _trace_call(f, (x,), (0,), fn, tape)
    values, slots, _ = _out_parts(tape, out, fn)
    if len(values) != 1:
        raise TypeError(f"{fn} needs a function returning one array, not a container of "
                        f"{len(values)}")
    v = values[0]
    if not isinstance(v, (np.ndarray, np.generic, Tracer, int, float, complex)):
        raise TypeError(f"{fn} needs a function returning an array, but it returned "
                        f"{type(v).__name__}")
    return Recording(tape, in_leaves[0][0], v, slots[0], forward,
                     (in_slots, in_leaves, in_trees))


@overload
def linearize(f: Callable[..., R], *primals: Any,
              has_aux: Literal[False] = False) -> tuple[R, Callable[..., R]]: ...
@overload
def linearize(f: Callable[..., tuple[R, A]], *primals: Any,
              has_aux: Literal[True]) -> tuple[R, Callable[..., R], A]: ...
def linearize(f: Callable[..., Any], *primals: Any, has_aux: bool = False) -> tuple[Any, ...]:
    """Evaluate ``f(*primals)`` once, recording it, and return ``(out, f_jvp)``.

    ``f_jvp`` runs the JVP rules over the recorded values without evaluating ``f``
    again; it keeps the recording (every intermediate value of ``f``) alive as long as
    it lives.

    Parameters
    ----------
    f : callable
        A function of arrays or pytrees.
    *primals : array or pytree
        The point, one entry per argument of ``f``.
    has_aux : bool, default False
        ``f`` returns ``(out, aux)`` and linearize returns ``(out, f_jvp, aux)``.

    Returns
    -------
    out : array or pytree
        ``f(*primals)``.
    f_jvp : callable
        ``f_jvp(*tangents)``, one tangent per primal (same structure, shapes and dtypes,
        as for :func:`dualtape.jvp`), returns ``J @ t``, shaped like ``out``.  It may be
        called many times.

    Raises
    ------
    NotImplementedError
        If ``f`` calls a :func:`dualtape.custom_vjp` function without a forward rule.

    Examples
    --------
    >>> out, f_jvp = dt.linearize(np.sin, np.array([0.0, np.pi]))
    >>> f_jvp(np.array([1.0, 1.0]))                     # cos(x) * t
    array([ 1., -1.])
    """
    tape, out, in_slots, in_leaves, in_trees = _trace_call(
        f, primals, tuple(range(len(primals))), "linearize", _FullTape())
    if has_aux:
        out, aux = split_aux(out, "linearize")
    values, slots, tree = _out_parts(tape, out, "linearize")
    rec = Recording(tape, None, None, -1, True, (in_slots, in_leaves, in_trees))

    def f_jvp(*tangents: Any) -> Any:
        if len(tangents) != len(primals):
            raise TypeError(f"f_jvp (from linearize) takes one tangent per primal: "
                            f"{len(primals)}, got {len(tangents)}")
        seeds: dict[int, Any] = {}
        for k, (t, tr, leaves, sl) in enumerate(zip(tangents, in_trees, in_leaves, in_slots)):
            for s, t_, x in zip(sl, leaves_like(tr, t, "f_jvp", f"tangents[{k}]"), leaves):
                t_ = registry.seed(as_tangent(t_, x, "f_jvp"))
                if shape_of(t_) != shape_of(x):
                    raise ValueError(f"f_jvp: tangent shape {shape_of(t_)} != primal shape "
                                     f"{shape_of(x)}")
                seeds[s] = t_
        got = rec.push_slots(seeds, slots)
        return unflatten(tree, [zeros_tangent(v) if g is None else g
                                for v, g in zip(values, got)])

    if has_aux:
        return unflatten(tree, values), f_jvp, strip_aux(aux, tape.level)
    return unflatten(tree, values), f_jvp
