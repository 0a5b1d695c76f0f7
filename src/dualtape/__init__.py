"""dualtape: forward (dual numbers) and reverse (tape) automatic differentiation over
one primitive registry."""

from .custom import defjvp, defprimitive, defvjp
from .forward import Dual, jacfwd, jvp
from .higher import hessian, hvp
from .reverse import grad, jacrev, value_and_grad, vjp
from .testing import check_grads

__version__ = "0.1.0"

__all__ = [
    "Dual", "__version__", "check_grads", "defjvp", "defprimitive", "defvjp", "grad",
    "hessian", "hvp", "jacfwd", "jacrev", "jvp", "value_and_grad", "vjp",
]
