"""User-defined primitives: ``defprimitive``, ``defjvp``, ``defvjp``; and
``stop_gradient``.  The JAX-style decorators built on the same mechanism are in
:mod:`dualtape.custom_rules`.

A user primitive is an ordinary registry entry, so both modes, nesting and
``check_grads`` treat it like a built-in one.  User rules are not assumed to handle
leading batch axes (k directions in ``jacfwd``, k adjoints in ``jacrev``); when a
tangent carries them, the rule is applied one direction at a time.

User rules are checked, since a wrong one would give a wrong derivative silently:
each call gets its own copy of the tangent/cotangent (so it may update it in place)
and read-only views of ``ans`` and the arguments (the tape and other rules read them
again); a result of the wrong shape or dtype raises an error naming the primitive and
the argument.  Broadcasting is accepted only as numpy's broadcasting of that argument
allows it.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._api import flatten, unflatten
from .primitives import OPS
from .primitives._rules import rules_to_jvp, rules_to_vjp, unbroadcast
from .primitives.control import stop_gradient_p
from .registry import Primitive, Tracer, register

__all__ = ["defprimitive", "defjvp", "defvjp", "stop_gradient"]


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
    """Register ``impl`` (numpy in, numpy out) as a new primitive and return a callable
    that traces in every mode.

    Use as ``f = defprimitive("name", impl)``, ``@defprimitive("name")`` or plain
    ``@defprimitive``, then attach derivatives with :func:`dualtape.defjvp` and
    :func:`dualtape.defvjp`.  A primitive is an object, not a name: defining one with
    the name of a built-in, or defining it again, makes a new primitive and leaves the
    old one alone.

    Parameters
    ----------
    name : str or callable
        The name shown in reports and error messages, or (used as a plain decorator) the
        implementation itself, named after it.
    impl : callable, optional
        The implementation, called with plain numpy values.

    Returns
    -------
    f : callable
        Applies ``impl`` to plain values; on traced values, records one application of
        the primitive.  Without rules, differentiating through it raises an error naming
        it.

    Raises
    ------
    TypeError
        When called, if ``impl`` returns something numpy can only hold as an object array
        (a Python number or list is converted).

    Examples
    --------
    >>> @dt.defprimitive("cube")
    ... def cube(x):
    ...     return x ** 3
    >>> _ = dt.defjvp(cube, lambda t, ans, x: 3 * x ** 2 * t)
    >>> float(dt.grad(cube)(2.0))                    # reverse mode transposes the JVP
    12.0
    """
    if callable(name) and impl is None:
        impl, name = name, name.__name__
    if impl is None:
        return lambda fn: defprimitive(name, fn)
    prim = Primitive(str(name), _as_array_impl(str(name), impl), kind="user")
    prim.user = True
    register(prim, builtin=False)   # an object: its name may repeat (notebook cells)
    return UserFunction(prim, impl)


def _as_array_impl(name: str, impl: Callable) -> Callable:
    def run(*args: Any, **params: Any) -> Any:
        out = impl(*args, **params)
        if isinstance(out, (Tracer, np.ndarray, np.generic)):
            return out
        arr = np.asarray(out)
        if arr.dtype.kind not in "biufc":
            raise TypeError(
                f"the implementation of primitive {name!r} returned a "
                f"{type(out).__name__}, which numpy holds as dtype {arr.dtype}, not a "
                f"numeric array; return a numpy array (or a number)")
        return arr
    return run


def _primitive(f: Any) -> Primitive:
    if getattr(f, "_custom_rules", False):
        raise TypeError(f"{f.__name__!r} is a custom_vjp/custom_jvp function: give it rules "
                        f"with {f.__name__}.defvjp(fwd, bwd) or {f.__name__}.defjvp(rule)")
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


# ---- what a user rule is handed, and what it may return --------------------------------
def _own(t: Any) -> Any:
    """A tangent/cotangent the rule may update in place: the modes share these arrays
    between branches, so each rule call gets its own copy."""
    return t.copy() if isinstance(t, np.ndarray) else t


def _read_only(x: Any) -> Any:
    """A read-only view of a primal value the tape (and other rules) will read again."""
    if isinstance(x, np.ndarray) and x.flags.writeable:
        x = x.view()
        x.flags.writeable = False
    return x


def _call(rule: Callable, t: Any, ans: Any, args: tuple, params: dict) -> Any:
    return rule(_own(t), _read_only(ans), *(_read_only(a) for a in args), **params)


def _shape(x: Any) -> tuple:
    return tuple(getattr(x, "shape", np.shape(x)))


def _result(c: Any) -> Any:
    return c if isinstance(c, (Tracer, np.ndarray)) else np.asarray(c)


def _check_dtype(c: Any, want: Any, complex_ok: bool, name: str, kind: str, i: int,
                 what: str) -> None:
    got = np.dtype(c.dtype)
    want = np.dtype(want)
    if got == want or (want.kind == "c" and got.kind == "f"):
        return
    if got.kind == "c" and want.kind != "c":
        if complex_ok:
            return                  # a real input of a complex output: the real part counts
        detail = "a real primitive cannot have a complex " + what
    else:
        detail = f"return an array of dtype {want} (x.astype({want.name!r}))"
    raise TypeError(f"the {kind} rule of primitive {name!r} for argument {i} returned dtype "
                    f"{got}, but {what} must have dtype {want}; {detail}")


def _tangent_dtype(x: Any) -> Any:
    dt = getattr(x, "dtype", None)
    dt = np.result_type(x) if dt is None else dt
    return dt if np.issubdtype(dt, np.inexact) else np.float64


def _checked_jvp(name: str, i: int, rule: Callable) -> Callable:
    """``rule`` with its contribution checked against the output: its shape must be the
    output's, or broadcast to it only along axes where argument i itself broadcasts."""
    def run(t: Any, ans: Any, *args: Any, **params: Any) -> Any:
        c = _call(rule, t, ans, args, params)
        if c is None:
            return None
        c = _result(c)
        out, xs, cs = _shape(ans), _shape(args[i]), _shape(c)
        _check_dtype(c, _tangent_dtype(ans), False, name, "JVP", i, "the output tangent")
        if cs == out:
            return c
        ok = len(cs) <= len(out)
        for k in range(1, len(out) + 1):
            o = out[-k]
            cd = cs[-k] if k <= len(cs) else 1
            xd = xs[-k] if k <= len(xs) else 1
            ok = ok and (cd == o or (cd == 1 and (o == 1 or xd == 1)))
        if not ok:
            raise ValueError(
                f"the JVP rule of primitive {name!r} for argument {i} returned shape {cs}, "
                f"but the output tangent has the output's shape {out}; a missing or "
                f"size-1 axis is allowed only where argument {i} (shape {xs}) has one")
        return OPS["broadcast_to"](c, out)
    return run


