"""Forward mode: dual numbers.

A :class:`Dual` carries a primal value and a tangent.  In vector mode the tangent has a
leading axis of k directions, so one pass gives k directional derivatives; ``jacfwd``
uses that to get a block of Jacobian columns per sweep.
"""

from __future__ import annotations

from typing import Any, Callable, Concatenate, Literal, Sequence, overload

from ._api import (as_tangent, assemble_columns, check_float, check_output, flatten,
                   leaves_like, seeds_for, select_args, split_aux, strip_aux, to_array,
                   unflatten, with_kwargs, wraps, zeros_tangent)
from .numpy import TracedArray
from . import registry
from ._typing import A, P, R, X
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
    """A value with a tangent: ``Dual(primal, tangent)``, forward mode by hand.

    Duals built by hand from plain values share one context; one built around another
    context's traced value gets a new, inner context.  ``jvp`` and ``jacfwd`` make their
    own, so nested derivatives never mix up their perturbations.

    Parameters
    ----------
    primal : array_like
        The value.
    tangent : array_like
        The primal's shape, or ``(k,) + primal.shape`` for k directions at once.

    Attributes
    ----------
    primal : ndarray
        The value.
    tangent : ndarray
        The tangent, shaped as given.

    Examples
    --------
    >>> x = dt.Dual(2.0, 1.0)
    >>> y = x * x + np.sin(x)
    >>> round(float(y.primal), 4), round(float(y.tangent), 4)     # x^2 + sin x, 2 x + cos x
    (4.9093, 3.5839)
    >>> v = dt.Dual(np.array([1.0, 2.0]), np.eye(2))   # two directions in one pass
    >>> (v ** 2).tangent                                # rows: the Jacobian's columns
    array([[2., 0.],
           [0., 4.]])
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
         trace: ForwardTrace, fn: str, has_aux: bool = False) -> tuple[Any, ...]:
    """Call f with the args at ``argnums`` replaced by duals; return out leaves' parts
    (and, with ``has_aux``, f's aux with this context's duals stripped, as a fourth)."""
    new = list(args)
    for i, leaves_t in zip(argnums, tangents):
        leaves, tree = flatten(args[i])
        new[i] = unflatten(tree, [Dual(p, t, trace) for p, t in zip(leaves, leaves_t)])
    try:
        out = f(*new)
    finally:
        trace.finish()
    if has_aux:
        out, aux = split_aux(out, fn)
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
    if has_aux:
        return prim, tan, tree, strip_aux(aux, level)
    return prim, tan, tree


@overload
def jvp(f: Callable[..., R], primals: Sequence[Any], tangents: Sequence[Any],
        has_aux: Literal[False] = False) -> tuple[R, R]: ...
@overload
def jvp(f: Callable[..., tuple[R, A]], primals: Sequence[Any], tangents: Sequence[Any],
        has_aux: Literal[True]) -> tuple[R, R, A]: ...
def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any],
        has_aux: bool = False) -> tuple[Any, ...]:
    """Push ``tangents`` forward through ``f`` at ``primals`` (one forward pass).

    Parameters
    ----------
    f : callable
        A function of arrays (or lists/tuples/dicts of arrays).
    primals : tuple or list
        One entry per argument of ``f``: arrays, numbers, or pytrees of them.
    tangents : tuple or list
        Same structure and shapes as ``primals``.  A tangent array must have its
        primal's dtype; Python numbers and lists are converted to it.
    has_aux : bool, default False
        ``f`` returns ``(out, aux)``; ``aux`` is returned with this derivative's traced
        values replaced by their values.

    Returns
    -------
    out : array or pytree
        ``f(*primals)``.
    out_tangent : array or pytree
        ``J @ tangents``, shaped like ``out``.
    aux : object
        Only with ``has_aux=True``: ``(out, out_tangent, aux)``.

    Raises
    ------
    TypeError
        If ``primals`` or ``tangents`` is not a tuple or list, if their structures differ,
        or if a tangent's dtype differs from its primal's (float32 on float64, complex on
        real).

    Examples
    --------
    >>> out, t = dt.jvp(lambda x, y: x * np.sin(y), (2.0, 0.0), (1.0, 1.0))
    >>> float(out), float(t)                  # sin(y) + x cos(y) at (2, 0)
    (0.0, 2.0)
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
    got = _run(f, tuple(args), tuple(range(len(args))), tans, trace, "jvp", has_aux)
    prim, tan, tree = got[:3]
    tan = [zeros_tangent(p) if t is None else t for p, t in zip(prim, tan)]
    if has_aux:
        return unflatten(tree, prim), unflatten(tree, tan), got[3]
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


