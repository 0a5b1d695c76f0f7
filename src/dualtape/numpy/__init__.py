"""The numpy-like namespace, ``import dualtape.numpy as dnp``, and the behaviour every
traced value shares (operators, methods and numpy's dispatch hooks).

Each function here is a thin adapter from numpy's signature to a primitive in
:mod:`dualtape.primitives` (or a composite of them).  Plain numpy calls on traced
values arrive through ``__array_ufunc__`` / ``__array_function__`` and go to the same
functions; a numpy function with no rule raises ``TypeError`` naming the function and
the mode, so a derivative is never dropped silently.  Every other public name of numpy
(dtypes, constants, ``meshgrid``'s relatives without derivative, ``seterr``, printing,
...) resolves here to numpy's own object; ``python -m dualtape.report --coverage`` shows
which is which.
"""

import sys as _sys
from typing import Any as _Any

import numpy as _np
from numpy import (e, euler_gamma, float16, float32, float64, inf, int32, int64,  # noqa: F401
                   nan, ndarray, newaxis, pi)
from numpy import bool_, complex64, complex128, dtype, finfo, iinfo  # noqa: F401
from numpy import allclose, array_equal, isclose, ndim, shape, size  # noqa: F401

from ._construct import *  # noqa: F401,F403
from ._elementwise import *  # noqa: F401,F403
from ._linalg import *  # noqa: F401,F403
from ._reductions import *  # noqa: F401,F403
from ._shape import *  # noqa: F401,F403
from ._calculus import *  # noqa: F401,F403
from ._statistics import *  # noqa: F401,F403
from ._moves import *  # noqa: F401,F403
from ._select import *  # noqa: F401,F403
from ._poly import *  # noqa: F401,F403
from ._histogram import *  # noqa: F401,F403
from . import _values  # noqa: F401  (plain results and errors for numpy's other functions)
from ._traced import TracedArray  # noqa: F401
from . import fft, linalg, random  # noqa: F401,E402  (dnp.linalg, dnp.fft, dnp.random)
from . import _sparse  # noqa: E402
from . import _signatures  # noqa: E402

_sparse.install()   # LinearOperator @ traced value (see _sparse)
# numpy's parameter names for inspect.signature and help() (computed when first read)
_signatures.expose(_sys.modules[__name__], _np,
                   [n for n in list(globals()) if not n.startswith("_")])
_signatures.expose(linalg, _np.linalg)
_signatures.expose(fft, _np.fft)


def __getattr__(name: str) -> _Any:
    # numpy's other public names are numpy's own objects (looked up lazily, so that
    # numpy's lazily loaded submodules such as numpy.testing stay unloaded)
    if not name.startswith("_") and name in dir(_np):
        return getattr(_np, name)
    raise AttributeError(f"module 'dualtape.numpy' has no attribute {name!r}")
