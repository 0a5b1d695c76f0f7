"""The passes before replay and the compiled back ends: each keeps the results exact,
and each does what it claims (fewer instructions, released memory, fused runs)."""

from __future__ import annotations

import ast
import pathlib

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.programs import compile as pcompile

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "dualtape" / "programs"


def names_in_plan(prog):
    return [s.prim.name for s in prog.recording.plan.sources
            if s is not None and hasattr(s, "prim")]


def test_constant_folding_and_dead_code_leave_a_constant_gradient():
    c = np.array([1.0, -2.0, 3.0])
    prog = dt.record(dt.grad(lambda x: dnp.sum(x * c)), np.zeros(3))
    report = prog.recording.plan.report
    assert report["dead"] >= 2 and report["replayed"] == 0
    np.testing.assert_array_equal(prog(np.ones(3)), c)


def test_common_subexpressions_are_computed_once():
    prog = dt.record(lambda x: dnp.sin(x) + dnp.sin(x), np.ones(2))
    assert names_in_plan(prog).count("sin") == 1
    assert prog.recording.plan.report["cse"] == 1
    np.testing.assert_allclose(prog(np.full(2, 0.3)), 2 * np.sin([0.3, 0.3]), rtol=1e-15)


def test_exact_identities_are_removed():
    # x * 1 and x - 0 are x exactly (NaN and -0.0 included)
    prog = dt.record(lambda x: (x * 1.0 - 0.0) * 2.0, np.ones(2))
    assert names_in_plan(prog) == ["multiply"]
    got = prog(np.array([np.nan, -0.0]))
    assert np.isnan(got[0]) and np.signbit(got[1])


def test_release_at_last_use_lowers_peak_memory():
    f = lambda x: dnp.sum(dnp.cos(dnp.sin(dnp.exp(dnp.tanh(x)) * x)))
    prog = dt.record(dt.grad(f), np.linspace(0, 1, 1000))
    mem = prog.memory()
    assert mem["inputs"] == 8000
    assert 0 < mem["peak"] < mem["kept"]
    np.testing.assert_allclose(prog(np.linspace(-1, 1, 1000)),
                               dt.grad(f)(np.linspace(-1, 1, 1000)), rtol=1e-13)


def test_elementwise_chains_are_fusion_groups():
    f = lambda x: dnp.sum(dnp.cos(dnp.sin(x) * 0.5 + x))
    prog = dt.record(f, np.ones(4))
    groups = prog.recording.plan.groups
    assert len(groups) == 1 and len(groups[0]) == 4         # sin, *, +, cos; not sum


def test_a_nan_in_a_branch_not_taken_is_never_replayed_silently():
    f = lambda x: dnp.sum(dnp.where(x > 0, dnp.sqrt(dnp.abs(x) + (x <= 0)), 0.0))
    prog = dt.record(dt.grad(f), np.array([1.0, 4.0]))
    x = np.array([-1.0, 4.0])
    np.testing.assert_allclose(prog(x), dt.grad(f)(x), rtol=1e-15)
    assert np.all(np.isfinite(prog(x)))


def chain(x):
    y = x
    for _ in range(3):
        y = dnp.cos(dnp.sin(y) * 0.9 + x) / dnp.exp(dnp.tanh(y))
    return dnp.sum(y)


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_compiled_back_ends_equal_eager(backend):
    if backend == "numba":
        pytest.importorskip("numba")
    x = np.linspace(-0.8, 0.7, 5)
    prog = dt.record(dt.grad(chain), x)
    run = prog.compile(backend)
    assert run.backend == backend
    for y in (x, x[::-1].copy()):
        np.testing.assert_allclose(run(y), dt.grad(chain)(y), rtol=1e-13)
    if backend == "numba":
        assert "kernel0(" in run.source


def test_compiled_falls_back_to_replay_on_a_failed_guard():
    f = lambda x: dnp.sum(dnp.sin(x)) if dnp.sum(x) > 0 else dnp.sum(x * x)
    prog = dt.record(dt.grad(f), np.ones(3))
    run = prog.compile("python")
    np.testing.assert_allclose(run(-np.ones(3)), -2 * np.ones(3))
    assert prog.stats.rerecords == 1


