"""Prepared Jacobians: plan once, evaluate at many inputs.

``prep = dt.prepare_jacobian(f, x, ...)`` does everything :func:`dualtape.jacobian`
decides once per call (sparsity detection, the diagonal check, colouring, pricing the
modes, the CSR structure of the result) for inputs shaped like ``x``; ``prep(x_new)``
then runs only the compressed (or dense) passes and gathers the values.  This is what an
optimiser that asks for a Jacobian at every iteration wants: ``prep`` is a function of
x alone, so it can be handed to ``scipy.optimize.least_squares(fun, x0, jac=prep)``.

A plan may only be reused where its decisions hold at every input.  A global sparsity
pattern (the default) holds for every input; a local one (``sparsity="local"``) holds at
``x`` only, so preparing with it is refused rather than risking a Jacobian with entries
missing at another point.  A pattern passed in is the caller's statement that it holds
everywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ._api import check_float, checked, to_array
from .jacobian import JacobianPlan, SparseFormat, _Calls, _report, execute, plan_jacobian

if TYPE_CHECKING:
    from .coloring_sym import Method

__all__ = ["PreparedHessian", "PreparedJacobian", "prepare_hessian", "prepare_jacobian"]


class PreparedJacobian:
    """The Jacobian of ``f`` planned once for inputs of one shape and dtype; call it at
    any such input: ``prep(x) -> J`` (the type and shape ``dt.jacobian`` returns for
    the same arguments).  ``prep(x, return_info=True)`` returns ``(J, info)``.

    Attributes: ``plan`` (the :class:`~dualtape.jacobian.JacobianPlan`: mode, structure,
    colouring, pattern, and ``reason``, why this mode) and ``pattern`` (the sparsity
    pattern, None for a dense plan without one).  Holds no input values; calls from
    several threads do not interfere.
    """

    __slots__ = ("f", "plan", "_fn")

    def __init__(self, f: Callable, plan: JacobianPlan) -> None:
        self.f = f
        self.plan = plan
        self._fn = checked(f, "prepare_jacobian")

    @property
    def pattern(self) -> Any:
        return self.plan.pattern

    def __call__(self, x: Any, *args: Any, return_info: bool = False) -> Any:
        if args:
            raise TypeError(
                f"a prepared Jacobian takes one input array, got {1 + len(args)} "
                f"arguments; bind the others into f (functools.partial or a lambda) "
                f"before preparing (scipy.optimize: pass args=() and a closure)")
        x = check_float(to_array(x, fn="prepare_jacobian"), "prepare_jacobian")
        p = self.plan
        if tuple(x.shape) != p.in_shape or x.dtype != p.dtype:
            raise ValueError(
                f"this prepared Jacobian was planned for inputs of shape {p.in_shape} "
                f"and dtype {p.dtype}, not {tuple(x.shape)} and {x.dtype}; prepare "
                f"another one (dt.prepare_jacobian(f, x)) for this input")
        fc = _Calls(self._fn)
        J, run = execute(p, fc, x)
        if not return_info:
            return J
        return J, _report(p, run, fc.calls, 0, J)

    def __repr__(self) -> str:
        p = self.plan
        colours = "" if p.coloring is None else f", {int(p.coloring.ncolors)} colours"
        return (f"PreparedJacobian({p.structure}, mode={p.mode!r}, in_shape={p.in_shape}, "
                f"dtype={np.dtype(p.dtype).name}{colours})")


def prepare_jacobian(f: Callable, x: Any, mode: str = "auto", structure: str = "full", *,
                     chunk_size: int | None = None, sparse_format: SparseFormat = "csr",
                     sparsity: Any = "global", order: str = "auto",
                     cost_ratio: float | None = None) -> PreparedJacobian:
    """Plan the Jacobian of ``f`` (one array in, one array out) once, for inputs shaped
    like ``x``.

    Sparsity detection, the diagonal check, colouring, pricing the modes, the seed
    directions and the CSR index structure are done here, once; the returned
    :class:`PreparedJacobian` ``prep(x_new)`` gives what ``dt.jacobian(f, x_new, mode,
    structure, ...)`` gives, running only the (compressed) passes.  f is evaluated once
    per forward sweep (once per call without ``chunk_size``), or recorded once per call
    in reverse mode.

    Parameters
    ----------
    f : callable
        ``f(x)`` returns an array.
    x : array_like
        Used only to plan: its shape, dtype and, for ``mode="auto"``, one counted pass to
        price the modes.
    mode, structure, chunk_size, sparse_format, sparsity, order, cost_ratio
        As for :func:`dualtape.jacobian`.

    Returns
    -------
    prep : PreparedJacobian
        A function of x alone: ``prep(x_new)`` returns J (shapes as for
        :func:`dualtape.jacobian`), ``prep(x_new, return_info=True)`` returns
        ``(J, info)``.

    Raises
    ------
    ValueError
        With ``sparsity="local"`` (a local pattern holds at ``x`` only); from ``prep`` for
        an input of another shape or dtype, naming both.

    Examples
    --------
    >>> f = lambda x: np.sin(x[1:]) * x[:-1]
    >>> prep = dt.prepare_jacobian(f, np.ones(6), structure="sparse")
    >>> J = prep(np.linspace(0.0, 1.0, 6))
    >>> J.shape, J.nnz
    ((5, 6), 10)
    >>> np.allclose(J.toarray(), dt.jacfwd(f)(np.linspace(0.0, 1.0, 6)))
    True
    """
    if isinstance(sparsity, str) and sparsity == "local":
        raise ValueError(
            "prepare_jacobian: a local sparsity pattern holds only at the x it was "
            "detected at, so a plan built on it cannot be reused at other inputs; use "
            "sparsity='global' (holds for every input), pass a pattern you know holds "
            "everywhere, or call dt.jacobian(..., sparsity='local') at each input")
    x = to_array(x, fn="prepare_jacobian")
    p, _, _ = plan_jacobian(checked(f, "prepare_jacobian"), x, mode, structure,
                            chunk_size=chunk_size, sparse_format=sparse_format,
                            sparsity=sparsity, order=order, cost_ratio=cost_ratio)
    return PreparedJacobian(f, p)


class PreparedHessian:
    """The sparse Hessian of a scalar ``f`` planned once (pattern, symmetric colouring,
    seeds) for inputs of one shape and dtype: ``prep(x) -> H``, a symmetric
    ``scipy.sparse.csr_array`` of shape ``(x.size, x.size)``; ``prep(x,
    return_info=True)`` returns ``(H, info)`` with a :class:`~dualtape.HessianInfo`.
    Each call is one forward-over-reverse pass and the recovery.  Holds no input values.
    """

    __slots__ = ("f", "shape", "dtype", "method", "graph", "coloring", "_fn")

    def __init__(self, f: Callable, shape: tuple, dtype: Any, method: Method, graph: Any,
                 coloring: Any) -> None:
        self.f = f
        self.shape, self.dtype, self.method = shape, dtype, method
        self.graph, self.coloring = graph, coloring
        self._fn = checked(f, "prepare_hessian")

    def __call__(self, x: Any, *args: Any, return_info: bool = False) -> Any:
        from .higher import compressed_hessian
        if args:
            raise TypeError(f"a prepared Hessian takes one input array, got {1 + len(args)} "
                            f"arguments; bind the others into f before preparing")
        x = check_float(to_array(x, fn="prepare_hessian"), "prepare_hessian")
        if tuple(x.shape) != self.shape or x.dtype != self.dtype:
            raise ValueError(
                f"this Hessian was prepared for inputs of shape {self.shape} and dtype "
                f"{self.dtype}, not shape {tuple(x.shape)} and dtype {x.dtype}; prepare "
                f"another one for those")
        H, info = compressed_hessian(self._fn, x, self.graph, self.coloring, self.method)
        return (H, info) if return_info else H

    def __repr__(self) -> str:
        return (f"PreparedHessian({self.method}, in_shape={self.shape}, dtype={self.dtype}, "
                f"{self.coloring.ncolors} colours)")


def prepare_hessian(f: Callable, x: Any, *, sparsity: Any = "global", method: Method = "star",
                    order: str = "auto") -> PreparedHessian:
    """Plan the sparse Hessian of a scalar ``f`` once, for inputs shaped like ``x``.

    Detects the Hessian pattern, colours it and returns a :class:`PreparedHessian`, a
    function of x alone (for example ``scipy.optimize.minimize(..., hess=prep)``); each
    call is one forward-over-reverse pass and the recovery.

    Parameters
    ----------
    f : callable
        Scalar-valued.
    x : array_like
        Used only to plan: its shape and dtype.
    sparsity : "global" or boolean array of shape (n, n), default "global"
        A pattern you pass is your statement that it holds everywhere.
    method : {"star", "acyclic"}, default "star"
        As for :func:`dualtape.hessian`.
    order : str, default "auto"
        The colouring's vertex order.

    Returns
    -------
    prep : PreparedHessian
        ``prep(x_new)`` returns a symmetric ``scipy.sparse.csr_array`` of shape
        ``(x.size, x.size)``; ``prep(x_new, return_info=True)`` returns ``(H, info)``.

    Raises
    ------
    ValueError
        With ``sparsity="local"`` (a pattern seen at one point may miss entries at
        another); from ``prep`` for an input of another shape or dtype.

    Examples
    --------
    >>> f = lambda x: np.sum(x ** 4) + np.sum(x[1:] * x[:-1])
    >>> prep = dt.prepare_hessian(f, np.zeros(50))
    >>> H = prep(np.ones(50))
    >>> H.shape, H.nnz, float(H[0, 0]), float(H[0, 1])   # 12 x^2 on the diagonal, 1 beside it
    ((50, 50), 148, 12.0, 1.0)
    """
    from .higher import _colour, _symmetric_graph
    if isinstance(sparsity, str) and sparsity != "global":
        raise ValueError(f"prepare_hessian: sparsity={sparsity!r} holds at this x only, so "
                         f"a plan made with it cannot be reused; use 'global' or pass a "
                         f"pattern")
    if method not in ("star", "acyclic"):
        raise ValueError(f"prepare_hessian: method must be 'star' or 'acyclic', not "
                         f"{method!r}")
    x = check_float(to_array(x, fn="prepare_hessian"), "prepare_hessian")
    fc = checked(f, "prepare_hessian")
    g = _symmetric_graph(fc, x, sparsity)
    return PreparedHessian(f, tuple(x.shape), x.dtype, method, g, _colour(g, method, order))
