"""Every registered primitive is checked to second order in both modes."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import dualtape as dt
from dualtape.registry import primitives
import dualtape.numpy as dnp
from tables import FUNCTION_TABLE, TABLE


def builtin_names():
    return sorted(n for n, p in primitives().items() if not p.user)


def test_every_builtin_primitive_has_a_row():
    missing = [n for n in builtin_names() if n not in TABLE]
    assert not missing, f"primitives without a row in tests/tables/: {missing}"


def test_no_row_without_a_primitive():
    extra = [n for n in TABLE if n not in primitives()]
    assert not extra, f"rows for unregistered primitives: {extra}"


def test_every_differentiable_primitive_has_both_rules():
    for name, p in primitives().items():
        if p.user or p.nondiff:
            continue
        assert p.jvp is not None, f"{name} has no jvp"
        assert p.vjp is not None, f"{name} has no vjp"


def _check_row(name, row):
    """check_grads to the row's order in both modes, on the row's seeded inputs."""
    args = row.domain(np.random.default_rng(zlib.crc32(name.encode())))
    dt.check_grads(row.fn, args, order=row.order, modes=("fwd", "rev"), rtol=row.rtol,
                   atol=row.atol)


@pytest.mark.parametrize("name", sorted(n for n, r in TABLE.items() if not r.nondiff))
def test_row_second_order_both_modes(name):
    _check_row(name, TABLE[name])


@pytest.mark.parametrize("name", sorted(n for n, r in TABLE.items() if r.nondiff))
def test_nondiff_row_gives_plain_results(name):
    _check_plain(TABLE[name])


def _check_plain(row):
    args = row.domain(np.random.default_rng(0))
    expected = row.fn(*args)

    def probe(*xs):
        r = row.fn(*xs)
        assert not isinstance(r, dt.Dual), "a nondifferentiable primitive returned a dual"
        np.testing.assert_array_equal(r, expected)
        return dt.numpy.sum(xs[0])

    dt.jvp(probe, args, tuple(np.ones_like(a) for a in args))
    dt.grad(probe)(*args)


def public_functions():
    """Callables of dualtape.numpy other than numpy's own objects re-exported as is."""
    names = []
    for name in dir(dnp):
        obj = getattr(dnp, name)
        if name.startswith("_") or not callable(obj) or isinstance(obj, type):
            continue
        if obj is getattr(np, name, None) or getattr(obj, "__module__", "").startswith("numpy"):
            continue
        names.append(name)
    return sorted(names)


def test_every_public_function_has_a_row():
    missing = [n for n in public_functions() if n not in FUNCTION_TABLE]
    assert not missing, f"dualtape.numpy functions without a row in tests/tables/: {missing}"


@pytest.mark.parametrize("name", sorted(n for n, r in FUNCTION_TABLE.items() if not r.nondiff))
def test_function_second_order_both_modes(name):
    _check_row(name, FUNCTION_TABLE[name])


@pytest.mark.parametrize("name", sorted(n for n, r in FUNCTION_TABLE.items() if r.nondiff))
def test_nondiff_function_gives_plain_results(name):
    _check_plain(FUNCTION_TABLE[name])


@pytest.mark.parametrize("name", sorted(n for n, r in TABLE.items() if not r.nondiff))
def test_row_with_large_array_paths(name, monkeypatch):
    # For large arrays reverse mode keeps only the residuals a primitive declares, and
    # some partials reuse their temporaries in place; force both paths on the table's
    # small inputs so a wrong declaration or an aliasing bug cannot hide.
    import dualtape.primitives._rules as rules
    import dualtape.primitives.elementwise as elementwise
    import dualtape.reverse
    monkeypatch.setattr(dualtape.reverse, "_STUB_MIN", -1)
    monkeypatch.setattr(rules, "INPLACE_MIN", 0)
    monkeypatch.setattr(elementwise, "INPLACE_MIN", 0)
    _check_row(name, TABLE[name])
