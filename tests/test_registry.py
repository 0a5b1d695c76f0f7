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


# ---- context-local state ------------------------------------------------------------
def test_escaped_traced_value_names_the_finished_context():
    from dualtape.registry import EscapedTracerError
    kept = []

    def f(x):
        kept.append(x * 2.0)
        return np.sum(x ** 2)

    np.testing.assert_allclose(dt.grad(f)(np.array([1.0, 3.0])), [2.0, 6.0])
    with pytest.raises(EscapedTracerError, match="reverse-mode context that has already "
                                                 "finished"):
        kept[0] + 1.0
    # reading the value on purpose still works
    np.testing.assert_array_equal(kept[0].primal, [2.0, 6.0])


@pytest.mark.parametrize("transform", ["jvp", "jacfwd", "count", "sparsity"])
def test_escape_is_caught_in_every_mode(transform):
    from dualtape.registry import EscapedTracerError
    kept = []

    def f(x):
        kept.append(np.sin(x))
        return x * 1.0
    x = np.array([0.5, 1.0])
    {"jvp": lambda: dt.jvp(f, (x,), (x,)), "jacfwd": lambda: dt.jacfwd(f)(x),
     "count": lambda: dt.count(f, x), "sparsity": lambda: dt.sparsity(f, x)}[transform]()
    with pytest.raises(EscapedTracerError, match="escaped the function"):
        np.cos(kept[0])


def test_escaped_value_inside_a_later_derivative_is_caught():
    from dualtape.registry import EscapedTracerError
    kept = []
    dt.grad(lambda x: kept.append(x) or x * x)(2.0)
    with pytest.raises(EscapedTracerError):
        dt.grad(lambda y: y * kept[0])(3.0)


def test_asyncio_tasks_see_their_own_counter():
    import asyncio

    def f(x):
        return np.sum(np.exp(x))

    async def counted():
        await asyncio.sleep(0)
        return dt.count(dt.grad(f), np.ones(3)).derivative_calls

    async def plain():
        await asyncio.sleep(0)
        return type(dt.grad(f)(np.ones(3)))

    async def main():
        return await asyncio.gather(counted(), plain(), counted(), plain())
    a, b, c, d = asyncio.run(main())
    assert a == c and a > 0
    assert b is np.ndarray and d is np.ndarray


# ---- primitives are objects, not names --------------------------------------------------
def test_user_primitive_may_share_a_builtin_name():
    sin = dt.defprimitive("sin", lambda x: np.sin(x) + 1.0)    # not numpy's sin
    dt.defjvp(sin, lambda t, ans, x: 2.0 * t)
    out, tan = dt.jvp(sin, (np.array([0.0]),), (np.array([1.0]),))
    np.testing.assert_allclose(out, [1.0])
    np.testing.assert_allclose(tan, [2.0])
    # the built-in is untouched
    np.testing.assert_allclose(dt.grad(lambda x: np.sin(x))(0.0), 1.0)
    assert lookup("sin") is not sin.primitive


def test_redefining_a_primitive_makes_a_new_one_and_keeps_the_old():
    def define(scale):
        @dt.defprimitive
        def logsumexp(x):
            return np.log(np.sum(np.exp(x)))
        dt.defvjp(logsumexp, lambda g, ans, x: scale * g * np.exp(x - ans))
        return logsumexp
    first = define(1.0)
    second = define(2.0)              # as if the cell ran again with an edit
    assert first.primitive is not second.primitive
    x = np.array([0.0, np.log(3.0)])
    softmax = np.exp(x) / np.sum(np.exp(x))
    np.testing.assert_allclose(dt.grad(first)(x), softmax)
    np.testing.assert_allclose(dt.grad(second)(x), 2.0 * softmax)
    names = [k for k, p in primitives(user=True).items() if p.name == "logsumexp"]
    assert len(names) >= 2
