"""Sparsity detection: which inputs can each output element depend on?

A third mode beside forward and reverse.  Its traced values carry, next to their
value, an index-set matrix: a boolean ``scipy.sparse`` CSR array with one row per
element of the value (C order) and one column per input element.  Each primitive
states its structure rule in its registry block (``prim.sparsity``, a callable; see
:mod:`dualtape.primitives._structure`); this interpreter only calls it.  A primitive
without one (a user primitive) is treated densely: every output element depends on
every input element of that operation.  Never wrong, only dense.

Global patterns hold for every input value.  So every value computed from the input,
also through a primitive without a derivative (a comparison, ``sign``, ``floor``,
``argmax``...), stays traced: arithmetic on it is traced too, ``where`` on it takes
both branches, and reading it (a Python ``if``, ``int()``, an index, a shape) raises
an error that points to ``kind="local"``.  Local patterns use the values at ``x``:
there such results are plain values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

if TYPE_CHECKING:
    from scipy.sparse import csr_array

from ._api import check_output, flatten, to_array
from ._api import sparse as sp

from .numpy import TracedArray
from .primitives import _structure
from .registry import Trace

__all__ = ["sparsity"]


class SparsityTrace(Trace):
    __slots__ = ("n", "local")
    mode = "sparsity"

    def __init__(self, n: int, local: bool) -> None:
        super().__init__()
        self.n = n
        self.local = local

    def process(self, prim, args, params):
        ans, primals, pats = self.unpack(prim, args, params, "pattern")
        if prim.nondiff and self.local:
            return ans                  # the value is known here: a plain result
        rule = prim.sparsity or _structure.dense
        pat = rule(pats, ans, primals, params, self.local)
        if prim.multiple_results:
            return tuple(IndexSets(a, p, self) for a, p in zip(ans, pat))
        return IndexSets(ans, pat, self)


_VALUE_DEPENDENT = (
    "{what}: it is a value computed from the traced input, so what it decides would "
    "make the pattern depend on the input's values, and no pattern holds for every input "
    "(global detection). Use dt.sparsity(f, x, kind='local') for the pattern at this "
    "point, or np.where / np.maximum instead of a Python branch.")


class IndexSets(TracedArray):
    """A value with the index sets of its elements (``pattern``: size x n, boolean).

    During global detection its value must not decide anything: reading it raises."""

    __slots__ = ("primal", "pattern")
    _trace: SparsityTrace

    def __init__(self, primal: Any, pattern: csr_array, trace: SparsityTrace) -> None:
        self._trace = trace
        self._level = trace.level
        self.primal = primal
        self.pattern = pattern

    def _check_read(self, what: str = "a traced value was read (as an index, a mask, a "
                                      "count or a shape)") -> None:
        if not self._trace.local:
            raise ValueError(_VALUE_DEPENDENT.format(what=what))

    def __bool__(self) -> bool:
        self._check_read("a Python branch (if, while, bool) on a traced value")
        return bool(self.primal)

    def _convert(self, *args: Any, **kwargs: Any) -> Any:
        self._check_read("a traced value used as a number, an index or a shape")
        return self._no_conversion()

    __int__ = __float__ = __complex__ = __index__ = _refuse_conversion = _convert

    def all(self, *args: Any, **kwargs: Any) -> bool:
        self._check_read("a Python branch (if, while, bool) on a traced value")
        return TracedArray.__getattr__(self, "all")(*args, **kwargs)

    def any(self, *args: Any, **kwargs: Any) -> bool:
        self._check_read("a Python branch (if, while, bool) on a traced value")
        return TracedArray.__getattr__(self, "any")(*args, **kwargs)


def sparsity(f: Callable, x: Any, kind: str = "global", *,
             hessian: bool = False) -> csr_array:
    """The Jacobian sparsity pattern of ``f`` at ``x``.

    The pattern is found by propagating index sets through the registry's structure
    rules; a primitive without a structure rule is treated as dense (never wrong).

    Parameters
    ----------
    f : callable
        ``f(x)`` returns an array.
    x : array_like
        The point; for ``kind="global"`` only its shape and dtype matter.
    kind : {"global", "local"}, default "global"
        "global": the pattern holds for every input value; a value-dependent branch,
        index, mask or shape is an error that points to "local".  "local": it may use
        the values at ``x`` (relu at a negative input has an empty row).
    hessian : bool, default False
        For a scalar ``f``: the symmetric pattern of its Hessian, the Jacobian pattern of
        ``dt.grad(f)``, exact for partially separable functions.

    Returns
    -------
    pattern : scipy.sparse.csr_array of bool
        Shape ``(out.size, x.size)`` (C order), or ``(x.size, x.size)`` with
        ``hessian=True``; True wherever the derivative can be non-zero.

    Raises
    ------
    dualtape.sparsity.ValueDependentError
        With ``kind="global"``, if ``f`` branches, indexes or shapes on a value computed
        from ``x``.

    Examples
    --------
    >>> P = dt.sparsity(lambda x: x[1:] * x[:-1], np.ones(4))
    >>> P.toarray().astype(int)
    array([[1, 1, 0, 0],
           [0, 1, 1, 0],
           [0, 0, 1, 1]])
    >>> dt.sparsity(lambda x: np.sum(x[1:] * x[:-1]), np.ones(3), hessian=True).toarray()
    array([[False,  True, False],
           [ True, False,  True],
           [False,  True, False]])
    """
    if kind not in ("global", "local"):
        raise ValueError(f"kind must be 'global' or 'local', not {kind!r}")
    if hessian:
        from .sparsity_hessian import hessian_sparsity
        return hessian_sparsity(f, x, kind)
    x = to_array(x, fn="sparsity")
    n = _structure.size(x)
    trace = SparsityTrace(n, kind == "local")
    eye = sp.csr_array((np.ones(n, dtype=bool), np.arange(n), np.arange(n + 1)), shape=(n, n))
    try:
        out = f(IndexSets(x, eye, trace))
    finally:
        trace.finish()
    if isinstance(out, IndexSets) and out._level == trace.level:
        return out.pattern.tocsr()
    leaves = flatten(out)[0]
    for leaf in leaves:
        check_output(leaf, "sparsity")
    if len(leaves) != 1 or isinstance(out, (tuple, list, dict)):
        raise TypeError("sparsity: the function must return one array, not a container")
    return sp.csr_array((_structure.size(out), n), dtype=bool)
