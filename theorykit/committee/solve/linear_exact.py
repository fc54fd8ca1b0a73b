"""Exact learning curves of linear networks (numbers only; coefficients come from the derivation).

The per-mode errors obey ``de/dalpha = A e + g`` with
``A = a eta diag(lam) + b eta^2 (lam f) lam^T`` and ``g = c eta^2 lam f s^2`` (``a, b, c`` from
:func:`theorykit.committee.derive.linear_modes.derive_linear_error_system`: -2, 1, 1).  A is a diagonal plus a
rank-one matrix and is similar to a symmetric one: with ``P = diag(eta sqrt(f))``,
``P^-1 A P = a eta diag(lam) + b z z^T``, ``z = eta sqrt(f) lam`` (for ``b > 0``).  So

    eps_g(alpha) = 1/2 lam^T P V exp(Lambda alpha) V^T P^-1 (e0 + A^-1 g) - 1/2 lam^T A^-1 g

with the symmetric eigendecomposition ``V Lambda V^T`` -- in floats (NumPy) or at any precision
(mpmath ``eigsy`` inside ``mpmath.workdps``).  The algorithm is written once for both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...core.errors import NumericalFailure
from ...core.precision import lift


@dataclass(frozen=True)
class LinearCoefficients:
    a: float
    b: float
    c: float


def _backend(dps: int | None):
    if dps is None:
        return float, np.exp, lambda M: np.linalg.eigh(M), np.sqrt
    import mpmath

    def eigh(M):
        E, Q = mpmath.eigsy(mpmath.matrix(M.tolist()))
        return np.array([E[p] for p in range(E.rows)], dtype=object), np.array(Q.tolist(), dtype=object)

    # floats are lifted as the decimals they were written as; callers pass derived inputs as mpf
    return lift, np.frompyfunc(mpmath.exp, 1, 1), eigh, np.frompyfunc(mpmath.sqrt, 1, 1)


def exact_curve(
    lam, f, e0, eta, alpha, coeffs: LinearCoefficients, noise: float = 0.0, dps: int | None = None
) -> np.ndarray:
    """:math:`\\varepsilon_g(\\alpha) = \\tfrac12\\lambda^T e(\\alpha)`, exactly, in floats or at ``dps`` digits.

    With ``dps`` the precision is scoped here with ``mpmath.workdps`` and never leaks; float
    arguments are lifted as the decimals they were written as (:func:`theorykit.core.precision.lift`),
    so pass derived inputs (normalised eigenvalues, initial errors) as ``mpf`` computed at the
    working precision.  ``noise`` is the standard deviation of the forcing.  Returns floats or
    ``mpf`` (object array).
    """
    if dps is not None:
        import mpmath

        with mpmath.workdps(dps):
            return _exact(lam, f, e0, eta, alpha, coeffs, noise, dps)
    return _exact(lam, f, e0, eta, alpha, coeffs, noise, None)


def _exact(lam, f, e0, eta, alpha, coeffs, noise, dps):
    num, exp, eigh, sqrt = _backend(dps)
    dtype = float if dps is None else object
    lam = np.array([num(v) for v in lam], dtype=dtype)
    f = np.array([num(v) for v in f], dtype=dtype)
    e0 = np.array([num(v) for v in e0], dtype=dtype)
    eta, a, b, c = num(eta), num(coeffs.a), num(coeffs.b), num(coeffs.c)
    if b <= 0:
        raise NumericalFailure("linear error system: the symmetric form needs b > 0")
    p = eta * sqrt(f)
    z = p * lam * sqrt(b)
    B = np.diag(a * eta * lam) + np.outer(z, z)
    evals, V = eigh(B)
    A = (B * p[None, :]) / p[:, None]  # A = P B P^-1
    g = c * eta**2 * lam * f * num(noise) ** 2
    if noise:
        shift = np.array(_solve(A, g, dps), dtype=dtype)
        start = e0 + shift
    else:
        shift = np.zeros_like(e0)
        start = e0
    left = (lam * p) @ V  # lam^T P V
    right = V.T @ (start / p)  # V^T P^-1 (e0 + A^-1 g)
    out = []
    for al in alpha:
        value = (left * exp(evals * num(al))) @ right / 2 - (lam @ shift) / 2
        out.append(value)
    result = np.array(out, dtype=dtype)
    if dps is None and not np.all(np.isfinite(result)):
        raise NumericalFailure("linear learning curve is not finite (eta beyond the stability bound?)")
    return result


def _solve(A, g, dps):
    if dps is None:
        return np.linalg.solve(A, g)
    import mpmath

    sol = mpmath.lu_solve(mpmath.matrix(A.tolist()), mpmath.matrix(list(g)))
    return [sol[p] for p in range(sol.rows)]


def stability_bound(lam, f, coeffs: LinearCoefficients) -> float:
    """Largest eta for which every eigenvalue of A is negative (noise-free decay).

    For ``a < 0 < b``: the top eigenvalue of ``a eta diag(lam) + b eta^2 (lam f) lam^T`` crosses 0
    when ``b eta sum_k f_k lam_k / (-a) = 1``, i.e. ``eta_max = -a / (b sum_k f_k lam_k)``
    (secular equation at zero: ``1 = b eta^2 sum_k f_k lam_k^2 / (-a eta lam_k)``).
    """
    lam, f = np.asarray(lam, float), np.asarray(f, float)
    return float(-coeffs.a / (coeffs.b * np.sum(f * lam)))


def small_eta_curve(lam, e0, eta, alpha, coeffs: LinearCoefficients) -> np.ndarray:
    """O(eta) form: :math:`\\tfrac12\\sum_k \\lambda_k e_k(0)\\, e^{a\\eta\\lambda_k\\alpha}` (a sum of L exponentials)."""
    lam, e0, alpha = np.asarray(lam, float), np.asarray(e0, float), np.asarray(alpha, float)
    return 0.5 * np.exp(coeffs.a * eta * np.outer(alpha, lam)) @ (lam * e0)


def slowest_rate(lam, f, eta, coeffs: LinearCoefficients) -> float:
    """Rate of the exponential tail: ``-max eig A`` (small-eta value ``-a eta min_k lam_k``).

    Past the power-law window every mode but the slowest has decayed, and
    ``eps_g ~ exp(-rate alpha)``.  Uses the symmetric form of A (see the module docstring).
    """
    lam, f = np.asarray(lam, float), np.asarray(f, float)
    z = eta * np.sqrt(f) * lam * np.sqrt(coeffs.b)
    evals = np.linalg.eigvalsh(np.diag(coeffs.a * eta * lam) + np.outer(z, z))
    return float(-evals.max())
