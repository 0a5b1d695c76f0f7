"""The registry coverage report."""

from __future__ import annotations

import subprocess
import sys

from dualtape.report import coverage, functions_markdown


def test_no_builtin_primitive_lacks_a_jvp_or_a_vjp():
    rows = [r for r in coverage() if not r["user"]]
    assert rows
    assert [r["name"] for r in rows if not (r["jvp"] and r["vjp"])] == []
    assert [r["name"] for r in rows if not r["cost"]] == []


def test_report_command_prints_every_primitive():
    out = subprocess.run([sys.executable, "-m", "dualtape.report"], capture_output=True,
                         text=True, check=True).stdout
    for r in coverage():
        if not r["user"]:
            assert r["name"] in out
    assert "without a jvp or vjp: none" in out


def test_function_list_names_the_namespaces():
    md = functions_markdown()
    assert "`dualtape.numpy`" in md and "`sum`" in md and "`where`" in md
