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
