"""Forward mode: dual numbers.

A :class:`Dual` carries a primal value and a tangent.  In vector mode the tangent has a
leading axis of k directions, so one pass gives k directional derivatives; ``jacfwd``
uses that to get a block of Jacobian columns per sweep.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ._api import (as_tangent, basis, check_float, check_output, flatten, jac_assemble,
                   leaves_like, select_args, to_array, unflatten, zeros_tangent)
from .numpy import TracedArray
from . import registry
from .registry import Trace, Tracer, deriving, observer

__all__ = ["Dual", "jvp", "jvp_batch", "jacfwd"]


class ForwardTrace(Trace):
    """One forward-mode context; its duals carry its level."""

    __slots__ = ()
    mode = "forward"

    def process(self, prim, args, params):
        ans, primals, tangents = self.unpack(prim, args, params, "tangent")
        if prim.nondiff:
            return ans
        jvp = prim.jvp
        if jvp is None:
            raise NotImplementedError(
                f"primitive {prim.name!r} has no JVP rule, which forward mode needs; "
                f"add one with dt.defjvp")
        if observer() is None:          # nobody counts here: no bookkeeping per operation
            out = jvp(tangents, ans, primals, params)
        else:
            with deriving():
                out = jvp(tangents, ans, primals, params)
        if prim.multiple_results:
            return tuple(a if t is None else Dual(a, t, self) for a, t in zip(ans, out))
        if out is None:
            return ans
        return Dual(ans, out, self)


_USER_TRACE = ForwardTrace()  # the shared context of duals built by hand: Dual(x, dx)


class Dual(TracedArray):
    """A value with a tangent: ``Dual(primal, tangent)``.

    ``tangent`` has the primal's shape, or ``(k,) + primal.shape`` for k directions.
    Duals built by hand from plain values share one context; one built around another
    context's traced value gets a new, inner context.  ``jvp`` and ``jacfwd`` make their
    own, so nested derivatives never mix up their perturbations.
    """

    __slots__ = ("primal", "tangent")

    def __init__(self, primal: Any, tangent: Any, trace: ForwardTrace | None = None) -> None:
        if trace is None:
            primal = to_array(primal, fn="Dual")
            tangent = to_array(tangent, fn="Dual")
            # A dual built around another context's traced value must be the inner one,
            # or that context would treat it as a constant and lose its derivative.
            traced = isinstance(primal, Tracer) or isinstance(tangent, Tracer)
            trace = ForwardTrace() if traced else _USER_TRACE
            if tangent.shape[tangent.ndim - primal.ndim:] != primal.shape:
                raise ValueError(f"tangent shape {tangent.shape} does not end with the "
                                 f"primal shape {primal.shape}")
        self._trace = trace
        self._level = trace.level
        self.primal = primal
        self.tangent = tangent

    def __repr__(self) -> str:
        return f"Dual({self.primal!r}, {self.tangent!r})"


def _run(f: Callable, args: tuple, argnums: tuple, tangents: Sequence,
         trace: ForwardTrace, fn: str) -> tuple[Any, list, Any]:
    """Call f with the args at ``argnums`` replaced by duals; return out leaves' parts."""
    new = list(args)
    for i, leaves_t in zip(argnums, tangents):
        leaves, tree = flatten(args[i])
        new[i] = unflatten(tree, [Dual(p, t, trace) for p, t in zip(leaves, leaves_t)])
    try:
        out = f(*new)
    finally:
        trace.finish()
    leaves, tree = flatten(out)
    prim, tan = [], []
    level = trace.level
    for leaf in leaves:
        if isinstance(leaf, Dual) and leaf._level == level:
            prim.append(leaf.primal)
            tan.append(leaf.tangent)
        else:
            check_output(leaf, fn)
            prim.append(leaf)
            tan.append(None)
    return prim, tan, tree