@overload
def jacfwd(f: Callable[Concatenate[X, P], Any], argnums: int = 0,
           chunk_size: int | None = None,
           has_aux: Literal[False] = False) -> Callable[Concatenate[X, P], Any]: ...
@overload
def jacfwd(f: Callable[P, Any], argnums: Sequence[int], chunk_size: int | None = None,
           has_aux: Literal[False] = False) -> Callable[P, tuple[Any, ...]]: ...
@overload
def jacfwd(f: Callable[P, tuple[Any, A]], argnums: int | Sequence[int] = 0,
           chunk_size: int | None = None, *,
           has_aux: Literal[True]) -> Callable[P, tuple[Any, A]]: ...
def jacfwd(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
           chunk_size: int | None = None, has_aux: bool = False) -> Callable[..., Any]:
    """The Jacobian of ``f`` by vector-mode forward passes.

    Every leaf of every selected argument is seeded as one vector of n numbers,
    ``chunk_size`` directions per pass, so the cost is ``ceil(n / chunk_size)`` passes
    (one when ``chunk_size`` is None).

    Parameters
    ----------
    f : callable
        A function of arrays or pytrees (nested tuples, lists, dicts, namedtuples;
        ``None`` is an empty subtree).
    argnums : int or sequence of int, default 0
        The argument(s) to differentiate.
    chunk_size : int, optional
        Directions carried per pass (None: all n at once).
    has_aux : bool, default False
        ``f`` returns ``(out, aux)`` and ``jac`` returns ``(J, aux)``.

    Returns
    -------
    jac : callable
        ``jac(*args, **kwargs)`` (keyword arguments go to ``f``, not differentiated)
        returns J with ``J.shape == out.shape + arg.shape`` for array input and output.
        Pytrees nest as in JAX: ``J[out_path][in_path]`` has shape
        ``out_leaf.shape + in_leaf.shape``; for a tuple ``argnums`` each output leaf holds
        a tuple with one entry per argument.

    Raises
    ------
    TypeError
        If a differentiated input is an integer or boolean array.

    Examples
    --------
    >>> J = dt.jacfwd(lambda x: x ** 2)(np.array([1.0, 2.0, 3.0]))
    >>> J
    array([[2., 0., 0.],
           [0., 4., 0.],
           [0., 0., 6.]])
    """
    @wraps(f)
    def jac(*args: Any, **kwargs: Any) -> Any:
        nums, single = select_args(argnums, len(args))
        uniq = tuple(dict.fromkeys(nums))
        fixed = list(args)
        leaves_of, trees = {}, {}
        for i in uniq:
            leaves, tree = flatten(args[i])
            leaves = [check_float(to_array(x, fn="jacfwd"), "jacfwd") for x in leaves]
            fixed[i] = unflatten(tree, leaves)
            leaves_of[i], trees[i] = leaves, tree
        flat = [x for i in uniq for x in leaves_of[i]]
        n = sum(int(x.size) for x in flat)
        fk = with_kwargs(f, kwargs)
        k = max(n, 1) if chunk_size is None else max(1, int(chunk_size))
        blocks = []
        got: Any = None
        for start in range(0, max(n, 1), k):     # one pass even for no directions
            stop = min(start + k, n)
            seeds = iter(registry.seed(s) for s in seeds_for(flat, start, stop))
            tangents = [[next(seeds) for _ in leaves_of[i]] for i in uniq]
            got = _run(fk, tuple(fixed), uniq, tangents, ForwardTrace(), "jacfwd", has_aux)
            blocks.append([zeros_tangent(p, (stop - start,)) if t is None else t
                           for p, t in zip(got[0], got[1])])
        prim, tree = got[0], got[2]
        shapes = [tuple(x.shape) for x in flat]
        per_out = []
        for j, p in enumerate(prim):
            js = iter(assemble_columns(p, [b[j] for b in blocks], shapes))
            by_arg = {i: unflatten(trees[i], [next(js) for _ in leaves_of[i]]) for i in uniq}
            per_out.append(by_arg[nums[0]] if single else tuple(by_arg[i] for i in nums))
        J = unflatten(tree, per_out)
        return (J, got[3]) if has_aux else J
    return jac
