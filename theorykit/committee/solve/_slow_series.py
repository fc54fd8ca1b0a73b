r"""Aggregated covariance after one frozen-``G`` step, and its average over the step, cheap enough to iterate on.

The exponential integrator searches, every step, for the covariance averaged over the step that
makes the frozen ``G`` self-consistent; each trial needs
:math:`\bar C(G) = \frac1h\int_0^h\sum_k\lambda_k\Omega^{(k)}(s)\,ds`, and the accepted ``G`` is
cross-checked on :math:`C_{n+1}(G) = \sum_k\lambda_k\Omega^{(k)}(h)`.
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
:math:`N_0 + \mathcal L(N_1 + \mathcal L(N_2 + \dots))` for every trial ``G``.  The average
over the step, :math:`\frac1h\int_0^h\Omega^{(k)}(s)\,ds`, is the same series with every
:math:`(a_kh)^p/p!` replaced by :math:`(a_kh)^p/(p+1)!`: a second set of moments, formed in the
same matrix products.

*Truncation.*  With :math:`x = a_{\max} h\,\|\mathcal L\| \le a_{\max} h\,2\|\mathcal G\|_2` over the
slow modes, the remainder after ``P`` terms is at most :math:`x^{P+1}e^x/(P+1)!` relative to the
moments' scale; each mode keeps the orders that make that below ``1e-16`` for the largest norm a
trial may have (:data:`GROWTH` times the norm at the split).  Cancellation between the terms
costs at most a factor :math:`e^{x} \\le e^6`; a trial ``G`` whose norm breaks the bound is
answered by the exact propagation instead.
"""

from __future__ import annotations

import math

import numpy as np

from ...core.threads import together

#: Modes with a_k h 2||G||_2 up to this value are summed by the series (split at step start).
SLOW_SPLIT = 3.0
#: A trial G may have up to this times the norm of the G the modes were split with.
GROWTH = 2.0
#: Highest order kept (x = SLOW_SPLIT * GROWTH = 6 needs 42).
MAX_ORDER = 48
#: Modes summed by one matrix product when the moments are formed (their blocks stay in cache).
MODE_CHUNK = 16


def generator(G: np.ndarray, n: int) -> np.ndarray:
    """:math:`\\mathcal G = [[G_s, G_t], [0, 0]]` (``n x n``) from ``G`` (``K x n``), ``G_s`` symmetrised."""
    K = G.shape[0]
    out = np.zeros((n, n))
    out[:K, :K] = 0.5 * (G[:, :K] + G[:, :K].T)
    out[:K, K:] = G[:, K:]
    return out


def lyapunov_bound(G: np.ndarray, n: int) -> float:
    """:math:`2\\|\\mathcal G\\|_2`, a bound on the norm of :math:`X \\mapsto \\mathcal G X + X\\mathcal G^T`.

    :math:`\\mathcal G` has zero bottom rows, so its norm is that of its top block ``(K x n)``,
    the square root of the largest eigenvalue of a ``K x K`` Gram matrix.
    """
    return _norm_of_top(generator(G, n)[: G.shape[0]])


def _norm_of_top(top: np.ndarray) -> float:
    return 2.0 * math.sqrt(max(float(np.linalg.eigvalsh(top @ top.T)[-1]), 0.0))


def truncation_order(x: float) -> int | None:
    """Smallest ``P`` with :math:`x^{P+1}e^x/(P+1)! \\le 10^{-16}`, or None above :data:`MAX_ORDER`."""
    term = math.exp(x)
    for p in range(MAX_ORDER + 1):
        term *= x / (p + 1)
        if term <= 1e-16:
            return p
    return None


def _order_thresholds() -> np.ndarray:
    """Largest ``x`` that order ``p`` serves, for every ``p`` (bisection; the remainder grows with ``x``)."""
    out = np.empty(MAX_ORDER + 1)
    for p in range(MAX_ORDER + 1):
        lo, hi = 0.0, 64.0
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            order = truncation_order(mid)
            lo, hi = (mid, hi) if order is not None and order <= p else (lo, mid)
        out[p] = lo
    return out


