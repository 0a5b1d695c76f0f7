"""Provenance and the result store of the harness: stale rows are measured again, damaged
files are named and repaired, concurrent sweeps never duplicate rows, failures are
recorded, read-only folders work, Ctrl-C is one line.  Tiny grids; no timing asserted."""

from __future__ import annotations

import errno
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import dualtape as dt
from dualtape.harness import (ResultsError, ResultsWarning, load_records, run_options,
                              sweep)
from dualtape.harness import provenance as P
from dualtape.harness.progress import LogProgress
from dualtape.harness.records import columns_for

SRC = pathlib.Path(__file__).resolve().parents[1] / "src"
GRID = {"n": [2, 4], "m": [1, 3]}
METHODS = ["f", "jacrev"]
PAIRS = 8


def case(method: str, n: int, m: int):
    a = np.arange(1.0, m * n + 1).reshape(m, n) / (m * n)

    def f(x):
        return np.tanh(a @ x)

    return {"f": f, "jacrev": dt.jacrev(f)}[method], (np.linspace(0.1, 1.0, n),)


class Counting:
    """Wraps ``case`` and counts its calls; raises ``fail`` for the pair ``at``."""

    def __init__(self, at=None, fail=None):
        self.calls, self.at, self.fail = 0, at, fail or ValueError("no such point")

    def __call__(self, method, **point):
        self.calls += 1
        if self.at is not None and (method, point) == self.at:
            raise self.fail
        return case(method, **point)


def run(out, the_case=None, **kw):
    the_case = the_case if the_case is not None else Counting()
    kw = {"repeats": 2, "warmup": 0, "progress": False, "min_time": 0.0, "name": "t", **kw}
    return sweep(the_case, grid=kw.pop("grid", GRID), methods=METHODS, out_dir=out, **kw)


def test_every_row_carries_its_provenance(tmp_path):
    rows = run(tmp_path, quick=True)
    assert len(rows) == PAIRS * 5
    for r in rows:
        assert r["scale"] == "quick" and r["status"] == "ok"
        assert len(r["source_hash"]) == len(r["params_hash"]) == len(r["code_hash"]) == 16
        assert r["numpy"] == np.__version__ and r["dualtape"] == dt.__version__
        assert r["scipy"] and r["python"] and r["cpu"] and r["host"]
        assert isinstance(r["dirty"], (bool, type(None)))
        assert r["repeats"] == 2 and r["loops"] >= 1 and len(r["samples"]) == 2
        assert r["protocol"] and r["count_key"] and r["time_key"]
    # the raw samples are the ones summarised
    med = next(r for r in rows if r["statistic"] == "median")
    assert med["time_s"] == pytest.approx(float(np.median(med["samples"])))


def test_reused_only_on_matching_provenance(tmp_path, monkeypatch, capsys):
    run(tmp_path)
    again = Counting()
    run(tmp_path, again)
    assert again.calls == 0
    assert "t: reused 8, re-measured 0, measured 0 new" in capsys.readouterr().err

    # Another machine: times are stale, so every pair is measured again.
    real = P.run_provenance
    monkeypatch.setattr(P, "run_provenance", lambda q: {**real(q), "host": "elsewhere"})
    S = sys.modules["dualtape.harness.sweep"]
    monkeypatch.setattr(S, "run_provenance", P.run_provenance)
    moved = Counting()
    run(tmp_path, moved)
    assert moved.calls == PAIRS
    # the stale rows are kept aside, not deleted
    assert len(load_records(tmp_path / "t.stale.csv")) == PAIRS * 5
    assert "re-measured 8, measured 0 new" in capsys.readouterr().err
    monkeypatch.undo()

    # Other repeat settings and quick/full are part of the provenance too.
    for kw in ({"repeats": 3}, {"quick": False}):
        c = Counting()
        run(tmp_path, c, **kw)
        assert c.calls == PAIRS, kw
    # A larger grid: the old points are reused, the new ones measured.
    c = Counting()
    run(tmp_path, c, quick=False, grid={"n": [2, 4, 8], "m": [1, 3]})
    assert c.calls == 4
    assert "reused 8, re-measured 0, measured 4 new" in capsys.readouterr().err
    assert len(load_records(tmp_path / "t.csv")) == 12 * 5


