"""The primitive table: one row per registered primitive (``PRIMITIVES``) and one per
public function of ``dualtape.numpy`` (``FUNCTIONS``): how to call it, on which inputs
(its domain), and the tolerance its check needs.

Each module in this package covers one area and defines ``PRIMITIVES`` and/or
``FUNCTIONS`` dicts; ``TABLE`` and ``FUNCTION_TABLE`` merge them.  The tests run the
gradient checker on every row in both modes to second order, and fail if a built-in
primitive or a public function has no row.

Inputs are drawn by ``domain`` functions from a seeded generator, away from kinks,
ties and singularities (those have their own tests).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Row:
    fn: Callable
    domain: Callable
    rtol: float = 1e-5
    atol: float = 1e-6
    nondiff: bool = False     # no derivative: the result must be a plain value
    order: int = 2            # highest order checked
    notes: str = field(default="")


def _real(*shapes):
    return lambda rng: tuple(rng.standard_normal(s) for s in shapes)


def _positive(*shapes, low=0.5, high=2.0):
    return lambda rng: tuple(rng.uniform(low, high, s) for s in shapes)


def _apart(rng):
    # Two arrays whose entries differ by at least 0.1 (no ties for maximum/minimum).
    x = rng.standard_normal((3, 4))
    y = x + rng.choice([-1.0, 1.0], (3, 4)) * rng.uniform(0.1, 1.0, (3, 4))
    return x, y


def _away_from_zero(rng):
    x = rng.uniform(0.2, 2.0, (2, 3)) * rng.choice([-1.0, 1.0], (2, 3))
    return (x,)


def _distinct(rng):
    return (rng.permutation(12).reshape(3, 4) * 0.37 + rng.uniform(0, 0.1, (3, 4)),)


def _merge(attr: str) -> dict[str, Row]:
    merged: dict[str, Row] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, row in getattr(module, attr, {}).items():
            if name in merged:
                raise ValueError(f"two rows named {name!r} (second in {info.name})")
            merged[name] = row
    return merged


TABLE = _merge("PRIMITIVES")
FUNCTION_TABLE = _merge("FUNCTIONS")
