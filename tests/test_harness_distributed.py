"""Sweeps on an executor: a real Dask ``LocalCluster`` of 2 worker processes, started and
closed by each test.  Counts equal a sequential run's row by row; a worker killed
mid-sweep loses nothing; an interrupted driver resumes; ``--workers 2`` runs from the
command line.  Nothing here asserts on a timing."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time

import pytest

from dualtape.harness import load_records, run_options
from dualtape.harness.cli import load_experiment
from dualtape.harness.records import COUNT_COLUMNS

distributed = pytest.importorskip("dask.distributed")

SRC = pathlib.Path(__file__).resolve().parents[1] / "src"

EXPERIMENT = '''
"""A tiny experiment: tanh(A x) and its Jacobians; ``SLEEP`` seconds in each case call."""
import time

import numpy as np

import dualtape as dt
from dualtape.harness import sweep

NAME = "tiny"
SLEEP = {sleep}
GRID = {grid}


def case(method, n, m):
    time.sleep(SLEEP)
    if n < 1:
        raise ValueError(f"no such point: n = {{n}}")
    a = np.arange(1.0, m * n + 1).reshape(m, n) / (m * n)

    def f(x):
        return np.tanh(a @ x)

    fn = {{"f": f, "jacfwd": dt.jacfwd(f), "jacrev": dt.jacrev(f)}}[method]
    return fn, (np.linspace(0.1, 1.0, n),)


def run(quick=True, results_dir="results", progress=True, **kw):
    return sweep(case, grid=GRID, methods=["f", "jacfwd", "jacrev"], repeats=2, warmup=0,
                 min_time=0.0, name=NAME, out_dir=results_dir, progress=progress, **kw)


def plot(records, figures_dir="figures"):
    import pathlib
    path = pathlib.Path(figures_dir) / "tiny.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{{len(records)}} rows")
    return [path]
'''


def experiment(folder: pathlib.Path, sleep: float = 0.0,
               grid: dict | None = None) -> tuple[pathlib.Path, object]:
    """Write the tiny experiment to ``folder/experiments`` and import it."""
    exp = folder / "experiments"
    exp.mkdir(exist_ok=True)
    grid = grid or {"n": [2, 4, 8], "m": [1, 3]}
    path = exp / "tiny.py"
    path.write_text(EXPERIMENT.format(sleep=sleep, grid=grid))
    return exp, load_experiment(path)


@pytest.fixture
def cluster():
    """A local cluster of 2 single-threaded worker processes and a client of it."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as lc:
        with distributed.Client(lc) as client:
            yield client


def pairs_of(rows):
    keys = [(r["method"], r["n"], r["m"], r["statistic"]) for r in rows]
    return keys


def test_counts_equal_a_sequential_run_row_by_row(tmp_path, cluster):
    _, tiny = experiment(tmp_path)
    seq = tiny.run(results_dir=str(tmp_path / "seq"), progress=False)
    par = tiny.run(results_dir=str(tmp_path / "par"), progress=False,
                   executor=cluster.get_executor())
    assert len(seq) == len(par) == 18 * 5
    assert pairs_of(seq) == pairs_of(par)          # grid order, then method order
    for a, b in zip(seq, par):
        assert {c: a[c] for c in (*COUNT_COLUMNS, "count_key")} == \
               {c: b[c] for c in (*COUNT_COLUMNS, "count_key")}
        assert a["flops"] is not None and a["status"] == b["status"] == "ok"
    workers = set(cluster.run(os.getpid).values())
    assert {r["pid"] for r in par} <= workers and os.getpid() not in workers
    assert {r["pid"] for r in seq} == {os.getpid()}
    saved = load_records(tmp_path / "par" / "tiny.csv")
    assert sorted(pairs_of(saved)) == sorted(pairs_of(par))


def test_a_process_pool_executor_gives_the_same_counts(tmp_path):
    _, tiny = experiment(tmp_path)
    seq = tiny.run(results_dir=str(tmp_path / "seq"), progress=False)
    # spawn: the workers import the experiment from its file, as remote ones would.
    with cf.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        par = tiny.run(results_dir=str(tmp_path / "pool"), progress=False, executor=pool)
    assert [(r["flops"], r["calls"], r["count_key"]) for r in seq] == \
           [(r["flops"], r["calls"], r["count_key"]) for r in par]
    assert os.getpid() not in {r["pid"] for r in par}


def test_a_worker_killed_mid_sweep_loses_nothing(tmp_path, cluster):
    _, tiny = experiment(tmp_path, sleep=0.25)
    csv = tmp_path / "r" / "tiny.csv"
    victim = next(iter(cluster.run(os.getpid).values()))
    killed = threading.Event()

    def kill_when_started() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if csv.exists() and csv.read_text().count("\n") >= 1 + 2 * 5:
                os.kill(victim, signal.SIGKILL)
                killed.set()
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_when_started)
    killer.start()
    with run_options() as opts:
        rows = tiny.run(results_dir=str(tmp_path / "r"), progress=False,
                        executor=cluster.get_executor())
    killer.join()
    assert killed.is_set()
    assert opts.summaries[0].failed == []
    saved = load_records(csv)
    keys = pairs_of(saved)
    assert len(keys) == len(set(keys)) == 18 * 5             # every pair once
    assert sorted(keys) == sorted(pairs_of(rows))
    assert all(r["status"] == "ok" for r in saved)


