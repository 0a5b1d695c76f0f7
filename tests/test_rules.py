"""Every rule lives on its primitive: the interpreters only call them, and the cost
formulas count what the algorithms do (expected values are the closed forms)."""

from __future__ import annotations

import ast
import math
import pathlib

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.primitives import fft as pfft
from dualtape.primitives import sorting as so
from dualtape.registry import primitives, value_of

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "dualtape"


def _strings_and_names(path: pathlib.Path) -> tuple[set, set]:
    """String constants (docstrings left out) and identifiers of a module."""
    tree = ast.parse(path.read_text())
    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docs.add(id(first.value))
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
               and isinstance(n.value, str) and id(n) not in docs}
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    return strings, names


@pytest.mark.parametrize("module", ["counting.py", "sparsity.py"])
def test_interpreters_name_no_primitive(module):
    strings, names = _strings_and_names(SRC / module)
    builtin = {n for n, p in primitives().items() if not p.user}
    assert not strings & builtin, sorted(strings & builtin)
    # no primitive object (``matmul_p``), no lookup by name, no rule tag
    assert not {f"{n}_p" for n in builtin} & names
    assert not {"lookup", "OPS", "partials"} & names
    assert not strings & {"elementwise", "reduce", "select", "gather", "scatter", "move"}


def test_every_builtin_primitive_carries_callable_rules():
    for name, p in primitives().items():
        if p.user:
            continue
        assert callable(p.sparsity), name
        assert callable(p.cost) and p.cost.describe, name


def test_report_prints_each_formula():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "dualtape.report"], capture_output=True,
                         text=True, check=True, env={"PYTHONPATH": str(SRC.parent)}).stdout
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.strip()}
    for name in ("cholesky", "sort", "fft", "einsum", "matmul"):
        assert primitives()[name].cost.describe in lines[name]


def test_value_of_strips_every_level_or_those_from_a_level_up():
    x = np.arange(3.0)
    seen = {}

    def f(v):
        def g(w):
            seen["both"] = value_of(w)
            seen["outer"] = value_of(w, w._level)
            return w * v
        return dt.jvp(g, (v,), (np.ones(3),))[1]
    dt.grad(lambda v: dnp.sum(f(v)))(x)
    assert type(seen["both"]) is np.ndarray
    np.testing.assert_array_equal(seen["both"], x)
    assert isinstance(seen["outer"], dt.reverse.Variable)
    assert value_of(2.5) == 2.5


# ---- cost formulas ------------------------------------------------------------------
def flops(fn, *args, name):
    return dt.count(fn, *args).by_primitive[name][1]


def test_matmul_and_einsum_count_their_contraction():
    rng = np.random.default_rng(0)
    A, v = rng.standard_normal((3, 4)), rng.standard_normal(3)
    assert flops(lambda a: a.T @ v, A, name="matmul") == 2 * 4 * 3
    # the same contraction, either operand first: 2 * (3 * 4), operands not reordered
    assert flops(lambda a: dnp.einsum("i,ij->j", v, a), A, name="einsum") == 24
    assert flops(lambda a: dnp.einsum("ij,i->j", a, v), A, name="einsum") == 24
    S = rng.standard_normal((5, 5))
    assert flops(lambda s: dnp.einsum("ii->", s), S, name="einsum") == 5          # trace
    assert flops(lambda a: dnp.einsum("ij->", a), A, name="einsum") == 12
    out = dt.count(lambda a: dnp.einsum(",ij->ji", 2.0, a), A)
    assert out.by_primitive["einsum"][1] == 2 * 12
    np.testing.assert_array_equal(out.value, 2.0 * A.T)
    # three operands: numpy contracts pairwise along its greedy path, here jk,kl -> jl
    # first (3 * 4 * 5 terms), then ij,jl -> il (2 * 3 * 5 terms)
    B, C = rng.standard_normal((2, 3)), rng.standard_normal((4, 5))
    path = np.einsum_path("ij,jk,kl->il", B, A, C, optimize="greedy")[0]
    assert path == ["einsum_path", (1, 2), (0, 1)]
    got = flops(lambda a: dnp.einsum("ij,jk,kl->il", B, a, C), A, name="einsum")
    assert got == 2 * 3 * 4 * 5 + 2 * 2 * 3 * 5


