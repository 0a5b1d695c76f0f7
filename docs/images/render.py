"""Redraw the documentation's program graphs from the examples they illustrate.

Run from the checkout with graphviz's ``dot`` installed::

    PYTHONPATH=src python docs/images/render.py

``tests/programs/test_doc_images.py`` checks that the committed drawings still show
the labels these examples produce, so a change to the graph view cannot leave them
stale.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

import dualtape as dt
import dualtape.numpy as dnp

HERE = Path(__file__).resolve().parent


def baydin(x1: Any, x2: Any) -> Any:
    """Baydin et al. (2018)'s example, in the order of their evaluation trace."""
    v1 = dnp.log(x1)
    v2 = x1 * x2
    v3 = dnp.sin(x2)
    v4 = v1 + v2
    return v4 - v3


# file stem -> the call that returns its DOT source (and draws it to ``render``)
EXAMPLES: dict[str, Callable[[str | None], str]] = {
    "program_baydin": lambda render: dt.record(baydin, 2.0, 5.0).graph(
        2.0, 5.0, tangents=(1.0, 0.0), cotangents=1.0, render=render),
    "program_baydin_grad": lambda render: dt.record(
        dt.grad(baydin, argnums=(0, 1)), 2.0, 5.0).graph(2.0, 5.0, render=render),
}

# The README shows a PNG: package index pages do not display an SVG served from a
# repository host, which sends it as text.
FORMATS = {"program_baydin": ("svg", "png"), "program_baydin_grad": ("svg",)}


def main(out: Path = HERE) -> int:
    written = []
    for stem, draw in EXAMPLES.items():
        for fmt in FORMATS[stem]:
            draw(str(out / f"{stem}.{fmt}"))
            written.append(f"{stem}.{fmt}")
    print(f"wrote {', '.join(written)} in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
