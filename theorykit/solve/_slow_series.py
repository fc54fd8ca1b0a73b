r"""Aggregated covariance after one frozen-``G`` step, cheap enough to iterate on.

The exponential integrator searches, every step, for the midpoint covariance that makes the
frozen ``G`` self-consistent; each trial needs :math:`C_{n+1}(G) = \sum_k\lambda_k\Omega^{(k)}(h)`.
Propagating every mode exactly costs :math:`O(L K^3)` per trial.  This module computes the same
sum in :math:`O(P\,n^3)` for the *slow* modes, those with :math:`a_k h\,\|\mathcal L\| \le \theta`,
and leaves only the few fast modes to the exact propagation.

Per mode, with :math:`\mathcal G = [[G_s, G_t], [0, 0]]` (``n x n``), the equations of the
integrator read :math:`\dot\Omega = a_k\,\mathcal L\Omega + a_k\eta f_k\tilde W`, with the
Lyapunov operator :math:`\mathcal L X = \mathcal G X + X\mathcal G^T` and
:math:`\tilde W = [[W, 0], [0, 0]]`.  Over a step with ``G`` and ``W`` frozen,

.. math::

    \Omega^{(k)}(h) = \sum_{p\ge0}\frac{(a_k h)^p}{p!}\mathcal L^p\Omega^{(k)}
        + \sum_{p\ge1}\frac{(a_k h)^p}{p!}\mathcal L^{p-1}\eta f_k\tilde W,

so the weighted sum over the slow modes only needs their moments
:math:`N_p = \sum_k\lambda_k\frac{(a_k h)^p}{p!}\Omega^{(k)} + \eta\sum_k\lambda_k f_k\frac{(a_k h)^{p+1}}{(p+1)!}\tilde W`,
computed once per step (one matrix product), and Horner's rule
:math:`N_0 + \mathcal L(N_1 + \mathcal L(N_2 + \dots))` for every trial ``G``.

*Truncation.*  With :math:`x = a_{\max} h\,\|\mathcal L\| \le a_{\max} h\,2\|\mathcal G\|_2` over the
slow modes, the remainder after ``P`` terms is at most :math:`x^{P+1}e^x/(P+1)!` relative to the
moments' scale; ``P`` is chosen per trial to make that below ``1e-16``.  Cancellation between the
terms costs at most a factor :math:`e^{x}`: ``x`` is kept below :data:`SLOW_LIMIT` when the modes
are split, and a trial ``G`` whose norm breaks the bound is answered by the exact propagation.
"""

from __future__ import annotations

import math

import numpy as np

#: Modes with a_k h 2||G||_2 up to this value are summed by the series (split at step start).
SLOW_SPLIT = 3.0
#: A trial G may raise x up to this before the series is abandoned for that trial.
SLOW_LIMIT = 6.0
#: Highest order kept (enough for x = SLOW_LIMIT: 6^41 e^6 / 41! < 1e-15).
MAX_ORDER = 40


def generator(G: np.ndarray, n: int) -> np.ndarray:
    """:math:`\\mathcal G = [[G_s, G_t], [0, 0]]` (``n x n``) from ``G`` (``K x n``), ``G_s`` symmetrised."""
    K = G.shape[0]
    out = np.zeros((n, n))
    out[:K, :K] = 0.5 * (G[:, :K] + G[:, :K].T)
    out[:K, K:] = G[:, K:]
    return out


def truncation_order(x: float) -> int | None:
    """Smallest ``P`` with :math:`x^{P+1}e^x/(P+1)! \\le 10^{-16}`, or None above :data:`MAX_ORDER`."""
    term = math.exp(x)
    for p in range(MAX_ORDER + 1):
        term *= x / (p + 1)
        if term <= 1e-16:
            return p
    return None


class SlowModeSeries:
    """The slow modes' share of :math:`C_{n+1}(G)` for one state, step and frozen ``W``.

    Parameters
    ----------
    a, lam, noise_weight : ndarray (L,)
        :math:`\\eta\\lambda_k`, :math:`\\lambda_k` and :math:`\\eta a_k f_k` per mode.
    r, q, t : ndarray
        Per-mode blocks (L, K, M), (L, K, K), (L, M, M) at the start of the step.
    W : ndarray (K, K) or None
        Frozen noise term.
    h : float
        Step.
    slow : ndarray of bool (L,)
        Which modes the series covers.
    """

    def __init__(self, a, lam, noise_weight, r, q, t, W, h: float, slow: np.ndarray) -> None:
        K, M = r.shape[1], r.shape[2]
        n = K + M
        self.n, self.K = n, K
        self.a_max_h = float(a[slow].max() * h) if slow.any() else 0.0
        z = a[slow] * h
        powers = np.empty((MAX_ORDER + 2, z.size))  # (a_k h)^p / p!
        powers[0] = 1.0
        for p in range(1, MAX_ORDER + 2):
            powers[p] = powers[p - 1] * z / p
        weights = powers[: MAX_ORDER + 1] * lam[slow]
        moments = np.zeros((MAX_ORDER + 1, n, n))
        moments[:, :K, :K] = (weights @ q[slow].reshape(z.size, K * K)).reshape(-1, K, K)
        moments[:, :K, K:] = (weights @ r[slow].reshape(z.size, K * M)).reshape(-1, K, M)
        moments[:, K:, :K] = moments[:, :K, K:].transpose(0, 2, 1)
        moments[:, K:, K:] = (weights @ t[slow].reshape(z.size, M * M)).reshape(-1, M, M)
        if W is not None:
            # coefficient of L^p W~: sum_k lam_k eta f_k (a_k h)^{p+1}/(p+1)!, and eta f_k = noise_weight_k / a_k
            source = powers[1:] @ (noise_weight[slow] * lam[slow] / a[slow])
            moments[:, :K, :K] += source[:, None, None] * W[None]
        self.moments = moments

    def covariance(self, G: np.ndarray) -> np.ndarray | None:
        """:math:`\\sum_{k\\,\\text{slow}}\\lambda_k\\Omega^{(k)}(h)` (``n x n``), or None when ``G`` is too large."""
        gen = generator(G, self.n)
        x = self.a_max_h * 2.0 * np.linalg.norm(gen, 2)
        if x > SLOW_LIMIT:
            return None
        order = truncation_order(x)
        acc = self.moments[order].copy()
        for p in range(order - 1, -1, -1):
            acc = self.moments[p] + gen @ acc + acc @ gen.T
        return acc


def split_slow(a: np.ndarray, h: float, G: np.ndarray, n: int) -> np.ndarray:
    """Modes whose series argument :math:`a_k h\\,2\\|\\mathcal G\\|_2` is at most :data:`SLOW_SPLIT`."""
    bound = 2.0 * np.linalg.norm(generator(G, n), 2)
    return a * h * bound <= SLOW_SPLIT
