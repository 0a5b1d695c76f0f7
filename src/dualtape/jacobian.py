"""``dt.jacobian``: full, diagonal and sparse Jacobians, planned once, then executed.

A call has three steps, each in one place:

* **plan** (:func:`plan_jacobian`): decide what to compute from n, m, the sparsity
  pattern, the colourings and the cost ratio, and say why.  The decision is a
  :class:`JacobianPlan`: it holds no values of ``x``, only its shape and dtype (and the
  pattern when a structure needs one).
* **execute** (:func:`execute`): every strategy is the same loop.  A plan has a seed
  matrix of directions (unit vectors for a dense Jacobian, one direction per colour for a
  compressed one, an all-ones direction for a diagonal); the executor pushes them forward
  (``J @ S``, JVPs) or pulls them back (``S @ J``, VJPs) ``chunk_size`` at a time, and
  assembles the blocks (stacking, or decompression into ``scipy.sparse``).
* **report**: :class:`JacobianInfo` is built in :func:`_report` only, from the plan and
  from what the executor counted while it ran.

f is evaluated as rarely as the plan allows.  Pricing the two modes needs a recording
of f: f runs once on a tape that keeps every value, one counted cotangent is swept back
over it and one counted tangent is pushed forward over it (the JVP rules applied to the
recorded values, no new evaluation of f).  The chosen strategy then runs on that same
recording.  So ``dt.jacobian(f, x)`` evaluates f once, and a sparse Jacobian twice
(detection, then the recording or the compressed pass), once with a given pattern.

The planner prices each strategy as (directions) x (cost of one direction): a forward
direction costs 1, a reverse one ``cost_ratio``, by default counted on f at x: the flops
of one VJP's derivative work over one JVP's (:func:`reverse_cost`).  Dense forward needs
n directions, dense reverse m, compressed forward one per column colour and compressed
reverse one per row colour.  With ``mode="auto"`` a bidirectional partition
(:mod:`dualtape.bicoloring`: some entries from compressed JVPs, the rest from compressed
VJPs, both run on the one recording) is priced too, when neither one-sided colouring
is already down to a couple of directions; it wins when a dense row and a dense column
make both one-sided colourings as slow as the dense Jacobian.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Literal, overload

import numpy as np

if TYPE_CHECKING:
    from scipy.sparse import csr_array

from ._api import (assemble, basis, check_float, checked, flatten, shape_of, to_array,
                   unflatten, zeros_tangent)
from .primitives import OPS
from ._api import sparse as sp
from .forward import jvp_batch
from .registry import Tracer
from .reverse import Recording, record_tape
from .sparsity import sparsity as detect

__all__ = ["jacobian", "JacobianInfo", "JacobianPlan", "plan_jacobian", "execute", "plan",
           "reverse_cost", "REVERSE_COST"]

#: One reverse direction relative to one forward direction when it is not counted
#: (``cost_ratio=REVERSE_COST``): the textbook operation-count bound is between 1 and 3.
REVERSE_COST = 1.5

#: ``structure="auto"`` goes sparse when the pattern's density is below this...
AUTO_DENSITY = 0.25

#: A bidirectional partition is searched only when the best one-sided colouring costs
#: more than this many forward directions (below it there is little to gain).
BIDIRECTIONAL_FROM = 2.0

#: The formats of a sparse (or, with "dia", diagonal) Jacobian: scipy.sparse's.
SparseFormat = Literal["csr", "csc", "coo", "bsr", "dia", "dok", "lil"]

#: ``mode`` and ``structure`` of :func:`jacobian`.
Mode = Literal["auto", "fwd", "rev"]
Structure = Literal["full", "diagonal", "sparse", "auto"]

_MODES = ("auto", "fwd", "rev")
_STRUCTURES = ("full", "diagonal", "sparse", "auto")


@dataclass(frozen=True, eq=False)
class JacobianPlan:
    """What ``dt.jacobian`` decided to compute for ``f`` at an input of ``in_shape`` and
    ``dtype``.  It keeps no values of x; it can be executed again (:func:`execute`).

    ``coloring`` is None for a dense Jacobian (the directions are unit vectors), else the
    column (``mode="fwd"``) or row (``mode="rev"``) colouring whose seed directions are
    pushed or pulled, or the :class:`~dualtape.bicoloring.Bicoloring` whose column
    colours are pushed and row colours pulled (``mode="fwd+rev"``); a diagonal is a
    one-colour colouring.  ``m`` is None when the plan
    did not need f's output to decide (it is then learned when the plan runs).
    """

    structure: str                 # what is built: "full", "diagonal" or "sparse"
    mode: str                      # "fwd" (JVPs), "rev" (VJPs) or "fwd+rev" (both)
    n: int
    m: int | None
    in_shape: tuple
    dtype: Any
    coloring: Any = None
    pattern: Any = None
    chunk_size: int | None = None  # directions per sweep (None: all at once)
    sparse_format: SparseFormat = "csr"
    cost_ratio: float | None = None
    estimates: dict = field(default_factory=dict)
    reason: str = ""
    assembly: Any = field(default=None, repr=False)  # sparse: :class:`Assembly`
    seeds: Any = field(default=None, repr=False)     # (colours, seeded size), read-only

    @property
    def directions(self) -> int:
        """Directional derivatives the plan computes: n, m or the number of colours."""
        if self.coloring is not None:
            return int(self.coloring.ncolors)
        return self.n if self.mode == "fwd" else int(self.m or 0)


@dataclass(frozen=True)
class JacobianInfo:
    """What ``dt.jacobian(..., return_info=True)`` did: every field describes what ran.

    Attributes
    ----------
    mode : str
        "fwd", "rev" or "fwd+rev" (a bidirectional partition).
    structure : str
        "full", "diagonal" or "sparse": what was computed (``structure="auto"`` resolved).
    passes : int
        Directional derivatives (JVPs and VJPs) computed.
    sweeps : int
        Interpreter passes that computed them (each carries up to ``chunk_size``
        directions).
    colors : int or None
        Colours of the compressed strategy used (None for dense strategies).
    lower_bound : int or None
        No colouring of that kind uses fewer: the most non-zeros in a row (for columns)
        or in a column (for rows).
    nnz : int or None
        Stored entries of a sparse result.
    n : int
        The input size (all leaves, for pytrees).
    m : int
        The output size (all leaves, for pytrees).
    reason : str
        Why the planner chose this strategy, with the prices it compared.
    estimates : dict
        Every strategy priced, in units of one forward direction.
    evaluations : int
        Calls of ``f``: detection, recording and forward passes.
    pricing_sweeps : int
        Counted one-direction passes run to price the modes.
    cost_ratio : float or None
        One reverse direction's cost over one forward direction's, as planned.
    chunk_size : int or None
        Directions per sweep.
    """

    mode: str                      # "fwd", "rev" or "fwd+rev" (bidirectional)
    structure: str                 # "full", "diagonal" or "sparse"
    passes: int                    # directional derivatives (JVPs and VJPs) computed
    sweeps: int                    # interpreter passes that computed them (each carries
    #                                up to chunk_size directions)
    colors: int | None = None      # colours of the compressed strategy used
    lower_bound: int | None = None  # max non-zeros in a row (columns) / column (rows)
    nnz: int | None = None
    n: int = 0
    m: int = 0
    reason: str = ""
    estimates: dict = field(default_factory=dict)
    evaluations: int = 0           # calls of f: detection, recording, forward passes
    pricing_sweeps: int = 0        # counted one-direction passes run to price the modes
    cost_ratio: float | None = None  # one reverse direction / one forward, as planned
    chunk_size: int | None = None
    plan: JacobianPlan | None = field(default=None, repr=False, compare=False)


def plan(n: int, m: int, col_colors: int | None = None, row_colors: int | None = None,
         cost_ratio: float = REVERSE_COST, allowed: tuple = ("fwd", "rev"),
         dense: bool = True, compressed: bool = True,
         bidirectional: tuple[int, int] | None = None) -> tuple[str, bool, dict, str]:
    """Choose the cheapest strategy.  Returns ``(mode, is_compressed, estimates, reason)``.

    ``estimates`` maps strategy names ("dense fwd", "dense rev", "compressed fwd",
    "compressed rev", "compressed fwd+rev") to their price in forward-direction units.
    ``bidirectional``: ``(JVPs, VJPs)`` of a bidirectional partition, priced when both
    modes are allowed.
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
        if bidirectional is not None and "fwd" in allowed and "rev" in allowed:
            est["compressed fwd+rev"] = bidirectional[0] + bidirectional[1] * cost_ratio
    # On a tie prefer dense (no detection needed), forward (no tape), one-sided.
    order = ["dense fwd", "dense rev", "compressed fwd", "compressed rev",
             "compressed fwd+rev"]
    best = min(est, key=lambda k: (est[k], order.index(k)))
    mode = best.split()[1]
    parts = {"dense fwd": f"n={n} JVPs", "dense rev": f"m={m} VJPs x {cost_ratio:g}",
             "compressed fwd": f"{col_colors} column colours",
             "compressed rev": f"{row_colors} row colours x {cost_ratio:g}",
             "compressed fwd+rev": (f"{bidirectional[0]} JVPs + {bidirectional[1]} VJPs x "
                                    f"{cost_ratio:g}" if bidirectional else "")}
    others = ", ".join(f"{k} {est[k]:g} ({parts[k]})" for k in order if k in est and k != best)
    reason = f"{best}: cost {est[best]:g} ({parts[best]})" + (f" beats {others}" if others else "")
    return mode, best.startswith("compressed"), est, reason


