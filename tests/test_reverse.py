"""Reverse mode: the tape, the sweep, vjp, grad, jacrev."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import programs, run_program

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


# ---- the branch not taken contributes exactly zero, even at inf / NaN inputs ---------
_SPECIAL = np.array([1.5, np.nan, np.inf, -np.inf, -2.0])


def _masked_square(v):
    return np.sum(np.where(np.isfinite(v), v ** 2, 0.0))


def _masked_log(v):
    # log is singular at 0 and NaN below; the branch is taken only where v > 0
    return np.sum(np.where(v > 0, v * np.log(np.where(v > 0, v, 1.0)) + np.exp(v) * 0.0
                           + v ** 3, 0.0))


@pytest.mark.parametrize("how", ["grad", "jacrev", "vjp", "jacfwd"])
def test_where_branch_not_taken_is_exactly_zero_at_inf_and_nan(how):
    v = _SPECIAL
    # closed form: d/dv v^2 = 2 v where v is finite, 0 elsewhere
    expected = np.where(np.isfinite(v), 2 * np.where(np.isfinite(v), v, 0.0), 0.0)
    got = {"grad": lambda: dt.grad(_masked_square)(v),
           "jacrev": lambda: dt.jacrev(_masked_square)(v),
           "vjp": lambda: dt.vjp(_masked_square, v)[1](1.0)[0],
           "jacfwd": lambda: dt.jacfwd(_masked_square)(v)}[how]()
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("mode", ["fwd-over-rev", "rev-over-rev", "rev-over-fwd",
                                  "fwd-over-fwd"])
def test_where_branch_not_taken_is_zero_at_second_order(mode):
    v = np.array([2.0, 0.0, -1.0, -np.inf, np.nan])
    H = dt.hessian(_masked_log, mode=mode)(v)
    # taken only at v = 2: d2/dv2 [v log v + v^3] = 1/v + 6 v = 12.5
    expected = np.zeros((5, 5))
    expected[0, 0] = 0.5 + 12.0
    np.testing.assert_allclose(H, expected, rtol=1e-14, atol=0)


def test_where_guard_does_not_hide_a_true_nan():
    # sqrt'(x) at x = -1 is NaN in numpy's arithmetic and must stay so
    with np.errstate(invalid="ignore"):
        g = dt.grad(lambda v: np.sum(np.sqrt(v)))(np.array([4.0, -1.0]))
    assert g[0] == 0.25 and np.isnan(g[1])


def test_where_guard_gives_an_honest_infinity():
    # d/dx sqrt(x) at 0 is +inf, and nothing masks it
    with np.errstate(divide="ignore"):
        g = dt.grad(lambda v: np.sum(np.sqrt(v)))(np.array([0.0, 1.0]))
    np.testing.assert_array_equal(g, [np.inf, 0.5])


# ---- plain arrays written in place before the sweep ---------------------------------
def test_buffer_overwritten_in_place_inside_f():
    buf = np.zeros(3)

    def f(x):
        total = 0.0
        for k in range(3):
            buf[:] = k + 1                 # the same buffer, new contents each time
            total = total + np.sum(x * buf) ** 2
        return total

    x = np.array([0.5, -1.0, 2.0])
    # f = sum_k (k+1)^2 (sum x)^2, so grad = 2 (sum x) * (1 + 4 + 9) in every entry
    expected = np.full(3, 28.0 * x.sum())
    np.testing.assert_allclose(dt.grad(f)(x), expected)
    np.testing.assert_allclose(dt.jacrev(f)(x), expected)
    np.testing.assert_allclose(dt.jacfwd(f)(x), expected)


def test_index_array_overwritten_after_use():
    idx = np.array([0, 1])

    def f(x):
        y = x[idx]
        idx[:] = [2, 2]
        return np.sum(y * y)
    np.testing.assert_allclose(dt.grad(f)(np.array([1.0, -3.0, 5.0])), [2.0, -6.0, 0.0])


def test_input_written_between_vjp_and_its_sweep():
    x = np.array([1.0, 2.0])
    out, pull = dt.vjp(lambda v: v * v, x)
    x[:] = 100.0                            # the caller reuses its array
    np.testing.assert_allclose(pull(np.ones(2))[0], [2.0, 4.0])


def test_large_constant_is_also_kept():
    c = np.arange(10_000, dtype=float)

    def f(x):
        y = np.sum(x * c)
        c[:] = 0.0
        return y
    np.testing.assert_allclose(dt.grad(f)(np.ones(10_000)), np.arange(10_000.0))


# ---- a recording read backwards and forwards -------------------------------------------

def _random_directions(shape, k, seed):
    return np.random.default_rng(seed).standard_normal((k,) + tuple(shape))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prog=programs(), k=st.integers(1, 4), seed=st.integers(0, 2 ** 31 - 1))
def test_recording_push_and_pull_equal_forward_and_reverse_mode(prog, k, seed):
    # The same rules on the same values: the forward pass over the recorded tape gives
    # jvp_batch's tangents, and its sweep gives vjp_batch's cotangents, to the last bit.
    from dualtape.forward import jvp_batch
    from dualtape.reverse import record_tape, vjp_batch
    x, steps = prog
    f = run_program(steps)
    T = _random_directions(x.shape, k, seed)
    rec = record_tape(f, x, forward=True)
    out, want = jvp_batch(f, x, T)
    np.testing.assert_array_equal(rec.out, out)
    np.testing.assert_array_equal(rec.push(T), want)
    G = _random_directions(np.shape(out), k, seed + 1)
    np.testing.assert_array_equal(rec.pull(G), vjp_batch(f, x)[1](G))
    np.testing.assert_array_equal(record_tape(f, x).pull(G), vjp_batch(f, x)[1](G))


def test_recording_push_through_a_multiple_result_primitive_and_large_values():
    from dualtape.reverse import _STUB_MIN, record_tape
    x = np.array([[2.0, 1.0, 0.5], [0.3, 3.0, 1.0], [0.1, 0.2, 4.0]])

    def f(v):
        q, r = np.linalg.qr(v)
        return q * 2.0 + r
    T = _random_directions(x.shape, 3, 0)
    np.testing.assert_allclose(record_tape(f, x, forward=True).push(T),
                               np.stack([dt.jvp(f, (x,), (t,))[1] for t in T]),
                               rtol=1e-13, atol=1e-14)
    # values larger than the stub threshold stay whole on a forward recording
    big = np.linspace(0.1, 1.0, _STUB_MIN + 10)
    g = lambda v: np.sin(np.exp(v) * v)
    t = np.ones((1, big.size))
    np.testing.assert_allclose(record_tape(g, big, forward=True).push(t)[0],
                               np.cos(np.exp(big) * big) * np.exp(big) * (1 + big),
                               rtol=1e-14)
    with pytest.raises(ValueError, match="forward=True"):
        record_tape(g, big).push(t)


def test_record_refuses_outputs_that_are_not_one_array():
    from dualtape.reverse import record_tape
    with pytest.raises(TypeError, match="returned None"):
        record_tape(lambda v: None, np.ones(2))
    with pytest.raises(TypeError, match="not a container of 2"):
        record_tape(lambda v: (v, v), np.ones(2))
