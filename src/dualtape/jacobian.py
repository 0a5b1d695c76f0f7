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
reverse one per row colour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ._api import assemble, basis, check_float, checked, to_array, zeros_tangent
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

_MODES = ("auto", "fwd", "rev")
_STRUCTURES = ("full", "diagonal", "sparse", "auto")


@dataclass(frozen=True, eq=False)
class JacobianPlan:
    """What ``dt.jacobian`` decided to compute for ``f`` at an input of ``in_shape`` and
    ``dtype``.  It keeps no values of x; it can be executed again (:func:`execute`).

    ``coloring`` is None for a dense Jacobian (the directions are unit vectors), else the
    column (``mode="fwd"``) or row (``mode="rev"``) colouring whose seed directions are
    pushed or pulled; a diagonal is a one-colour colouring.  ``m`` is None when the plan
    did not need f's output to decide (it is then learned when the plan runs).
    """

    structure: str                 # what is built: "full", "diagonal" or "sparse"
    mode: str                      # "fwd" (JVPs) or "rev" (VJPs)
    n: int
    m: int | None
    in_shape: tuple
    dtype: Any
    coloring: Any = None
    pattern: Any = None
    chunk_size: int | None = None  # directions per sweep (None: all at once)
    sparse_format: str = "csr"
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


@dataclass
class JacobianInfo:
    """What ``dt.jacobian(..., return_info=True)`` did: every field describes what ran."""

    mode: str                      # "fwd" or "rev"
    structure: str                 # "full", "diagonal" or "sparse"
    passes: int                    # directional derivatives (JVPs or VJPs) computed
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
                  chunk_size: int | None = None, sparse_format: str = "csr",
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
    cols = _colour("column", pattern, order) if "fwd" in allowed else None
    rows = None
    if r is not None:
        # Row colours are at least the densest column's count: skip colouring rows
        # when even that bound cannot beat the column colouring.
        row_bound = int(np.bincount(pattern.indices, minlength=n).max()) if pattern.nnz else 0
        if cols is None or row_bound * r < cols.ncolors:
            rows = _colour("row", pattern, order)
    chosen, compressed, est, reason = plan(
        n, m, cols.ncolors if cols else None, rows.ncolors if rows else None,
        r or REVERSE_COST, allowed, dense=(structure == "auto"))
    if not compressed:
        return JacobianPlan("full", chosen, m=m, pattern=pattern, cost_ratio=r,
                            estimates=est, reason=note + reason, **base), rec, priced
    coloring = cols if chosen == "fwd" else rows
    return JacobianPlan("sparse", chosen, m=m, coloring=coloring, pattern=pattern,
                        cost_ratio=r, estimates=est, reason=note + reason,
                        assembly=Assembly.of(pattern, coloring),
                        seeds=_seeds(coloring, x.dtype), **base), rec, priced


def _diagonal_plan(pattern: sp.csr_array, mode: str, base: dict) -> JacobianPlan:
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
    if p.mode == "fwd":
        rec = recording if recording is not None and recording.forward else None
        if rec is not None:
            run.out = rec.out

        def sweep(seeds: Any) -> Any:
            if rec is not None:
                return rec.push(seeds)
            run.out, t = jvp_batch(f, x, seeds)
            return t
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
    B = [np.reshape(b, (b.shape[0], width)) for b in blocks]
    B = B[0] if len(B) == 1 else np.concatenate(B, axis=0)
    if p.structure == "diagonal":
        dvec = np.reshape(B, (p.n,))
        if p.sparse_format == "dia":
            return sp.dia_array((dvec[None, :], [0]), shape=(p.n, p.n)), run
        return dvec, run
    assembly = p.assembly if p.assembly is not None else Assembly.of(p.pattern, p.coloring)
    J = assembly(B)
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

    def __call__(self, B: np.ndarray) -> sp.csr_array:
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
        lower_bound=None if c is None else int(c.lower_bound), nnz=nnz, n=p.n,
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


def jacobian(f: Callable, x: Any, mode: str = "auto", structure: str = "full", *,
             return_info: bool = False, chunk_size: int | None = None,
             sparse_format: str = "csr", sparsity: Any = "global",
             order: str = "auto", cost_ratio: float | None = None) -> Any:
    """The Jacobian of ``f`` (one array in, one array out) at ``x`` (a float or complex
    array; integer and boolean inputs raise ``TypeError``, as in ``jacfwd``).

    ``structure``:
      * "full": a dense array, ``J.shape == out.shape + x.shape``.
      * "diagonal": for elementwise maps (n == m): one pass with an all-ones direction;
        a 1-D array of length n (or ``scipy.sparse.dia_array`` with
        ``sparse_format="dia"``).  Raises ``ValueError`` if the detected pattern is not
        diagonal, so it never returns a wrong diagonal.
      * "sparse": a ``scipy.sparse.csr_array`` of shape ``(out.size, x.size)`` (C order),
        exact: detect, colour, compressed vector-mode passes, decompress.
      * "auto": sparse when the detected pattern is sparse enough to pay, else full.
    ``mode``: "fwd", "rev" or "auto" (the planner picks the cheapest).
    ``sparsity``: "global", "local", or a precomputed boolean pattern (m, n).
    ``chunk_size``: directions per sweep, for every strategy (None: all in one sweep).
    ``cost_ratio``: one reverse direction's cost over one forward direction's (None:
    counted on ``f``, see :func:`reverse_cost`).  ``order``: the colouring's vertex
    order ("natural", "largest_first", ...); "auto" colours in natural order and tries
    largest-first only when that did not reach the lower bound.
    ``return_info=True`` returns ``(J, info)``; see :class:`JacobianInfo`.

    f is evaluated once for ``structure="full"`` (``mode="fwd"`` with a ``chunk_size``:
    once per sweep, as in ``jacfwd``), plus once for sparsity detection otherwise.
    """
    fc = _Calls(checked(f, "jacobian"))
    p, rec, priced = plan_jacobian(fc, x, mode, structure, chunk_size=chunk_size,
                                   sparse_format=sparse_format, sparsity=sparsity,
                                   order=order, cost_ratio=cost_ratio)
    J, run = execute(p, fc, x, rec)
    if not return_info:
        return J
    return J, _report(p, run, fc.calls, priced, J)


def _size(x: Any) -> int:
    return int(np.prod(np.shape(x)))


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
