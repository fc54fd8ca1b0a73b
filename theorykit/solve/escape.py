r"""Leading eigenvalue of the Jacobian at a fixed point: dense, iterative and secular routes.

Three independent routes to the same number, used to check one another:

* :func:`dense_spectrum` -- every eigenvalue of the full Jacobian built column by column
  from the generated tangents (:meth:`EigenmodeSystem.jacobian`); for small systems.
* :func:`leading_eigenvalues_iterative` -- ARPACK on the Jacobian-vector product; for large
  ``L``.
* :class:`SecularEquation` -- the scalar equation of :mod:`theorykit.solve.fixed_point`
  (diagonal teacher), solved at any precision by :func:`mpmath.findroot` from a float start.
"""

from __future__ import annotations

import numpy as np

from ..errors import NumericalFailure
from .eigenmode import EigenmodeSystem
from .fixed_point import AggregatedSystem

#: Largest Jacobian (rows) diagonalised densely; beyond, ARPACK.
DENSE_LIMIT = 1500


def dense_spectrum(system: EigenmodeSystem, state: np.ndarray) -> np.ndarray:
    """All eigenvalues of the Jacobian at ``state``, sorted by decreasing real part."""
    J = system.jacobian(0.0, state)
    if not np.all(np.isfinite(J)):
        raise NumericalFailure("Jacobian at the fixed point is not finite")
    ev = np.linalg.eigvals(J)
    return ev[np.argsort(-ev.real)]


def leading_eigenvalues_iterative(system: EigenmodeSystem, state: np.ndarray, count: int = 4) -> np.ndarray:
    """The ``count`` eigenvalues of largest real part by ARPACK on the Jacobian-vector product."""
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigs

    size = system.size
    op = LinearOperator(
        (size, size), matvec=lambda v: system.jvp(state, np.asarray(v, dtype=float).ravel()), dtype=float
    )
    try:
        ev = eigs(op, k=count, which="LR", return_eigenvectors=False, tol=1e-10, maxiter=20 * size)
    except ArpackNoConvergence as exc:
        raise NumericalFailure(f"ARPACK did not converge on the leading eigenvalues ({exc})") from None
    return ev[np.argsort(-ev.real)]


def leading_eigenvalues(system: EigenmodeSystem, state: np.ndarray, count: int = 4) -> np.ndarray:
    """Dense route up to :data:`DENSE_LIMIT` unknowns, ARPACK beyond."""
    if system.size <= DENSE_LIMIT:
        return dense_spectrum(system, state)[:count]
    return leading_eigenvalues_iterative(system, state, count)


class SecularEquation:
    r"""Eigenvalues of the full Jacobian at a diagonal-teacher fixed point from a ``d x d`` determinant.

    :math:`\phi(\mu) = \det[I - \Phi(\mu)\,P^{-1}\bar{\mathcal D}P]` with
    :math:`\Phi = \mathrm{diag}_j\sum_k \eta\lambda_k^2 (f_k/m_1)/(\mu - \eta\lambda_k\beta_j)`
    (see :mod:`theorykit.solve.fixed_point`).  Works at float or ``mpf`` precision, following
    the number type of ``agg``.
    """

    def __init__(self, agg: AggregatedSystem, a: np.ndarray) -> None:
        s = agg.sys
        point = agg.point(a)
        B = agg.map_matrix(point.G)
        D = agg.coupling_matrix(a)
        self.eta = s.eta
        self.weights = [s.eta * s.lam[k] ** 2 * s.f[k] / agg.m1 for k in range(s.L)]
        self.lam = list(s.lam)
        if B.dtype == object:
            import mpmath

            beta, P = mpmath.eig(mpmath.matrix(B.tolist()))
            self.beta = list(beta)
            Pinv = mpmath.inverse(P)
            self.Dp = Pinv * mpmath.matrix(D.tolist()) * P
            self._mp = mpmath
        else:
            beta, P = np.linalg.eig(B)
            self.beta = list(beta)
            self.Dp = np.linalg.solve(P, D.astype(complex)) @ P
            self._mp = None
        self.d = len(self.beta)

    def poles(self) -> list:
        """:math:`\\eta\\lambda_k\\beta_j`: where :math:`\\phi` is singular."""
        return [self.eta * lk * b for lk in self.lam for b in self.beta]

    def __call__(self, mu):
        phi = [sum(wk / (mu - self.eta * lk * b) for wk, lk in zip(self.weights, self.lam)) for b in self.beta]
        if self._mp is None:
            A = np.eye(self.d) - np.asarray(phi)[:, None] * self.Dp
            return np.linalg.det(A)
        mp = self._mp
        A = mp.eye(self.d) - mp.matrix([[phi[r] * self.Dp[r, c] for c in range(self.d)] for r in range(self.d)])
        return mp.det(A)

    def root(self, start):
        """A real root near ``start`` (secant iteration at the working precision)."""
        if self._mp is None:
            from scipy.optimize import newton as secant

            value = secant(lambda m: self(m).real, float(start), tol=1e-14, maxiter=100)
            return float(value)
        mp = self._mp
        try:
            value = mp.findroot(
                lambda m: mp.re(self(m)), mp.mpf(start), tol=mp.mpf(10) ** (-mp.mp.dps + 3), maxsteps=200
            )
        except ValueError as exc:
            raise NumericalFailure(f"escape rate: the secular equation did not converge ({exc})") from None
        return mp.re(value)
