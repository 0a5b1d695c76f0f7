"""mypy on the public API's typing checks (tests/typing/check_public.py): returned
functions keep f's parameters, return_info gives the typed info records.  Skipped where
mypy is not installed (it comes with the ``test`` extra)."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

pytest.importorskip("mypy")


def _mypy(*args: str) -> subprocess.CompletedProcess:
    # the project's [tool.mypy] (mypy_path = src) and cache; a fresh cache takes ~15 s
    return subprocess.run([sys.executable, "-m", "mypy", *args], cwd=ROOT,
                          capture_output=True, text=True)


def test_public_types_hold():
    got = _mypy("tests/typing/check_public.py")
    assert got.returncode == 0, got.stdout + got.stderr


def test_the_check_fails_when_a_type_is_wrong(tmp_path):
    # the same check on a claim that is false must fail: the file is really checked
    bad = tmp_path / "wrong.py"
    bad.write_text("import dualtape as dt\nfrom typing_extensions import assert_type\n"
                   "def f(x: int) -> float: return 1.0\n"
                   "assert_type(dt.value_and_grad(f)(1), tuple[str, int])\n")
    got = _mypy(str(bad))
    assert got.returncode == 1 and "assert-type" in got.stdout, got.stdout
