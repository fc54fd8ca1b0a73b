"""Random-feature DMFT: checked against exact simulation, a published closed form, a second
numerical route (time grid), a second basis (the two-point closure) and a second precision."""

from __future__ import annotations

import json
import subprocess
import sys

import mpmath
import numpy as np
import pytest
from scipy.linalg import expm

from theorykit.core.errors import CaseError
from theorykit.rf import (
    RandomFeatureModel,
    asymptotics,
    early_stopping,
    laplace,
    local_exponent,
    pareto_frontier,
    simulate_rf,
    solve_rf,
    stationary_error,
)
from theorykit.rf.kernel_ridge import krr_error

TIMES = np.array([0.0, 0.03, 0.3, 3.0, 30.0, 300.0])


@pytest.mark.parametrize(
    "regime",
    [
        {},  # gradient flow
        {"gamma": 0.05, "noise": 0.3},  # weight decay with label noise
        {"T": 0.01},  # Langevin
        {"gamma": 0.1, "T": 0.02, "noise": 0.2},  # all at once
    ],
)
def test_dmft_matches_exact_simulation(regime):
    # Tolerance: 3 standard errors of the data-set average plus the O(1/P) finite-size
    # correction of the deterministic equivalent (measured 0.4/P relative at P = 200 and
    # halving when N, P double), bounded here by eps_g / P.
    model = RandomFeatureModel(N=400, P=200, a=0.5, **regime)
    theory = solve_rf(model, TIMES)
    sim = simulate_rf(model, TIMES, draws=30, seed=3)
    allowed = 3 * sim.eps_g_se + theory.eps_g / model.P + 1e-12
    assert np.all(np.abs(theory.eps_g - sim.eps_g) <= allowed)
    # The bias estimate is unbiased but its spread is not tracked: 1 % (5x the deviations seen).
    assert np.allclose(theory.bias, sim.bias, rtol=1e-2)
    assert np.all(theory.variance >= -1e-12)


def test_anisotropic_teacher_through_two_point_closure_matches_simulation():
    model = RandomFeatureModel(N=300, P=150, a=0.5, teacher_exponent=0.5, noise=0.2)
    theory = solve_rf(model, TIMES)
    sim = simulate_rf(model, TIMES, draws=20, seed=4)
    assert np.all(np.abs(theory.eps_g - sim.eps_g) <= 3 * sim.eps_g_se + theory.eps_g / model.P + 1e-12)


def test_two_point_closure_equals_resolvent_identity_for_isotropic_teacher():
    # Second basis: C(z1, z2) = P B / (P - S Sigma1 Sigma2) from the effective-noise
    # covariance, inverted in 2-D, against the 1-D kernels (which use tr[eta Q(z1) Q(z2)]
    # = (R(z2) - R(z1)) / (z1 - z2)): they agree only if the noise covariance is right.
    from theorykit.rf.dmft import _teacher_two_point

    model = RandomFeatureModel(N=200, P=80, a=0.7, gamma=0.05)
    t = TIMES[1:]
    zeta, omega = laplace.talbot_nodes()
    z = zeta[None, :] / t[:, None]
    kappa, _ = laplace.collective_response(z, model.eta, float(model.P), model.gamma)
    two_d = _teacher_two_point(model, t, z, kappa, zeta, omega)
    one_d = solve_rf(model, t).terms["teacher"]
    assert np.allclose(two_d, one_d, rtol=1e-9)


@pytest.mark.parametrize("regime", [{}, {"gamma": 0.1, "T": 0.02, "noise": 0.2}])
def test_volterra_route_agrees_with_laplace_route(regime):
    # Two independent numerical routes for the same equations: a causal time grid with
    # Richardson extrapolation against Talbot inversion (measured agreement ~1e-8).
    model = RandomFeatureModel(N=100, P=50, a=0.5, **regime)
    t = np.array([0.05, 0.5, 2.0, 5.0])
    grid = solve_rf(model, t, method="volterra")
    contour = solve_rf(model, t)
    assert np.allclose(grid.eps_g, contour.eps_g, rtol=1e-6)
    assert np.allclose(grid.bias, contour.bias, rtol=1e-6)
    assert grid.info["richardson_error_estimate"] < 1e-3


