"""The experiments' deterministic counts show the scaling the paper claims."""

from __future__ import annotations

import importlib
import pathlib
import sys

import numpy as np
import pytest

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


# ---- sparse_hessian ----------------------------------------------------------------------
def _fd_hessian(f, x, h=1e-5):
    """Central differences of dualtape's gradient, column by column."""
    g = dt.grad(f)
    return np.stack([(g(x + h * e) - g(x - h * e)) / (2 * h) for e in np.eye(x.size)], 1)


def test_sparse_hessian_closed_forms_match_finite_differences():
    E = experiment("sparse_hessian")
    for problem in E.PROBLEMS:
        f, x, hess = E.make_problem(problem, 16)
        exact = hess(x).toarray()
        np.testing.assert_allclose(exact, exact.T, rtol=0, atol=0)
        np.testing.assert_allclose(_fd_hessian(f, x), exact, rtol=1e-6, atol=1e-5)


def test_sparse_hessian_methods_give_the_closed_form_with_the_known_colour_counts():
    E = experiment("sparse_hessian")
    n = 64                                    # the stencil on an 8 x 8 grid
    rows = {(p, m): E.info_row({"problem": p, "n": n, "method": m})
            for p in E.PROBLEMS for m in E.METHODS}
    for (p, m), r in rows.items():
        assert r["rel_error"] < 1e-13, (p, m, r)
        assert r["passes"] == (n if m in ("dense", "hvps") else r["colors"])
    # a path: 3 star colours (a 4-vertex path needs 3), 2 acyclic; a star graph: 2, but
    # n distance-2 colours, since every column meets the dense row
    assert rows["tridiagonal", "star"]["colors"] == 3
    assert rows["tridiagonal", "acyclic"]["colors"] == 2
    assert rows["tridiagonal", "distance2"]["colors"] == 3
    assert rows["arrowhead", "star"]["colors"] == rows["arrowhead", "acyclic"]["colors"] == 2
    assert rows["arrowhead", "distance2"]["colors"] == n
    # the five-point stencil: a 5-clique of the distance-2 graph bounds the Jacobian
    # colouring; acyclic <= star <= distance-2 colours, each at least its lower bound
    s = {m: rows["stencil", m]["colors"] for m in ("distance2", "star", "acyclic")}
    assert 5 <= s["distance2"] and s["acyclic"] <= s["star"] <= s["distance2"]
    for m in ("distance2", "star", "acyclic"):
        assert rows["stencil", m]["lower_bound"] <= s[m]
    # the grid keeps the dense methods small and gives the sparse ones the large sizes
    for problem in E.PROBLEMS:
        assert max(E.sizes(problem, "dense", True)) <= 256
        assert max(E.sizes(problem, "star", False)) >= 16384


def test_sparse_hessian_numbers_read_ratios_and_colours_from_the_records(tmp_path):
    from dualtape.harness import save_records
    E = experiment("sparse_hessian")
    C = experiment("_common")
    speed = {"dense": 8.0, "hvps": 40.0, "distance2": 4.0, "star": 1.0, "acyclic": 0.5}
    colours = {"tridiagonal": {"star": 3, "acyclic": 2, "distance2": 3},
               "arrowhead": {"star": 2, "acyclic": 2},
               "stencil": {"star": 5, "acyclic": 4, "distance2": 7}}
    records, side = [], []
    for p in E.PROBLEMS:
        for m in E.METHODS:
            for n in (256, 1024, 4096):
                t = speed[m] * n / 1e6
                records.append({"problem": p, "n": n, "method": m, "statistic": "median",
                                "time_s": t})
                c = n if m in ("dense", "hvps") or (p, m) == ("arrowhead", "distance2") \
                    else colours[p][m]
                side.append({"problem": p, "n": n, "method": m, "passes": c,
                             "colors": None if m in ("dense", "hvps") else c,
                             "lower_bound": None, "nnz": 0, "max_error": 0.0,
                             "rel_error": 1e-15 if m == "acyclic" else 2e-16})
    save_records(side, C.side_table_path(E.NAME, "info", tmp_path))
    got = E.numbers(records, results_dir=tmp_path)
    assert set(E.TOLERANCES) <= set(got)
    assert all(kind in ("abs", "rel", "log10", "exact") for kind, _, _ in E.TOLERANCES.values())
    assert got["tri_star_colors"] == 3 and got["tri_acyclic_colors"] == 2
    assert got["arrow_d2_colors"] == 256 and got["stencil_d2_colors"] == 7
    assert got["tri_dense_over_star"] == pytest.approx(8.0)
    assert got["tri_hvps_over_star"] == pytest.approx(40.0)
    assert got["arrow_d2_over_star"] == pytest.approx(4.0)  # returned, not compared
    assert got["tri_star_over_acyclic"] == pytest.approx(2.0)
    assert got["direct_error"] == 2e-16 and got["acyclic_error"] == 1e-15
    assert got["tri_star_slope"] == pytest.approx(1.0)


def test_peers_compares_dualtape_in_units_of_numpy_f():
    # synthetic medians: numpy f 1 s per chain, dualtape's three gradients 20, 0.5 and
    # 0.1 times that; the compared quantities are those ratios, whatever the machine
    P = experiment("peers")
    times = {"numpy_f": 1.0, "dualtape_grad": 20.0, "dualtape_replay_grad": 0.5,
             "dualtape_compiled_grad": 0.1}
    records = [{"part": "overhead", "size": 1, "n": 0, "m": 0, "method": m,
                "statistic": "median", "time_s": t} for m, t in times.items()]
    got = P.numbers(records)
    assert set(P.TOLERANCES) <= set(got)
    assert got["dualtape_grad_vs_numpy_f"] == pytest.approx(20.0)
    assert got["dualtape_replay_grad_vs_numpy_f"] == pytest.approx(0.5)
    assert got["dualtape_compiled_grad_vs_numpy_f"] == pytest.approx(0.1)
    slower = P.numbers([{**r, "time_s": 3 * r["time_s"]} for r in records])
    assert all(slower[k] == pytest.approx(got[k]) for k in P.TOLERANCES)
    assert slower["dualtape_grad_us_per_op"] == pytest.approx(3 * got["dualtape_grad_us_per_op"])
