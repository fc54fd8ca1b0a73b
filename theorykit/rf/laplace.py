r"""The DMFT in the Laplace domain: closure per complex frequency, Talbot inversion.

The response part of the DMFT is time-translation invariant, so in the Laplace variable
:math:`z` it is algebraic: with :math:`\mu = z + \gamma` the closure is one scalar equation

.. math:: F(\kappa) = \kappa - \mu - \kappa \sum_k \frac{\eta_k}{\kappa + P\eta_k} = 0,

and :math:`G_k = \kappa/(\mu(\kappa+P\eta_k))`, :math:`R = \sum_k\eta_kG_k = \kappa/\mu - 1`
(both lowered from :mod:`theorykit.rf.derive`).  The equal-time error is a
combination of :math:`R(z)` and :math:`R(z/2)`; the bias needs each mode's mean transform.

Inversion uses the fixed Talbot contour (Abate & Valko 2004): ``M`` nodes
:math:`z_j = \zeta_j/t` on a contour that wraps the negative real axis, where all
singularities lie (the spectrum of :math:`-A` and :math:`z = 0`).  In double precision
``M = 20`` (about 11 significant digits: truncation :math:`10^{-0.6M}`, round-off amplified
by :math:`e^{0.4M}`); at ``dps`` digits the nodes, the closure and the sums run in
:mod:`mpmath` with ``M = ceil(dps / 0.6)`` at ``M + 10`` working digits.

The closure is solved by Newton's method, continued along the contour from the real node
(where :math:`F` is convex with a unique positive root, approached monotonically from the
upper bound :math:`\mu + \sum_k\eta_k`); a step that does not converge is subdivided.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from ..core.errors import NumericalFailure
from .lower import rf_module

FLOAT_NODES = 20
_NEWTON_MAX = 60
_SUBDIVIDE_MAX = 4096


def talbot_nodes(M: int = FLOAT_NODES):
    """Nodes :math:`\\zeta_j` and weights :math:`\\omega_j`: :math:`f(t) \\approx t^{-1}\\sum_j \\mathrm{Re}[\\omega_j F(\\zeta_j/t)]`."""
    theta = np.arange(M) * np.pi / M
    cot = np.zeros(M)
    cot[1:] = 1.0 / np.tan(theta[1:])
    zeta = (2.0 * M / 5.0) * np.where(theta > 0, theta * (cot + 1j), 1.0 + 0j)
    factor = np.where(theta > 0, 1.0 + 1j * theta * (1.0 + cot**2) - 1j * cot, 1.0 + 0j)
    omega = 0.4 * factor * np.exp(zeta)
    omega[0] *= 0.5
    return zeta, omega


def talbot_nodes_mp(M: int):
    """:func:`talbot_nodes` at the caller's :mod:`mpmath` precision."""
    zeta, omega = [], []
    for j in range(M):
        if j == 0:
            zj, fj = mpmath.mpf(2 * M) / 5, mpmath.mpf(1) / 2
        else:
            th = mpmath.pi * j / M
            cot = mpmath.cot(th)
            zj = mpmath.mpf(2 * M) / 5 * th * (cot + 1j)
            fj = 1 + 1j * th * (1 + cot**2) - 1j * cot
        zeta.append(zj)
        omega.append(mpmath.mpf(2) / 5 * fj * mpmath.exp(zj))
    return zeta, omega


# --------------------------------------------------------------------------- float path


def _newton(mu: np.ndarray, eta: np.ndarray, P: float, kappa: np.ndarray, lowered) -> tuple[np.ndarray, bool]:
    for _ in range(_NEWTON_MAX):
        term, slope_term = lowered.kappa_terms(kappa[:, None], eta[None, :], P)
        total = term.sum(axis=1)
        F = lowered.residual(kappa, mu, total)
        # Converged when the step is negligible or the residual is at the round-off level of
        # its terms (near a branch point of the closure the slope is small and the step
        # stalls at ~1e-14 relative while the residual is already exact).
        at_roundoff = np.abs(F) <= 8e-16 * (np.abs(kappa) + np.abs(mu) + np.abs(total))
        step = F / lowered.slope(slope_term.sum(axis=1))
        kappa = kappa - step
        if not np.all(np.isfinite(kappa)):
            return kappa, False
        if np.all(at_roundoff | (np.abs(step) <= 1e-14 * np.abs(kappa) + 1e-300)):
            return kappa, True
    return kappa, False


