"""Rows for the primitives that control differentiation (``stop_gradient``)."""

from __future__ import annotations

from dualtape.primitives import control

from tables import Row, _real

PRIMITIVES: dict[str, Row] = {
    # identity on values, no derivative: the result must be the plain input
    "stop_gradient": Row(control.stop_gradient_p, _real((2, 3)), nondiff=True),
}
