"""dt.count: exact, deterministic operation counts in every mode."""

from __future__ import annotations

import numpy as np

import dualtape as dt


def chain(k):
    def f(x):
        for _ in range(k):
            x = np.sin(x) * 1.5
        return np.sum(x)
    return f


def test_plain_evaluation_counts_every_primitive():
    # k sin, k multiply, one sum over 10 elements: 2k + 1 calls, (2k + 1) * 10 flops
    c = dt.count(chain(4), np.ones(10))
    assert (c.primal_calls, c.primal_flops, c.derivative_calls) == (9, 90, 0)
    np.testing.assert_allclose(c.value, chain(4)(np.ones(10)), rtol=0)


def test_reverse_counts_grow_linearly_in_the_chain_length():
    rows = [dt.count(dt.grad(chain(k)), np.ones(10)) for k in (10, 20, 40)]
    calls = [r.calls for r in rows]
    # equal increments per 10 extra links: exactly linear
    assert calls[1] - calls[0] == (calls[2] - calls[1]) / 2
    assert [r.tape_records for r in rows] == [2 * 10 + 2, 2 * 20 + 2, 2 * 40 + 2]
    assert all(r.tape_bytes > 0 for r in rows)
    assert rows[0].as_dict() == dt.count(dt.grad(chain(10)), np.ones(10)).as_dict()


def test_cheap_gradient_and_jacobian_ratios():
    A = np.random.default_rng(0).standard_normal((8, 20))

    def f(x):
        return np.sin(np.tanh(A @ x) * 2.0)
    x = np.ones(20)
    base = dt.count(f, x).flops
    omega = dt.count(dt.grad(lambda x: np.sum(f(x))), x).flops / base
    assert 1.0 < omega <= 4.0
    # forward: about n = 20 passes of f; reverse: about m = 8
    assert 18 <= dt.count(dt.jacfwd(f), x).flops / base <= 23
    assert 7 <= dt.count(dt.jacrev(f), x).flops / base <= 10


def test_derivative_part_is_separated():
    f = dt.count(chain(3), np.ones(4))
    for fn in (dt.grad(chain(3)), lambda x: dt.jvp(chain(3), (x,), (np.ones(4),)),
               dt.jacfwd(lambda x: np.sin(x) * 1.5), dt.hessian(chain(3))):
        c = dt.count(fn, np.ones(4))
        assert c.derivative_calls > 0 and c.derivative_flops > 0
        assert c.flops == c.primal_flops + c.derivative_flops
    # the primal part of a gradient or a jvp is f's own work, and nothing else
    for fn in (dt.grad(chain(3)), lambda x: dt.jvp(chain(3), (x,), (np.ones(4),))):
        c = dt.count(fn, np.ones(4))
        assert (c.primal_calls, c.primal_flops) == (f.primal_calls, f.primal_flops)
