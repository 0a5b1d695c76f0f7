"""Rows for products with scipy.sparse constants (see ``tables/__init__.py``): a sparse
array, and a complex one whose transpose (not conjugate transpose) the VJP uses."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from dualtape.primitives import sparse as sps

from tables import Row, _real

A = sp.csr_array(np.array([[1.0, 0.0, 2.0], [0.0, -3.0, 0.0], [0.5, 0.0, 0.0],
                           [0.0, 1.5, 4.0]]))
C = sp.csc_array(A.toarray() * (1 - 2j))

PRIMITIVES: dict[str, Row] = {
    "sparse_matmul": Row(lambda x, y: (sps.apply(A, x) ** 2, sps.rapply(y, C) * x[0, 0]),
                         _real((3, 2), (4,))),
}