def test_without_numba_auto_degrades_and_numba_says_what_to_install(monkeypatch):
    monkeypatch.setattr(pcompile, "_numba", lambda: None)
    prog = dt.record(dt.grad(chain), np.ones(3))
    run = prog.compile("auto")
    assert run.backend == "python"
    np.testing.assert_allclose(run(np.ones(3)), dt.grad(chain)(np.ones(3)), rtol=1e-13)
    with pytest.raises(ImportError, match="pip install numba"):
        prog.compile("numba")


def test_programs_import_no_mode():
    # recording is one more interpreter over the registry: it knows no mode by name
    for p in SRC.glob("*.py"):
        tree = ast.parse(p.read_text())
        mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not mods & {"forward", "reverse", "higher", "jacobian", "counting"}, p.name


def test_scatter_sums_and_negation_folding_keep_the_hvp_exact():
    def rosen(x):
        a = x[:-1]
        return dnp.sum(100.0 * (x[1:] - a ** 2) ** 2 + (1.0 - a) ** 2)

    x, v = np.linspace(-1.2, 1.1, 50), np.cos(np.arange(50) * 0.37)
    prog = dt.record(lambda x, v: dt.hvp(rosen, x, v), x, v)
    report = prog.recording.plan.report
    assert report["scatter_sums"] >= 1 and report["negations"] >= 1
    for y in (x, x[::-1].copy()):
        np.testing.assert_array_equal(prog(y, v), dt.hvp(rosen, y, v))   # bit for bit
    # and right: the tridiagonal Hessian by hand
    d = np.zeros(50)
    d[:-1] = 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    d[1:] += 200
    off = -400 * x[:-1]
    hv = d * v
    hv[:-1] += off * v[1:]
    hv[1:] += off * v[:-1]
    np.testing.assert_allclose(prog(x, v), hv, rtol=1e-12)


def test_new_constants_take_few_slots():
    prog = dt.record(lambda x: -(2.0 * x) + x * 0.5, np.ones(3))
    plan = prog.recording.plan
    assert len(plan.env0) <= prog.recording.nslots + 2 + 4
    np.testing.assert_allclose(prog(np.arange(3.0)), -1.5 * np.arange(3.0), rtol=1e-15)


def test_a_constant_output_is_handed_out_as_a_copy():
    c = np.array([1.0, -2.0, 3.0])
    prog = dt.record(dt.grad(lambda x: dnp.sum(x * c)), np.zeros(3))
    g = prog(np.ones(3))
    g += 100.0                                   # the caller writes into its result
    np.testing.assert_array_equal(prog(np.ones(3)), c)
    np.testing.assert_array_equal(prog.compile("python")(np.ones(3)), c)


def test_replayed_chain_derivatives_are_bit_for_bit_eager():
    # every rewrite of the plan is exact: the replay gives numpy's own rounding
    f = lambda x: chain(x) * dnp.sum(-dnp.cos(-x) / (-x - 3.0))
    x = np.linspace(-0.8, 0.7, 5)
    pg = dt.record(dt.grad(f), x)
    pj = dt.record(lambda x, v: dt.jvp(f, (x,), (v,)), x, np.ones(5))
    assert pg.recording.plan.report["negations"] > 0
    for y in (x, x * 0.9 - 0.05):
        np.testing.assert_array_equal(pg(y), dt.grad(f)(y))
        for got, want in zip(pj(y, np.ones(5)), dt.jvp(f, (y,), (np.ones(5),))):
            np.testing.assert_array_equal(got, want)


def _softplus():
    sp = dt.defprimitive("softplus_replay_test", lambda x: np.logaddexp(0.0, x))
    dt.defjvp(sp, lambda t, ans, x: t / (1.0 + dnp.exp(-x)))
    return sp


