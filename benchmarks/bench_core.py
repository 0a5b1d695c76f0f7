"""Sections 1 and 2: per-operation overhead on a long elementwise chain, and the
cheap-gradient ratio of an MLP loss."""

from __future__ import annotations

import numpy as np

import dualtape as dt
import dualtape.numpy as dnp
from common import (Peers, Recorder, Rows, Settings, div, fmt_ratio, fmt_spread, fmt_time,
                    max_rel_err, section, table, verdict)
from workloads import (CHAIN_OPS, MLP_BATCH, MLP_SIZES, chain_input, make_chain,
                       make_mlp_loss, mlp_backprop, mlp_data, numpy_like, torch_ns)

CHAIN_SIZES = (1, 10)
MLP_TARGET_MUST = 3.0
MLP_TARGET_AIM = 2.25


# ---- 1. per-operation overhead --------------------------------------------------------
def run_chain(rec: Recorder, settings: Settings, peers: Peers) -> dict:
    section(f"1. Per-operation overhead: a chain of {CHAIN_OPS} elementwise ops + sum")
    print("Time per elementwise operation = (time of one call) / "
          f"{CHAIN_OPS}.  'x numpy f': this time / plain numpy f time.  'dualtape / "
          "this': dualtape's time for the same\ntransform divided by this row's "
          "(above 1: the peer is faster).  Peers run eagerly (jax: no jit).",
          flush=True)
    per_op = 1.0 / CHAIN_OPS
    summary = {}
    f_np = make_chain(numpy_like("numpy", np))
    f_dt = make_chain(numpy_like("dualtape", dnp))
    for size in CHAIN_SIZES:
        case = f"size {size}"
        x = chain_input(size)
        v = np.cos(np.arange(size) + 1.0)
        R = Rows(rec, settings, "chain", case)
        print(f"\n-- vectors of size {size} --", flush=True)

        # correctness first: a fast but wrong result must be visible
        g_dt = dt.grad(f_dt)(x)
        y_dt, jv_dt = dt.jvp(f_dt, (x,), (v,))
        h = 1e-6
        fd = (f_np(x + h * v) - f_np(x - h * v)) / (2 * h)
        rec.check(f"chain[{size}] dualtape f == numpy f", max_rel_err(f_dt(x), f_np(x)), 1e-13)
        rec.check(f"chain[{size}] dualtape grad . v vs central difference",
                  max_rel_err(g_dt @ v, fd), 1e-6)
        rec.check(f"chain[{size}] dualtape jvp == grad . v", max_rel_err(jv_dt, g_dt @ v),
                  1e-12)
        rec.check(f"chain[{size}] dualtape grad, np-namespace f == dnp f",
                  max_rel_err(dt.grad(f_np)(x), g_dt), 1e-14)

        R.add("numpy f", "numpy", "f", lambda: f_np(x), per_op)
        R.add("dualtape f (dnp, plain arrays)", "dualtape", "f", lambda: f_dt(x), per_op)
        R.add("dualtape jvp", "dualtape", "jvp", lambda: dt.jvp(f_dt, (x,), (v,)), per_op)
        gfun = dt.grad(f_dt)
        R.add("dualtape grad", "dualtape", "grad", lambda: gfun(x), per_op)
        gfun_np = dt.grad(f_np)
        R.add("dualtape grad (f via np.* dispatch)", "dualtape", "grad-np",
              lambda: gfun_np(x), per_op)

        if peers.has("autograd"):
            rec.guard(f"chain/{case}/autograd",
                      lambda: _chain_autograd(R, rec, peers, x, v, g_dt, jv_dt, size, per_op))
        if peers.has("jax"):
            rec.guard(f"chain/{case}/jax",
                      lambda: _chain_jax(R, rec, peers, x, v, g_dt, jv_dt, size, per_op))
        if peers.has("torch"):
            rec.guard(f"chain/{case}/torch",
                      lambda: _chain_torch(R, rec, peers, x, v, g_dt, jv_dt, size, per_op))

        R.run()
        base = R.median("numpy", "f")
        rows = []
        for it in R.items:
            t = it["t"]
            med = None if t is None else t.median
            peer = it["lib"] not in ("dualtape", "numpy")
            mine = R.median("dualtape", it["kind"].split("-")[0]) if peer else None
            rows.append([it["label"], fmt_time(med, "us"), fmt_spread(t),
                         fmt_ratio(div(med, base)), fmt_ratio(div(mine, med))])
            rec.add("chain", case, it["label"], t, unit="seconds per op", lib=it["lib"],
                    kind=it["kind"], ratio_numpy=div(med, base),
                    dualtape_over_this=div(mine, med))
        print(table(["method", "us/op", "spread", "x numpy f", "dualtape / this"], rows,
                    title=f"Per-operation time, vectors of size {size}"))
        summary[size] = {k: R.median("dualtape", k) for k in ("f", "jvp", "grad")}
        summary[size]["numpy"] = base
    return summary