# ---- pricing ---------------------------------------------------------------------------

def _price(rec: Recording) -> tuple[float | None, str]:
    """``(cost_ratio, note)`` counted on a forward recording: the derivative flops of one
    cotangent swept back over its tape over those of one tangent pushed forward.  No
    evaluation of f: the counter sees the recorded values.  ``cost_ratio`` is None (and
    ``note`` says why) when forward mode is impossible (a primitive without a JVP)."""
    from .counting import count
    dtype = rec.x.dtype
    one_in = np.ones((1,) + tuple(np.shape(rec.x)), dtype=dtype)
    one_out = np.ones((1,) + tuple(np.shape(rec.out)), dtype=zeros_tangent(rec.out).dtype)
    vals = rec.values()
    rev = count(lambda v, g: rec.replaced(v).pull(g), vals, one_out).derivative_flops
    try:
        fwd = count(lambda v, t: rec.replaced(v).push(t), vals, one_in).derivative_flops
    except NotImplementedError as e:
        return None, f"forward mode is impossible ({e})"
    return (float(rev / fwd) if fwd > 0 else REVERSE_COST), ""


def reverse_cost(f: Callable, x: Any) -> float:
    """Flops of one VJP's derivative work over one JVP's, for ``f`` at ``x``, counted
    exactly by :func:`dualtape.count` on one recording of f (deterministic; evaluates f
    once)."""
    ratio, note = _price(record_tape(f, x, forward=True, fn="reverse_cost"))
    if ratio is None:
        raise NotImplementedError(f"reverse_cost: {note}")
    return ratio


