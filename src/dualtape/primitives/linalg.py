"""Products.  ``matmul`` follows numpy: 1-D operands are promoted to a row (left)
or a column (right) and stacked axes broadcast.  Its rules work on the promoted shapes
and restore the output's shape, so batch axes of tangents never meet numpy's 1-D rules.

``einsum`` is one primitive over any number of operands in a canonical form (letters
only); its JVP puts each tangent in its operand's place, its VJP contracts the
cotangent with the other operands into the operand's subscripts (identity factors put
a diagonal back, ones spread over indices summed in that operand only).  Its structure
rule is exact: it enumerates index assignments.  ``tensordot``, ``inner``, ``outer``,
``vdot`` and ``kron`` are composites of matmul, reshapes and broadcast products.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..registry import bind
from . import _cost, _fold, _structure
from . import sparse as _sparse
from ._rules import OPS, define, ndim, shape, unbroadcast


def _promoted(a_shape: tuple, b_shape: tuple) -> tuple[tuple, tuple, tuple]:
    """The shapes numpy's matmul works with: a as >= 2-D, b as >= 2-D, and the output."""
    a2 = (1,) + a_shape if len(a_shape) == 1 else a_shape
    b2 = b_shape + (1,) if len(b_shape) == 1 else b_shape
    stack = np.broadcast_shapes(a2[:-2], b2[:-2])
    return a2, b2, tuple(stack) + (a2[-2], b2[-1])


def _lift(t: Any, nb: int, target: tuple, ndim_out: int) -> Any:
    """Batch + ``target`` with singleton axes so stacked axes align right of the batch."""
    batch = tuple(shape(t)[:nb])
    return OPS["reshape"](t, batch + (1,) * (ndim_out - len(target)) + target)


def _mT(x: Any) -> Any:
    return OPS["swapaxes"](x, -1, -2)


def _jvp_a(t, ans, a, b):
    a2, b2, o2 = _promoted(shape(a), shape(b))
    nb = ndim(t) - ndim(a)
    r = matmul(_lift(t, nb, a2, len(o2)), OPS["reshape"](b, b2))
    return OPS["reshape"](r, tuple(shape(t)[:nb]) + shape(ans))


def _jvp_b(t, ans, a, b):
    a2, b2, o2 = _promoted(shape(a), shape(b))
    nb = ndim(t) - ndim(b)
    r = matmul(OPS["reshape"](a, a2), _lift(t, nb, b2, len(o2)))
    return OPS["reshape"](r, tuple(shape(t)[:nb]) + shape(ans))


def _vjp_a(g, ans, a, b):
    a2, b2, o2 = _promoted(shape(a), shape(b))
    nb = ndim(g) - ndim(ans)
    batch = tuple(shape(g)[:nb])
    ga = matmul(OPS["reshape"](g, batch + o2), _mT(OPS["reshape"](b, b2)))
    return OPS["reshape"](unbroadcast(ga, a2, nb), batch + shape(a))


def _vjp_b(g, ans, a, b):
    a2, b2, o2 = _promoted(shape(a), shape(b))
    nb = ndim(g) - ndim(ans)
    batch = tuple(shape(g)[:nb])
    gb = matmul(_mT(OPS["reshape"](a, a2)), OPS["reshape"](g, batch + o2))
    return OPS["reshape"](unbroadcast(gb, b2, nb), batch + shape(b))


matmul_p = define("matmul", _fold.matmul, jvp=(_jvp_a, _jvp_b), vjp=(_vjp_a, _vjp_b),
                  sparsity=_structure.matmul, cost=_cost.matmul, residuals=(0, 1))


def matmul(a: Any, b: Any) -> Any:
    """numpy's matmul (the ``@`` operator); 0-d operands are an error, as in numpy.  A
    scipy.sparse array/matrix or LinearOperator operand is a constant applied by
    ``sparse_matmul``."""
    if _sparse.is_operator(a) or _sparse.is_operator(b):
        return _sparse.matmul(a, b)
    if ndim(a) == 0 or ndim(b) == 0:
        raise ValueError("matmul: input operand does not have enough dimensions "
                         "(use multiply for scalars)")
    return bind(matmul_p, a, b)