def _chain_autograd(R, rec, peers, x, v, g_dt, jv_dt, size, per_op):
    ag, anp = peers["autograd"]["autograd"], peers["autograd"]["np"]
    f = make_chain(numpy_like("autograd", anp))
    g = ag.grad(f)
    rec.check(f"chain[{size}] autograd grad == dualtape grad", max_rel_err(g(x), g_dt), 1e-10)
    R.add("autograd f (anp, plain arrays)", "autograd", "f", lambda: f(x), per_op)
    R.add("autograd jvp (make_jvp)", "autograd", "jvp", lambda: ag.make_jvp(f)(x)(v), per_op)
    rec.check(f"chain[{size}] autograd jvp == dualtape jvp",
              max_rel_err(ag.make_jvp(f)(x)(v)[1], jv_dt), 1e-10)
    R.add("autograd grad", "autograd", "grad", lambda: g(x), per_op)


def _chain_jax(R, rec, peers, x, v, g_dt, jv_dt, size, per_op):
    jax, jnp = peers["jax"]["jax"], peers["jax"]["np"]
    f = make_chain(numpy_like("jax", jnp))
    xj, vj = jnp.asarray(x), jnp.asarray(v)
    g = jax.grad(f)
    rec.check(f"chain[{size}] jax grad == dualtape grad", max_rel_err(g(xj), g_dt), 1e-10)
    rec.check(f"chain[{size}] jax jvp == dualtape jvp",
              max_rel_err(jax.jvp(f, (xj,), (vj,))[1], jv_dt), 1e-10)
    block = jax.block_until_ready
    R.add("jax f (jnp, eager)", "jax", "f", lambda: block(f(xj)), per_op)
    R.add("jax jvp (eager)", "jax", "jvp", lambda: block(jax.jvp(f, (xj,), (vj,))), per_op)
    R.add("jax grad (eager)", "jax", "grad", lambda: block(g(xj)), per_op)


def _chain_torch(R, rec, peers, x, v, g_dt, jv_dt, size, per_op):
    torch = peers["torch"]["torch"]
    import torch.autograd.forward_ad as fwAD
    f = make_chain(torch_ns(torch))
    xt = torch.tensor(x, dtype=torch.float64)
    vt = torch.tensor(v, dtype=torch.float64)
    xr = xt.clone().requires_grad_(True)

    def grad():
        return torch.autograd.grad(f(xr), xr)[0]

    def jvp_func():
        return torch.func.jvp(f, (xt,), (vt,))

    def jvp_dual():
        with fwAD.dual_level():
            y = f(fwAD.make_dual(xt, vt))
            return fwAD.unpack_dual(y).tangent

    rec.check(f"chain[{size}] torch grad == dualtape grad",
              max_rel_err(grad().numpy(), g_dt), 1e-10)
    rec.check(f"chain[{size}] torch.func.jvp == dualtape jvp",
              max_rel_err(jvp_func()[1].numpy(), jv_dt), 1e-10)
    rec.check(f"chain[{size}] torch forward_ad jvp == dualtape jvp",
              max_rel_err(jvp_dual().numpy(), jv_dt), 1e-10)
    R.add("torch f (eager)", "torch", "f", lambda: f(xt), per_op)
    R.add("torch jvp (torch.func.jvp)", "torch", "jvp", jvp_func, per_op)
    R.add("torch jvp (forward_ad dual tensors)", "torch", "jvp-dual", jvp_dual, per_op)
    R.add("torch grad (autograd.grad backward)", "torch", "grad", grad, per_op)


