"""dualtape: forward (dual numbers) and reverse (tape) automatic differentiation over
one primitive registry."""

from .counting import Counts, count
from .custom import defjvp, defprimitive, defvjp, stop_gradient
from .custom_rules import CustomFunction, custom_jvp, custom_vjp
from .forward import Dual, jacfwd, jvp
from .higher import HessianInfo, hessian, hvp, make_hvp
from .jacobian import JacobianInfo, jacobian
from .prepared import PreparedHessian, PreparedJacobian, prepare_hessian, prepare_jacobian
from .programs import GuardError, Program, record, recorded
from .reverse import grad, jacrev, linearize, value_and_grad, vjp
from .sparsity import sparsity
from .testing import check_grads

__version__ = "0.1.0"

__all__ = [
    "Counts", "CustomFunction", "Dual", "GuardError", "HessianInfo", "JacobianInfo",
    "PreparedHessian", "PreparedJacobian", "Program", "__version__", "check_grads", "count",
    "custom_jvp", "custom_vjp", "defjvp", "defprimitive", "defvjp", "grad", "hessian", "hvp",
    "jacfwd", "jacobian", "jacrev", "jvp", "linearize", "make_hvp", "prepare_hessian",
    "prepare_jacobian", "record", "recorded", "sparsity", "stop_gradient", "value_and_grad",
    "vjp",
]