def test_fresh_ignores_saved_rows(tmp_path):
    run(tmp_path)
    with run_options(fresh=True) as opts:
        c = Counting()
        run(tmp_path, c)
    assert c.calls == PAIRS and opts.saved == PAIRS
    assert opts.summaries[0].remeasured == PAIRS
    assert len(load_records(tmp_path / "t.csv")) == PAIRS * 5


EXPERIMENT = '''
import numpy as np
import dualtape as dt

WIDTH = {width}
CALLS = []


def helper(n):
    return np.ones(n) / WIDTH


def case(method, n, m):
    globals()["CALLS"].append((method, n, m))   # a counter the definition hash ignores
    a = np.ones((m, n)) * helper(n)
    f = lambda x: np.tanh(a @ x)
    return {{"f": f, "jacrev": dt.jacrev(f)}}[method], (np.ones(n),)


def plot(records):
    return {plot}
'''


def _module(path: pathlib.Path, name: str, **fmt):
    import importlib.util

    (path / f"{name}.py").write_text(EXPERIMENT.format(**fmt))
    spec = importlib.util.spec_from_file_location(f"prov_{name}_{time.monotonic_ns()}",
                                                  path / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_changed_definition_remeasures_only_the_affected_rows(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    a, b = _module(src, "a", width=64, plot=1), _module(src, "b", width=64, plot=1)
    run(tmp_path, a.case, name="a")
    run(tmp_path, b.case, name="b")
    assert len(a.CALLS) == len(b.CALLS) == PAIRS

    # A hidden constant that case reads changes: a is measured again, b reused.
    a2, b2 = _module(src, "a", width=512, plot=1), _module(src, "b", width=64, plot=1)
    run(tmp_path, a2.case, name="a")
    run(tmp_path, b2.case, name="b")
    assert (len(a2.CALLS), len(b2.CALLS)) == (PAIRS, 0)

    # Code that case does not reach (the plot function) does not make rows stale.
    a3 = _module(src, "a", width=512, plot=2)
    run(tmp_path, a3.case, name="a")
    assert len(a3.CALLS) == 0
    assert P.definition_hashes(a3.case)[0] == P.definition_hashes(a2.case)[0]

    # Parameters of one sweep: only that sweep's rows of a shared file are stale.
    grid2 = {"n": [8], "m": [1]}
    run(tmp_path, a3.case, name="a", grid=grid2, params={"seed": 1})
    calls = len(a3.CALLS)
    run(tmp_path, a3.case, name="a", grid=grid2, params={"seed": 2})
    run(tmp_path, a3.case, name="a")
    assert len(a3.CALLS) - calls == 2      # the two pairs of grid2 only


def _sorted(rows):
    return sorted(rows, key=lambda r: (r["method"], r["n"], r["m"], r["statistic"]))


@pytest.mark.parametrize("damage, reason, calls", [
    (lambda t: t.replace("median,", "median-ish,", 1), "statistic", 1),
    (lambda t: _cell(t, "time_s", "fast"), "must hold a number", 1),
    (lambda t: _cell(t, "flops", "1.5"), "must hold an integer", 1),
    (lambda t: t + "garbage line\n", "cells", 0),
    (lambda t: t[:-30], "cut short", 1),
])
def test_damaged_lines_are_named_and_measured_again(tmp_path, damage, reason, calls):
    run(tmp_path)
    path = tmp_path / "t.csv"
    path.write_text(damage(path.read_text()))
    with pytest.raises(ResultsError, match=r"t\.csv:\d+:"):
        load_records(path)
    c = Counting()
    with pytest.warns(ResultsWarning, match=rf"t\.csv: 1 damaged line.*line \d+: .*{reason}"):
        rows = run(tmp_path, c)
    assert c.calls == calls and len(rows) == PAIRS * 5
    assert _sorted(load_records(path)) == _sorted(rows)    # repaired, strictly readable
    assert (tmp_path / "t.damaged.csv").read_text()


def _cell(text: str, column: str, value: str) -> str:
    lines = text.splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    cells = lines[3].rstrip("\n").split(",")
    cells[header.index(column)] = value
    lines[3] = ",".join(cells) + "\n"
    return "".join(lines)


def test_invalid_utf8_and_nul_bytes(tmp_path):
    run(tmp_path)
    path = tmp_path / "t.csv"
    data = path.read_bytes().split(b"\n")
    data[2] = data[2][:10] + b"\xff\xfe" + data[2][10:]
    data[7] = data[7][:5] + b"\x00" + data[7][5:]
    path.write_bytes(b"\n".join(data))
    with pytest.raises(ResultsError, match=r"t\.csv:3: line not valid UTF-8"):
        load_records(path)
    c = Counting()
    with pytest.warns(ResultsWarning,
                      match="line 3: line not valid UTF-8.*line 8: line holds a NUL"):
        rows = run(tmp_path, c)
    assert c.calls == 2 and len(rows) == PAIRS * 5
    assert _sorted(load_records(path)) == _sorted(rows)


def test_superseded_and_duplicated_rows_leave_one_set_per_pair(tmp_path):
    run(tmp_path)
    path = tmp_path / "t.csv"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines) + "".join(lines[1:6]))   # one pair written twice
    rows = run(tmp_path, Counting())
    assert len(load_records(path)) == len(rows) == PAIRS * 5


