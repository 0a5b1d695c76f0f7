"""The dependency direction in DESIGN.md, checked in a fresh interpreter and by reading
the import statements of every module."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "dualtape"


def test_import_loads_no_plotting_sparse_or_peer_library():
    code = (
        "import sys, dualtape, dualtape.numpy\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('matplotlib', 'jax', 'autograd', 'torch', 'tqdm') or m.startswith('scipy.sparse')]\n"
        "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(SRC.parent)})
    assert out.stdout.strip() == "", out.stdout


def _imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level >= 1:
            mod = (node.module or "").split(".")[0]
            if node.level == 1 and path.parent.name == "primitives":
                mod = "primitives"
            names.add(mod if mod else "primitives")
            if not node.module:
                names.update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
    return names


def test_forward_and_reverse_never_import_each_other():
    assert "reverse" not in _imports(SRC / "forward.py")
    assert "forward" not in _imports(SRC / "reverse.py")


def test_registry_imports_no_mode_and_primitives_import_no_mode():
    modes = {"forward", "reverse", "higher", "numpy"}
    assert not (_imports(SRC / "registry.py") & (modes | {"primitives"}))
    for p in (SRC / "primitives").glob("*.py"):
        assert not (_imports(p) & {"forward", "reverse", "higher"}), p.name


def test_core_never_imports_matplotlib_or_peers():
    # The harness draws plots (matplotlib) but stays out of `import dualtape`.
    for p in SRC.rglob("*.py"):
        if "harness" in p.parts:
            continue
        assert not (_imports(p) & {"matplotlib", "jax", "autograd", "torch"}), p.name
