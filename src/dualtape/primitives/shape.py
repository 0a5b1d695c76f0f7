"""Shape and indexing primitives: all linear, so each JVP applies the primitive to the
tangent and each VJP is its transpose.  Leading batch axes of tangents pass through.

``getitem`` and its transpose ``index_add`` take a *normalised* index that names every
axis explicitly (no Ellipsis); rules move batch axes to the end, index, and move them
back, which keeps numpy's placement of advanced-index axes unchanged.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..registry import Primitive, Tracer, bind, value_of
from . import _cost, _structure
from ._rules import OPS, define, ndim, shape, unbroadcast


# ---- reshape -------------------------------------------------------------------------
reshape_p = define(
    "reshape", np.reshape,
    jvp=(lambda t, ans, x, shape: reshape(t, _batch(t, x) + shape),),
    vjp=(lambda g, ans, x, shape: reshape(g, _batch(g, ans) + x.shape),),
    sparsity=_structure.gather(np.reshape), cost=_cost.move,
    residuals=())


def _batch(t: Any, x: Any) -> tuple:
    return tuple(shape(t)[: ndim(t) - ndim(x)])


def reshape(x: Any, newshape: Any) -> Any:
    """``x`` with shape ``newshape`` (one entry may be -1)."""
    if isinstance(newshape, (int, np.integer)):
        newshape = (int(newshape),)
    newshape = tuple(int(s) for s in newshape)
    if -1 in newshape:
        size = int(np.prod(shape(x)))
        known = int(np.prod([s for s in newshape if s != -1]))
        newshape = tuple((size // known if known else 0) if s == -1 else s for s in newshape)
    if shape(x) == newshape:
        return x
    return bind(reshape_p, x, shape=newshape)


# ---- broadcast_to --------------------------------------------------------------------
def _bcast_jvp(t, ans, x, shape):
    nb = ndim(t) - ndim(x)
    b = tuple(t.shape[:nb])
    t = reshape(t, b + (1,) * (len(shape) - ndim(x)) + tuple(x.shape))
    return broadcast_to(t, b + shape)


broadcast_to_p = define(
    "broadcast_to", np.broadcast_to,
    jvp=(_bcast_jvp,),
    vjp=(lambda g, ans, x, shape: unbroadcast(g, x.shape, ndim(g) - len(shape)),),
    sparsity=_structure.gather(np.broadcast_to), cost=_cost.move,
    residuals=())


def broadcast_to(x: Any, newshape: Sequence[int]) -> Any:
    newshape = tuple(int(s) for s in newshape)
    if shape(x) == newshape:
        return x
    return bind(broadcast_to_p, x, shape=newshape)


# ---- transpose -----------------------------------------------------------------------
def _shift(axes: tuple, nb: int) -> tuple:
    return tuple(range(nb)) + tuple(a + nb for a in axes)


transpose_p = define(
    "transpose", np.transpose,
    jvp=(lambda t, ans, x, axes: transpose(t, _shift(axes, ndim(t) - ndim(x))),),
    vjp=(lambda g, ans, x, axes: transpose(g, _shift(tuple(np.argsort(axes)),
                                                     ndim(g) - ndim(ans))),),
    sparsity=_structure.gather(np.transpose), cost=_cost.move,
    residuals=())


def transpose(x: Any, axes: Sequence[int] | None = None) -> Any:
    """Permute the axes of ``x`` (reverse them when ``axes`` is None)."""
    nd = ndim(x)
    axes = tuple(range(nd))[::-1] if axes is None else tuple(int(a) % nd for a in axes)
    if axes == tuple(range(nd)):
        return x
    return bind(transpose_p, x, axes=axes)


def _to_end(t: Any, nb: int) -> Any:
    nd = ndim(t)
    return transpose(t, tuple(range(nb, nd)) + tuple(range(nb)))


def _to_front(t: Any, nb: int) -> Any:
    nd = ndim(t)
    return transpose(t, tuple(range(nd - nb, nd)) + tuple(range(nd - nb)))


# ---- indexing ------------------------------------------------------------------------
def _batched_getitem(t, nb, idx, advanced):
    """``t[idx]`` on the trailing axes of a value with ``nb`` leading batch axes."""
    if nb == 0:
        return getitem_normalized(t, idx, advanced)
    if not advanced:    # basic indices keep the axis order: batch axes take full slices
        return getitem_normalized(t, (slice(None),) * nb + idx, False)
    return _to_front(getitem_normalized(_to_end(t, nb), idx, True), nb)


def _batched_index_add(v, nb, idx, advanced, shape):
    """``index_add`` on the trailing axes of a value with ``nb`` leading batch axes."""
    if nb == 0:
        return index_add(v, idx, advanced, shape)
    batch = tuple(v.shape[:nb])
    if not advanced:
        return index_add(v, (slice(None),) * nb + idx, False, batch + tuple(shape))
    return _to_front(index_add(_to_end(v, nb), idx, True, tuple(shape) + batch), nb)


def _getitem_impl(x, idx, advanced):
    return x[idx]


getitem_p = define(
    "getitem", _getitem_impl,
    jvp=(lambda t, ans, x, idx, advanced:
         _batched_getitem(t, ndim(t) - ndim(x), idx, advanced),),
    vjp=(lambda g, ans, x, idx, advanced:
         _batched_index_add(g, ndim(g) - ndim(ans), idx, advanced, x.shape),),
    sparsity=_structure.gather(_getitem_impl), cost=_cost.move, residuals=())


def _index_add_impl(v, idx, advanced, shape):
    z = np.zeros(shape, dtype=np.result_type(v))
    if advanced and not _distinct_targets(idx, shape):
        np.add.at(z, idx, v)   # repeated indices accumulate
    else:
        z[idx] = v             # each position once: a plain scatter, several times faster
    return z


def _distinct_targets(idx: tuple, shape: tuple) -> bool:
    """Whether a normalised index names no position twice.  Basic items (ints, slices,
    None) never repeat a position, so only the combinations of the advanced items
    (integer arrays, masks as their non-zeros) can: the cost is that of the index, not
    of the (batched) values."""
    arrays: list[np.ndarray] = []
    dims: list[int] = []
    axis = 0
    for item in idx:
        if item is None:
            continue
        if isinstance(item, (slice, int, np.integer)):
            axis += 1
            continue
        a = np.asarray(item)
        if a.dtype == bool:
            arrays.extend(np.nonzero(a))
            dims.extend(shape[axis:axis + a.ndim])
            axis += a.ndim
        else:
            arrays.append(a)
            dims.append(shape[axis])
            axis += 1
    if not arrays:
        return True
    try:
        same = np.broadcast_arrays(*arrays)
        flat = np.ravel_multi_index([np.ravel(a) % d for a, d in zip(same, dims)], dims)
    except ValueError:         # index out of range, or too many positions to number
        return False
    return flat.size == 0 or int(np.bincount(flat).max()) <= 1


index_add_p = define("index_add", _index_add_impl,
                     jvp=(lambda t, ans, v, idx, advanced, shape:
                          _batched_index_add(t, ndim(t) - ndim(v), idx, advanced, shape),),
                     vjp=(lambda g, ans, v, idx, advanced, shape:
                          _batched_getitem(g, ndim(g) - ndim(ans), idx, advanced),),
                     sparsity=_structure.scatter, cost=_cost.scatter, residuals=())


def index_add_sum(a: Any, b: Any, *, idx_a: tuple, idx_b: tuple, shape: tuple) -> Any:
    """``index_add(a, idx_a) + index_add(b, idx_b)`` (basic indices) in one buffer."""
    z = np.zeros(shape, dtype=np.result_type(a, b))
    z[idx_a] += a
    z[idx_b] += b
    return z


#: What a replayed program runs for the sum of two scatters (not registered: it has no
#: derivative rules, and only replay plans write it).
index_add_sum_p = Primitive("index_add_sum", index_add_sum)


def _index_add_pair_sum(pa: dict, pb: dict) -> Any:
    # basic indices write each position at most once, so one buffer gives the same sum
    # (up to the sign of a zero sum)
    if pa["advanced"] or pb["advanced"] or pa["shape"] != pb["shape"]:
        return None
    return index_add_sum_p, {"idx_a": pa["idx"], "idx_b": pb["idx"], "shape": pa["shape"]}


index_add_p.pair_sum = _index_add_pair_sum
# a reshape or broadcast to the shape it has is its argument
reshape_p.simplify = broadcast_to_p.simplify = lambda known, params: 0
reshape_p.scalar = broadcast_to_p.scalar = "{0}"


def index_add(v: Any, idx: tuple, advanced: bool, shape: tuple) -> Any:
    """zeros(shape) with ``v`` added at ``idx`` (a normalised index): getitem's transpose."""
    return bind(index_add_p, v, idx=idx, advanced=advanced, shape=tuple(shape))