def jvp(f: Callable, primals: Sequence, tangents: Sequence) -> tuple[Any, Any]:
    """Push ``tangents`` forward through ``f`` at ``primals``.

    ``primals`` and ``tangents`` are tuples (or lists), one entry per argument of ``f``
    (arrays, or lists/tuples/dicts of arrays), with matching structure and shapes.  A
    tangent array must have its primal's dtype (float32 on float64, or complex on real,
    is a TypeError); Python numbers and lists are converted to the primal's dtype.
    Returns ``(out, out_tangent)`` with ``out_tangent`` shaped like ``out``.
    """
    for name, v in (("primals", primals), ("tangents", tangents)):
        if not isinstance(v, (tuple, list)):
            raise TypeError(f"jvp: {name} must be a tuple or list with one entry per "
                            f"argument of f, got {type(v).__name__}; write "
                            f"dt.jvp(f, (x,), (v,)) for one argument")
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    args, tans = [], []
    for k, (p, t) in enumerate(zip(primals, tangents)):
        pl, tree = flatten(p)
        tl = leaves_like(tree, t, "jvp", f"tangents[{k}]")
        pl = [check_float(to_array(x, fn="jvp"), "jvp") for x in pl]
        tl = [registry.seed(as_tangent(t_, x, "jvp")) for t_, x in zip(tl, pl)]
        for x, t_ in zip(pl, tl):
            if t_.shape != x.shape:
                raise ValueError(f"jvp: tangent shape {t_.shape} != primal shape {x.shape}")
        args.append(unflatten(tree, pl))
        tans.append(tl)
    trace = ForwardTrace()
    prim, tan, tree = _run(f, tuple(args), tuple(range(len(args))), tans, trace, "jvp")
    tan = [zeros_tangent(p) if t is None else t for p, t in zip(prim, tan)]
    return unflatten(tree, prim), unflatten(tree, tan)


def jvp_batch(f: Callable, x: Any, tangents: Any) -> tuple[Any, Any]:
    """Vector mode: push k tangents through ``f`` at ``x`` in one pass.

    ``tangents`` has shape ``(k,) + x.shape``; returns ``(out, out_tangents)`` with
    ``out_tangents.shape == (k,) + out.shape`` (zeros where ``out`` does not depend on
    ``x``).  ``f`` takes one array and returns one array.
    """
    x = check_float(to_array(x, fn="jvp_batch"), "jvp_batch")
    tangents = registry.seed(to_array(tangents, dtype=x.dtype))
    prim, tan, _ = _run(f, (x,), (0,), [[tangents]], ForwardTrace(), "jvp_batch")
    k = tangents.shape[0]
    return prim[0], zeros_tangent(prim[0], (k,)) if tan[0] is None else tan[0]


def jacfwd(f: Callable, argnums: int | Sequence[int] = 0,
           chunk_size: int | None = None) -> Callable:
    """The Jacobian of ``f`` by vector-mode forward passes.

    Returns ``jac(*args)`` giving ``J`` with ``J.shape == out.shape + arg.shape``, a tuple
    of such for a tuple ``argnums``.  Each pass seeds ``chunk_size`` basis directions at
    once (None: all n in one pass), so the cost is ceil(n / chunk_size) passes.
    """
    def jac(*args: Any) -> Any:
        nums, single = select_args(argnums, len(args))
        results = []
        for i in nums:
            x = check_float(to_array(args[i], fn="jacfwd"), "jacfwd")
            fixed = list(args)
            fixed[i] = x
            n = x.size
            k = max(n, 1) if chunk_size is None else max(1, int(chunk_size))
            blocks = []
            prim = tree = None
            for start in range(0, max(n, 1), k):
                stop = min(start + k, n)
                seed = registry.seed(basis(n, start, stop, x.shape, x.dtype))
                prim, tan, tree = _run(f, tuple(fixed), (i,), [[seed]], ForwardTrace(),
                                       "jacfwd")
                blocks.append([zeros_tangent(p, (stop - start,)) if t is None else t
                               for p, t in zip(prim, tan)])
            results.append(jac_assemble(prim, tree, blocks, x.shape, columns=True))
        return results[0] if single else tuple(results)
    return jac
