"""``custom_vjp`` and ``custom_jvp``: JAX-style decorators for functions with their own
derivative rules, built on the user-primitive mechanism of :mod:`dualtape.custom`.

A call with traced arguments applies one user primitive whose results are the leaves of
f's output followed by those of the residuals, so every mode, nesting, counting,
sparsity detection and recorded programs treat it like any other primitive.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Sequence

import numpy as np

from ._api import flatten, leaves_like, unflatten, zeros_tangent
from .custom import _own, _read_only, _result, _shape, _tangent_dtype
from .forward import jvp
from .primitives import OPS
from .registry import Primitive, Tracer, register
from .reverse import vjp

__all__ = ["custom_vjp", "custom_jvp", "CustomFunction"]


# ---- custom_vjp / custom_jvp -----------------------------------------------------------
def custom_vjp(fun: Callable | None = None, *,
               nondiff_argnums: Sequence[int] = ()) -> Any:
    """Decorator for a function with its own reverse rule, as in JAX.

    ``@dt.custom_vjp def f(x, ...)``, then ``f.defvjp(f_fwd, f_bwd)`` with
    ``f_fwd(*args) -> (out, residuals)`` (residuals: any pytree of arrays) and
    ``f_bwd(residuals, g) -> tuple`` with one cotangent per argument of ``f`` (a pytree
    like that argument; ``None`` for zero).  Reverse mode runs ``f_fwd`` once and
    ``f_bwd`` in the sweep; higher orders differentiate ``f_bwd``.  Unlike JAX, a forward
    rule may be added with ``f.defjvp(rule)`` too: each mode then uses its own rule.

    Parameters
    ----------
    fun : callable, optional
        The function (when used as ``@dt.custom_vjp``).  Arguments and outputs may be
        pytrees.
    nondiff_argnums : sequence of int, default ()
        Arguments passed through as they are (not traced; any Python object) and handed
        first to the rules: ``f_bwd(*nondiff, res, g)``.

    Returns
    -------
    f : CustomFunction
        Calls ``fun``; differentiated through the rule(s) given.

    Raises
    ------
    NotImplementedError
        In forward mode (``jvp``, ``jacfwd``, ``linearize``, ``make_hvp``, the default
        forward-over-reverse ``hessian``), naming ``f``, unless ``f.defjvp`` gave a forward
        rule.

    Examples
    --------
    >>> @dt.custom_vjp
    ... def clip_gradient(x):
    ...     return x
    >>> clip_gradient.defvjp(lambda x: (x, None), lambda res, g: (np.clip(g, -1, 1),))
    >>> dt.grad(lambda x: np.sum(clip_gradient(10.0 * x)))(np.ones(2))   # clipped, then x10
    array([10., 10.])
    """
    if fun is None:
        return lambda f: CustomFunction(f, nondiff_argnums, "custom_vjp")
    return CustomFunction(fun, nondiff_argnums, "custom_vjp")


def custom_jvp(fun: Callable | None = None, *,
               nondiff_argnums: Sequence[int] = ()) -> Any:
    """Decorator for a function with its own forward rule, as in JAX.

    ``@dt.custom_jvp def f(x, ...)``, then ``f.defjvp(rule)`` (also usable as
    ``@f.defjvp``) with ``rule(primals, tangents) -> (out, tangent_out)``: primals and
    tangents are tuples with one entry per argument (pytrees like them; a zero tangent
    is passed as zeros).  The rule must be linear in the tangents and written with
    numpy operations: reverse mode transposes it (one reverse sweep over the rule per
    output cotangent), so both modes work from it.  ``f.defvjp(fwd, bwd)`` adds a
    reverse rule that reverse mode uses instead.

    Parameters
    ----------
    fun : callable, optional
        The function (when used as ``@dt.custom_jvp``).
    nondiff_argnums : sequence of int, default ()
        Arguments passed through as they are (not traced; any Python object) and handed
        first to the rule: ``rule(*nondiff, primals, tangents)``.

    Returns
    -------
    f : CustomFunction
        Calls ``fun``; differentiated through the rule(s) given with ``f.defjvp`` /
        ``f.defvjp``.

    Raises
    ------
    TypeError
        When differentiated before a rule is given.

    Examples
    --------
    >>> @dt.custom_jvp
    ... def safe_log1p(x):
    ...     return np.log1p(x)
    >>> @safe_log1p.defjvp
    ... def _(primals, tangents):
    ...     (x,), (t,) = primals, tangents
    ...     return safe_log1p(x), t / (1 + x)
    >>> float(dt.grad(safe_log1p)(1.0))              # reverse mode from the JVP rule
    0.5
    """
    if fun is None:
        return lambda f: CustomFunction(f, nondiff_argnums, "custom_jvp")
    return CustomFunction(fun, nondiff_argnums, "custom_jvp")


class CustomFunction:
    """A function with user derivative rules (:func:`custom_vjp`, :func:`custom_jvp`).

    Each call with traced arguments applies one user primitive (multiple results: the
    leaves of f's output, then those of the residuals), so every mode, nesting,
    counting and sparsity detection treat it like any other primitive.  Rules see
    unbatched tangents and cotangents: with k directions (jacfwd, jacrev) they are
    called once per direction.  Called on plain values it is f itself.
    """

    _custom_rules = True          # dt.defjvp / dt.defvjp point to f.defjvp / f.defvjp
    __name__: str                 # f's, with its other attributes (functools.update_wrapper)

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int], kind: str) -> None:
        functools.update_wrapper(self, fun, updated=())
        self.fun = fun
        self.kind = kind
        self.nondiff_argnums = tuple(sorted({int(i) for i in nondiff_argnums}))
        self.fwd: Callable | None = None
        self.bwd: Callable | None = None
        self.jvp_rule: Callable | None = None
        name = getattr(fun, "__name__", repr(fun))
        prim = Primitive(name, self._impl, multiple_results=True, kind="user")
        prim.user = True
        prim.jvp = self._jvp
        register(prim, builtin=False)
        self._prim = prim

    def __repr__(self) -> str:
        return f"<dualtape {self.kind} function {self.__name__}>"

    def defvjp(self, fwd: Callable, bwd: Callable) -> None:
        """Reverse rules: ``fwd(*args) -> (out, residuals)``, ``bwd(residuals, g) ->
        tuple of cotangents`` (one per differentiable argument; None for zero)."""
        if not (callable(fwd) and callable(bwd)):
            raise TypeError(f"{self.__name__}.defvjp(fwd, bwd) takes two functions")
        self.fwd, self.bwd = fwd, bwd
        self._prim.vjp = self._vjp

    def defjvp(self, rule: Callable) -> Callable:
        """Forward rule: ``rule(primals, tangents) -> (out, tangent_out)``.  Returns
        ``rule``, so it can be used as a decorator."""
        if not callable(rule):
            raise TypeError(f"{self.__name__}.defjvp(rule) takes a function")
        self.jvp_rule = rule
        return rule

    # ---- a call: one primitive application ---------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            args = self._positional(args, kwargs)
        nd = self.nondiff_argnums
        for i in nd:
            if i >= len(args):
                raise TypeError(f"{self.__name__}: nondiff_argnums names argument {i}, but "
                                f"it was called with {len(args)} arguments")
            if any(isinstance(v, Tracer) for v in flatten(args[i])[0]):
                raise TypeError(f"{self.__name__}: argument {i} is in nondiff_argnums but "
                                f"holds a traced value, whose derivative would be lost; "
                                f"pass it as a differentiable argument")
        diff = tuple(a for i, a in enumerate(args) if i not in nd)
        leaves, spec = flatten(diff)
        if not any(isinstance(v, Tracer) for v in leaves):
            return self.fun(*args)                 # nothing to differentiate
        call = _Call(self, args, spec)
        outs = self._prim(*leaves, call=call)
        return unflatten(call.out_spec, list(outs[:call.n_out]))

    def _positional(self, args: tuple, kwargs: dict) -> tuple:
        # as JAX does: keyword arguments are bound to f's positional parameters
        try:
            bound = inspect.signature(self.fun).bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{self.__name__}: {e}") from None
        if bound.kwargs:
            raise TypeError(f"{self.__name__}: keyword-only arguments "
                            f"{sorted(bound.kwargs)} cannot be passed to a {self.kind} "
                            f"function; make them positional")
        return tuple(bound.args)

    def _impl(self, *leaves: Any, call: "_Call") -> tuple:
        args = call.args(leaves)
        if self.fwd is not None:
            got = self.fwd(*args)
            if not isinstance(got, (tuple, list)) or len(got) != 2:
                raise TypeError(f"the fwd rule of {self.__name__} must return a pair "
                                f"(out, residuals), got a {type(got).__name__}")
            out, res = got
        else:
            out, res = self.fun(*args), None
        out_leaves, call.out_spec = flatten(out)
        res_leaves, call.res_spec = flatten([res])     # a bare None: no residuals
        call.n_out = len(out_leaves)
        return tuple(_numeric(v, self.__name__, what)
                     for v, what in [(v, "output") for v in out_leaves]
                     + [(v, "residual") for v in res_leaves])

    # ---- the rules the modes call -----------------------------------------------
    def _jvp(self, tangents, ans, primals, params):
        call = params["call"]
        if self.jvp_rule is None:
            raise NotImplementedError(self._no_forward())
        n = call.n_out
        if all(t is None for t in tangents):
            return (None,) * len(ans)
        d = call.diff_nondiff()

        def one(ts):
            prim_tree = unflatten(call.spec, [_read_only(p) for p in primals])
            tan_tree = unflatten(call.spec, [zeros_tangent(p) if t is None else _own(t)
                                             for p, t in zip(primals, ts)])
            got = self.jvp_rule(*d, prim_tree, tan_tree)
            if not isinstance(got, (tuple, list)) or len(got) != 2:
                raise TypeError(f"the JVP rule of {self.__name__} must return a pair "
                                f"(out, tangent_out), got a {type(got).__name__}")
            outs = leaves_like(call.out_spec, got[1], f"the JVP rule of {self.__name__}",
                               "tangent_out")
            return [_check_exact(c, a, self.__name__, "JVP", f"output leaf {j}", "tangent")
                    for j, (c, a) in enumerate(zip(outs, ans[:n]))]
        got = _directions(one, tangents, primals)
        if len(ans) == n:
            return tuple(got)
        return tuple(got) + tuple(self._residual_jvp(call, tangents, primals))

    def _vjp(self, g, ans, primals, params, needed):
        call = params["call"]
        n = call.n_out
        gs = list(g[:n])
        rs = list(g[n:])
        extra = None
        if any(c is not None for c in rs):
            extra = self._residual_vjp(call, rs, ans[n:], primals, needed)
        if all(c is None for c in gs):
            return (None,) * len(primals) if extra is None else tuple(extra)
        res = unflatten(call.res_spec, [_read_only(r) for r in ans[n:]])[0]
        d = call.diff_nondiff()
        ndiff = len(call.spec[1])

        def one(cs):
            ct = unflatten(call.out_spec, [zeros_tangent(a) if c is None else _own(c)
                                           for a, c in zip(ans[:n], cs)])
            got = self.bwd(*d, res, ct)
            if not isinstance(got, (tuple, list)) or len(got) != ndiff:
                what = (f"a {type(got).__name__} of {len(got)}"
                        if isinstance(got, (tuple, list)) else f"a {type(got).__name__}")
                raise TypeError(f"the bwd rule of {self.__name__} must return a tuple with "
                                f"one cotangent per differentiable argument ({ndiff}), "
                                f"got {what}")
            flat: list = []
            for k, (sub, c) in enumerate(zip(call.spec[1], got)):
                flat += [None] * _count(sub) if c is None else leaves_like(
                    sub, c, f"the bwd rule of {self.__name__}", f"cotangent {k}")
            return [None if c is None else _check_exact(c, x, self.__name__, "VJP",
                                                         f"argument leaf {i}", "cotangent")
                    for i, (c, x) in enumerate(zip(flat, primals))]
        got = _directions(one, gs, ans[:n])
        if extra is not None:
            got = [a if b is None else b if a is None else a + b for a, b in zip(got, extra)]
        return tuple(got)

    # Residuals are functions of the arguments too.  Only an outer derivative (second
    # order) sees them, through the inner rule that reads them; their derivative is
    # that of f_fwd's own code, as in JAX.
    def _residuals_of(self, call: "_Call", idx: list, primals: Sequence) -> Callable:
        fwd = self.fwd
        assert fwd is not None        # residuals exist only for rules made with defvjp

        def res(*xs: Any) -> list:
            leaves = list(primals)
            for i, x in zip(idx, xs):
                leaves[i] = x
            return flatten([fwd(*call.args(leaves))[1]])[0]
        return res

    def _residual_vjp(self, call, rs, res_vals, primals, needed) -> list:
        idx = [i for i, need in enumerate(needed) if need]
        _, pull = vjp(self._residuals_of(call, idx, primals), *[primals[i] for i in idx])

        def one(cs):
            got = pull([zeros_tangent(r) if c is None else c for c, r in zip(cs, res_vals)])
            out: list = [None] * len(primals)
            for i, c in zip(idx, got):
                out[i] = c
            return out
        return _directions(one, rs, res_vals)

    def _residual_jvp(self, call, tangents, primals) -> list:
        idx = [i for i, t in enumerate(tangents) if t is not None]
        f = self._residuals_of(call, idx, primals)

        def one(ts):
            return list(jvp(f, tuple(primals[i] for i in idx), tuple(ts[i] for i in idx))[1])
        return _directions(one, tangents, primals)

    def _no_forward(self) -> str:
        name = self.__name__
        if self.bwd is not None:
            return (f"{name} has only a reverse-mode rule ({name}.defvjp), so forward "
                    f"mode (jvp, jacfwd, linearize, make_hvp, hessian's default "
                    f"forward-over-reverse) cannot differentiate it; add a forward rule "
                    f"with {name}.defjvp(rule), or use reverse mode (grad, vjp, jacrev, "
                    f"hessian(mode='rev-over-rev'))")
        return (f"{name} is a {self.kind} function without derivative rules yet; define "
                f"them with {name}.defvjp(fwd, bwd) or {name}.defjvp(rule) before "
                f"differentiating it")


class _Call:
    """One application of a custom function: how to rebuild its arguments from the
    primitive's leaves, and (filled in by the implementation) its output structure."""

    __slots__ = ("fn", "full", "spec", "out_spec", "res_spec", "n_out")

    def __init__(self, fn: CustomFunction, args: tuple, spec: Any) -> None:
        self.fn = fn
        self.full = args
        self.spec = spec
        self.out_spec = self.res_spec = None
        self.n_out = 0

    def args(self, leaves: Sequence) -> tuple:
        diff = iter(unflatten(self.spec, list(leaves)))
        nd = self.fn.nondiff_argnums
        return tuple(a if i in nd else next(diff) for i, a in enumerate(self.full))

    def diff_nondiff(self) -> tuple:
        return tuple(self.full[i] for i in self.fn.nondiff_argnums)


def _count(spec: Any) -> int:
    # leaves under a spec from flatten
    if spec is None:
        return 1
    if spec[0] == "none":
        return 0
    return sum(_count(c) for c in spec[-1])


def _numeric(v: Any, name: str, what: str) -> Any:
    if isinstance(v, (Tracer, np.ndarray)):
        return v
    arr = np.asarray(v)
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"{name}: an {what} of the custom function is a "
                        f"{type(v).__name__}, not a numeric array; {what}s must be arrays "
                        f"(or pytrees of arrays)")
    return arr