def _continued(previous, mu_from, mu_to, newton):
    """Continue a root from ``mu_from`` to ``mu_to``, halving the sub-steps until Newton converges.

    Works for arrays (float path, all rows at once) and for ``mpc`` scalars alike; returns
    None when even ``_SUBDIVIDE_MAX`` sub-steps fail.
    """
    pieces = 1
    while pieces <= _SUBDIVIDE_MAX:
        kappa, ok = previous, True
        for q in range(1, pieces + 1):
            kappa, ok = newton(mu_from + (mu_to - mu_from) * (q / pieces), kappa)
            if not ok:
                break
        if ok:
            return kappa
        pieces *= 2
    return None


def solve_closure(mu: np.ndarray, eta: np.ndarray, P: float) -> np.ndarray:
    """:math:`\\kappa` for ``mu`` of shape ``(n, M)``; column 0 real positive, continued along axis 1."""
    lowered = rf_module("numpy")
    out = np.empty(mu.shape, dtype=complex)
    start = mu[:, 0].real + eta.sum()
    kappa, ok = _newton(mu[:, 0].astype(complex), eta, P, start.astype(complex), lowered)
    if not ok:
        raise NumericalFailure(f"DMFT closure: Newton failed on the real axis at mu = {mu[:, 0].real.min():.3g}")
    out[:, 0] = kappa
    for j in range(1, mu.shape[1]):
        kappa = _continued(out[:, j - 1], mu[:, j - 1], mu[:, j], lambda m, k: _newton(m, eta, P, k, lowered))
        if kappa is None:
            last = out[:, j - 1]
            term, _ = lowered.kappa_terms(last[:, None], eta[None, :], P)
            residual = np.nanmax(np.abs(lowered.residual(last, mu[:, j], term.sum(axis=1))))
            raise NumericalFailure(
                f"DMFT closure: Newton continuation did not converge at contour node {j} "
                f"after {_SUBDIVIDE_MAX} sub-steps (|residual| {residual:.3g} at the last converged root)"
            )
        out[:, j] = kappa
    return out


def collective_response(z: np.ndarray, eta: np.ndarray, P: float, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """``(kappa, R)`` at complex frequencies ``z`` (shape ``(n, M)``)."""
    mu = z + gamma
    kappa = solve_closure(mu, eta, P)
    return kappa, rf_module("numpy").collective_response(kappa, mu)


def invert(transform_values: np.ndarray, times: np.ndarray, omega: np.ndarray) -> np.ndarray:
    """Talbot sum over the node axis (axis 1) of values at ``z = zeta / t``."""
    weights = omega[None, :] / times[:, None]
    extra = transform_values.ndim - 2
    return np.real(np.sum(weights.reshape(weights.shape + (1,) * extra) * transform_values, axis=1))


# --------------------------------------------------------------------------- mpmath path


def _newton_mp(mu, eta, P, kappa, lowered):
    tol = mpmath.mpf(10) ** (-mpmath.mp.dps + 3)
    for _ in range(4 * _NEWTON_MAX):
        total, total_slope = mpmath.mpf(0), mpmath.mpf(0)
        for e in eta:
            term, slope_term = lowered.kappa_terms(kappa, e, P)
            total += term
            total_slope += slope_term
        step = lowered.residual(kappa, mu, total) / lowered.slope(total_slope)
        kappa = kappa - step
        if abs(step) <= tol * abs(kappa):
            return kappa, True
    return kappa, False


def solve_closure_mp(mus: list, eta: list, P, guesses=None) -> list:
    """:func:`solve_closure` for one contour (a list of ``mu``), at the current precision.

    ``guesses`` (e.g. the double-precision solution at the same nodes) start Newton close to
    the root, so a few quadratically convergent steps polish it; without them (or if a
    guess fails) the root is continued along the contour from the real node.
    """
    lowered = rf_module("mpmath")
    out = []
    for j, mu in enumerate(mus):
        if guesses is not None:
            kappa, ok = _newton_mp(mu, eta, P, mpmath.mpc(guesses[j]), lowered)
            if ok:
                out.append(kappa)
                continue
        if j == 0:
            kappa, ok = _newton_mp(mpmath.mpc(mu), eta, P, mpmath.mpc(mu.real + mpmath.fsum(eta)), lowered)
            if not ok:
                raise NumericalFailure("DMFT closure (mpmath): Newton failed on the real axis")
            out.append(kappa)
            continue
        kappa = _continued(out[-1], mus[j - 1], mu, lambda m, k: _newton_mp(m, eta, P, k, lowered))
        if kappa is None:
            raise NumericalFailure(f"DMFT closure (mpmath): continuation failed at contour node {j}")
        out.append(kappa)
    return out


def nodes_for_digits(dps: int) -> int:
    """Talbot nodes for ``dps`` correct digits (accuracy about ``0.6 M`` digits)."""
    return max(FLOAT_NODES, math.ceil(dps / 0.6))
