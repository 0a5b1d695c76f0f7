"""Primitives that control differentiation rather than compute: ``stop_gradient``.

``stop_gradient`` is the identity on values with derivative zero, in every mode and at
every order: a ``nondiff`` primitive, so each mode returns its plain result (the
symbolic zero) and nothing downstream of it is recorded or pushed.  Its structure rule
is "no dependence": global sparsity detection still tracks the value (it is computed
from the input), with an empty pattern.
"""

from __future__ import annotations

import numpy as np

from . import _cost
from ._rules import nondiff

stop_gradient_p = nondiff("stop_gradient", lambda x: np.asarray(x), cost=_cost.move)
