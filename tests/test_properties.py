"""Property tests: forward mode, reverse mode and finite differences agree.

For random shapes (1-D and 2-D, sizes 1..5) and random float64 inputs, and for a menu
of composite functions and randomly drawn *programs* built from supported operations,
``jacfwd`` must equal ``jacrev`` to near machine precision and both must agree with
central finite differences computed here (independently of dualtape's check_grads).

Inputs stay away from kinks (abs at 0, maximum/minimum ties, max-reduction ties,
``where`` switching points) and from the boundary of log/sqrt's domain, so the
derivative exists and finite differences are meaningful.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dualtape as dt

# fwd vs rev: both exact up to rounding, so a tight tolerance.
EXACT_RTOL, EXACT_ATOL = 1e-9, 1e-11
# AD vs central differences (h ~ 1e-6 scaled): truncation O(h^2) + rounding O(eps/h).
FD_RTOL, FD_ATOL = 1e-5, 1e-6

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                      HealthCheck.filter_too_much])


# ---- an independent finite-difference Jacobian ----------------------------------------
def fd_jacobian(f, args, argnum=0, rel_step=1e-6):
    """Central differences of ``f(*args)`` w.r.t. ``args[argnum]``.

    Returns J with ``J.shape == out.shape + x.shape``; the step for entry i is
    ``rel_step * max(1, |x_i|)``.
    """
    args = [np.asarray(a, dtype=float) if i == argnum else a for i, a in enumerate(args)]
    x = args[argnum]
    out = np.asarray(f(*args), dtype=float)
    J = np.zeros(out.shape + (x.size,))
    flat = x.reshape(-1)
    for i in range(x.size):
        h = rel_step * max(1.0, abs(flat[i]))
        xp = flat.copy()
        xm = flat.copy()
        xp[i] += h
        xm[i] -= h
        ap = list(args)
        am = list(args)
        ap[argnum] = xp.reshape(x.shape)
        am[argnum] = xm.reshape(x.shape)
        fp = np.asarray(f(*ap), dtype=float)
        fm = np.asarray(f(*am), dtype=float)
        J[..., i] = (fp - fm) / (2 * h)
    return J.reshape(out.shape + x.shape)


def assert_close(got, want, rtol, atol, what=""):
    got = np.asarray(got, dtype=float)
    want = np.asarray(want, dtype=float)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    scale = max(1.0, float(np.max(np.abs(want))) if want.size else 1.0)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol * scale, err_msg=what)


def check_all_modes(f, args, argnum=0):
    """jacfwd == jacrev (tight) and both == finite differences (loose)."""
    x = np.asarray(args[argnum])
    out = np.asarray(f(*args))
    jf = np.asarray(dt.jacfwd(f, argnums=argnum)(*args))
    jr = np.asarray(dt.jacrev(f, argnums=argnum)(*args))
    assert jf.shape == out.shape + x.shape, ("jacfwd shape", jf.shape, out.shape, x.shape)
    assert jr.shape == out.shape + x.shape, ("jacrev shape", jr.shape, out.shape, x.shape)
    assert_close(jf, jr, EXACT_RTOL, EXACT_ATOL, "jacfwd vs jacrev")
    jfd = fd_jacobian(f, args, argnum)
    assert_close(jf, jfd, FD_RTOL, FD_ATOL, "jacfwd vs finite differences")
    assert_close(jr, jfd, FD_RTOL, FD_ATOL, "jacrev vs finite differences")
    return jf


# ---- strategies -----------------------------------------------------------------------
shapes = st.one_of(
    st.tuples(st.integers(1, 5)),
    st.tuples(st.integers(1, 5), st.integers(1, 5)),
)


def _away(*points, gap=0.05):
    return st.floats(-2.0, 2.0).filter(lambda v: all(abs(v - p) >= gap for p in points))


DOMAINS = {
    "real": st.floats(-2.0, 2.0),
    "pos": st.floats(0.2, 3.0),
    "distinct": st.floats(-2.0, 2.0),             # drawn with unique=True (see arrays)
    "away_abs": _away(0.0, 0.5),
    "away_maxmin": _away(0.3, -1.0, 1.0, np.pi / 4),
    "away_0.2": _away(0.2),
    "away_0.1": _away(0.1),
}


def arrays(shape, domain="real"):
    return hnp.arrays(np.float64, shape, elements=DOMAINS[domain],
                      unique=domain == "distinct")


def away_from(x, points, gap=0.05):
    """True when every entry of x is at least ``gap`` from every one of ``points``."""
    x = np.asarray(x)
    return all(np.all(np.abs(x - p) >= gap) for p in np.atleast_1d(points))


def distinct_along(x, axis, gap=1e-3):
    """No two entries of x along ``axis`` (None: all) are closer than ``gap``, so a
    max/min reduction has no ties and moving one entry by a finite-difference step
    does not change which entry is selected."""
    x = np.asarray(x)
    if axis is None:
        x, axis = np.ravel(x), 0
    s = np.sort(x, axis=axis)
    return s.shape[axis] < 2 or bool(np.min(np.diff(s, axis=axis)) >= gap)


def _const(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


# ---- a menu of composite functions ----------------------------------------------------
# Each entry: name -> (builder, domain, ok).  ``builder(shape)`` returns the function of
# x (so constants such as matrices, masks and index arrays can match the shape),
# ``domain`` names the element strategy, and ``ok(x)`` (or None) rejects inputs too close
# to a kink.

def _last(shape):
    return shape[-1]


def _first(shape):
    return shape[0]


COMPOSITES = {
    # elementwise
    "poly": (lambda s: lambda x: 3.0 * x * x - 2.0 * x + 1.0 - x ** 3, "real", None),
    "rational": (lambda s: lambda x: (x - 1.0) / (1.0 + x * x) + 2.0 / (3.0 + x), "real",
                 None),
    "exp_sin_cos": (lambda s: lambda x: np.exp(np.sin(x)) * np.cos(2.0 * x) - x, "real",
                    None),
    "tanh_chain": (lambda s: lambda x: np.tanh(np.tanh(x) * x + 0.3), "real", None),
    "log_sqrt": (lambda s: lambda x: np.log(x) * np.sqrt(x) + np.sqrt(x + x * x), "pos",
                 None),
    "pow_real_exponent": (lambda s: lambda x: x ** 2.5 - x ** -0.5 + 1.7 ** x, "pos", None),
    "pow_traced_exponent": (lambda s: lambda x: x ** np.sin(x) + np.log(x) ** 2, "pos",
                            None),
    "divide_traced": (lambda s: lambda x: np.sin(x) / (x + 0.1) - (1.0 / x), "pos", None),
    "abs": (lambda s: lambda x: np.abs(x) * np.sin(x) + np.abs(x - 0.5), "away_abs",
            lambda x: away_from(x, [0.0, 0.5])),
    "maximum_minimum": (lambda s: lambda x: np.maximum(x, 0.3) * np.minimum(x * x, 1.0)
                        + np.maximum(np.sin(x), np.cos(x)), "away_maxmin",
                        lambda x: away_from(x, [0.3, -1.0, 1.0])
                        and away_from(np.sin(x) - np.cos(x), [0.0])),
    # reductions
    "sum_all": (lambda s: lambda x: np.sum(np.sin(x) * x), "real", None),
    "sum_axis0": (lambda s: lambda x: np.sum(x * x, axis=0) + x.sum(axis=-1, keepdims=True),
                  "real", None),
    "sum_keepdims": (lambda s: lambda x: x * np.sum(np.cos(x), axis=0, keepdims=True),
                     "real", None),
    "mean_axis": (lambda s: lambda x: np.mean(np.exp(x), axis=-1) * np.mean(x), "real",
                  None),
    "mean_keepdims": (lambda s: lambda x: x - np.mean(x, axis=0, keepdims=True), "real",
                      None),
    "max_all": (lambda s: lambda x: np.max(np.sin(x) + x) * x, "distinct",
                lambda x: distinct_along(np.sin(x) + x, None)),
    "max_axis": (lambda s: lambda x: np.max(x, axis=0) + np.max(x * x, axis=-1,
                                                                 keepdims=True).sum(),
                 "distinct", lambda x: distinct_along(x, 0) and distinct_along(x * x, -1)),
    "softmax": (lambda s: lambda x: np.exp(x - np.max(x, axis=-1, keepdims=True))
                / np.sum(np.exp(x - np.max(x, axis=-1, keepdims=True)), axis=-1,
                         keepdims=True), "distinct", lambda x: distinct_along(x, -1)),
    # matmul with constant matrices
    "matmul_left": (lambda s: (lambda A: lambda x: np.tanh(A @ x))(_const((3, _first(s)), 1)),
                    "real", None),
    "matmul_right": (lambda s: (lambda B: lambda x: x @ B - (x * x) @ B)(
        _const((_last(s), 2), 2)), "real", None),
    "quadratic_form": (lambda s: (lambda A: lambda x: np.sum(x * (A @ x)))(
        _const((_first(s), _first(s)), 3)), "real", None),
    "gram": (lambda s: lambda x: (x.T @ x) if len(s) == 2 else np.sum(x * x), "real",
             None),
    # shape
    "transpose": (lambda s: lambda x: np.transpose(np.sin(x)) * 2.0 + x.T, "real", None),
    "reshape": (lambda s: lambda x: np.reshape(x * x, (-1,))[::-1] + np.ravel(x), "real",
                None),
    "reshape_2d": (lambda s: lambda x: np.cos(x.reshape(1, -1)).reshape(-1, 1) * 3.0,
                   "real", None),
    "slice": (lambda s: lambda x: x[::2] * x[: (s[0] + 1) // 2] + np.sin(x[-1:]), "real",
              None),
    "int_index": (lambda s: (lambda idx: lambda x: x[idx] * np.sin(x[idx[::-1]]))(
        np.random.default_rng(s[0]).integers(0, s[0], size=4)), "real", None),
    "int_index_2d": (lambda s: (lambda i, j: lambda x: (x[i] if len(s) == 1
                                                        else x[i, j]) ** 2)(
        np.array([0, s[0] - 1, 0]), np.array([s[-1] - 1, 0, s[-1] - 1])), "real", None),
    "scalar_index": (lambda s: lambda x: x[0] * x[-1] + np.exp(x[s[0] // 2]), "real",
                     None),
    "concatenate": (lambda s: lambda x: np.concatenate([x, np.sin(x), x * x], axis=0),
                    "real", None),
    "concatenate_last": (lambda s: lambda x: np.concatenate([np.exp(x), x[..., :1]],
                                                            axis=-1), "real", None),
    "stack": (lambda s: lambda x: np.stack([x, x * x, np.cos(x)], axis=-1), "real", None),
    "stack_axis0": (lambda s: lambda x: np.stack([np.tanh(x), x], axis=0).sum(axis=1),
                    "real", None),
    "where_const_mask": (lambda s: (lambda m: lambda x: np.where(m, np.sin(x), x * x))(
        np.random.default_rng(7).random(s) > 0.5), "real", None),
    "where_data_mask": (lambda s: lambda x: np.where(x > 0.2, x ** 3, np.sin(x) - 1.0),
                        "away_0.2", lambda x: away_from(x, [0.2])),
    "inner_product": (lambda s: lambda x: (x @ x) if len(s) == 1 else (x @ x.T) * 0.5,
                      "real", None),
    "dot_const": (lambda s: (lambda A: lambda x: np.dot(np.sin(x), A))(
        _const((_last(s), 3), 4)), "real", None),
    "sum_axis_tuple": (lambda s: lambda x: np.sum(x * x, axis=tuple(range(len(s))))
                       + np.mean(np.exp(x), axis=(0,), keepdims=True).sum(), "real", None),
    "normalize_rows": (lambda s: lambda x: x / np.sqrt(1.0 + np.sum(x * x, axis=-1,
                                                                    keepdims=True)),
                       "real", None),
    "max_keepdims_all": (lambda s: lambda x: x - np.max(x, axis=None, keepdims=True),
                         "distinct", lambda x: distinct_along(x, None)),
    "min_axis": (lambda s: lambda x: np.min(np.cos(x), axis=-1) * 2.0, "distinct",
                 lambda x: distinct_along(np.cos(x), -1)),
    "bool_mask": (lambda s: (lambda m: lambda x: x[m] * np.sin(x[m]))(
        np.arange(int(np.prod(s))).reshape(s) % 2 == 0), "real", None),
    "reverse_step": (lambda s: lambda x: (x[::-1, ::-2] if len(s) == 2
                                          else x[::-1][: max(1, s[0] - 1)]) * 2.0 + 1.0,
                     "real", None),
    "expand_squeeze_moveaxis": (lambda s: lambda x: np.moveaxis(
        np.expand_dims(np.squeeze(np.expand_dims(x, 0), 0), -1) * np.sin(x)[..., None],
        -1, 0), "real", None),
    "swapaxes": (lambda s: lambda x: np.swapaxes(x.reshape(s + (1,)), 0, -1) ** 2, "real",
                 None),
    "concatenate_none": (lambda s: lambda x: np.concatenate([x, x * x], axis=None), "real",
                         None),
    "broadcast_to": (lambda s: lambda x: np.broadcast_to(x, (2,) + s) * _const((2,) + s, 6),
                     "real", None),
    "where_scalar_branch": (lambda s: (lambda m: lambda x: np.where(m, x, 0.0)
                                       + np.where(m, 1.0, np.sin(x)))(
        np.random.default_rng(8).random(s) > 0.5), "real", None),
    "fan_out": (lambda s: lambda x: np.tanh(x) * np.sum(x) + x[..., ::-1] * np.mean(x),
                "real", None),
    # the classic double-where: log is only evaluated where it is defined, and the
    # untaken branch must contribute an exact zero (no 0 * inf = NaN)
    "where_log_safe": (lambda s: lambda x: np.where(x > 0.1,
                                                    np.log(np.where(x > 0.1, x, 1.0)), x),
                       "away_0.1", lambda x: away_from(x, [0.1])),
}


def draw_composite(name, data):
    """The composite ``name`` built for a drawn shape, and an input in its domain."""
    build, domain, ok = COMPOSITES[name]
    shape = data.draw(shapes, label="shape")
    x = data.draw(arrays(shape, domain), label="x")
    if ok is not None:
        assume(ok(x))
    return build(shape), x


@pytest.mark.parametrize("name", sorted(COMPOSITES))
@settings(max_examples=25, **SETTINGS)
@given(data=st.data())
def test_composite_fwd_equals_rev_equals_fd(name, data):
    f, x = draw_composite(name, data)
    check_all_modes(f, (x,))


# ---- random programs ------------------------------------------------------------------
# Each op: (name, applicable(shape) -> bool, draw params(data, shape) -> params,
#           apply(x, params) -> y, valid(x_value, params) -> bool  (kink avoidance))

def _axis_choices(shape):
    return [None] + list(range(len(shape))) + [-1] if shape else [None]


PROGRAM_OPS = []


def op(name, applicable=lambda s: True, params=lambda data, s: None, valid=None):
    def deco(fn):
        PROGRAM_OPS.append((name, applicable, params, fn, valid))
        return fn
    return deco


@op("sin")
def _(x, p): return np.sin(x)


@op("cos")
def _(x, p): return np.cos(x)


@op("tanh")
def _(x, p): return np.tanh(2.0 * x)


@op("exp_bounded")
def _(x, p): return np.exp(np.tanh(x))


@op("square")
def _(x, p): return x * x - x


@op("cube")
def _(x, p): return x ** 3 / 3.0


@op("affine")
def _(x, p): return 0.7 * x + 0.25


@op("reciprocal")
def _(x, p): return 1.0 / (1.0 + x * x)


@op("divide")
def _(x, p): return x / (2.0 + np.cos(x))


@op("log_pos")
def _(x, p): return np.log(1.0 + x * x)


@op("sqrt_pos")
def _(x, p): return np.sqrt(0.5 + x * x)


@op("pow_pos")
def _(x, p): return (1.0 + x * x) ** 0.75


@op("abs", valid=lambda x, p: away_from(x, [0.0], 1e-2))
def _(x, p): return np.abs(x)


@op("maximum", valid=lambda x, p: away_from(x, [0.1], 1e-2))
def _(x, p): return np.maximum(x, 0.1) + 0.1 * x


@op("minimum", valid=lambda x, p: away_from(x, [-0.1], 1e-2))
def _(x, p): return np.minimum(x, -0.1) + 0.1 * x


@op("where", valid=lambda x, p: away_from(x, [0.0], 1e-2))
def _(x, p): return np.where(x > 0, np.sin(x), x * x)


@op("sum_axis", lambda s: len(s) >= 1,
    lambda data, s: (data.draw(st.sampled_from(_axis_choices(s)), label="axis"),
                     data.draw(st.booleans(), label="keepdims")))
def _(x, p): return np.sum(x, axis=p[0], keepdims=p[1])


@op("mean_axis", lambda s: len(s) >= 1,
    lambda data, s: (data.draw(st.sampled_from(_axis_choices(s)), label="axis"),
                     data.draw(st.booleans(), label="keepdims")))
def _(x, p): return np.mean(x, axis=p[0], keepdims=p[1])


@op("max_axis", lambda s: len(s) >= 1,
    lambda data, s: (data.draw(st.sampled_from(_axis_choices(s)), label="axis"),
                     data.draw(st.booleans(), label="keepdims")),
    valid=lambda x, p: distinct_along(x, p[0], 1e-3))
def _(x, p): return np.max(x, axis=p[0], keepdims=p[1])


@op("matmul_right", lambda s: 1 <= len(s) <= 2,
    lambda data, s: _const((s[-1], data.draw(st.integers(1, 4), label="k")),
                           data.draw(st.integers(0, 99), label="seed")))
def _(x, p): return x @ p


@op("matmul_left", lambda s: 1 <= len(s) <= 2,
    lambda data, s: _const((data.draw(st.integers(1, 4), label="k"),
                            s[0] if len(s) == 1 else s[-2]),
                           data.draw(st.integers(0, 99), label="seed")))
def _(x, p): return p @ x


@op("transpose", lambda s: len(s) == 2)
def _(x, p): return x.T


@op("ravel", lambda s: len(s) != 1)
def _(x, p): return np.reshape(x, (-1,))


@op("reshape_col", lambda s: len(s) == 1)
def _(x, p): return x.reshape(-1, 1)


@op("reverse", lambda s: len(s) >= 1)
def _(x, p): return x[::-1]


@op("slice", lambda s: len(s) >= 1 and s[0] >= 2,
    lambda data, s: data.draw(st.integers(1, s[0] - 1), label="start"))
def _(x, p): return x[p:]


@op("take", lambda s: len(s) >= 1,
    lambda data, s: np.array(data.draw(st.lists(st.integers(0, s[0] - 1), min_size=1,
                                                max_size=5), label="idx")))
def _(x, p): return x[p]


@op("take_last_axis", lambda s: len(s) == 2,
    lambda data, s: np.array(data.draw(st.lists(st.integers(-s[1], s[1] - 1), min_size=1,
                                                max_size=4), label="idx")))
def _(x, p): return x[:, p]


@op("concat_self", lambda s: len(s) >= 1 and s[0] <= 4,
    lambda data, s: data.draw(st.sampled_from(range(-len(s), len(s))), label="axis"))
def _(x, p): return np.concatenate([x, np.sin(x)], axis=p)


@op("stack_self", lambda s: len(s) <= 1,
    lambda data, s: data.draw(st.sampled_from(range(-len(s) - 1, len(s) + 1)), label="axis"))
def _(x, p): return np.stack([x, x * x], axis=p)


MAX_PROGRAM_SIZE = 40    # keep intermediate arrays small
MAX_PROGRAM_VALUE = 8.0  # and their values moderate


@st.composite
def programs(draw):
    """(x, ops): a random input and a list of (name, fn, params) applicable in sequence.

    The op sequence is drawn step by step against the current shape (computed on plain
    numpy), so every op's parameters match the array it will see.
    """
    shape = draw(shapes, label="shape")
    x = draw(arrays(shape, "real"), label="x")
    n_ops = draw(st.integers(1, 6), label="n_ops")
    cur = x
    steps = []
    for _ in range(n_ops):
        s = np.shape(cur)
        choices = [o for o in PROGRAM_OPS if o[1](s)]
        name, _app, params_fn, fn, valid = draw(st.sampled_from(choices), label="op")
        p = params_fn(_Drawer(draw), s)
        if valid is not None and not valid(cur, p):
            continue                      # skip an op whose kink is too close
        nxt = fn(cur, p)
        if (np.size(nxt) > MAX_PROGRAM_SIZE or not np.all(np.isfinite(nxt))
                or np.max(np.abs(nxt)) > MAX_PROGRAM_VALUE):
            continue                      # keep values moderate, so FD stays accurate
        steps.append((name, fn, p))
        cur = nxt
    return x, steps


class _Drawer:
    """Adapts ``draw`` to the ``data.draw`` interface the op parameter functions use."""

    def __init__(self, draw):
        self._draw = draw

    def draw(self, strategy, label=None):
        return self._draw(strategy, label=label)


def run_program(steps):
    def f(x):
        for _name, fn, p in steps:
            x = fn(x, p)
        return x
    return f


@settings(max_examples=400, **SETTINGS)
@given(prog=programs())
def test_random_programs_fwd_rev_fd(prog):
    x, steps = prog
    f = run_program(steps)
    check_all_modes(f, (x,))


@settings(max_examples=40, **SETTINGS)
@given(prog=programs(), v=st.integers(0, 2 ** 31 - 1))
def test_random_programs_jvp_vjp_match_jacobian(prog, v):
    # A single jvp / vjp along random directions equals J v / u^T J.
    x, steps = prog
    f = run_program(steps)
    rng = np.random.default_rng(v)
    J = fd_jacobian(f, (x,))
    out = np.asarray(f(x))
    tv = rng.standard_normal(x.shape)
    u = rng.standard_normal(out.shape)
    Jm = J.reshape(out.size, x.size)
    _, jv = dt.jvp(f, (x,), (tv,))
    assert_close(np.reshape(jv, -1), Jm @ tv.reshape(-1), FD_RTOL, FD_ATOL, "jvp")
    _, pull = dt.vjp(f, x)
    (uj,) = pull(u)
    assert_close(np.reshape(uj, -1), u.reshape(-1) @ Jm, FD_RTOL, FD_ATOL, "vjp")


def check_hessian_modes(prog, seed):
    """The four compositions of the modes give the same Hessian of a scalar reduction of
    the program; it is symmetric and matches central differences of the (separately
    validated) gradient."""
    x, steps = prog
    f = run_program(steps)
    w = np.random.default_rng(seed).standard_normal(np.shape(f(x)))
    g = lambda x: np.sum(f(x) * w)
    hs = {m: np.asarray(dt.hessian(g, mode=m)(x))
          for m in ("fwd-over-fwd", "fwd-over-rev", "rev-over-fwd", "rev-over-rev")}
    ref = hs["rev-over-rev"]
    assert ref.shape == x.shape + x.shape
    h_fd = fd_jacobian(lambda x: np.asarray(dt.grad(g)(x)), (x,))
    for m, h in hs.items():
        assert_close(h, h_fd, 1e-4, 1e-5, f"hessian {m} vs finite differences of the gradient")
        assert_close(h, ref, 1e-8, 1e-10, f"hessian {m} vs rev-over-rev")
    n = x.size
    assert_close(ref.reshape(n, n), ref.reshape(n, n).T, 1e-8, 1e-10, "symmetry")


def _step(name):
    entry = next(o for o in PROGRAM_OPS if o[0] == name)
    return (name, entry[3], None)


# The explicit example, 1 / (1 + x^2) at x = 0 (Hessian -2), is a regression test: an
# inner tangent 2x that is exactly 0 but has a non-zero outer derivative once made a
# NaN guard of divide drop that derivative (fwd-over-fwd gave 0; fixed in 8d70ee5).
@example(prog=(np.array([0.0]), [_step("reciprocal")]), seed=0)
@example(prog=(np.array([0.0, 1.0]), [_step("log_pos"), _step("sqrt_pos")]), seed=1)
@settings(max_examples=60, **SETTINGS)
@given(prog=programs(), seed=st.integers(0, 2 ** 31 - 1))
def test_random_programs_hessian_modes_agree(prog, seed):
    check_hessian_modes(prog, seed)


@settings(max_examples=20, **SETTINGS)
@given(prog=programs())
def test_nested_jacobians_with_chunk_sizes(prog):
    # Chunked (vector-mode) passes nested inside each other: every outer/inner mode pair
    # and chunk sizes around n give the same Hessian.
    x, steps = prog
    f = run_program(steps)
    g = lambda x: np.sum(np.sin(f(x)))
    ref = np.asarray(dt.hessian(g, mode="rev-over-rev")(x))
    n = x.size
    for oc in _chunks_around(n):
        for ic in (1, n):
            for outer in (dt.jacfwd, dt.jacrev):
                for inner in (dt.jacfwd, dt.jacrev):
                    h = outer(inner(g, chunk_size=ic), chunk_size=oc)(x)
                    assert_close(h, ref, 1e-8, 1e-10,
                                 f"{outer.__name__}(chunk {oc}) of "
                                 f"{inner.__name__}(chunk {ic})")


# ---- chunk sizes ----------------------------------------------------------------------
def _chunks_around(*sizes):
    out = set()
    for k in sizes:
        out.update({k - 1, k, k + 1})
    out.add(1)
    return sorted(c for c in out if c >= 1)


@settings(max_examples=60, **SETTINGS)
@given(prog=programs())
def test_chunk_sizes_give_same_jacobian(prog):
    x, steps = prog
    f = run_program(steps)
    n = x.size
    m = np.size(f(x))
    j_fwd = np.asarray(dt.jacfwd(f)(x))
    j_rev = np.asarray(dt.jacrev(f)(x))
    for c in _chunks_around(n):
        assert_close(dt.jacfwd(f, chunk_size=c)(x), j_fwd, 1e-14, 1e-14, f"jacfwd chunk {c}")
    for c in _chunks_around(n, m):
        assert_close(dt.jacrev(f, chunk_size=c)(x), j_rev, 1e-14, 1e-14, f"jacrev chunk {c}")
    assert_close(j_fwd, j_rev, EXACT_RTOL, EXACT_ATOL, "jacfwd vs jacrev")


@pytest.mark.parametrize("name", ["softmax", "matmul_left", "int_index", "stack",
                                  "max_axis", "concatenate_last", "where_const_mask"])
@settings(max_examples=10, **SETTINGS)
@given(data=st.data())
def test_chunk_sizes_on_composites(name, data):
    f, x = draw_composite(name, data)
    n, m = x.size, np.size(f(x))
    ref = np.asarray(dt.jacfwd(f)(x))
    for c in _chunks_around(n):
        assert_close(dt.jacfwd(f, chunk_size=c)(x), ref, 1e-14, 1e-14, f"jacfwd chunk {c}")
    for c in _chunks_around(n, m):
        assert_close(dt.jacrev(f, chunk_size=c)(x), ref, EXACT_RTOL, EXACT_ATOL,
                     f"jacrev chunk {c}")


# ---- broadcasting ---------------------------------------------------------------------
BROADCAST_PAIRS = [
    ((3, 1), (4,)),
    ((4,), (3, 1)),
    ((1, 4), (3, 1)),
    ((2, 3), (3,)),
    ((2, 3), (1, 3)),
    ((2, 3), (2, 1)),
    ((5,), (1,)),
    ((3,), ()),
    ((), (2, 2)),
    ((2, 1, 3), (4, 1)),
]

BINARY = {
    "add": (lambda a, b: a + b, "real", None),
    "subtract": (lambda a, b: a - b, "real", None),
    "multiply": (lambda a, b: a * b, "real", None),
    "divide": (lambda a, b: a / b, "pos", None),
    "power": (lambda a, b: a ** b, "pos", None),
    "maximum": (lambda a, b: np.maximum(a, b), "real",
                lambda a, b: np.min(np.abs(np.subtract(a, b))) > 1e-2),
    "minimum": (lambda a, b: np.minimum(a, b), "real",
                lambda a, b: np.min(np.abs(np.subtract(a, b))) > 1e-2),
    "where": (lambda a, b: np.where(_mask(a, b), a * a, np.sin(b)), "real", None),
    "composite": (lambda a, b: np.sin(a * b) + np.exp(a - b) / (1.0 + b * b), "real", None),
}


def _mask(a, b):
    shape = np.broadcast_shapes(np.shape(a), np.shape(b))
    return np.random.default_rng(5).random(shape) > 0.4


@pytest.mark.parametrize("op_name", sorted(BINARY))
@pytest.mark.parametrize("sa, sb", BROADCAST_PAIRS)
@settings(max_examples=5, **SETTINGS)
@given(data=st.data())
def test_broadcasting_binary_both_operands(op_name, sa, sb, data):
    fn, domain, ok = BINARY[op_name]
    a = data.draw(arrays(sa, domain), label="a")
    b = data.draw(arrays(sb, domain), label="b")
    if ok is not None:
        assume(ok(a, b))
    out_shape = np.broadcast_shapes(sa, sb)
    jf = dt.jacfwd(fn, argnums=(0, 1))(a, b)
    jr = dt.jacrev(fn, argnums=(0, 1))(a, b)
    for i, s in enumerate((sa, sb)):
        f_i = np.asarray(jf[i])
        r_i = np.asarray(jr[i])
        assert f_i.shape == out_shape + s, (f_i.shape, out_shape, s)
        assert r_i.shape == out_shape + s, (r_i.shape, out_shape, s)
        assert_close(f_i, r_i, EXACT_RTOL, EXACT_ATOL, f"operand {i}: jacfwd vs jacrev")
        jfd = fd_jacobian(fn, (a, b), argnum=i)
        assert_close(f_i, jfd, FD_RTOL, FD_ATOL, f"operand {i}: jacfwd vs fd")
        assert_close(r_i, jfd, FD_RTOL, FD_ATOL, f"operand {i}: jacrev vs fd")
    # A scalar loss of the broadcast result: the gradient w.r.t. each operand has the
    # operand's own shape (the broadcast axes summed back).
    loss = lambda a, b: np.sum(np.cos(fn(a, b)))
    ga, gb = dt.grad(loss, argnums=(0, 1))(a, b)
    assert np.shape(ga) == sa and np.shape(gb) == sb
    assert_close(ga, fd_jacobian(loss, (a, b), 0), FD_RTOL, FD_ATOL, "grad a")
    assert_close(gb, fd_jacobian(loss, (a, b), 1), FD_RTOL, FD_ATOL, "grad b")


# ---- empty arrays ----------------------------------------------------------------------
@pytest.mark.parametrize("case", [
    pytest.param("jacfwd, empty output", id="jacfwd-empty-out"),
    pytest.param("jacrev, empty input", id="jacrev-empty-in"),
    pytest.param("jacrev, empty output", id="jacrev-empty-out"),
    pytest.param("jacfwd, empty input", id="jacfwd-empty-in"),
])
def test_empty_jacobians(case):
    # A zero-size input or output has a well-defined, empty Jacobian of shape
    # out.shape + in.shape, and both modes should return it.
    x = np.array([1.0, 2.0])
    if case == "jacfwd, empty output":
        J = dt.jacfwd(lambda x: x[2:])(x)
        want_shape = (0, 2)
    elif case == "jacrev, empty output":
        J = dt.jacrev(lambda x: x[2:])(x)
        want_shape = (0, 2)
    elif case == "jacfwd, empty input":
        J = dt.jacfwd(lambda z: np.sum(z) * x)(np.zeros(0))
        want_shape = (2, 0)
    else:
        J = dt.jacrev(lambda z: np.sum(z) * x)(np.zeros(0))
        want_shape = (2, 0)
    assert np.shape(J) == want_shape
