"""The exponential integrator's error norm: the students' symmetric part against the average over
their permutations written out, the scaling against its inverse, and the broken part measured
against its own size."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from theorykit.committee.solve._error_scale import BROKEN_FLOOR, error_scale, symmetric_part


def _average_over_permutations(E: np.ndarray, K: int) -> np.ndarray:
    """The plain definition: the mean of P E P^T over every permutation P of the first K indices."""
    n = E.shape[0]
    total = np.zeros_like(E)
    count = 0
    for perm in itertools.permutations(range(K)):
        P = np.eye(n)
        P[:K, :K] = np.eye(K)[list(perm)]
        total += P @ E @ P.T
        count += 1
    return total / count


@pytest.mark.parametrize("K,M", [(2, 2), (3, 2), (4, 5)])
def test_symmetric_part_is_the_average_over_student_permutations(K, M):
    rng = np.random.default_rng(K * 10 + M)
    A = rng.standard_normal((K + M, K + M))
    E = A + A.T
    S = symmetric_part(E, K)
    np.testing.assert_allclose(S, _average_over_permutations(E, K), atol=1e-14)
    np.testing.assert_allclose(symmetric_part(S, K), S, atol=1e-14)  # a projection


def test_scaling_inverts_and_measures_the_broken_part_against_itself():
    """On a plateau-like covariance (students equal up to 1e-4) a broken difference of 1e-4 x rtol
    relative to the broken part counts as much as a symmetric one of rtol x max|C|."""
    K, M, rtol = 3, 3, 1e-6
    rng = np.random.default_rng(1)
    C = np.full((K + M, K + M), 0.3)
    C[np.arange(K + M), np.arange(K + M)] = 1.0
    bump = 1e-4 * rng.standard_normal((K, M))
    C[:K, K:] += bump
    C[K:, :K] += bump.T
    scale = error_scale(C, K, rtol, 0.0, 0.0, deviations=False)
    A = rng.standard_normal(C.shape)
    np.testing.assert_allclose(scale.inverse(scale(A)), A, rtol=1e-12, atol=1e-12)
    broken = float(np.abs(C - symmetric_part(C, K)).max())
    # a difference that only breaks the symmetry, of size rtol * broken: one tolerance
    D = np.zeros_like(C)
    D[0, K] = D[K, 0] = 1.0
    D -= symmetric_part(D, K)
    D *= rtol * broken / np.abs(D).max()
    expected = rtol * broken / (rtol * broken + BROKEN_FLOOR * np.abs(C).max())
    assert scale.measure(D) == pytest.approx(expected, rel=1e-12)
    # a symmetric difference of the same size: a tiny fraction of the tolerance
    Dsym = np.zeros_like(C)
    Dsym[:K, K:] = Dsym[K:, :K] = rtol * broken
    assert scale.measure(Dsym) == pytest.approx(broken / np.abs(C).max(), rel=1e-12)


def test_deviation_blocks_have_their_own_scales():
    """In deviation coordinates E is measured against max|E| and d against the overlaps' scale max|T|."""
    K, rtol = 2, 1e-6
    C = np.zeros((4, 4))
    C[:K, :K] = [[4e-8, 1e-8], [1e-8, 2e-8]]  # E
    C[:K, K:] = [[1e-6, -2e-6], [3e-7, 5e-7]]  # d, nearly cancelled
    C[K:, :K] = C[:K, K:].T
    C[K:, K:] = [[0.5, 0.0], [0.0, 0.25]]  # T
    scale = error_scale(C, K, rtol, 0.0, 0.0, deviations=True)
    D = np.zeros_like(C)
    D[0, 0] = rtol * 4e-8
    assert scale.measure(D) == pytest.approx(1.0, rel=1e-9)
    D = np.zeros_like(C)
    D[0, K] = rtol * 0.5
    assert scale.measure(D) == pytest.approx(1.0, rel=1e-9)


def test_student_means_serve_floats_mpf_and_batches():
    """The one rule behind the three projections (error norm, fixed points, per-mode fixed
    points): against the means written out with Python sums, for a batch of float blocks and
    for mpf blocks at 30 digits (exact inputs, so the means agree to the last digit)."""
    import mpmath

    from theorykit.committee.solve.student_average import student_means

    rng = np.random.default_rng(4)
    K, M = 3, 2
    r, q = rng.standard_normal((5, K, M)), rng.standard_normal((5, K, K))
    rows, diagonal, off = student_means(r, q)
    for k in range(5):
        np.testing.assert_allclose(rows[k], [sum(r[k, i, n] for i in range(K)) / K for n in range(M)], rtol=1e-15)
        assert diagonal[k] == pytest.approx(sum(q[k, i, i] for i in range(K)) / K, rel=1e-15)
        cross = [q[k, i, j] for i in range(K) for j in range(K) if i != j]
        assert off[k] == pytest.approx(sum(cross) / len(cross), rel=1e-14)
    with mpmath.workdps(30):
        rm = np.array([[mpmath.mpf(f"0.{i}{n}3") for n in range(M)] for i in range(K)], dtype=object)
        qm = np.array([[mpmath.mpf(f"1.{i}{j}7") for j in range(K)] for i in range(K)], dtype=object)
        rows, diagonal, off = student_means(rm, qm)
        assert rows[1] == (rm[0, 1] + rm[1, 1] + rm[2, 1]) / 3
        assert diagonal == (qm[0, 0] + qm[1, 1] + qm[2, 2]) / 3
        assert abs(off - (qm.sum() - 3 * diagonal) / 6) < mpmath.mpf(10) ** -29
        assert isinstance(off, mpmath.mpf)
