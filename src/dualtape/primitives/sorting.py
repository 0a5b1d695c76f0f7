"""Sorting primitives: ``sort`` and ``partition``.

Both output a permutation of their input along one axis, so the derivative follows
the selected element: the tangent is gathered with the same permutation and the
cotangent with its inverse (both are ``getitem``, which differentiates again; the
permutation itself is piecewise constant).  Ties: the permutation is numpy's stable
argsort (sort) or argpartition (partition) of the current value, so at a tie the
derivative goes to the element numpy put there (for sort: equal elements keep their
input order) -- one of the one-sided derivatives.

They are primitives rather than a getitem with a value-dependent index so that global
sparsity detection knows an output may come from any element of its slice.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import Tracer, bind
from ._rules import OPS, define, ndim, shape
from .reductions import along_axis_pattern


def _value(x: Any) -> np.ndarray:
    while isinstance(x, Tracer):
        x = x.primal
    return np.asarray(x)


def _source(x: Any, params: dict) -> np.ndarray:
    """For each output element, the flat index of the input element it is."""
    xv = _value(x)
    axis = params["axis"]
    if params.get("kth") is None:
        order = np.argsort(xv, axis=axis, kind="stable")
    else:
        order = np.argpartition(xv, params["kth"], axis=axis)
    flat = np.arange(xv.size).reshape(xv.shape)
    return np.take_along_axis(flat, order, axis=axis)


def _gather(t: Any, src: np.ndarray, x_shape: tuple) -> Any:
    """``t`` (batch axes first) gathered at flat indices ``src`` of its trailing shape."""
    batch = tuple(shape(t)[: ndim(t) - len(x_shape)])
    return OPS["getitem"](OPS["reshape"](t, batch + (-1,)), (Ellipsis, src))


def _inverse(src: np.ndarray) -> np.ndarray:
    inv = np.empty(src.size, dtype=np.intp)
    inv[src.ravel()] = np.arange(src.size)
    return inv.reshape(src.shape)


def _perm_jvp(t, ans, x, **params):
    return _gather(t, _source(x, params), shape(x))


def _perm_vjp(g, ans, x, **params):
    return _gather(g, _inverse(_source(x, params)), shape(x))


def _perm_impl(x, **params):
    return np.asarray(x).ravel()[_source(x, params)]


def _perm_sparsity(pats, ans, primals, params, local):
    if local:
        return pats[0][_source(primals[0], params).ravel()]
    # For every input, an output element may be any element of its slice.
    return along_axis_pattern(pats[0], shape(primals[0]), params["axis"], prefix=False)


sort_p = define("sort", lambda x, axis: _perm_impl(x, axis=axis),
                jvp=(_perm_jvp,), vjp=(_perm_vjp,), linear=False,
                sparsity=_perm_sparsity, cost="move")

partition_p = define("partition", lambda x, kth, axis: _perm_impl(x, kth=kth, axis=axis),
                     jvp=(_perm_jvp,), vjp=(_perm_vjp,), linear=False,
                     sparsity=_perm_sparsity, cost="move")


def _neg_axis(axis: int, nd: int) -> int:
    if not -nd <= axis < nd:
        raise np.exceptions.AxisError(axis, nd)
    return int(axis) % nd - nd


def sort(x: Any, axis: int = -1) -> Any:
    """``x`` sorted along ``axis`` (stable); the derivative follows each element."""
    return bind(sort_p, x, axis=_neg_axis(axis, ndim(x)))


def partition(x: Any, kth: Any, axis: int = -1) -> Any:
    """numpy's partition along ``axis``; the derivative follows each element."""
    kth = int(kth) if np.ndim(kth) == 0 else tuple(int(k) for k in np.ravel(kth))
    return bind(partition_p, x, kth=kth, axis=_neg_axis(axis, ndim(x)))


sort.primitive = sort_p
partition.primitive = partition_p
OPS["sort"] = sort
OPS["partition"] = partition
