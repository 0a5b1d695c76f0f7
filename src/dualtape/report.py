"""Registry coverage: every primitive with the rules it carries.

``python -m dualtape.report`` prints one line per primitive (its kind, whether it has
a JVP, a VJP and a structure rule for sparsity detection, and its cost formula in
flops);
``python -m dualtape.report --functions`` lists the public functions of
``dualtape.numpy`` (and ``dualtape.numpy.linalg``, ``.fft``, ``dualtape.scipy.special``,
``.stats``, ``.linalg``) as markdown, the list the README's section on writing
differentiable numpy code shows; ``--coverage`` classifies every public name of numpy
(see :mod:`dualtape.numpy._coverage`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any

import numpy as np

import dualtape  # noqa: F401  (registers every primitive)
from .registry import primitives

NAMESPACES = ("dualtape.numpy", "dualtape.numpy.linalg", "dualtape.numpy.fft",
              "dualtape.scipy.special", "dualtape.scipy.stats", "dualtape.scipy.linalg")


def coverage() -> list[dict[str, Any]]:
    """One row per registered primitive: name, kind and which slots it fills."""
    rows = []
    for name, p in sorted(primitives().items()):
        rows.append({
            "name": name,
            "kind": p.kind,
            "jvp": p.nondiff or p.jvp is not None,
            "vjp": p.nondiff or p.vjp is not None or p.jvp is not None,
            "sparsity": p.sparsity is not None or p.nondiff,
            "cost": p.cost is not None,
            "formula": (getattr(p.cost, "describe", "(no description)") if p.cost is not None
                        else "1 per output element (an estimate)"),
            "user": p.user,
        })
    return rows


def public_functions(namespace: str) -> list[str]:
    """The callables a namespace defines itself (numpy's objects re-exported as they are,
    such as ``pi`` or ``allclose``, are left out).  An object of a dualtape class, such
    as a distribution of ``dualtape.scipy.stats``, lists its methods (``norm.logpdf``)."""
    mod = importlib.import_module(namespace)
    names = getattr(mod, "__all__", None) or dir(mod)
    out: list[Any] = []
    for name in names:
        obj = getattr(mod, name, None)
        if not name.startswith("_") and not callable(obj) \
                and type(obj).__module__.startswith("dualtape."):
            out.extend(f"{name}.{m}" for m in dir(obj)
                       if not m.startswith("_") and callable(getattr(obj, m)))
            continue
        if name.startswith("_") or not callable(obj) or isinstance(obj, type):
            continue
        if getattr(obj, "__module__", "") and obj.__module__.split(".")[0] in ("numpy", "scipy"):
            continue
        if obj is getattr(np, name, None):
            continue
        out.append(name)
    return sorted(set(out))


def functions_markdown() -> str:
    """The supported functions, by namespace, as markdown."""
    parts = []
    for ns in NAMESPACES:
        try:
            names = public_functions(ns)
        except ImportError:
            continue
        if names:
            parts.append(f"- `{ns}`: " + ", ".join(f"`{n}`" for n in names))
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dualtape.report", description=__doc__)
    ap.add_argument("--functions", action="store_true",
                    help="list the public functions as markdown instead")
    ap.add_argument("--coverage", action="store_true",
                    help="classify every public name of numpy instead")
    args = ap.parse_args(argv)
    if args.coverage:
        from .numpy._coverage import report
        text, ok = report()
        print(text)
        return 0 if ok else 1
    if args.functions:
        print(functions_markdown())
        return 0
    rows = [r for r in coverage() if not r["user"]]
    print(f"{'primitive':18} {'kind':12} jvp vjp sparsity  cost (flops)")
    for r in rows:
        flags = ["yes" if r[k] else "NO " for k in ("jvp", "vjp", "sparsity")]
        print(f"{r['name']:18} {r['kind']:12} {flags[0]} {flags[1]} {flags[2]:8}  "
              f"{r['formula']}")
    missing = [r["name"] for r in rows if not (r["jvp"] and r["vjp"])]
    print(f"\n{len(rows)} primitives; without a jvp or vjp: {missing or 'none'}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
