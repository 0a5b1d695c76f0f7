"""The `strategies` experiment: three ways to one gradient, the same numbers from each,
its headline quantities, and a clean skip of the compiled method without numba."""

from __future__ import annotations

import importlib
import pathlib
import sys

import numpy as np
import pytest

import dualtape as dt
from dualtape.harness import load_records

EXPERIMENTS = pathlib.Path(__file__).resolve().parents[1] / "experiments"


def strategies():
    if str(EXPERIMENTS) not in sys.path:
        sys.path.insert(0, str(EXPERIMENTS))
    return importlib.import_module("strategies")


def finite_differences(f, x, h=1e-6):
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)])


@pytest.mark.parametrize("n", [1, 5])
def test_every_strategy_gives_the_gradient(n):
    S = strategies()
    x = S.point(n)
    want = finite_differences(S.chain, x)
    for method in S.methods()[1:]:
        fn, (arg,) = S.case(method, n)
        np.testing.assert_allclose(fn(arg), want, rtol=1e-7, atol=1e-9, err_msg=method)
        # and at a new input (the programs replay; they were recorded at arg)
        y = 0.5 * arg
        np.testing.assert_allclose(fn(y), finite_differences(S.chain, y), rtol=1e-7,
                                   atol=1e-9, err_msg=method)


def test_f_makes_ops_primitive_applications_of_one_flop_per_element():
    S = strategies()
    x = S.point(7)
    c = dt.count(S.chain, x)
    assert c.calls == S.OPS
    # the count model: one flop per element for each operation, the sum included
    assert c.flops == S.OPS * 7


def test_replay_counts_no_more_than_eager_and_compiled_counts_as_replay():
    S = strategies()
    n = 16
    counts = {m: dt.count(*[S.case(m, n)[0]], *S.case(m, n)[1]).flops
              for m in S.methods()}
    assert counts["replay"] <= counts["eager"]
    # the operation-count bound of the cheap gradient principle
    assert 1 < counts["eager"] / counts["f"] <= 4
    if "compiled" in counts:       # under a transform the compiled code replays
        assert counts["compiled"] == counts["replay"]


def test_numbers_from_records_built_by_hand():
    S = strategies()
    t = {("f", 1): 1e-5, ("eager", 1): 2e-4, ("replay", 1): 4e-5, ("compiled", 1): 5e-6,
         ("f", 64): 1e-3, ("eager", 64): 3e-3, ("replay", 64): 2e-3, ("compiled", 64): 1e-3}
    flops = {"f": 100, "eager": 310, "replay": 290, "compiled": 290}
    peak = {"f": 10, "eager": 90, "replay": 60, "compiled": 20}
    records = [{"n": n, "method": m, "statistic": s, "time_s": v * (1.1 if s == "q75" else 1),
                "flops": flops[m], "calls": 1, "peak_bytes": peak[m]}
               for (m, n), v in t.items() for s in ("median", "q75")]
    got = S.numbers(records)
    assert got["n_min"] == 1 and got["n_max"] == 64 and got["compiled_measured"]
    assert got["eager_us_per_op_1"] == pytest.approx(200 / S.OPS)
    assert got["compiled_us_per_op_large"] == pytest.approx(1000 / S.OPS)
    assert got["eager_omega_1"] == pytest.approx(20)
    assert got["replay_omega_large"] == pytest.approx(2)
    assert got["compiled_omega_1"] == pytest.approx(0.5)
    assert got["replay_speedup_1"] == pytest.approx(5)
    assert got["compiled_speedup_large"] == pytest.approx(3)
    assert got["eager_count_omega"] == pytest.approx(3.1)
    assert got["replay_count_omega"] == pytest.approx(2.9)
    assert got["replay_peak_vs_eager_large"] == pytest.approx(60 / 90)
    assert set(S.TOLERANCES) <= set(got)


def test_without_numba_the_compiled_method_is_skipped_with_one_line(
        tmp_path, monkeypatch, capsys):
    S = strategies()
    monkeypatch.setitem(sys.modules, "numba", None)      # makes `import numba` fail
    assert S.methods() == ["f", "eager", "replay"]
    with pytest.raises(ImportError, match="strategies: the compiled method needs numba"):
        S.case("compiled", 4)
    monkeypatch.setattr(S, "grid", lambda quick: {"n": [1, 4]})
    S.run(quick=True, results_dir=tmp_path, progress=False)
    err = [ln for ln in capsys.readouterr().err.splitlines() if "numba" in ln]
    assert err == ["strategies: numba is not installed, so the compiled method is skipped"]
    records = load_records(tmp_path / "strategies.csv")
    assert {r["method"] for r in records} == {"f", "eager", "replay"}
    got = S.numbers(records)
    assert not got["compiled_measured"]
    assert got["compiled_omega_1"] is None and got["compiled_speedup_1"] is None
    assert got["eager_omega_1"] > 0 and got["replay_count_omega"] > 1
    figs = S.plot(records, tmp_path / "figures")
    assert {p.suffix for p in figs} == {".png", ".pdf"} and all(p.exists() for p in figs)