def _check_exact(c: Any, x: Any, name: str, kind: str, where: str, what: str) -> Any:
    """A user rule's tangent/cotangent must have exactly the shape of its primal and its
    tangent dtype (a real part of a complex result is taken for a real primal)."""
    c = _result(c)
    if _shape(c) != _shape(x):
        raise ValueError(f"the {kind} rule of {name} returned a {what} of shape "
                         f"{_shape(c)} for {where}, which has shape {_shape(x)}; they "
                         f"must match")
    want = np.dtype(_tangent_dtype(x))
    if isinstance(x, (np.ndarray, np.generic, Tracer)) and np.dtype(c.dtype) != want:
        if np.dtype(c.dtype).kind == "c" and want.kind != "c":
            raise TypeError(f"the {kind} rule of {name} returned a complex {what} for "
                            f"{where}, which is real; return its real part if that is "
                            f"what you mean")
        c = OPS["astype"](c, want) if np.can_cast(c.dtype, want, "same_kind") else c
        if np.dtype(c.dtype) != want:
            raise TypeError(f"the {kind} rule of {name} returned a {what} of dtype "
                            f"{c.dtype} for {where}, which has dtype {want}")
    return c


def _directions(one: Callable, ts: Sequence, like: Sequence) -> list:
    """Apply an unbatched rule ``one(ts) -> list`` to each of the k directions that the
    tangents/cotangents ``ts`` carry as leading axes beyond their primals ``like``
    (none: one call), and stack the results (None where every direction gave None)."""
    j0 = next(j for j, t in enumerate(ts) if t is not None)
    nb = len(_shape(ts[j0])) - len(_shape(like[j0]))
    if nb == 0:
        return one(ts)
    batch = _shape(ts[j0])[:nb]
    flat = [None if t is None else OPS["reshape"](t, (-1,) + _shape(t)[nb:]) for t in ts]
    k = int(np.prod(batch))
    per = [one([None if t is None else t[j] for t in flat]) for j in range(k)]
    out: list[Any] = []
    for q in range(len(per[0]) if per else 0):
        col = [p[q] for p in per]
        if all(c is None for c in col):
            out.append(None)
            continue
        ref = next(c for c in col if c is not None)
        col = [np.zeros(_shape(ref), dtype=ref.dtype) if c is None else c for c in col]
        st = OPS["stack"](col, 0)
        out.append(OPS["reshape"](st, batch + _shape(st)[1:]))
    return out
