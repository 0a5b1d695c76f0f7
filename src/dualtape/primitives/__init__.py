"""Every primitive, registered once: implementation, derivative rules side by side."""

from . import elementwise, fft, linalg, reductions, shape, special  # noqa: F401  (registers)
from ._rules import OPS

__all__ = ["OPS"]