# ---- plan ------------------------------------------------------------------------------

def plan_jacobian(f: Callable, x: Any, mode: str = "auto", structure: str = "full", *,
                  chunk_size: int | None = None, sparse_format: SparseFormat = "csr",
                  sparsity: Any = "global", order: str = "auto",
                  cost_ratio: float | None = None) -> tuple[JacobianPlan, Recording | None, int]:
    """Decide how to compute the Jacobian of ``f`` at ``x`` (arguments as for
    :func:`jacobian`).

    Returns ``(plan, recording, pricing_sweeps)``: the :class:`JacobianPlan`; the
    recording of f at x made while planning (None if none was needed), which
    :func:`execute` reuses instead of evaluating f again; and the number of counted
    passes run to price the modes (0 or 2).
    """
    if mode not in _MODES:
        raise ValueError(f"mode must be 'auto', 'fwd' or 'rev', not {mode!r}")
    if structure not in _STRUCTURES:
        raise ValueError("structure must be 'full', 'diagonal', 'sparse' or 'auto', "
                         f"not {structure!r}")
    if chunk_size is not None:
        chunk_size = max(1, int(chunk_size))
    x = check_float(to_array(x, fn="jacobian"), "jacobian")
    if isinstance(x, Tracer) and structure != "full":
        raise TypeError(
            f"dt.jacobian(structure={structure!r}) returns a scipy.sparse or plain array, "
            f"which cannot carry an outer derivative ({x._trace.mode} mode); use "
            f"structure='full' (or dt.jacfwd / dt.jacrev) inside other derivatives")
    n = int(x.size)
    allowed = ("fwd", "rev") if mode == "auto" else (mode,)
    base = dict(n=n, in_shape=tuple(x.shape), dtype=x.dtype, chunk_size=chunk_size,
                sparse_format=sparse_format)
    rec: Recording | None = None
    priced = 0
    note = ""

    def price() -> None:
        # one recording serves the pricing and, later, the execution in either mode
        nonlocal rec, priced, cost_ratio, allowed, note
        rec = record_tape(f, x, forward=True, fn="jacobian")
        if cost_ratio is None:
            cost_ratio, note = _price(rec)
            priced = 2
            if cost_ratio is None:
                allowed, cost_ratio, note = ("rev",), REVERSE_COST, note + ": "

    def ratio() -> float | None:
        # the ratio the reverse estimates use (None: no reverse strategy was priced)
        if "rev" not in allowed:
            return None
        return REVERSE_COST if cost_ratio is None else float(cost_ratio)

    def dense(m: int | None, prefix: str = "", **extra: Any) -> tuple:
        chosen, _, est, reason = plan(n, m or 0, cost_ratio=ratio() or REVERSE_COST,
                                      allowed=allowed, compressed=False)
        return JacobianPlan("full", chosen, m=m, cost_ratio=ratio(), estimates=est,
                            reason=prefix + note + reason, **base, **extra), rec, priced

    if structure == "full":
        if mode == "auto":
            price()
        elif mode == "rev":
            rec = record_tape(f, x, fn="jacobian")       # the sweeps need it; it gives m
        return dense(_size(rec.out) if rec is not None else None)

    pattern = _pattern(f, x, sparsity)
    m = int(pattern.shape[0])
    if structure == "diagonal":
        return _diagonal_plan(pattern, mode, base), None, 0

    density = pattern.nnz / max(n * m, 1)
    if structure == "auto" and density >= AUTO_DENSITY:
        # dense enough that compression cannot pay: do not even colour
        if mode == "auto":
            price()
        return dense(m, f"density {density:.2f} >= {AUTO_DENSITY}: ", pattern=pattern)
    if mode == "auto":
        price()
    r = ratio()
    # Lower bounds: a column (row) colouring needs at least the densest row's (column's)
    # count.  A one-sided colouring that cannot beat the best plan so far by its bound
    # is not computed (with a dense row it would cost O(n**2)).
    col_bound = int(np.diff(pattern.indptr).max()) if pattern.nnz else 0
    row_bound = int(np.bincount(pattern.indices, minlength=n).max()) if pattern.nnz else 0
    both = "fwd" in allowed and r is not None
    bi, skipped = None, []

    def bidirectional(r: float) -> Any:
        from .bicoloring import bicolor
        b = bicolor(pattern, cost_ratio=r, order="natural" if order == "auto" else order)
        # one side only: that is a one-sided plan, which the colourings below price
        return b if b.ncol_colors and b.nrow_colors else None
    if both and r is not None and min(col_bound, row_bound * r) > BIDIRECTIONAL_FROM:
        bi = bidirectional(r)
    bi_price = bi.ncol_colors + r * bi.nrow_colors if bi is not None else float("inf")
    cols = None
    if "fwd" in allowed:
        if col_bound <= bi_price:
            cols = _colour("column", pattern, order)
        else:
            skipped.append(f"column colouring not tried (needs >= {col_bound} colours)")
    rows = None
    if r is not None:
        limit = min(cols.ncolors if cols is not None else float("inf"), bi_price)
        if limit == float("inf") or row_bound * r < limit or (
                cols is None and row_bound * r <= bi_price):
            rows = _colour("row", pattern, order)
        elif bi is not None and row_bound * r > bi_price:
            skipped.append(f"row colouring not tried (needs >= {row_bound} colours)")
    if both and r is not None and bi is None and cols is not None:
        one_sided = min(cols.ncolors, rows.ncolors * r if rows else float(n))
        if one_sided > BIDIRECTIONAL_FROM:
            bi = bidirectional(r)
    chosen, compressed, est, reason = plan(
        n, m, cols.ncolors if cols else None, rows.ncolors if rows else None,
        r or REVERSE_COST, allowed, dense=(structure == "auto"),
        bidirectional=(bi.ncol_colors, bi.nrow_colors) if bi is not None else None)
    if skipped:
        reason += "; " + ", ".join(skipped)
    if not compressed:
        return JacobianPlan("full", chosen, m=m, pattern=pattern, cost_ratio=r,
                            estimates=est, reason=note + reason, **base), rec, priced
    coloring = {"fwd": cols, "rev": rows, "fwd+rev": bi}[chosen]
    one_sided = chosen != "fwd+rev"       # a bidirectional plan decompresses its own way
    return JacobianPlan("sparse", chosen, m=m, coloring=coloring, pattern=pattern,
                        cost_ratio=r, estimates=est, reason=note + reason,
                        assembly=Assembly.of(pattern, coloring) if one_sided else None,
                        seeds=_seeds(coloring, x.dtype) if one_sided else None,
                        **base), rec, priced