# ---- 2. cheap-gradient ratio --------------------------------------------------------
def run_mlp(rec: Recorder, settings: Settings, peers: Peers) -> dict:
    arch = " -> ".join(map(str, MLP_SIZES))
    section(f"2. Cheap-gradient ratio: MLP {arch}, batch {MLP_BATCH}, tanh, softmax "
            "cross-entropy, float64")
    print("ratio = time(gradient w.r.t. all 6 weights and biases) / time(loss in plain "
          "numpy).\n'x own loss': the same time divided by that library's own "
          f"loss evaluation.  Target for dualtape: <= {MLP_TARGET_MUST} (must), "
          f"<= {MLP_TARGET_AIM} (aim).", flush=True)
    params, X, Y = mlp_data()
    argnums = tuple(range(len(params)))
    loss_np = make_mlp_loss(numpy_like("numpy", np), X, Y)
    loss_dt = make_mlp_loss(numpy_like("dualtape", dnp), X, Y)
    backprop = mlp_backprop(X, Y)
    ref = backprop(*params)
    gfun = dt.grad(loss_dt, argnums=argnums)

    # correctness: the hand-written backprop is checked against a central difference
    # along a random direction, then every library is checked against it.
    rng = np.random.default_rng(1)
    d = [rng.standard_normal(p.shape) for p in params]
    h = 1e-6
    fd = (loss_np(*[p + h * e for p, e in zip(params, d, strict=True)])
          - loss_np(*[p - h * e for p, e in zip(params, d, strict=True)])) / (2 * h)
    rec.check("mlp hand backprop . d vs central difference",
              max_rel_err(sum(float(np.sum(g * e)) for g, e in zip(ref, d, strict=True)), fd), 1e-7)
    rec.check("mlp dualtape loss == numpy loss", max_rel_err(loss_dt(*params),
                                                              loss_np(*params)), 1e-13)
    rec.check("mlp dualtape grad == hand backprop", _grad_err(gfun(*params), ref), 1e-8)

    R = Rows(rec, settings, "mlp", "mlp")
    R.add("numpy loss", "numpy", "f", lambda: loss_np(*params))
    R.add("numpy hand-written backprop (forward + grads)", "numpy", "grad",
          lambda: backprop(*params))
    R.add("dualtape loss (dnp, plain arrays)", "dualtape", "f", lambda: loss_dt(*params))
    R.add("dualtape grad", "dualtape", "grad", lambda: gfun(*params))

    if peers.has("autograd"):
        rec.guard("mlp/autograd", lambda: _mlp_autograd(R, rec, peers, params, X, Y, ref))
    if peers.has("jax"):
        rec.guard("mlp/jax", lambda: _mlp_jax(R, rec, peers, params, X, Y, ref))
    if peers.has("torch"):
        rec.guard("mlp/torch", lambda: _mlp_torch(R, rec, peers, params, X, Y, ref))

    R.run()
    base = R.median("numpy", "f")
    same = div(R.median("dualtape", "f"), base)
    if same is not None and abs(same - 1.0) > 0.2:
        rec.warn(f"'numpy loss' and 'dualtape loss' do the same numpy work but their "
                 f"medians differ by {100 * (same - 1):+.0f}%: the machine is noisy, so "
                 f"the ratios below are unreliable")
    rows = []
    for it in R.items:
        t = it["t"]
        med = None if t is None else t.median
        own = R.median(it["lib"], "f")
        ratio = div(med, base)
        target = ""
        if it["kind"] == "grad" and it["lib"] == "dualtape":
            target = (f"<= {MLP_TARGET_MUST} must: {verdict(ratio, MLP_TARGET_MUST)}; "
                      f"<= {MLP_TARGET_AIM} aim: {verdict(ratio, MLP_TARGET_AIM)}")
        rows.append([it["label"], fmt_time(med, "ms"), fmt_spread(t), fmt_ratio(ratio),
                     fmt_ratio(div(med, own)) if it["kind"] == "grad" else "", target])
        rec.add("mlp", "mlp", it["label"], t, lib=it["lib"], kind=it["kind"],
                ratio_numpy=ratio, ratio_own_loss=div(med, own))
    print(table(["method", "time", "spread", "x numpy loss", "x own loss", "target"], rows,
                title="Gradient cost relative to the loss"))
    ratio_dt = div(R.median("dualtape", "grad"), base)
    ratio_bp = div(R.median("numpy", "grad"), base)
    rec.target("MLP grad / numpy loss (dualtape)", ratio_dt, MLP_TARGET_MUST, "must")
    rec.target("MLP grad / numpy loss (dualtape)", ratio_dt, MLP_TARGET_AIM, "aim")
    return {"ratio_dualtape": ratio_dt, "ratio_backprop": ratio_bp,
            "ratios_peers": {lib: div(R.median(lib, "grad"), base)
                             for lib in ("autograd", "jax", "torch")}}


