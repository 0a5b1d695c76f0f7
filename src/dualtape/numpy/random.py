"""``dualtape.numpy.random``: numpy.random's own objects (``import dualtape.numpy.random
as npr`` works).

Random draws have no derivative, so nothing here is wrapped: ``npr.normal`` is
``numpy.random.normal``, ``npr.default_rng`` is numpy's.  To differentiate through a
sample, draw the noise with plain numpy and combine it with traced parameters
(``mu + sigma * rng.standard_normal(n)``, the reparameterisation trick).
"""

from __future__ import annotations

from typing import Any

import numpy.random as _npr
from numpy.random import *  # noqa: F401,F403  (numpy's own objects)

__all__ = list(_npr.__all__)


def __getattr__(name: str) -> Any:
    # numpy.random's public names beyond its __all__ (bit_generator, mtrand, ...)
    if not name.startswith("_") and name in dir(_npr):
        return getattr(_npr, name)
    raise AttributeError(f"module 'dualtape.numpy.random' has no attribute {name!r}")