def _diagonal_plan(pattern: csr_array, mode: str, base: dict) -> JacobianPlan:
    from .coloring import Coloring
    n = base["n"]
    m = int(pattern.shape[0])
    coo = pattern.tocoo()
    off = coo.row != coo.col
    if m != n or off.any():
        where = (f"it maps {n} inputs to {m} outputs" if m != n else
                 f"output {coo.row[off][0]} depends on input {coo.col[off][0]}")
        raise ValueError(f"structure='diagonal' needs an elementwise map, but {where}; "
                         f"use structure='sparse' or 'full'")
    chosen = "rev" if mode == "rev" else "fwd"
    # the diagonal is the compressed Jacobian of a one-colour colouring
    one = Coloring(colors=np.zeros(n, dtype=np.intp), ncolors=1 if n else 0,
                   lower_bound=1 if n else 0, kind="column" if chosen == "fwd" else "row",
                   order="natural")
    how = "forward pass with an all-ones tangent" if chosen == "fwd" else \
        "reverse sweep with an all-ones cotangent"
    reason = f"diagonal: one {how}" + (" (mode='auto': forward needs no tape)"
                                       if mode == "auto" else "")
    return JacobianPlan("diagonal", chosen, m=m, coloring=one, pattern=pattern,
                        estimates={f"compressed {chosen}": 1.0}, reason=reason,
                        seeds=_seeds(one, base["dtype"]), **base)


# ---- execute ---------------------------------------------------------------------------

@dataclass
class _Run:
    """What the executor did: directions pushed or pulled, and sweeps that carried them."""

    passes: int = 0
    sweeps: int = 0
    out: Any = None