def _checked_vjp(name: str, i: int, rule: Callable) -> Callable:
    """``rule`` with its cotangent checked against argument i: its shape must be the
    argument's, or a shape the argument broadcasts to within the output (summed back)."""
    def run(g: Any, ans: Any, *args: Any, **params: Any) -> Any:
        c = _call(rule, g, ans, args, params)
        if c is None:
            return None
        c = _result(c)
        x = args[i]
        out, xs, cs = _shape(ans), _shape(x), _shape(c)
        if isinstance(x, (np.ndarray, np.generic, Tracer)):   # Python numbers: any float
            _check_dtype(c, _tangent_dtype(x), np.dtype(_tangent_dtype(ans)).kind == "c",
                         name, "VJP", i, "the cotangent of that argument")
        if cs == xs:
            return c
        try:
            between = (np.broadcast_shapes(xs, cs) == cs
                       and np.broadcast_shapes(cs, out) == out)
        except ValueError:
            between = False
        if not between:
            raise ValueError(
                f"the VJP rule of primitive {name!r} for argument {i} returned shape {cs}, "
                f"but that argument has shape {xs} (the output has shape {out}); return "
                f"the argument's shape, or the output's if the argument broadcasts")
        return unbroadcast(c, xs, 0)
    return run


def defjvp(f: Any, *rules: Callable | None) -> Any:
    """Attach forward rules to a primitive made by :func:`dualtape.defprimitive`.

    ``rule_i(t_i, ans, *args)`` returns the contribution of argument i's tangent to the
    output tangent.  Reverse mode can use a JVP alone: the rule is linear in ``t_i``, so
    reverse mode transposes it.  Rules see one direction at a time (vector mode applies
    them per direction) and should be written with dualtape's or numpy's operations on
    their arguments, so that they can be differentiated again.

    Parameters
    ----------
    f : callable
        The primitive.
    *rules : callable or None
        One per argument of ``f``; ``None`` means the output does not depend on that
        argument.  Each call gets its own copy of ``t_i`` (the rule may update it in
        place) and read-only views of ``ans`` and ``args``.

    Returns
    -------
    f : callable
        The same primitive, so that calls can be chained.

    Raises
    ------
    ValueError
        When a rule runs, if its result does not have the output's shape (or a shape
        broadcastable to it where argument i broadcasts), naming the primitive, the
        argument and both shapes.
    TypeError
        When a rule runs, if its result has another dtype (a complex tangent of a real
        output).

    Examples
    --------
    >>> scaled = dt.defprimitive("scaled", lambda a, x: a * x)
    >>> _ = dt.defjvp(scaled, lambda t, ans, a, x: t * x, lambda t, ans, a, x: a * t)
    >>> float(dt.jvp(scaled, (2.0, 3.0), (0.0, 1.0))[1])    # d/dx (a x) = a
    2.0
    """
    prim = _primitive(f)

    def batched(i: int, rule: Callable) -> Callable:
        checked = _checked_jvp(prim.name, i, rule)
        return lambda t, ans, *args, **params: _per_direction(checked, t, args[i], ans, args,
                                                              params)
    prim.jvp = rules_to_jvp([None if r is None else batched(i, r) for i, r in enumerate(rules)])
    return f


