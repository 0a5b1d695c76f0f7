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
from .primitives._rules import unbroadcast
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
    prim.batched = False
    register(prim)
    return UserFunction(prim, impl)


def _primitive(f: Any) -> Primitive:
    prim = getattr(f, "primitive", f)
    if not isinstance(prim, Primitive):
        raise TypeError(f"{f!r} is not a dualtape primitive; make one with dt.defprimitive")
    return prim


def _per_direction(rule: Callable, t: Any, nb: int, args: tuple, params: dict) -> Any:
    """Apply an unbatched rule to each of the leading ``nb`` batch entries of ``t``."""
    if nb == 0:
        return rule(t, *args, **params)
    batch = tuple(t.shape[:nb])
    flat = OPS["reshape"](t, (-1,) + tuple(t.shape[nb:]))
    outs = [rule(flat[j], *args, **params) for j in range(flat.shape[0])]
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
    rules = tuple(rules)

    def jvp(tangents, ans, primals, params):
        out = None
        for i, t in enumerate(tangents):
            if t is None or i >= len(rules) or rules[i] is None:
                continue
            nb = len(getattr(t, "shape", ())) - len(getattr(primals[i], "shape", ()))
            c = _per_direction(rules[i], t, nb, (ans,) + tuple(primals), params)
            if c is None:
                continue
            out = c if out is None else out + c
        return out

    prim.jvp_rules = rules
    prim.jvp = jvp
    return f


def defvjp(f: Any, *rules: Callable | None) -> Any:
    """Attach reverse rules: ``rule_i(g, ans, *args) -> cotangent for argument i``
    (shape of ``args[i]``; a broadcast shape is summed back).  ``None`` means the output
    does not depend on argument i.  Returns ``f``.
    """
    prim = _primitive(f)
    rules = tuple(rules)

    def vjp(g, ans, primals, params, needed):
        nb = len(getattr(g, "shape", ())) - len(getattr(ans, "shape", ()))
        res = []
        for i, need in enumerate(needed):
            if not need or i >= len(rules) or rules[i] is None:
                res.append(None)
                continue
            c = _per_direction(rules[i], g, nb, (ans,) + tuple(primals), params)
            target = tuple(getattr(primals[i], "shape", ()))
            if c is not None and tuple(getattr(c, "shape", ()))[nb:] != target:
                try:
                    np.broadcast_shapes(tuple(c.shape)[nb:], target)
                except (ValueError, AttributeError):
                    raise ValueError(
                        f"the VJP rule of {prim.name!r} for argument {i} returned shape "
                        f"{getattr(c, 'shape', ())}, not the argument's shape {target}"
                    ) from None
                c = unbroadcast(c, target, nb)
            res.append(c)
        return tuple(res)

    prim.vjp_rules = rules
    prim.vjp = vjp
    return f
