"""The order-parameter ODEs: Saad & Solla at L = 1, the two bases, Jacobian, solver."""

import mpmath
import numpy as np
import pytest

from theorykit import (
    CommitteeModel,
    EigenmodeSystem,
    MomentSystem,
    Overlaps,
    SolverConfig,
    Spectrum,
    compile_model,
    random_overlaps,
    solve,
)
from theorykit.committee.saad_solla import isotropic_rhs
from theorykit.committee.solve.fixed_step import rk4

mpf_array = np.vectorize(mpmath.mpf, otypes=[object])


@pytest.mark.parametrize("K,M", [(2, 2), (3, 2)])
def test_isotropic_limit_is_saad_solla(K, M):
    """L = 1 reduces to Saad & Solla's equations, to 35 digits at 40-digit precision."""
    model = CommitteeModel(K, M, Spectrum.explicit([1.0]), "erf", normalization="sum")
    init = random_overlaps(model, 500, 0.5, 3)
    compiled = compile_model(model, "mpmath")
    with mpmath.workdps(40):
        eta = mpmath.mpf("0.7")
        system = EigenmodeSystem(model, compiled, eta, mpf_array(init.t), dtype=object)
        y = mpf_array(system.pack(init.r, init.q))
        dr, dq = system.unpack(system.rhs(0, y))
        ref_R, ref_Q = isotropic_rhs(mpf_array(init.q[0]), mpf_array(init.r[0]), mpf_array(init.t[0]), eta)
        assert max(abs(a - b) for a, b in zip(dr[0].ravel(), ref_R.ravel())) < mpmath.mpf(10) ** -35
        assert max(abs(a - b) for a, b in zip(dq[0].ravel(), ref_Q.ravel())) < mpmath.mpf(10) ** -35


def test_moment_and_eigenmode_bases_agree_at_high_precision():
    """L = 8 power law: the Vandermonde map loses ~log10(cond) digits, so compare at 50 digits.

    The same RK4 steps in both bases (RK is covariant under linear maps) leave only the
    basis change and the Cayley--Hamilton closure to test.
    """
    L = 8
    model = CommitteeModel(2, 2, Spectrum.power_law(L, 1.0), "erf")
    init = random_overlaps(model, 4000, 0.3, 1)
    compiled = compile_model(model, "mpmath")
    with mpmath.workdps(50):
        eta = mpmath.mpf("0.5")
        eig = EigenmodeSystem(model, compiled, eta, mpf_array(init.t), dtype=object)
        lam = list(eig.lam)  # recomputed at 50 digits by the system itself
        assert (
            abs(sum(lam) / L - 1) < mpmath.mpf(10) ** -45
            and abs(lam[1] / lam[0] - mpmath.mpf(1) / 4) < mpmath.mpf(10) ** -45
        )
        mom = MomentSystem(model, compiled, eta, mpf_array(init.t), dtype=object, eigenvalues=lam)
        y0 = mpf_array(eig.pack(init.r, init.q))
        y_eig = rk4(eig.rhs, y0, mpmath.mpf(2), 20)
        z_mom = rk4(mom.rhs, mom.from_eigenmodes(y0), mpmath.mpf(2), 20)
        back = mom.to_eigenmodes(z_mom)
        assert max(abs(a - b) for a, b in zip(back, y_eig)) < mpmath.mpf(10) ** -30
        assert abs(eig.eps_g(y_eig) - mom.eps_g(z_mom)) < mpmath.mpf(10) ** -30
    assert mom.condition_number() > 1e6  # why the float moment basis is not the numeric path


