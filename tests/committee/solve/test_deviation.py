"""Deviation coordinates about the specialised fixed point: the values near perfect learning
against plain mpmath at 50 digits from the same exact inputs, and the tail of a whole run against
the exact linear solution."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from theorykit.committee.model import CommitteeModel, Spectrum
from theorykit.committee.solve._deviation import FIT_ACCURACY, Specialised
from theorykit.committee.solve.eigenmode import EigenmodeSystem
from theorykit.committee.solve.initial import random_overlaps
from theorykit.committee.solve.integrate import SolverConfig, solve


def erf_pair(c_aa, c_ab, c_bb):
    """<g(u_a) g(u_b)> for g(z) = erf(z / sqrt(2)), written out here (not the generated kernels)."""
    return 2 / mpmath.pi * mpmath.asin(c_ab / mpmath.sqrt((1 + c_aa) * (1 + c_bb)))


def plain_eps(C, K, c):
    """eps_g = 1/2 <(c sum_i g(lambda_i) - c sum_n g(nu_n))^2> from the covariance (mpmath entries)."""
    n = C.rows
    sign = [1] * K + [-1] * (n - K)
    return (
        c
        * c
        / 2
        * mpmath.fsum(sign[a] * sign[b] * erf_pair(C[a, a], C[a, b], C[b, b]) for a in range(n) for b in range(n))
    )


def specialised_case(scale, seed=1):
    """K = M = 3 (sqrt normalisation), a power-law spectrum with beta = 0.3 and unequal fractions
    (not the happy path), students a permutation of the teachers plus a realisable deviation of
    size ``scale`` in weight space: d = s Delta B^T, E = s^2 Delta Delta^T exactly as floats."""
    K = 3
    model = CommitteeModel(K, K, Spectrum.power_law(5, 0.3, fractions=[0.1, 0.15, 0.2, 0.25, 0.3]))
    system = EigenmodeSystem.build(model, 0.3, model.infinite_teacher())
    T = np.tensordot(model.spectrum.lam, system.t, axes=1)
    P = np.eye(K)[[2, 0, 1]]
    B = np.concatenate([np.linalg.cholesky(T), np.zeros((K, K))], axis=1)
    Delta = np.random.default_rng(seed).normal(size=(K, 2 * K))
    d, E = scale * Delta @ B.T, scale**2 * Delta @ Delta.T
    C_dev = np.block([[E, d], [d.T, T]])
    return model, system, Specialised(P, T), C_dev


def exact_covariance(spec, C_dev):
    """C* + D in mpmath from the float entries of P, T, d and E, every operation exact at 50 digits."""
    K = spec.K
    mp = lambda A: mpmath.matrix([[mpmath.mpf(float(x)) for x in row] for row in A])  # noqa: E731
    P, T, E, d = mp(spec.P), mp(spec.T), mp(C_dev[:K, :K]), mp(C_dev[:K, K:])
    Q = P * T * P.T + E + d * P.T + P * d.T
    R = P * T + d
    C = mpmath.matrix(2 * K, 2 * K)
    for i in range(K):
        for j in range(K):
            C[i, j], C[i, K + j], C[K + j, i], C[K + i, K + j] = Q[i, j], R[i, j], R[i, j], T[i, j]
    return C


@pytest.mark.parametrize("scale", [1e-1, 1e-3, 1e-6, 1e-9, 1e-12])
def test_eps_near_perfect_learning_against_plain_mpmath(scale):
    """eps_g from 1e-3 down to 1e-25: the fit is within FIT_ACCURACY = 1e-9 relative of plain mpmath
    at 50 digits (measured up to 1.1e-10 here); evaluated from the covariance in double precision, it is off by 1e-4 at
    eps ~ 1e-13 and by orders of magnitude below."""
    model, system, spec, C_dev = specialised_case(scale)
    with mpmath.workdps(50):
        exact = plain_eps(exact_covariance(spec, C_dev), spec.K, 1 / mpmath.sqrt(spec.K))
    # the model's own double-precision eps_g at a generic covariance agrees with the one written here
    with mpmath.workdps(50):
        generic = mpmath.matrix(
            spec.covariance(np.block([[C_dev[:3, :3] + 0.1, C_dev[:3, 3:]], [C_dev[3:, :3], C_dev[3:, 3:]]])).tolist()
        )
    assert system.eps_of_covariance(np.array(generic.tolist(), dtype=float)) == pytest.approx(
        float(plain_eps(generic, 3, 1 / mpmath.sqrt(3))), rel=1e-12
    )
    value = spec.evaluate(system.eps_of_covariance, C_dev, order=2)
    assert abs(value / float(exact) - 1) < FIT_ACCURACY


@pytest.mark.parametrize("scale", [1e-3, 1e-8, 1e-12])
def test_noise_and_drive_near_perfect_learning_against_mpmath(scale):
    """W (vanishes to second order) and S = G_s P + G_t (to first) through the fit, against the
    generated mpmath kernels evaluated at 50 digits on the exactly formed covariance: within
    FIT_ACCURACY = 1e-9 relative (measured 2e-10 and 2e-13)."""
    from theorykit.committee.compiled import compile_model

    model, system, spec, C_dev = specialised_case(scale, seed=4)
    K = spec.K
    with mpmath.workdps(50):
        t = np.vectorize(mpmath.mpf, otypes=[object])(system.t)
        precise = EigenmodeSystem(model, compile_model(model, "mpmath"), mpmath.mpf("0.3"), t, dtype=object)
        C = np.array(exact_covariance(spec, C_dev).tolist(), dtype=object)
        W = np.array(precise.W(C), dtype=float)
        G = precise.G(C)
        S = np.array((G[:, :K] + G[:, :K].T) / 2 @ spec.P + G[:, K:], dtype=float)
    W_fit = spec.evaluate(system.W, C_dev, order=2)
    S_fit = spec.coefficients(system.G, C_dev)[:, K:]
    assert np.abs(W_fit - W).max() < FIT_ACCURACY * np.abs(W).max()
    assert np.abs(S_fit - S).max() < FIT_ACCURACY * np.abs(S).max()


def test_coordinates_round_trip():
    """(r, q) -> (d, E) -> (r, q) per mode, and E is the Gram matrix of the weight deviations."""
    model = CommitteeModel(2, 2, Spectrum.power_law(6, 1.0))
    init = random_overlaps(model, 6, 0.2, 3)
    spec = Specialised(np.eye(2)[::-1].copy(), np.tensordot(model.spectrum.lam, init.t, axes=1))
    d, E = spec.deviations(init.r, init.q, init.t)
    r, q = spec.overlaps(d, E, init.t)
    np.testing.assert_allclose(r, init.r, atol=1e-15)
    np.testing.assert_allclose(q, init.q, atol=1e-15)
    assert np.linalg.eigvalsh(E).min() > -1e-14  # (w - P b)_k (w - P b)_k^T


def test_only_analytic_noise_free_committees_with_k_equal_m_switch():
    spectrum = Spectrum.power_law(4, 1.0)
    assert Specialised.applies_to(CommitteeModel(2, 2, spectrum))
    assert Specialised.applies_to(CommitteeModel(1, 1, spectrum, activation="linear"))
    assert not Specialised.applies_to(CommitteeModel(2, 3, spectrum))
    assert not Specialised.applies_to(CommitteeModel(2, 2, spectrum, activation="relu"))
    assert not Specialised.applies_to(CommitteeModel(2, 2, spectrum, noise=0.1))


def test_tail_of_a_run_against_the_exact_linear_solution():
    """K = M = 1, linear, L = 64: eps_g falls from 4.4e-3 to 2.2e-21 between alpha = 100 and 2e4.
    Held as overlaps the integrator lost it below ~1e-15 (NaN) and was 1e-3 off at 1e-12; in
    deviation coordinates every point is resolved and within 10x rtol of the exact solution (the
    issue's target; measured 5e-7 .. 1.1e-6 at rtol 1e-6: before W was evaluated again at the
    corrected step ends in these coordinates, 3e-5)."""
    from theorykit.committee.linear_network import linear_learning_curve

    model = CommitteeModel(1, 1, Spectrum.power_law(64, 1.0), activation="linear")
    init = random_overlaps(model, 64, 1e-3, 0)
    alpha = np.geomspace(100, 2e4, 9)
    exact = linear_learning_curve(model, 0.1, init, alpha).eps_g
    run = solve(model, 0.1, init, alpha, SolverConfig("exponential", 1e-6, 1e-30)).raise_for_status()
    assert run.solver_stats["deviation_alpha"] is not None
    assert exact[-1] < 1e-18 * exact[0]  # from 4.4e-3 at alpha = 100 to 2.2e-21
    assert np.all(np.isfinite(run.eps_g)) and np.all(run.eps_g > 0)
    np.testing.assert_allclose(run.eps_g, exact, rtol=1e-5)
