"""Showing programs: the evaluation trace, the Baydin et al. (2018) tables with their
published values, generated source that runs, and the graph with values on edges."""

from __future__ import annotations

import re
import shutil
import unicodedata

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp


def nfc(s: str) -> str:
    # a bar or dot over a letter may be one code point or two: compare them alike
    return unicodedata.normalize("NFC", s)


def baydin(x1, x2):
    """f(x1, x2) = ln x1 + x1 x2 - sin x2, written in the order of the paper's trace."""
    v1 = dnp.log(x1)
    v2 = x1 * x2
    v3 = dnp.sin(x2)
    v4 = v1 + v2
    return v4 - v3


def test_print_is_the_textbook_trace():
    text = str(dt.record(baydin, 2.0, 5.0))
    assert text.splitlines() == [
        "v₋₁ = x₁", "v₀ = x₂", "v₁ = ln v₋₁", "v₂ = v₋₁ × v₀", "v₃ = sin v₀",
        "v₄ = v₁ + v₂", "v₅ = v₄ − v₃", "y = v₅"]


def test_print_shows_array_shapes():
    text = str(dt.record(lambda x: dnp.sum(dnp.exp(x)), np.zeros((2, 3))))
    assert "v₀ = x₁  : float64[2, 3]" in text
    assert "v₁ = exp v₀  : float64[2, 3]" in text


def test_baydin_table_has_the_published_values():
    # Baydin et al. 2018, Tables 2 and 3 (values derived by hand: ln 2 = 0.693,
    # sin 5 = -0.959, cos 5 = 0.284; tangent with x1' = 1, x2' = 0; adjoint with y' = 1)
    table = nfc(dt.record(baydin, 2.0, 5.0).table(2.0, 5.0, tangents=(1.0, 0.0),
                                                   cotangents=1.0))
    rows = {line.split("│")[0].strip(): line for line in table.splitlines()}
    want_primal = {"v₋₁": "2", "v₀": "5", "v₁": "0.693", "v₂": "10", "v₃": "-0.959",
                   "v₄": "10.693", "v₅": "11.652"}
    want_tangent = {"v₋₁": "1", "v₀": "0", "v₁": "0.5", "v₂": "5", "v₃": "0",
                    "v₄": "5.5", "v₅": "5.5"}
    for line in table.splitlines():
        if "│" not in line:
            continue
        left, right = (s.strip() for s in line.split("│"))
        name = left.split(" = ")[0]
        if name in want_primal:
            assert left.endswith("= " + want_primal[name]), line
            assert right.endswith("= " + want_tangent[name]), line
    assert rows  # the table has rows
    adjoint = table.split("Reverse adjoint trace")[1]
    for line in ("v̄₅ = ȳ = 1", "v̄₄ = v̄₅ ∂v₅/∂v₄ = 1 × 1 = 1",
                 "v̄₃ = v̄₅ ∂v₅/∂v₃ = 1 × -1 = -1",
                 "v̄₀ = v̄₃ ∂v₃/∂v₀ = -1 × 0.284 = -0.284",
                 "v̄₋₁ = v̄₂ ∂v₂/∂v₋₁ = 1 × 5 = 5",
                 "v̄₀ = v̄₀ + v̄₂ ∂v₂/∂v₀ = -0.284 + 1 × 2 = 1.716",
                 "v̄₋₁ = v̄₋₁ + v̄₁ ∂v₁/∂v₋₁ = 5 + 1 × 0.5 = 5.5",
                 "x̄₁ = v̄₋₁ = 5.5, x̄₂ = v̄₀ = 1.716"):
        assert nfc(line) in adjoint, line


def test_table_of_a_recorded_gradient_gives_hessian_columns():
    # tangents of the gradient program along e1: the first Hessian column, by hand
    # d/dx1 (1/x1 + x2) = -1/x1^2 = -0.25 and d/dx1 (x1 - cos x2) = 1
    g = dt.record(dt.grad(baydin, (0, 1)), 2.0, 5.0)
    table = nfc(g.table(2.0, 5.0, tangents=(1.0, 0.0)))
    assert re.search(nfc(r"ẏ₁ = v̇\S+ = -0.25"), table)
    assert re.search(nfc(r"ẏ₂ = v̇\S+ = 1\b"), table)


