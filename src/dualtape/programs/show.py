"""Showing a recording the way textbooks draw an evaluation trace.

* :func:`trace_text` (``print(prog)``): one line per primitive, inputs numbered
  v₋ₙ₊₁ ... v₀ and results v₁, v₂, ... (Griewank & Walther's convention);
* :func:`table`: the forward primal trace with its tangent trace, and the reverse
  adjoint trace, with values, computed here from the registry's rules applied to plain
  values (the tangent of each step is its JVP, each adjoint contribution its VJP);
* :func:`graph`: graphviz DOT of the computational graph, values, tangents and adjoint
  contributions on the edges; a value read by several steps (fan-out) is marked, since
  that is where adjoint contributions add up.
"""

from __future__ import annotations

import shutil
import subprocess
import unicodedata
import warnings
from typing import Any

import numpy as np

from .._api import flatten
from .recording import Guard, Instr

__all__ = ["names", "trace_text", "table", "graph", "fmt"]

_SUB = str.maketrans("-0123456789", "₋₀₁₂₃₄₅₆₇₈₉")

_INFIX = {"add": "+", "subtract": "−", "multiply": "×", "divide": "/", "power": "^",
          "matmul": "@", "less": "<", "less_equal": "≤", "greater": ">",
          "greater_equal": "≥", "equal": "==", "not_equal": "≠"}
_PREFIX = {"log": "ln", "negative": "−"}


def sub(k: int) -> str:
    return str(k).translate(_SUB)


def fmt(v: Any) -> str:
    """A value as a table shows it: numbers to 3 decimals (trailing zeros dropped),
    small arrays in full, larger ones by shape and their first entries."""
    a = np.asarray(v)
    if a.dtype.kind == "b":
        return str(a.tolist())
    if a.size == 1 and a.ndim <= 1:
        x = a.reshape(()).item()
        if isinstance(x, complex):
            return f"{x:.3f}"
        if isinstance(x, float):
            if x != x or x in (float("inf"), float("-inf")):
                return str(x)
            s = f"{x:.3f}".rstrip("0").rstrip(".")
            return "0" if s == "-0" else s
        return str(x)
    if a.size <= 4 and a.ndim <= 1:
        return "[" + ", ".join(fmt(e) for e in a.ravel()) + "]"
    if a.size <= 4:
        return "[" + ", ".join(fmt(row) for row in a) + "]"
    head = ", ".join(fmt(e) for e in a.ravel()[:3])
    return f"{a.dtype}{list(a.shape)} [{head}, ...]"


def names(rec: Any) -> dict:
    """slot -> textbook name: inputs v₋ₙ₊₁..v₀, results v₁.. in order; constants by
    value (small) or c₀, c₁.. (arrays)."""
    out: dict = {}
    n = len(rec.in_slots)
    for k, s in enumerate(rec.in_slots):
        out[s] = "v" + sub(k - n + 1)
    for k, s in enumerate(rec.seeds):
        out[s] = "s" + sub(k + 1)
    k = 0
    c = 0
    for st in rec.steps:
        if isinstance(st, Instr):
            for o in st.outs:
                k += 1
                out[o] = "v" + sub(k)
            for a in st.args:
                if a not in out:
                    v = rec.consts.get(a)
                    if np.size(v) == 1 and np.ndim(v) <= 1:
                        out[a] = fmt(v)
                    else:
                        out[a] = "c" + sub(c)
                        c += 1
    return out


def _expr(st: Instr, nm: dict) -> str:
    name = st.prim.name
    args = [nm.get(a, "?") for a in st.args]
    if name in _INFIX and len(args) == 2:
        return f"{args[0]} {_INFIX[name]} {args[1]}"
    if len(args) == 1 and not st.params:
        return f"{_PREFIX.get(name, name)} {args[0]}" if name != "negative" else f"−{args[0]}"
    ps = [f"{k}={_short_param(v)}" for k, v in st.params.items()]
    return f"{name}({', '.join(args + ps)})"


