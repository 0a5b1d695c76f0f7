"""Copying and pickling traced values (the hooks on TracedArray, numpy/_traced.py).

Traced values are immutable, so ``copy.copy`` / ``copy.deepcopy`` may return the value
itself; the derivative must be the one of the function written with the copy.  Pickling
is refused with a TypeError naming the mode.  Expected values are closed forms.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import dualtape as dt

X = np.array([0.7, -1.3, 2.1])
COPIES = [copy.copy, copy.deepcopy]


def f_copy(copier):
    # f(x) = sum(x sin x): f'(x) = sin x + x cos x, f''(x) = 2 cos x - x sin x
    return lambda x: np.sum(copier(x) * np.sin(x))


def grad_truth(x):
    return np.sin(x) + x * np.cos(x)


@pytest.mark.parametrize("copier", COPIES)
def test_copy_in_reverse_mode(copier):
    np.testing.assert_allclose(dt.grad(f_copy(copier))(X), grad_truth(X), rtol=1e-13)
    J = dt.jacrev(lambda x: copier(x) * np.sin(x))(X)
    np.testing.assert_allclose(J, np.diag(grad_truth(X)), rtol=1e-13)


@pytest.mark.parametrize("copier", COPIES)
def test_copy_in_forward_mode_and_second_order(copier):
    v = np.array([1.0, 2.0, -0.5])
    _, t = dt.jvp(f_copy(copier), (X,), (v,))
    np.testing.assert_allclose(t, grad_truth(X) @ v, rtol=1e-13)
    H = dt.hessian(f_copy(copier))(X)
    np.testing.assert_allclose(H, np.diag(2 * np.cos(X) - X * np.sin(X)), rtol=1e-12,
                               atol=1e-15)
    d = dt.Dual(X, v)
    assert copier(d) is d                    # immutable: the copy is the value itself


@pytest.mark.parametrize("copier", COPIES)
def test_copy_of_containers_of_traced_values(copier):
    def f(x):
        a, b = copier([x, 2 * x])
        return np.sum(a * b)                 # 2 sum x^2: gradient 4 x
    np.testing.assert_allclose(dt.grad(f)(X), 4 * X, rtol=1e-14)


@pytest.mark.parametrize("copier", COPIES)
def test_copy_under_counting_and_sparsity(copier):
    c = dt.count(f_copy(copier), X)
    np.testing.assert_allclose(c.value, np.sum(X * np.sin(X)), rtol=1e-14)
    assert c.primal_calls == 3               # sin, multiply, sum: the copy is free
    # out_i = copy(x)[n-1-i] * x_i depends on x_i and x_{n-1-i}
    P = dt.sparsity(lambda x: copier(x)[::-1] * x, np.ones(4)).toarray()
    np.testing.assert_array_equal(P, np.eye(4, dtype=bool) | np.eye(4, dtype=bool)[::-1])


def _pickles(x):
    pickle.dumps(x)
    return x


@pytest.mark.parametrize("mode, run", [
    ("forward", lambda f: dt.jvp(f, (X,), (np.ones(3),))),
    ("forward", lambda f: pickle.dumps(dt.Dual(X, np.ones(3)))),
    ("reverse", lambda f: dt.grad(lambda x: np.sum(f(x)))(X)),
    ("count", lambda f: dt.count(f, X)),
    ("sparsity", lambda f: dt.sparsity(f, X)),
])
def test_pickling_a_traced_value_names_the_mode(mode, run):
    with pytest.raises(TypeError, match=rf"\({mode} mode\) cannot be pickled.*\.primal"):
        run(_pickles)


def test_pickling_the_primal_works():
    got = []
    dt.grad(lambda x: got.append(pickle.loads(pickle.dumps(x.primal))) or np.sum(x))(X)
    np.testing.assert_array_equal(got[0], X)
