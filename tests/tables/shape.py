"""Rows for shape functions, indexing, sorting, construction and ``at`` (see
``tables/__init__.py``).  Most are composites of reshape/transpose/getitem/index_add/
concatenate, checked here through their numpy spellings; ``sort`` and ``partition`` are
primitives.  Outputs are squared so the second-order checks see a non-zero Hessian."""

from __future__ import annotations

import numpy as np

import dualtape.numpy as dnp
from dualtape.primitives import sorting as so

from tables import Row, _distinct, _real

ARR = _real((2, 3))
SQ = _real((3, 3))
PAIR = _real((2, 3), (3,))
IDX = np.array([[0, 2, 2], [1, 0, 1]])


def _sq(f):
    """``f``'s outputs squared (each, for a list)."""
    def g(*xs):
        r = f(*xs)
        return [v ** 2 for v in r] if isinstance(r, (list, tuple)) else r ** 2
    return g


PRIMITIVES: dict[str, Row] = {
    "sort": Row(lambda x: so.sort(x, 0) ** 2 + so.sort(x, -1), _distinct),
    "partition": Row(lambda x: so.partition(x, 1, -1) ** 2 + so.partition(x, (0, 2), 0),
                     _distinct),
    "argsort": Row(lambda x: so.argsort_p(x, axis=0, kind=None), _distinct, nondiff=True),
    "argpartition": Row(lambda x: so.argpartition_p(x, kth=1, axis=-1, kind="introselect"),
                        _distinct, nondiff=True),
    "argmax": Row(lambda x: so.argmax_p(x, axis=1, keepdims=False), _distinct, nondiff=True),
    "argmin": Row(lambda x: so.argmin_p(x, axis=None, keepdims=True), _distinct,
                  nondiff=True),
}

FUNCTIONS: dict[str, Row] = {
    # stacking and splitting
    "atleast_1d": Row(_sq(lambda x: dnp.atleast_1d(x[0, 0], x)), ARR),
    "atleast_2d": Row(_sq(lambda x: dnp.atleast_2d(x[0])), ARR),
    "atleast_3d": Row(_sq(lambda x: dnp.atleast_3d(x[0], x)), ARR),
    "hstack": Row(_sq(lambda x, y: dnp.hstack([x[0], y])), PAIR),
    "vstack": Row(_sq(lambda x, y: dnp.vstack([x, y])), PAIR),
    "dstack": Row(_sq(lambda x, y: dnp.dstack([x, y[None] * x])), PAIR),
    "column_stack": Row(_sq(lambda x, y: dnp.column_stack([x.T, y])), PAIR),
    "append": Row(_sq(lambda x, y: dnp.append(x, y) + dnp.append(x, y[None], axis=0).sum()),
                  PAIR),
    "split": Row(_sq(lambda x: dnp.split(x, 3, axis=1)), ARR),
    "array_split": Row(_sq(lambda x: dnp.array_split(x, 2, axis=1)), ARR),
    "hsplit": Row(_sq(lambda x: dnp.hsplit(x, [1])), ARR),
    "vsplit": Row(_sq(lambda x: dnp.vsplit(x, 2)), ARR),
    "dsplit": Row(_sq(lambda x: dnp.dsplit(x[..., None] * x[..., None], [1])), ARR),
    # repetition, reversal, rotation, padding
    "tile": Row(_sq(lambda x: dnp.tile(x, (2, 1, 2))), ARR),
    "repeat": Row(_sq(lambda x: dnp.repeat(x, [1, 0, 2], axis=1) + dnp.repeat(x, 2).sum()),
                  ARR),
    "flip": Row(_sq(lambda x: dnp.flip(x) + dnp.flip(x, axis=1)), ARR),
    "fliplr": Row(_sq(dnp.fliplr), ARR),
    "flipud": Row(_sq(dnp.flipud), ARR),
    "roll": Row(_sq(lambda x: dnp.roll(x, 2) + dnp.roll(x, (1, -1), axis=(0, 1))), ARR),
    "rot90": Row(_sq(lambda x: dnp.rot90(x) @ dnp.rot90(x, 3).T + dnp.rot90(x, 2)[0, 0]), ARR),
    "pad": Row(_sq(lambda x: dnp.pad(x, ((1, 0), (2, 1)), constant_values=1.5)
                   + dnp.pad(x, ((1, 0), (2, 1)), mode="reflect")), ARR),
    # diagonals and triangles
    "diag": Row(_sq(lambda x: [dnp.diag(x[0], 1), dnp.diag(dnp.diag(x[:, :2]))]), ARR),
    "diagonal": Row(_sq(lambda x: dnp.diagonal(x[None], 1, 2, 1)), ARR),
    "trace": Row(_sq(lambda x: dnp.trace(x) * dnp.trace(x, offset=-1)), SQ),
    "tril": Row(_sq(lambda x: dnp.tril(x, -1)), SQ),
    "triu": Row(_sq(lambda x: dnp.triu(x, 1)), ARR),
    # gathers
    "take": Row(_sq(lambda x: dnp.take(x, [2, 0, 2], axis=1) + dnp.take(x, 4)), ARR),
    "take_along_axis": Row(_sq(lambda x: dnp.take_along_axis(x, IDX, axis=1)), ARR),
    "sort": Row(_sq(lambda x: dnp.sort(x, axis=0) + dnp.sort(x, axis=None)[:4]), _distinct),
    "partition": Row(_sq(lambda x: dnp.partition(x, 2)), _distinct),
    "argsort": Row(lambda x: dnp.argsort(x, axis=0), _distinct, nondiff=True),
    "argpartition": Row(lambda x: dnp.argpartition(x, 1), _distinct, nondiff=True),
    "argmax": Row(lambda x: dnp.argmax(x, axis=1), _distinct, nondiff=True),
    "argmin": Row(lambda x: dnp.argmin(x, keepdims=True), _distinct, nondiff=True),
    # the functional update
    "at": Row(_sq(lambda x, y: dnp.at(x)[:, [0, 0, 2]].add(y)
                  + dnp.at(x)[1, [2, 0, 2]].set(y) * dnp.at(x)[0].multiply(y)), PAIR),
    # construction
    "copy": Row(_sq(dnp.copy), ARR),
    "full_like": Row(_sq(lambda x: dnp.full_like(np.ones((2, 2)), x[0, 1]) * x[1, :2]), ARR),
    "empty_like": Row(lambda x: np.shape(dnp.empty_like(x)), ARR, nondiff=True),
    "linspace": Row(_sq(lambda x: dnp.linspace(x[0], x[1], 4, axis=1)), ARR),
}