def dot(a: Any, b: Any) -> Any:
    """numpy's dot: a product over the last axis of ``a`` and the second-to-last of ``b``."""
    if _sparse.is_operator(a) or _sparse.is_operator(b):
        return _sparse.matmul(a, b)
    na, nb_ = ndim(a), ndim(b)
    if na == 0 or nb_ == 0:
        return OPS["multiply"](a, b)
    if na <= 2 and nb_ <= 2:
        return matmul(a, b)
    if nb_ == 1:
        return matmul(a, b)
    sa, sb = shape(a), shape(b)
    lhs = OPS["reshape"](a, (-1, sa[-1]))
    rhs = OPS["reshape"](OPS["moveaxis"](b, -2, 0), (sb[-2], -1))
    return OPS["reshape"](matmul(lhs, rhs), sa[:-1] + sb[:-2] + sb[-1:])


OPS["matmul"] = matmul
OPS["dot"] = dot


# ---- einsum --------------------------------------------------------------------------
# The primitive takes a canonical form: one string of letters per operand and one for the
# output, no ellipsis and no implicit output (``parse_einsum`` produces it).  Rules add
# fresh letters in front for the batch axes of tangents and cotangents, so a rule applied
# to an einsum that a rule produced (second order) still finds unused letters.
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _fresh(used: str, k: int) -> str:
    free = [c for c in _LETTERS if c not in used]
    if len(free) < k:
        raise ValueError("einsum: too many distinct indices (at most 52 letters)")
    return "".join(free[:k])


def _einsum_impl(*operands, ins, out):
    spec = ",".join(ins) + "->" + out
    big = len(operands) > 2 or max((np.size(o) for o in operands), default=0) > 4096
    return np.einsum(spec, *operands, optimize=bool(big))


def _letter_sizes(ins: Sequence[str], shapes: Sequence[tuple]) -> dict:
    sizes: dict = {}
    for spec, shp in zip(ins, shapes):
        for c, d in zip(spec, shp):
            if sizes.get(c, 1) == 1:
                sizes[c] = d
    return sizes


def _einsum_jvp(tangents, ans, *xs, ins, out):
    res = None
    used = "".join(ins) + out
    for i, t in enumerate(tangents):
        if t is None:
            continue
        nb = ndim(t) - ndim(xs[i])
        b = _fresh(used, nb)
        specs = list(ins)
        specs[i] = b + ins[i]
        ops = list(xs)
        ops[i] = t
        c = bind(einsum_p, *ops, ins=tuple(specs), out=b + out)
        res = c if res is None else res + c
    return res


def _einsum_vjp(g, ans, needed, *xs, ins, out):
    from .complex import match_real, real_dtype
    nb = ndim(g) - ndim(ans)
    used = "".join(ins) + out
    b = _fresh(used, nb)
    used += b
    sizes = _letter_sizes(ins, [shape(x) for x in xs])
    res = []
    for i, need in enumerate(needed):
        if not need:
            res.append(None)
            continue
        x = xs[i]
        dtype = real_dtype(getattr(x, "dtype", np.float64))
        others = "".join(s for j, s in enumerate(ins) if j != i) + out
        ops = [g] + [xj for j, xj in enumerate(xs) if j != i]
        specs = [b + out] + [s for j, s in enumerate(ins) if j != i]
        target = ""
        for c, d in zip(ins[i], shape(x)):
            if c in target:
                # A repeated index (a diagonal): the cotangent lives on the diagonal.
                f = _fresh(used, 1)
                used += f
                ops.append(np.eye(d, dtype=dtype))
                specs.append(c + f)
                target += f
            elif d == 1 and sizes[c] != 1:
                # A broadcast axis of length 1: sum the cotangent over it.
                f = _fresh(used, 1)
                used += f
                ops.append(np.ones(1, dtype=dtype))
                specs.append(f)
                target += f
            elif c not in others:
                # Summed over in this operand only: the cotangent is constant along it.
                ops.append(np.ones(d, dtype=dtype))
                specs.append(c)
                target += c
            else:
                target += c
        r = bind(einsum_p, *ops, ins=tuple(specs), out=b + target)
        res.append(match_real(r, x))
    return tuple(res)


