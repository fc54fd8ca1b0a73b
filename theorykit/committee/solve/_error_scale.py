r"""How the exponential integrator measures an error of the aggregated covariance.

*Why not one scale.*  A tolerance relative to :math:`\max|C|` leaves every small part of ``C``
that later grows uncontrolled.  Two such parts decide a run's numbers:

- **The symmetry-breaking part on a plateau.**  On a symmetric plateau the students are nearly
  identical; what tells them apart (:math:`C - \mathcal S C`, with :math:`\mathcal S` the average
  over permutations of the students) is small -- 1e-4 of ``C`` for a random start with
  :math:`\sigma_J = 10^{-3}` -- and it is what grows exponentially into the escape.  An error of
  ``rtol * max|C|`` in it is a relative error ``rtol * max|C| / max|C - S C|`` of the escaping
  mode, so a shift of the escape time and, after the escape, a relative error of
  :math:`\varepsilon_g` about a thousand times ``rtol`` (measured: 1.6e-3 at rtol 1e-6, K = 2).
  The equations are equivariant under permutations of the students and so is every step of the
  integrator: the symmetric part's error is symmetric, and the broken part's error is
  proportional to the broken part.  Measured against its own size it costs few extra steps.
- **The deviations from the specialised fixed point in the tail** (deviation coordinates,
  :mod:`theorykit.committee.solve._deviation`): ``E`` (and so :math:`\varepsilon_g`) is
  measured against itself, ``d`` at the overlaps' scale (:func:`error_scale` says why).

:class:`ErrorScale` maps a difference of covariances to multiples of the local tolerance,
:math:`E \mapsto w_s\,\mathcal S E + w_b\,(E - \mathcal S E)`, with per-block weights
:math:`w = 1 / (atol + (rtol + floor)\,\text{scale})`; it is linear and invertible, so the
midpoint iteration's Anderson acceleration runs on the scaled entries too.  The broken part's
scale is floored at the covariance's round-off (:data:`BROKEN_FLOOR` of :math:`\max|C|`): below
that it is not resolved and not controlled.
"""

from __future__ import annotations

import numpy as np

from .student_average import student_means

#: The broken part is measured relative to itself down to this share of max|C| (round-off of C's sums).
BROKEN_FLOOR = 1e-13


def symmetric_part(E: np.ndarray, K: int) -> np.ndarray:
    r""":math:`\mathcal S E`: the average of an ``n x n`` matrix over the permutations of the first ``K`` indices.

    Student-teacher entries become their mean over the students (per teacher), the student block
    its mean diagonal on the diagonal and its mean off-diagonal entry off it; the teacher block
    stays.
    """
    S = E.copy()
    rows, diagonal, off = student_means(E[:K, K:], E[:K, :K])
    S[:K, K:] = rows
    S[K:, :K] = E[K:, :K].mean(axis=1, keepdims=True)  # E need not be symmetric: its own column means
    S[:K, :K] = off
    S[np.arange(K), np.arange(K)] = diagonal
    return S


class ErrorScale:
    """Differences of covariances (``n x n``) as multiples of the local tolerance.

    Parameters
    ----------
    weights : ndarray (n, n)
        Weights of the symmetric part (all of ``E`` when ``broken`` is None); constant on every
        block, so that they commute with :func:`symmetric_part`.
    broken : float or None
        Weight of the part that breaks the students' permutation symmetry.
    K : int
        Students.
    """

    def __init__(self, weights: np.ndarray, broken: float | None, K: int) -> None:
        self.weights, self.broken, self.K = weights, broken, K

    def __call__(self, E: np.ndarray) -> np.ndarray:
        if self.broken is None:
            return E * self.weights
        S = symmetric_part(E, self.K)
        return S * self.weights + (E - S) * self.broken

    def inverse(self, X: np.ndarray) -> np.ndarray:
        """The difference whose scaled form is ``X``."""
        if self.broken is None:
            return X / self.weights
        S = symmetric_part(X, self.K)
        return S / self.weights + (X - S) / self.broken

    def measure(self, E: np.ndarray) -> float:
        """``max |scaled E|``: the difference as a multiple of the tolerance (``E`` may be the ``k x k`` student block)."""
        if E.shape != self.weights.shape:
            full = np.zeros_like(self.weights)
            k = E.shape[0]
            full[:k, :k] = E
            E = full
        return float(np.abs(self(E)).max())


def error_scale(C: np.ndarray, K: int, rtol: float, atol: float, floor: float, deviations: bool) -> ErrorScale:
    """The :class:`ErrorScale` at the covariance ``C`` (module docstring).

    ``deviations``: ``C`` holds deviations from the specialised fixed point (blockwise scales,
    no symmetric split); otherwise the overlaps (one scale, ``max|C|``, and for ``K > 1`` the
    broken part against its own).
    """
    top = float(np.abs(C).max())
    if deviations:
        teacher, gram = float(np.abs(C[K:, K:]).max()), float(np.abs(C[:K, :K]).max())
        scale = np.full(C.shape, teacher)
        scale[:K, :K] = gram
        # d at the overlaps' own scale, E (and so eps_g) relative to itself.  d at the deviations'
        # scale sigma ~ sqrt(max|E| max|T|) is not needed: the 3e-5 error of eps_g (K = 2, alpha =
        # 1e5, rtol 1e-6) that it once cured came from the midpoint G lagging the fast modes by
        # half a step, which the average over the step removed (_exponential_steps); and it would
        # cost steps (1.35x for K = 2, 8x for erf K = 1 to 1e5, measured before the average): the
        # doubling then sees the fast modes' d lag the frozen drive at each step's end, a first-order
        # error of the end state that the next step forgets.
        return ErrorScale(1.0 / (atol + (rtol + floor) * scale + 1e-300), None, K)
    weights = np.full(C.shape, 1.0 / (atol + (rtol + floor) * top + 1e-300))
    if K == 1:
        return ErrorScale(weights, None, K)
    broken = float(np.abs(C - symmetric_part(C, K)).max())
    return ErrorScale(weights, 1.0 / (atol + rtol * broken + (floor + BROKEN_FLOOR) * top + 1e-300), K)
