"""One row per registered primitive: how to call it, on which inputs (its domain), and
the tolerance its check needs.  ``tests/test_primitive_table.py`` runs the gradient
checker on every row in both modes and fails if a built-in primitive has no row.

Inputs are drawn by ``domain`` functions from a seeded generator, away from kinks,
ties and singularities (those have their own tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import dualtape.numpy as dnp
from dualtape.primitives import elementwise as ew
from dualtape.primitives import shape as sh


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


@dataclass
class Row:
    fn: Callable
    domain: Callable
    rtol: float = 1e-5
    atol: float = 1e-6
    nondiff: bool = False
    notes: str = field(default="")


MASK = np.array([[True, False, True], [False, True, True]])
COND = np.array([True, False, True, False])

TABLE: dict[str, Row] = {
    # elementwise
    "add": Row(ew.add, _real((3, 4), (4,))),
    "subtract": Row(ew.subtract, _real((2, 1), (2, 3))),
    "multiply": Row(ew.multiply, _real((3, 4), (3, 1))),
    "divide": Row(ew.divide, lambda r: (r.standard_normal((2, 3)), r.uniform(0.5, 2, (3,)))),
    "negative": Row(ew.negative, _real((5,))),
    "power": Row(ew.power, _positive((2, 3), (2, 3))),
    "exp": Row(ew.exp, _real((2, 3))),
    "log": Row(ew.log, _positive((2, 3))),
    "sin": Row(ew.sin, _real((4,))),
    "cos": Row(ew.cos, _real((4,))),
    "tanh": Row(ew.tanh, _real((2, 3))),
    "sqrt": Row(ew.sqrt, _positive((2, 3))),
    "abs": Row(ew.abs, _away_from_zero),
    "maximum": Row(ew.maximum, _apart),
    "minimum": Row(ew.minimum, _apart),
    "where": Row(lambda x, y: ew.where(COND, x, y), _real((3, 4), (4,))),
    "astype": Row(lambda x: ew.astype(x, np.float64) ** 2,
                  lambda r: (r.standard_normal(3).astype(np.float32),), rtol=2e-2, atol=2e-3),
    # no derivative: the result is a plain array
    "greater": Row(ew.greater, _real((3,), (3,)), nondiff=True),
    "greater_equal": Row(ew.greater_equal, _real((3,), (3,)), nondiff=True),
    "less": Row(ew.less, _real((3,), (3,)), nondiff=True),
    "less_equal": Row(ew.less_equal, _real((3,), (3,)), nondiff=True),
    "equal": Row(ew.equal, _real((3,), (3,)), nondiff=True),
    "not_equal": Row(ew.not_equal, _real((3,), (3,)), nondiff=True),
    "sign": Row(ew.sign, _real((3,)), nondiff=True),
    "isfinite": Row(ew.isfinite, _real((3,)), nondiff=True),
    "isnan": Row(ew.isnan, _real((3,)), nondiff=True),
    "logical_and": Row(lambda x, y: ew.logical_and(x > 0, y > 0), _real((3,), (3,)),
                       nondiff=True),
    "logical_or": Row(lambda x, y: ew.logical_or(x > 0, y > 0), _real((3,), (3,)),
                      nondiff=True),
    "logical_xor": Row(lambda x, y: ew.logical_xor(x > 0, y > 0), _real((3,), (3,)),
                       nondiff=True),
    "logical_not": Row(lambda x: ew.logical_not(x > 0), _real((3,)), nondiff=True),
    # reductions
    "sum": Row(lambda x: dnp.sum(x, axis=1, keepdims=True) * dnp.sum(x), _real((3, 4))),
    "mean": Row(lambda x: dnp.mean(x, axis=(0, 2)) * dnp.mean(x), _real((2, 3, 2))),
    "max": Row(lambda x: dnp.max(x, axis=0) + dnp.max(x) ** 2, _distinct),
    "min": Row(lambda x: dnp.min(x, axis=1, keepdims=True) * dnp.min(x), _distinct),
    # linear algebra
    "matmul": Row(lambda a, b: a @ b, _real((2, 3, 4), (4, 2))),
    # shape and indexing
    "reshape": Row(lambda x: dnp.reshape(x, (-1, 2)) ** 2, _real((2, 3))),
    "broadcast_to": Row(lambda x: dnp.broadcast_to(x, (2, 3, 4)) ** 2, _real((3, 1))),
    "transpose": Row(lambda x: dnp.transpose(x, (2, 0, 1)) ** 2, _real((2, 3, 4))),
    "getitem": Row(lambda x: x[1:, [0, 2, 2]] ** 2 + x[MASK][:, None] * x[0, ::-1],
                   _real((2, 3))),
    "index_add": Row(lambda v: sh.index_add(v, (np.array([0, 2, 0]), slice(None)), True,
                                            (3, 2)) ** 2, _real((3, 2))),
    "concatenate": Row(lambda x, y: dnp.concatenate([x, y, x], axis=1) ** 2,
                       _real((2, 3), (2, 1))),
}

