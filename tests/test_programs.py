"""Recorded programs: replay equals eager evaluation (values, gradients, JVPs, HVPs);
guards send an input down its own path and the result stays right; threads replay
one program at once."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_properties import SETTINGS, programs, run_program

import dualtape as dt
import dualtape.numpy as dnp


def close(a, b, rtol=1e-12, atol=1e-12):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                               rtol=rtol, atol=atol)


def moved(x, seed):
    """Another input of the same shape and dtype, near x (the same path, usually)."""
    return x + 1e-3 * np.random.default_rng(seed).standard_normal(np.shape(x))


# ---- replay equals eager on random programs ------------------------------------------
@settings(max_examples=30, **SETTINGS)
@given(prog=programs(), seed=st.integers(0, 2 ** 31 - 1))
def test_random_programs_replay_values_gradients_jvps(prog, seed):
    x, steps = prog
    f = run_program(steps)
    scalar = lambda x: np.sum(np.sin(f(x)))
    x2 = moved(x, seed)
    v = np.random.default_rng(seed + 1).standard_normal(np.shape(x))
    pf = dt.record(f, x)
    pg = dt.record(dt.grad(scalar), x)
    pj = dt.record(lambda x, v: dt.jvp(f, (x,), (v,)), x, v)
    for y in (x, x2):
        close(pf(y), f(y))
        close(pg(y), dt.grad(scalar)(y))
        for got, want in zip(pj(y, v), dt.jvp(f, (y,), (v,))):
            close(got, want)


@settings(max_examples=15, **SETTINGS)
@given(prog=programs(), seed=st.integers(0, 2 ** 31 - 1))
def test_random_programs_replay_hvp(prog, seed):
    x, steps = prog
    f = run_program(steps)
    scalar = lambda x: np.sum(np.tanh(f(x)))
    v = np.random.default_rng(seed).standard_normal(np.shape(x))
    ph = dt.record(lambda x, v: dt.hvp(scalar, x, v), x, v)
    for y in (x, moved(x, seed)):
        close(ph(y, v), dt.hvp(scalar, y, v), rtol=1e-10, atol=1e-10)


def test_recorded_gradient_is_the_derivative_computation():
    # the adjoint equations are instructions of the program, marked as derivative work
    f = lambda x: dnp.sum(dnp.sin(x) * x)
    x = np.linspace(0.1, 1.0, 4)
    prog = dt.record(dt.grad(f), x)
    names = [(i.prim.name, i.derivative) for i in prog.instructions]
    assert ("cos", True) in names and ("sin", False) in names
    y = np.linspace(-1.0, 0.5, 4)
    close(prog(y), np.cos(y) * y + np.sin(y))          # closed form
    assert prog.stats.replays == 1 and prog.stats.rerecords == 0


def test_worked_example_two_layer_network_gradient():
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    W1, W2 = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))

    def loss(W1, W2):
        h = dnp.tanh(X @ W1)
        return 0.5 * dnp.sum((h @ W2 - Y) ** 2)

    def backprop(W1, W2):                  # by hand
        h = np.tanh(X @ W1)
        r = h @ W2 - Y
        return X.T @ ((r @ W2.T) * (1 - h * h)), h.T @ r

    prog = dt.record(dt.grad(loss, (0, 1)), W1, W2)
    for a, b in ((W1, W2), (W1 * 0.5, W2 + 1.0)):
        for got, want in zip(prog(a, b), backprop(a, b)):
            close(got, want, rtol=1e-10)


# ---- guards -----------------------------------------------------------------------------
def branchy(x):
    if dnp.sum(x) > 0:                    # a Python `if` on a traced sum
        return dnp.sum(dnp.sin(x))
    return dnp.sum(x ** 2)


def test_if_on_traced_sum_replayed_on_the_other_side():
    prog = dt.record(dt.grad(branchy), np.array([1.0, 2.0]))
    close(prog(np.array([0.5, 3.0])), np.cos([0.5, 3.0]))
    assert prog.stats.replays == 1
    close(prog(np.array([-1.0, -3.0])), [-2.0, -6.0])      # the other branch: 2 x
    s = prog.stats
    assert s.rerecords == 1 and s.recordings == 2
    close(prog(np.array([-1.0, -2.0])), [-2.0, -4.0])      # now replayed, not recorded
    assert prog.stats.rerecords == 1 and prog.stats.replays == 2
    assert [g.kind for g in prog.guards][0] == "bool"


def test_failed_guard_can_be_an_error():
    prog = dt.record(dt.grad(branchy), np.array([1.0, 2.0]), on_guard="raise")
    with pytest.raises(dt.GuardError, match="truth value"):
        prog(np.array([-1.0, -3.0]))
    with pytest.raises(dt.GuardError, match="signature"):
        prog(np.array([1.0, 2.0, 3.0]))


def test_index_from_argmax_where_the_maximum_moves():
    def f(x):
        i = dnp.argmax(x)
        return x[i] * 2.0 + dnp.sum(x)

    prog = dt.record(dt.grad(f), np.array([1.0, 3.0, 2.0]))
    close(prog(np.array([0.5, 4.0, 2.5])), [1.0, 3.0, 1.0])     # the maximum stays
    assert prog.stats.replays == 1 and prog.stats.rerecords == 0
    kinds = [g.kind for g in prog.guards]
    assert "value" not in kinds and kinds.count("int") == 1   # on the position only
    assert prog.guards[kinds.index("int")].outcome == 1
    close(prog(np.array([5.0, 3.0, 2.0])), [3.0, 1.0, 1.0])     # it moves
    close(prog(np.array([1.0, 2.0, 7.0])), [1.0, 1.0, 3.0])
    assert prog.stats.rerecords == 2


def test_loop_whose_trip_count_depends_on_a_value():
    def halve(x):
        while dnp.sum(x) > 1e-3:
            x = x / 2.0
        return dnp.sum(x)

    prog = dt.record(dt.grad(halve), np.array([1.0]))        # 10 halvings
    for v in (1.0, 1.5, 100.0, 1.2):
        k = int(np.ceil(np.log2(v / 1e-3)))                      # trips, by hand
        close(prog(np.array([v])), [0.5 ** k])
    assert prog.stats.replays >= 1


def test_int_of_a_traced_value_is_a_guard():
    def f(x):
        n = int(dnp.sum(x))
        return dnp.sum(x) * n

    prog = dt.record(f, np.array([2.5]))
    close(prog(np.array([2.7])), 2.7 * 2)
    close(prog(np.array([3.5])), 3.5 * 3)
    assert prog.stats.replays == 1 and prog.stats.rerecords == 1


def test_different_shapes_record_again_and_recorded_keys_by_shape():
    f = lambda x: dnp.sum(dnp.exp(x))
    prog = dt.record(dt.grad(f), np.zeros(3))
    close(prog(np.ones(5)), np.exp(np.ones(5)))
    assert prog.stats.rerecords == 1
    g = dt.recorded(dt.grad(f))
    for n in (2, 3, 2, 3):
        close(g(np.full(n, 0.5)), np.exp(np.full(n, 0.5)))
    assert len(g.programs) == 2
    assert sum(p.stats.replays for p in g.programs.values()) == 2


def test_reading_the_value_is_a_guard_and_never_silently_wrong():
    def f(x):
        c = np.asarray(x.primal).copy()       # the value leaves the recording
        return x * c

    prog = dt.record(f, np.array([1.0, 2.0]))
    close(prog(np.array([3.0, 4.0])), [9.0, 16.0])
    assert prog.stats.rerecords == 1


def test_replay_under_a_transform_and_containers():
    f = lambda p: dnp.sum(p["a"] * dnp.sin(p["b"]))
    p = {"a": np.array([1.0, 2.0]), "b": np.array([0.3, 0.4])}
    prog = dt.record(f, p)
    g = dt.grad(prog)(p)                      # differentiating a replay
    close(g["a"], np.sin(p["b"]))
    close(g["b"], p["a"] * np.cos(p["b"]))


def test_record_must_be_outermost():
    with pytest.raises(TypeError, match="outermost"):
        dt.grad(lambda x: dnp.sum(dt.record(lambda y: y * 2.0, x)(x)))(np.ones(2))


def test_threads_replay_one_program_at_once():
    f = lambda x: dnp.sum(dnp.tanh(x) * x)
    prog = dt.record(dt.grad(f), np.zeros(8))
    inputs = [np.linspace(-1, 1, 8) * (k + 1) for k in range(8)]
    want = [dt.grad(f)(x) for x in inputs]
    errors = []

    def work(k):
        try:
            for _ in range(50):
                close(prog(inputs[k]), want[k])
        except Exception as e:              # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert prog.stats.replays == 400 and prog.stats.rerecords == 0


def test_boolean_mask_from_a_comparison_is_guarded_by_its_value():
    f = lambda x: dnp.sum(dnp.sin(x[x > 0]))
    prog = dt.record(dt.grad(f), np.array([1.0, -2.0, 3.0]))
    close(prog(np.array([0.5, -1.0, 2.0])), [np.cos(0.5), 0.0, np.cos(2.0)])   # same mask
    assert prog.stats.replays == 1
    close(prog(np.array([1.0, 2.0, -3.0])), [np.cos(1.0), np.cos(2.0), 0.0])   # new mask
    assert prog.stats.rerecords == 1


@pytest.mark.parametrize("transform", ["jacfwd", "jacrev", "hessian"])
def test_recorded_jacobians_and_hessians_equal_eager(transform):
    g = lambda x: dnp.tanh(x) * dnp.sum(x ** 2)
    tr = {"jacfwd": dt.jacfwd(g), "jacrev": dt.jacrev(g),
          "hessian": dt.hessian(lambda x: dnp.sum(g(x)))}[transform]
    x = np.array([0.3, -0.5, 0.8])
    prog = dt.record(tr, x)
    for y in (x, x * 0.7 + 0.1):
        close(prog(y), tr(y))
    assert prog.stats.rerecords == 0


def test_converting_a_recorded_value_to_an_array_raises_as_in_every_mode():
    # np.asarray of a traced value would drop its derivative, so every mode refuses it;
    # a recording must too, or a program replayed under a derivative would treat the
    # converted value as a constant and give a wrong gradient without a word.
    def f(x):
        return np.sum(np.asarray(x) * x)

    x = np.array([1.0, 2.0])
    with pytest.raises(TypeError):
        dt.grad(f)(x)
    with pytest.raises(TypeError):
        dt.record(f, x)


@pytest.mark.parametrize("mode", ["auto", "fwd", "rev"])
def test_recorded_jacobian_replays_in_every_mode_without_recording_again(mode):
    # mode="auto" prices the modes with a count; the count reads sizes, never values,
    # so it leaves no guard that a new input would fail
    f = lambda x: dnp.sin(x) * x[0] + dnp.roll(x, 1) ** 2
    x = np.linspace(0.1, 1, 6)
    prog = dt.record(lambda v: dt.jacobian(f, v, mode=mode), x)
    assert all(g.kind == "finite" for g in prog.guards)
    y = 0.5 * x
    want = np.diag(np.cos(y) * y[0]) + np.diag(2 * np.roll(y, 1)) @ np.roll(np.eye(6), 1, 0)
    want[:, 0] += np.sin(y)
    np.testing.assert_allclose(prog(y), want, rtol=1e-13)
    assert prog.stats.replays == 1 and prog.stats.rerecords == 0
