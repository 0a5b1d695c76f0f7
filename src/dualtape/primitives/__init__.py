"""Every primitive, registered once: implementation, derivative rules side by side."""

from . import elementwise, linalg, reductions, shape  # noqa: F401  (importing registers)
from ._rules import OPS

__all__ = ["OPS"]
