"""The experiments harness: tidy records, resume, plots, the command line, and that
``import dualtape.harness`` stays light.  Nothing here asserts on a timing."""

from __future__ import annotations

import csv
import io
import json
import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import dualtape as dt
from dualtape.harness import env_metadata, fit_slope, load_records, save_records, sweep
from dualtape.harness.env import git_commit
from dualtape.harness.records import columns_for

SRC = pathlib.Path(__file__).resolve().parents[1] / "src"

COLUMNS = columns_for(["n", "m"])
COUNTS = COLUMNS[6:15]
STATS = {"median", "q25", "q75", "min", "max"}
GRID = {"n": [2, 4, 8], "m": [1, 3]}
METHODS = ["f", "jacfwd", "jacrev"]


def case(method: str, n: int, m: int):
    """f: R^n -> R^m, x -> tanh(A x); returns the function measured for ``method``."""
    a = np.arange(1.0, m * n + 1).reshape(m, n) / (m * n)

    def f(x):
        return np.tanh(a @ x)

    fn = {"f": f, "jacfwd": dt.jacfwd(f), "jacrev": dt.jacrev(f)}[method]
    return fn, (np.linspace(0.1, 1.0, n),)


class CountingCase:
    """Wraps ``case``, counts its calls, and raises on call number ``fail_at``."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.calls = 0
        self.fail_at = fail_at

    def __call__(self, method, **point):
        self.calls += 1
        if self.calls == self.fail_at:
            raise KeyboardInterrupt("simulated interruption")
        return case(method, **point)


def tiny_sweep(out_dir, name="tiny", the_case=case, **kw):
    kw = {"repeats": 3, "warmup": 0, "progress": False, **kw}
    return sweep(the_case, grid=GRID, methods=METHODS, name=name, out_dir=out_dir, **kw)


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    return out, tiny_sweep(out)


def _pairs(rows):
    return {(r["method"], r["n"], r["m"]) for r in rows}


def test_sweep_rows_and_columns(records):
    out, rows = records
    assert len(rows) == 3 * 2 * 3 * 5
    assert all(list(r) == COLUMNS for r in rows)
    assert len(_pairs(rows)) == 18
    for pair in _pairs(rows):
        group = [r for r in rows if (r["method"], r["n"], r["m"]) == pair]
        assert {r["statistic"] for r in group} == STATS
        by = {r["statistic"]: r["time_s"] for r in group}
        assert by["min"] <= by["q25"] <= by["median"] <= by["q75"] <= by["max"]
        # Counts are deterministic, so every statistic row of a pair carries the same.
        assert len({tuple(r[c] for c in COUNTS) for r in group}) == 1
        assert all(r["repeats"] == 3 and r["peak_bytes"] >= 0 for r in group)
    first = rows[0]
    assert (first["experiment"], first["method"], first["n"], first["m"]) == ("tiny", "f", 2, 1)
    assert first["dualtape"] == dt.__version__
    assert first["threads"] >= 1 and first["cpu"]


def test_counts_match_dualtape_count(records):
    _, rows = records
    for method in METHODS:
        row = next(r for r in rows if (r["method"], r["n"], r["m"]) == (method, 8, 3))
        fn, args = case(method, n=8, m=3)
        expected = dt.count(fn, *args).as_dict()
        assert {c: row[c] for c in COUNTS} == {c: expected[c] for c in COUNTS}
    f_row = next(r for r in rows if r["method"] == "f")
    rev_row = next(r for r in rows if r["method"] == "jacrev")
    assert f_row["derivative_calls"] == 0 and rev_row["tape_records"] > 0


def test_csv_and_json_hold_the_records(records):
    out, rows = records
    assert load_records(out / "tiny.csv") == rows
    assert load_records(out / "tiny.json") == rows
    with open(out / "tiny.csv", newline="") as fh:
        assert next(csv.reader(fh)) == COLUMNS
    assert isinstance(json.loads((out / "tiny.json").read_text()), list)


def test_count_false_leaves_count_columns_empty(tmp_path):
    rows = sweep(case, grid={"n": [2], "m": [1]}, methods=["f"], repeats=1, warmup=0, name="nc",
                 out_dir=tmp_path, count=False, progress=False)
    assert len(rows) == 5 and all(r[c] is None for r in rows for c in COUNTS)
    assert load_records(tmp_path / "nc.csv") == rows


def test_string_columns_are_not_parsed_as_numbers(tmp_path):
    rows = [{"method": "f", "n": 4, "commit": "12e4567", "python": "3.10", "x": 1.5}]
    assert load_records(save_records(rows, tmp_path / "r.csv")) == rows
    assert load_records(save_records(rows, tmp_path / "r.json")) == rows


def test_resume_after_interruption_skips_finished_points(tmp_path):
    interrupted = CountingCase(fail_at=8)
    with pytest.raises(KeyboardInterrupt):
        tiny_sweep(tmp_path, the_case=interrupted)
    assert len(load_records(tmp_path / "tiny.csv")) == 7 * 5  # pairs finished before it

    again = CountingCase()
    rows = tiny_sweep(tmp_path, the_case=again)
    assert again.calls == 18 - 7
    assert len(rows) == 90 and len(_pairs(rows)) == 18
    assert load_records(tmp_path / "tiny.csv") == rows

    third = CountingCase()
    assert tiny_sweep(tmp_path, the_case=third) == rows and third.calls == 0
    fresh = CountingCase()
    tiny_sweep(tmp_path, the_case=fresh, resume=False)
    assert fresh.calls == 18


def test_resume_with_a_subset_then_the_full_grid(tmp_path):
    first = CountingCase()
    sweep(first, grid={"n": [2, 4], "m": [1]}, methods=["f"], repeats=1, warmup=0,
          name="sub", out_dir=tmp_path, progress=False)
    second = CountingCase()
    rows = sweep(second, grid={"n": [2, 4, 8], "m": [1]}, methods=["f", "jacrev"], repeats=1,
                 warmup=0, name="sub", out_dir=tmp_path, progress=False)
    assert (first.calls, second.calls) == (2, 4)
    assert [(r["method"], r["n"]) for r in rows[::5]] == [
        ("f", 2), ("jacrev", 2), ("f", 4), ("jacrev", 4), ("f", 8), ("jacrev", 8)]


def test_a_pair_cut_short_is_measured_again(tmp_path):
    tiny_sweep(tmp_path, the_case=CountingCase())
    path = tmp_path / "tiny.csv"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-2]) + lines[-2][:20])  # last pair: 3 rows and a stub
    again = CountingCase()
    with pytest.warns(UserWarning, match="incomplete pair"):
        rows = tiny_sweep(tmp_path, the_case=again)
    assert again.calls == 1 and len(rows) == 90
    assert load_records(path) == rows


def test_changed_grid_keys_start_afresh_and_keep_the_old_file(tmp_path):
    tiny_sweep(tmp_path)
    with pytest.warns(UserWarning, match="different columns"):
        rows = sweep(lambda method, n: case(method, n, 1), grid={"n": [2]}, methods=["f"],
                     repeats=1, warmup=0, name="tiny", out_dir=tmp_path, progress=False)
    assert len(rows) == 5 and "m" not in rows[0]
    assert len(load_records(tmp_path / "tiny.csv")) == 5
    assert (tmp_path / "tiny.csv.old").exists()


def test_grid_key_clashing_with_a_column_is_refused(tmp_path):
    with pytest.raises(ValueError, match="clash"):
        sweep(case, grid={"flops": [1]}, methods=["f"], out_dir=tmp_path, progress=False)


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_with_and_without_tqdm(tmp_path, capsys, monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)       # bars are drawn on terminals only
    sweep(case, grid={"n": [2], "m": [1]}, methods=["f"], repeats=1, warmup=0, name="bar",
          out_dir=tmp_path, progress=True)
    assert "bar" in terminal.getvalue()
    monkeypatch.undo()
    sweep(case, grid={"n": [2], "m": [1]}, methods=["f"], repeats=1, warmup=0, name="log",
          out_dir=tmp_path, progress=True)
    err = capsys.readouterr().err                      # a log file gets no redraws
    assert "\r" not in err and err.splitlines() == ["log: reused 0, re-measured 0, measured 1 new"]
    monkeypatch.setitem(sys.modules, "tqdm", None)  # makes `import tqdm...` fail
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    rows = sweep(case, grid={"n": [2], "m": [1]}, methods=["f"], repeats=1, warmup=0, name="nobar",
                 out_dir=tmp_path, progress=True)
    assert len(rows) == 5 and "\r" not in capsys.readouterr().err


def test_fit_slope():
    assert fit_slope([1, 2, 4, 8], [3, 12, 48, 192]) == pytest.approx(2.0)
    assert fit_slope([10, 100, 1000], [5, 5, 5]) == pytest.approx(0.0, abs=1e-12)
    assert fit_slope([1, 2, 4, 8], [0, 2, 4, None]) == pytest.approx(1.0)  # unplottable dropped
    with pytest.raises(ValueError):
        fit_slope([4, 4], [1, 2])


def test_env_metadata():
    env = env_metadata()
    for key in ("python", "numpy", "dualtape", "cpu", "threads", "commit", "timestamp"):
        assert key in env
    assert env["numpy"] == np.__version__ and env["threads"] >= 1
    assert env["commit"] is None or isinstance(env["commit"], str)


def test_git_commit_outside_a_repository_is_none(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert git_commit(tmp_path) is None
    assert git_commit(tmp_path / "does-not-exist") is None


def test_scaling_plot_writes_png_and_pdf(records, tmp_path):
    from dualtape.harness.plots import save_figure, scaling_plot

    _, rows = records
    ax = scaling_plot(rows, x="n", y="flops", where={"statistic": "median", "m": 3},
                      title="flops", reference={"slope 1": 1.0, "slope 2": 2.0})
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[3:] == ["slope 1", "slope 2"]
    assert [lab.split(" (slope ")[0] for lab in labels[:3]] == METHODS
    assert ax.get_xscale() == ax.get_yscale() == "log"
    png, pdf = save_figure(ax.figure, tmp_path / "figs" / "flops")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    ax2 = scaling_plot(rows, x="n", y="time_s", where={"m": 1}, reference=None)
    assert len(ax2.collections) == 3  # the q25-q75 band of each method
    import matplotlib.pyplot as plt

    plt.close("all")


def test_scaling_plot_legend_slope_and_ambiguous_rows():
    from dualtape.harness.plots import scaling_plot

    rows = [{"method": "a", "n": n, "m": m, "flops": n ** 2 * m}
            for n in (2, 4, 8) for m in (1, 2)]
    ax = scaling_plot(rows, where={"m": 2})
    assert ax.get_legend().get_texts()[0].get_text() == "a (slope 2.00)"
    with pytest.raises(ValueError, match="add the column that varies"):
        scaling_plot(rows, ax=ax)
    import matplotlib.pyplot as plt

    plt.close("all")


def _fresh_python(code: str, cwd=None, args=()) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "DISPLAY")}
    env["PYTHONPATH"] = str(SRC)
    return subprocess.run([sys.executable, *(["-c", code] if code else []), *args],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def test_import_harness_loads_no_matplotlib_and_plots_select_agg():
    code = textwrap.dedent("""
        import os, sys
        import dualtape.harness
        print(sorted({m.split('.')[0] for m in sys.modules} & {'matplotlib', 'tqdm'}))
        import dualtape.harness.plots
        import matplotlib
        print(os.environ['MPLBACKEND'], matplotlib.get_backend().lower())
    """)
    out = _fresh_python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["[]", "Agg agg"]


EXPERIMENT = '''
"""A tiny experiment written by the test."""
import os
import pathlib

import numpy as np

from _shared import case
from dualtape.harness import sweep

NAME = "tiny"
DESCRIPTION = "jacfwd against jacrev on tanh(A x)"


def run(quick=True, results_dir="experiments/results", progress=True):
    grid = {"n": [2, 4], "m": [2]} if quick else {"n": [2, 4, 8], "m": [2]}
    return sweep(case, grid=grid, methods=["jacfwd", "jacrev"], repeats=2, warmup=0,
                 name=NAME, out_dir=results_dir, progress=progress)


def plot(records, figures_dir="paper/figures"):
    import matplotlib
    from dualtape.harness.plots import save_figure, scaling_plot

    print("backend", os.environ.get("MPLBACKEND"), matplotlib.get_backend().lower())
    ax = scaling_plot(records, x="n", y="flops", where={"m": 2}, reference={"slope 1": 1})
    return list(save_figure(ax.figure, pathlib.Path(figures_dir) / NAME))
'''

SHARED = '''
import numpy as np
import dualtape as dt


def case(method, n, m):
    a = np.ones((m, n)) / n
    f = lambda x: np.tanh(a @ x)
    return {"jacfwd": dt.jacfwd(f), "jacrev": dt.jacrev(f)}[method], (np.ones(n),)
'''


def test_cli_list_run_plot_reproduce(tmp_path):
    exp = tmp_path / "experiments"
    exp.mkdir()
    (exp / "tiny.py").write_text(EXPERIMENT)
    (exp / "_shared.py").write_text(SHARED)  # a helper, not an experiment
    figs = tmp_path / "figures"

    def cli(*args):
        return _fresh_python("", cwd=tmp_path, args=(
            "-m", "dualtape.harness", "--experiments", str(exp), "--figures", str(figs), *args))

    out = cli("list")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[:1] == ["tiny"] and "jacfwd against jacrev" in out.stdout
    assert "_shared" not in out.stdout

    out = cli("run", "tiny", "--no-progress")
    assert out.returncode == 0, out.stderr
    assert "backend Agg agg" in out.stdout
    rows = load_records(exp / "results" / "quick" / "tiny.csv")
    assert len(rows) == 2 * 2 * 5 and list(rows[0]) == COLUMNS
    png, pdf = figs / "tiny.png", figs / "tiny.pdf"
    assert png.exists() and pdf.exists()

    png.unlink()
    pdf.unlink()
    out = cli("plot", "tiny")
    assert out.returncode == 0, out.stderr
    assert png.exists() and pdf.exists() and str(png) in out.stdout

    out = cli("reproduce", "--full", "--no-progress")
    assert out.returncode == 0, out.stderr
    assert len(load_records(exp / "results" / "full" / "tiny.csv")) == 3 * 2 * 5
    summary = out.stdout.splitlines()[-1].split()
    assert summary[:2] == ["tiny", "30"]

    out = cli("run", "nope")
    assert out.returncode == 2 and "known: tiny" in out.stderr


def test_timed_rows_carry_the_load_average_and_it_survives_a_reload(tmp_path, monkeypatch):
    import dualtape.harness.env as env_mod
    from dualtape.harness.records import load_records

    monkeypatch.setattr(env_mod.os, "getloadavg", lambda: (2.345, 1.0, 0.5))

    def case(method, n, m):
        return (lambda x: x + 1.0), (np.ones(n),)

    rows = sweep(case, grid={"n": [2], "m": [1]}, methods=["f"], repeats=1, warmup=0,
                 name="load", out_dir=tmp_path, progress=False)
    assert {r["load"] for r in rows} == {2.35}
    saved = load_records(tmp_path / "load.csv")
    assert {r["load"] for r in saved} == {2.35} and isinstance(saved[0]["load"], float)


def test_an_interrupted_sweep_says_how_many_pairs_it_finished(tmp_path, capsys):
    calls = []

    def case(method, n, m):
        calls.append(n)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return (lambda x: x + 1.0), (np.ones(n),)

    with pytest.raises(KeyboardInterrupt):
        sweep(case, grid={"n": [1, 2, 3, 4], "m": [1]}, methods=["f"], repeats=1, warmup=0,
              name="stop", out_dir=tmp_path, progress=False)
    line = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("stop:")][0]
    assert "measured 4 new" in line and "stopped after 2 of the 4 pairs to measure" in line
    # a complete sweep says nothing of the kind, and the rerun measures only the rest
    sweep(case, grid={"n": [1, 2, 3, 4], "m": [1]}, methods=["f"], repeats=1, warmup=0,
          name="stop", out_dir=tmp_path, progress=False)
    line = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("stop:")][0]
    assert line == "stop: reused 2, re-measured 0, measured 2 new"
