"""``.. dnp-table:: dualtape.numpy``: the functions of a dualtape namespace as a table.

One row per function that the namespace defines itself (the list ``python -m
dualtape.report --functions`` prints): its name, the numpy or scipy object it stands
for, and what its own docstring says about the derivative.  numpy's prose is never
shown; a function whose docstring is only the generic "differentiable in every mode"
line says exactly that.
"""

from __future__ import annotations

import importlib
import inspect
import re

from docutils import nodes
from docutils.parsers.rst import Directive

COUNTERPARTS = {
    "dualtape.numpy": "numpy", "dualtape.numpy.linalg": "numpy.linalg",
    "dualtape.numpy.fft": "numpy.fft", "dualtape.scipy.special": "scipy.special",
    "dualtape.scipy.stats": "scipy.stats", "dualtape.scipy.linalg": "scipy.linalg",
}


def _resolve(module: object, dotted: str) -> object:
    obj = module
    for part in dotted.split("."):
        obj = getattr(obj, part, None)
    return obj


GENERIC = re.compile(r"^((?:numpy|scipy)[\w.]*), differentiable in every mode\.?$")


def derivative_note(obj: object) -> tuple[str | None, str]:
    """(the numpy object a generic docstring names, or None; the derivative behaviour
    the docstring states: its first paragraph, on one line)."""
    doc = inspect.getdoc(obj) or ""
    first = " ".join(doc.split("\n\n")[0].split())
    generic = GENERIC.match(first)
    if generic:
        return generic.group(1), "differentiable in every mode"
    return None, first or "differentiable in every mode"


def rows(namespace: str) -> list[tuple[str, str, str]]:
    from dualtape.report import public_functions

    mod = importlib.import_module(namespace)
    target = COUNTERPARTS[namespace]
    try:
        peer = importlib.import_module(target)
    except ImportError:
        peer = None
    out = []
    for name in public_functions(namespace):
        named, note = derivative_note(_resolve(mod, name))
        counterpart = f"{target}.{name}" if peer is not None and \
            _resolve(peer, name) is not None else "(dualtape only)"
        if named and named != counterpart:
            counterpart += f" ({named})"          # an alias: abs is numpy.absolute
        out.append((name, counterpart, note))
    return out


def _literal_cell(text: str) -> nodes.entry:
    return nodes.entry("", nodes.paragraph("", "", nodes.literal(text, text)))


def _text_cell(text: str) -> nodes.entry:
    # double backquotes in docstrings become literals; the rest stays plain text
    para = nodes.paragraph()
    for i, piece in enumerate(text.split("``")):
        if piece:
            para += nodes.literal(piece, piece) if i % 2 else nodes.Text(piece)
    return nodes.entry("", para)


class DnpTable(Directive):
    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        namespace = self.arguments[0]
        table = nodes.table(classes=["dnp-table", "colwidths-given"])
        group = nodes.tgroup(cols=3)
        table += group
        for width in (16, 28, 56):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        group += head
        head += nodes.row("", *(nodes.entry("", nodes.paragraph(text=t)) for t in
                                ("name", "counterpart", "derivative (from its docstring)")))
        body = nodes.tbody()
        group += body
        for name, counterpart, note in rows(namespace):
            body += nodes.row("", _literal_cell(name),
                              _literal_cell(counterpart), _text_cell(note))
        return [table]


def setup(app: object) -> dict[str, object]:
    app.add_directive("dnp-table", DnpTable)  # type: ignore[attr-defined]
    return {"parallel_read_safe": True, "parallel_write_safe": True}
