"""Builders that turn the rules a primitive states into the uniform ``jvp``/``vjp`` entry
points every mode reads, plus the batch helpers rules share.

Three ways to state derivatives, one result:

* ``elementwise(name, impl, partials)``: the local partial of each argument,
  ``p_i(ans, *args, **params)`` (or a constant number).  JVP = sum_i p_i * t_i,
  VJP_i = unbroadcast(g * p_i).
* ``define(name, impl, jvp=(rule_i ...), vjp=(rule_i ...))``: per-argument rules,
  ``jvp rule_i(t_i, ans, *args, **params)`` and ``vjp rule_i(g, ans, *args, **params)``.
* ``define(..., jvp_all=..., vjp_all=...)``: one rule over all arguments, for variadic
  primitives such as ``concatenate``.
"""

from __future__ import annotations

import math
from numbers import Number
from typing import Any, Callable, Sequence, TypeVar

import numpy as np

from ..registry import Primitive, guarded, register
from . import _cost, _structure

# Filled in by the modules that define them; rules look them up at call time so the
# primitive modules may refer to each other freely.
OPS: dict[str, Callable[..., Any]] = {}


def _op(name: str) -> Callable[..., Any]:
    return OPS[name]


def shape(x: Any) -> tuple:
    """The shape of an array, numpy scalar, traced value or Python number (``()``)."""
    return getattr(x, "shape", ())


def ndim(x: Any) -> int:
    return len(getattr(x, "shape", ()))


def batch_ndim(t: Any, x: Any) -> int:
    """How many leading batch axes a tangent/cotangent ``t`` carries beyond ``x``'s shape."""
    return ndim(t) - ndim(x)


def expand_to(t: Any, nb: int, x_shape: tuple, ndim: int) -> Any:
    """Insert singleton axes after the batch axes so a tangent of an argument of shape
    ``x_shape`` broadcasts, right-aligned, against an output of ``ndim`` axes."""
    gap = ndim - len(x_shape)
    if gap <= 0 or nb == 0:
        return t
    return _op("reshape")(t, tuple(shape(t)[:nb]) + (1,) * gap + tuple(x_shape))


def unbroadcast(g: Any, target: tuple, nb: int) -> Any:
    """Sum a cotangent over the axes broadcasting added, back to ``batch + target``."""
    gs = shape(g)
    if gs[nb:] == target:
        return g
    lead = len(gs) - nb - len(target)
    axes = list(range(nb, nb + lead))
    for i, s in enumerate(target):
        if s == 1 and gs[nb + lead + i] != 1:
            axes.append(nb + lead + i)
    if axes:
        g = _op("sum")(g, axis=tuple(axes))
    return _op("reshape")(g, tuple(gs[:nb]) + tuple(target))


def broadcast_batch(t: Any, nb: int, target: tuple) -> Any:
    """Broadcast ``t`` (batch axes first) to ``batch + target`` if it is not already."""
    ts = shape(t)
    if ts[nb:] == target:
        return t
    return _op("broadcast_to")(t, tuple(ts[:nb]) + tuple(target))


def safe_mul(p: Any, t: Any) -> Any:
    """``p * t`` where a zero ``t`` gives exactly zero even if ``p`` is inf or NaN.

    Used by primitives whose partial is singular at finite points (sqrt, log, divide):
    the branch ``where`` did not take sends a zero cotangent, and 0 * inf must not
    turn it into NaN.  Only entries where ``p`` is not finite are replaced, so where
    ``p`` is finite the product, and every derivative of it, is untouched (a tangent
    that merely happens to be zero still has a derivative).
    """
    if isinstance(p, (float, int)) and math.isfinite(p):
        return p * t            # a finite constant partial (x / 3.0) needs no guard
    pt = p * t
    if type(pt) is np.ndarray and np.isfinite(pt).all():
        return pt               # plain values, nothing to repair: one cheap check
    check = getattr(pt, "_all_finite", None)
    if check is not None and check():
        return pt               # a recording: the same check, kept as a guard
    keep = _op("logical_or")(_op("isfinite")(p), t != 0)
    return _op("where")(keep, pt, 0.0)


_F = TypeVar("_F", bound=Callable[..., Any])