def test_a_user_primitive_with_a_scalar_rule_fuses_and_one_without_does_not():
    sp = _softplus()
    f = lambda x: dnp.sum(dnp.cos(sp(dnp.sin(x)) * 0.5))
    x = np.linspace(-1, 1, 6)
    # without the rule the user primitive ends the run: only * and cos fuse
    assert [len(g) for g in dt.record(f, x).recording.plan.groups] == [2]
    sp.primitive.scalar = "np.log1p(np.exp({0}))"
    prog = dt.record(f, x)
    assert [len(g) for g in prog.recording.plan.groups] == [4]   # sin, sp, *, cos
    want = np.sum(np.cos(np.logaddexp(0.0, np.sin(x)) * 0.5))
    np.testing.assert_allclose(prog(x), want, rtol=1e-14)
    if pcompile._numba() is not None:
        run = prog.compile("numba")
        assert "kernel0(" in run.source and "softplus" not in run.source
        np.testing.assert_allclose(run(x), want, rtol=1e-14)
        # a scalar function instead of an expression: numba compiles it
        sp.primitive.scalar = lambda v: np.log1p(np.exp(v))
        run = dt.record(f, x).compile("numba")
        np.testing.assert_allclose(run(0.5 * x), np.sum(np.cos(
            np.logaddexp(0.0, np.sin(0.5 * x)) * 0.5)), rtol=1e-14)


def test_a_user_primitive_with_a_simplify_rule_is_removed_where_it_says():
    scale = dt.defprimitive("scale_replay_test", lambda x, s: x * s)
    dt.defjvp(scale, lambda t, ans, x, s: t * s, lambda t, ans, x, s: t * x)
    f = lambda x, s: scale(x, s) + 1.0
    x = np.array([1.0, -0.0, np.nan])
    assert "scale_replay_test" in names_in_plan(dt.record(f, x, np.float64(1.0)))
    scale.primitive.simplify = lambda known, params: 0 if 1 in known and \
        np.all(np.asarray(known[1]) == 1) else None
    prog = dt.record(lambda x: scale(x, 1.0) + 1.0, x)
    assert "scale_replay_test" not in names_in_plan(prog)
    got = prog(np.array([2.0, -0.0, np.nan]))
    assert got[0] == 3.0 and got[1] == 1.0 and np.isnan(got[2])
    # the rule only applies where it holds: with another constant the step stays
    prog = dt.record(lambda x: scale(x, 2.0) + 1.0, x)
    assert "scale_replay_test" in names_in_plan(prog)


def test_no_pass_and_no_kernel_recognises_a_primitive_by_name():
    for p in (SRC / "passes.py", SRC / "compile.py"):
        text = p.read_text()
        for name in ('"add"', '"multiply"', '"negative"', '"index_add"', '"sin"'):
            assert name not in text, (p.name, name)
        assert ".prim.name ==" not in text and ".prim.name in" not in text, p.name


def test_a_compiled_program_under_a_transform_replays_through_it():
    x = np.linspace(-0.8, 0.7, 5)
    prog = dt.record(chain, x)
    run = prog.compile("python")
    # the count and the gradient of the compiled function are those of the program
    assert dt.count(run, x).flops == dt.count(prog, x).flops > 0
    np.testing.assert_allclose(dt.grad(run)(x), dt.grad(chain)(x), rtol=1e-13)


def test_one_element_programs_replay_on_numpy_scalars_with_shapes_kept():
    # long enough for the scalar path; a matrix product and a stack need the shapes
    def f(x, y):
        z = x
        for _ in range(5):
            z = dnp.tanh(z * 0.5 + y) - dnp.sin(z) / 3.0
        w = dnp.stack([z, -z]) @ np.ones((1, 2))           # (2, 1) @ (1, 2): shape kept
        return z, dnp.sum(w), z[0] * 2.0
    x, y = np.array([0.3]), np.array([-0.2])
    prog = dt.record(f, x, y)
    run = prog.recording._fast or prog.recording._build()
    assert "_as_shape(" in run.source or ".reshape(-1)[0]" in run.source
    for a, b in ((x, y), (np.array([1.7]), np.array([0.4]))):
        got, want = prog(a, b), f(a, b)
        assert isinstance(got[0], np.ndarray) and got[0].shape == (1,)
        assert np.ndim(got[1]) == 0 and np.ndim(got[2]) == 0
        for g, w in zip(got, want):
            assert np.array_equal(g, w)                      # the same bits
    g = dt.record(dt.grad(lambda x: dnp.sum(f(x, y)[0])), x)
    np.testing.assert_array_equal(g(np.array([0.9])), dt.grad(lambda x: dnp.sum(f(x, y)[0]))(
        np.array([0.9])))