def execute(p: JacobianPlan, f: Callable, x: Any,
            recording: Recording | None = None) -> tuple[Any, _Run]:
    """Run plan ``p`` for ``f`` at ``x``; returns ``(J, run)``.

    ``recording`` is a recording of ``f`` at this same ``x`` (from
    :func:`plan_jacobian`); with it no new evaluation of f is needed.  Without it,
    forward sweeps evaluate f each (as ``jacfwd`` does) and reverse sweeps record it once.
    """
    x = check_float(to_array(x, fn="jacobian"), "jacobian")
    if tuple(x.shape) != p.in_shape or x.dtype != p.dtype:
        raise ValueError(f"this Jacobian plan was made for inputs of shape {p.in_shape} "
                         f"and dtype {p.dtype}, not {tuple(x.shape)} and {x.dtype}; "
                         f"plan again for this input")
    run = _Run()
    sweep: Callable[[Any], Any]
    if p.mode == "fwd+rev":
        return _execute_bidirectional(p, f, x, recording, run)
    if p.mode == "fwd":
        rec = recording if recording is not None and recording.forward else None
        if rec is not None:
            run.out = rec.out

        def push(seeds: Any) -> Any:
            if rec is not None:
                return rec.push(seeds)
            run.out, t = jvp_batch(f, x, seeds)
            return t
        sweep = push
        dims = p.in_shape
    else:
        rec = recording if recording is not None else record_tape(f, x, fn="jacobian")
        run.out = rec.out
        sweep = rec.pull
        dims = tuple(np.shape(rec.out))

    if run.out is not None:
        _check_out(p, run.out)
    d = p.directions
    if p.coloring is not None:
        S = p.seeds if p.seeds is not None else _seeds(p.coloring, p.dtype)
    k = d if p.chunk_size is None else p.chunk_size
    blocks = []
    for start in range(0, max(d, 1), max(k, 1)):      # one sweep even for no directions
        stop = min(start + k, d)
        if p.coloring is None:
            size = p.n if p.mode == "fwd" else _size(run.out)
            seeds = basis(size, start, stop, dims, _seed_dtype(p, run.out))
        else:
            seeds = S[start:stop].reshape((stop - start,) + dims)
        blocks.append(sweep(seeds))
        run.passes += stop - start
        run.sweeps += 1
    _check_out(p, run.out)

    if p.structure == "full":
        return assemble(run.out, blocks, p.in_shape, columns=(p.mode == "fwd")), run
    width = _size(run.out) if p.mode == "fwd" else p.n        # B: one row per colour
    Bs = [np.reshape(b, (b.shape[0], width)) for b in blocks]
    B = Bs[0] if len(Bs) == 1 else np.concatenate(Bs, axis=0)
    if p.structure == "diagonal":
        dvec = np.reshape(B, (p.n,))
        if p.sparse_format == "dia":
            return sp.dia_array((dvec[None, :], [0]), shape=(p.n, p.n)), run
        return dvec, run
    assembly = p.assembly if p.assembly is not None else Assembly.of(p.pattern, p.coloring)
    J = assembly(B)
    return (J if p.sparse_format == "csr" else J.asformat(p.sparse_format)), run


def _execute_bidirectional(p: JacobianPlan, f: Callable, x: Any,
                           recording: Recording | None, run: _Run) -> tuple[Any, _Run]:
    """Both sides of a bidirectional partition on one recording: the column colours
    pushed (``J @ S_c``), the row colours pulled (``S_r @ J``), then direct decompression."""
    from .bicoloring import decompress, seed_matrices
    rec = recording if recording is not None and recording.forward else \
        record_tape(f, x, forward=True, fn="jacobian")
    run.out = rec.out
    _check_out(p, run.out)
    sc, sr = seed_matrices(p.coloring, p.dtype)
    m, out_shape = _size(rec.out), tuple(np.shape(rec.out))

    def side(S: np.ndarray, sweep: Callable, dims: tuple, width: int) -> np.ndarray:
        d = S.shape[0]
        k = d if p.chunk_size is None else p.chunk_size
        blocks = [np.zeros((0, width), dtype=S.dtype)]
        for start in range(0, d, max(k, 1)):
            stop = min(start + k, d)
            t = sweep(S[start:stop].reshape((stop - start,) + dims))
            blocks.append(np.reshape(t, (stop - start, width)))
            run.passes += stop - start
            run.sweeps += 1
        return np.concatenate(blocks, axis=0)
    fwd = side(sc.T, rec.push, p.in_shape, m)                         # (JVPs, m)
    rev = side(sr.astype(zeros_tangent(rec.out).dtype), rec.pull, out_shape, p.n)
    J = decompress(p.pattern, p.coloring, fwd.T, rev)
    return (J if p.sparse_format == "csr" else J.asformat(p.sparse_format)), run


