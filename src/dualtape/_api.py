"""Helpers both modes share for their public functions: argument containers (tuples,
lists and dicts of arrays), input checks, and Jacobian assembly.  No mode lives here."""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import numpy as np

from .primitives import OPS
from .registry import Tracer, deriving, value_of

#: The spec of a ``None`` inside a container: an empty subtree (no leaves), as in JAX.
NONE = ("none",)


def flatten(tree: Any) -> tuple[list, Any]:
    """Leaves of nested tuples/lists/dicts/namedtuples, and a description to rebuild the
    nesting.  A ``None`` inside a container is an empty subtree (it has no leaves, as in
    JAX); a bare ``None`` is a leaf, so that a function returning None is reported."""
    leaves: list = []

    def walk(t: Any) -> Any:
        if t is None and t is not tree:
            return NONE
        if isinstance(t, (tuple, list)):
            return (type(t), [walk(v) for v in t])
        if isinstance(t, dict):
            keys = sorted(t)
            return (dict, keys, [walk(t[k]) for k in keys])
        leaves.append(t)
        return None
    return leaves, walk(tree)


def unflatten(spec: Any, leaves: Sequence) -> Any:
    """Inverse of :func:`flatten`."""
    it = iter(leaves)

    def build(s: Any) -> Any:
        if s is None:
            return next(it)
        if s is NONE:
            return None
        if s[0] is dict:
            return {k: build(v) for k, v in zip(s[1], s[2])}
        items = [build(v) for v in s[1]]
        return s[0](*items) if hasattr(s[0], "_fields") else s[0](items)   # namedtuples
    return build(spec)


def leaves_like(spec: Any, t: Any, fn: str, what: str) -> list:
    """The leaves of ``t`` (tangents, cotangents) following ``spec``, the structure of
    its primal from :func:`flatten`.  Where the primal has a leaf, ``t`` is one leaf
    whatever it is (a list of numbers for an array primal is converted later)."""
    out: list = []

    def walk(s: Any, v: Any, where: str) -> None:
        if s is None:
            out.append(v)
            return
        if s is NONE:
            if v is not None:
                raise ValueError(f"{fn}: the {what}{where} must be None, like its primal; "
                                 f"got {_describe(v)}")
            return
        kind = s[0]
        if kind is dict:
            if not isinstance(v, dict) or sorted(v) != s[1]:
                raise ValueError(f"{fn}: the {what}{where} must be a dict with keys "
                                 f"{s[1]}, like its primal; got {_describe(v)}")
            for k, c in zip(s[1], s[2]):
                walk(c, v[k], f"{where}[{k!r}]")
            return
        if type(v) is not kind or len(v) != len(s[1]):
            raise ValueError(f"{fn}: the {what}{where} must be a {kind.__name__} of "
                             f"{len(s[1])} entries, like its primal; got {_describe(v)}")
        for j, (c, x) in enumerate(zip(s[1], v)):
            walk(c, x, f"{where}[{j}]")
    walk(spec, t, "")
    return out


def _describe(v: Any) -> str:
    n = f" of {len(v)} entries" if isinstance(v, (tuple, list, dict)) else ""
    return f"a {type(v).__name__}{n}"


def to_array(x: Any, dtype: Any = None, fn: str = "dualtape") -> Any:
    """``x`` as an ndarray, or unchanged if it is already traced (an outer mode's value).

    ndarray subclasses are refused (:func:`check_input`): converting one silently
    would change the function (``*`` on ``np.matrix`` is a matrix product).
    """
    if isinstance(x, Tracer):
        return x
    check_input(x, fn)
    return np.asarray(x, dtype=dtype)


def check_input(x: Any, fn: str) -> None:
    """Refuse ndarray subclasses (``np.matrix``, masked arrays...) as inputs of ``fn``.

    Their operators and reductions differ from numpy's on plain arrays, so
    differentiating the converted array would differentiate another function.
    ``np.memmap`` behaves exactly like an ndarray and is accepted.
    """
    if not isinstance(x, np.ndarray) or type(x) is np.ndarray or isinstance(x, np.memmap):
        return
    name = f"{type(x).__module__}.{type(x).__qualname__}"
    if isinstance(x, np.ma.MaskedArray):
        hint = ("pass x.filled(value) to choose what the masked entries are, or "
                "np.asarray(x) to use the data under the mask")
    else:
        hint = "pass np.asarray(x) to differentiate with plain-ndarray semantics"
    raise TypeError(
        f"{fn}: an input is a {name}, an ndarray subclass with its own semantics "
        f"(np.matrix: * is a matrix product, masked arrays skip masked entries), which "
        f"dualtape does not follow; {hint}.")


