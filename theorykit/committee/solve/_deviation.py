r"""Deviation coordinates from the specialised fixed point: the tail without cancellation.

*Why.*  Near perfect learning (K = M, every student one teacher) :math:`\varepsilon_g`, the
noise matrix ``W`` and the drive of the student-teacher overlaps are small differences of
order-one overlaps.  Held as :math:`r_k, q_k` and evaluated from them in double precision they
are lost below about :math:`10^{-15}` (the overlaps' own round-off), long before the learning
curve ends: :math:`\varepsilon_g` at :math:`10^{-13}` came out 1e-2 off, and below that not even
its sign was known.

*Coordinates.*  With ``P`` the permutation that pairs each student with its teacher,

.. math::

    d_k = r_k - P t_k,\qquad
    E_k = q_k - r_k P^T - P r_k^T + P t_k P^T \;(= (w - Pb)_k (w - Pb)_k^T \ge 0),

first and second order in the weight deviations.  Substituting into
:math:`\dot r_k = a_k(G_s r_k + G_t t_k)` and the ``q`` equation gives equations of the *same
form* with :math:`G_t` replaced by :math:`S = G_s P + G_t` (zero at the fixed point):

.. math::

    \dot d_k = a_k(G_s d_k + S t_k),\qquad
    \dot E_k = a_k(G_s E_k + E_k G_s + S d_k^T + d_k S^T) + \eta a_k f_k W,

so the exponential integrator's propagation, slow-mode series and noise hold run unchanged on
the state :math:`(d_k, E_k)` and the coefficients :math:`[G_s\,|\,S]`; its aggregated
"covariance" becomes :math:`[[\sum\lambda_k E_k, \sum\lambda_k d_k], [\cdot, T]]`.

*Evaluation without cancellation.*  Scaling the weight deviations by :math:`s/\sigma` traces the
curve of covariances

.. math::

    C(s) = C^* + \begin{bmatrix} s^2\hat E + s(\hat dP^T + P\hat d^T) & s\hat d\\ s\hat d^T & 0\end{bmatrix},
    \qquad \hat d = \bar d/\sigma,\ \hat E = \bar E/\sigma^2,

which passes through the fixed point :math:`C^*` at ``s = 0`` and through the state at
:math:`s = \sigma` (:math:`\sigma` = the larger of :math:`\max|\bar d|` and
:math:`\max|\bar E|^{1/2}`).  Along it :math:`\varepsilon_g` and ``W`` vanish to second order
and ``S`` to first (each is quadratic, resp. linear, in the residual
:math:`f_{teacher} - f_{student} = O(s)`).  Where :math:`\sigma <` :data:`RAY_STEP`, each is
evaluated at the nodes :math:`s = ` :data:`RAY_STEP` :math:`\times(\pm1, \pm2, \pm3)`, where double
precision resolves it to about :math:`10^{-10}` relative, and the polynomial
:math:`\sum_{p=m}^{m+5}c_ps^p` through those six values (``m`` its known order of vanishing) is
evaluated at :math:`s = \sigma`; above, directly at the state (relative round-off below
:math:`10^{-16}/\sigma^m`).  Both are tested against plain mpmath at 50 digits from the same
exact inputs (``tests/committee/solve/test_deviation.py``).

The curve is analytic in ``s`` only where the kernels are analytic at :math:`C^*`: the ``erf``
and ``linear`` activations (:data:`ANALYTIC`; the ReLU kernels have a square-root branch point
where a student's correlation with its teacher reaches one), without output noise (which keeps
``W`` finite at the fixed point) and with K = M.
"""

from __future__ import annotations

import numpy as np

#: Activations whose Gaussian kernels are analytic at the specialised fixed point.
ANALYTIC = ("erf", "linear")
#: Deviations (sigma, relative to the teachers' scale) below which the integrator switches to these coordinates.
SWITCH = 1e-1
#: Distance along the curve C(s) of the innermost evaluation node.
RAY_STEP = 2e-3
#: The nodes of the polynomial fit, in units of RAY_STEP.
NODES = np.array([-3.0, -2.0, -1.0, 1.0, 2.0, 3.0])
#: Relative accuracy of a value evaluated through the fit (measured against mpmath at 50 digits:
#: 1e-11 for eps_g, 2e-10 for W, 2e-13 for S at erf, K = 2; tests/committee/solve/test_deviation.py).
FIT_ACCURACY = 1e-9


def _fits() -> dict[int, np.ndarray]:
    """Inverse Vandermonde matrices for the orders of vanishing 1 and 2: coefficients of
    :math:`u^m, \\dots, u^{m+5}` (``u = s / RAY_STEP``) from the values at :data:`NODES`."""
    powers = np.arange(NODES.size)
    return {m: np.linalg.inv(NODES[:, None] ** (m + powers[None, :])) for m in (1, 2)}


_FITS = _fits()


