"""Gradient checking for built-in and user rules.

* Forward mode: the JVP along a random direction v equals the central finite
  difference (f(x + h v) - f(x - h v)) / 2h.
* Reverse mode: the VJP satisfies the inner-product identity <u, J v> = <J^T u, v> for
  random u and v, with J v taken from forward mode (or finite differences when forward
  mode is not being checked).
* ``order=2`` (and higher) applies the same checks, recursively, to the maps
  x -> J(x) v and x -> J(x)^T u, so every composition of the modes is exercised.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ._api import check_input, flatten, unflatten
from .forward import jvp
from .reverse import vjp

__all__ = ["check_grads"]


def _leaves(x: Any) -> list[np.ndarray]:
    return [np.asarray(v) for v in flatten(x)[0]]


def _inner(a: Any, b: Any) -> float:
    # Re(sum a b), no conjugation: the pairing under which a VJP is the transpose of the
    # JVP for complex values too (the convention of JAX; real arrays are unaffected)
    return float(sum(np.sum(np.ravel(x) * np.ravel(y)).real
                     for x, y in zip(_leaves(a), _leaves(b))))


def _close(name: str, got: Any, want: Any, rtol: float, atol: float) -> None:
    for g, w in zip(_leaves(got), _leaves(want)):
        g = np.asarray(g, dtype=np.result_type(g, np.float64))
        w = np.asarray(w, dtype=np.result_type(w, np.float64))
        if g.shape != w.shape:
            raise AssertionError(f"{name}: shape {g.shape} != expected {w.shape}")
        if not np.allclose(g, w, rtol=rtol, atol=atol, equal_nan=False):
            err = np.max(np.abs(g - w))
            raise AssertionError(f"{name}: max abs error {err:.3e} (rtol={rtol}, "
                                 f"atol={atol})\n got:      {g}\n expected: {w}")


def _random_like(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    r = rng.standard_normal(np.shape(x))
    if np.iscomplexobj(x):
        r = r + 1j * rng.standard_normal(np.shape(x))
    return r.astype(np.result_type(x))


def _defaults(args: Sequence[np.ndarray]) -> tuple[float, float, float]:
    single = any(np.result_type(a) in (np.float32, np.complex64) for a in args)
    return (1e-3, 2e-2, 2e-3) if single else (1e-6, 1e-5, 1e-6)


def check_grads(f: Callable, args: Sequence, order: int = 1,
                modes: Sequence[str] = ("fwd", "rev"), *, eps: float | None = None,
                rtol: float | None = None, atol: float | None = None,
                seed: int = 0) -> None:
    """Check ``f``'s derivatives at ``args`` against finite differences and each other.

    "fwd" compares the JVP with central finite differences on random directions; "rev"
    checks the VJP against the JVP by the identity ``<u, J v> = <J^T u, v>``.  ``order``
    greater than 1 repeats both checks on the derivative maps.

    Parameters
    ----------
    f : callable
        Returns an array or a tuple/list of arrays.
    args : sequence
        A tuple of float arrays, the point.
    order : int, default 1
        The highest derivative order checked.
    modes : sequence of {"fwd", "rev"}, default ("fwd", "rev")
        The modes to check.
    eps : float, optional
        The finite-difference step (None: chosen from the dtype).
    rtol, atol : float, optional
        Tolerances (None: chosen from the dtype).
    seed : int, default 0
        Seed of the random directions.

    Returns
    -------
    None
        Returns nothing when every check passes.

    Raises
    ------
    AssertionError
        With the mode, the order and the error, if a rule is wrong.

    Examples
    --------
    >>> dt.check_grads(lambda x: np.tanh(x) * x, (np.array([0.3, -1.2]),), order=2)
    >>> bad = dt.defprimitive("bad_sin", np.sin)
    >>> _ = dt.defjvp(bad, lambda t, ans, x: t * np.sin(x))        # wrong: should be cos
    >>> dt.check_grads(bad, (np.array([0.3]),), modes=("fwd",))
    Traceback (most recent call last):
    ...
    AssertionError: ...
    """
    for a in args:
        check_input(a, "check_grads")
    args = tuple(np.asarray(a) for a in args)
    for a in args:
        if not np.issubdtype(a.dtype, np.inexact):
            raise TypeError(f"check_grads needs floating-point arguments, got {a.dtype}")
    d_eps, d_rtol, d_atol = _defaults(args)
    eps, rtol, atol = eps or d_eps, rtol or d_rtol, atol or d_atol
    rng = np.random.default_rng(seed)
    v = tuple(_random_like(a, rng) for a in args)
    out, jv = jvp(f, args, v) if "fwd" in modes else (f(*args), None)

    def fd() -> Any:
        plus = f(*(a + eps * d for a, d in zip(args, v)))
        minus = f(*(a - eps * d for a, d in zip(args, v)))
        return [(np.asarray(p) - np.asarray(m)) / (2 * eps)
                for p, m in zip(_leaves(plus), _leaves(minus))]

    if "fwd" in modes:
        _close(f"forward mode (order {order}): JVP vs finite differences",
               _leaves(jv), fd(), rtol, atol)
    if "rev" in modes:
        out_leaves, out_tree = flatten(out)
        u_tree = [_random_like(np.asarray(o), rng) for o in out_leaves]
        u = unflatten(out_tree, u_tree)
        ju = vjp(f, *args)[1](u)
        lhs = _inner(u_tree, _leaves(jv) if jv is not None else fd())
        rhs = _inner(ju, v)
        scale = max(1.0, abs(lhs), abs(rhs))
        if not abs(lhs - rhs) <= rtol * scale + atol:
            raise AssertionError(
                f"reverse mode (order {order}): <u, J v> = {lhs!r} but <J^T u, v> = "
                f"{rhs!r} (difference {abs(lhs - rhs):.3e})")
    if order > 1:
        if "fwd" in modes:
            check_grads(lambda *xs: jvp(f, xs, v)[1], args, order - 1, modes,
                        eps=eps, rtol=rtol, atol=atol, seed=seed + 1)
        if "rev" in modes:
            u_fixed = u

            def pulled(*xs: Any) -> Any:
                return vjp(f, *xs)[1](u_fixed)
            check_grads(pulled, args, order - 1, modes, eps=eps, rtol=rtol, atol=atol,
                        seed=seed + 2)