def test_an_interrupted_driver_resumes(tmp_path, cluster):
    _, tiny = experiment(tmp_path, sleep=0.15)
    csv = tmp_path / "r" / "tiny.csv"

    def interrupt_after_some_pairs() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if csv.exists() and csv.read_text().count("\n") >= 1 + 4 * 5:
                os.kill(os.getpid(), signal.SIGINT)      # Ctrl-C, seen by the main thread
                return
            time.sleep(0.02)

    t = threading.Thread(target=interrupt_after_some_pairs)
    t.start()
    with pytest.raises(KeyboardInterrupt):
        with run_options() as opts:
            tiny.run(results_dir=str(tmp_path / "r"), progress=False,
                     executor=cluster.get_executor())
    t.join()
    saved = opts.saved
    assert 4 <= saved < 18
    assert len(load_records(csv)) == saved * 5            # every finished pair kept
    with run_options() as again:
        rows = tiny.run(results_dir=str(tmp_path / "r"), progress=False,
                        executor=cluster.get_executor())
    s = again.summaries[0]
    assert (s.reused, s.remeasured, s.new, s.failed) == (saved, 0, 18 - saved, [])
    keys = pairs_of(load_records(csv))
    assert len(keys) == len(set(keys)) == len(rows) == 18 * 5


def test_an_experiment_that_raises_on_a_worker_is_recorded(tmp_path, cluster):
    _, tiny = experiment(tmp_path, grid={"n": [2, 0], "m": [1]})   # n = 0 raises
    with run_options() as opts:
        rows = tiny.run(results_dir=str(tmp_path / "r"), progress=False,
                        executor=cluster.get_executor())
    failed = opts.summaries[0].failed
    saved = load_records(tmp_path / "r" / "tiny.csv")
    errors = [r for r in saved if r["status"] == "error"]
    assert len(rows) == 3 * 5 and len(errors) == len(failed)
    assert len(errors) == 3
    assert all(r["n"] == 0 and "ValueError: no such point: n = 0" in r["error"]
               for r in errors)


def test_workers_running_another_definition_record_it_then_follow_an_edit(tmp_path, cluster):
    exp, tiny = experiment(tmp_path, grid={"n": [2], "m": [1, 3]})
    ex = cluster.get_executor()
    assert len(tiny.run(results_dir=str(tmp_path / "r"), progress=False, executor=ex)) == 30
    # The file changes under the driver: the workers import the new one, see that it is
    # not what the driver measures, and say so.
    experiment(tmp_path, sleep=0.001, grid={"n": [2], "m": [1, 3]})
    with run_options(fresh=True) as opts:
        rows = tiny.run(results_dir=str(tmp_path / "r"), progress=False, executor=ex)
    assert rows == [] and len(opts.summaries[0].failed) == 6
    assert all("differs from the driver's" in f for f in opts.summaries[0].failed)
    # The driver loads the edit too: the same long-lived workers now measure it.
    _, edited = experiment(tmp_path, sleep=0.001, grid={"n": [2], "m": [1, 3]})
    with run_options() as opts:
        rows = edited.run(results_dir=str(tmp_path / "r"), progress=False, executor=ex)
    s = opts.summaries[0]
    assert (s.remeasured, s.failed, len(rows)) == (6, [], 30)


def test_scheduler_address_from_the_command_line(tmp_path, cluster):
    exp, _ = experiment(tmp_path)
    proc = _cli(["--experiments", str(exp), "run", "tiny", "--scheduler",
                 cluster.scheduler.address, "--no-progress"], tmp_path)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    rows = load_records(exp / "results" / "quick" / "tiny.csv")
    assert len(rows) == 18 * 5
    assert {r["pid"] for r in rows} <= set(cluster.run(os.getpid).values())


def _cli(args, cwd):
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.Popen([sys.executable, "-m", "dualtape.harness", *args], cwd=cwd,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_workers_2_from_the_command_line_interrupted_and_resumed(tmp_path):
    exp, _ = experiment(tmp_path, sleep=0.2, grid={"n": [1, 2, 3, 4, 5, 6], "m": [1, 2]})
    cli = ["--experiments", str(exp), "run", "tiny", "--quick", "--workers", "2",
           "--no-progress"]
    csv = exp / "results" / "quick" / "tiny.csv"
    proc = _cli(cli, tmp_path)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and (not csv.exists()
                                           or csv.read_text().count("\n") < 1 + 4 * 5):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    saved = int(last.split()[1])
    assert last == f"interrupted: {saved} pairs saved; run again to resume" and saved >= 4
    assert len(load_records(csv)) == saved * 5
    again = _cli(cli, tmp_path)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert f"tiny: reused {saved}, re-measured 0, measured {36 - saved} new" in err
    rows = load_records(csv)
    keys = pairs_of(rows)
    assert len(keys) == len(set(keys)) == 36 * 5
    assert again.pid not in {r["pid"] for r in rows}          # measured on the workers
    figure = exp / "results" / "quick" / "figures" / "tiny.txt"
    assert figure.read_text() == f"{36 * 5} rows" and str(figure) in out


def test_the_library_and_the_harness_never_import_dask():
    code = ("import sys, dualtape, dualtape.harness, dualtape.harness.cli, "
            "dualtape.harness.distributed; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'dask', 'distributed'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(SRC)}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
