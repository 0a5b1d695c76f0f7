"""Matrix products.  ``matmul`` follows numpy: 1-D operands are promoted to a row (left)
or a column (right) and stacked axes broadcast.  Its rules work on the promoted shapes
and restore the output's shape, so batch axes of tangents never meet numpy's 1-D rules.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import bind
from ._rules import OPS, define, ndim, shape, unbroadcast


def _promoted(a_shape: tuple, b_shape: tuple) -> tuple[tuple, tuple, tuple]:
    """The shapes numpy's matmul works with: a as >= 2-D, b as >= 2-D, and the output."""
    a2 = (1,) + a_shape if len(a_shape) == 1 else a_shape
    b2 = b_shape + (1,) if len(b_shape) == 1 else b_shape
    stack = np.broadcast_shapes(a2[:-2], b2[:-2])
    return a2, b2, tuple(stack) + (a2[-2], b2[-1])


def _lift(t: Any, nb: int, target: tuple, ndim_out: int) -> Any:
    """Batch + ``target`` with singleton axes so stacked axes align right of the batch."""
    batch = tuple(shape(t)[:nb])
    return OPS["reshape"](t, batch + (1,) * (ndim_out - len(target)) + target)


def _mT(x: Any) -> Any:
    return OPS["swapaxes"](x, -1, -2)


def _jvp_a(t, ans, a, b):
    a2, b2, o2 = _promoted(shape(a), shape(b))
    nb = ndim(t) - ndim(a)
    r = matmul(_lift(t, nb, a2, len(o2)), OPS["reshape"](b, b2))
    return OPS["reshape"](r, tuple(shape(t)[:nb]) + shape(ans))


def _jvp_b(t, ans, a, b):
    a2, b2, o2 = _promoted(shape(a), shape(b))
    nb = ndim(t) - ndim(b)
    r = matmul(OPS["reshape"](a, a2), _lift(t, nb, b2, len(o2)))
    return OPS["reshape"](r, tuple(shape(t)[:nb]) + shape(ans))


def _vjp_a(g, ans, a, b):
    a2, b2, o2 = _promoted(shape(a), shape(b))
    nb = ndim(g) - ndim(ans)
    batch = tuple(shape(g)[:nb])
    ga = matmul(OPS["reshape"](g, batch + o2), _mT(OPS["reshape"](b, b2)))
    return OPS["reshape"](unbroadcast(ga, a2, nb), batch + shape(a))


def _vjp_b(g, ans, a, b):
    a2, b2, o2 = _promoted(shape(a), shape(b))
    nb = ndim(g) - ndim(ans)
    batch = tuple(shape(g)[:nb])
    gb = matmul(_mT(OPS["reshape"](a, a2)), OPS["reshape"](g, batch + o2))
    return OPS["reshape"](unbroadcast(gb, b2, nb), batch + shape(b))


matmul_p = define("matmul", np.matmul, jvp=(_jvp_a, _jvp_b), vjp=(_vjp_a, _vjp_b),
                  sparsity="matmul", cost="matmul")


def matmul(a: Any, b: Any) -> Any:
    """numpy's matmul (the ``@`` operator); 0-d operands are an error, as in numpy."""
    if ndim(a) == 0 or ndim(b) == 0:
        raise ValueError("matmul: input operand does not have enough dimensions "
                         "(use multiply for scalars)")
    return bind(matmul_p, a, b)


def dot(a: Any, b: Any) -> Any:
    """numpy's dot: a product over the last axis of ``a`` and the second-to-last of ``b``."""
    na, nb_ = ndim(a), ndim(b)
    if na == 0 or nb_ == 0:
        return OPS["multiply"](a, b)
    if na <= 2 and nb_ <= 2:
        return matmul(a, b)
    if nb_ == 1:
        return matmul(a, b)
    sa, sb = shape(a), shape(b)
    lhs = OPS["reshape"](a, (-1, sa[-1]))
    rhs = OPS["reshape"](OPS["moveaxis"](b, -2, 0), (sb[-2], -1))
    return OPS["reshape"](matmul(lhs, rhs), sa[:-1] + sb[:-2] + sb[-1:])


OPS["matmul"] = matmul
OPS["dot"] = dot