def _einsum_sparsity(pats, ans, primals, params, local):
    """Output element o depends on element e of operand i when some assignment of all
    indices gives o and e and every other operand is non-zero there (a traced operand
    counts as non-zero in global mode).  The assignments are enumerated, so the work is
    that of the einsum itself; beyond a few million the rule falls back to dense."""
    import scipy.sparse as sp    # only sparsity detection needs it
    ins, out = params["ins"], params["out"]
    m = int(np.size(ans))
    n = next(P.shape[1] for P in pats if P is not None)
    sizes = _letter_sizes(ins, [np.shape(x) for x in primals])
    letters = sorted(sizes)
    total = int(np.prod([sizes[c] for c in letters]))
    if total > 4_000_000:
        cols = np.unique(np.concatenate([P.indices for P in pats if P is not None]))
        return sp.csr_array((np.ones(m * cols.size, dtype=bool), np.tile(cols, m),
                             np.arange(m + 1) * cols.size), shape=(m, n))
    grid = np.indices([sizes[c] for c in letters]).reshape(len(letters), total)
    pos = {c: grid[k] for k, c in enumerate(letters)}
    zero = np.zeros(total, dtype=np.intp)

    def flat(spec: str, shp: tuple) -> np.ndarray:
        # A repeated letter reads one position twice: the diagonal, by construction.
        if not spec:
            return zero
        return np.ravel_multi_index([pos[c] if d != 1 else zero
                                     for c, d in zip(spec, shp)], shp)

    out_idx = flat(out, np.shape(ans))
    acc = None
    for i, P in enumerate(pats):
        if P is None:
            continue
        keep = np.ones(total, dtype=bool)
        for j, (spec, x) in enumerate(zip(ins, primals)):
            if j != i and (pats[j] is None or local):
                keep &= np.asarray(x).ravel()[flat(spec, np.shape(x))] != 0
        S = sp.csr_array((np.ones(int(keep.sum()), dtype=bool),
                          (out_idx[keep], flat(ins[i], np.shape(primals[i]))[keep])),
                         shape=(m, int(np.size(primals[i]))))
        part = (S @ P).tocsr().astype(bool)
        acc = part if acc is None else (acc + part).tocsr()
    return acc


def _contraction_flops(specs: Sequence[str], sizes: dict) -> int:
    """One term per assignment of the letters the operands use, and per term one
    multiplication per extra operand and one addition: k * prod(sizes) for k operands
    (2 m n p for ij,jk->ik, as matmul; n for ii->, a trace)."""
    letters = set("".join(specs))
    return len(specs) * int(np.prod([sizes[c] for c in letters]))


@_cost.formula("k * (product of all index lengths) for k <= 2 operands; more: summed "
               "over numpy's pairwise path")
def _einsum_cost(ans, args, params):
    ins, out = params["ins"], params["out"]
    shapes = [np.shape(a) for a in args]
    sizes = _letter_sizes(ins, shapes)
    if len(ins) <= 2:
        return _contraction_flops(ins, sizes)
    # The implementation lets numpy contract pairwise along the path it chooses; count
    # that path, each step a two-operand contraction into the letters still needed.
    path = np.einsum_path(",".join(ins) + "->" + out, *[np.empty(s) for s in shapes],
                          optimize="greedy")[0][1:]
    specs, total = list(ins), 0
    for step in path:
        taken = [specs[i] for i in step]
        for i in sorted(step, reverse=True):
            del specs[i]
        keep = set("".join(specs) + out)
        total += _contraction_flops(taken, sizes)
        specs.append("".join(sorted(set("".join(taken)) & keep)))
    return total


einsum_p = define("einsum", _einsum_impl, jvp_all=_einsum_jvp, vjp_all=_einsum_vjp,
                  sparsity=_einsum_sparsity, cost=_einsum_cost)


def parse_einsum(subscripts: str, shapes: Sequence[tuple]) -> tuple[tuple, str]:
    """numpy's einsum subscripts (implicit or explicit output, ellipses) in the canonical
    form of the primitive: one letter string per operand and one for the output."""
    s = subscripts.replace(" ", "")
    lhs, arrow, rhs = s.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: the subscripts name {len(terms)} operands but "
                         f"{len(shapes)} were given")
    for t in terms + [rhs]:
        bad = set(t.replace("...", "")) - set(_LETTERS)
        if bad or t.count("...") > 1:
            raise ValueError(f"einsum: invalid subscripts {subscripts!r}")
    ell = []
    for t, shp in zip(terms, shapes):
        named = len(t.replace("...", ""))
        e = len(shp) - named if "..." in t else 0
        if e < 0 or ("..." not in t and named != len(shp)):
            raise ValueError(f"einsum: operand subscripts {t!r} do not match an operand "
                             f"with {len(shp)} dimensions")
        ell.append(e)
    k = max(ell, default=0)
    fill = _fresh(s, k)
    ins = tuple(t.replace("...", fill[k - e:]) for t, e in zip(terms, ell))
    if not arrow:
        letters = "".join(terms).replace("...", "")
        out = fill + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    elif "..." in rhs:
        out = rhs.replace("...", fill)
    elif any(ell):
        raise ValueError("einsum: output has more dimensions than subscripts given in "
                         "einstein sum, but no '...' ellipsis provided to broadcast the "
                         "extra dimensions.")
    else:
        out = rhs
    return ins, out