def test_stationary_state_is_kernel_ridge_plus_posterior_variance():
    model = RandomFeatureModel(N=300, P=100, a=0.5, gamma=0.2, T=0.05, noise=0.3)
    state = stationary_error(model)
    krr = krr_error(model.eta, model.teacher_variances, model.P, model.gamma, model.noise**2)
    assert state["teacher"] + state["labels"] == pytest.approx(krr / 2, rel=1e-10)
    late = solve_rf(model, [1e6])
    assert late.eps_g[0] == pytest.approx(state["eps_g"], rel=1e-8)
    sim = simulate_rf(model, [1e6], draws=30, seed=5)
    assert abs(sim.eps_g[0] - state["eps_g"]) <= 3 * sim.eps_g_se[0] + state["eps_g"] / model.P


def test_decoupled_limit_recovered_when_few_modes_are_learned():
    model = RandomFeatureModel(N=200, P=20000, a=0.5)
    c = model.eta[0]
    t = np.array([1e-4, 1e-3, 1e-2, 1e-1])
    learned = (model.P * c * t) ** (1 / (1 + model.a))
    full = solve_rf(model, t).eps_g
    decoupled = solve_rf(model, t, method="decoupled").eps_g
    gap = np.abs(decoupled - full) / full
    assert np.all(gap[learned < model.P / 500] < 1e-2)
    assert np.all(np.diff(gap) > 0)  # and it opens as more modes are learned


def test_simulator_averages_agree_with_brute_force_sampling():
    # The simulator averages teacher, label noise and Langevin noise analytically; here they
    # are sampled for one fixed data set (exact propagators from expm and a quadrature of
    # the Langevin covariance), 4000 samples, 4 standard errors.
    rng = np.random.default_rng(0)
    model = RandomFeatureModel(N=6, P=4, a=0.5, gamma=0.1, T=0.05, noise=0.4)
    eta = model.eta
    Psi = rng.standard_normal((model.P, model.N)) * np.sqrt(eta)
    A = Psi.T @ Psi + model.gamma * np.eye(model.N)
    t = 2.0
    E = expm(-A * t)
    F = np.linalg.solve(A, np.eye(model.N) - E)
    nodes, weights = np.polynomial.legendre.leggauss(40)
    taus = (nodes + 1) * t / 2
    cov = sum(w * t / 2 * 2 * model.T * expm(-2 * A * (t - s)) for w, s in zip(weights, taus))
    chol = np.linalg.cholesky(cov + 1e-15 * np.eye(model.N))
    samples = 4000
    w_star = rng.standard_normal((samples, model.N))
    y = w_star @ Psi.T + model.noise * rng.standard_normal((samples, model.P))
    w_t = (F @ Psi.T @ y.T).T + rng.standard_normal((samples, model.N)) @ chol.T
    errors = 0.5 * ((w_t - w_star) ** 2) @ eta
    brute, se = errors.mean(), errors.std() / np.sqrt(samples)

    from theorykit.rf.simulate import _one_draw

    class FixedData:
        def standard_normal(self, shape):
            return Psi / np.sqrt(eta)

    analytic, _ = _one_draw(model, eta, model.teacher_variances, np.array([t]), FixedData())
    assert abs(analytic[0] - brute) < 4 * se


def test_mean_loss_is_summed_loss_on_rescaled_time():
    mean = RandomFeatureModel(N=100, P=40, a=0.5, gamma=0.01, T=0.001, loss="mean")
    summed = RandomFeatureModel(N=100, P=40, a=0.5, gamma=0.4, T=0.04)
    t = np.array([1.0, 10.0, 100.0])
    assert np.allclose(solve_rf(mean, t).eps_g, solve_rf(summed, t / 40).eps_g, rtol=1e-12)


def test_talbot_inversion_of_a_known_transform():
    t = np.array([0.1, 1.0, 10.0])
    zeta, omega = laplace.talbot_nodes()
    values = 1.0 / (zeta[None, :] / t[:, None] + 1.0)
    assert np.allclose(laplace.invert(values, t, omega), np.exp(-t), rtol=1e-10)
    with mpmath.workdps(40):
        zeta_mp, omega_mp = laplace.talbot_nodes_mp(laplace.nodes_for_digits(30))
        tm = mpmath.mpf(3)
        approx = mpmath.fsum(mpmath.re(w / (z / tm + 1)) for z, w in zip(zeta_mp, omega_mp)) / tm
        assert abs(approx - mpmath.exp(-3)) < mpmath.mpf(10) ** -28


def test_high_precision_route_and_two_precision_agreement():
    model = RandomFeatureModel(N=30, P=12, a=0.5, gamma=0.05, T=0.01, noise=0.2)
    t = [0.5, 5.0]
    precise = solve_rf(model, t, dps=20)
    assert precise.agreement_digits >= 20
    assert np.allclose(precise.eps_g, solve_rf(model, t).eps_g, rtol=1e-10)
    assert len(precise.info["precise"]["eps_g"][0]) >= 19


