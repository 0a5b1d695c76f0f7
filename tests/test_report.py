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


def test_readme_function_list_is_generated_from_the_registry():
    import pathlib
    import re

    import dualtape.scipy.special  # noqa: F401  (its functions are listed too)
    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    listed = re.search(r"<!-- functions:start -->\n(.*?)\n<!-- functions:end -->", readme,
                       flags=re.S).group(1)
    assert listed.strip() == functions_markdown().strip(), (
        "regenerate the README list with: python -m dualtape.report --functions")