def einsum(subscripts: str, *operands: Any) -> Any:
    """numpy's einsum over any number of operands (implicit or explicit output, repeated
    indices, ellipses).  Derivatives: operand i's tangent takes its place (JVP); the
    cotangent contracted with the other operands gives operand i's subscripts (VJP)."""
    ins, out = parse_einsum(subscripts, [shape(o) for o in operands])
    first = next((i for i, o in enumerate(operands) if ndim(o) > 0), None)
    if first is None:                   # scalars only: their product
        r = operands[0]
        for o in operands[1:]:
            r = OPS["multiply"](r, o)
        return r
    return bind(einsum_p, *operands, ins=ins, out=out)


# ---- products built from matmul, einsum and elementwise ops ------------------------------
def tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    """numpy's tensordot: contract ``axes`` (an int: the last n of a with the first n of
    b; or a pair of axis sequences) as one matmul of the reshaped operands."""
    na, nb_ = ndim(a), ndim(b)
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n < 0 or n > min(na, nb_):
            raise ValueError(f"tensordot: axes={n} is out of range")
        ax_a, ax_b = list(range(na - n, na)), list(range(n))
    else:
        ax_a, ax_b = axes
        ax_a = [int(ax_a)] if isinstance(ax_a, (int, np.integer)) else list(ax_a)
        ax_b = [int(ax_b)] if isinstance(ax_b, (int, np.integer)) else list(ax_b)
        if len(ax_a) != len(ax_b):
            raise ValueError("tensordot: shape-mismatch for sum")
        ax_a = [int(x) % na for x in ax_a]
        ax_b = [int(x) % nb_ for x in ax_b]
    sa, sb = shape(a), shape(b)
    if any(sa[i] != sb[j] for i, j in zip(ax_a, ax_b)):
        raise ValueError("tensordot: shape-mismatch for sum")
    free_a = [i for i in range(na) if i not in ax_a]
    free_b = [j for j in range(nb_) if j not in ax_b]
    k = int(np.prod([sa[i] for i in ax_a]))
    lhs = OPS["reshape"](OPS["transpose"](a, free_a + ax_a), (-1, k))
    rhs = OPS["reshape"](OPS["transpose"](b, ax_b + free_b), (k, -1))
    out_shape = tuple(sa[i] for i in free_a) + tuple(sb[j] for j in free_b)
    return OPS["reshape"](matmul(lhs, rhs), out_shape)


def outer(a: Any, b: Any) -> Any:
    """numpy's outer: ``ravel(a)[:, None] * ravel(b)[None, :]``."""
    return OPS["reshape"](a, (-1, 1)) * OPS["reshape"](b, (1, -1))


def inner(a: Any, b: Any) -> Any:
    """numpy's inner: a sum product over the last axes of ``a`` and ``b``."""
    if ndim(a) == 0 or ndim(b) == 0:
        return OPS["multiply"](a, b)
    return tensordot(a, b, ([-1], [-1]))


def vdot(a: Any, b: Any) -> Any:
    """numpy's vdot: ``sum(conj(ravel(a)) * ravel(b))``, a scalar."""
    from .complex import conj
    return matmul(OPS["ravel"](conj(a)), OPS["ravel"](b))


def kron(a: Any, b: Any) -> Any:
    """numpy's kron, as one broadcast product of interleaved reshapes."""
    sa, sb = shape(a), shape(b)
    nd = max(len(sa), len(sb))
    sa, sb = (1,) * (nd - len(sa)) + sa, (1,) * (nd - len(sb)) + sb
    a2 = OPS["reshape"](a, tuple(d for p in sa for d in (p, 1)))
    b2 = OPS["reshape"](b, tuple(d for p in sb for d in (1, p)))
    return OPS["reshape"](a2 * b2, tuple(p * q for p, q in zip(sa, sb)))


for _f in (einsum, tensordot, outer, inner, vdot, kron):
    OPS[_f.__name__] = _f
