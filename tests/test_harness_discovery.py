"""How the command line finds the experiments: a checkout, --experiments DIR, or a
message saying there are none and how to get them."""

from __future__ import annotations

import pathlib

import pytest

from dualtape.harness import cli

EXPERIMENT = "NAME = 'tiny'\ndef run(quick, results_dir, progress):\n    return []\n" \
             "def plot(records, figures_dir):\n    return []\n"


def _checkout(root: pathlib.Path) -> pathlib.Path:
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    exp = root / "experiments"
    exp.mkdir()
    (exp / "tiny.py").write_text(EXPERIMENT)
    return exp


def test_given_directory_is_used(tmp_path):
    exp = _checkout(tmp_path)
    assert cli.find_experiments(exp) == (exp, None)


@pytest.mark.parametrize("make", ["missing", "empty", "helpers only"])
def test_given_directory_without_experiments_says_so(tmp_path, make, capsys):
    d = tmp_path / "exp"
    if make != "missing":
        d.mkdir()
    if make == "helpers only":
        (d / "_common.py").write_text("")
    where, why = cli.find_experiments(d)
    assert where == d and why is not None
    state = "does not exist" if make == "missing" else "has no experiment files"
    assert why.startswith(f"no experiments in {d}: the directory {state}")
    assert "--experiments DIR" in why and "source distribution" in why
    assert cli.main(["--experiments", str(d), "list"]) == 1
    assert capsys.readouterr().err.strip() == why


def test_found_from_the_checkout_root_and_from_inside_it(tmp_path, monkeypatch):
    exp = _checkout(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert cli.find_experiments(None) == (pathlib.Path("experiments"), None)
    inner = tmp_path / "paper" / "figures"
    inner.mkdir(parents=True)
    monkeypatch.chdir(inner)
    assert cli.find_experiments(None) == (exp, None)


def test_nothing_found_lists_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # as from an installed wheel: the package does not sit in a checkout
    monkeypatch.setattr(cli, "__file__", str(tmp_path / "site" / "dualtape" / "harness"
                                             / "cli.py"))
    where, why = cli.find_experiments(None)
    assert why is not None and why.startswith("no experiments found (looked in experiments")
    assert "not installed with the package" in why