def _spd(n, k=None):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((n, n) if k is None else (k, n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


@pytest.mark.parametrize("fn, name, arg, expected", [
    (dnp.linalg.cholesky, "cholesky", _spd(6), 6 ** 3 // 3),
    (dnp.linalg.cholesky, "cholesky", _spd(6, 3), 3 * (6 ** 3 // 3)),          # a stack
    (dnp.linalg.inv, "inv", _spd(6), 2 * 6 ** 3),
    (dnp.linalg.det, "det", _spd(6), 2 * 6 ** 3 // 3 + 6),
    (lambda a: dnp.linalg.slogdet(a)[1], "slogdet", _spd(6), 2 * 6 ** 3 // 3 + 12),
    (lambda a: dnp.linalg.solve(a, np.ones((6, 2))), "solve", _spd(6),
     2 * 6 ** 3 // 3 + 2 * 6 ** 2 * 2),
    (lambda a: dnp.linalg.eigh(a)[0], "eigh", _spd(5), 9 * 5 ** 3),
    (lambda a: dnp.linalg.qr(a)[1], "qr", _spd(6)[:, :4], math.floor(4 * 16 * (6 - 4 / 3))),
    (lambda a: dnp.linalg.svd(a, full_matrices=False)[1], "svd", _spd(6)[:, :4],
     14 * 6 * 16 + 8 * 64),
    (lambda a: dnp.linalg.svd(a.T, full_matrices=False)[1], "svd", _spd(6)[:, :4],
     14 * 6 * 16 + 8 * 64),                                     # wide: the same work
    (lambda a: dnp.linalg.svd(a, compute_uv=False), "svdvals", _spd(6)[:, :4],
     math.floor(4 * 6 * 16 - 4 * 64 / 3)),
    (dnp.linalg.pinv, "pinv", _spd(6)[:, :4], 16 * 6 * 16 + 8 * 64),
])
def test_decompositions_count_their_cubic_work(fn, name, arg, expected):
    assert flops(fn, arg, name=name) == expected


def test_sorting_counts_comparisons():
    x = np.random.default_rng(2).standard_normal((4, 8))
    assert flops(lambda v: dnp.sort(v, axis=-1), x, name="sort") == 4 * 8 * 3
    assert flops(lambda v: dnp.sort(v, axis=0), x, name="sort") == 8 * 4 * 2
    assert flops(lambda v: dnp.partition(v, 2, axis=-1), x, name="partition") == 4 * 8
    assert flops(lambda v: so.partition(v, (1, 3), -1), x, name="partition") == 2 * 4 * 8
    assert flops(lambda v: dnp.argsort(v, axis=None) * 1.0, x, name="argsort") == 32 * 5
    assert flops(lambda v: dnp.argmax(v, axis=1) * 1.0, x, name="argmax") == 32


def test_ffts_count_5_n_log2_n():
    x = np.random.default_rng(3).standard_normal((4, 8))
    assert flops(lambda v: dnp.real(dnp.fft.fft(v)), x, name="fft") == 4 * 5 * 8 * 3
    assert flops(lambda v: dnp.real(pfft.fft(v + 0j, (-2, -1))), x,
                 name="fft") == 5 * 32 * 5
    assert flops(lambda v: dnp.real(dnp.fft.rfft(v)), x, name="rfft") == 4 * 20 * 3
    assert flops(lambda v: dnp.fft.irfft(dnp.fft.rfft(v), n=8), x, name="irfft") == 4 * 20 * 3


@pytest.mark.parametrize("f, dfdx, dfdy", [
    (lambda x, y: x - y, 1.0, -1.0),
    (lambda x, y: x + y, 1.0, 1.0),
    (lambda x, y: x * y, "y", "x"),
    (lambda x, y: -x - y, -1.0, -1.0),
])
def test_elementwise_jvp_accumulates_without_touching_the_tangents(f, dfdx, dfdy):
    # large enough (>= INPLACE_MIN) that the sum is written into a temporary in place
    from dualtape.forward import jvp_batch
    n = 5000
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(n), rng.standard_normal(n)
    T = rng.standard_normal((3, 2, n))
    T0 = T.copy()
    _, got = jvp_batch(lambda z: f(z[0], z[1]), np.stack([x, y]), T)
    px = y if dfdx == "y" else dfdx
    py = x if dfdy == "x" else dfdy
    np.testing.assert_allclose(got, px * T[:, 0] + py * T[:, 1], rtol=1e-14, atol=1e-14)
    np.testing.assert_array_equal(T, T0)
