"""Every primitive, registered once: implementation, derivative rules side by side."""

from . import elementwise, fft, linalg, reductions, shape, special  # noqa: F401  (registers)
from . import complex, decompositions, eig  # noqa: F401,E402  (registers; linear algebra, complex)
from . import sorting  # noqa: F401,E402  (registers sort, partition)
from . import scipy_linalg, scipy_special  # noqa: F401,E402  (more of scipy)
from . import control  # noqa: F401,E402  (registers stop_gradient)
from . import sparse  # noqa: F401,E402  (registers sparse_matmul: scipy.sparse constants)
from ._rules import OPS

__all__ = ["OPS"]