def _grad_err(got, ref) -> float:
    return max(max_rel_err(np.asarray(g), r) for g, r in zip(got, ref, strict=True))


def _mlp_autograd(R, rec, peers, params, X, Y, ref):
    ag, anp = peers["autograd"]["autograd"], peers["autograd"]["np"]
    loss = make_mlp_loss(numpy_like("autograd", anp), X, Y)
    g = ag.grad(loss, tuple(range(len(params))))
    rec.check("mlp autograd grad == hand backprop", _grad_err(g(*params), ref), 1e-8)
    R.add("autograd loss (anp, plain arrays)", "autograd", "f", lambda: loss(*params))
    R.add("autograd grad", "autograd", "grad", lambda: g(*params))


def _mlp_jax(R, rec, peers, params, X, Y, ref):
    jax, jnp = peers["jax"]["jax"], peers["jax"]["np"]
    pj = [jnp.asarray(p) for p in params]
    loss = make_mlp_loss(numpy_like("jax", jnp), jnp.asarray(X), jnp.asarray(Y))
    g = jax.grad(loss, argnums=tuple(range(len(params))))
    rec.check("mlp jax grad == hand backprop", _grad_err(g(*pj), ref), 1e-8)
    block = jax.block_until_ready
    R.add("jax loss (jnp, eager)", "jax", "f", lambda: block(loss(*pj)))
    R.add("jax grad (eager)", "jax", "grad", lambda: block(g(*pj)))


def _mlp_torch(R, rec, peers, params, X, Y, ref):
    torch = peers["torch"]["torch"]
    loss = make_mlp_loss(torch_ns(torch), torch.tensor(X), torch.tensor(Y))
    plain = [torch.tensor(p) for p in params]
    leaves = [p.clone().requires_grad_(True) for p in plain]

    def grad():
        return torch.autograd.grad(loss(*leaves), leaves)

    rec.check("mlp torch grad == hand backprop",
              _grad_err([g.numpy() for g in grad()], ref), 1e-8)
    R.add("torch loss (eager)", "torch", "f", lambda: loss(*plain))
    R.add("torch grad (autograd.grad backward)", "torch", "grad", grad)