def _short_param(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return f"<{v.dtype}{list(v.shape)}>"
    if isinstance(v, tuple):
        return "(" + ", ".join(_short_param(e) for e in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, slice):
        parts = ["" if p is None else str(p) for p in (v.start, v.stop, v.step)]
        return ":".join(parts[:2]) + (f":{parts[2]}" if parts[2] else "")
    return repr(v) if not isinstance(v, np.dtype) else str(v)


def _shape_note(rec: Any, s: int) -> str:
    shape, dtype = rec.avals[s]
    return f"  : {dtype}[{', '.join(map(str, shape))}]" if shape else ""


def trace_text(rec: Any) -> str:
    """The evaluation trace, one line per primitive (see the module docstring)."""
    nm = names(rec)
    lines = []
    for k, s in enumerate(rec.in_slots):
        lines.append(f"{nm[s]} = x{sub(k + 1)}{_shape_note(rec, s)}")
    consts = [(s, v) for s, v in rec.consts.items() if s in nm and nm[s].startswith("c")]
    for s, v in consts:
        lines.append(f"{nm[s]} = constant {fmt(v)}")
    for s in rec.seeds:
        lines.append(f"{nm[s]} = {fmt(rec.consts[s])}   (seed){_shape_note(rec, s)}")
    sweep = False
    for st in rec.steps:
        if isinstance(st, Guard):
            lines.append(f"   guard: {_guard_text(st, nm)}")
            continue
        if st.derivative and not sweep:
            lines.append("   -- derivative (rules of the registry) --")
        sweep = st.derivative
        lhs = ", ".join(nm[o] for o in st.outs)
        lines.append(f"{lhs} = {_expr(st, nm)}{_shape_note(rec, st.outs[0])}")
    outs = _out_names(rec, nm)
    lines.extend(f"{y} = {v}" for y, v in outs)
    return "\n".join(lines)


def _guard_text(g: Guard, nm: dict) -> str:
    x = nm.get(g.slot, f"slot {g.slot}")
    if g.kind == "bool":
        return f"bool({x}) is {g.outcome}   ({g.where})"
    if g.kind == "int":
        return f"int({x}) == {g.outcome}   ({g.where})"
    if g.kind == "finite":
        return f"{x} all finite is {g.outcome}   ({g.where})"
    if g.kind == "float":
        return f"float({x}) == {g.outcome!r}   ({g.where})"
    return f"value of {x} == {fmt(g.outcome)}   ({g.where})"


def _out_names(rec: Any, nm: dict) -> list:
    m = len(rec.out_refs)
    res = []
    for j, r in enumerate(rec.out_refs):
        y = "y" if m == 1 else "y" + sub(j + 1)
        res.append((y, nm.get(r[1], "?") if r[0] == "slot" else fmt(r[1])))
    return res


# ---- values, tangents, adjoints --------------------------------------------------------
def evaluate(prog: Any, args: tuple, tangents: Any, cotangents: Any) -> tuple:
    """Replay the first recording step by step at ``args``, keeping every value; with
    tangents, each step's JVP; with cotangents, the reverse sweep's contributions.
    Returns ``(rec, values, tdots, contributions, adjoints)``."""
    rec = prog.recording
    if args:
        leaves, _ = flatten(args)
        leaves = [np.asarray(v) for v, st in zip(leaves, rec.statics) if st is None]
    else:
        leaves = [rec._input_value(s) for s in rec.in_slots]
    if len(leaves) != len(rec.in_slots):
        raise ValueError(f"table/graph: expected {len(rec.in_slots)} input values, got "
                         f"{len(leaves)}")
    vals: dict = dict(rec.consts)
    for s, v in zip(rec.in_slots, leaves):
        if (np.shape(v), np.asarray(v).dtype) != rec.avals[s]:
            v = np.asarray(v, dtype=rec.avals[s][1])
        vals[s] = v
    for st in rec.steps:
        if isinstance(st, Guard):
            if not st.holds(vals[st.slot]):
                raise ValueError(f"table/graph: these inputs take another path than the "
                                 f"recording ({st.describe()}); record the program at them")
            continue
        ans = st.prim.impl(*[vals[a] for a in st.args], **st.params)
        for o, v in zip(st.outs, ans if st.prim.multiple_results else (ans,)):
            vals[o] = v
    tdot = None
    if tangents is not None:
        tl, _ = flatten(tangents)
        if len(tl) != len(rec.in_slots):
            raise ValueError(f"table: {len(rec.in_slots)} tangents needed, one per input")
        tdot = {s: np.asarray(t, dtype=vals[s].dtype) + np.zeros_like(vals[s])
                for s, t in zip(rec.in_slots, tl)}
        for st in rec.steps:
            if not isinstance(st, Instr) or st.prim.nondiff or st.prim.jvp is None:
                continue
            ts = [tdot.get(a) for a in st.args]
            if all(t is None for t in ts):
                continue
            ans = vals[st.outs[0]] if not st.prim.multiple_results else \
                tuple(vals[o] for o in st.outs)
            out = st.prim.jvp(ts, ans, [vals[a] for a in st.args], st.params)
            for o, t in zip(st.outs, out if st.prim.multiple_results else (out,)):
                if t is not None:
                    tdot[o] = t
    contrib: list = []
    adj: dict = {}
    if cotangents is not None:
        cl, _ = flatten(cotangents)
        if len(cl) != len(rec.out_refs):
            raise ValueError(f"table: {len(rec.out_refs)} cotangents needed, one per output")
        for r, c in zip(rec.out_refs, cl):
            if r[0] == "slot":
                g = np.asarray(c, dtype=vals[r[1]].dtype) + np.zeros_like(vals[r[1]])
                adj[r[1]] = g if r[1] not in adj else adj[r[1]] + g
        seeds = dict(adj)
        contrib.append(("seed", seeds))
        for st in reversed([s for s in rec.steps if isinstance(s, Instr)]):
            if st.prim.nondiff or st.prim.multiple_results or st.prim.vjp is None:
                continue
            o = st.outs[0]
            g = adj.get(o)
            if g is None:
                continue
            needed = [a not in rec.consts for a in st.args]
            parts = st.prim.vjp(g, vals[o], [vals[a] for a in st.args], st.params, needed)
            for a, gi in zip(st.args, parts):
                if gi is None or a in rec.consts:
                    continue
                gi = np.asarray(gi)
                if gi.dtype.kind == "c" and vals[a].dtype.kind != "c":
                    gi = gi.real
                first = a not in adj
                adj[a] = gi if first else adj[a] + gi
                contrib.append((st, a, o, g, gi, first, adj[a]))
    return rec, vals, tdot, contrib, adj


def table(prog: Any, args: tuple, tangents: Any, cotangents: Any) -> str:
    """The forward primal (and tangent) trace and the reverse adjoint trace as text."""
    rec, vals, tdot, contrib, adj = evaluate(prog, args, tangents, cotangents)
    nm = names(rec)
    left, right = ["Forward primal trace"], ["Forward tangent trace"]
    for k, s in enumerate(rec.in_slots):
        x = "x" + sub(k + 1)
        left.append(f"{nm[s]} = {x} = {fmt(vals[s])}")
        if tdot is not None:
            right.append(f"{_dot(nm[s])} = {_dot(x)} = {fmt(tdot[s])}")
    t: Any                     # a tangent's text, then an output's tangent value
    for st in rec.steps:
        if isinstance(st, Guard):
            left.append(f"  guard: {_guard_text(st, nm)}")
            right.append("")
            continue
        lhs = ", ".join(nm[o] for o in st.outs)
        shown = _expr(st, nm)
        filled = _expr(st, {**nm, **{a: fmt(vals[a]) for a in st.args}})
        v = ", ".join(fmt(vals[o]) for o in st.outs)
        left.append(f"{lhs} = {shown} = {filled} = {v}" if filled != shown and
                    max(np.size(vals[a]) for a in st.args) == 1
                    else f"{lhs} = {shown} = {v}")
        if tdot is not None:
            t = ", ".join("0" if tdot.get(o) is None else fmt(tdot[o]) for o in st.outs)
            right.append(f"{', '.join(_dot(nm[o]) for o in st.outs)} = {t}")
    for (y, src), r in zip(_out_names(rec, nm), rec.out_refs):
        v = vals[r[1]] if r[0] == "slot" else r[1]
        left.append(f"{y} = {src} = {fmt(v)}")
        if tdot is not None:
            t = tdot.get(r[1]) if r[0] == "slot" else None
            right.append(f"{_dot(y)} = {_dot(src) if r[0] == 'slot' else '0'} = "
                         f"{'0' if t is None else fmt(t)}")
    lines = _columns(left, right if tdot is not None else None)
    if cotangents is not None:
        lines.append("")
        lines.append("Reverse adjoint trace")
        for item in contrib:
            if item[0] == "seed":
                for s, g in item[1].items():
                    ybar = _bar("y") if len(rec.out_refs) == 1 else _bar(nm[s])
                    lines.append(f"{_bar(nm[s])} = {ybar} = {fmt(g)}")
                continue
            st, a, o, g, gi, first, total = item
            partial = f"∂{nm[o]}/∂{nm[a]}"
            term = f"{_bar(nm[o])} {partial}"
            scalar = np.size(g) == 1 and np.size(gi) == 1
            if scalar and float(np.asarray(g).ravel()[0]) != 0:
                pv = np.asarray(gi).ravel()[0] / np.asarray(g).ravel()[0]
                num = f"{fmt(g)} × {fmt(pv)}"
            else:
                num = fmt(gi)
            if first:
                lines.append(f"{_bar(nm[a])} = {term} = {num}"
                             + (f" = {fmt(total)}" if scalar else ""))
            elif scalar:
                lines.append(f"{_bar(nm[a])} = {_bar(nm[a])} + {term} = "
                             f"{fmt(total - gi)} + {num} = {fmt(total)}")
            else:
                lines.append(f"{_bar(nm[a])} = {_bar(nm[a])} + {term} = {fmt(total)}")
        res = []
        for k, s in enumerate(rec.in_slots):
            x = "x" + sub(k + 1)
            res.append(f"{_bar(x)} = {_bar(nm[s])} = {fmt(adj.get(s, 0 * vals[s]))}")
        lines.append(", ".join(res))
    return "\n".join(lines)


def _dot(name: str) -> str:
    return unicodedata.normalize("NFC", name[0] + "\u0307" + name[1:])


def _bar(name: str) -> str:
    return unicodedata.normalize("NFC", name[0] + "\u0304" + name[1:])


def _columns(left: list, right: list | None) -> list:
    if right is None:
        return left
    w = max(len(s) for s in left) + 2
    return [f"{a.ljust(w)}│ {b}" for a, b in zip(left, right + [""] * len(left))]


# ---- the graph -------------------------------------------------------------------------
def graph(prog: Any, args: tuple, tangents: Any, cotangents: Any, render: str | None) -> str:
    """Graphviz DOT source of the computational graph (see the module docstring)."""
    rec, vals, tdot, contrib, adj = evaluate(prog, args, tangents, cotangents)
    nm = names(rec)
    edge_adj = {(it[2], it[1], id(it[0])): it[4] for it in contrib if it[0] != "seed"}
    uses: dict = {}
    for st in rec.steps:
        if isinstance(st, Instr):
            for a in set(st.args):
                uses[a] = uses.get(a, 0) + 1
    out = ['digraph program {', '  rankdir=LR;',
           '  node [fontname="Helvetica", fontsize=11];',
           '  edge [fontname="Helvetica", fontsize=9];']

    def node_id(s: int) -> str:
        return f"s{s}"

    for k, s in enumerate(rec.in_slots):
        label = f"x{sub(k + 1)} = {nm[s]}"
        if s in adj:
            label += f"\\n{_bar('x')}{sub(k + 1)} = {fmt(adj[s])}"
        fan = uses.get(s, 0) > 1
        out.append(f'  {node_id(s)} [label="{label}", shape=ellipse, style=filled, '
                   f'fillcolor="{"#ffd9a0" if fan else "#d8e8ff"}"];')
    for st in rec.steps:
        if not isinstance(st, Instr):
            continue
        o = st.outs[0]
        label = f"{nm[o]} = {_expr(st, nm)}"
        if o in adj and uses.get(o, 0) > 1:
            label += f"\\nΣ {_bar(nm[o])} = {fmt(adj[o])}"
        fan = uses.get(o, 0) > 1
        color = "#ffd9a0" if fan else ("#e8e8e8" if st.derivative else "#ffffff")
        out.append(f'  {node_id(o)} [label="{_esc(label)}", shape=box, style="rounded,filled", '
                   f'fillcolor="{color}"];')
        for a in st.args:
            if a in rec.consts and not nm.get(a, "c").startswith("c"):
                continue                       # small constants are shown in the label
            if a in rec.consts:
                out.append(f'  {node_id(a)} [label="{nm[a]}", shape=plaintext];')
            parts = [fmt(vals[a])]
            if tdot is not None and a in tdot:
                parts.append(f"{_dot(nm[a])} = {fmt(tdot[a])}")
            g = edge_adj.get((o, a, id(st)))
            if g is not None:
                parts.append(f"{_bar(nm[a])} += {fmt(g)}")
            color = ', color="#d06000"' if uses.get(a, 0) > 1 else ""
            out.append(f'  {node_id(a)} -> {node_id(o)} '
                       f'[label="{_esc(chr(10).join(parts))}"{color}];')
    for k, st in enumerate(rec.steps):
        if isinstance(st, Guard):           # a decision the replay checks
            out.append(f'  g{k} [label="{_esc(_guard_text(st, nm).split("   (")[0])}", '
                       f'shape=diamond, style=dashed, fontsize=9];')
            out.append(f'  {node_id(st.slot)} -> g{k} [style=dashed, arrowhead=none];')
    for j, r in enumerate(rec.out_refs):
        if r[0] != "slot":
            continue
        y = "y" if len(rec.out_refs) == 1 else "y" + sub(j + 1)
        out.append(f'  out{j} [label="{y}", shape=doublecircle];')
        parts = [fmt(vals[r[1]])]
        if tdot is not None and r[1] in tdot:
            parts.append(f"{_dot(y)} = {fmt(tdot[r[1]])}")
        if r[1] in adj:
            parts.append(f"{_bar(y)} = {fmt(adj[r[1]])}")
        out.append(f'  {node_id(r[1])} -> out{j} [label="{_esc(chr(10).join(parts))}"];')
    out.append("}")
    dot = "\n".join(out)
    if render is not None:
        _render(dot, render)
    return dot


def _esc(s: str) -> str:
    return s.replace('"', '\\"').replace("\n", "\\n")


def _render(dot: str, path: str) -> None:
    exe = shutil.which("dot")
    if exe is None:
        warnings.warn("graph(render=...): graphviz's `dot` program is not installed, so "
                      "only the DOT source is returned (apt-get install graphviz)",
                      RuntimeWarning, stacklevel=3)
        return
    fmt_ = path.rsplit(".", 1)[-1].lower()
    if fmt_ not in ("png", "svg", "pdf"):
        raise ValueError(f"graph(render=...): use a .png, .svg or .pdf path, not {path!r}")
    # dot's raster default of 72 dpi blurs the subscripts; vector formats ignore it
    crisp = ["-Gdpi=144"] if fmt_ == "png" else []
    subprocess.run([exe, f"-T{fmt_}", *crisp, "-o", path], input=dot.encode(), check=True)
