"""The gradient checker accepts correct rules and rejects wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp

X = (np.array([0.3, -0.8, 1.1]),)


def _prim(name, jvp=None, vjp=None):
    p = dt.defprimitive(name, np.sin)
    if jvp:
        dt.defjvp(p, jvp)
    if vjp:
        dt.defvjp(p, vjp)
    return p


def test_accepts_a_correct_rule():
    p = _prim("chk_sin_ok", lambda t, ans, x: t * dnp.cos(x), lambda g, ans, x: g * dnp.cos(x))
    dt.check_grads(p, X, order=2)


def test_rejects_a_wrong_jvp():
    p = _prim("chk_sin_bad_jvp", lambda t, ans, x: t * dnp.sin(x),
              lambda g, ans, x: g * dnp.cos(x))
    with pytest.raises(AssertionError, match="forward mode"):
        dt.check_grads(p, X, modes=("fwd",))


def test_rejects_a_wrong_vjp():
    # A transposition bug: right values, wrong sign.
    p = _prim("chk_sin_bad_vjp", lambda t, ans, x: t * dnp.cos(x),
              lambda g, ans, x: -g * dnp.cos(x))
    with pytest.raises(AssertionError, match="reverse mode"):
        dt.check_grads(p, X, modes=("fwd", "rev"))
    # without forward mode, the identity is checked against finite differences
    with pytest.raises(AssertionError, match="reverse mode"):
        dt.check_grads(p, X, modes=("rev",))


def test_order_two_catches_a_rule_that_is_not_differentiable():
    # Right first derivative, but computed on the plain value: its own derivative is lost.
    p = _prim("chk_sin_opaque", lambda t, ans, x: t * np.cos(getattr(x, "value", x)),
              lambda g, ans, x: g * np.cos(getattr(x, "value", x)))
    dt.check_grads(p, X, order=1)
    with pytest.raises(AssertionError, match="order 1"):
        dt.check_grads(p, X, order=2)


def test_integer_arguments_are_refused():
    with pytest.raises(TypeError, match="floating-point"):
        dt.check_grads(lambda x: x, (np.arange(3),))
