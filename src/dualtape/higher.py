"""Second-order derivatives, composed from the two modes.

Nesting is safe by construction: every ``jvp``/``vjp`` call opens a context with a
fresh, higher level, and ``bind`` always hands an operation to the innermost context
among its arguments, so an outer perturbation is a constant to an inner one.

Sparse Hessians (``structure="sparse"``) follow the sparse Jacobian's four steps with
symmetry exploited: detect the pattern (:mod:`dualtape.sparsity_hessian`), star- or
acyclic-colour it (:mod:`dualtape.coloring_sym`), run one forward-over-reverse pass that
carries one direction per colour (a vector-mode JVP of the gradient: all compressed
Hessian-vector products ``H @ S`` at once), and decompress into a symmetric
``scipy.sparse.csr_array``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Literal, Sequence, overload

import numpy as np

from ._api import check_input, checked, flatten, select_args, to_array, with_kwargs, wraps
from .forward import jacfwd, jvp, jvp_batch
from ._typing import P, X
from .registry import Tracer
from .reverse import _value_and_grad, grad, jacrev, linearize

if TYPE_CHECKING:
    from .coloring_sym import Method

__all__ = ["hessian", "hvp", "make_hvp", "HessianInfo", "HESSIAN_MODES"]

#: ``structure="auto"`` stays dense when the Hessian pattern's density is at least this.
AUTO_DENSITY = 0.25

# (outer, inner) Jacobian transforms; called with a has_aux only known at run time
HESSIAN_MODES: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "fwd-over-fwd": (jacfwd, jacfwd),
    "fwd-over-rev": (jacfwd, jacrev),
    "rev-over-fwd": (jacrev, jacfwd),
    "rev-over-rev": (jacrev, jacrev),
}


@dataclass(frozen=True)
class HessianInfo:
    """What ``dt.hessian(..., return_info=True)`` did.

    Attributes
    ----------
    method : str
        "star", "acyclic" or "dense".
    structure : str
        "sparse" or "full" (``structure="auto"`` resolved).
    passes : int
        Hessian-vector products computed.
    sweeps : int
        Forward-over-reverse passes that computed them (each carries many).
    colors : int or None
        Colours of the symmetric colouring used.
    lower_bound : int or None
        No colouring of that kind uses fewer.
    nnz : int or None
        Stored entries of the returned Hessian.
    n : int
        The input size.
    reason : str
        Why this method and structure, with the numbers compared.
    """

    method: str                    # "star", "acyclic" or "dense"
    structure: str                 # "sparse" or "full"
    passes: int                    # Hessian-vector products computed
    sweeps: int                    # forward-over-reverse passes (each carries many)
    colors: int | None = None      # colours of the symmetric colouring used
    lower_bound: int | None = None  # no colouring of that kind uses fewer
    nnz: int | None = None         # stored entries of the returned Hessian
    n: int = 0
    reason: str = ""


@overload
def hessian(f: Callable[P, Any], argnums: int | Sequence[int] = 0,
            mode: str = "fwd-over-rev", chunk_size: int | None = None,
            has_aux: bool = False, *, structure: str = "full",
            return_info: Literal[False] = False, sparsity: Any = "global",
            method: Method = "star", order: str = "auto") -> Callable[P, Any]: ...
@overload
def hessian(f: Callable[P, Any], argnums: int | Sequence[int] = 0,
            mode: str = "fwd-over-rev", chunk_size: int | None = None,
            has_aux: bool = False, *, structure: str = "full",
            return_info: Literal[True], sparsity: Any = "global",
            method: Method = "star", order: str = "auto"
            ) -> Callable[P, tuple[Any, HessianInfo]]: ...
def hessian(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
            mode: str = "fwd-over-rev", chunk_size: int | None = None,
            has_aux: bool = False, *, structure: str = "full", return_info: bool = False,
            sparsity: Any = "global", method: Method = "star",
            order: str = "auto") -> Callable[..., Any]:
    """The Hessian of ``f``, as ``outer(inner(f))`` for ``mode`` = "outer-over-inner".

    Forward-over-reverse (the default) costs one reverse sweep per forward direction.
    Any mode nests over any mode, so all four compositions give the same matrix.

    Parameters
    ----------
    f : callable
        A function of arrays or pytrees; scalar-valued for ``structure="sparse"``.
    argnums : int or sequence of int, default 0
        The argument(s) to differentiate.
    mode : {"fwd-over-rev", "rev-over-rev", "fwd-over-fwd", "rev-over-fwd"}
        The two modes, outer first.  Default "fwd-over-rev".
    chunk_size : int, optional
        Bounds the directions the outer mode carries at once: with an inner forward mode
        the intermediate values hold outer x inner x n numbers, n^3 for a dense Hessian,
        unless chunked.
    has_aux : bool, default False
        ``f`` returns ``(out, aux)`` and ``h`` returns ``(H, aux)`` (dense Hessians only).
    structure : {"full", "sparse", "auto"}, default "full"
        "sparse": for a scalar ``f`` and one ``argnums``, by symmetric colouring and one
        forward-over-reverse pass carrying one direction per colour.  "auto": sparse when
        the pattern is sparse enough to pay (density below ``AUTO_DENSITY`` and fewer
        colours than n), else dense.
    return_info : bool, default False
        ``h`` returns ``(H, info)``, see :class:`HessianInfo`.
    sparsity : {"global", "local"} or boolean array of shape (n, n), default "global"
        The Hessian pattern, for sparse structures.
    method : {"star", "acyclic"}, default "star"
        "star": direct recovery, exact to the rounding of the products.  "acyclic": fewer
        colours, recovery by substitution, which adds the rounding of the subtractions
        along each entry's two-coloured tree.
    order : str, default "auto"
        The colouring's vertex order; "auto" tries natural order and, unless that reached
        the lower bound, smallest-last.

    Returns
    -------
    h : callable
        ``h(*args, **kwargs)`` (keyword arguments go to ``f``, not differentiated).
        Dense: ``h(x).shape == out.shape + x.shape + x.shape`` (``x.shape * 2`` for a
        scalar ``f``); for a dict ``x``, ``h(x)[a][b]`` has shape ``out.shape + x[a].shape
        + x[b].shape``; for a tuple ``argnums``, ``h(*args)[i][j]`` is the block of
        arguments i and j.  Sparse: a symmetric ``scipy.sparse.csr_array`` of shape
        ``(x.size, x.size)`` (C order).

    Raises
    ------
    ValueError
        For an unknown mode, structure or method; ``structure="sparse"`` with a non-scalar
        ``f`` or several ``argnums``.

    Examples
    --------
    >>> f = lambda x: x[0] ** 2 * x[1] + np.sin(x[1])
    >>> dt.hessian(f)(np.array([1.0, 0.0]))
    array([[0., 2.],
           [2., 0.]])
    >>> rosen = lambda x: np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    >>> H, info = dt.hessian(rosen, structure="sparse", return_info=True)(np.ones(100))
    >>> H.shape, H.nnz, info.colors             # tridiagonal: 3 products, not 100
    ((100, 100), 298, 3)
    """
    try:
        outer, inner = HESSIAN_MODES[mode]
    except KeyError:
        raise ValueError(f"hessian mode must be one of {sorted(HESSIAN_MODES)}, "
                         f"not {mode!r}") from None
    if structure not in ("full", "sparse", "auto"):
        raise ValueError(f"hessian structure must be 'full', 'sparse' or 'auto', "
                         f"not {structure!r}")
    if method not in ("star", "acyclic"):
        raise ValueError(f"hessian method must be 'star' or 'acyclic', not {method!r}")
    fc = checked(f, "hessian", has_aux)
    full = outer(inner(fc, argnums, has_aux=has_aux), argnums, chunk_size=chunk_size,
                 has_aux=has_aux)

    @wraps(f)
    def h(*args: Any, **kwargs: Any) -> Any:
        for i in select_args(argnums, len(args))[0]:
            for leaf in flatten(args[i])[0]:
                check_input(leaf, "hessian")      # named here, not by the inner jacrev
        if structure == "full" and not return_info:
            return full(*args, **kwargs)
        if has_aux:
            raise TypeError(f"dt.hessian(has_aux=True) returns (H, aux) for the dense "
                            f"Hessian only; drop has_aux for structure={structure!r} or "
                            f"return_info=True")

        def dense(*a: Any) -> Any:
            return full(*a, **kwargs)
        if structure == "full":
            x = args[argnums] if isinstance(argnums, int) else None
            H = dense(*args)
            n = int(np.size(x)) if x is not None else 0
            return H, HessianInfo("dense", "full", n, 1 if chunk_size is None else
                                  -(-n // max(1, int(chunk_size))), n=n,
                                  reason=f"structure='full': {mode}, one direction per input")
        if not isinstance(argnums, (int, np.integer)):
            raise TypeError(f"dt.hessian(structure={structure!r}) needs one integer argnums, "
                            f"got {argnums!r}")
        H, info = _sparse(with_kwargs(fc, kwargs), args, int(argnums), structure,
                          sparsity, method, order, dense)
        return (H, info) if return_info else H
    return h


def _sparse(f: Callable, args: tuple, argnum: int, structure: str, sparsity: Any,
            method: Method, order: str, dense: Callable) -> tuple[Any, HessianInfo]:
    x = to_array(args[argnum])
    if isinstance(x, Tracer):
        raise TypeError(f"dt.hessian(structure={structure!r}) returns a scipy.sparse or "
                        f"plain array, which cannot carry an outer derivative "
                        f"({x._trace.mode} mode); use structure='full' inside other "
                        f"derivatives")
    if not np.issubdtype(x.dtype, np.inexact):
        x = x.astype(np.float64)
    rest = list(args)

    def fx(v: Any) -> Any:
        rest[argnum] = v
        return f(*rest)
    n = x.size
    g = _symmetric_graph(fx, x, sparsity)
    density = (g.idx.size + n) / max(n * n, 1)
    if structure == "auto" and density >= AUTO_DENSITY:
        H = dense(*args)
        return H, HessianInfo("dense", "full", n, 1, nnz=g.idx.size + n, n=n, reason=(
            f"density {density:.2f} >= {AUTO_DENSITY}: dense, {n} directions"))
    col = _colour(g, method, order)
    if structure == "auto" and col.ncolors >= n:
        H = dense(*args)
        return H, HessianInfo("dense", "full", n, 1, colors=col.ncolors,
                              lower_bound=col.lower_bound, nnz=g.idx.size + n, n=n,
                              reason=(
                                  f"{method} colouring needs {col.ncolors} >= n = {n} "
                                  f"colours: dense"))
    return compressed_hessian(fx, x, g, col, method)


def _symmetric_graph(fx: Callable, x: np.ndarray, sparsity: Any) -> Any:
    """The adjacency graph of the Hessian pattern of ``fx`` at ``x`` (detected, or the
    pattern given), symmetrised, without the diagonal."""
    from . import coloring_sym as cs
    from .sparsity_hessian import _check, _gradient_pattern
    P = (_gradient_pattern(fx, x, sparsity) if isinstance(sparsity, str)
         else _check(sparsity, x.size))
    return cs._graph(P)


def _colour(g: Any, method: Method, order: str) -> Any:
    from . import coloring_sym as cs
    col = cs._color_graph(g, method, "natural" if order == "auto" else order, None)
    if order == "auto" and col.ncolors > col.lower_bound:
        other = cs._color_graph(g, method, "smallest_last", None)
        col = other if other.ncolors < col.ncolors else col
    return col


def compressed_hessian(fx: Callable, x: np.ndarray, g: Any, col: Any,
                       method: str) -> tuple[Any, HessianInfo]:
    """The sparse Hessian of scalar ``fx`` at ``x`` from a symmetric colouring ``col`` of
    its graph ``g``: one forward-over-reverse pass carrying one direction per colour,
    then recovery (direct for star, by substitution for acyclic)."""
    from . import coloring_sym as cs
    n, k = x.size, col.ncolors
    seeds = cs.seed_matrix(col, x.dtype).T.reshape((k,) + x.shape)
    B = np.zeros((n, k), dtype=x.dtype)
    if k:
        _, t = jvp_batch(grad(fx), x, seeds)            # (k,) + x.shape: H @ S, by rows
        B = np.reshape(t, (k, n)).T
    H = cs._decompress_graph(g, col, B)
    how = ("direct recovery" if method == "star" else "recovery by substitution")
    return H, HessianInfo(method, "sparse", k, 1 if k else 0, colors=k,
                          lower_bound=col.lower_bound, nnz=H.nnz, n=n, reason=(
                              f"{method} colouring: {k} Hessian-vector products "
                              f"(lower bound {col.lower_bound}) instead of n = {n}, "
                              f"{how}"))


def hvp(f: Callable[..., Any], x: X, v: X) -> X:
    """The Hessian-vector product ``H(x) v`` of a scalar ``f``, by forward-over-reverse,
    without forming H.

    Costs about one gradient evaluation carrying one tangent.  For many products at
    one point, :func:`dualtape.make_hvp` records the gradient once.

    Parameters
    ----------
    f : callable
        Scalar-valued.
    x : array_like
        The point.
    v : array_like
        The direction, shaped like ``x``.

    Returns
    -------
    Hv : ndarray
        Shaped like ``x``.

    Raises
    ------
    TypeError
        If ``f`` does not return one element.

    Examples
    --------
    >>> f = lambda x: np.sum(x ** 3)                 # H = diag(6 x)
    >>> dt.hvp(f, np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    array([ 6., 12.])
    """
    check_input(x, "hvp")
    check_input(v, "hvp")
    vg = _value_and_grad(checked(f, "hvp"), 0, "hvp", False)
    return jvp(lambda y: vg(y)[1], (x,), (v,))[1]


def make_hvp(f: Callable[P, Any], argnums: int = 0) -> Callable[P, Callable[[Any], Any]]:
    """Curried Hessian-vector products of a scalar ``f`` at one point.

    ``make_hvp(f)(*args, **kwargs)`` records the gradient of ``f`` with respect to
    ``args[argnums]`` once and returns ``hvp(v)``, a forward pass over that recording
    (:func:`dualtape.linearize` of the gradient), so neither ``f`` nor its gradient runs
    again for each ``v``.  Keyword arguments are passed to ``f``.

    Parameters
    ----------
    f : callable
        Scalar-valued.
    argnums : int, default 0
        The argument to differentiate (an array or a pytree of arrays).

    Returns
    -------
    at : callable
        ``at(*args, **kwargs)`` returns ``hvp``, with ``hvp(v) = H v`` shaped like
        ``args[argnums]`` for a ``v`` shaped like it.

    Raises
    ------
    NotImplementedError
        If ``f`` calls a :func:`dualtape.custom_vjp` function without a forward rule.

    Examples
    --------
    >>> f = lambda x: x[0] * x[1] ** 2
    >>> hvp = dt.make_hvp(f)(np.array([1.0, 2.0]))   # H = [[0, 2 x1], [2 x1, 2 x0]]
    >>> hvp(np.array([1.0, 0.0])), hvp(np.array([0.0, 1.0]))
    (array([0., 4.]), array([4., 2.]))
    """
    if not isinstance(argnums, int):
        raise TypeError(f"make_hvp: argnums must be one int, not {argnums!r}")

    @wraps(f)
    def at(*args: Any, **kwargs: Any) -> Callable:
        i = select_args(argnums, len(args))[0][0]
        for leaf in flatten(args[i])[0]:
            check_input(leaf, "make_hvp")
        vg = _value_and_grad(checked(with_kwargs(f, kwargs), "make_hvp"), i, "make_hvp", False)
        _, hvp_v = linearize(lambda x: vg(*args[:i], x, *args[i + 1:])[1], args[i])
        return hvp_v
    return at