def defvjp(f: Any, *rules: Callable | None) -> Any:
    """Attach reverse rules to a primitive made by :func:`dualtape.defprimitive`.

    ``rule_i(g, ans, *args)`` returns the cotangent of argument i: ``g`` times the
    derivative of the output with respect to that argument.  A primitive with only VJP
    rules raises a clear error in forward mode.

    Parameters
    ----------
    f : callable
        The primitive.
    *rules : callable or None
        One per argument of ``f``; ``None`` means the output does not depend on that
        argument.  Each call gets its own copy of ``g`` and read-only views of ``ans``
        and ``args``.

    Returns
    -------
    f : callable
        The same primitive.

    Raises
    ------
    ValueError
        When a rule runs, if the cotangent does not have argument i's shape (the
        output's shape is summed back if argument i broadcasts), naming the primitive
        and the argument.
    TypeError
        When a rule runs, if the cotangent's dtype is not the argument's.

    Examples
    --------
    >>> softsign = dt.defprimitive("softsign", lambda x: x / (1 + np.abs(x)))
    >>> _ = dt.defvjp(softsign, lambda g, ans, x: g / (1 + np.abs(x)) ** 2)
    >>> dt.grad(lambda x: np.sum(softsign(x)))(np.array([0.0, 1.0]))
    array([1.  , 0.25])
    """
    prim = _primitive(f)

    def batched(i: int, rule: Callable) -> Callable:
        checked = _checked_vjp(prim.name, i, rule)
        return lambda g, ans, *args, **params: _per_direction(checked, g, ans, ans, args,
                                                              params)
    prim.vjp = rules_to_vjp([None if r is None else batched(i, r) for i, r in enumerate(rules)])
    return f


# ---- stop_gradient ---------------------------------------------------------------------
def stop_gradient(x: Any) -> Any:
    """``x`` unchanged as a value, with derivative zero in every mode and at every order.

    Under nested derivatives it stops every one of them.  Sparsity detection sees no
    dependence through it.

    Parameters
    ----------
    x : array_like or pytree
        An array or a pytree of arrays (tuples, lists, dicts).

    Returns
    -------
    out : array or pytree
        The values of ``x``, with its structure, as constants.

    Examples
    --------
    >>> float(dt.grad(lambda x: x * dt.stop_gradient(x))(3.0))   # d/dx (x c) with c = x
    3.0
    """
    leaves, tree = flatten(x)
    return unflatten(tree, [stop_gradient_p(v) for v in leaves])