def fresh(p: _F) -> _F:
    """Mark a partial whose result is always a newly computed array, which the rule may
    then overwrite with the product (one large temporary less per backward step)."""
    setattr(p, "fresh", True)   # noqa: B010 (read with getattr by the rule builder)
    return p


#: Arrays smaller than this are not worth reusing in place (the checks cost more).
INPLACE_MIN = 4096


def _times(pv: Any, t: Any) -> Any:
    # in place only for large plain arrays of the result's own size and dtype (one
    # direction, (1,) + shape, is written into pv and viewed with the batch axis)
    if type(pv) is np.ndarray and pv.size >= INPLACE_MIN and type(t) is np.ndarray \
            and pv.dtype == t.dtype:
        if pv.shape == t.shape:
            return np.multiply(pv, t, out=pv)
        if t.size == pv.size and t.shape[t.ndim - pv.ndim:] == pv.shape:
            return np.multiply(pv, t.reshape(pv.shape), out=pv).reshape(t.shape)
    return pv * t


def _accumulate(out: Any, owned: bool, t: Any, sign: int) -> Any:
    """``out + t`` (``sign`` 1) or ``out - t`` (-1), written into ``out`` when it is a
    large plain temporary of the sum's shape and dtype that nobody else holds."""
    if owned and type(out) is np.ndarray and out.size >= INPLACE_MIN \
            and type(t) is np.ndarray and out.shape == np.broadcast_shapes(out.shape, t.shape) \
            and out.dtype == np.result_type(out, t):
        return (np.add if sign > 0 else np.subtract)(out, t, out=out)
    return out + t if sign > 0 else out - t


def _scaler(p: Any, singular: bool | Callable) -> Callable:
    """``scale(ans, args, params, t) -> p_i * t`` for one partial, chosen once per
    primitive so the per-call path does no type tests."""
    if isinstance(p, Number):
        if p == 1:
            return lambda ans, args, params, t: t
        if p == -1:
            return lambda ans, args, params, t: -t
        return lambda ans, args, params, t: t * p
    if callable(singular):
        # singularity decided per call from the arguments (x ** 2 never is; x ** 0.5 is)
        return lambda ans, args, params, t: (
            safe_mul(p(ans, *args, **params), t) if singular(ans, *args, **params)
            else p(ans, *args, **params) * t)
    if singular:
        return lambda ans, args, params, t: safe_mul(p(ans, *args, **params), t)
    if getattr(p, "fresh", False):
        return lambda ans, args, params, t: _times(p(ans, *args, **params), t)
    return lambda ans, args, params, t: p(ans, *args, **params) * t


def elementwise(name: str, impl: Callable, partials: Sequence, *,
                singular: bool | Callable = False, residuals: tuple | None = None) -> Primitive:
    """Register an elementwise (broadcasting) primitive from its local partials.

    ``partials[i]`` is ``None`` (no dependence), a number, or ``p(ans, *args, **params)``.
    ``singular`` marks partials that can be infinite at finite inputs (True, or a
    predicate ``singular(ans, *args, **params)`` deciding per call).  ``residuals``: what
    the partials read ("ans", argument indices); constant partials read nothing.
    """
    prim = Primitive(name, impl, kind="elementwise")
    prim.partials = tuple(partials)
    linear = all(p is None or isinstance(p, Number) for p in prim.partials)
    scale = tuple(None if p is None else _scaler(p, singular) for p in prim.partials)
    unit = tuple(p if isinstance(p, Number) and p in (1, -1) else 0 for p in prim.partials)
    # what a guarded sweep uses: a zero cotangent stays exactly zero against any partial
    safe = tuple(None if p is None else _scaler(p, True) for p in prim.partials)

    def jvp(tangents, ans, primals, params):
        out = None
        owned = False                             # out is a temporary made here
        nb = -1                                   # stays -1 unless an argument broadcasts
        ans_shape = ans.shape
        for i, t in enumerate(tangents):
            if t is None or scale[i] is None:
                continue
            xs = primals[i].shape
            if xs != ans_shape:                   # a broadcast argument
                nb = len(t.shape) - len(xs)
                if nb and len(xs) < len(ans_shape):
                    t = expand_to(t, nb, xs, len(ans_shape))
            if out is not None and unit[i]:
                # a partial of +-1 after the first term: one add or subtract, not a
                # negated copy and then an add (in place only for large temporaries:
                # for small ones the checks cost more than they save)
                if type(out) is np.ndarray and out.size >= INPLACE_MIN:
                    out = _accumulate(out, owned, t, unit[i])
                else:
                    out = out + t if unit[i] > 0 else out - t
                owned = True
                continue
            c = scale[i](ans, primals, params, t)
            if out is None:
                out, owned = c, c is not t
            elif type(c) is np.ndarray and c.size >= INPLACE_MIN:
                out, owned = _accumulate(c, c is not t, out, 1), True
            else:
                out, owned = out + c, True
        if out is None or nb < 0:
            return out
        return broadcast_batch(out, nb, ans_shape)

    def vjp(g, ans, primals, params, needed):
        res = []
        gs = g.shape
        sc = safe if guarded() else scale
        for i, need in enumerate(needed):
            if not need or sc[i] is None:
                res.append(None)
                continue
            c = sc[i](ans, primals, params, g)
            xs = primals[i].shape
            res.append(c if xs == gs else unbroadcast(c, xs, len(gs) - len(ans.shape)))
        return tuple(res)

    prim.jvp = jvp
    prim.vjp = vjp
    prim.sparsity = _structure.elementwise(prim.partials)
    prim.cost = _cost.elementwise
    prim.residuals = () if linear else residuals
    return register(prim)


