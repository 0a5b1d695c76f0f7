"""Threads: concurrent derivatives never see each other's contexts.

Every call below runs once sequentially (the reference) and then many times at once on
a thread pool; the results must agree call by call, and no traced value may come back
from any of them.  The reference is itself checked against closed forms, so the test
does not only compare dualtape with itself.
"""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import dualtape as dt
from dualtape.registry import Tracer


@pytest.fixture(autouse=True)
def _switch_often():
    # Switch threads every few microseconds, so that interleavings a process-wide
    # state would suffer from actually happen during the test.
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)


def f(x):
    return np.sum(np.sin(x) * x ** 2)


def df(x):                     # closed form of grad f
    return np.cos(x) * x ** 2 + 2 * x * np.sin(x)


def d2f(x):                    # closed form of the (diagonal) Hessian of f
    return np.diag(-np.sin(x) * x ** 2 + 4 * x * np.cos(x) + 2 * np.sin(x))


def g(x):
    return np.tanh(x[1:] * x[:-1])


def nested(x):
    # d/dx [x * (d/dy (x + y))(y=1)] = 1 at every x: perturbation confusion would give 2
    return dt.grad(lambda x_: x_ * dt.grad(lambda y: x_ + y)(1.0))(x)


def _calls(x: np.ndarray) -> list:
    """(name, thunk, closed form or None) for a mix of every transform."""
    def count_grad():
        c = dt.count(dt.grad(f), x)
        return np.array([c.primal_calls, c.derivative_calls, c.derivative_flops]), c.value

    return [
        ("grad", lambda: dt.grad(f)(x), df(x)),
        ("jvp", lambda: dt.jvp(f, (x,), (np.ones_like(x),))[1], df(x).sum()),
        ("jacrev", lambda: dt.jacrev(g)(x), None),
        ("jacfwd", lambda: dt.jacfwd(g)(x), None),
        ("hessian", lambda: dt.hessian(f)(x), d2f(x)),
        ("hvp", lambda: dt.hvp(f, x, np.ones_like(x)), d2f(x).sum(axis=1)),
        ("sparsity", lambda: dt.sparsity(g, x).toarray(), None),
        ("count", count_grad, None),
        ("jacobian auto", lambda: dt.jacobian(g, x), None),
        ("jacobian sparse", lambda: dt.jacobian(g, x, structure="sparse").toarray(), None),
        ("nested", lambda: nested(float(x[0])), 1.0),
    ]


def _leaves(v):
    if isinstance(v, (tuple, list)):
        for e in v:
            yield from _leaves(e)
    else:
        yield v


def _same(a, b) -> bool:
    la, lb = list(_leaves(a)), list(_leaves(b))
    return len(la) == len(lb) and all(np.array_equal(np.asarray(p), np.asarray(q))
                                      for p, q in zip(la, lb))


def test_concurrent_mixed_calls_match_sequential_results():
    rng = np.random.default_rng(0)
    xs = [rng.uniform(-1.5, 1.5, 6) for _ in range(4)]
    jobs = [(i, name, thunk, truth) for i, x in enumerate(xs)
            for name, thunk, truth in _calls(x)]
    reference = {}
    for i, name, thunk, truth in jobs:
        out = thunk()
        if truth is not None:
            np.testing.assert_allclose(out, truth, rtol=1e-12, atol=1e-12, err_msg=name)
        reference[i, name] = out
    # The tridiagonal-ish Jacobian of g, by hand: dg_k/dx_k = x_{k+1}(1 - g_k^2) ...
    x = xs[0]
    s = 1 - np.tanh(x[1:] * x[:-1]) ** 2
    J = np.zeros((5, 6))
    J[np.arange(5), np.arange(5)] = s * x[1:]
    J[np.arange(5), np.arange(1, 6)] = s * x[:-1]
    np.testing.assert_allclose(reference[0, "jacrev"], J, rtol=1e-12)
    np.testing.assert_array_equal(reference[0, "sparsity"], J != 0)

    work = jobs * 8                                   # a few hundred calls
    order = np.random.default_rng(1).permutation(len(work))
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [(work[k][0], work[k][1], pool.submit(work[k][2])) for k in order]
        results = [(i, name, fut.result()) for i, name, fut in futures]
    assert len(results) > 300
    for i, name, out in results:
        assert not any(isinstance(v, Tracer) for v in _leaves(out)), name
        assert _same(out, reference[i, name]), name


def test_a_count_in_one_thread_never_reaches_another():
    x = np.linspace(-1.0, 1.0, 5)
    stop = threading.Event()
    errors: list = []

    def counting():
        while not stop.is_set():
            c = dt.count(dt.grad(f), x)
            if c.derivative_calls == 0:
                errors.append("count saw no derivative work")

    t = threading.Thread(target=counting)
    t.start()
    try:
        for _ in range(200):
            out = dt.grad(f)(x)
            assert type(out) is np.ndarray
            np.testing.assert_allclose(out, df(x), rtol=1e-12)
    finally:
        stop.set()
        t.join()
    assert not errors
    # and nothing is left behind once both are done
    assert type(dt.grad(f)(x)) is np.ndarray


def test_counts_are_the_same_in_threads_as_alone():
    x = np.linspace(-1.0, 1.0, 7)
    alone = dt.count(dt.hessian(f), x).as_dict()
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda _: dt.count(dt.hessian(f), x).as_dict(), range(16)))
    assert all(c == alone for c in got)


@pytest.mark.parametrize("n_threads", [2, 8])
def test_concurrent_jacobian_auto_plans_alike(n_threads):
    # mode="auto" counts internally: it must neither leak counted values into other
    # threads nor see their work in its own plan.
    x = np.linspace(0.1, 1.0, 12)
    J0, info0 = dt.jacobian(g, x, return_info=True)
    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        got = list(pool.map(lambda _: dt.jacobian(g, x, return_info=True), range(24)))
    for J, info in got:
        assert type(J) is np.ndarray
        np.testing.assert_array_equal(J, J0)
        assert (info.mode, info.reason) == (info0.mode, info0.reason)