def test_power_law_exponents_symbolic_precise_and_measured():
    model = RandomFeatureModel(N=20000, P=20000, a=0.5)
    laws = asymptotics(model, dps=30)
    assert laws["agreement_digits"] >= 30
    # nu in y ~ t^-nu (schema.EXPONENT_CONVENTION): the variance grows, its nu is negative
    assert laws["exponents"]["bias"] == pytest.approx(model.a / (1 + model.a), abs=1e-15)
    assert laws["exponents"]["variance"] == pytest.approx(-1 / (1 + model.a), abs=1e-15)
    assert laws["eps_star_exponent_P"] == pytest.approx(model.a / (1 + model.a), abs=1e-15)
    t_lo, t_hi = laws["window"]
    # In the middle of the 10 % window the full DMFT bias follows the derived exponent and
    # prefactor to a few per cent (measured 5 %: the modes beyond N the continuum includes).
    t1 = np.sqrt(t_lo * t_hi)
    measured = local_exponent(model, t1, 2 * t1)
    assert measured == pytest.approx(-laws["exponents"]["bias"], abs=0.03)
    bias = solve_rf(model, [t1]).bias[0]
    assert bias == pytest.approx(laws["prefactors"]["bias"] * t1 ** -laws["exponents"]["bias"], rel=0.1)


def test_measured_exponent_agrees_across_precisions():
    model = RandomFeatureModel(N=40, P=20, a=1.0)
    low = local_exponent(model, 0.5, 2.0)
    high = local_exponent(model, 0.5, 2.0, dps=20)
    assert high == pytest.approx(low, abs=1e-9)


def test_early_stopping_and_its_scaling_with_P():
    assert early_stopping(RandomFeatureModel(N=200, P=100, a=0.5))["t_star"] is None
    results = [early_stopping(RandomFeatureModel(N=8 * P, P=P, a=0.5, noise=0.5)) for P in (250, 500, 1000)]
    t_star = np.array([r["t_star"] for r in results])
    eps_star = np.array([r["eps_star"] for r in results])
    slope = np.polyfit(np.log([250, 500, 1000]), np.log(eps_star), 1)[0]
    assert slope == pytest.approx(-0.5 / 1.5, abs=0.03)  # decoupled theory: -a/(1+a)
    assert np.ptp(np.log(t_star)) < 0.05  # and t* independent of P
    # Weight decay limits the variance growth: the late error drops, the optimum moves later.
    plain = early_stopping(RandomFeatureModel(N=400, P=200, a=0.5, noise=0.5))
    decayed = early_stopping(RandomFeatureModel(N=400, P=200, a=0.5, noise=0.5, gamma=0.05))
    assert decayed["eps_final"] < plain["eps_final"]
    assert decayed["t_star"] > plain["t_star"]


def test_pareto_frontier_exponent_in_the_bias_dominated_regime():
    front = pareto_frontier(RandomFeatureModel(N=1000, P=25, a=0.5), [25, 50, 100, 200, 400])
    assert front["exponent"] == pytest.approx(0.5 / 1.5, abs=0.04)
    assert np.all(np.diff(front["eps"]) <= 1e-15)


@pytest.mark.parametrize(
    "fields, where",
    [
        ({"N": 0}, "N"),
        ({"P": 0}, "P"),
        ({"a": 0.0}, "a"),
        ({"gamma": -0.1}, "gamma"),
        ({"T": -1.0}, "T"),
        ({"noise": -0.5}, "noise"),
        ({"loss": "median"}, "loss"),
    ],
)
def test_bad_model_fields_name_the_field(fields, where):
    values = {"N": 10, "P": 5, "a": 0.5, **fields}
    with pytest.raises(CaseError) as info:
        RandomFeatureModel(**values)
    assert info.value.field == where


@pytest.mark.parametrize("times", [[1.0, 1.0], [2.0, 1.0], [], [-1.0, 1.0], [float("nan")]])
def test_bad_times(times):
    with pytest.raises(CaseError):
        solve_rf(RandomFeatureModel(N=10, P=5), times)


def _cli(tmp_path, case: dict, *extra):
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    out = tmp_path / "out.json"
    proc = subprocess.run(
        [sys.executable, "-m", "theorykit", "rf", str(path), "-o", str(out), *extra], capture_output=True, text=True
    )
    return proc, out


