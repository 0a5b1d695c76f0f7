"""Where does dualtape's per-operation time go?  cProfile of the section-1 chain.

    PYTHONPATH=src python3 benchmarks/profile_chain.py [--mode grad|jvp|f] [--size 1]

Runs the transform of the 200-op chain ``--calls`` times under cProfile and prints
the top lines by cumulative time, restricted to functions in dualtape's source
files, then the top lines by own time over everything (numpy included).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="cProfile of the per-op chain benchmark")
    ap.add_argument("--mode", choices=("grad", "jvp", "f"), default="grad")
    ap.add_argument("--size", type=int, default=1)
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--lines", type=int, default=25)
    args = ap.parse_args(argv)

    import numpy as np

    import dualtape as dt
    import dualtape.numpy as dnp
    from workloads import CHAIN_OPS, chain_input, make_chain, numpy_like

    f = make_chain(numpy_like("dualtape", dnp))
    x = chain_input(args.size)
    v = np.ones_like(x)
    g = dt.grad(f)
    call = {"grad": lambda: g(x), "jvp": lambda: dt.jvp(f, (x,), (v,)),
            "f": lambda: f(x)}[args.mode]
    for _ in range(20):                      # warm-up outside the profile
        call()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(args.calls):
        call()
    prof.disable()

    src = os.path.dirname(os.path.abspath(dt.__file__))
    print(f"{args.calls} x dualtape {args.mode} of the {CHAIN_OPS}-op chain, size "
          f"{args.size} ({src})")
    for key, title in (("cumulative", "by cumulative time, dualtape functions only"),
                       ("tottime", "by own time, everything")):
        out = io.StringIO()
        st = pstats.Stats(prof, stream=out).sort_stats(key)
        st.print_stats(src.replace("\\", "/") if key == "cumulative" else "", args.lines)
        text = out.getvalue()
        start = text.find("   ncalls")
        print(f"\n-- {title} --")
        print(text[start:].rstrip())


if __name__ == "__main__":
    main()
