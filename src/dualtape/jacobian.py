"""``dt.jacobian``: full, diagonal and sparse Jacobians, and the mode planner.

Sparse Jacobians are computed exactly, in four steps: detect the pattern
(:mod:`dualtape.sparsity`), colour it (:mod:`dualtape.coloring`), evaluate one
vector-mode pass with one direction per colour (compressed JVPs for a column colouring,
compressed VJPs for a row colouring), and decompress into a ``scipy.sparse`` array.

The planner prices each strategy as (directions) x (cost of one direction): a forward
direction costs 1, a reverse one ``cost_ratio``.  By default that ratio is taken from
the cost counter: the flops of one VJP's derivative work over one JVP's, counted
exactly on ``f`` at ``x`` (:func:`reverse_cost`).  Dense forward needs n directions,
dense reverse m, compressed forward one per column colour and compressed reverse one
per row colour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ._api import sparse as sp

from ._api import checked, to_array
from .forward import jacfwd, jvp_batch
from .registry import Tracer
from .reverse import jacrev, vjp_batch
from .sparsity import sparsity as detect

__all__ = ["jacobian", "JacobianInfo", "plan", "REVERSE_COST"]

#: One reverse direction relative to one forward direction when it is not counted
#: (``cost_ratio=REVERSE_COST``): the textbook operation-count bound is between 1 and 3.
REVERSE_COST = 1.5

#: ``structure="auto"`` goes sparse when the pattern's density is below this...
AUTO_DENSITY = 0.25


@dataclass
class JacobianInfo:
    """What ``dt.jacobian(..., return_info=True)`` did."""

    mode: str                      # "fwd" or "rev"
    structure: str                 # "full", "diagonal" or "sparse"
    passes: int                    # directional derivatives (JVPs or VJPs) computed
    sweeps: int                    # interpreter passes (a pass carries many directions)
    colors: int | None = None      # colours of the compressed strategy used
    lower_bound: int | None = None  # max non-zeros in a row (columns) / column (rows)
    nnz: int | None = None
    n: int = 0
    m: int = 0
    reason: str = ""
    estimates: dict = field(default_factory=dict)


def plan(n: int, m: int, col_colors: int | None = None, row_colors: int | None = None,
         cost_ratio: float = REVERSE_COST, allowed: tuple = ("fwd", "rev"),
         dense: bool = True, compressed: bool = True) -> tuple[str, bool, dict, str]:
    """Choose the cheapest strategy.  Returns ``(mode, is_compressed, estimates, reason)``.

    ``estimates`` maps strategy names ("dense fwd", "dense rev", "compressed fwd",
    "compressed rev") to their price in forward-direction units.
    """
    est: dict[str, float] = {}
    if dense:
        if "fwd" in allowed:
            est["dense fwd"] = float(n)
        if "rev" in allowed:
            est["dense rev"] = m * cost_ratio
    if compressed:
        if "fwd" in allowed and col_colors is not None:
            est["compressed fwd"] = float(col_colors)
        if "rev" in allowed and row_colors is not None:
            est["compressed rev"] = row_colors * cost_ratio
    # On a tie prefer dense (no detection needed) and forward (no tape).
    order = ["dense fwd", "dense rev", "compressed fwd", "compressed rev"]
    best = min(est, key=lambda k: (est[k], order.index(k)))
    mode = best.split()[1]
    parts = {"dense fwd": f"n={n} JVPs", "dense rev": f"m={m} VJPs x {cost_ratio:g}",
             "compressed fwd": f"{col_colors} column colours",
             "compressed rev": f"{row_colors} row colours x {cost_ratio:g}"}
    others = ", ".join(f"{k} {est[k]:g} ({parts[k]})" for k in order if k in est and k != best)
    reason = f"{best}: cost {est[best]:g} ({parts[best]})" + (f" beats {others}" if others else "")
    return mode, best.startswith("compressed"), est, reason


def reverse_cost(f: Callable, x: np.ndarray) -> float:
    """Flops of one VJP's derivative work over one JVP's, for ``f`` at ``x``, counted
    exactly by :func:`dualtape.count` (deterministic; costs a few evaluations of f)."""
    from .counting import count
    one = np.ones((1,) + x.shape, dtype=x.dtype)
    fwd = count(lambda x: jvp_batch(f, x, one)[1], x).derivative_flops

    def pull(x):
        out, back = vjp_batch(f, x)
        return back(np.ones((1,) + np.shape(out), dtype=out.dtype))
    rev = count(pull, x).derivative_flops
    return float(rev / fwd) if fwd > 0 else REVERSE_COST


def _size(x: Any) -> int:
    return int(np.prod(np.shape(x)))


def _full(f: Callable, x: np.ndarray, mode: str, chunk_size: int | None) -> np.ndarray:
    return (jacfwd if mode == "fwd" else jacrev)(f, chunk_size=chunk_size)(x)


def _compressed(f: Callable, x: np.ndarray, pattern: sp.csr_array, coloring: Any,
                out_shape: tuple) -> sp.csr_array:
    from .coloring import decompress, seed_matrix
    seed = seed_matrix(coloring).astype(x.dtype)
    c = coloring.ncolors
    if coloring.kind == "column":
        _, t = jvp_batch(f, x, seed.T.reshape((c,) + x.shape))
        B = np.reshape(t, (c, pattern.shape[0])).T         # (m, c) = J @ seed
    else:
        _, pull = vjp_batch(f, x)
        B = np.reshape(pull(seed.reshape((c,) + out_shape)), (c, x.size))   # (c, n)
    return decompress(pattern, coloring, B)


def jacobian(f: Callable, x: Any, mode: str = "auto", structure: str = "full", *,
             return_info: bool = False, chunk_size: int | None = None,
             sparse_format: str = "csr", sparsity: Any = "global",
             order: str = "auto", cost_ratio: float | None = None) -> Any:
    """The Jacobian of ``f`` (one array in, one array out) at ``x``.

    ``structure``:
      * "full": a dense array, ``J.shape == out.shape + x.shape``.
      * "diagonal": for elementwise maps (n == m): one forward pass with an all-ones
        tangent; a 1-D array of length n (or ``scipy.sparse.dia_array`` with
        ``sparse_format="dia"``).  Raises ``ValueError`` if the detected pattern is not
        diagonal, so it never returns a wrong diagonal.
      * "sparse": a ``scipy.sparse.csr_array`` of shape ``(out.size, x.size)`` (C order),
        exact: detect, colour, compressed vector-mode pass, decompress.
      * "auto": sparse when the detected pattern is sparse enough to pay, else full.
    ``mode``: "fwd", "rev" or "auto" (the planner picks the cheapest).
    ``sparsity``: "global", "local", or a precomputed boolean pattern (m, n).
    ``cost_ratio``: one reverse direction's cost over one forward direction's (None:
    counted on ``f``, see :func:`reverse_cost`).  ``order``: the colouring's vertex
    order ("natural", "largest_first", ...); "auto" colours in natural order and tries
    largest-first only when that did not reach the lower bound.
    ``return_info=True`` returns ``(J, info)``; see :class:`JacobianInfo`.
    """
    if mode not in ("auto", "fwd", "rev"):
        raise ValueError(f"mode must be 'auto', 'fwd' or 'rev', not {mode!r}")
    if structure not in ("full", "diagonal", "sparse", "auto"):
        raise ValueError("structure must be 'full', 'diagonal', 'sparse' or 'auto', "
                         f"not {structure!r}")
    x = to_array(x, fn="jacobian")
    f = checked(f, "jacobian")
    if isinstance(x, Tracer) and structure != "full":
        raise TypeError(
            f"dt.jacobian(structure={structure!r}) returns a scipy.sparse or plain array, "
            f"which cannot carry an outer derivative ({x._trace.mode} mode); use "
            f"structure='full' (or dt.jacfwd / dt.jacrev) inside other derivatives")
    if not np.issubdtype(x.dtype, np.inexact):
        x = x.astype(np.float64)
    n = x.size
    allowed = ("fwd", "rev") if mode == "auto" else (mode,)
    if cost_ratio is None:
        cost_ratio = reverse_cost(f, x) if mode == "auto" else REVERSE_COST

    if structure == "full":
        out_shape = np.shape(f(x))
        m = _size(np.empty(out_shape))
        chosen, _, est, reason = plan(n, m, cost_ratio=cost_ratio, allowed=allowed,
                                      compressed=False)
        J = _full(f, x, chosen, chunk_size)
        sweeps = 1 if chunk_size is None else -(-(n if chosen == "fwd" else m) // chunk_size)
        info = JacobianInfo(chosen, "full", n if chosen == "fwd" else m, sweeps, n=n, m=m,
                            reason=reason, estimates=est)
        return (J, info) if return_info else J

    pattern = _pattern(f, x, sparsity)
    m = pattern.shape[0]
    if structure == "diagonal":
        return _diagonal(f, x, pattern, sparse_format, return_info)

    density = pattern.nnz / max(n * m, 1)
    if structure == "auto" and density >= AUTO_DENSITY:
        # dense enough that compression cannot pay: do not even colour
        chosen, _, est, reason = plan(n, m, cost_ratio=cost_ratio, allowed=allowed,
                                      compressed=False)
        J = _full(f, x, chosen, chunk_size)
        info = JacobianInfo(chosen, "full", n if chosen == "fwd" else m, 1, nnz=pattern.nnz,
                            n=n, m=m, estimates=est, reason=(
                                f"density {density:.2f} >= {AUTO_DENSITY}: " + reason))
        return (J, info) if return_info else J

    cols = _colour("column", pattern, order) if "fwd" in allowed else None
    rows = None
    if "rev" in allowed:
        # Row colours are at least the densest column's count: skip colouring rows
        # when even that bound cannot beat the column colouring.
        row_bound = int(np.bincount(pattern.indices, minlength=n).max()) if pattern.nnz else 0
        if cols is None or row_bound * cost_ratio < cols.ncolors:
            rows = _colour("row", pattern, order)
    chosen, compressed, est, reason = plan(
        n, m, cols.ncolors if cols else None, rows.ncolors if rows else None,
        cost_ratio, allowed, dense=(structure == "auto"))
    if not compressed:
        J = _full(f, x, chosen, chunk_size)
        info = JacobianInfo(chosen, "full", n if chosen == "fwd" else m, 1, nnz=pattern.nnz,
                            n=n, m=m, reason=reason, estimates=est)
        return (J, info) if return_info else J
    coloring = cols if chosen == "fwd" else rows
    out_shape = np.shape(f(x)) if chosen == "rev" else ()
    J = _compressed(f, x, pattern, coloring, out_shape)
    info = JacobianInfo(chosen, "sparse", coloring.ncolors, 1, colors=coloring.ncolors,
                        lower_bound=coloring.lower_bound, nnz=J.nnz, n=n, m=m,
                        reason=reason, estimates=est)
    J = J if sparse_format == "csr" else J.asformat(sparse_format)
    return (J, info) if return_info else J


def _colour(kind: str, pattern: sp.csr_array, order: str) -> Any:
    from .coloring import color_columns, color_rows
    colour = color_columns if kind == "column" else color_rows
    if order != "auto":
        return colour(pattern, order=order)
    first = colour(pattern, order="natural")
    if first.ncolors <= first.lower_bound:       # optimal already (banded patterns)
        return first
    second = colour(pattern, order="largest_first")
    return second if second.ncolors < first.ncolors else first


def _pattern(f: Callable, x: np.ndarray, sparsity: Any) -> sp.csr_array:
    if isinstance(sparsity, str):
        return detect(f, x, kind=sparsity)
    P = sp.csr_array(sparsity, dtype=bool)
    if P.shape[1] != x.size:
        raise ValueError(f"the given sparsity pattern has {P.shape[1]} columns but x has "
                         f"{x.size} elements")
    return P


def _diagonal(f: Callable, x: np.ndarray, pattern: sp.csr_array, sparse_format: str,
              return_info: bool) -> Any:
    n = x.size
    m = pattern.shape[0]
    coo = pattern.tocoo()
    off = coo.row != coo.col
    if m != n or off.any():
        where = (f"it maps {n} inputs to {m} outputs" if m != n else
                 f"output {coo.row[off][0]} depends on input {coo.col[off][0]}")
        raise ValueError(f"structure='diagonal' needs an elementwise map, but {where}; "
                         f"use structure='sparse' or 'full'")
    out, t = jvp_batch(f, x, np.ones((1,) + x.shape, dtype=x.dtype))
    d = np.reshape(t, (n,))
    J = sp.dia_array((d[None, :], [0]), shape=(n, n)) if sparse_format == "dia" else d
    info = JacobianInfo("fwd", "diagonal", 1, 1, colors=1, lower_bound=1 if n else 0,
                        nnz=pattern.nnz, n=n, m=m,
                        reason="diagonal: one forward pass with an all-ones tangent")
    return (J, info) if return_info else J