def test_a_failing_point_is_recorded_and_the_sweep_goes_on(tmp_path, capsys):
    bad = Counting(at=("jacrev", {"n": 4, "m": 1}), fail=ValueError("singular\nmatrix"))
    with run_options() as opts:
        rows = run(tmp_path, bad)
    assert bad.calls == PAIRS and len(rows) == (PAIRS - 1) * 5
    assert opts.summaries[0].failed
    err = capsys.readouterr().err
    assert "1 FAILED" in err and "ValueError: singular matrix" in err
    saved = load_records(tmp_path / "t.csv")
    failed = [r for r in saved if r["status"] == "error"]
    assert len(failed) == 1 and failed[0]["error"] == "ValueError: singular matrix"
    assert (failed[0]["method"], failed[0]["n"], failed[0]["m"]) == ("jacrev", 4, 1)
    retry = Counting()
    rows = run(tmp_path, retry)           # the failed pair is tried again, and now works
    assert retry.calls == 1 and len(rows) == PAIRS * 5
    assert all(r["status"] == "ok" for r in load_records(tmp_path / "t.csv"))


def test_a_finished_sweep_runs_in_a_read_only_folder(tmp_path, monkeypatch):
    rows = run(tmp_path)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    real_open = os.open

    def read_only(path, flags, *args, **kw):       # also refuses root, as a read-only FS
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise PermissionError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kw)

    os.chmod(tmp_path, 0o555)
    try:
        monkeypatch.setattr(os, "open", read_only)
        assert run(tmp_path) == rows
        with pytest.raises(PermissionError, match="not writable"):
            run(tmp_path, grid={"n": [16], "m": [1]})
    finally:
        monkeypatch.undo()
        os.chmod(tmp_path, 0o755)
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before


CONCURRENT = '''
import sys, time
import numpy as np
import dualtape as dt
from dualtape.harness import sweep

def case(method, n, m):
    time.sleep(0.05)
    f = lambda x: np.tanh(x[:m] * n)
    return {"f": f, "jacrev": dt.jacrev(f)}[method], (np.ones(n),)

sweep(case, grid={"n": [4, 5, 6], "m": [1, 2]}, methods=["f", "jacrev"], repeats=2, warmup=0,
      min_time=0.0, name="c", out_dir=sys.argv[1], progress=False)
'''


