"""Products with numpy's signatures (vdot, inner, outer, tensordot, einsum, kron), and
the complex parts (real, imag, conj, angle), exported into ``dualtape.numpy``.

``einsum`` is one primitive for any number of operands; its sparsity rule enumerates
index assignments (exact, not dense).  The others are composites: ``tensordot`` and
``inner`` reshape to one matmul, ``outer`` and ``kron`` are broadcast products, ``vdot``
conjugates its first argument as numpy does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..primitives import elementwise as _ew
from ..primitives import linalg as _la
from ._complex import angle, conj, conjugate, imag, real
from ._construct import asarray
from ._dispatch import _dispatches, _no_out

__all__ = [
    "angle", "conj", "conjugate", "einsum", "imag", "inner", "kron", "outer", "real",
    "tensordot", "vdot",
]
_COMPLEX = (angle, conj, conjugate, imag, real)   # re-exported from ._complex


@_dispatches(np.vdot)
def vdot(a: Any, b: Any) -> Any:
    """``sum(conj(ravel(a)) * ravel(b))``."""
    return _la.vdot(asarray(a), asarray(b))


@_dispatches(np.inner)
def inner(a: Any, b: Any) -> Any:
    """Sum product over the last axes; shape ``a.shape[:-1] + b.shape[:-1]``."""
    return _la.inner(asarray(a), asarray(b))


@_dispatches(np.outer)
def outer(a: Any, b: Any, out: Any = None) -> Any:
    """``ravel(a)[:, None] * ravel(b)[None, :]``."""
    _no_out("outer", out)
    return _la.outer(asarray(a), asarray(b))


@_dispatches(np.tensordot)
def tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    """Contract ``axes`` (an int, or a pair of axis sequences) of ``a`` and ``b``."""
    return _la.tensordot(asarray(a), asarray(b), axes)


@_dispatches(np.kron)
def kron(a: Any, b: Any) -> Any:
    """The Kronecker product."""
    return _la.kron(asarray(a), asarray(b))


def _sublist_subscripts(args: tuple) -> tuple[str, list]:
    """numpy's interleaved form ``einsum(op0, sub0, op1, sub1, ..., [out])``."""
    def letters(sub: Any) -> str:
        return "".join("..." if s is Ellipsis else _la._LETTERS[int(s)] for s in sub)
    ops = list(args[0::2])
    subs = list(args[1::2])
    out = None
    if len(args) % 2:
        out = ops.pop()
        return ",".join(letters(s) for s in subs) + "->" + letters(out), ops
    return ",".join(letters(s) for s in subs), ops


@_dispatches(np.einsum)
def einsum(*operands: Any, out: Any = None, optimize: Any = False, dtype: Any = None,
           order: str = "K", casting: str = "safe") -> Any:
    """numpy's einsum: subscripts then operands, or the interleaved sublist form.
    Implicit and explicit outputs, repeated indices and ellipses are supported;
    ``optimize`` is accepted (the contraction order is numpy's choice)."""
    _no_out("einsum", out)
    if isinstance(operands[0], str):
        subscripts, ops = operands[0], list(operands[1:])
    else:
        subscripts, ops = _sublist_subscripts(operands)
    ops = [asarray(o) for o in ops]
    if dtype is not None:
        ops = [_ew.astype(o, dtype) for o in ops]
    return _la.einsum(subscripts, *ops)
