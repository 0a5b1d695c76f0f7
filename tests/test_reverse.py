"""Reverse mode: the tape, the sweep, vjp, grad, jacrev."""

from __future__ import annotations

import numpy as np
import pytest

import dualtape as dt
from dualtape.reverse import Tape


def test_long_chain_does_not_recurse():
    def chain(x):
        for _ in range(100_000):
            x = x * 1.00001
        return x
    np.testing.assert_allclose(dt.grad(chain)(1.0), 1.00001 ** 100_000, rtol=1e-9)


def test_cotangents_sum_over_all_paths():
    # y = x*x + x*x*x: dy/dx = 2x + 3x^2, every use of x contributes
    np.testing.assert_allclose(dt.grad(lambda x: x * x + x * x * x)(2.0), 16.0)


def test_tape_is_released_after_the_sweep(monkeypatch):
    tapes = []
    original = Tape.__init__

    def spy(self):
        original(self)
        tapes.append(self)
    monkeypatch.setattr(Tape, "__init__", spy)
    dt.grad(lambda x: np.sum(np.sin(x) * x))(np.ones(4))
    assert tapes and all(t.records == [] for t in tapes)


def test_vjp_function_can_be_called_repeatedly():
    A = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    out, pull = dt.vjp(lambda x: A @ x, np.array([1.0, 1.0]))
    np.testing.assert_allclose(out, [3.0, 7.0, 11.0])
    for u in np.eye(3):
        (g,) = pull(u)
        np.testing.assert_allclose(g, A.T @ u)


def test_vjp_of_several_arguments_and_outputs():
    def f(a, b):
        return a * b, np.sum(a)
    (y, s), pull = dt.vjp(f, np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    ga, gb = pull((np.array([1.0, 1.0]), np.array(2.0)))
    # d/da <u, a*b> + 2 sum(a) = b + 2 ; d/db = a
    np.testing.assert_allclose(ga, [5.0, 6.0])
    np.testing.assert_allclose(gb, [1.0, 2.0])


def test_jacrev_uses_one_sweep_per_chunk(monkeypatch):
    calls = []
    original = Tape.backward

    def counting(self, seeds, wanted):
        calls.append(next(iter(seeds.values())).shape)
        return original(self, seeds, wanted)
    monkeypatch.setattr(Tape, "backward", counting)
    A = np.arange(15.0).reshape(5, 3)
    J = dt.jacrev(lambda x: np.sin(A @ x))(np.ones(3))
    np.testing.assert_allclose(J, np.cos(A @ np.ones(3))[:, None] * A)
    assert calls == [(5, 5)]              # one sweep, five cotangents
    calls.clear()
    dt.jacrev(lambda x: np.sin(A @ x), chunk_size=2)(np.ones(3))
    assert [c[0] for c in calls] == [2, 2, 1]


@pytest.mark.parametrize("chunk", [None, 1, 2, 5, 6])
def test_jacrev_chunks_agree(chunk):
    A = np.arange(15.0).reshape(5, 3) / 10
    J = dt.jacrev(lambda x: np.tanh(A @ x) * x[0], chunk_size=chunk)(np.array([.1, .2, .3]))
    Jf = dt.jacfwd(lambda x: np.tanh(A @ x) * x[0])(np.array([.1, .2, .3]))
    np.testing.assert_allclose(J, Jf, rtol=1e-13)


def test_value_and_grad_with_argnums_tuple_and_lists():
    def loss(params, x):
        w, b = params
        return np.sum((x @ w + b) ** 2)
    w, b, x = np.array([1.0, -1.0]), np.array(0.5), np.array([[1.0, 2.0], [0.0, 1.0]])
    val, (gp, gx) = dt.value_and_grad(loss, argnums=(0, 1))([w, b], x)
    r = x @ w + b                                  # residuals [-0.5, -0.5]
    assert val == pytest.approx(np.sum(r ** 2))
    np.testing.assert_allclose(gp[0], 2 * x.T @ r)     # d/dw = 2 X^T r
    np.testing.assert_allclose(gp[1], 2 * np.sum(r))   # d/db = 2 sum r
    np.testing.assert_allclose(gx, 2 * np.outer(r, w))  # d/dX = 2 r w^T
