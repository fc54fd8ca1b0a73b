"""Initial order parameters: given per-mode overlaps, or drawn from finite-N weights.

The eigenspace of eigenvalue ``lambda_k`` has ``N_k`` input directions
(``N_k = f_k N``, rounded by largest remainders so that they add to ``N``).  Working in the
eigenbasis of Sigma, the overlaps of two weight vectors restricted to block ``k`` are
``r^(k)_in = J_i[blk] . B_n[blk] / N`` etc.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...core.errors import CaseError
from ...core.precision import lift_array
from ..model import CommitteeModel


@dataclass(frozen=True)
class Overlaps:
    """Per-mode overlaps: ``r`` (L, K, M), ``q`` (L, K, K), ``t`` (L, M, M)."""

    r: np.ndarray
    q: np.ndarray
    t: np.ndarray

    def high_precision(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(r, q, t)`` as object arrays of ``mpf`` at the caller's precision, read as written decimals."""
        return lift_array(self.r), lift_array(self.q), lift_array(self.t)

    def omega(self) -> np.ndarray:
        """Per-mode matrices :math:`\\Omega^{(k)} = [[q, r], [r^T, t]]`, shape (L, n, n)."""
        top = np.concatenate([self.q, self.r], axis=2)
        bottom = np.concatenate([self.r.transpose(0, 2, 1), self.t], axis=2)
        return np.concatenate([top, bottom], axis=1)


def block_sizes(fractions: np.ndarray, N: int) -> np.ndarray:
    """Directions per eigenspace, ``round(f_k N)`` by largest remainders (sum exactly ``N``)."""
    exact = np.asarray(fractions) * N
    sizes = np.floor(exact).astype(int)
    remainder = N - sizes.sum()
    order = np.argsort(-(exact - sizes), kind="stable")
    sizes[order[:remainder]] += 1
    if np.any(sizes < 1):
        raise CaseError("init.N", f"N = {N} leaves an eigenspace empty; need N >= L and f_k N >= 1")
    return sizes


def overlaps_from_weights(J: np.ndarray, B: np.ndarray, sizes: np.ndarray) -> Overlaps:
    """Per-block overlaps of student ``J`` (..., K, N) and teacher ``B`` (M, N), divided by N."""
    N = J.shape[-1]
    edges = np.concatenate([[0], np.cumsum(sizes)])
    r, q, t = [], [], []
    for a, b in zip(edges[:-1], edges[1:]):
        Jb, Bb = J[..., a:b], B[..., a:b]
        r.append(Jb @ np.swapaxes(Bb, -1, -2) / N)
        q.append(Jb @ np.swapaxes(Jb, -1, -2) / N)
        t.append(Bb @ np.swapaxes(Bb, -1, -2) / N)
    return Overlaps(np.stack(r, axis=-3), np.stack(q, axis=-3), np.stack(t, axis=-3))


def random_weights(model: CommitteeModel, N: int, sigma_J: float, seed: int, n_seeds: int | None = None):
    """Teacher ``B ~ N(0, 1)`` (M, N) and student ``J ~ N(0, sigma_J^2)`` ((n_seeds,) K, N).

    The teacher is drawn first from ``seed``; students follow from the same generator.
    """
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((model.M, N))
    shape = (model.K, N) if n_seeds is None else (n_seeds, model.K, N)
    J = sigma_J * rng.standard_normal(shape)
    return J, B


def random_overlaps(model: CommitteeModel, N: int, sigma_J: float, seed: int) -> Overlaps:
    """Overlaps of one finite-N draw (teacher N(0,1), student N(0, sigma_J^2) entries)."""
    sizes = block_sizes(model.spectrum.f, N)
    J, B = random_weights(model, N, sigma_J, seed)
    return overlaps_from_weights(J, B, sizes)


def check_overlaps(model: CommitteeModel, ov: Overlaps) -> Overlaps:
    """Validate shapes, finiteness, symmetry and positive semi-definiteness per mode."""
    L, K, M = model.spectrum.L, model.K, model.M
    for name, arr, shape in (("init.r", ov.r, (L, K, M)), ("init.q", ov.q, (L, K, K)), ("init.t", ov.t, (L, M, M))):
        if arr.shape != shape:
            raise CaseError(name, f"must have shape [L][.][.] = {list(shape)}, got {list(arr.shape)}")
        if not np.all(np.isfinite(arr)):
            raise CaseError(name, "must hold finite numbers only")
    for name, arr in (("init.q", ov.q), ("init.t", ov.t)):
        if not np.allclose(arr, arr.transpose(0, 2, 1), rtol=0, atol=1e-12):
            raise CaseError(name, "each mode's matrix must be symmetric")
    om = ov.omega()
    for mode in range(L):
        evals = np.linalg.eigvalsh(om[mode])
        scale = max(1.0, float(np.abs(om[mode]).max()))
        if evals.min() < -1e-10 * scale:
            raise CaseError(
                "init",
                f"overlap matrix [[q, r], [r^T, t]] of mode {mode} is not positive semi-definite "
                f"(smallest eigenvalue {evals.min():.3g}); no weights can have these overlaps",
            )
    return ov
