"""Rows for reductions and cumulative operations (see ``tables/__init__.py``).

Domains are generic (no ties for max/min/ptp); zeros for prod/cumprod and constant
inputs for std have their own tests in ``tests/test_reductions.py``.
"""

from __future__ import annotations

import dualtape.numpy as dnp
from dualtape.primitives import reductions as red

from tables import Row, _distinct, _real

ARR = _real((2, 3))


def _complex(*shape):
    return lambda r: (r.standard_normal(shape) + 1j * r.standard_normal(shape),)

PRIMITIVES: dict[str, Row] = {
    "prod": Row(lambda x: red.prod(x, (0, 2), False) * red.prod(x, (1,), True).sum(),
                _real((2, 3, 2))),
    "cumsum": Row(lambda x: red.cumsum(x, 0) ** 2 + red.cumsum(x, -1), _real((3, 4))),
    "cumprod": Row(lambda x: red.cumprod(x, -1) + red.cumprod(x, 0) ** 2, _real((3, 4))),
}

FUNCTIONS: dict[str, Row] = {
    "prod": Row(lambda x: dnp.prod(x, axis=1) + dnp.prod(x, keepdims=True), ARR),
    "var": Row(lambda x: dnp.var(x, axis=0) + dnp.var(x, ddof=1), _real((3, 2))),
    "std": Row(lambda x: dnp.std(x, axis=1, keepdims=True) * dnp.std(x, ddof=1), ARR),
    # complex input: numpy's real variance mean(|z - mean(z)|^2)
    "var[complex]": Row(lambda z: dnp.var(z, axis=0) + dnp.var(z, ddof=1), _complex(3, 2)),
    "std[complex]": Row(lambda z: dnp.std(z, axis=1, keepdims=True) * dnp.std(z),
                        _complex(2, 3)),
    "ptp": Row(lambda x: dnp.ptp(x, axis=1) * dnp.ptp(x), _distinct),
    "cumsum": Row(lambda x: dnp.cumsum(x) ** 2 + dnp.cumsum(x, axis=1).sum(), ARR),
    "cumprod": Row(lambda x: dnp.cumprod(x, axis=0) + dnp.cumprod(x).sum(), ARR),
    "cumulative_sum": Row(lambda x: dnp.cumulative_sum(x, axis=1, include_initial=True)
                          ** 2, ARR),
    "cumulative_prod": Row(lambda x: dnp.cumulative_prod(x[0], include_initial=True) * 2.0,
                           ARR),
    "average": Row(lambda x, w: dnp.average(x, axis=1, weights=w) * dnp.average(x),
                   lambda r: (r.standard_normal((2, 3)), r.uniform(0.5, 2.0, 3))),
}
