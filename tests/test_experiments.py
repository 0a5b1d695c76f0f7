"""The experiments' deterministic counts show the scaling the paper claims."""

from __future__ import annotations

import importlib
import pathlib
import sys

import numpy as np

import dualtape as dt
from dualtape.harness import fit_slope

EXPERIMENTS = pathlib.Path(__file__).resolve().parents[1] / "experiments"


def experiment(name: str):
    if str(EXPERIMENTS) not in sys.path:
        sys.path.insert(0, str(EXPERIMENTS))
    return importlib.import_module(name)


def ratio(method, n, m):
    """cost(J)/cost(f) in counted flops: cost(f) itself grows like m n, so the ratio is
    what grows linearly (n forward directions, m reverse ones)."""
    case = experiment("modes_vs_n_m").case
    f, args = case("f", n=n, m=m)
    jac, _ = case(method, n=n, m=m)
    return dt.count(jac, *args).flops / dt.count(f, *args).flops


def test_forward_is_linear_in_n_and_reverse_linear_in_m():
    # large enough that the constant part of a pass (the primal f itself) is small
    sizes = [32, 64, 128, 256]
    fwd = [ratio("jacfwd", n, 8) for n in sizes]
    rev = [ratio("jacrev", 8, m) for m in sizes]
    assert 0.9 <= fit_slope(sizes, fwd) <= 1.1
    assert 0.9 <= fit_slope(sizes, rev) <= 1.1
    # and the other way round they stay flat
    assert abs(fit_slope(sizes, [ratio("jacfwd", 8, m) for m in sizes])) < 0.1
    assert abs(fit_slope(sizes, [ratio("jacrev", n, 8) for n in sizes])) < 0.1


def test_counts_are_deterministic():
    jac, args = experiment("modes_vs_n_m").case("jacrev", n=16, m=8)
    a = dt.count(jac, *args).as_dict()
    b = dt.count(jac, *args).as_dict()
    assert a == b
    assert np.isfinite(a["flops"]) and a["flops"] > 0


def test_peers_are_skipped_cleanly_when_absent(monkeypatch):
    peers = experiment("peers")
    for lib in ("autograd", "jax", "torch"):
        monkeypatch.setitem(sys.modules, lib, None)      # makes `import lib` fail
    have = peers.available()
    assert have["dualtape"] is None and have["numpy"] is None
    assert all(have[lib] and "ModuleNotFoundError" in have[lib]
               for lib in ("autograd", "jax", "torch"))
    # dualtape's own methods still run, and give the Jacobian the other modes give
    jac, (x,) = peers.case("dualtape_jacrev", part="jacobian", size=0, n=4, m=3)
    fwd, _ = peers.case("dualtape_jacfwd", part="jacobian", size=0, n=4, m=3)
    np.testing.assert_allclose(jac(x), fwd(x), rtol=1e-12)
    g, (v,) = peers.case("dualtape_grad", part="overhead", size=3, n=0, m=0)
    assert g(v).shape == (3,)
    # replayed and compiled gradients agree with the eager one at a new input
    w = v + 0.1
    for method in ("dualtape_replay_grad", "dualtape_compiled_grad"):
        h_, _ = peers.case(method, part="overhead", size=3, n=0, m=0)
        np.testing.assert_allclose(h_(w), g(w), rtol=1e-12)
    # the chain's gradient vanishes over 200 operations; check a short one
    f = peers.chain(np, 9)
    g = dt.grad(f)
    h = 1e-6
    fd = [(f(v + h * e) - f(v - h * e)) / (2 * h) for e in np.eye(3)]
    np.testing.assert_allclose(g(v), fd, rtol=1e-6)
