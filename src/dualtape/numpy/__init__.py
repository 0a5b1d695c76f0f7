"""The numpy-like namespace, ``import dualtape.numpy as dnp``, and the behaviour every
traced value shares (operators, methods and numpy's dispatch hooks).

Each function here is a thin adapter from numpy's signature to a primitive in
:mod:`dualtape.primitives`.  Plain numpy calls on traced values arrive through
``__array_ufunc__`` / ``__array_function__`` and go to the same functions; a numpy
function with no rule raises ``TypeError`` naming the function and the mode, so a
derivative is never dropped silently.
"""

from numpy import (e, euler_gamma, float16, float32, float64, inf, int32, int64,  # noqa: F401
                   nan, ndarray, newaxis, pi, random)
from numpy import bool_, complex64, complex128, dtype, finfo, iinfo  # noqa: F401
from numpy import allclose, array_equal, isclose, ndim, shape, size  # noqa: F401

from ._construct import *  # noqa: F401,F403
from ._elementwise import *  # noqa: F401,F403
from ._linalg import *  # noqa: F401,F403
from ._reductions import *  # noqa: F401,F403
from ._shape import *  # noqa: F401,F403
from ._traced import TracedArray  # noqa: F401
from . import fft, linalg  # noqa: F401,E402  (dnp.linalg, dnp.fft namespaces)