def nondiff(name: str, impl: Callable, cost: Callable = _cost.elementwise) -> Primitive:
    """Register a primitive whose derivative is zero wherever it is defined."""
    prim = Primitive(name, impl, nondiff=True, kind="nondiff")
    prim.sparsity = _structure.constant
    prim.cost = cost
    return register(prim)


def rules_to_jvp(rules: Sequence) -> Callable:
    """The uniform jvp from per-argument rules ``rule_i(t_i, ans, *args, **params)``."""
    rules = tuple(rules)

    def jvp(tangents, ans, primals, params):
        out = None
        for i, t in enumerate(tangents):
            if t is None or i >= len(rules) or rules[i] is None:
                continue
            c = rules[i](t, ans, *primals, **params)
            if c is None:
                continue
            out = c if out is None else out + c
        return out
    return jvp


def rules_to_vjp(rules: Sequence) -> Callable:
    """The uniform vjp from per-argument rules ``rule_i(g, ans, *args, **params)``."""
    rules = tuple(rules)

    def vjp(g, ans, primals, params, needed):
        return tuple(
            rules[i](g, ans, *primals, **params) if need and i < len(rules) and rules[i] is not None
            else None
            for i, need in enumerate(needed))
    return vjp


def define(name: str, impl: Callable, *, jvp: Sequence | None = None,
           vjp: Sequence | None = None, jvp_all: Callable | None = None,
           vjp_all: Callable | None = None, multiple_results: bool = False,
           sparsity: Callable = _structure.dense, cost: Callable,
           residuals: tuple | None = None) -> Primitive:
    """Register an array primitive with per-argument rules (or one rule over all args).

    ``jvp_all(tangents, ans, *args, **params)`` and
    ``vjp_all(g, ans, needed, *args, **params)`` receive every argument at once.
    ``sparsity`` is the structure rule (see :mod:`._structure`; the default is the
    conservative dense rule) and ``cost`` the flop formula (see :mod:`._cost`), both
    callables the sparsity tracer and the counter call.
    """
    prim = Primitive(name, impl, multiple_results=multiple_results)
    if jvp_all is not None:
        prim.jvp = lambda ts, ans, xs, ps: jvp_all(ts, ans, *xs, **ps)
    elif jvp is not None:
        prim.jvp = rules_to_jvp(jvp)
    if vjp_all is not None:
        prim.vjp = lambda g, ans, xs, ps, needed: vjp_all(g, ans, needed, *xs, **ps)
    elif vjp is not None:
        prim.vjp = rules_to_vjp(vjp)
    prim.sparsity = sparsity
    prim.cost = cost
    prim.residuals = residuals
    return register(prim)


def zeros_for(x: Any, batch: tuple = (), dtype: Any = None) -> np.ndarray:
    """A constant zero tangent for ``x`` with the given batch axes (a plain array)."""
    return np.zeros(tuple(batch) + shape(x), dtype=dtype or _dtype_of(x))


def _dtype_of(x: Any) -> Any:
    dt = getattr(x, "dtype", None)
    if dt is None:
        return np.result_type(x)
    return dt