def test_cli_rf_dmft_and_simulation(tmp_path):
    case = {"N": 200, "P": 100, "a": 0.5, "gamma": 0.0, "T": 0.0, "noise": 0.0, "times": [0.1, 1.0, 10.0]}
    proc, out = _cli(tmp_path, case)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    for key in ("times", "eps_g", "bias", "variance", "theorykit_version", "case"):
        assert key in data
    assert data["asymptotics"]["exponents"]["bias"] == pytest.approx(1 / 3)
    proc, out = _cli(tmp_path, case, "--simulate", "--draws", "8", "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    sim = json.loads(out.read_text())
    assert sim["settings"]["seed"] == 3 and sim["settings"]["draws"] == 8
    assert np.allclose(sim["eps_g"], data["eps_g"], rtol=0.05)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"N": 0}, "N:"),
        ({"a": -1}, "a:"),
        ({"times": [1, 1]}, "times:"),
        ({"gama": 0.1}, "did you mean 'gamma'"),
        ({"noise": -1}, "noise:"),
    ],
)
def test_cli_rf_bad_input_is_one_line_exit_2(tmp_path, change, message):
    case = {"N": 20, "P": 10, "a": 0.5, "times": [1.0], **change}
    proc, _ = _cli(tmp_path, case)
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_derived_closure_is_the_kernel_ridge_equation_at_zero_frequency():
    import sympy as sp

    from theorykit.rf import derive as rf

    mode = rf.derive_mode_solution()
    assert sp.simplify(mode.response - 1 / (rf.z + rf.gamma + rf.eta * rf.Sigma)) == 0
    # mu = kappa (1 - S_1) at z = 0 is kappa = gamma + kappa sum eta / (P eta + kappa)
    # (Canatar et al. 2021), with S_1 the mode sum.
    assert sp.simplify(mode.mu_of_kappa - rf.kappa * (1 - rf.S1)) == 0
    assert sp.simplify(mode.collective_response - (rf.kappa / rf.mu - 1)) == 0
    kern = rf.derive_equal_time_kernels()
    # Gradient flow (gamma = 0): teacher error transform is R(z/2)/4, i.e. R(2t)/2 in time.
    assert sp.simplify(kern.kernels["teacher"][1].subs(rf.gamma, 0) - sp.Rational(1, 4)) == 0
    assert kern.kernels["teacher"][0].subs(rf.gamma, 0) == 0


def test_decoupled_exponents_are_the_published_ones():
    import sympy as sp

    from theorykit.rf.derive import t as t_sym
    from theorykit.rf.derive_asymptotics import P as P_sym
    from theorykit.rf.derive_asymptotics import a, b, derive_decoupled_asymptotics
    from theorykit.rf.derive_asymptotics import c as c_sym

    laws = derive_decoupled_asymptotics()
    assert sp.simplify(laws.exponents["bias"] + (a + b) / (1 + a)) == 0  # t^{-a/(1+a)} at b = 0
    assert sp.simplify(laws.exponents["variance"] - 1 / (1 + a)) == 0
    # Continuum bias law against a direct mode sum at large N (Gamma-function prefactor).
    c, P, t = 0.3, 1000.0, 0.05
    law = float(laws.laws["bias"].subs({a: 1, b: 0, c_sym: c, P_sym: P, t_sym: t}).evalf(30))
    k = np.arange(1, 2_000_001, dtype=float)
    direct = 0.5 * np.sum(c * k**-2.0 * np.exp(-2 * P * c * k**-2.0 * t))
    assert direct == pytest.approx(law, rel=0.02)


def test_rf_figures_write_png_pdf_json(tmp_path):
    from theorykit.figures import FIGURES

    for name in ("rf_bias_variance", "rf_pareto"):
        paths = FIGURES[name]().save(tmp_path)
        assert all(p.exists() and p.stat().st_size > 0 for p in paths)
        data = json.loads(paths[2].read_text())
        assert data["theorykit_version"] and "case" in data


def test_derive_latex_for_an_rf_case(tmp_path):
    path = tmp_path / "case.json"
    path.write_text(json.dumps({"N": 20, "P": 10, "a": 0.5, "times": [1.0]}))
    proc = subprocess.run(
        [sys.executable, "-m", "theorykit", "derive", str(path), "--latex"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(r"\begin{equation}") >= 12
    assert r"G_k(z) = \frac{1}{\Sigma \eta_{k} + \gamma + z}" in proc.stdout
    assert "decoupled law (bias" in proc.stdout