@dataclass(frozen=True, eq=False)
class Assembly:
    """How a sparse plan turns its compressed block into a CSR Jacobian, built once per
    plan: the canonical CSR structure of the pattern, and for every stored entry its
    position in the compressed block ``B`` of shape ``(colours, width)`` (row c is the
    pass of seed c; width m forwards, n backwards), so that ``J.data = B.flat[take]``.
    An evaluation then only gathers values (direct decompression, Curtis-Powell-Reid)."""

    take: np.ndarray      # (nnz,) flat positions into B
    indices: np.ndarray   # (nnz,) column indices, sorted within each row
    indptr: np.ndarray    # (m + 1,)
    shape: tuple          # (m, n)

    @staticmethod
    def of(pattern: Any, coloring: Any) -> "Assembly":
        """The assembly of ``pattern`` (m, n) under a column or row ``coloring`` of it."""
        from .coloring import _csr_structure
        s = _csr_structure(pattern)
        rows = np.repeat(np.arange(s.m, dtype=np.intp), np.diff(s.indptr))
        cols = s.indices.astype(np.intp, copy=False)
        colors = np.asarray(coloring.colors, dtype=np.intp)
        if coloring.kind == "column":      # B[c, i] = (J S)[i, c]: J[i, j] at c = colour(j)
            take = colors[cols] * s.m + rows
        else:                              # B[c, j] = (S J)[c, j]: J[i, j] at c = colour(i)
            take = colors[rows] * s.n + cols
        arrays = (take, s.indices.copy(), s.indptr.copy())
        for a in arrays:
            a.setflags(write=False)      # shared by every evaluation of the plan
        return Assembly(*arrays, (s.m, s.n))

    def __call__(self, B: np.ndarray) -> csr_array:
        """The CSR Jacobian whose compressed block is ``B`` (colours, width)."""
        values = np.take(np.reshape(B, -1), self.take)
        # each Jacobian owns its index arrays: scipy methods rewrite them in place
        J = sp.csr_array((values, self.indices.copy(), self.indptr.copy()),
                         shape=self.shape)
        J.has_sorted_indices = True
        J.has_canonical_format = True
        return J


def _check_out(p: JacobianPlan, out: Any) -> None:
    if p.m is not None and _size(out) != p.m:
        raise ValueError(f"dt.jacobian: the plan (its sparsity pattern) has {p.m} output "
                         f"rows, but f returns {_size(out)} elements at this input")


def _seeds(coloring: Any, dtype: Any) -> np.ndarray:
    """One row per colour: the seed directions of a colouring, ``(ncolors, size)``,
    C-contiguous (the passes run fastest on it) and read-only (a plan shares it)."""
    from .coloring import seed_matrix
    S = seed_matrix(coloring).astype(dtype)
    S = np.ascontiguousarray(S.T if coloring.kind == "column" else S)
    S.setflags(write=False)
    return S


def _seed_dtype(p: JacobianPlan, out: Any) -> Any:
    # as jacfwd / jacrev seed: the input's dtype forwards, the output's backwards
    return p.dtype if p.mode == "fwd" else zeros_tangent(out).dtype


# ---- report ----------------------------------------------------------------------------

def _report(p: JacobianPlan, run: _Run, evaluations: int, pricing_sweeps: int,
            J: Any) -> JacobianInfo:
    """The one place a :class:`JacobianInfo` is made: the plan's decision and what the
    executor counted."""
    c = p.coloring
    nnz = J.nnz if p.structure == "sparse" else (p.pattern.nnz if p.pattern is not None
                                                 else None)
    return JacobianInfo(
        mode=p.mode, structure=p.structure, passes=run.passes, sweeps=run.sweeps,
        colors=None if c is None else int(c.ncolors),
        lower_bound=None if c is None or c.lower_bound is None else int(c.lower_bound),
        nnz=nnz, n=p.n,
        m=_size(run.out), reason=p.reason, estimates=dict(p.estimates),
        evaluations=evaluations, pricing_sweeps=pricing_sweeps, cost_ratio=p.cost_ratio,
        chunk_size=p.chunk_size, plan=p)


class _Calls:
    """f, counting its calls: the evaluations JacobianInfo reports are measured."""

    __slots__ = ("f", "calls")

    def __init__(self, f: Callable) -> None:
        self.f = f
        self.calls = 0

    def __call__(self, *args: Any) -> Any:
        self.calls += 1
        return self.f(*args)


@overload
def jacobian(f: Callable[[Any], Any], x: Any, mode: Mode = "auto",
             structure: Literal["full", "diagonal", "auto"] = "full", *,
             return_info: Literal[False] = False, chunk_size: int | None = None,
             sparse_format: SparseFormat = "csr", sparsity: Any = "global",
             order: str = "auto", cost_ratio: float | None = None) -> Any: ...
@overload
def jacobian(f: Callable[[Any], Any], x: Any, mode: Mode = "auto",
             structure: Literal["full", "diagonal", "auto"] = "full", *,
             return_info: Literal[True], chunk_size: int | None = None,
             sparse_format: SparseFormat = "csr", sparsity: Any = "global",
             order: str = "auto", cost_ratio: float | None = None) -> tuple[Any, JacobianInfo]: ...
@overload
def jacobian(f: Callable[[Any], Any], x: Any, mode: Mode, structure: Literal["sparse"], *,
             return_info: Literal[False] = False, chunk_size: int | None = None,
             sparse_format: SparseFormat = "csr", sparsity: Any = "global",
             order: str = "auto", cost_ratio: float | None = None) -> csr_array: ...
