"""Type variables of the public transforms' signatures (for type checkers only).

``P`` is the parameter list of the function being transformed, kept by the function a
transform returns; ``X`` the type of the differentiated argument (a gradient, a
Hessian-vector product, have its type); ``R`` the type of f's result; ``A`` that of the
auxiliary data of ``has_aux=True``.
"""

from __future__ import annotations

from typing import ParamSpec, TypeVar

P = ParamSpec("P")
X = TypeVar("X")
R = TypeVar("R")
A = TypeVar("A")
