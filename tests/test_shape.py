"""Shape functions, indexing, sorting, construction and the functional update ``at``.

Most of these functions are linear maps that only move elements, so their Jacobian is
derived independently by applying *numpy's own* function to the basis vectors; each is
checked through ``dualtape.numpy`` and through plain numpy calls on traced values, in
forward (vector) mode and reverse mode, and its detected sparsity pattern must equal
the non-zeros of that Jacobian exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp

RNG = np.random.default_rng(11)
X3 = RNG.standard_normal((2, 3, 4))
X2 = RNG.standard_normal((3, 4))
X1 = RNG.standard_normal(5)


def numpy_jacobian(f, x):
    """The Jacobian of an affine ``f`` from numpy alone: columns f(e_i) - f(0)."""
    base = np.asarray(f(np.zeros_like(x)))
    cols = [np.asarray(f(e.reshape(x.shape))) - base for e in np.eye(x.size)]
    return np.stack(cols, axis=-1).reshape(base.shape + x.shape)


# name -> (f(m, x), x): m is numpy or dualtape.numpy.
LINEAR = {
    "reshape": (lambda m, x: m.reshape(x, (4, -1)), X3),
    "ravel": (lambda m, x: m.ravel(x), X3),
    "transpose": (lambda m, x: m.transpose(x, (1, 2, 0)), X3),
    "swapaxes": (lambda m, x: m.swapaxes(x, 0, -1), X3),
    "moveaxis": (lambda m, x: m.moveaxis(x, [0, 1], [-1, 0]), X3),
    "expand_dims": (lambda m, x: m.expand_dims(x, (0, 3)), X2),
    "squeeze": (lambda m, x: m.squeeze(m.reshape(x, (1, 3, 1, 4)), axis=2), X2),
    "broadcast_to": (lambda m, x: m.broadcast_to(x[:, :1], (2, 3, 4)), X2),
    "atleast_1d": (lambda m, x: m.atleast_1d(x[0]), X1),
    "atleast_2d": (lambda m, x: m.atleast_2d(x), X1),
    "atleast_3d": (lambda m, x: m.atleast_3d(x), X2),
    "concatenate": (lambda m, x: m.concatenate([x, 2 * x[:1]], axis=None), X2),
    "stack": (lambda m, x: m.stack([x[0], x[2], x[1]], axis=-1), X2),
    "hstack": (lambda m, x: m.hstack([x, x[:, :1]]), X2),
    "vstack": (lambda m, x: m.vstack([x[0], x]), X2),
    "dstack": (lambda m, x: m.dstack([x, x]), X2),
    "column_stack": (lambda m, x: m.column_stack([x[0], x[1:].T]), X2),
    "append": (lambda m, x: m.append(x, x[:1], axis=0), X2),
    "append_flat": (lambda m, x: m.append(x, x[0]), X2),
    "tile": (lambda m, x: m.tile(x, (2, 1, 3)), X2),
    "tile_short": (lambda m, x: m.tile(x, 2), X2),
    "repeat": (lambda m, x: m.repeat(x, [2, 0, 1], axis=0), X2),
    "repeat_flat": (lambda m, x: m.repeat(x, 2), X2),
    "flip": (lambda m, x: m.flip(x, axis=(0, 2)), X3),
    "flip_all": (lambda m, x: m.flip(x), X3),
    "fliplr": (lambda m, x: m.fliplr(x), X2),
    "flipud": (lambda m, x: m.flipud(x), X2),
    "roll": (lambda m, x: m.roll(x, 5), X2),
    "roll_axes": (lambda m, x: m.roll(x, (1, -2, 1), axis=(0, 1, 0)), X3),
    "rot90": (lambda m, x: m.rot90(x), X2),
    "rot90_2": (lambda m, x: m.rot90(x, 2, axes=(1, 2)), X3),
    "rot90_3": (lambda m, x: m.rot90(x, -1, axes=(2, 0)), X3),
    "pad": (lambda m, x: m.pad(x, ((1, 0), (0, 2))), X2),
    "pad_values": (lambda m, x: m.pad(x, 1, constant_values=((1.0, 2.0), (3.0, 4.0))), X2),
    "pad_edge": (lambda m, x: m.pad(x, (2, 1), mode="edge"), X2),
    "pad_reflect": (lambda m, x: m.pad(x, ((1, 2), (3, 0)), mode="reflect"), X2),
    "pad_symmetric": (lambda m, x: m.pad(x, 2, mode="symmetric"), X2),
    "pad_wrap": (lambda m, x: m.pad(x, ((0, 3), (1, 1)), mode="wrap"), X2),
    "diag_vector": (lambda m, x: m.diag(x), X1),
    "diag_vector_k": (lambda m, x: m.diag(x, -2), X1),
    "diag_matrix": (lambda m, x: m.diag(x, 1), X2),
    "diag_matrix_neg": (lambda m, x: m.diag(x, -1), X2),
    "diagonal": (lambda m, x: m.diagonal(x, 1, 2, 0), X3),
    "diagonal_neg": (lambda m, x: m.diagonal(x, -1), X2),
    "trace": (lambda m, x: m.trace(x, offset=1, axis1=1, axis2=2), X3),
    "tril": (lambda m, x: m.tril(x, -1), X3),
    "triu": (lambda m, x: m.triu(x, 1), X2),
    "tril_1d": (lambda m, x: m.tril(x), X1),
    "take": (lambda m, x: m.take(x, [[3, 0], [3, 1]], axis=1), X2),
    "take_flat": (lambda m, x: m.take(x, [11, 0, -1]), X2),
    "take_wrap": (lambda m, x: m.take(x, [5, -7], axis=0, mode="wrap"), X2),
    "take_clip": (lambda m, x: m.take(x, [5, -7, 1], axis=1, mode="clip"), X2),
    "take_along_axis": (lambda m, x: m.take_along_axis(x, np.array([[0, 2], [1, 1], [3, 0]]),
                                                       axis=1), X2),
    "take_along_axis_0": (lambda m, x: m.take_along_axis(x, np.array([[2, 0, 1, 1]]), 0), X2),
    "where": (lambda m, x: m.where(X2 > 0, x, 2 * x[0]), X2),
    "split": (lambda m, x: m.concatenate(m.split(x, [1, 3], axis=1)[::-1], axis=1), X2),
    "array_split": (lambda m, x: m.array_split(x, 3, axis=1)[1], X2),
    "hsplit": (lambda m, x: m.hsplit(x, 2)[1], X2),
    "vsplit": (lambda m, x: m.vsplit(x, [2])[0], X2),
    "dsplit": (lambda m, x: m.dsplit(x, [1, 2])[2], X3),
}


@pytest.mark.parametrize("name", sorted(LINEAR))
def test_index_moving_functions_match_numpy_in_every_mode(name):
    f, x = LINEAR[name]
    np.testing.assert_array_equal(f(dnp, x), f(np, x))
    J = numpy_jacobian(lambda v: f(np, v), x)
    for m in (np, dnp):                     # numpy dispatch and the dnp spelling
        for jac in (dt.jacfwd, dt.jacrev):
            np.testing.assert_array_equal(jac(lambda v: f(m, v))(x), J)
    # the pattern found by sparsity detection is exactly the Jacobian's
    P = dt.sparsity(lambda v: f(np, v), x).toarray()
    np.testing.assert_array_equal(P, J.reshape(-1, x.size) != 0)


@pytest.mark.parametrize("name", ["tile", "pad_reflect", "diag_vector", "rot90_3", "take",
                                  "roll_axes", "repeat"])
def test_index_moving_functions_second_order(name):
    f, x = LINEAR[name]
    dt.check_grads(lambda v: f(np, v) ** 2, (x,), order=2)


def test_split_returns_a_list_of_traced_pieces():
    def f(x):
        a, b, c = np.split(x, 3)
        return a * b + np.sum(c)
    x = np.arange(6.0)
    np.testing.assert_allclose(dt.grad(lambda x: np.sum(f(x)))(x), [2, 3, 0, 1, 2, 2])
    with pytest.raises(ValueError, match="equal division"):
        dnp.split(x, 4)


def test_pad_unsupported_modes_name_the_mode():
    for mode in ("linear_ramp", "maximum", "mean", "median", "minimum", "empty"):
        with pytest.raises(NotImplementedError, match=repr(mode)):
            dt.grad(lambda x: np.sum(np.pad(x, 1, mode=mode)))(X1)
    with pytest.raises(NotImplementedError, match="reflect_type"):
        dt.grad(lambda x: np.sum(np.pad(x, 1, mode="reflect", reflect_type="odd")))(X1)
    with pytest.raises(TypeError, match="constant_values"):
        dt.grad(lambda x: np.sum(np.pad(x, 1, constant_values=x[0])))(X1)
    # plain arrays go to numpy untouched, any mode
    np.testing.assert_array_equal(dnp.pad(X1, 2, mode="mean"), np.pad(X1, 2, mode="mean"))


def test_methods_on_traced_values():
    x = X2
    f = lambda x: (x.T @ x.flatten()[:3] + x.ravel()[4] + x.squeeze()[0, 0]
                   + x.swapaxes(0, 1)[:, 1] + x.diagonal().sum() + x.trace()
                   + x.repeat(2)[5] + x.take([0, 0]).sum() + x.copy()[0, 1]
                   + x.clip(-0.5, 0.5).sum() + x.reshape(4, 3)[0, :3].sum()
                   + x.transpose(1, 0)[0, 0])
    v, g = dt.value_and_grad(lambda x: np.sum(f(x)))(x)
    assert np.isclose(v, np.sum(f(x)))
    np.testing.assert_allclose(g, dt.jacfwd(lambda x: np.sum(f(x)))(x), rtol=1e-12)


# ---- __getitem__ ---------------------------------------------------------------------------
MASK = X3[:, :, 0] > 0
INDICES = [
    1, -1, (0, 2), (1, slice(0, 3, 2)), (Ellipsis, 1), (Ellipsis,), (None, 0, Ellipsis, None),
    (slice(None), None, 1), slice(None, None, -1), (0, Ellipsis, slice(3, 0, -2)),
    MASK, (X3 > 0.5), (slice(None), X3[0, :, 0] > 0), [0, 0, 1], ([1, 0, 1], [2, 2, 0]),
    (slice(None), [2, 0, 2]), (np.array([[0], [1]]), slice(1, 3), [0, 3]),
    (0, slice(None), [1, 1, 3]), (Ellipsis, [3, 3], None), ([1, 0], Ellipsis, [0, 2]),
    (np.array([[1, 1], [0, 1]]),), (np.array(1), np.array([2, 0])),
]


@pytest.mark.parametrize("k", range(len(INDICES)))
def test_getitem_edge_cases(k):
    idx = INDICES[k]
    x = X3
    np.testing.assert_array_equal(dnp.asarray(x)[idx], x[idx])
    J = numpy_jacobian(lambda v: v[idx], x)
    np.testing.assert_array_equal(dt.jacfwd(lambda v: v[idx])(x), J)
    np.testing.assert_array_equal(dt.jacrev(lambda v: v[idx])(x), J)
    np.testing.assert_array_equal(dt.sparsity(lambda v: v[idx], x).toarray(),
                                  J.reshape(-1, x.size) != 0)


def test_repeated_indices_accumulate_in_reverse_mode():
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(dt.grad(lambda x: np.sum(x[[0, 0, 2]]))(x), [2, 0, 1])
    np.testing.assert_array_equal(dt.grad(lambda x: np.sum(x[[0, 0, 2]] ** 2))(x), [4, 0, 6])
    np.testing.assert_array_equal(dt.jacfwd(lambda x: x[[2, 2]])(x), [[0, 0, 1], [0, 0, 1]])


def test_traced_index_is_rejected():
    with pytest.raises(TypeError, match="indexing with a traced value"):
        dt.grad(lambda x: np.sum(x[x]))(X1)


# ---- sorting -------------------------------------------------------------------------------
def test_sort_derivative_follows_the_elements():
    x = X2
    for axis in (0, 1, None):
        order = np.argsort(x, axis=axis)
        f = lambda v: np.sort(v, axis=axis)
        np.testing.assert_array_equal(dnp.sort(x, axis=axis), np.sort(x, axis=axis))
        J = numpy_jacobian(lambda v: np.take_along_axis(v.ravel() if axis is None else v,
                                                        order, axis=0 if axis is None
                                                        else axis), x)
        for jac in (dt.jacfwd, dt.jacrev):
            np.testing.assert_array_equal(jac(f)(x), J)
        np.testing.assert_array_equal(dt.sparsity(f, x, kind="local").toarray(),
                                      J.reshape(-1, x.size) != 0)
    dt.check_grads(lambda v: np.sort(v, axis=0) ** 2 * np.sort(v)[::-1], (x,), order=2)
    np.testing.assert_array_equal(dt.grad(lambda x: np.sort(x)[-1])(np.array([2.0, 5.0, 1.0])),
                                  [0, 1, 0])


def test_sort_ties_follow_the_stable_order():
    # equal elements keep their input order: output j goes to the j-th of the ties
    x = np.array([1.0, 0.0, 1.0, 1.0])
    J = dt.jacrev(np.sort)(x)
    np.testing.assert_array_equal(J, np.eye(4)[[1, 0, 2, 3]])
    np.testing.assert_array_equal(dt.jacfwd(np.sort)(x), J)


def test_sort_global_pattern_is_the_whole_slice():
    P = dt.sparsity(lambda v: np.sort(v, axis=1), X2).toarray()
    np.testing.assert_array_equal(P, np.kron(np.eye(3), np.ones((4, 4))) != 0)


def test_partition_values_and_derivative():
    x = RNG.permutation(10).astype(float).reshape(2, 5) + 0.25
    for kth in (2, (0, 3)):
        got = dnp.partition(x, kth, axis=1)
        want = np.partition(x, kth, axis=1)
        for k in np.atleast_1d(kth):
            np.testing.assert_array_equal(got[:, k], want[:, k])
        J = dt.jacrev(lambda v: np.partition(v, kth, axis=1))(x).reshape(10, 10)
        # a permutation matrix that maps x to the partitioned values
        assert set(np.unique(J)) <= {0.0, 1.0} and (J.sum(0) == 1).all()
        np.testing.assert_array_equal(J @ x.ravel(), got.ravel())
        np.testing.assert_array_equal(dt.jacfwd(lambda v: np.partition(v, kth, axis=1))(x)
                                      .reshape(10, 10), J)


def test_argsort_gives_plain_integers_in_every_mode():
    x = X2

    def f(v):
        i = np.argsort(v, axis=1)
        assert type(i) is np.ndarray and i.dtype.kind == "i"
        np.testing.assert_array_equal(i, np.argsort(x, axis=1))
        return np.take_along_axis(v, i, axis=1)
    np.testing.assert_array_equal(dt.jacrev(f)(x), dt.jacrev(lambda v: np.sort(v, 1))(x))
    dt.jvp(f, (x,), (x,))
    assert type(dnp.argsort(x)) is np.ndarray


# ---- the functional update -----------------------------------------------------------------
def numpy_update(op, x, idx, v):
    y = x.copy()
    if op == "set":
        y[idx] = v
    else:
        getattr(np, {"min": "minimum", "max": "maximum"}.get(op, op)).at(y, idx, v)
    return y


UPDATES = [
    ("add", [0, 2, 0, 0], np.array([1.0, -2.0, 0.5, 3.0])),
    ("add", (slice(1, 4),), 2.5),
    ("set", [3, 1, 3], np.array([10.0, 20.0, 30.0])),       # repeated: the last wins
    ("set", (Ellipsis,), 0.5),
    ("multiply", [1, 1, 4], np.array([2.0, -3.0, 0.5])),
    ("divide", [0, 4, 0], np.array([2.0, -3.0, 0.5])),
    ("subtract", X1 > 0, 1.5),
    ("min", [2, 2, 3], np.array([-5.0, -6.0, 7.0])),
    ("max", [2, 0, 2], np.array([5.0, -6.0, 6.0])),
]


@pytest.mark.parametrize("k", range(len(UPDATES)))
def test_at_matches_numpy_and_differentiates_in_x_and_v(k):
    op, idx, v = UPDATES[k]
    x = X1
    ref_op = "add" if op == "subtract" else op
    ref_v = -np.asarray(v) if op == "subtract" else v
    want = numpy_update(ref_op, x, idx, ref_v)
    np.testing.assert_allclose(getattr(dnp.at(x)[idx], op)(v), want, rtol=1e-15)
    v = np.asarray(v, dtype=float)

    def f(x, v):
        return getattr(dnp.at(x)[idx], op)(v)
    got = dt.jvp(f, (x, v), (np.ones_like(x), np.ones_like(v)))[0]
    np.testing.assert_allclose(got, want, rtol=1e-15)
    dt.check_grads(lambda x, v: f(x, v) ** 2, (x, v), order=2)
    for arg in (0, 1):
        Jf = dt.jacfwd(f, argnums=arg)(x, v)
        Jr = dt.jacrev(f, argnums=arg)(x, v)
        np.testing.assert_allclose(Jf, Jr, rtol=1e-12, atol=1e-14)


def test_at_repeated_indices_closed_forms():
    x = np.array([1.0, 2.0, 3.0])
    v = np.array([4.0, 5.0, 6.0])
    idx = [0, 0, 2]
    # add: both values land in x[0]
    Jv = dt.jacrev(lambda v: dnp.at(x)[idx].add(v))(v)
    np.testing.assert_array_equal(Jv, [[1, 1, 0], [0, 0, 0], [0, 0, 1]])
    # set: the last of the repeated values wins, the others get no derivative
    Jx = dt.jacfwd(lambda x: dnp.at(x)[idx].set(v))(x)
    np.testing.assert_array_equal(Jx, np.diag([0.0, 1.0, 0.0]))
    Jv = dt.jacfwd(lambda v: dnp.at(x)[idx].set(v))(v)
    np.testing.assert_array_equal(Jv, [[0, 1, 0], [0, 0, 0], [0, 0, 1]])
    # multiply: x0 * v0 * v1
    g = dt.grad(lambda v: dnp.at(x)[idx].multiply(v)[0])(v)
    np.testing.assert_array_equal(g, [x[0] * v[1], x[0] * v[0], 0])


def test_at_sparsity_is_exact():
    x, v = X1, np.array([1.0, 2.0, 3.0])
    for op in ("add", "set", "multiply", "max"):
        # max selects by value: its pattern is exact at a point (local), a superset globally
        kind = "local" if op == "max" else "global"
        f = lambda x: getattr(dnp.at(x)[[1, 3, 1]], op)(v)
        J = dt.jacfwd(f)(x)
        np.testing.assert_array_equal(dt.sparsity(f, x, kind).toarray(), J != 0)
        g = lambda v: getattr(dnp.at(x)[[1, 3, 1]], op)(v)
        J = dt.jacfwd(g)(v)
        np.testing.assert_array_equal(dt.sparsity(g, v, kind).toarray(), J != 0)


def test_at_get_and_errors():
    x = X2
    np.testing.assert_array_equal(dnp.at(x)[1:, [0, 2]].get(), x[1:, [0, 2]])
    with pytest.raises(ValueError, match="broadcast"):
        dnp.at(x)[0].set(np.ones(3))
    # x is never written to
    before = x.copy()
    dnp.at(x)[0].set(1.0)
    np.testing.assert_array_equal(x, before)


# ---- construction --------------------------------------------------------------------------
def test_like_constructors_are_constants():
    x = X2

    def f(v):
        for fn in (np.zeros_like, np.ones_like, lambda a: np.full_like(a, 2.5),
                   lambda a: np.empty_like(a) * 0):
            c = fn(v)
            assert type(c) is np.ndarray and c.shape == x.shape
        assert np.zeros_like(v, shape=(2,)).shape == (2,)
        assert np.full_like(v, 3, dtype=int).dtype == int
        return np.sum(v * np.ones_like(v) + np.full_like(v, 2.0))
    np.testing.assert_array_equal(dt.grad(f)(x), np.ones_like(x))
    dt.jvp(f, (x,), (x,))


def test_full_like_with_a_traced_fill_value():
    x = np.array([1.5, -2.0])
    g = dt.grad(lambda x: np.sum(dnp.full_like(np.ones((2, 3)), x[0]) * x[1]))(x)
    np.testing.assert_allclose(g, [6 * x[1], 6 * x[0]])
    g = dt.grad(lambda x: np.sum(np.full_like(x, x[1])))(x)       # dispatched on x
    np.testing.assert_allclose(g, [0.0, 2.0])
    # numpy does not dispatch on fill_value: it writes it with copyto, which refuses
    with pytest.raises(TypeError, match="copyto"):
        dt.grad(lambda x: np.sum(np.full_like(np.ones(2), x[0])))(x)


def test_lists_of_traced_values():
    x = np.array([1.0, 2.0, 3.0])
    g = dt.grad(lambda x: np.sum(np.stack([x[0], x[2] * 2.0, 1.0]) ** 2))(x)
    np.testing.assert_allclose(g, [2.0, 0.0, 24.0])
    g = dt.grad(lambda x: np.sum(np.append(x, [x[0], 4.0])))(x)
    np.testing.assert_allclose(g, [2.0, 1.0, 1.0])
    g = dt.grad(lambda x: np.sum(np.hstack([x[0], x[1:]]) * np.vstack([x, x])))(x)
    np.testing.assert_allclose(g, 4 * x)
    g = dt.grad(lambda x: np.sum(dnp.array([[x[0], 1.0], [x[1], x[2]]], ndmin=3)))(x)
    np.testing.assert_allclose(g, [1.0, 1.0, 1.0])
    assert dnp.array([[1.0, 2.0]], ndmin=3).shape == (1, 1, 2)
    # numpy converts lists without dispatching: np.array / np.asarray refuse loudly
    for conv in (np.array, np.asarray):
        with pytest.raises(TypeError, match="cannot be converted"):
            dt.grad(lambda x: np.sum(conv([x[0], x[1]])))(x)


def test_linspace_with_traced_endpoints():
    a, b = np.array([0.5, -1.0]), np.array([2.0, 3.0])
    y = dnp.linspace(a, b, 5, axis=1)
    np.testing.assert_allclose(y, np.linspace(a, b, 5, axis=1))
    assert y[0, -1] == b[0]
    J = dt.jacfwd(lambda a: np.linspace(a, b, 4, endpoint=False))(a)
    frac = np.arange(4) / 4
    np.testing.assert_allclose(J, (1 - frac)[:, None, None] * np.eye(2))
    y, step = dnp.linspace(a, b, 3, retstep=True)
    np.testing.assert_allclose(step, (b - a) / 2)
    np.testing.assert_array_equal(dnp.linspace(0, 1, 5), np.linspace(0, 1, 5))


def test_plain_constructors_leave_traces_alone():
    def f(x):
        return np.sum(x @ np.eye(3) + np.arange(3) * x + np.zeros(3) + np.copy(x))
    np.testing.assert_allclose(dt.grad(f)(X1[:3]), [2.0, 3.0, 4.0])
    assert type(dnp.copy(X1)) is np.ndarray and dnp.copy(X1) is not X1


def test_moves_cost_no_flops():
    c = dt.count(lambda x: np.tile(np.flip(np.roll(x, 1), 0), 2)[::2], X2)
    assert c.primal_flops == 0


def test_positions_are_plain_and_refused_by_global_sparsity():
    x = X2

    def f(v):
        for got, want in ((np.argmax(v, axis=0), np.argmax(x, axis=0)),
                          (np.argmin(v), np.argmin(x)),
                          (v.argmax(axis=1), x.argmax(axis=1)),
                          (np.argpartition(v, 2, axis=1), np.argpartition(x, 2, axis=1))):
            assert isinstance(got, (np.ndarray, np.integer))
            np.testing.assert_array_equal(got, want)
        return np.take_along_axis(v, np.argsort(v, axis=1), axis=1)
    dt.jacfwd(f)(x)
    dt.jacrev(f)(x)
    # positions depend on the values: fine locally, an error for a global pattern
    J = dt.jacfwd(f)(x).reshape(12, 12)
    np.testing.assert_array_equal(dt.sparsity(f, x, kind="local").toarray(), J != 0)
    for pos in (np.argsort, np.argmax, np.argmin):
        with pytest.raises(ValueError, match="kind='local'"):
            dt.sparsity(lambda v: v.ravel()[pos(v)], x)


@pytest.mark.parametrize("index", [
    (np.array([3, 0, 2]),),                                  # distinct: a plain scatter
    (np.array([1, 1, -4, 0]),),                              # repeats (-4 is 1): accumulate
    (slice(None), np.array([[0, 2], [2, 1]])),               # repeats along axis 1
    (np.array([0, 3]), slice(1, 3), np.array([1, 1])),       # separated advanced items
    (np.array([True, False, True, True, False]),),           # a mask
    (np.array([2, 2]), 1, np.array([0, 1])),                 # an int between them
])
def test_gather_cotangents_accumulate_repeats_and_scatter_the_rest(index):
    from dualtape.reverse import vjp_batch
    x = np.random.default_rng(0).standard_normal((5, 4, 3))
    out, pull = vjp_batch(lambda x: x[index] * 2.0, x)
    G = np.random.default_rng(1).standard_normal((3,) + np.shape(out))
    want = np.zeros((3,) + x.shape)
    for k in range(3):
        np.add.at(want[k], index, 2.0 * G[k])                # numpy's accumulate
    np.testing.assert_allclose(pull(G), want, rtol=1e-15, atol=0)
