"""dualtape.numpy's functions show numpy's parameter names (inspect.signature, help),
dualtape.scipy.special's show scipy's, and each implementation accepts every parameter
its signature shows."""

from __future__ import annotations

import inspect
import subprocess
import sys
import types

import numpy as np
import pytest
import scipy.special

import dualtape.numpy as dnp
import dualtape.scipy.special as dts
from dualtape.numpy import _signatures

_P = inspect.Parameter
_POSITIONAL = (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD)
_KEYWORD = (_P.POSITIONAL_OR_KEYWORD, _P.KEYWORD_ONLY)


def _pairs():
    spaces = [(dnp, np, [n for n in dir(dnp) if not n.startswith("_")
                         and n in vars(dnp)]),
              (dnp.linalg, np.linalg, dnp.linalg.__all__), (dnp.fft, np.fft, dnp.fft.__all__),
              # logsumexp is dualtape.numpy's, with its own signature
              (dts, scipy.special, [n for n in dts.__all__ if n != "logsumexp"])]
    for ours, theirs, names in spaces:
        for name in names:
            fn, np_fn = getattr(ours, name), getattr(theirs, name, None)
            if isinstance(fn, types.FunctionType) and np_fn is not None and np_fn is not fn \
                    and fn.__module__.startswith("dualtape"):
                try:
                    want = inspect.signature(np_fn)
                except (ValueError, TypeError):
                    continue                    # numpy gives none (ufuncs before 2.x)
                yield f"{ours.__name__}.{name}", fn, want


PAIRS = list(_pairs())


def test_there_are_many():
    # every generated wrapper and hand-written function with a numpy counterpart
    assert len(PAIRS) > 250


@pytest.mark.parametrize("name, fn, want", PAIRS, ids=[p[0] for p in PAIRS])
def test_signature_is_numpys(name, fn, want):
    shown = inspect.signature(fn)
    assert [(p.name, p.kind) for p in shown.parameters.values()] == \
        [(p.name, p.kind) for p in want.parameters.values()]
    assert str(shown) == str(want)


@pytest.mark.parametrize("name, fn, want", PAIRS, ids=[p[0] for p in PAIRS])
def test_implementation_accepts_every_parameter_shown(name, fn, want):
    own = list(_signatures.own_signature(fn).parameters.values())
    positional = [p for p in own if p.kind in _POSITIONAL]
    var_pos = any(p.kind is _P.VAR_POSITIONAL for p in own)
    var_kw = any(p.kind is _P.VAR_KEYWORD for p in own)
    by_name = {p.name: p for p in own}
    for i, p in enumerate(want.parameters.values()):
        if p.kind in _POSITIONAL:
            assert i < len(positional) or var_pos, f"{name}: {p.name} by position"
            if i < len(positional) and p.kind is _P.POSITIONAL_OR_KEYWORD:
                assert positional[i].name == p.name, f"{name}: argument {i} is {p.name}"
        if p.kind in _KEYWORD:
            q = by_name.get(p.name)
            assert (q is not None and q.kind in _KEYWORD) or var_kw, f"{name}: {p.name}="
        if p.kind is _P.VAR_POSITIONAL:
            assert var_pos, f"{name}: *{p.name}"


@pytest.mark.parametrize("uf", [getattr(np, n) for n in sorted(dir(np))
                                if isinstance(getattr(np, n), np.ufunc)])
def test_ufunc_signature_built_as_numpy_states_it(uf):
    try:
        want = inspect.signature(uf)
    except (ValueError, TypeError):
        pytest.skip("this numpy gives ufuncs no signature")
    assert [(p.name, p.kind) for p in _signatures.ufunc_signature(uf).parameters.values()] \
        == [(p.name, p.kind) for p in want.parameters.values()]


def test_help_shows_numpys_names():
    text = __import__("pydoc").render_doc(dnp.add, renderer=__import__("pydoc").plaintext)
    assert "add(x1, x2, /, out=None, *, where=True" in text
    assert str(inspect.signature(dnp.linalg.qr)) == str(inspect.signature(np.linalg.qr))


def test_signatures_are_not_computed_at_import():
    code = ("import dualtape.numpy as dnp, inspect\n"
            "s = dnp.sum.__signature__\n"
            "print(s._made is None, list(inspect.signature(dnp.sum).parameters)[:2],"
            " s._made is not None)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["True", "['a',", "'axis']", "True"]