@overload
def jacobian(f: Callable[[Any], Any], x: Any, mode: Mode = "auto", *,
             structure: Literal["sparse"], return_info: Literal[False] = False,
             chunk_size: int | None = None,
             sparse_format: SparseFormat = "csr", sparsity: Any = "global",
             order: str = "auto", cost_ratio: float | None = None) -> csr_array: ...
@overload
def jacobian(f: Callable[[Any], Any], x: Any, mode: Mode, structure: Literal["sparse"], *,
             return_info: Literal[True], chunk_size: int | None = None,
             sparse_format: SparseFormat = "csr", sparsity: Any = "global",
             order: str = "auto", cost_ratio: float | None = None
             ) -> tuple[csr_array, JacobianInfo]: ...
@overload
def jacobian(f: Callable[[Any], Any], x: Any, mode: Mode = "auto", *,
             structure: Literal["sparse"], return_info: Literal[True],
             chunk_size: int | None = None,
             sparse_format: SparseFormat = "csr", sparsity: Any = "global",
             order: str = "auto", cost_ratio: float | None = None
             ) -> tuple[csr_array, JacobianInfo]: ...
def jacobian(f: Callable[[Any], Any], x: Any, mode: Mode = "auto",
             structure: Structure = "full", *, return_info: bool = False,
             chunk_size: int | None = None,
             sparse_format: SparseFormat = "csr", sparsity: Any = "global",
             order: str = "auto", cost_ratio: float | None = None) -> Any:
    """The Jacobian of ``f`` (one array in, one array out) at ``x``: full, diagonal or
    sparse, by the cheapest mode.

    A call plans (sparsity detection, colouring, pricing the modes), then executes.
    ``f`` is evaluated once for ``structure="full"`` (``mode="fwd"`` with a
    ``chunk_size``: once per sweep, as in ``jacfwd``), plus once for sparsity detection
    otherwise.

    With ``structure="full"``, ``x`` and f's output may be pytrees (nested tuples,
    lists, dicts, namedtuples; ``None`` is an empty subtree): J nests as in JAX,
    ``J[out_path][in_path]`` of shape ``out_leaf.shape + in_leaf.shape``.  The leaves
    are planned and computed as one vector in and one vector out (the numbers n and m
    in ``info`` count all leaves); their dtypes are promoted to a common one.

    Parameters
    ----------
    f : callable
        ``f(x)`` returns an array (a pytree with ``structure="full"``).
    x : array_like
        A float or complex array, shape ``(n,)`` or any shape.
    mode : {"auto", "fwd", "rev"}, default "auto"
        "auto": the planner prices forward and reverse (and, for sparse structures,
        compressed and bidirectional strategies) and runs the cheapest.
    structure : {"full", "diagonal", "sparse", "auto"}, default "full"
        "full": a dense array.  "diagonal": for elementwise maps (n == m), one pass with
        an all-ones direction.  "sparse": detect, colour, compressed vector-mode passes,
        decompress; exact.  "auto": sparse when the detected pattern is sparse enough to
        pay, else full.
    return_info : bool, default False
        Also return a :class:`JacobianInfo` saying what ran and why.
    chunk_size : int, optional
        Directions per sweep, for every strategy (None: all in one sweep).
    sparse_format : {"csr", "dia", ...}, default "csr"
        The scipy.sparse format of a sparse or diagonal result.
    sparsity : {"global", "local"} or boolean array of shape (m, n), default "global"
        How to find the pattern: valid for every input ("global"), at this ``x`` only
        ("local"), or the given pattern.
    order : str, default "auto"
        The colouring's vertex order ("natural", "largest_first", ...); "auto" colours in
        natural order and tries largest-first only when that did not reach the lower
        bound.
    cost_ratio : float, optional
        One reverse direction's cost over one forward direction's (None: counted on
        ``f``, see :func:`dualtape.jacobian.reverse_cost`).

    Returns
    -------
    J : ndarray, scipy.sparse.csr_array or pytree
        "full": ``J.shape == out.shape + x.shape``.  "diagonal": a 1-D array of length n
        (a ``scipy.sparse.dia_array`` with ``sparse_format="dia"``).  "sparse": a
        ``csr_array`` of shape ``(out.size, x.size)``, indices in C order.
    info : JacobianInfo
        Only with ``return_info=True``: ``(J, info)``.

    Raises
    ------
    TypeError
        If ``x`` is an integer or boolean array, or a pytree with a structure other than
        "full".
    ValueError
        With ``structure="diagonal"`` if the detected pattern is not diagonal (it never
        returns a wrong diagonal); for an unknown mode or structure.

    Examples
    --------
    >>> def f(x):                                  # f_i = x_i^2 - x_{i+1}
    ...     return x[:-1] ** 2 - x[1:]
    >>> J, info = dt.jacobian(f, np.arange(5.0), structure="sparse", return_info=True)
    >>> J.shape, J.nnz, info.colors                # (m, n), 2 entries a row, 2 colours
    ((4, 5), 8, 2)
    >>> J.toarray()[0]
    array([ 0., -1.,  0.,  0.,  0.])
    >>> dt.jacobian(np.tanh, np.zeros(3), structure="diagonal")
    array([1., 1., 1.])
    """
    fc = _Calls(checked(f, "jacobian"))
    if structure != "full" and isinstance(x, (tuple, list, dict)):
        for v in flatten(x)[0]:
            check_float(to_array(v, fn="jacobian"), "jacobian")     # as jacfwd refuses
        raise TypeError(f"jacobian: structure={structure!r} needs one array in and one "
                        f"array out, but x is a {type(x).__name__}; pytrees work with "
                        f"structure='full' (or dt.jacfwd / dt.jacrev), or ravel them into "
                        f"one vector for a {structure} Jacobian")
    tree = _Trees(x) if structure == "full" else None
    fx, xv = (fc, x) if tree is None else (tree.wrap(fc), tree.ravel_in())
    p, rec, priced = plan_jacobian(fx, xv, mode, structure, chunk_size=chunk_size,
                                   sparse_format=sparse_format, sparsity=sparsity,
                                   order=order, cost_ratio=cost_ratio)
    J, run = execute(p, fx, xv, rec)
    if tree is not None:
        J = tree.unravel(J)
    if not return_info:
        return J
    return J, _report(p, run, fc.calls, priced, J)


