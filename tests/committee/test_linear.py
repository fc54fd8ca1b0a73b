"""Linear networks: derived closed form against the general ODE, SGD, limits and asymptotics."""

import json

import mpmath
import numpy as np
import pytest
import sympy as sp

import theorykit as tk
from theorykit.cli import main
from theorykit.committee.derive.linear_modes import derive_linear_error_system, derive_power_law_asymptotics
from theorykit.committee.linear_network import (
    effective_errors,
    linear_coefficients,
    linear_learning_curve,
    power_law_law,
)
from theorykit.committee.solve.linear_exact import exact_curve, small_eta_curve


def test_error_equations_are_derived_and_close():
    system = derive_linear_error_system()
    assert (system.a, system.b, system.c) == (-2, 1, 1)


@pytest.mark.parametrize("K,M,norm", [(1, 1, "sqrt"), (3, 2, "sum"), (2, 3, "sqrt")])
def test_exact_form_equals_general_ode_solver(K, M, norm):
    model = tk.CommitteeModel(K, M, tk.Spectrum.power_law(5, 1.0), "linear", norm, noise=0.2)
    init = tk.random_overlaps(model, 1000, 0.5, 0)
    alpha = [0.0, 1.0, 5.0, 20.0]
    curve = linear_learning_curve(model, 0.2, init, alpha)
    ode = tk.solve(model, 0.2, init, alpha, tk.SolverConfig(rtol=1e-11, atol=1e-13))
    assert np.allclose(curve.eps_g, ode.eps_g, rtol=1e-8, atol=1e-12)


def test_exact_form_against_sgd():
    model = tk.CommitteeModel(1, 1, tk.Spectrum.power_law(4, 1.0), "linear")
    init = tk.random_overlaps(model, 800, 0.5, 1)
    alpha = np.linspace(0, 4, 5)
    sim = tk.simulate(model, 0.5, alpha, 800, seeds=4, init=init, n_test=200)
    exact = linear_learning_curve(model, 0.5, init, alpha).eps_g
    sem = sim.spread("eps_g_overlaps") / 2
    assert np.all(np.abs(sim.mean("eps_g_overlaps") - exact) <= 4 * sem + 0.03 * exact)


def test_small_eta_form_converges_at_first_order():
    """At fixed eta*alpha the gap to the exact curve is O(eta): halving eta halves it."""
    spec = tk.Spectrum.power_law(6, 1.0)
    e0 = spec.f * 1.3
    coeffs = linear_coefficients()
    gaps = []
    for eta in (0.04, 0.02, 0.01):
        alpha = np.array([1.0, 3.0]) / eta
        exact = exact_curve(spec.lam, spec.f, e0, eta, alpha, coeffs)
        gaps.append(np.max(np.abs(exact - small_eta_curve(spec.lam, e0, eta, alpha, coeffs)) / exact))
    ratios = np.array(gaps[:-1]) / np.array(gaps[1:])
    assert np.all((1.8 < ratios) & (ratios < 2.2)), ratios


@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0])
def test_log_log_slope_in_window_matches_derived_exponent(beta):
    """Exact curve, L = 2000 modes, eta = 0.01: slope over the decade [3, 30] alpha_min.

    Tolerance 0.03: the upper edge of the window corrects the curve by a relative amount of
    order (alpha/alpha_max)^(beta/(1+beta)), which decays slowly for small beta -- for
    beta = 0.5 and L = 2000 only this first decade is clean (slope 0.352 vs 1/3)."""
    spec = tk.Spectrum.power_law(2000, beta)
    eta = 0.01
    lo, hi = 1 / (2 * eta * spec.lam[0]), spec.L ** (1 + beta) / (2 * eta * spec.lam[0])
    a1, a2 = 3 * lo, 30 * lo
    assert a2 < hi / 30
    exact = exact_curve(spec.lam, spec.f, spec.f, eta, [a1, a2], linear_coefficients())
    slope = -np.log(exact[1] / exact[0]) / np.log(a2 / a1)
    assert abs(slope - beta / (1 + beta)) < 0.03, slope


