r"""The DMFT on a uniform time grid: causal stepping of the response functions.

The second numerical route, independent of the Laplace inversion.  In the time domain the
closure reads (summed loss, :math:`(1+R)^{-1} = \delta - Q`)

.. math::

    \dot G_k = -(\gamma + P\eta_k)\,G_k + P\eta_k\,(Q * G_k),\quad G_k(0)=1,\qquad
    R = \sum_k \eta_k G_k,\qquad Q = R - R * Q .

Each step is an exponential integrator for the local decay (stiff modes are exact) with the
memory term interpolated linearly over the step and the convolutions by the trapezoid rule;
the unknowns at the new time enter linearly and are solved for exactly (one scalar
equation), so the scheme is implicit and second order.  Two grids (``h`` and ``h/2``) are
combined by Richardson extrapolation; their difference is reported as the error estimate.
Cost :math:`O(N n^2)` for ``n`` grid points.

With :math:`R(u) = \mathbb E\,\mathrm{tr}[\eta e^{-Au}]` the equal-time error is a functional
of :math:`R` on :math:`[0, 2t]` (isotropic teacher):

.. math::

    \varepsilon_{\rm teacher} = \tfrac12\Big[\gamma^2\!\iint_{[0,t]^2}\!R(s_1+s_2)
       + 2\gamma\!\int_0^t\! R(t+s)\,ds + R(2t)\Big],\quad
    \varepsilon_{\rm labels} = \tfrac{s^2}2\Big[\int_0^t\!\big(R(s)-R(s+t)\big)ds
       - \gamma\!\iint R(s_1+s_2)\Big],\quad
    \varepsilon_{\rm thermal} = T\!\int_0^t\! R(2s)\,ds,

and the bias uses :math:`\hat m_k(t) = G_k(t) + \gamma\int_0^t G_k`.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import CubicSpline

from ..core.errors import CaseError, NumericalFailure

DEFAULT_MAX_POINTS = 8000


def response_on_grid(eta: np.ndarray, P: float, gamma: float, h: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(G, R)`` on ``t_j = j h``, ``j = 0..n``: ``G`` of shape ``(n + 1, N)``."""
    a = gamma + P * eta
    b = P * eta
    ah = a * h
    E = np.exp(-ah)
    c1 = np.where(ah > 1e-8, (ah - 1.0 + E) / (a**2 * h + 1e-300), h / 2)
    c0 = np.where(ah > 1e-8, -np.expm1(-ah) / (a + 1e-300), h) - c1
    G = np.empty((n + 1, eta.size))
    R = np.empty(n + 1)
    Q = np.empty(n + 1)
    G[0] = 1.0
    R[0] = Q[0] = eta.sum()
    M_prev = np.zeros(eta.size)  # (Q * G_k)(0) = 0
    D = 1.0 - b * c1 * h * Q[0] / 2
    for step in range(1, n + 1):
        # Memory sums over the interior points m = 1..step-1 (O(N step) each step).
        S = Q[step - 1 : 0 : -1] @ G[1:step] if step > 1 else np.zeros(eta.size)
        U = R[step - 1 : 0 : -1] @ Q[1:step] if step > 1 else 0.0
        A_k = (E * G[step - 1] + b * c0 * M_prev + b * c1 * h * S) / D
        B_k = b * c1 * h / 2 / D
        RA, RB = eta @ A_k, eta @ B_k
        Q[step] = (RA * (1 - h * Q[0] / 2) - h * U) / (1 + h * R[0] / 2 - RB * (1 - h * Q[0] / 2))
        G[step] = A_k + B_k * Q[step]
        R[step] = eta @ G[step]
        M_prev = h * (Q[step] / 2 + S + Q[0] * G[step] / 2)
    if not (np.all(np.isfinite(G)) and np.all(np.isfinite(Q))):
        raise NumericalFailure("Volterra DMFT: the response functions became non-finite (step too large?)")
    return G, R


def _cumulative(values: np.ndarray, h: float) -> np.ndarray:
    out = np.zeros_like(values)
    out[1:] = np.cumsum((values[1:] + values[:-1]) * (h / 2), axis=0)
    return out


def _functionals(model, G: np.ndarray, R: np.ndarray, h: float, t: np.ndarray) -> tuple[dict, np.ndarray]:
    grid = np.arange(R.size) * h
    C = CubicSpline(grid, _cumulative(R, h))  # int_0^u R
    D = CubicSpline(grid, _cumulative(grid * R, h))  # int_0^u s R(s) ds
    R_at = CubicSpline(grid, R)
    g, s2, T = model.gamma, model.noise**2, model.T
    upper = C(2 * t) - C(t)
    double = D(t) + 2 * t * upper - (D(2 * t) - D(t))  # iint_{[0,t]^2} R(s1 + s2)
    terms = {
        "teacher": 0.5 * (g**2 * double + 2 * g * upper + R_at(2 * t)),
        "labels": 0.5 * s2 * (C(t) - upper - g * double),
        "thermal": T * 0.5 * C(2 * t),
    }
    half = grid <= t.max() * (1 + 1e-12) + h
    mean_grid = G[half] + g * _cumulative(G[half], h)
    mean = CubicSpline(grid[half], mean_grid, axis=0)(t)
    bias = 0.5 * (mean**2) @ (model.eta * model.teacher_variances)
    return terms, bias


def volterra_terms(
    model, t: np.ndarray, step: float | None = None, max_points: int = DEFAULT_MAX_POINTS
) -> tuple[dict, np.ndarray, dict]:
    """Terms and bias at ``t > 0`` (summed-loss model) with Richardson extrapolation.

    ``step`` is the coarse grid step (default: resolve the fastest rate :math:`P\\eta_1` with
    ``h P eta_1 <= 0.25`` and the smallest requested time with 8 points, within
    ``max_points`` for the fine grid on :math:`[0, 2 t_{max}]`).
    """
    if not model.isotropic_teacher:
        raise CaseError("method", "the Volterra route supports the isotropic teacher only; use method='laplace'")
    eta = model.eta
    span = 2.0 * float(t.max())
    if step is None:
        step = min(0.25 / (model.P * eta.max() + model.gamma), float(t.min()) / 8, span / 16)
        step = max(step, 2.0 * span / max_points)
    elif not (isinstance(step, (int, float)) and step > 0 and np.isfinite(step)):
        raise CaseError("step", f"must be a positive number, got {step!r}")
    n_coarse = int(np.ceil(span / step))
    if 2 * n_coarse > max_points:
        raise CaseError(
            "times",
            f"the Volterra grid would need {2 * n_coarse} points (> max_points = {max_points}); "
            "use method='laplace' for long times",
        )
    h = span / n_coarse
    results = []
    for factor in (1, 2):
        G, R = response_on_grid(eta, float(model.P), model.gamma, h / factor, n_coarse * factor)
        results.append(_functionals(model, G, R, h / factor, t))
    (coarse, coarse_bias), (fine, fine_bias) = results
    terms = {k: (4 * fine[k] - coarse[k]) / 3 for k in fine}
    bias = (4 * fine_bias - coarse_bias) / 3
    total_fine, total_coarse = sum(fine.values()), sum(coarse.values())
    error = float(np.max(np.abs(total_fine - total_coarse) / 3 / np.abs(total_fine)))
    return terms, bias, {"step": h / 2, "points": 2 * n_coarse + 1, "richardson_error_estimate": error}