def test_moment_basis_float_small_L():
    model = CommitteeModel(2, 2, Spectrum.power_law(3, 1.0), "erf")
    init = random_overlaps(model, 600, 0.3, 2)
    compiled = compile_model(model, "numpy")
    eig = EigenmodeSystem(model, compiled, 0.5, init.t)
    mom = MomentSystem(model, compiled, 0.5, init.t)
    y0 = eig.pack(init.r, init.q)
    a = rk4(eig.rhs, y0, 3.0, 60)
    b = mom.to_eigenmodes(rk4(mom.rhs, mom.from_eigenmodes(y0), 3.0, 60))
    assert np.max(np.abs(a - b)) < 1e-10


def _extended_model(L: int) -> CommitteeModel:
    """K = 2 on M = 3, unequal fractions and teacher weights, weight decay, trained read-out."""
    from theorykit.committee.model import SecondLayer

    fractions = np.arange(1, L + 1) / (L * (L + 1) / 2)
    layer = SecondLayer([0.3, 1.2], [0.8, 0.5, 1.0], 0.5)
    return CommitteeModel(2, 3, Spectrum.power_law(L, 0.3, list(fractions)), weight_decay=0.3, second_layer=layer)


def test_moment_basis_with_weight_decay_and_a_trained_readout_at_high_precision():
    """The same RK4 steps in both bases with decay (kappa = 0.3) and a trained read-out whose
    weights move: agreement to 30 digits at 45 (L = 4: the Vandermonde map loses ~3)."""
    model = _extended_model(4)
    init = random_overlaps(model, 800, 0.3, 4)
    compiled = compile_model(model, "mpmath")
    with mpmath.workdps(45):
        eta = mpmath.mpf("0.3")
        eig = EigenmodeSystem(model, compiled, eta, mpf_array(init.t), dtype=object)
        mom = MomentSystem(model, compiled, eta, mpf_array(init.t), dtype=object)
        y0 = mpf_array(eig.pack(init.r, init.q))
        assert y0[-2:].tolist() == [mpmath.mpf("0.3"), mpmath.mpf("1.2")]  # the decimals written
        y_eig = rk4(eig.rhs, y0, mpmath.mpf(2), 10)
        back = mom.to_eigenmodes(rk4(mom.rhs, mom.from_eigenmodes(y0), mpmath.mpf(2), 10))
        assert max(abs(a - b) for a, b in zip(back, y_eig)) < mpmath.mpf(10) ** -30
        assert abs(y_eig[-1] - y0[-1]) > mpmath.mpf("0.01")  # the read-out moved
        assert abs(eig.eps_g(y_eig) - mom.eps_g(mom.from_eigenmodes(y_eig))) < mpmath.mpf(10) ** -30


def test_moment_basis_with_the_extensions_in_floats_against_solve():
    """Float moment basis (L = 3) stepped by RK4 against the eigenmode ODE solved by DOP853 at
    rtol 1e-12: 1e-9 (RK4 with 300 steps of 0.01 has a global error ~1e-10 here)."""
    model = _extended_model(3)
    init = random_overlaps(model, 600, 0.3, 2)
    compiled = compile_model(model, "numpy")
    eig = EigenmodeSystem(model, compiled, 0.3, init.t)
    mom = MomentSystem(model, compiled, 0.3, init.t)
    y0 = eig.pack(init.r, init.q)
    b = mom.to_eigenmodes(rk4(mom.rhs, mom.from_eigenmodes(y0), 3.0, 300))
    sol = solve(model, 0.3, init, [0.0, 3.0], SolverConfig("DOP853", 1e-12, 1e-14))
    np.testing.assert_allclose(b[-2:], sol.v[-1], rtol=0, atol=1e-9)
    r, q = eig.unpack(b)
    np.testing.assert_allclose(r, sol.r[-1], rtol=0, atol=1e-9)
    np.testing.assert_allclose(q, sol.q[-1], rtol=0, atol=1e-9)


