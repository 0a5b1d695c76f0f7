"""The public transforms' types, as a type checker sees them: mypy checks this file
(tests/test_typing.py; it warns of unused ignores); it is never run.  Each
``assert_type`` fails the check if a type drifts, and each ``type: ignore[...]`` marks a
call that must be an error (an unused one fails the check too): the functions a
transform returns keep f's parameters, ``argnums`` and ``has_aux`` change the result
as stated, ``return_info=True`` adds the typed info record."""

# mypy: warn-unused-ignores
from __future__ import annotations

from typing import Any, Callable

import numpy as np
from scipy.sparse import csr_array
from typing_extensions import assert_type

import dualtape as dt

Array = np.ndarray


def loss(w: Array, b: float, *, scale: float = 1.0) -> float:
    return 0.0


def loss_aux(w: Array, b: float) -> tuple[float, str]:
    return 0.0, ""


def layer(x: Array, w: Array) -> Array:
    return x


def elementwise(x: Array) -> Array:
    return x


w: Array = np.ones(3)

# grad keeps f's parameters; with argnums=0 the gradient has the argument's type
g = dt.grad(loss)
assert_type(g(w, 1.0, scale=2.0), Array)
g(w, "one")              # type: ignore[arg-type]
g(w, 1.0, scal=2.0)      # type: ignore[call-arg]
g(w)                     # type: ignore[call-arg]
assert_type(dt.grad(loss, 1)(w, 1.0), Any)
dt.grad(loss, 1)(w, "one")                  # type: ignore[arg-type]
assert_type(dt.grad(loss, (0, 1))(w, 1.0), tuple[Any, ...])
assert_type(dt.grad(loss_aux, has_aux=True)(w, 1.0), tuple[Array, str])
assert_type(dt.grad(loss_aux, 1, True)(w, 1.0), tuple[Any, str])
dt.grad(loss, has_aux=True)          # type: ignore[call-overload]  # f returns no pair

# value_and_grad: (f's value, the gradient)
assert_type(dt.value_and_grad(loss)(w, 1.0), tuple[float, Array])
assert_type(dt.value_and_grad(loss, (0, 1))(w, 1.0), tuple[float, tuple[Any, ...]])
assert_type(dt.value_and_grad(loss_aux, has_aux=True)(w, 1.0),
            tuple[tuple[float, str], Array])

# Jacobians and Hessians keep f's parameters; tuple argnums give a tuple, has_aux a pair
assert_type(dt.jacfwd(layer)(w, w), Any)
dt.jacfwd(layer)(w)                          # type: ignore[call-arg]
dt.jacrev(layer)(w, w, w)                    # type: ignore[call-arg]
assert_type(dt.jacfwd(layer, (0, 1))(w, w), tuple[Any, ...])
assert_type(dt.jacrev(layer, (0, 1))(w, w), tuple[Any, ...])
assert_type(dt.jacfwd(loss_aux, has_aux=True)(w, 1.0), tuple[Any, str])
assert_type(dt.jacrev(loss_aux, has_aux=True)(w, 1.0), tuple[Any, str])
assert_type(dt.hessian(loss)(w, 1.0), Any)
dt.hessian(loss)(w, "one")                   # type: ignore[arg-type]

# return_info=True adds the typed, frozen info record; a sparse Jacobian is a csr_array
assert_type(dt.jacobian(elementwise, w, return_info=True), tuple[Any, dt.JacobianInfo])
assert_type(dt.jacobian(elementwise, w, structure="sparse"), csr_array)
assert_type(dt.jacobian(elementwise, w, "fwd", "sparse"), csr_array)
J, info = dt.jacobian(elementwise, w, "auto", "sparse", return_info=True)
assert_type(J, csr_array)
assert_type(info.colors, int | None)
assert_type(info.passes, int)
assert_type(info.reason, str)
info.passes = 3                              # type: ignore[misc]  # frozen
dt.jacobian(elementwise, w, mode="forward")  # type: ignore[call-overload]
hJ, hinfo = dt.hessian(loss, structure="sparse", return_info=True)(w, 1.0)
assert_type(hinfo, dt.HessianInfo)
assert_type(hinfo.method, str)
assert_type(hinfo.nnz, int | None)
dt.hessian(loss, method="greedy")            # type: ignore[call-overload]

# jvp / vjp / linearize: the output has f's result type
assert_type(dt.jvp(layer, (w, w), (w, w)), tuple[Array, Array])
assert_type(dt.jvp(loss_aux, (w, 1.0), (w, 0.0), has_aux=True), tuple[float, float, str])
out, pull = dt.vjp(layer, w, w)
assert_type(out, Array)
assert_type(pull(w), tuple[Any, ...])
out_aux, pull_aux, aux = dt.vjp(loss_aux, w, 1.0, has_aux=True)
assert_type(aux, str)
y, f_jvp = dt.linearize(layer, w, w)
assert_type(f_jvp(w, w), Array)
assert_type(dt.linearize(loss_aux, w, 1.0, has_aux=True)[2], str)
assert_type(dt.hvp(elementwise, w, w), Array)
hvp_at = dt.make_hvp(loss)
assert_type(hvp_at(w, 1.0), Callable[[Any], Any])
hvp_at(w)                                    # type: ignore[call-arg]