def test_prefactor_matches_the_exact_curve_in_the_window():
    model = tk.CommitteeModel(1, 1, tk.Spectrum.power_law(4000, 1.0), "linear")
    law = power_law_law(model, 0.01, 1.0)
    alpha = float(mpmath.sqrt(law.alpha_min * law.alpha_max))
    exact = exact_curve(model.spectrum.lam, model.spectrum.f, model.spectrum.f, 0.01, [alpha], linear_coefficients())[0]
    assert abs(exact / float(law.prefactor * mpmath.mpf(alpha) ** -law.exponent) - 1) < 0.05


def test_prefactor_is_a_gamma_function_expression():
    law = derive_power_law_asymptotics()
    assert law.prefactor.has(sp.gamma)
    b = law.symbols["beta"]
    assert sp.simplify(law.exponent - b / (1 + b)) == 0


def test_two_precisions_agree():
    model = tk.CommitteeModel(1, 1, tk.Spectrum.power_law(8, 1.0), "linear")
    init = tk.random_overlaps(model, 800, 0.2, 0)
    curve = linear_learning_curve(model, 0.1, init, [0.0, 3.0, 30.0], dps=30)
    assert curve.agreement_digits > 28
    float_curve = linear_learning_curve(model, 0.1, init, [0.0, 3.0, 30.0])
    assert np.allclose(float_curve.eps_g, curve.eps_g, rtol=1e-10)
    with mpmath.workdps(15):
        assert mpmath.mp.dps == 15  # the computation did not leak its precision


def test_linear_cli_with_dps(tmp_path):
    case = {
        "model": {"K": 1, "M": 1, "activation": "linear"},
        "spectrum": {"kind": "power_law", "L": 6, "beta": 1.0},
        "eta": 0.1,
        "init": {"kind": "random", "N": 600, "sigma_J": 0.1, "seed": 2},
        "alpha": [0, 10, 100],
    }
    path = tmp_path / "c.json"
    path.write_text(json.dumps(case))
    out = tmp_path / "o.json"
    assert main(["linear", str(path), "-o", str(out), "--dps", "25"]) == 0
    data = json.loads(out.read_text())
    assert all(
        isinstance(v, str) and len(v.replace(".", "").replace("e-", "").lstrip("0")) >= 25 for v in data["eps_g"]
    )
    assert data["agreement_digits"] >= 25
    assert float(data["exponent"]) == pytest.approx(0.5)
    assert "gamma" in data["closed_form"]["prefactor"]
    model = tk.CommitteeModel(1, 1, tk.Spectrum.power_law(6, 1.0), "linear")
    e0, _ = effective_errors(model, tk.random_overlaps(model, 600, 0.1, 2), 0.1)
    assert float(data["eps_g"][0]) == pytest.approx(0.5 * np.dot(model.spectrum.lam, e0), rel=1e-12)


def test_linear_cli_rejects_nonlinear(tmp_path, capsys):
    case = {
        "model": {"K": 1, "M": 1, "activation": "erf"},
        "spectrum": {"kind": "power_law", "L": 3, "beta": 1.0},
        "eta": 0.1,
        "init": {"kind": "random", "N": 60, "sigma_J": 0.1, "seed": 0},
        "alpha": [0, 1],
    }
    path = tmp_path / "c.json"
    path.write_text(json.dumps(case))
    assert main(["linear", str(path), "-o", str(tmp_path / "o.json")]) == 2
    assert "model.activation" in capsys.readouterr().err