@pytest.mark.parametrize("small_lr", [False, True])
def test_jacobian_matches_finite_differences(small_lr):
    model = CommitteeModel(2, 3, Spectrum.power_law(3, 0.5), "erf", small_lr=small_lr, noise=0.2)
    init = random_overlaps(model, 600, 0.4, 5)
    system = EigenmodeSystem(model, compile_model(model, "numpy"), 0.6, init.t)
    y = system.pack(init.r, init.q)
    J = system.jacobian(0.0, y)
    h = 1e-6
    fd = np.stack([(system.rhs(0, y + h * e) - system.rhs(0, y - h * e)) / (2 * h) for e in np.eye(y.size)], axis=1)
    # central differences: error ~ h^2 f''' + eps/h ~ 1e-10
    assert np.max(np.abs(J - fd)) < 1e-8


def test_solvers_agree_and_rk4_converges_at_fourth_order():
    model = CommitteeModel(2, 2, Spectrum.power_law(4, 1.0), "erf")
    init = random_overlaps(model, 1000, 0.3, 0)
    alpha = [0.0, 1.0, 5.0, 20.0]
    ref = solve(model, 0.5, init, alpha, SolverConfig("DOP853", rtol=1e-11, atol=1e-13))
    for method in ("RK45", "LSODA", "BDF", "Radau"):
        other = solve(model, 0.5, init, alpha, SolverConfig(method, rtol=1e-8, atol=1e-11))
        assert other.success
        assert np.max(np.abs(other.eps_g - ref.eps_g) / ref.eps_g) < 1e-5
    system = EigenmodeSystem(model, compile_model(model, "numpy"), 0.5, init.t)
    y0 = system.pack(init.r, init.q)
    exact = np.concatenate([ref.r[2].ravel(), ref.q[2][:, *np.triu_indices(2)].ravel()])
    errors = [np.max(np.abs(rk4(system.rhs, y0, 5.0, steps) - exact)) for steps in (20, 40)]
    order = np.log2(errors[0] / errors[1])
    assert 3.6 < order < 4.4, order


def test_divergence_is_reported_not_returned():
    """A linear network with eta far above its stability bound blows up exponentially."""
    model = CommitteeModel(2, 2, Spectrum.power_law(4, 1.0), "linear")
    init = random_overlaps(model, 1000, 0.3, 0)
    sol = solve(model, 10.0, init, [0.0, 1.0, 1000.0])
    assert not sol.success
    assert sol.status in {"nan", "not_psd", "solver_failed"}
    assert np.all(np.isfinite(sol.eps_g))
    from theorykit import NumericalFailure

    with pytest.raises(NumericalFailure):
        sol.raise_for_status()


def test_linear_network_error_closes_per_mode():
    """For g(z) = z and K = M = 1, e_k = q - 2 r + t obeys de/da = -2 eta lam e + eta^2 lam f sum lam e."""
    model = CommitteeModel(1, 1, Spectrum.power_law(5, 1.0), "linear")
    init = random_overlaps(model, 1000, 0.5, 0)
    eta = 0.3
    system = EigenmodeSystem(model, compile_model(model, "numpy"), eta, init.t)
    y = system.pack(init.r, init.q)
    dr, dq = system.unpack(system.rhs(0, y))
    e = (init.q - 2 * init.r + init.t)[:, 0, 0]
    de = (dq - 2 * dr)[:, 0, 0]
    lam, f = model.spectrum.lam, model.spectrum.f
    assert np.allclose(de, -2 * eta * lam * e + eta**2 * lam * f * np.dot(lam, e), rtol=1e-12, atol=1e-15)
    assert np.isclose(system.eps_g(y), 0.5 * np.dot(lam, e))


def test_overlaps_validation():
    from theorykit import CaseError
    from theorykit.committee.solve.initial import check_overlaps

    model = CommitteeModel(1, 1, Spectrum.explicit([1.0]), "erf")
    bad = Overlaps(np.array([[[2.0]]]), np.array([[[1.0]]]), np.array([[[1.0]]]))
    with pytest.raises(CaseError, match="positive semi-definite"):
        check_overlaps(model, bad)