def check_output(leaf: Any, fn: str) -> None:
    """Refuse an output leaf of f that is not an array or number (None, str, generator,
    any object): treating it as a constant would give a derivative of zeros."""
    if isinstance(leaf, (Tracer, np.ndarray, bool, int, float, complex)):
        if not isinstance(leaf, np.ndarray) or leaf.dtype.kind in "biufc":
            return
    elif isinstance(leaf, np.generic) and leaf.dtype.kind in "biufc":
        return
    if leaf is None:
        raise TypeError(f"{fn}: the function returned None, not an array; did you forget "
                        f"`return`?")
    what = type(leaf).__name__
    raise TypeError(f"{fn}: the function returned a {what} ({leaf!r:.60}), not a numeric "
                    f"array, so it has no derivative; return the array (or a tuple, list "
                    f"or dict of arrays) you want to differentiate.")


def checked(f: Callable, fn: str, has_aux: bool = False) -> Callable:
    """``f`` whose output is checked by :func:`check_output` under the name ``fn`` (for
    transforms built from others, so the error names the one the user called).  With
    ``has_aux`` only the first of f's ``(out, aux)`` is checked."""
    def run(*args: Any, **kwargs: Any) -> Any:
        out = f(*args, **kwargs)
        for leaf in flatten(split_aux(out, fn)[0] if has_aux else out)[0]:
            check_output(leaf, fn)
        return out
    return run


def wraps(f: Callable) -> Callable:
    """``functools.wraps`` for transforms: the returned function keeps f's name,
    qualified name, module and docstring (and ``__wrapped__``), but not f's ``__dict__``,
    which may hold a primitive that the transformed function is not."""
    return functools.wraps(f, updated=())


def with_kwargs(f: Callable, kwargs: dict) -> Callable:
    """``f`` with keyword arguments bound: they are passed through, not differentiated."""
    return functools.partial(f, **kwargs) if kwargs else f


def split_aux(out: Any, fn: str) -> tuple[Any, Any]:
    """``(out, aux)`` of a function called with ``has_aux=True``, which must return a
    pair (a tuple or list of two entries), as in JAX."""
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        what = (f"a {type(out).__name__} of {len(out)} entries"
                if isinstance(out, (tuple, list)) else f"a {type(out).__name__}")
        raise TypeError(f"{fn}(..., has_aux=True): the function must return a pair "
                        f"(out, aux), but it returned {what}")
    return out[0], out[1]


def strip_aux(aux: Any, level: int) -> Any:
    """``aux`` with the traced values of the context at ``level`` (and any inner one)
    replaced by their values: aux is returned, not differentiated.  Values of outer
    contexts stay traced, so an outer derivative still sees them."""
    leaves, tree = flatten(aux)
    return unflatten(tree, [value_of(v, level, structural=False) for v in leaves])


def as_tangent(t: Any, primal: Any, fn: str, what: str = "tangent") -> Any:
    """``t`` as the tangent (cotangent) of ``primal``: of the same dtype, as JAX requires.

    Arrays (and numpy scalars, traced values) must already have the primal's dtype: a
    float32 tangent of a float64 primal, or a complex one of a real primal, is a
    TypeError, never a silent cast.  Python numbers and lists carry no dtype of their
    own and are converted, unless they are complex for a real primal.
    """
    want = np.dtype(primal.dtype if hasattr(primal, "dtype") else np.result_type(primal))
    strict = np.issubdtype(want, np.inexact)
    if not strict:              # an integer output has no derivative: any real seed will do
        want = np.dtype(np.float64)
    if isinstance(t, (Tracer, np.ndarray, np.generic)):
        if isinstance(t, np.ndarray):
            check_input(t, fn)
        if t.dtype != want and (strict or t.dtype.kind not in "biuf"):
            raise TypeError(f"{fn}: a {what} has dtype {t.dtype} but its primal has dtype "
                            f"{want}; they must match. Pass t.astype({want.name!r}) if the "
                            f"conversion is what you mean.")
        return t if isinstance(t, Tracer) else np.asarray(t, dtype=want)
    arr = np.asarray(t)
    if arr.dtype.kind not in "biufc" or (arr.dtype.kind == "c" and want.kind != "c"):
        raise TypeError(f"{fn}: a {what} of dtype {arr.dtype} ({type(t).__name__}) cannot "
                        f"be the {what} of a primal of dtype {want}")
    return arr.astype(want)


def check_float(x: Any, fn: str) -> Any:
    """Reject integer and boolean inputs, which have no derivative."""
    dt = x.dtype
    if not np.issubdtype(dt, np.inexact):
        raise TypeError(
            f"{fn}: cannot differentiate with respect to an input of dtype {dt}; only "
            f"floating-point (or complex) inputs have derivatives. Pass x.astype(float).")
    return x


