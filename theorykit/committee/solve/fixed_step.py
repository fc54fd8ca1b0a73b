"""Classical fourth-order Runge--Kutta on a fixed grid, for floats and mpmath numbers alike.

Used where the *same* discretisation must be applied in two bases or at two precisions:
RK methods are covariant under linear changes of variables, so integrating
``y' = f(y)`` and ``z' = V f(V^{-1} z)`` with the same steps gives ``z_n = V y_n`` up to
round-off -- which isolates the basis change from the discretisation error.
"""

from __future__ import annotations

import numpy as np


def rk4(fun, y0: np.ndarray, alpha_end, steps: int) -> np.ndarray:
    """Integrate ``dy/dalpha = fun(alpha, y)`` from 0 to ``alpha_end`` in ``steps`` equal steps.

    Works on float arrays and on object arrays of ``mpmath.mpf`` (the caller's precision).
    Global error O(h^4) with ``h = alpha_end / steps``.
    """
    if steps < 1:
        raise ValueError("steps must be >= 1")
    h = alpha_end / steps
    y = y0.copy()
    a = 0 * alpha_end
    for _ in range(steps):
        k1 = fun(a, y)
        k2 = fun(a + h / 2, y + (h / 2) * k1)
        k3 = fun(a + h / 2, y + (h / 2) * k2)
        k4 = fun(a + h, y + h * k3)
        y = y + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
        a = a + h
    return y