def test_trainable_dimension_theory_against_sgd():
    """Only the top n of L = N = 128 one-dimensional eigenspaces are trained."""
    model = tk.CommitteeModel(1, 1, tk.Spectrum.power_law(128, 1.0), "linear")
    init = tk.random_overlaps(model, 128, 0.01, 0)
    alpha = np.array([0.0, 5.0, 20.0, 60.0])
    for n in (8, 32):
        theory = linear_learning_curve(model, 0.1, init, alpha, trained_modes=n).eps_g
        # same teacher (seed 0) as the theory's overlaps; students N(0, 0.01^2) differ per seed
        sim = tk.simulate(model, 0.1, alpha, 128, seeds=8, sigma_J=0.01, teacher_seed=0, n_test=100, trained_dims=n)
        mean, sem = sim.mean("eps_g_overlaps"), sim.spread("eps_g_overlaps") / np.sqrt(8)
        # N = 128 is small: allow 4 standard errors plus 5% finite-N bias
        assert np.all(np.abs(mean - theory) <= 4 * sem + 0.05 * theory), np.c_[theory, mean, sem]


def test_trainable_floor_scales_as_n_to_minus_beta():
    from theorykit.committee.linear_network import trainable_floor

    beta = 1.0
    model = tk.CommitteeModel(1, 1, tk.Spectrum.power_law(4096, beta), "linear")
    L = model.spectrum.L
    # e_k(0) = f_k exactly (teacher overlaps f_k, zero student): the floor is 1/2 sum_{k>n} lam_k f_k
    init = tk.Overlaps(np.zeros((L, 1, 1)), np.zeros((L, 1, 1)), model.spectrum.f[:, None, None].copy())
    floors = [trainable_floor(model, 1e-4, init, n) for n in (16, 64)]
    slope = -np.log(floors[1] / floors[0]) / np.log(4)
    # sum_{k>n} k^-(1+beta) ~ n^-beta / beta (1 + O(1/n)); the O(eta) stationary error is negligible
    assert abs(slope - beta) < 0.03, slope


def test_tail_rate_is_the_late_decay_rate():
    from theorykit.committee.solve.linear_exact import slowest_rate

    spec = tk.Spectrum.power_law(20, 1.0)
    coeffs = linear_coefficients()
    rate = slowest_rate(spec.lam, spec.f, 0.2, coeffs)
    a = np.array([300.0, 350.0]) / rate  # next mode (rate ratio 1.1) suppressed by e^-30
    e = exact_curve(spec.lam, spec.f, spec.f, 0.2, a, coeffs)
    assert -np.log(e[1] / e[0]) / (a[1] - a[0]) == pytest.approx(rate, rel=1e-6)
    assert rate == pytest.approx(2 * 0.2 * spec.lam[-1], rel=0.05)  # small-eta value


def test_divergence_is_reported_with_the_linear_stability_bound():
    """Independent of the bound's derivation: the full ODE decays just below eta_max and blows
    up just above it (10 % either side), and the failure names the bound."""
    from theorykit.committee.linear_network import linear_eta_bound
    from theorykit.committee.solve.initial import random_overlaps
    from theorykit.committee.solve.integrate import SolverConfig, solve

    model = tk.CommitteeModel(2, 2, tk.Spectrum.power_law(4, 1.0), activation="linear")
    bound = linear_eta_bound(model)
    init = random_overlaps(model, 64, 0.5, 1)
    alpha = np.linspace(0, 400, 41)
    below = solve(model, 0.9 * bound, init, alpha, SolverConfig("LSODA", 1e-8, 1e-10)).raise_for_status()
    # decayed: below 1e-6 of the start, or below the round-off the overlaps resolve (NaN)
    assert np.nan_to_num(below.eps_g[-1], nan=below.eps_resolution[-1]) < 1e-6 * below.eps_g[0]
    above = solve(model, 1.1 * bound, init, alpha, SolverConfig("LSODA", 1e-8, 1e-10))
    assert above.status == "diverged"
    assert "above the linear network's stability bound" in above.message and f"{bound:.6g}" in above.message
    with pytest.raises(tk.NumericalFailure, match="dynamics diverge"):
        above.raise_for_status()