def normalize_index(idx: Any, nd: int) -> tuple[tuple, bool]:
    """An index that names all ``nd`` axes explicitly, and whether it is advanced."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    out: list = []
    advanced = False
    consumed = 0
    ellipsis_at = None
    for item in idx:
        if isinstance(item, Tracer):
            # a recording's positions or mask: its value, which the recording guards
            concrete = getattr(item, "_index_value", None)
            if concrete is None:
                value_of(item)    # a value-dependent index (global sparsity) says so itself
                raise TypeError("indexing with a traced value is not supported; index "
                                "with integers, slices, boolean masks or integer arrays")
            item = concrete()
        if item is Ellipsis:
            if ellipsis_at is not None:
                raise IndexError("an index can only have a single ellipsis ('...')")
            ellipsis_at = len(out)
            continue
        if item is None or isinstance(item, slice):
            consumed += item is not None
        elif isinstance(item, (int, np.integer)):
            consumed += 1
        else:
            item = np.asarray(item)
            if item.dtype == bool:
                consumed += max(item.ndim, 1) if item.ndim else 0
            elif np.issubdtype(item.dtype, np.integer):
                consumed += 1
            else:
                raise IndexError(f"arrays used as indices must be integer or boolean, "
                                 f"not {item.dtype}")
            advanced = True
        out.append(item)
    fill = [slice(None)] * max(nd - consumed, 0)
    if ellipsis_at is None:
        out.extend(fill)
    else:
        out[ellipsis_at:ellipsis_at] = fill
    return tuple(out), advanced


def getitem_normalized(x: Any, idx: tuple, advanced: bool) -> Any:
    return bind(getitem_p, x, idx=idx, advanced=advanced)


def getitem(x: Any, idx: Any) -> Any:
    """``x[idx]`` for basic and advanced (integer-array, boolean-mask) indices."""
    nidx, advanced = normalize_index(idx, ndim(x))
    return bind(getitem_p, x, idx=nidx, advanced=advanced)


# ---- concatenate ---------------------------------------------------------------------
def _concat_jvp(tangents, ans, *xs, axis):
    i, live = next((i, t) for i, t in enumerate(tangents) if t is not None)
    batch = tuple(live.shape[: ndim(live) - ndim(xs[i])])
    ts = [np.zeros(batch + shape(x), dtype=ans.dtype) if t is None else t
          for t, x in zip(tangents, xs)]
    return concatenate(ts, axis)


def _concat_vjp(g, ans, needed, *xs, axis):
    out = []
    start = 0
    lead = (slice(None),) * (ndim(g) + axis)
    for need, x in zip(needed, xs):
        stop = start + x.shape[axis]
        out.append(getitem(g, lead + (slice(start, stop),)) if need else None)
        start = stop
    return tuple(out)


def _concat_impl(*xs, axis):
    return np.concatenate(xs, axis=axis)


concatenate_p = define("concatenate", _concat_impl, jvp_all=_concat_jvp,
                       vjp_all=_concat_vjp, sparsity=_structure.gather(_concat_impl),
                       cost=_cost.move,
                       residuals=())


def concatenate(xs: Sequence[Any], axis: int = 0) -> Any:
    """Join arrays along an existing axis."""
    xs = list(xs)
    if not xs:
        raise ValueError("need at least one array to concatenate")
    nd = ndim(xs[0])
    if nd == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    axis = int(axis) % nd - nd          # negative, so it also addresses batched tangents
    return bind(concatenate_p, *xs, axis=axis)


# ---- composites (no rules of their own) ----------------------------------------------
def expand_dims(x: Any, axis: int | Sequence[int]) -> Any:
    axes: Sequence[int] = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    nd = ndim(x) + len(axes)
    axes = sorted(int(a) % nd for a in axes)
    s = list(shape(x))
    for a in axes:
        s.insert(a, 1)
    return reshape(x, tuple(s))


def squeeze(x: Any, axis: int | Sequence[int] | None = None) -> Any:
    s = shape(x)
    if axis is None:
        axes = {i for i, d in enumerate(s) if d == 1}
    else:
        axes = {int(a) % len(s) for a in ((axis,) if isinstance(axis, (int, np.integer))
                                          else axis)}
        if any(s[a] != 1 for a in axes):
            raise ValueError("cannot select an axis to squeeze out which has size not "
                             "equal to one")
    return reshape(x, tuple(d for i, d in enumerate(s) if i not in axes))


def stack(xs: Sequence[Any], axis: int = 0) -> Any:
    """Join arrays along a new axis."""
    xs = list(xs)
    if not xs:
        raise ValueError("need at least one array to stack")
    nd = ndim(xs[0]) + 1
    axis = int(axis) % nd
    return concatenate([expand_dims(x, axis) for x in xs], axis=axis)


def swapaxes(x: Any, a: int, b: int) -> Any:
    axes = list(range(ndim(x)))
    axes[a], axes[b] = axes[b], axes[a]
    return transpose(x, axes)


def moveaxis(x: Any, source: int, destination: int) -> Any:
    nd = ndim(x)
    source, destination = source % nd, destination % nd
    order = [a for a in range(nd) if a != source]
    order.insert(destination, source)
    return transpose(x, order)


def ravel(x: Any) -> Any:
    return reshape(x, (-1,))


for _f in (reshape, broadcast_to, transpose, getitem, concatenate, expand_dims, squeeze,
           stack, swapaxes, moveaxis, ravel):
    OPS[_f.__name__] = _f


# ---- more composites -------------------------------------------------------------------
def flip(x: Any, axis: int | Sequence[int] | None = None) -> Any:
    """``x`` reversed along ``axis`` (None: every axis); a getitem with negative steps,
    so negative axes also address batched tangents."""
    nd = ndim(x)
    axes: Sequence[int]
    if axis is None:
        axes = range(-nd, 0)
    else:
        axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
        for a in axes:
            if not -nd <= int(a) < nd:
                raise np.exceptions.AxisError(int(a), nd)
        axes = sorted({int(a) % nd - nd for a in axes})
    if not axes:
        return x
    idx = [slice(None)] * nd
    for a in axes:
        idx[a] = slice(None, None, -1)
    return getitem(x, (Ellipsis,) + tuple(idx[min(axes):]))


OPS["flip"] = flip