def _python(args, **kw):
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.Popen([sys.executable, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def test_two_concurrent_sweeps_of_one_name(tmp_path):
    script = tmp_path / "c.py"
    script.write_text(CONCURRENT)
    procs = [_python([str(script), str(tmp_path)]) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    rows = load_records(tmp_path / "c.csv")
    keys = [(r["method"], r["n"], r["m"], r["statistic"]) for r in rows]
    assert len(keys) == len(set(keys)) == 12 * 5
    errs = "".join(e for _, e in outs)
    assert "measured 12 new" in errs and "reused 12" in errs   # one measured, one reused
    assert not list(tmp_path.glob(".*.tmp"))


def test_log_progress_lines_with_counts_and_eta(capsys):
    bar = LogProgress(4, "demo", interval=0.0)
    for i in range(4):
        bar.set_postfix_str(f"f n={i}")
        bar.update(1)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("demo: 1/4 pairs, 0s elapsed, ETA ")
    assert len(lines) == 3 and "(f n=2)" in lines[-1]


INTERRUPTED = '''
"""An experiment slow enough to be interrupted."""
import time
import numpy as np
from dualtape.harness import sweep

NAME = "slow"


def case(method, n):
    time.sleep(0.15)
    return (lambda x: x * 2.0), (np.ones(n),)


def run(quick=True, results_dir="r", progress=True):
    return sweep(case, grid={"n": list(range(1, 41))}, methods=["f"], repeats=1, warmup=0,
                 min_time=0.0, name=NAME, out_dir=results_dir, progress=progress, count=False)


def plot(records, figures_dir="f"):
    return []
'''


def test_ctrl_c_prints_one_line_and_a_rerun_resumes(tmp_path):
    exp = tmp_path / "experiments"
    exp.mkdir()
    (exp / "slow.py").write_text(INTERRUPTED)
    cli = ["-m", "dualtape.harness", "--experiments", str(exp), "run", "slow", "--quick"]
    proc = _python(cli, cwd=tmp_path)
    csv = exp / "results" / "quick" / "slow.csv"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not csv.exists() or csv.read_text().count("\n") < 31):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    saved = int(last.split()[1])
    assert last == f"interrupted: {saved} pairs saved; run again to resume" and saved >= 5
    assert len(load_records(csv)) == saved * 5
    again = _python(cli, cwd=tmp_path)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert f"slow: reused {saved}, re-measured 0, measured {40 - saved} new" in err


def test_load_frame_dtypes(tmp_path):
    pd = pytest.importorskip("pandas")
    run(tmp_path)
    from dualtape.harness import load_frame

    frame = load_frame(tmp_path / "t.csv")
    assert list(frame.columns) == columns_for(["n", "m"])
    assert frame["commit"].dtype == pd.StringDtype() and frame["flops"].dtype == "Int64"
    assert frame["time_s"].dtype == "float64"


def test_calibrated_loops_time_fast_calls_over_many_calls():
    from dualtape.harness.timing import calibrate, time_call

    loops = calibrate(lambda: None, 0.001)
    assert loops >= 100 and str(loops).strip("0") in ("1", "2", "5")
    slow = time_call(time.sleep, (0.003,), repeats=3, warmup=0, min_time=0.001)
    assert slow.loops == 1 and len(slow.samples) == 3 and min(slow.samples) >= 0.003
    fast = time_call(abs, (-1,), repeats=3, warmup=1, min_time=0.001)
    assert fast.loops >= 100 and len(fast.samples) == 3


def test_sweep_summary_counts_are_context_local():
    import threading

    seen = []

    def worker():
        with run_options(fresh=True) as o:
            seen.append(o)

    with run_options() as outer:
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        assert not outer.fresh and seen[0].fresh and seen[0] is not outer


def test_plot_refuses_empty_mixed_and_stale_data(tmp_path):
    from dualtape.harness.check import PlotRefused, check_for_plot

    src = tmp_path / "src"
    src.mkdir()
    mod = _module(src, "e", width=4, plot=1)
    mod.NAME = "e"
    with pytest.raises(PlotRefused, match="no results"):
        check_for_plot(mod, tmp_path / "e.csv")
    (tmp_path / "e.csv").write_text(",".join(columns_for(["n", "m"])) + "\n")
    with pytest.raises(PlotRefused, match="no measured rows"):
        check_for_plot(mod, tmp_path / "e.csv")
    run(tmp_path, mod.case, name="e", quick=True)
    assert len(check_for_plot(mod, tmp_path / "e.csv")) == PAIRS * 5
    run(tmp_path, mod.case, name="e", quick=False, grid={"n": [8], "m": [1]})
    with pytest.raises(PlotRefused, match=r"mixes rows of different runs \(10 full, 40 quick\)"):
        check_for_plot(mod, tmp_path / "e.csv")
    (tmp_path / "e.csv").unlink()
    run(tmp_path, mod.case, name="e", quick=True)
    changed = _module(src, "e", width=5, plot=1)
    changed.NAME = "e"
    with pytest.raises(PlotRefused, match="stale .*40 of 40 rows by another definition"):
        check_for_plot(changed, tmp_path / "e.csv")
    assert len(check_for_plot(changed, tmp_path / "e.csv", allow_stale=True)) == 40


def test_the_cli_refuses_to_plot_empty_results(tmp_path):
    exp = tmp_path / "experiments"
    (exp / "results" / "quick").mkdir(parents=True)
    (exp / "slow.py").write_text(INTERRUPTED)
    (exp / "results" / "quick" / "slow.csv").write_text("")
    proc = _python(["-m", "dualtape.harness", "--experiments", str(exp), "plot", "slow"],
                   cwd=tmp_path)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "plot slow:" in err and "Traceback" not in err


def test_definition_hash_of_helpers_in_other_local_modules(tmp_path):
    (tmp_path / "_helpers.py").write_text("K = 3\ndef make(n):\n    return n * K\n")
    (tmp_path / "exp.py").write_text(textwrap.dedent("""
        import _helpers as H
        def case(method, n):
            return H.make(n)
    """))
    sys.path.insert(0, str(tmp_path))
    try:
        import importlib

        exp = importlib.import_module("exp")
        first = P.definition_hashes(exp.case)
        H = sys.modules["_helpers"]
        H.K = 4
        assert P.definition_hashes(exp.case)[1] != first[1]   # the constant it reads
        assert P.definition_hashes(exp.case)[0] == first[0]
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("exp", None)
        sys.modules.pop("_helpers", None)


def test_benchmarks_time_with_the_harness_timer():
    bench = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"
    sys.path.insert(0, str(bench))
    try:
        import common

        from dualtape.harness import timing

        assert common.time_interleaved is timing.time_interleaved
        settings = common.Settings(repeats=3, min_repeat_time=0.001, warmup=0.0,
                                   max_time=0.5, quick=True)
        t = common.measure_many([lambda: None], settings)[0]
        assert t.number >= 100 and len(t.samples) == 3
    finally:
        sys.path.remove(str(bench))
        sys.modules.pop("common", None)


def test_figures_carry_their_provenance_in_metadata_and_footer(tmp_path):
    import matplotlib.pyplot as plt
    from PIL import Image

    from dualtape.harness.plots import provenance_text, save_figure

    rows = run(tmp_path, quick=True)
    fig, ax = plt.subplots()
    ax.plot([1, 2], [1, 2])
    png, pdf = save_figure(fig, tmp_path / "fig", records=rows)
    text = provenance_text(rows)
    commit = rows[0]["commit"]
    assert "quick grid" in text and rows[0]["timestamp"][:10] in text
    if commit:
        assert commit[:8] in text
    assert text in [t.get_text() for t in fig.texts]          # the footer
    assert Image.open(png).text["Description"] == text
    assert text.encode() in pdf.read_bytes() or b"Subject" in pdf.read_bytes()
    plt.close(fig)


def test_compare_by_kind_of_tolerance():
    from dualtape.harness.report import compare

    assert compare("abs", 0.05, 1.0, 0.97) and not compare("abs", 0.05, 1.0, 0.9)
    assert compare("rel", 0.5, 4.0, 5.9) and not compare("rel", 0.5, 4.0, 6.1)
    assert compare("log10", 1.0, 1e-7, 5e-7) and not compare("log10", 1.0, 1e-7, 1e-9)
    assert compare("log10", 1.0, 0.0, 0.0) and not compare("log10", 1.0, 0.0, 1e-16)
    assert compare("exact", 0, 3, 3) and not compare("exact", 0, 3, 2)
    assert compare("abs", 1, None, 1.0) is None


REPORTED = '''
import numpy as np
from dualtape.harness import sweep

NAME = "rep"
TOLERANCES = {"doubling": ("exact", 0, "flops of 2x over those of x"),
              "points": ("exact", 0, "number of sizes")}


def case(method, n):
    return (lambda x: 2.0 * x), (np.ones(n),)


def run(quick=True, results_dir="r", progress=True):
    sizes = [1, 2] if quick else [1, 2, 4]
    return sweep(case, grid={"n": sizes}, methods=["f"], repeats=1, warmup=0, min_time=0.0,
                 name=NAME, out_dir=results_dir, progress=progress)


def numbers(records, results_dir=None):
    med = [r for r in records if r["statistic"] == "median"]
    return {"doubling": max(r["flops"] / r["n"] for r in med), "points": len(med)}


def plot(records, figures_dir="f"):
    return []
'''


def test_reproduce_ends_with_the_reproduction_report(tmp_path):
    exp = tmp_path / "experiments"
    exp.mkdir()
    (exp / "rep.py").write_text(REPORTED)
    base = ["-m", "dualtape.harness", "--experiments", str(exp)]
    ref = tmp_path / "reference"
    proc = _python([*base, "--results", str(ref), "reproduce", "--full"], cwd=tmp_path)
    assert proc.wait(timeout=120) == 0, proc.communicate()[1]
    proc = _python([*base, "--reference", str(ref), "reproduce", "--quick"], cwd=tmp_path)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err          # one quantity differs: quick has 2 sizes, not 3
    assert "| rep | flops of 2x over those of x | 1 | 1 | exact | reproduced |" in out
    assert "| rep | number of sizes | 3 | 2 | exact | NOT reproduced |" in out
    assert "1 reproduced, 1 not reproduced, 0 not compared." in out
    report = exp / "results" / "quick" / "reproduction_report.md"
    assert "NOT reproduced" in report.read_text()


def test_a_file_lacking_only_later_columns_is_reused_and_upgraded(tmp_path, capsys):
    import csv

    run(tmp_path)
    path = tmp_path / "t.csv"
    with open(path, newline="") as fh:
        table = list(csv.DictReader(fh))
    old = [c for c in columns_for(["n", "m"]) if c not in ("pid", "load")]
    with open(path, "w", newline="") as fh:       # the layout before pid and load
        w = csv.DictWriter(fh, old, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(table)
    capsys.readouterr()
    run(tmp_path)
    assert "t: reused 8, re-measured 0, measured 0 new" in capsys.readouterr().err
    assert path.read_text().splitlines()[0] == ",".join(old)     # nothing to write
    run(tmp_path, grid={"n": [2, 4, 8], "m": [1, 3]})
    assert "t: reused 8, re-measured 0, measured 4 new" in capsys.readouterr().err
    assert path.read_text().splitlines()[0] == ",".join(columns_for(["n", "m"]))
    rows = load_records(path)
    assert len(rows) == 12 * 5
    assert sum(r["pid"] == os.getpid() for r in rows) == 4 * 5       # the new ones
    assert sum(r["pid"] is None for r in rows) == 8 * 5
