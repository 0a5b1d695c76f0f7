"""Every code example in the documentation runs: the fenced ``python`` blocks of
README.md and docs/**/*.md, each in a fresh namespace (so every block carries its own
imports), and the ``>>>`` examples of the public API's docstrings.  The docstrings of
the public functions also have the numpydoc sections the API reference shows."""

from __future__ import annotations

import doctest
import inspect
import pathlib
import re

import pytest

import dualtape as dt

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md"] + sorted(p for p in (ROOT / "docs").rglob("*.md")
                                      if "_build" not in p.parts)
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```", re.S | re.M)


def python_blocks(path: pathlib.Path) -> list[tuple[int, str]]:
    """(first line number, code) of each fenced python block of a markdown file."""
    text = path.read_text()
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in FENCE.finditer(text)]


EXAMPLES = [pytest.param(path, line, code, id=f"{path.relative_to(ROOT)}:{line}")
            for path in PAGES for line, code in python_blocks(path)]


def test_every_page_is_collected():
    names = {p.relative_to(ROOT).as_posix() for p in PAGES}
    assert {"README.md", "docs/index.md", "docs/sharp_bits.md", "docs/porting.md"} <= names
    assert len([e for e in EXAMPLES if e.values[0].name == "README.md"]) >= 15


@pytest.mark.parametrize("path, line, code", EXAMPLES)
def test_example_runs_alone(path, line, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                 # examples that write files write here
    # a name a page registers must not clash with the test suite's own primitives
    code = code.replace('"softplus"', '"doc_softplus"')
    # the line numbers of a failure are those of the page
    source = "\n" * (line - 1) + code
    exec(compile(source, str(path), "exec"), {"__name__": f"doc_example_{line}"})


def public_objects() -> list[tuple[str, object]]:
    return [(name, getattr(dt, name)) for name in dt.__all__ if name != "__version__"]


def docstring_examples() -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = []
    for name, obj in public_objects():
        for t in finder.find(obj, f"dualtape.{name}", globs={}):
            if t.examples:
                tests.append(t)
    return tests


DOCTESTS = docstring_examples()


@pytest.mark.parametrize("test", DOCTESTS, ids=[t.name for t in DOCTESTS])
def test_docstring_examples(test):
    import numpy as np

    # numpydoc's convention: examples assume numpy and dualtape are imported
    test.globs = {"np": np, "dt": dt}
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    with np.printoptions(precision=4, suppress=True):
        runner.run(test)
    assert runner.failures == 0, f"{test.name}: {runner.failures} failing example(s)"


FUNCTIONS = [(n, o) for n, o in public_objects() if inspect.isfunction(o)]


@pytest.mark.parametrize("name, fn", FUNCTIONS, ids=[n for n, _ in FUNCTIONS])
def test_public_function_docstring_sections(name, fn):
    doc = inspect.getdoc(fn) or ""
    for section in ("Parameters", "Returns", "Examples"):
        assert re.search(rf"^{section}\n-{{{len(section)}}}$", doc, re.M), \
            f"dt.{name}'s docstring lacks a numpydoc '{section}' section"
    assert ">>>" in doc, f"dt.{name}'s docstring has no example"


def _project_urls() -> dict[str, str]:
    try:
        import tomllib
    except ImportError:                     # Python 3.10
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]


def test_readme_links_work_on_a_package_index_page():
    """An index page shows README.md away from the repository: every image must be an
    absolute link into the project's Source (a raster, since repository hosts send SVG
    as text), and name a file the checkout has; no link may be relative."""
    source = _project_urls()["Source"]
    owner_repo = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+)", source)
    assert owner_repo, f"Source {source!r} is not a repository address the test knows"
    raw = f"https://raw.githubusercontent.com/{owner_repo.group(1)}/main/"
    text = (ROOT / "README.md").read_text()
    prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)   # not code blocks
    images = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", prose) + re.findall(
        r"<img[^>]*\ssrc=\"([^\"]+)\"", prose)
    assert len(images) >= 2, images
    for url in images:
        assert url.startswith(raw), f"README image {url!r} is not under {raw}"
        path = url[len(raw):]
        assert (ROOT / path).is_file(), f"README image {url!r} names no file {path}"
        assert path.rsplit(".", 1)[-1] in ("png", "jpg", "gif"), url
    links = re.findall(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)", prose)
    relative = [u for u in links if not re.match(r"(https?:|mailto:|#)", u)]
    assert not relative, f"README links that break off the repository: {relative}"
