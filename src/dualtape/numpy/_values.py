"""numpy's callables that have no derivative, each with the reason, and what they do
on traced values.

``NONDIFF`` maps a name (``"name"`` in numpy, ``"linalg.name"``, ``"fft.name"``) to why
it has no derivative.  It is the one list both the namespace and the coverage report
(:mod:`dualtape.numpy._coverage`) read: numpy's array functions named here are
dispatched on traced values to numpy's own function applied to the values (a plain
result: predicates such as ``allclose`` or ``iscomplex``, integer results such as
``count_nonzero``), except the ones that write into an existing array, which raise
and name the functional spelling.  Everything numpy.random has is random sampling.

A value-dependent plain result (``count_nonzero(x > 0)``) cannot give a sparsity
pattern that holds for every input, so during global sparsity detection it raises,
like ``argsort``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..registry import Tracer, value_of
from ._dispatch import _FUNCS, _UFUNCS

INT = "an integer or boolean result"
PRED = "a predicate: a plain True/False (computed on the values)"
STEP = "locally constant (derivative 0 almost everywhere): a plain result"
SHAPE = "built from shapes, sizes or dtypes alone"
INSPECT = "inspects shapes, dtypes or memory, not values"
DTYPE = "dtype inspection and promotion"
IO = "reads or writes files, buffers or strings"
PRINT = "printing and formatting"
CONFIG = "numpy's configuration, error handling and documentation"
DATE = "dates and times"
WINDOW = "a window function of a length"
INPLACE = ("writes into an existing array; traced values are immutable: use "
           "dualtape.numpy.at(x)[idx].set(v) (or .add) for a new array")
CALLS = "builds or calls functions on plain arrays"
RANDOM = "random sampling (no derivative)"
TEST = "runs numpy's test suite"

NONDIFF: dict[str, str] = {
    # integer or boolean results
    **dict.fromkeys([
        "all", "any", "argwhere", "count_nonzero", "flatnonzero", "nonzero", "isin",
        "searchsorted", "digitize", "lexsort", "nanargmax", "nanargmin", "argmax",
        "argmin", "argsort", "argpartition", "packbits", "unpackbits", "unravel_index",
        "ravel_multi_index", "isposinf", "isneginf", "linalg.matrix_rank"], INT),
    # predicates
    **dict.fromkeys([
        "allclose", "isclose", "array_equal", "array_equiv", "iscomplex", "isreal",
        "iscomplexobj", "isrealobj", "isscalar", "iterable", "isfortran"], PRED),
    # locally constant
    **dict.fromkeys(["floor", "ceil", "trunc", "rint", "fix", "round", "around", "sign",
                     "floor_divide", "spacing"], STEP),
    # shapes, sizes, dtypes
    **dict.fromkeys([
        "arange", "zeros", "ones", "empty", "eye", "identity", "tri", "indices",
        "diag_indices", "diag_indices_from", "tril_indices", "tril_indices_from",
        "triu_indices", "triu_indices_from", "mask_indices", "broadcast_shapes",
        "fft.fftfreq", "fft.rfftfreq", "ix_"], SHAPE),
    **dict.fromkeys(["shape", "ndim", "size", "may_share_memory", "shares_memory",
                     "einsum_path"], INSPECT),
    **dict.fromkeys(["can_cast", "common_type", "min_scalar_type", "mintypecode",
                     "promote_types", "result_type", "isdtype", "issubdtype",
                     "typename"], DTYPE),
    **dict.fromkeys(["frombuffer", "fromfile", "fromiter", "fromregex", "fromstring",
                     "from_dlpack", "genfromtxt", "load", "loadtxt", "save", "savetxt",
                     "savez", "savez_compressed"], IO),
    **dict.fromkeys(["array2string", "array_repr", "array_str", "base_repr",
                     "binary_repr", "format_float_positional", "format_float_scientific",
                     "get_printoptions", "set_printoptions", "printoptions"], PRINT),
    **dict.fromkeys(["geterr", "seterr", "geterrcall", "seterrcall", "getbufsize",
                     "setbufsize", "get_include", "show_config", "show_runtime",
                     "info"], CONFIG),
    **dict.fromkeys(["busday_count", "busday_offset", "is_busday", "datetime_as_string",
                     "datetime_data"], DATE),
    **dict.fromkeys(["bartlett", "blackman", "hamming", "hanning", "kaiser"], WINDOW),
    **dict.fromkeys(["place", "put", "putmask", "put_along_axis", "fill_diagonal",
                     "copyto"], INPLACE),
    **dict.fromkeys(["frompyfunc", "fromfunction", "nested_iters"], CALLS),
    **dict.fromkeys(["test", "linalg.test", "fft.test"], TEST),
}

# names whose plain result does not depend on the values (allowed in global sparsity)
_VALUE_FREE = frozenset(
    [n for n, why in NONDIFF.items() if why in (SHAPE, INSPECT, DTYPE)]
    + ["iscomplexobj", "isrealobj", "isscalar", "iterable", "isfortran"])


def _strip(tree: Any, name: str, value_free: bool) -> Any:
    if isinstance(tree, Tracer):
        return value_of(tree, structural=not value_free)
    if isinstance(tree, (list, tuple)):
        return type(tree)(_strip(t, name, value_free) for t in tree)
    if isinstance(tree, dict):
        return {k: _strip(v, name, value_free) for k, v in tree.items()}
    return tree


def on_values(np_fn: Callable, name: str) -> Callable:
    """``np_fn`` applied to the values of its traced arguments: a plain result."""
    value_free = name in _VALUE_FREE

    def fn(*args: Any, **kwargs: Any) -> Any:
        return np_fn(*_strip(args, name, value_free), **_strip(kwargs, name, value_free))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"numpy.{name} on the values of traced arguments: a plain result."
    return fn


def _in_place(name: str) -> Callable:
    def fn(*args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"numpy.{name} {INPLACE}")
    return fn


def _register() -> None:
    for key, why in NONDIFF.items():
        owner, _, name = key.rpartition(".")
        mod = getattr(np, owner) if owner else np
        obj = getattr(mod, name, None)
        if obj is None:
            continue
        if isinstance(obj, np.ufunc):
            _UFUNCS.setdefault(obj, on_values(obj, name))
        elif hasattr(obj, "_implementation") and obj not in _FUNCS:
            _FUNCS[obj] = _in_place(name) if why == INPLACE else on_values(obj, name)
    # ufuncs with only integer, boolean or object loops (bitwise_and, gcd, isnat, ...)
    # (vars, not getattr: getattr would import numpy's lazily loaded submodules)
    for name, obj in list(vars(np).items()):
        if isinstance(obj, np.ufunc) and obj not in _UFUNCS and integer_ufunc(obj):
            _UFUNCS[obj] = on_values(obj, name)


def integer_ufunc(uf: np.ufunc) -> bool:
    """Whether no loop of ``uf`` outputs a floating or complex number."""
    return not any(ch in "efdgFDG" for t in uf.types for ch in t.split("->")[1])


_register()
