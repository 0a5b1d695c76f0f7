"""The registry: bind's dispatch, registration, levels."""

from __future__ import annotations

import numpy as np
import pytest

import dualtape as dt
from dualtape.registry import Primitive, bind, lookup, primitives, register


def test_bind_without_traced_arguments_runs_numpy():
    p = lookup("multiply")
    out = bind(p, np.array([2.0, 3.0]), 4.0)
    assert type(out) is np.ndarray
    np.testing.assert_array_equal(out, [8.0, 12.0])


def test_bind_hands_the_call_to_the_innermost_level():
    seen = []

    def f(x):
        def g(y):
            r = x * y
            seen.append(type(r).__name__)
            return r
        return dt.grad(g)(2.0)
    # Outer forward, inner reverse: the product of an outer dual and an inner variable
    # belongs to the inner (reverse) context.
    out, tangent = dt.jvp(f, (3.0,), (1.0,))
    assert seen == ["Variable"]
    assert out == 3.0 and tangent == 1.0     # d/dx [d/dy x*y] = d/dx x = 1


def test_builtin_names_are_unique():
    with pytest.raises(ValueError, match="already registered"):
        register(Primitive("add", np.add))


def test_lookup_unknown_name():
    with pytest.raises(KeyError, match="no built-in primitive named"):
        lookup("no_such_primitive")


def test_registry_knows_no_mode_by_name():
    import ast
    import inspect

    import dualtape.registry as reg
    tree = ast.parse(inspect.getsource(reg))
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    for mode_name in ("Dual", "Variable", "Tape", "ForwardTrace", "SparsityTrace",
                      "forward", "reverse"):
        assert mode_name not in names, mode_name


def test_primitive_kinds_are_recorded():
    kinds = {n: p.kind for n, p in primitives().items() if not p.user}
    assert kinds["multiply"] == "elementwise"
    assert kinds["greater"] == "nondiff"
    assert kinds["matmul"] == "array"
