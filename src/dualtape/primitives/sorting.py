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

from ..registry import bind, exports, value_of
from . import _cost, _structure
from ._rules import OPS, define, ndim, nondiff, shape


def _source(x: Any, params: dict) -> np.ndarray:
    """For each output element, the flat index of the input element it is."""
    xv = np.asarray(value_of(x))       # the permutation depends on the values
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
    return _structure.along_axis(pats[0], shape(primals[0]), params["axis"], prefix=False)


# Costs count comparisons: a comparison sort needs about n log2 n of them for n
# elements (the information-theoretic bound log2 n! ~ n log2 n, which merge sort meets);
# selection (introselect) takes an expected linear number, about n per requested kth.
def _slice_axis(params: dict) -> Any:
    return -1 if params.get("axis") is None else params["axis"]


def _n_kth(params: dict) -> int:
    kth = params.get("kth", 0)
    return 1 if np.ndim(kth) == 0 else len(kth)


def _comparisons(per, describe: str):
    """``per(n)`` comparisons per slice of length n (times the number of kth), where
    ``axis`` None is the flattened array."""
    slices = _cost.per_slice(per, _slice_axis, describe)

    def cost(ans, args, params):
        if params.get("axis") is None:
            args = (np.ravel(args[0]),)
        return slices(ans, args, params) * _n_kth(params)
    return _cost.formula(describe)(cost)


_SORTING = "n log2 n comparisons per slice of length n"
_SELECTION = "n comparisons per slice of length n (and per kth)"
_sort_cost = _comparisons(lambda n: n * _cost.log2(n), _SORTING)
_select_cost = _comparisons(lambda n: n, _SELECTION)

sort_p = define("sort", lambda x, axis: _perm_impl(x, axis=axis),
                jvp=(_perm_jvp,), vjp=(_perm_vjp,),
                sparsity=_perm_sparsity, cost=_sort_cost)

partition_p = define("partition", lambda x, kth, axis: _perm_impl(x, kth=kth, axis=axis),
                     jvp=(_perm_jvp,), vjp=(_perm_vjp,),
                     sparsity=_perm_sparsity, cost=_select_cost)

# ---- positions: no derivative --------------------------------------------------------
# Primitives, so that every mode sees them: the positions depend on the values, which
# global sparsity detection tracks (an index computed from them gives no pattern that
# holds for every input).
argsort_p = nondiff("argsort", lambda x, **kw: np.argsort(x, **kw), cost=_sort_cost)
argpartition_p = nondiff("argpartition", lambda x, **kw: np.argpartition(x, **kw),
                         cost=_select_cost)
argmax_p = nondiff("argmax", lambda x, **kw: np.argmax(x, **kw), cost=_select_cost)
argmin_p = nondiff("argmin", lambda x, **kw: np.argmin(x, **kw), cost=_select_cost)


def _neg_axis(axis: int, nd: int) -> int:
    if not -nd <= axis < nd:
        raise np.exceptions.AxisError(axis, nd)
    return int(axis) % nd - nd


@exports(sort_p)
def sort(x: Any, axis: int = -1) -> Any:
    """``x`` sorted along ``axis`` (stable); the derivative follows each element."""
    return bind(sort_p, x, axis=_neg_axis(axis, ndim(x)))


@exports(partition_p)
def partition(x: Any, kth: Any, axis: int = -1) -> Any:
    """numpy's partition along ``axis``; the derivative follows each element."""
    kth = int(kth) if np.ndim(kth) == 0 else tuple(int(k) for k in np.ravel(kth))
    return bind(partition_p, x, kth=kth, axis=_neg_axis(axis, ndim(x)))


OPS["sort"] = sort
OPS["partition"] = partition