_THRESHOLDS = _order_thresholds()


def truncation_orders(x: np.ndarray) -> np.ndarray:
    """:func:`truncation_order` of every element (vectorised through a table of thresholds)."""
    orders = np.searchsorted(_THRESHOLDS, x, side="left")
    if orders.size and orders.max() > MAX_ORDER:  # split_modes keeps x <= 6, where MAX_ORDER suffices
        raise ValueError("slow-mode series: a mode beyond the admitted range")
    return orders


class SlowModeSeries:
    """The slow modes' share of :math:`C_{n+1}(G)` for one state, step and frozen ``W``.

    Each mode keeps only the orders its own argument needs (``x_k = a_k h`` times the largest
    admitted operator norm): for a power-law spectrum most slow modes need a handful of terms,
    so the moments cost far less than ``MAX_ORDER`` passes over the modes.

    Parameters
    ----------
    a, lam, noise_weight : ndarray (L,)
        :math:`\\eta\\lambda_k`, :math:`\\lambda_k` and :math:`\\eta a_k f_k` per mode.
    state : ModeState
        Every mode at the start of the step, in the integrator's coordinates
        (:class:`~theorykit.committee.solve.exponential.ModeState`): the moments are summed and kept
        there, and :meth:`covariance` turns each trial ``G`` into that basis instead.
    frame : TeacherFrame
        The teacher frame of the slow modes (``TeacherFrame.subset(slow)``).
    t : ndarray (L, M, M)
        Teacher overlaps per mode.
    W : ndarray (K, K) or None
        Frozen noise term.
    h : float
        Step.
    slow : ndarray of int
        The modes the series covers, in order of decreasing ``a`` (a ``slice`` when contiguous,
        which avoids copying the modes).
    bound : float
        :func:`lyapunov_bound` of the ``G`` the modes were split with; trials may reach
        :data:`GROWTH` times it.
    """

    def __init__(self, a, lam, noise_weight, state, frame, t, W, h: float, slow, bound: float) -> None:
        K, M = state.x.shape[1], t.shape[2]
        n = K + M
        self.n, self.K, self.bound = n, K, bound
        a_s, lam_s = a[slow], lam[slow]
        self.a_max_h = float(a_s.max() * h) if a_s.size else 0.0
        z = a_s * h
        x = z * GROWTH * bound
        orders = truncation_orders(x)
        top = int(orders.max()) if x.size else 0
        powers = np.empty((top + 2, z.size))  # (a_k h)^p / p!
        powers[0] = 1.0
        for p in range(1, top + 2):
            powers[p] = powers[p - 1] * z / p
        q_slow, x_slow = state.y[slow].reshape(z.size, K * K), state.x[slow]
        t_slow = t[slow].reshape(z.size, M * M)
        # lam_k (a_k h)^p / p! for the orders each mode needs, zero for those it does not; then the
        # same for the average over the step, lam_k (a_k h)^p / (p + 1)! (both sets in one product)
        end = powers[: top + 1] * lam_s * (np.arange(top + 1)[:, None] <= orders[None, :])
        needed = np.concatenate([end, end / np.arange(1, top + 2)[:, None]])
        moments = np.zeros((2 * (top + 1), n, n))
        # the student-teacher rows (small in a teacher frame): modes come in decreasing a, so the
        # ones that still need order p are a prefix; orders sharing a prefix length form one
        # band, summed by one matrix product
        counts = np.searchsorted(-orders, -np.arange(top + 1), side="right")
        bands, start = [], 0
        while start <= top:
            count = int(counts[start])
            stop = start + int(np.count_nonzero(counts[start:] == count))
            bands.append((start, stop, count))
            start = stop

        # the K x K and M x M blocks: read once, in chunks of modes that stay in cache (a banded
        # product reads a mode once per band)

        half = top + 1  # rows of the end moments; the average's follow

        def banded(blocks: np.ndarray) -> np.ndarray:
            out = np.zeros((2 * half, blocks.shape[1]))
            for lo in range(0, z.size, MODE_CHUNK):
                hi = min(lo + MODE_CHUNK, z.size)
                used = np.r_[: int(orders[lo:hi].max()) + 1]
                both = np.concatenate([used, used + half])
                out[both] += needed[both, lo:hi] @ blocks[lo:hi]
            return out

        def rows() -> np.ndarray:
            out = np.empty((2 * half, K, M))
            for start, stop, count in bands:
                both = np.r_[start:stop, start + half : stop + half]
                out[both] = frame.weighted_rows(needed[both, :count], x_slow[:count])
            return out

        # three independent sums: side by side on threads (BLAS runs on one)
        sum_q, sum_t, sum_r = together(lambda: banded(q_slow), lambda: banded(t_slow), rows, modes=z.size)
        moments[:, :K, :K] = sum_q.reshape(2 * half, K, K)
        moments[:, K:, K:] = sum_t.reshape(2 * half, M, M)
        moments[:, :K, K:] = sum_r
        moments[:, K:, :K] = moments[:, :K, K:].transpose(0, 2, 1)
        # The moments stay in the state's basis P: with S = diag(P, I), L_G(S X S^T) =
        # S L_{G'}(X) S^T for G' = S^T G S, so each trial turns G (n x n) instead of every moment
        self.basis = state.basis
        if W is not None:
            # coefficient of L^p W~: sum_k lam_k eta f_k (a_k h)^{p+1}/(p+1)!, and eta f_k = noise_weight_k / a_k
            # (the average's: (a_k h)^{p+1}/(p+2)!)
            source = powers[1:] @ (noise_weight[slow] * lam_s / a_s)
            source = np.concatenate([source, source / np.arange(2, top + 3)])
            W_here = W if self.basis is None else self.basis.T @ W @ self.basis
            moments[:, :K, :K] += source[:, None, None] * W_here[None]
        self.moments, self.average_moments = moments[:half], moments[half:]

    def covariance(self, G: np.ndarray, average: bool = False) -> np.ndarray | None:
        """:math:`\\sum_{k\\,\\text{slow}}\\lambda_k\\Omega^{(k)}(h)` (``n x n``), or its average over the
        step, :math:`\\frac1h\\int_0^h`, with ``average``; None when ``G`` is too large."""
        moments = self.average_moments if average else self.moments
        K = self.K
        top = generator(G, self.n)[:K]
        if not np.all(np.isfinite(top)):  # an iterate outside the covariances G is defined on
            return None
        norm = _norm_of_top(top)
        if norm > GROWTH * self.bound:
            return None
        order = min(truncation_order(self.a_max_h * norm), len(moments) - 1)
        P = self.basis
        if P is not None:  # G' = S^T G S: rows and the student columns turned by P
            top = P.T @ top
            top[:, :K] = top[:, :K] @ P
        acc = moments[order]
        for p in range(order - 1, -1, -1):
            # acc is symmetric, so L acc = G acc + (G acc)^T, and G acc has only K nonzero rows
            Y = top @ acc
            acc = moments[p].copy()
            acc[:K] += Y
            acc[:, :K] += Y.T
        if P is not None:  # back: S acc S^T
            acc = acc.copy() if order == 0 else acc
            acc[:K] = P @ acc[:K]
            acc[:, :K] = acc[:, :K] @ P.T
        return acc


def split_modes(a: np.ndarray, by_rate: np.ndarray, contiguous: bool, h: float, bound: float):
    """Fast and slow modes for one step: slow when :math:`a_k h\\,2\\|\\mathcal G\\|_2 \\le` :data:`SLOW_SPLIT`.

    ``by_rate`` orders the modes by decreasing ``a``; with ``contiguous`` (the spectrum is already
    in that order) the two sets are slices, so the slow modes are not copied.
    Returns ``(fast, slow)`` as index arrays or slices.
    """
    count = int(np.count_nonzero(a * h * bound > SLOW_SPLIT))
    if contiguous:
        return slice(0, count), slice(count, a.size)
    return by_rate[:count], by_rate[count:]
