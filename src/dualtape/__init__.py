"""dualtape: forward (dual numbers) and reverse (tape) automatic differentiation over
one primitive registry."""

from .counting import Counts, count
from .custom import defjvp, defprimitive, defvjp
from .forward import Dual, jacfwd, jvp
from .higher import hessian, hvp
from .jacobian import JacobianInfo, jacobian
from .prepared import PreparedJacobian, prepare_jacobian
from .programs import GuardError, Program, record, recorded
from .reverse import grad, jacrev, value_and_grad, vjp
from .sparsity import sparsity
from .testing import check_grads

__version__ = "0.1.0"

__all__ = [
    "Counts", "Dual", "GuardError", "JacobianInfo", "PreparedJacobian", "Program",
    "__version__", "check_grads", "count", "defjvp", "defprimitive", "defvjp", "grad",
    "hessian", "hvp", "jacfwd", "jacobian", "jacrev", "jvp", "prepare_jacobian", "record",
    "recorded", "sparsity", "value_and_grad", "vjp",
]
