"""The README's Python examples run, in order, in one namespace."""

from __future__ import annotations

import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 5
    namespace: dict = {}
    for block in blocks:
        # the names registered by the README must not clash with other tests' names
        exec(compile(block.replace('"softplus"', '"readme_softplus"'), str(README), "exec"),
             namespace)
    assert namespace["info"].colors == 5          # the last Jacobian: the batched layer