def _size(x: Any) -> int:
    return int(np.prod(np.shape(x)))


def _colour(kind: str, pattern: csr_array, order: str) -> Any:
    from .coloring import color_columns, color_rows
    colour = color_columns if kind == "column" else color_rows
    if order != "auto":
        return colour(pattern, order=order)
    first = colour(pattern, order="natural")
    if first.ncolors <= first.lower_bound:       # optimal already (banded patterns)
        return first
    second = colour(pattern, order="largest_first")
    return second if second.ncolors < first.ncolors else first


def _pattern(f: Callable, x: np.ndarray, sparsity: Any) -> csr_array:
    if isinstance(sparsity, str):
        return detect(f, x, kind=sparsity)
    P = sp.csr_array(sparsity, dtype=bool)
    if P.shape[1] != x.size:
        raise ValueError(f"the given sparsity pattern has {P.shape[1]} columns but x has "
                         f"{x.size} elements")
    return P


class _Trees:
    """Pytree input and output of a full Jacobian, seen as one vector each: the plan and
    the executor handle one array in and one array out, and J is cut back into
    ``J[out_path][in_path]`` blocks.  An array (not a container) stays as it is."""

    def __init__(self, x: Any) -> None:
        self.in_tree = isinstance(x, (tuple, list, dict))
        leaves, self.in_spec = flatten(x)
        self.in_leaves = [check_float(to_array(v, fn="jacobian"), "jacobian")
                          for v in leaves] if self.in_tree else leaves
        self.out_spec: Any = None
        self.out_shapes: list = []

    def ravel_in(self) -> Any:
        if not self.in_tree:
            return self.in_leaves[0]
        if not self.in_leaves:
            return np.zeros(0)
        return _concat([OPS["reshape"](v, (-1,)) for v in self.in_leaves])

    def wrap(self, f: Callable) -> Callable:
        def flat(v: Any) -> Any:
            if self.in_tree:
                parts, o = [], 0
                for leaf in self.in_leaves:
                    s = int(np.prod(shape_of(leaf)))
                    parts.append(OPS["reshape"](v[o:o + s], shape_of(leaf)))
                    o += s
                v = unflatten(self.in_spec, parts)
            out = f(v)
            if not isinstance(out, (tuple, list, dict)):
                self.out_spec = None
                return out
            leaves, self.out_spec = flatten(out)
            self.out_shapes = [shape_of(leaf) for leaf in leaves]
            if not leaves:
                return np.zeros(0)
            return _concat([OPS["reshape"](leaf, (-1,)) for leaf in leaves])
        return flat

    def unravel(self, J: Any) -> Any:
        out_shapes = self.out_shapes if self.out_spec is not None else None
        rows: list = []
        if out_shapes is None:
            rows = [J]
            lead = [shape_of(J)[:len(shape_of(J)) - (1 if self.in_tree else
                                                     len(shape_of(self.in_leaves[0])))]]
        else:
            o = 0
            lead = []
            for shp in out_shapes:
                s = int(np.prod(shp))
                rows.append(OPS["reshape"](J[o:o + s], tuple(shp) + shape_of(J)[1:]))
                lead.append(tuple(shp))
                o += s
        blocks = []
        for row, shp in zip(rows, lead):
            if not self.in_tree:
                blocks.append(row)
                continue
            parts, o = [], 0
            for leaf in self.in_leaves:
                s = int(np.prod(shape_of(leaf)))
                parts.append(OPS["reshape"](row[..., o:o + s], tuple(shp) + shape_of(leaf)))
                o += s
            blocks.append(unflatten(self.in_spec, parts))
        return blocks[0] if self.out_spec is None else unflatten(self.out_spec, blocks)


def _concat(parts: list) -> Any:
    return parts[0] if len(parts) == 1 else OPS["concatenate"](parts, 0)