def test_source_of_a_recorded_gradient_runs_and_has_both_sweeps():
    g = dt.record(dt.grad(baydin, (0, 1)), 2.0, 5.0)
    for optimized in (False, True):
        src = g.source(optimized=optimized)
        ns: dict = {}
        exec(src, ns)
        x1, x2 = 3.0, 1.5
        got = ns["program"](np.array(x1), np.array(x2))
        np.testing.assert_allclose(got, (1 / x1 + x2, x1 - np.cos(x2)), rtol=1e-14)
    plain = g.source()
    assert "v1 = np.log(v_m1)" in plain and "# adjoint / tangent sweep" in plain
    assert plain.index("np.log(") < plain.index("np.cos(")          # forward, then adjoint
    assert "raise GuardFailed" in plain
    assert "np.log(" not in g.source(optimized=True)    # dead primal code is gone


def test_guard_in_source_raises_on_the_other_path():
    def f(x):
        return dnp.sin(x) if dnp.sum(x) > 0 else dnp.cos(x)
    ns: dict = {}
    exec(dt.record(f, np.ones(2)).source(), ns)
    np.testing.assert_allclose(ns["program"](np.full(2, 0.5)), [np.sin(0.5)] * 2)
    from dualtape.programs.compile import GuardFailed
    with pytest.raises(GuardFailed, match="truth value"):
        ns["program"](np.full(2, -0.5))


def gate(x, y, z):
    """The CS231n circuit f = (x + y) z."""
    return (x + y) * z


def test_graph_carries_values_tangents_and_adjoints_on_edges():
    prog = dt.record(gate, -2.0, 5.0, -4.0)
    dot = nfc(prog.graph(-2.0, 5.0, -4.0, tangents=(1.0, 0.0, 0.0), cotangents=1.0))
    assert dot.startswith("digraph")
    # q = x + y = 3, f = -12; adjoints by hand: z̄ = q = 3, q̄ = z = -4, x̄ = ȳ = -4
    for want in ("x̄₁ = -4", "x̄₂ = -4", "x̄₃ = 3",
                 'label="3\\nv̇₁ = 1\\nv̄₁ += -4"',                # the edge q -> f
                 'label="-12\\nẏ = -4\\nȳ = 1"'):                # into the output
        assert nfc(want) in dot, want


def test_graph_marks_fan_out_where_adjoints_add():
    # parameter sharing: w feeds two products, its adjoint is the sum x1 + x2 = 5
    prog = dt.record(lambda w: w * 2.0 + w * 3.0, 1.5)
    dot = nfc(prog.graph(cotangents=1.0))
    node = next(line for line in dot.splitlines() if line.strip().startswith("s0 ["))
    assert nfc("x̄₁ = 5") in node and "#ffd9a0" in node    # marked as a fan-out
    assert dot.count(nfc("v̄₀ += ")) == 2 and 'color="#d06000"' in dot


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz is not installed")
def test_graph_renders(tmp_path):
    out = tmp_path / "baydin.png"
    dt.record(baydin, 2.0, 5.0).graph(cotangents=1.0, render=str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_render_without_graphviz_warns(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.warns(RuntimeWarning, match="graphviz"):
        dot = dt.record(baydin, 2.0, 5.0).graph(render=str(tmp_path / "g.svg"))
    assert dot.startswith("digraph")


def _doc_drawings():
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parents[1] / "docs" / "images" / "render.py"
    spec = importlib.util.spec_from_file_location("doc_images_render", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return path.parent, module


def test_committed_drawings_show_what_their_examples_give_now():
    import html
    import struct
    images, render = _doc_drawings()
    for stem, draw in render.EXAMPLES.items():
        dot = draw(None)
        labels = sorted(line for label in re.findall(r'label="((?:[^"\\]|\\.)*)"', dot)
                        for line in label.replace('\\"', '"').split("\\n"))
        svg = (images / f"{stem}.svg").read_text()
        shown = sorted(html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg))
        assert shown == labels, f"{stem}.svg is stale: run docs/images/render.py"
        if "png" in render.FORMATS[stem]:
            # same drawing: the raster has the vector's proportions
            head = (images / f"{stem}.png").read_bytes()[:24]
            assert head[:8] == b"\x89PNG\r\n\x1a\n"
            width, height = struct.unpack(">II", head[16:24])
            vw, vh = map(float, re.search(r'viewBox="[\d.]+ [\d.]+ ([\d.]+) ([\d.]+)"',
                                          svg).groups())
            assert abs(width / height - vw / vh) < 0.02 * vw / vh, (width, height, vw, vh)
