"""User-defined primitives: ``defprimitive``, ``defjvp``, ``defvjp``.

A user primitive is an ordinary registry entry, so both modes, nesting and
``check_grads`` treat it like a built-in one.  User rules are not assumed to handle
leading batch axes (k directions in ``jacfwd``, k adjoints in ``jacrev``); when a
tangent carries them, the rule is applied one direction at a time.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .primitives import OPS
from .primitives._rules import rules_to_jvp, rules_to_vjp, unbroadcast
from .registry import Primitive, register

__all__ = ["defprimitive", "defjvp", "defvjp"]


class UserFunction:
    """The callable ``defprimitive`` returns: calling it applies the primitive."""

    def __init__(self, prim: Primitive, impl: Callable) -> None:
        self.primitive = prim
        self.__wrapped__ = impl
        self.__name__ = prim.name
        self.__doc__ = impl.__doc__

    def __call__(self, *args: Any, **params: Any) -> Any:
        return self.primitive(*args, **params)

    def __repr__(self) -> str:
        return f"<dualtape primitive {self.primitive.name}>"


def defprimitive(name: str | Callable, impl: Callable | None = None) -> Any:
    """Register ``impl`` (numpy in, numpy out) as a primitive and return a callable that
    traces in every mode.

    Use as ``f = defprimitive("name", impl)``, ``@defprimitive("name")`` or plain
    ``@defprimitive``.  Attach derivatives with :func:`defjvp` / :func:`defvjp`.
    """
    if callable(name) and impl is None:
        impl, name = name, name.__name__
    if impl is None:
        return lambda fn: defprimitive(name, fn)
    prim = Primitive(str(name), impl, kind="user")
    prim.user = True
    register(prim, builtin=False)   # an object: its name may repeat (notebook cells)
    return UserFunction(prim, impl)


def _primitive(f: Any) -> Primitive:
    prim = getattr(f, "primitive", f)
    if not isinstance(prim, Primitive):
        raise TypeError(f"{f!r} is not a dualtape primitive; make one with dt.defprimitive")
    return prim


def _per_direction(rule: Callable, t: Any, x: Any, ans: Any, args: tuple,
                   params: dict) -> Any:
    """Apply an unbatched rule to each entry of the leading batch axes that ``t`` carries
    beyond ``x``'s shape (k directions or k cotangents), and stack the results."""
    nb = len(getattr(t, "shape", ())) - len(getattr(x, "shape", ()))
    if nb == 0:
        return rule(t, ans, *args, **params)
    batch = tuple(t.shape[:nb])
    flat = OPS["reshape"](t, (-1,) + tuple(t.shape[nb:]))
    outs = [rule(flat[j], ans, *args, **params) for j in range(flat.shape[0])]
    if any(o is None for o in outs):
        return None
    stacked = OPS["stack"](outs, 0)
    return OPS["reshape"](stacked, batch + tuple(stacked.shape[1:]))


def defjvp(f: Any, *rules: Callable | None) -> Any:
    """Attach forward rules: ``rule_i(t_i, ans, *args) -> contribution of t_i`` to the
    output tangent (shape of ``ans``).  ``None`` means the output does not depend on
    argument i.  Returns ``f``.  Reverse mode can use a JVP alone: it transposes it.
    """
    prim = _primitive(f)

    def batched(i: int, rule: Callable) -> Callable:
        return lambda t, ans, *args, **params: _per_direction(rule, t, args[i], ans, args,
                                                              params)
    prim.jvp = rules_to_jvp([None if r is None else batched(i, r) for i, r in enumerate(rules)])
    return f


def defvjp(f: Any, *rules: Callable | None) -> Any:
    """Attach reverse rules: ``rule_i(g, ans, *args) -> cotangent for argument i``
    (shape of ``args[i]``; a broadcast shape is summed back).  ``None`` means the output
    does not depend on argument i.  Returns ``f``.
    """
    prim = _primitive(f)

    def batched(i: int, rule: Callable) -> Callable:
        def vjp_i(g, ans, *args, **params):
            c = _per_direction(rule, g, ans, ans, args, params)
            nb = len(getattr(g, "shape", ())) - len(getattr(ans, "shape", ()))
            return None if c is None else _fit(c, tuple(getattr(args[i], "shape", ())), nb,
                                               prim.name, i)
        return vjp_i
    prim.vjp = rules_to_vjp([None if r is None else batched(i, r) for i, r in enumerate(rules)])
    return f


def _fit(c: Any, target: tuple, nb: int, name: str, i: int) -> Any:
    """A user cotangent summed back to its argument's shape if it came out broadcast."""
    got = tuple(getattr(c, "shape", ()))
    if got[nb:] == target:
        return c
    try:
        np.broadcast_shapes(got[nb:], target)
    except ValueError:
        raise ValueError(f"the VJP rule of {name!r} for argument {i} returned shape {got}, "
                         f"not the argument's shape {target}") from None
    return unbroadcast(c, target, nb)