def select_args(argnums: int | Sequence[int], nargs: int) -> tuple[tuple, bool]:
    """Normalised argnums and whether a single one was asked for."""
    single = isinstance(argnums, (int, np.integer))
    nums = ((int(argnums),) if isinstance(argnums, (int, np.integer))
            else tuple(int(a) for a in argnums))
    for a in nums:
        if not -nargs <= a < nargs:
            raise ValueError(f"argnums {a} is out of range for {nargs} positional arguments")
    return tuple(a % nargs for a in nums), single


def shape_of(x: Any) -> tuple:
    """The shape of an array, traced value or Python number."""
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def basis(n: int, start: int, stop: int, shape: tuple, dtype: Any) -> np.ndarray:
    """Unit vectors ``start..stop-1`` of R^n, shaped ``(stop - start,) + shape``: the
    seeds of one chunk of Jacobian columns (forward) or rows (reverse)."""
    seed = np.zeros((stop - start, n), dtype=dtype)
    seed[np.arange(stop - start), np.arange(start, stop)] = 1
    return seed.reshape((stop - start,) + tuple(shape))


def zeros_tangent(p: Any, batch: tuple = ()) -> np.ndarray:
    """An instantiated zero tangent for value ``p`` (the symbolic zero made concrete)."""
    dt = getattr(p, "dtype", None) or np.result_type(p)
    if not np.issubdtype(dt, np.inexact):
        dt = np.float64
    return np.zeros(tuple(batch) + shape_of(p), dtype=dt)


def assemble(out: Any, parts: list, in_shape: tuple, columns: bool) -> Any:
    """One output's Jacobian, ``out.shape + in_shape``, from its per-pass blocks (counted
    as derivative work)."""
    with deriving():
        stacked = parts[0] if len(parts) == 1 else OPS["concatenate"](parts, 0)
        if columns and stacked.ndim > 1:
            stacked = OPS["moveaxis"](stacked, 0, -1)
        return OPS["reshape"](stacked, shape_of(out) + tuple(in_shape))


def assemble_columns(out: Any, parts: list, shapes: Sequence[tuple]) -> list:
    """Forward passes over several input leaves seeded as one vector: the blocks
    ``(k,) + out.shape`` of consecutive directions, split into one Jacobian per leaf,
    ``out.shape + shapes[l]``, in order (counted as derivative work)."""
    if len(shapes) == 1:
        return [assemble(out, parts, tuple(shapes[0]), columns=True)]
    with deriving():
        stacked = parts[0] if len(parts) == 1 else OPS["concatenate"](parts, 0)
        res, o = [], 0
        for shp in shapes:
            s = int(np.prod(shp))
            block = stacked[o:o + s]
            o += s
            if block.ndim > 1:
                block = OPS["moveaxis"](block, 0, -1)
            res.append(OPS["reshape"](block, shape_of(out) + tuple(shp)))
        return res


def seeds_for(leaves: Sequence, start: int, stop: int) -> list:
    """Unit directions ``start..stop-1`` of the vector of all ``leaves`` (C order, one
    leaf after another), cut into one seed per leaf, ``(stop - start,) + leaf.shape`` in
    that leaf's dtype."""
    sizes = [int(np.prod(shape_of(x))) for x in leaves]
    if len(leaves) == 1:
        x = leaves[0]
        return [basis(sizes[0], start, stop, shape_of(x), x.dtype)]
    k = stop - start
    out, o = [], 0
    for x, s in zip(leaves, sizes):
        seed = np.zeros((k, s), dtype=x.dtype)
        lo, hi = max(start, o), min(stop, o + s)
        if lo < hi:
            seed[np.arange(lo, hi) - start, np.arange(lo, hi) - o] = 1
        out.append(seed.reshape((k,) + shape_of(x)))
        o += s
    return out


def all_finite(x: Any) -> bool:
    """True if every number in ``x`` is finite, looking through traced values (their
    primal and, where they have one, their tangent) and containers."""
    stack = [x]
    while stack:
        v = stack.pop()
        if v is None:
            continue
        if isinstance(v, Tracer):
            check = getattr(v, "_all_finite", None)
            if check is not None:       # a recording: the check is a decision it keeps
                if not check():
                    return False
                continue
            stack.append(v.primal)
            stack.append(getattr(v, "tangent", None))
        elif isinstance(v, (list, tuple)):
            stack.extend(v)
        elif isinstance(v, np.ndarray):
            if v.dtype.kind in "fc" and not np.isfinite(v).all():
                return False
        elif isinstance(v, (float, complex, np.inexact)) and not np.isfinite(v):
            return False
    return True


class LazyModule:
    """A module imported on first attribute access, so importing dualtape does not load
    heavy optional machinery (scipy.sparse) until a function needs it."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        from importlib import import_module
        return getattr(import_module(self._name), attr)


sparse = LazyModule("scipy.sparse")
