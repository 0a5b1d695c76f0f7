"""The paper writes its own numbers: paper/paper.md is the rendering of its template with
the values computed from the committed reference results in paper/results/."""

from __future__ import annotations

import pathlib
import sys

import pytest

PAPER = pathlib.Path(__file__).resolve().parents[1] / "paper"


@pytest.fixture(scope="module")
def render():
    sys.path.insert(0, str(PAPER))
    try:
        import render as module

        yield module
    finally:
        sys.path.remove(str(PAPER))
        sys.modules.pop("render", None)


@pytest.fixture(scope="module")
def named(render):
    assert (PAPER / "results").is_dir(), "the paper's reference results are missing"
    return render.values()


def test_the_committed_paper_is_the_rendering_of_the_committed_results(render, named):
    text = render.render(render.TEMPLATE.read_text(encoding="utf-8"), named)
    committed = render.OUTPUT.read_text(encoding="utf-8")
    assert committed == text, "paper/paper.md differs from its rendering: run `make paper`"


def test_a_changed_result_changes_the_paper(render, named):
    template = render.TEMPLATE.read_text(encoding="utf-8")
    key = "modes_vs_n_m.fwd_count_slope"
    assert "{{" + key in template
    changed = {**named, key: named[key] + 0.5}
    assert render.render(template, changed) != render.OUTPUT.read_text(encoding="utf-8")


def test_every_placeholder_names_a_value_and_none_is_left(render, named):
    text = render.render(render.TEMPLATE.read_text(encoding="utf-8"), named)
    assert "{{" not in text and "}}" not in text.replace("}}$", "")
    with pytest.raises(KeyError, match="no_such_value"):
        render.render("{{modes_vs_n_m.no_such_value}}", named)


def test_the_reference_results_are_full_runs_with_provenance(named):
    assert named["run.scale"] == "full"
    assert named["run.commit"] != "unknown" and named["run.host"] != "unknown"
    # each experiment's grid is one run of committed code
    commits = {k: v for k, v in named.items() if k.startswith("run_") and k.endswith(".commit")}
    assert len(commits) >= 8
    for key, commit in commits.items():
        assert len(commit) == 12 and "," not in commit and "uncommitted" not in commit, \
            (key, commit)
    # the counted laws the paper states hold in the committed results
    assert abs(named["modes_vs_n_m.fwd_count_slope"] - 1) < 0.05
    assert abs(named["modes_vs_n_m.rev_count_slope"] - 1) < 0.05
    assert named["modes_vs_n_m.count_crossover"] == 1.0
    assert named["cheap_gradient.mlp_count_max"] <= 4
    assert named["sparse_vs_fd.dt_error"] == 0


def test_provenance_names_every_commit_its_rows_come_from(render):
    rows = [{"commit": "a" * 40, "dirty": False}, {"commit": "b" * 40, "dirty": False},
            {"commit": "a" * 40, "dirty": False}]
    assert render.provenance(rows)["commit"] == "aaaaaaaaaaaa, bbbbbbbbbbbb"
    assert render.provenance(rows[:1] + [{"commit": "a" * 40, "dirty": True}])["commit"] \
        == "aaaaaaaaaaaa (with uncommitted changes)"