class Specialised:
    """The specialised fixed point of one model and the deviation coordinates around it.

    Parameters
    ----------
    P : ndarray (K, K)
        Permutation matrix: student ``i`` learns teacher ``j`` where ``P[i, j] = 1``.
    T : ndarray (M, M)
        Aggregated teacher overlaps :math:`\\sum_k\\lambda_k t_k`.
    """

    def __init__(self, P: np.ndarray, T: np.ndarray) -> None:
        self.P, self.T = P, T
        self.K = P.shape[0]
        K = self.K
        n = K + T.shape[0]
        self.star = np.empty((n, n))
        self.star[:K, :K] = P @ T @ P.T
        self.star[:K, K:] = P @ T
        self.star[K:, :K] = T @ P.T
        self.star[K:, K:] = T

    @classmethod
    def applies_to(cls, model) -> bool:
        """Whether the coordinates serve this model (K = M, analytic kernels, no output noise)."""
        return model.K == model.M and model.activation_name in ANALYTIC and float(model.noise) == 0.0

    @classmethod
    def near(cls, C: np.ndarray, K: int) -> Specialised | None:
        """The fixed point the aggregated covariance ``C`` (``n x n``) is within :data:`SWITCH` of, or None."""
        from scipy.optimize import linear_sum_assignment

        R, T = C[:K, K:], C[K:, K:]
        rows, cols = linear_sum_assignment(-R)
        P = np.zeros((K, K))
        P[rows, cols] = 1.0
        spec = cls(P, T)
        return spec if spec.scale(spec.deviation_blocks(C)) <= SWITCH * np.abs(T).max() else None

    # -- coordinates -------------------------------------------------------------------------
    def deviations(self, r: np.ndarray, q: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-mode :math:`d_k` (L, K, M) and :math:`E_k` (L, K, K) from the overlaps."""
        P = self.P
        Pt = P[None] @ t
        rP = r @ P.T
        return r - Pt, q - rP - rP.transpose(0, 2, 1) + Pt @ P.T[None]

    def overlaps(self, d: np.ndarray, E: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-mode overlaps ``r`` (L, K, M), ``q`` (L, K, K) from the deviations."""
        P = self.P
        Pt = P[None] @ t
        dP = d @ P.T
        return d + Pt, E + dP + dP.transpose(0, 2, 1) + Pt @ P.T[None]

    def deviation_blocks(self, C: np.ndarray) -> np.ndarray:
        """The aggregated deviation covariance ``[[E, d], [d^T, T]]`` of a covariance ``C`` (for the switch)."""
        K = self.K
        d, E = self.deviations(C[None, :K, K:], C[None, :K, :K], C[None, K:, K:])
        out = C.copy()
        out[:K, :K], out[:K, K:], out[K:, :K] = E[0], d[0], d[0].T
        return out

    def scale(self, C_dev: np.ndarray) -> float:
        """:math:`\\sigma = \\max(\\max|\\bar d|, \\max|\\bar E|^{1/2})` of a deviation covariance."""
        K = self.K
        return max(float(np.abs(C_dev[:K, K:]).max()), float(np.sqrt(np.abs(C_dev[:K, :K]).max())))

    def covariance(self, C_dev: np.ndarray) -> np.ndarray:
        """The covariance :math:`C^* + D` of a deviation covariance (order-one entries)."""
        return self._curve(C_dev, 1.0)(1.0)

    def _curve(self, C_dev: np.ndarray, sigma: float):
        K, P = self.K, self.P
        d_hat = C_dev[:K, K:] / sigma
        E_hat = C_dev[:K, :K] / sigma**2
        dP = d_hat @ P.T
        sym = dP + dP.T

        def at(s: float) -> np.ndarray:
            C = self.star.copy()
            C[:K, :K] += (s * s) * E_hat + s * sym
            C[:K, K:] += s * d_hat
            C[K:, :K] += s * d_hat.T
            return C

        return at

    # -- evaluation without cancellation ----------------------------------------------------------
    def evaluate(self, function, C_dev: np.ndarray, order: int) -> np.ndarray:
        """``function(C* + D)`` for a function that vanishes to ``order`` (1 or 2) along the curve.

        Directly at the state where :math:`\\sigma \\ge` :data:`RAY_STEP`; otherwise through the
        polynomial fitted to its values at the nodes (module docstring).
        """
        sigma = self.scale(C_dev)
        if sigma >= RAY_STEP:
            return np.asarray(function(self.covariance(C_dev)), dtype=float)
        if sigma == 0.0:
            return np.zeros_like(np.asarray(function(self.star), dtype=float))
        at = self._curve(C_dev, sigma)
        values = np.stack([np.asarray(function(at(RAY_STEP * u)), dtype=float) for u in NODES])
        coefficients = _FITS[order] @ values.reshape(NODES.size, -1)
        u = sigma / RAY_STEP
        powers = u ** (order + np.arange(NODES.size))
        return (powers @ coefficients).reshape(values.shape[1:])

    def coefficients(self, G_of, C_dev: np.ndarray) -> np.ndarray:
        """:math:`[G_s\\,|\\,S]` (``K x n``), :math:`S = G_s P + G_t` without cancellation."""
        K, P = self.K, self.P

        def drive(C: np.ndarray) -> np.ndarray:
            G = G_of(C)
            return 0.5 * (G[:, :K] + G[:, :K].T) @ P + G[:, K:]

        G = np.array(G_of(self.covariance(C_dev)), dtype=float)
        G[:, :K] = 0.5 * (G[:, :K] + G[:, :K].T)
        G[:, K:] = self.evaluate(drive, C_dev, order=1)
        return G
