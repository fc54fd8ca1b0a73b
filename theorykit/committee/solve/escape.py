r"""Leading eigenvalue of the Jacobian at a fixed point: dense, iterative and secular routes.

Three independent routes to the same number, used to check one another:

* :func:`dense_spectrum` -- every eigenvalue of the full Jacobian built column by column
  from the generated tangents (:meth:`EigenmodeSystem.jacobian`); for small systems.
* :func:`leading_eigenvalues_iterative` -- ARPACK on the Jacobian-vector product; for large
  ``L``.
* :class:`SecularEquation` -- the scalar equation of :mod:`theorykit.committee.solve.fixed_point`
  (diagonal teacher), solved at any precision by :func:`mpmath.findroot` from a float start.
"""

from __future__ import annotations

import numpy as np

from ...core.errors import NumericalFailure
from .eigenmode import EigenmodeSystem
from .fixed_point import AggregatedSystem

#: Largest Jacobian (rows) diagonalised densely; beyond, ARPACK.  Measured at the symmetric
#: plateau (K = M = 2, O(eta) erf, 2 cores): dense 1.8 s / 6.7 s / 19 s against ARPACK's 8 s /
#: 28 s / 61 s at 1568 / 2800 / 4200 rows -- ARPACK needs ~15 Jacobian-vector products per row
#: there (the leading eigenvalues cluster), more than the one per row that builds the matrix.
DENSE_LIMIT = 5000


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

    :math:`\phi(\mu) = \det[I - \sum_k c_k(\mu - \eta\lambda_k\mathcal B)^{-1}\bar{\mathcal D}]`
    with :math:`c_k = \eta\lambda_k^2 f_k/m_1` (see :mod:`theorykit.committee.solve.fixed_point`).
    Works at float or ``mpf`` precision, following the number type of ``agg``.

    The resolvents are computed by direct linear solves, not by diagonalising
    :math:`\mathcal B`: at the plateau :math:`\mathcal B` is *defective* (:math:`G_s` has
    rank one and the student blocks couple into a Jordan chain), and an eigenvector basis would
    lose half of the working digits.  Cost: ``L`` solves of size ``d`` per evaluation.
    """

    def __init__(self, agg: AggregatedSystem, a: np.ndarray) -> None:
        s = agg.sys
        point = agg.point(a)
        self.B = agg.map_matrix(point.G)
        self.D = agg.coupling_matrix(a)
        self.eta = s.eta
        self.weights = [s.eta * s.lam[k] ** 2 * s.f[k] / agg.m1 for k in range(s.L)]
        self.lam = list(s.lam)
        self.d = self.B.shape[0]
        self._mp = None
        if self.B.dtype == object:
            import mpmath

            self._mp = mpmath
            self._Bm = mpmath.matrix(self.B.tolist())
            self._Dm = mpmath.matrix(self.D.tolist())

    def resolvent_sum(self, mu):
        r""":math:`S(\mu) = \sum_k c_k(\mu - \eta\lambda_k\mathcal B)^{-1}\bar{\mathcal D}`."""
        if self._mp is None:
            eye = np.eye(self.d)
            A = mu * eye[None] - self.eta * np.asarray(self.lam)[:, None, None] * self.B[None]
            X = np.linalg.solve(A, np.broadcast_to(self.D, A.shape))
            return np.tensordot(np.asarray(self.weights), X, axes=1)
        mp = self._mp
        eye = mp.eye(self.d)
        S = mp.zeros(self.d, self.d)
        for wk, lk in zip(self.weights, self.lam):
            S += wk * (mp.inverse(mu * eye - self.eta * lk * self._Bm) * self._Dm)
        return S

    def __call__(self, mu):
        r""":math:`\det(I - S(\mu))`: zero exactly at eigenvalues of the full Jacobian."""
        S = self.resolvent_sum(mu)
        if self._mp is None:
            return np.linalg.det(np.eye(self.d) - S)
        return self._mp.det(self._mp.eye(self.d) - S)

    def branch(self, mu):
        r"""Real part of the eigenvalue of :math:`S(\mu)` closest to 1, minus 1.

        Its zeros are those of :meth:`__call__`, but *simple* even where the Jacobian's
        eigenvalue is degenerate -- the escape eigenvalue is (K - 1)-fold degenerate by the
        permutation symmetry, a multiple root of the determinant, which a root finder could
        only pin down to half the working digits.
        """
        S = self.resolvent_sum(mu)
        if self._mp is None:
            nu = np.linalg.eigvals(S)
            return float(nu[np.argmin(np.abs(nu - 1))].real - 1)
        mp = self._mp
        nu = mp.eig(S, left=False, right=False)
        best = min(nu, key=lambda v: abs(v - 1))
        return mp.re(best) - 1

    def root(self, start):
        """The real eigenvalue near ``start`` (secant iteration on :meth:`branch`)."""
        if self._mp is None:
            from scipy.optimize import newton as secant

            return float(secant(self.branch, float(start), tol=1e-15, maxiter=100))
        mp = self._mp
        try:
            value = mp.findroot(self.branch, mp.mpf(start), tol=mp.mpf(10) ** (-2 * mp.mp.dps + 6), maxsteps=200)
        except ValueError as exc:
            raise NumericalFailure(f"escape rate: the secular equation did not converge ({exc})") from None
        return mp.re(value)
