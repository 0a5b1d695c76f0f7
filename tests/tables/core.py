"""Rows for the core primitives (see ``tables/__init__.py`` for the format)."""

from __future__ import annotations

import numpy as np

import dualtape.numpy as dnp
from dualtape.primitives import elementwise as ew
from dualtape.primitives import shape as sh

from tables import Row, _apart, _away_from_zero, _distinct, _positive, _real


MASK = np.array([[True, False, True], [False, True, True]])
COND = np.array([True, False, True, False])

PRIMITIVES: dict[str, Row] = {
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


ARR = _real((2, 3))
PAIR = _real((2, 3), (3,))

FUNCTIONS: dict[str, Row] = {
    # elementwise (ufunc spellings)
    "add": Row(dnp.add, PAIR), "subtract": Row(dnp.subtract, PAIR),
    "multiply": Row(dnp.multiply, PAIR),
    "divide": Row(dnp.divide, lambda r: (r.standard_normal(3), r.uniform(0.5, 2, 3))),
    "true_divide": Row(dnp.true_divide, lambda r: (r.standard_normal(3), r.uniform(0.5, 2, 3))),
    "negative": Row(dnp.negative, ARR), "power": Row(dnp.power, _positive((3,), (3,))),
    "exp": Row(dnp.exp, ARR), "log": Row(dnp.log, _positive((3,))), "sin": Row(dnp.sin, ARR),
    "cos": Row(dnp.cos, ARR), "tanh": Row(dnp.tanh, ARR), "sqrt": Row(dnp.sqrt, _positive((3,))),
    "abs": Row(dnp.abs, _away_from_zero), "absolute": Row(dnp.absolute, _away_from_zero),
    "maximum": Row(dnp.maximum, _apart), "minimum": Row(dnp.minimum, _apart),
    "where": Row(lambda x, y: dnp.where(x > 0, x, y), _apart),
    "matmul": Row(dnp.matmul, _real((2, 3), (3, 2))), "dot": Row(dnp.dot, _real((2, 3), (3,))),
    # comparisons, logic and inspection: plain results
    **{name: Row(getattr(dnp, name), _real((3,), (3,)), nondiff=True) for name in (
        "greater", "greater_equal", "less", "less_equal", "equal", "not_equal")},
    **{name: Row((lambda f: lambda x, y: f(x > 0, y > 0))(getattr(dnp, name)),
                 _real((3,), (3,)), nondiff=True)
       for name in ("logical_and", "logical_or", "logical_xor")},
    "logical_not": Row(lambda x: dnp.logical_not(x > 0), _real((3,)), nondiff=True),
    **{name: Row(getattr(dnp, name), ARR, nondiff=True) for name in (
        "sign", "isfinite", "isnan", "shape", "ndim", "size", "zeros_like", "ones_like")},
    # reductions
    "sum": Row(lambda x: dnp.sum(x, axis=0) * dnp.sum(x), ARR),
    "mean": Row(lambda x: dnp.mean(x, axis=1, keepdims=True) * x, ARR),
    "max": Row(lambda x: dnp.max(x, axis=1), _distinct),
    "min": Row(lambda x: dnp.min(x, axis=0), _distinct),
    "amax": Row(lambda x: dnp.amax(x), _distinct), "amin": Row(lambda x: dnp.amin(x), _distinct),
    # shape
    "reshape": Row(lambda x: dnp.reshape(x, (3, -1)) ** 2, ARR),
    "transpose": Row(lambda x: dnp.transpose(x) ** 2, ARR),
    "broadcast_to": Row(lambda x: dnp.broadcast_to(x, (2, 2, 3)) ** 2, _real((3,))),
    "concatenate": Row(lambda x, y: dnp.concatenate([x, y[None]]) ** 2, PAIR),
    "stack": Row(lambda x, y: dnp.stack([x[0], y], axis=1) ** 2, PAIR),
    "expand_dims": Row(lambda x: dnp.expand_dims(x, 1) ** 2, ARR),
    "squeeze": Row(lambda x: dnp.squeeze(x[:, None, :1]) ** 2, ARR),
    "swapaxes": Row(lambda x: dnp.swapaxes(x, 0, 1) ** 2, ARR),
    "moveaxis": Row(lambda x: dnp.moveaxis(x[None], 0, -1) ** 2, ARR),
    "ravel": Row(lambda x: dnp.ravel(x) ** 2, ARR),
    "asarray": Row(lambda x: dnp.asarray([x[0], x[1] * 2.0]) ** 2, ARR),
    "array": Row(lambda x: dnp.array([[x[0, 0], 1.0], [2.0, x[1, 2]]]) ** 2, ARR),
}
