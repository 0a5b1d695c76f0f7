"""Rows for numpy's ufuncs beyond the core ones (see ``tables/__init__.py`` for the
format).  Domains stay away from kinks, ties, jumps and singularities; those have their
own tests in tests/test_ufuncs.py."""

from __future__ import annotations

import numpy as np

import dualtape.numpy as dnp
from dualtape.primitives import elementwise as ew

from tables import Row, _apart, _away_from_zero, _positive, _real


def _uniform(low, high, *shapes):
    return lambda rng: tuple(rng.uniform(low, high, s) for s in shapes)


def _remainder_args(rng, shape=(2, 3)):
    # y of either sign; x / y = integer + fraction in [0.2, 0.8]: away from every jump.
    y = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    x = y * (rng.integers(-3, 4, shape) + rng.uniform(0.2, 0.8, shape))
    return x, y


def _half_integers(rng):
    # away from the rounding boundaries (k + 1/2 for round, integers for floor/ceil)
    return (rng.integers(-5, 5, (2, 3)) + rng.uniform(0.1, 0.4, (2, 3)),)


UNIT = _uniform(-0.8, 0.8, (2, 3))
PAIR = _real((2, 3), (3,))

PRIMITIVES: dict[str, Row] = {
    "exp2": Row(ew.exp2, _real((2, 3))),
    "expm1": Row(ew.expm1, _real((2, 3))),
    "log2": Row(ew.log2, _positive((2, 3))),
    "log10": Row(ew.log10, _positive((2, 3))),
    "log1p": Row(ew.log1p, _uniform(-0.5, 2.0, (2, 3))),
    "logaddexp": Row(ew.logaddexp, PAIR),
    "logaddexp2": Row(ew.logaddexp2, _real((3, 1), (3, 2))),
    "cbrt": Row(ew.cbrt, _away_from_zero),
    "tan": Row(ew.tan, _uniform(-1.2, 1.2, (2, 3))),
    "arcsin": Row(ew.arcsin, UNIT),
    "arccos": Row(ew.arccos, UNIT),
    "arctan": Row(ew.arctan, _real((2, 3))),
    "arctan2": Row(ew.arctan2, PAIR),
    "sinh": Row(ew.sinh, _real((2, 3))),
    "cosh": Row(ew.cosh, _real((2, 3))),
    "arcsinh": Row(ew.arcsinh, _real((2, 3))),
    "arccosh": Row(ew.arccosh, _uniform(1.2, 3.0, (2, 3))),
    "arctanh": Row(ew.arctanh, UNIT),
    "hypot": Row(ew.hypot, PAIR),
    "fmax": Row(ew.fmax, _apart),
    "fmin": Row(ew.fmin, _apart),
    "mod": Row(ew.mod, _remainder_args),
    "fmod": Row(ew.fmod, _remainder_args),
    # no derivative: plain results
    "floor": Row(ew.floor, _half_integers, nondiff=True),
    "ceil": Row(ew.ceil, _half_integers, nondiff=True),
    "trunc": Row(ew.trunc, _half_integers, nondiff=True),
    "rint": Row(ew.rint, _half_integers, nondiff=True),
    "round": Row(lambda x: ew.round_(x, 1), _half_integers, nondiff=True),
    "floor_divide": Row(ew.floor_divide, _remainder_args, nondiff=True),
    "isinf": Row(ew.isinf, _real((3,)), nondiff=True),
    "signbit": Row(ew.signbit, _real((3,)), nondiff=True),
}


def _clip(x):
    # bounds a constant, a traced array and None; every entry of x away from them
    lo = x[0] * 0.0 - 0.15
    return (dnp.clip(x, lo, 0.15) + dnp.clip(x, a_min=-0.15, a_max=None)
            + dnp.clip(x, min=None, max=0.15) * 2.0) ** 2


def _clip_domain(rng):
    x = rng.uniform(0.05, 0.6, (3, 4)) * rng.choice([-1.0, 1.0], (3, 4))
    x[np.abs(np.abs(x) - 0.15) < 0.04] = 0.3     # away from the bounds
    return (x,)


FUNCTIONS: dict[str, Row] = {
    "positive": Row(lambda x: dnp.positive(x) ** 2, _real((2, 3))),
    "square": Row(dnp.square, _real((2, 3))),
    "reciprocal": Row(dnp.reciprocal, _away_from_zero),
    "float_power": Row(dnp.float_power, _positive((2, 3), (3,))),
    "pow": Row(dnp.pow, _positive((3,), (3,))),
    "cbrt": Row(dnp.cbrt, _away_from_zero),
    "exp2": Row(dnp.exp2, _real((3,))), "expm1": Row(dnp.expm1, _real((3,))),
    "log2": Row(dnp.log2, _positive((3,))), "log10": Row(dnp.log10, _positive((3,))),
    "log1p": Row(dnp.log1p, _uniform(-0.5, 2.0, (3,))),
    "logaddexp": Row(dnp.logaddexp, PAIR), "logaddexp2": Row(dnp.logaddexp2, PAIR),
    "tan": Row(dnp.tan, _uniform(-1.2, 1.2, (3,))),
    **{n: Row(getattr(dnp, n), _uniform(-0.8, 0.8, (3,))) for n in (
        "arcsin", "asin", "arccos", "acos", "arctanh", "atanh")},
    **{n: Row(getattr(dnp, n), _real((3,))) for n in (
        "arctan", "atan", "sinh", "cosh", "arcsinh", "asinh", "deg2rad", "rad2deg",
        "radians", "degrees")},
    **{n: Row(getattr(dnp, n), _uniform(1.2, 3.0, (3,))) for n in ("arccosh", "acosh")},
    "arctan2": Row(dnp.arctan2, PAIR), "atan2": Row(dnp.atan2, PAIR),
    "hypot": Row(dnp.hypot, PAIR),
    "fabs": Row(dnp.fabs, _away_from_zero),
    "fmax": Row(dnp.fmax, _apart), "fmin": Row(dnp.fmin, _apart),
    "mod": Row(dnp.mod, _remainder_args), "remainder": Row(dnp.remainder, _remainder_args),
    "fmod": Row(dnp.fmod, _remainder_args),
    "clip": Row(_clip, _clip_domain),
    # no derivative: plain results
    **{n: Row(getattr(dnp, n), _half_integers, nondiff=True) for n in (
        "floor", "ceil", "trunc", "rint", "round", "around", "fix")},
    "floor_divide": Row(dnp.floor_divide, _remainder_args, nondiff=True),
    **{n: Row(getattr(dnp, n), _real((3,)), nondiff=True) for n in (
        "isinf", "isposinf", "isneginf", "signbit")},
}
