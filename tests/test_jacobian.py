"""dt.jacobian: full, diagonal and sparse structures, and the mode planner."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.jacobian import plan
from dualtape.reverse import Tape


def tridiagonal(x):
    # f_i = x_{i-1} x_i - x_{i+1}^2, zero-padded
    xp = dnp.concatenate([np.zeros(1), x, np.zeros(1)])
    return xp[:-2] * xp[1:-1] - xp[2:] ** 2


def tridiagonal_jacobian(x):
    # df_i/dx_{i-1} = x_i, df_i/dx_i = x_{i-1}, df_i/dx_{i+1} = -2 x_{i+1}
    n = len(x)
    J = np.zeros((n, n))
    for i in range(n):
        if i > 0:
            J[i, i - 1] = x[i]
            J[i, i] = x[i - 1]
        if i < n - 1:
            J[i, i + 1] = -2 * x[i + 1]
    return J


def arrowhead(x):
    # one dense row (sum of squares) on top of a diagonal
    return dnp.concatenate([dnp.sum(x ** 2)[None], x[1:] ** 3])


X = np.linspace(0.3, 1.7, 7)


@pytest.mark.parametrize("mode", ["fwd", "rev", "auto"])
def test_full_matches_closed_form(mode):
    J, info = dt.jacobian(tridiagonal, X, mode=mode, return_info=True)
    np.testing.assert_allclose(J, tridiagonal_jacobian(X), rtol=1e-15)
    assert info.structure == "full" and info.mode in ("fwd", "rev")
    if mode != "auto":
        assert info.mode == mode


@pytest.mark.parametrize("mode", ["fwd", "rev", "auto"])
def test_sparse_is_exact_and_uses_three_colours(mode):
    J, info = dt.jacobian(tridiagonal, X, mode=mode, structure="sparse", return_info=True)
    assert isinstance(J, sp.csr_array) and J.shape == (7, 7)
    np.testing.assert_array_equal(J.toarray(), tridiagonal_jacobian(X))
    assert info.colors == 3 and info.lower_bound == 3 and info.passes == 3
    assert info.nnz == 3 * 7 - 2


def test_arrowhead_needs_n_column_colours_and_the_planner_picks_reverse():
    from dualtape.coloring import color_columns, color_rows
    x = np.linspace(0.5, 1.5, 12)
    P = dt.sparsity(arrowhead, x)
    assert color_columns(P).ncolors == 12
    assert color_rows(P).ncolors == 2
    expected = np.diag(np.r_[0.0, 3 * x[1:] ** 2])
    expected[0] = 2 * x
    J, info = dt.jacobian(arrowhead, x, structure="sparse", mode="rev", return_info=True)
    assert info.mode == "rev" and info.colors == 2
    assert "compressed rev" in info.reason
    np.testing.assert_array_equal(J.toarray(), expected)
    # with both modes allowed, one VJP for the dense row and one JVP for the diagonal
    # (1 + ratio) beats two VJPs (2 x ratio)
    J, info = dt.jacobian(arrowhead, x, structure="sparse", return_info=True)
    assert info.mode == "fwd+rev" and info.passes == 2
    assert info.estimates["compressed fwd+rev"] < 2 * info.cost_ratio   # two VJPs
    np.testing.assert_array_equal(J.toarray(), expected)


def test_elementwise_is_diagonal_with_one_colour():
    J, info = dt.jacobian(lambda x: np.tanh(x) * 2, X, structure="sparse", return_info=True)
    assert info.colors == 1
    d = 2 * (1 - np.tanh(X) ** 2)
    np.testing.assert_array_equal(J.toarray(), np.diag(d))
    np.testing.assert_array_equal(dt.jacobian(lambda x: np.tanh(x) * 2, X,
                                              structure="diagonal"), d)
    D = dt.jacobian(lambda x: np.tanh(x) * 2, X, structure="diagonal", sparse_format="dia")
    assert isinstance(D, sp.dia_array)
    np.testing.assert_array_equal(D.toarray(), np.diag(d))


def test_diagonal_refuses_a_non_diagonal_function():
    with pytest.raises(ValueError, match="output 0 depends on input 1"):
        dt.jacobian(tridiagonal, X, structure="diagonal")
    with pytest.raises(ValueError, match="maps 7 inputs to 1 outputs"):
        dt.jacobian(lambda x: dnp.sum(x)[None], X, structure="diagonal")


def test_auto_structure_follows_density():
    x = np.linspace(0.1, 1.0, 200)
    _, info = dt.jacobian(tridiagonal, x, structure="auto", return_info=True)
    assert info.structure == "sparse"
    A = np.random.default_rng(0).standard_normal((5, 5))
    J, info = dt.jacobian(lambda x: A @ x, np.ones(5), structure="auto", return_info=True)
    assert info.structure == "full" and isinstance(J, np.ndarray)
    np.testing.assert_allclose(J, A)


def test_planner_prices_and_explains():
    mode, compressed, est, reason = plan(1000, 3)
    assert mode == "rev" and not compressed and est["dense rev"] == 4.5
    assert reason.startswith("dense rev")
    mode, compressed, _, reason = plan(1000, 1000, col_colors=3, row_colors=3)
    assert (mode, compressed) == ("fwd", True) and "3 column colours" in reason


def test_precomputed_pattern_and_bad_arguments():
    P = dt.sparsity(tridiagonal, X)
    J = dt.jacobian(tridiagonal, X, structure="sparse", sparsity=P)
    np.testing.assert_array_equal(J.toarray(), tridiagonal_jacobian(X))
    with pytest.raises(ValueError, match="mode must be"):
        dt.jacobian(tridiagonal, X, mode="sideways")
    with pytest.raises(ValueError, match="structure must be"):
        dt.jacobian(tridiagonal, X, structure="banded")


@st.composite
def sparse_functions(draw):
    n = draw(st.integers(1, 8))
    m = draw(st.integers(1, 8))
    density = draw(st.floats(0.05, 0.6))
    seed = draw(st.integers(0, 2 ** 16))
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) * (rng.random((m, n)) < density)
    B = rng.standard_normal((m, n)) * (rng.random((m, n)) < density)
    x = rng.uniform(0.5, 1.5, n)
    return A, B, x


@settings(max_examples=60, deadline=None)
@given(sparse_functions(), st.sampled_from(["fwd", "rev", "auto"]))
def test_decompressed_equals_dense_exactly(fab, mode):
    A, B, x = fab

    def f(x):
        return np.tanh(A @ x) * (B @ np.sqrt(x)) + np.exp(A @ x)
    J, info = dt.jacobian(f, x, mode=mode, structure="sparse", return_info=True)
    # Compressed passes do the dense passes' arithmetic plus exact zeros, so each
    # equals the dense Jacobian of its own mode to the last bit (a bidirectional plan:
    # each entry that of the side it was read from).
    if info.mode == "fwd+rev":
        bc = info.plan.coloring
        by_rev = np.asarray(bc.rows_rev)[:, None] & ~np.asarray(bc.cols_fwd)[None, :]
        dense = np.where(by_rev, dt.jacrev(f)(x), dt.jacfwd(f)(x))
    else:
        dense = (dt.jacfwd if info.mode == "fwd" else dt.jacrev)(f)(x)
    np.testing.assert_array_equal(J.toarray(), dense)
    np.testing.assert_allclose(J.toarray(), dt.jacrev(f)(x), rtol=1e-14, atol=1e-15)


# ---- plan, execute, report: the info says what ran, f runs as rarely as it can ---------

def elementwise(x):
    return np.sin(x) * x


def elementwise_jacobian(x):
    return np.diag(np.cos(x) * x + np.sin(x))


class Passes:
    """The interpreter passes that really ran, counted where they run: reverse sweeps
    (``Tape.backward``), forward passes over a recording (``Recording.push``) and
    forward passes through f (``forward._run``), each with the directions it carried and
    whether a counter priced it (its seed is a traced value)."""

    def __init__(self, monkeypatch):
        import dualtape.forward as fw
        from dualtape.registry import Tracer
        from dualtape.reverse import Recording
        self.runs = []

        def spy(kind, fn, seed_of):
            def wrapped(*args):
                seed = seed_of(*args)
                self.runs.append((kind, seed.shape[0], isinstance(seed, Tracer)))
                return fn(*args)
            return wrapped
        monkeypatch.setattr(Tape, "backward", spy(
            "rev", Tape.backward, lambda tape, seeds, wanted: next(iter(seeds.values()))))
        monkeypatch.setattr(Recording, "push", spy(
            "fwd", Recording.push, lambda rec, t: t))
        monkeypatch.setattr(fw, "_run", spy(
            "fwd", fw._run, lambda f, args, nums, tangents, trace, fn: tangents[0][0]))

    def executed(self):
        return [(kind, k) for kind, k, priced in self.runs if not priced]

    def priced(self):
        return sorted((kind, k) for kind, k, priced in self.runs if priced)


def counted(f):
    calls = [0]

    def g(x):
        calls[0] += 1
        return f(x)
    return g, calls


XT = np.linspace(0.3, 1.7, 7)
P_TRI = tridiagonal_jacobian(np.ones(7)) != 0
P_DIAG = np.eye(7, dtype=bool)

# (f, closed form, structure, mode, chunk_size, sparsity, f evaluations, directions,
#  sweeps); directions and sweeps are None where they depend on the mode auto chooses.
# Evaluations: the recording (or forward passes, one per chunk for mode="fwd" dense),
# plus one for detection unless the pattern is given.
CASES = [
    (tridiagonal, tridiagonal_jacobian, "full", "auto", None, "global", 1, 7, 1),
    (tridiagonal, tridiagonal_jacobian, "full", "fwd", None, "global", 1, 7, 1),
    (tridiagonal, tridiagonal_jacobian, "full", "rev", None, "global", 1, 7, 1),
    (tridiagonal, tridiagonal_jacobian, "full", "auto", 3, "global", 1, 7, 3),
    (tridiagonal, tridiagonal_jacobian, "full", "fwd", 3, "global", 3, 7, 3),
    (tridiagonal, tridiagonal_jacobian, "full", "rev", 3, "global", 1, 7, 3),
    (tridiagonal, tridiagonal_jacobian, "sparse", "auto", None, "global", 2, 3, 1),
    (tridiagonal, tridiagonal_jacobian, "sparse", "fwd", None, "global", 2, 3, 1),
    (tridiagonal, tridiagonal_jacobian, "sparse", "rev", None, "global", 2, 3, 1),
    (tridiagonal, tridiagonal_jacobian, "sparse", "auto", 2, "global", 2, 3, 2),
    (tridiagonal, tridiagonal_jacobian, "sparse", "fwd", None, P_TRI, 1, 3, 1),
    (tridiagonal, tridiagonal_jacobian, "sparse", "rev", 1, P_TRI, 1, 3, 3),
    (tridiagonal, tridiagonal_jacobian, "sparse", "auto", None, P_TRI, 1, 3, 1),
    (tridiagonal, tridiagonal_jacobian, "sparse", "auto", None, "local", 2, 3, 1),
    # density 19/49 >= AUTO_DENSITY: "auto" computes it dense
    (tridiagonal, tridiagonal_jacobian, "auto", "auto", None, "global", 2, 7, 1),
    (tridiagonal, tridiagonal_jacobian, "auto", "fwd", None, "global", 2, 7, 1),
    (tridiagonal, tridiagonal_jacobian, "auto", "rev", 4, "global", 2, 7, 2),
    (elementwise, elementwise_jacobian, "diagonal", "auto", None, "global", 2, 1, 1),
    (elementwise, elementwise_jacobian, "diagonal", "fwd", None, "global", 2, 1, 1),
    (elementwise, elementwise_jacobian, "diagonal", "rev", None, "global", 2, 1, 1),
    (elementwise, elementwise_jacobian, "diagonal", "auto", None, P_DIAG, 1, 1, 1),
    (elementwise, elementwise_jacobian, "sparse", "auto", None, "global", 2, 1, 1),
    (elementwise, elementwise_jacobian, "full", "auto", None, "global", 1, 7, 1),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(
    str(v) if not isinstance(v, np.ndarray) else "given" for v in c[2:6]))
def test_info_is_what_ran_and_f_runs_as_rarely_as_the_plan_allows(case, monkeypatch):
    f, closed, structure, mode, chunk, sparsity, evaluations, directions, sweeps = case
    g, calls = counted(f)
    spy = Passes(monkeypatch)
    J, info = dt.jacobian(g, XT, mode=mode, structure=structure, chunk_size=chunk,
                          sparsity=sparsity, return_info=True)
    dense = J.toarray() if sp.issparse(J) else (np.diag(J) if J.ndim == 1 else J)
    np.testing.assert_allclose(dense, closed(XT), rtol=1e-14, atol=1e-15)
    assert calls[0] == evaluations == info.evaluations
    ran = spy.executed()
    # every pass that built J ran in the reported mode, and the info counts them
    assert {kind for kind, _ in ran} == {info.mode}
    if mode != "auto":
        assert info.mode == mode
    assert info.sweeps == len(ran) == sweeps
    assert info.passes == sum(k for _, k in ran) == directions
    if chunk is not None:
        assert max(k for _, k in ran) <= chunk
    # pricing: one counted direction each way, only when the mode is to be chosen
    want = [("fwd", 1), ("rev", 1)] if mode == "auto" and structure != "diagonal" else []
    assert spy.priced() == want and info.pricing_sweeps == len(want)
    expected_structure = "full" if structure == "auto" else structure
    assert info.structure == expected_structure
    if info.structure in ("sparse", "diagonal"):
        assert info.colors == directions
    assert (info.n, info.m) == (7, 7)


def test_default_call_evaluates_f_once_like_jacfwd():
    A = np.random.default_rng(1).standard_normal((5, 4))

    def f(x):
        return np.tanh(A @ (x * np.sin(x)))
    x = np.linspace(-1, 1, 4)
    g, calls = counted(f)
    J = dt.jacobian(g, x)
    assert calls[0] == 1
    g2, calls2 = counted(f)
    Jf = dt.jacfwd(g2)(x)
    assert calls2[0] == 1
    s = x * np.sin(x)
    closed = (1 - np.tanh(A @ s) ** 2)[:, None] * A * (np.sin(x) + x * np.cos(x))
    np.testing.assert_allclose(J, closed, rtol=1e-14)
    np.testing.assert_allclose(Jf, closed, rtol=1e-14)


def test_large_values_stay_on_the_recording_for_forward_passes():
    # 5000 elements: a reverse-only tape would keep only VJP residuals of them
    x = np.linspace(0.3, 1.7, 5000)
    g, calls = counted(tridiagonal)
    J, info = dt.jacobian(g, x, structure="sparse", return_info=True)
    assert calls[0] == 2 and info.colors == 3 and info.nnz == 3 * 5000 - 2
    np.testing.assert_array_equal(J.diagonal(0), np.r_[0.0, x[:-1]])
    np.testing.assert_array_equal(J.diagonal(-1), x[1:])
    np.testing.assert_array_equal(J.diagonal(1), -2 * x[1:])


def test_cost_ratio_is_the_counted_vjp_over_jvp():
    from dualtape.jacobian import reverse_cost
    A = np.random.default_rng(2).standard_normal((6, 4))
    for f in (lambda x: np.tanh(A @ (x * np.sin(x))), tridiagonal, arrowhead):
        x = np.linspace(0.4, 1.3, 4)
        # counted independently, through the public jvp / vjp, as two evaluations
        fwd = dt.count(lambda v: dt.jvp(f, (v,), (np.ones_like(v),))[1], x)
        m = np.size(f(x))
        rev = dt.count(lambda v: dt.vjp(f, v)[1](np.ones(m).reshape(np.shape(f(x))))[0], x)
        g, calls = counted(f)
        assert reverse_cost(g, x) == rev.derivative_flops / fwd.derivative_flops
        assert calls[0] == 1
        _, info = dt.jacobian(f, x, return_info=True)
        assert info.cost_ratio == rev.derivative_flops / fwd.derivative_flops


def test_a_primitive_without_jvp_makes_auto_choose_reverse():
    square = dt.defprimitive("jacobian_test_square_vjp_only", lambda x: x * x)
    dt.defvjp(square, lambda g, ans, x: 2 * g * x)
    x = np.array([1.0, 2.0, 3.0])
    J, info = dt.jacobian(lambda v: square(v) + 1.0, x, return_info=True)
    np.testing.assert_array_equal(J, np.diag(2 * x))
    assert info.mode == "rev" and "forward mode is impossible" in info.reason
    assert "jacobian_test_square_vjp_only" in info.reason
    with pytest.raises(NotImplementedError, match="no JVP rule"):
        dt.jacobian(lambda v: square(v), x, mode="fwd")


@pytest.mark.parametrize("structure", ["full", "diagonal", "sparse", "auto"])
@pytest.mark.parametrize("x", [np.arange(3), np.array([True, False]), [1, 2, 3]],
                         ids=["int", "bool", "list-of-ints"])
def test_integer_inputs_are_refused_as_jacfwd_refuses_them(structure, x):
    with pytest.raises(TypeError, match="jacfwd: cannot differentiate .* dtype"):
        dt.jacfwd(np.sin)(x)
    with pytest.raises(TypeError, match="jacobian: cannot differentiate .* dtype"):
        dt.jacobian(np.sin, x, structure=structure)
    # the float version of the same input works
    d = dt.jacobian(np.sin, np.asarray(x, dtype=float), structure="diagonal")
    np.testing.assert_allclose(d, np.cos(np.asarray(x, dtype=float)), rtol=1e-15)


def test_a_plan_runs_again_at_another_input():
    from dualtape.jacobian import execute, plan_jacobian
    g, calls = counted(tridiagonal)
    p, rec, priced = plan_jacobian(g, XT, structure="sparse")
    assert calls[0] == 2 and priced == 2 and p.structure == "sparse" and p.directions == 3
    x2 = XT[::-1] * 2
    J, run = execute(p, g, x2)            # no recording at x2: one new evaluation
    assert calls[0] == 3 and run.sweeps == 1 and run.passes == 3
    np.testing.assert_array_equal(J.toarray(), tridiagonal_jacobian(x2))
    with pytest.raises(ValueError, match="made for inputs of shape"):
        execute(p, g, np.ones(8))
    with pytest.raises(ValueError, match="made for inputs of shape"):
        execute(p, g, np.ones(7, dtype=np.float32))


def test_nested_full_jacobian_keeps_the_outer_derivative():
    # d/dx sum(J(x)) for f(x) = x^3 elementwise: J = diag(3x^2), so the gradient is 6x
    x = np.array([0.5, 1.0, 2.0])
    for mode in ("auto", "fwd", "rev"):
        gr = dt.grad(lambda v: dnp.sum(dt.jacobian(lambda u: u ** 3, v, mode=mode)))(x)
        np.testing.assert_allclose(gr, 6 * x, rtol=1e-14)


@pytest.mark.parametrize("structure", ["full", "sparse", "auto"])
@pytest.mark.parametrize("mode", ["auto", "fwd", "rev"])
@pytest.mark.parametrize("f, x, m", [
    (np.tanh, np.zeros((3, 0)), 0),
    (lambda v: v[:0] * 2.0, np.ones(4), 0),
    (lambda v: np.sum(v) + np.ones(3), np.zeros(0), 3)], ids=["(3,0)", "to-empty", "from-empty"])
def test_empty_inputs_and_outputs(f, x, m, structure, mode):
    J = dt.jacobian(f, x, mode=mode, structure=structure)
    if sp.issparse(J):
        assert J.shape == (m, x.size) and J.nnz == 0
    else:
        assert J.shape == np.shape(f(x)) + x.shape and J.size == 0


def test_empty_diagonal():
    for mode in ("auto", "fwd", "rev"):
        d, info = dt.jacobian(np.tanh, np.zeros(0), mode=mode, structure="diagonal",
                              return_info=True)
        assert d.shape == (0,) and info.passes == 0


@pytest.mark.parametrize("mode", ["auto", "fwd", "rev"])
def test_a_given_pattern_with_the_wrong_number_of_rows_is_refused(mode):
    P = np.eye(8, 7, dtype=bool)
    with pytest.raises(ValueError, match="has 8 output rows, but f returns 7 elements"):
        dt.jacobian(np.tanh, XT, mode=mode, structure="sparse", sparsity=P)
