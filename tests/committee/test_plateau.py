"""Plateaus: closed form vs numerics, fixed point of the full system, escape vs integration and SGD."""

from __future__ import annotations

import json

import mpmath
import numpy as np
import pytest
import sympy as sp

from theorykit.cli import main
from theorykit.committee.compiled import compile_model
from theorykit.committee.derive.expanded import closed_form_escape_rate
from theorykit.committee.derive.symmetric import K as K_sym
from theorykit.committee.derive.symmetric import closed_form_plateau
from theorykit.committee.model import CommitteeModel, Spectrum
from theorykit.committee.plateau import find_plateau, perturbed_overlaps, student_asymmetry, unstable_amplitude
from theorykit.committee.solve.eigenmode import EigenmodeSystem
from theorykit.committee.solve.escape import SecularEquation, dense_spectrum
from theorykit.committee.solve.fixed_point import AggregatedSystem, StudentSymmetric
from theorykit.committee.solve.integrate import SolverConfig, solve
from theorykit.core.errors import NumericalFailure


def small_lr_model(K, M=None, L=4, beta=1.0, normalization="sqrt", small_lr=True):
    return CommitteeModel(
        K, K if M is None else M, Spectrum.power_law(L, beta), normalization=normalization, small_lr=small_lr
    )


@pytest.mark.parametrize("normalization", ["sqrt", "sum"])
def test_classic_plateau_is_found_for_symbolic_K(normalization):
    # the published Saad & Solla / Biehl plateau: the toolkit must arrive at it, not be given it
    found = closed_form_plateau("erf", None, None, normalization)
    assert found is not None
    assert sp.simplify(found.Q - 1 / (2 * K_sym - 1)) == 0
    assert sp.simplify(found.C - found.Q) == 0
    assert sp.simplify(found.R**2 - 1 / (K_sym * (2 * K_sym - 1))) == 0 and found.R.subs(K_sym, 3) > 0


@pytest.mark.parametrize(("K", "M", "normalization"), [(2, 2, "sum"), (3, 3, "sqrt"), (3, 2, "sqrt")])
def test_closed_form_agrees_with_numeric_fixed_point_to_30_digits(K, M, normalization):
    model = small_lr_model(K, M, normalization=normalization)
    plateau = find_plateau(model, 0.1, dps=30)
    found = plateau.closed_form
    assert found is not None
    precise = plateau.precise
    assert precise.agreement_digits >= 30
    with mpmath.workdps(45):
        for name in ("R", "Q", "C"):
            exact = mpmath.mpf(str(sp.N(sp.sympify(found[name]), 45)))
            assert abs(getattr(precise, name) - exact) < mpmath.mpf(10) ** -30, name


@pytest.mark.parametrize(
    "model",
    [
        small_lr_model(2),
        small_lr_model(3, 2, L=6, beta=0.5),
        small_lr_model(2, small_lr=False),
        CommitteeModel(2, 2, Spectrum.explicit([2.0, 0.5, 0.25], [0.2, 0.3, 0.5]), noise=0.1),
    ],
    ids=["K2", "K3M2", "full-lr", "explicit-noise"],
)
def test_plateau_is_a_zero_of_the_full_right_hand_side(model):
    plateau = find_plateau(model, 0.3)
    system = EigenmodeSystem(
        model, compile_model(model, "numpy"), 0.3, model.spectrum.f[:, None, None] * np.eye(model.M)
    )
    rhs = system.rhs(0.0, plateau.state)
    assert np.max(np.abs(rhs)) < 1e-12
    # and not trivially: the state is a genuine plateau with an unstable direction
    assert plateau.escape_rate > 0 and plateau.eps_g > 1e-3


def test_heights_of_every_order_are_proportional_to_the_teachers():
    model = small_lr_model(3, L=5, beta=0.5)
    plateau = find_plateau(model, 0.1)
    lam, f = model.spectrum.lam, model.spectrum.f
    T_l = np.array([np.sum(f * lam**order) for order in range(1, 6)])
    np.testing.assert_allclose(plateau.heights_R, plateau.R * T_l, rtol=1e-10)
    np.testing.assert_allclose(plateau.heights_Q, plateau.Q * T_l, rtol=1e-10)


@pytest.mark.parametrize("small_lr", [True, False])
def test_secular_equation_equals_dense_jacobian(small_lr):
    model = small_lr_model(3, L=5, beta=0.5, small_lr=small_lr)
    plateau = find_plateau(model, 0.4)
    system = EigenmodeSystem(model, compile_model(model, "numpy"), 0.4, model.spectrum.f[:, None, None] * np.eye(3))
    dense = dense_spectrum(system, plateau.state)[0].real
    agg = AggregatedSystem(system)
    coords = StudentSymmetric(agg, identical=small_lr)
    a = coords.embed(np.array([plateau.R, plateau.Q] + ([] if small_lr else [plateau.C])))
    secular = SecularEquation(agg, a)
    assert secular.root(dense * 1.01) == pytest.approx(dense, rel=1e-8)
    assert abs(secular(dense)) < 1e-8


def test_arpack_route_equals_the_dense_spectrum():
    """The ARPACK route (above escape.DENSE_LIMIT rows) against every eigenvalue of the dense
    Jacobian on a system small enough for both: K = M = 2, L = 12 at eta = 0.3 (rel. 1e-8, ARPACK's
    tolerance 1e-10 on an eigenvalue cluster)."""
    from theorykit.committee.solve.escape import leading_eigenvalues_iterative

    model = small_lr_model(2, L=12, beta=0.3, small_lr=True)
    plateau = find_plateau(model, 0.3)
    system = EigenmodeSystem(model, compile_model(model, "numpy"), 0.3, model.spectrum.f[:, None, None] * np.eye(2))
    dense = dense_spectrum(system, plateau.state)
    iterative = leading_eigenvalues_iterative(system, plateau.state, count=2)
    assert iterative[0].real == pytest.approx(dense[0].real, rel=1e-8)
    assert iterative[0].real == pytest.approx(plateau.escape_rate, rel=1e-8)


def test_escape_rate_closed_form_at_L1():
    model = small_lr_model(2, L=1)
    plateau = find_plateau(model, 0.2, dps=25)
    mu = closed_form_escape_rate("erf", 2, 2, "sqrt")
    assert plateau.closed_form["escape_rate"] == f"eta*({mu})"
    with mpmath.workdps(40):
        assert (
            abs(plateau.precise.escape_rate - mpmath.mpf("0.2") * mpmath.mpf(str(sp.N(mu, 40)))) < mpmath.mpf(10) ** -25
        )
    # the K-dependence the issue asks about: mu K^2 -> 1/(2 pi) for large K at L = 1
    for K in (2, 3, 4):
        exact = 2 / (sp.pi * sp.sqrt((2 * K - 1) * (2 * K + 1) ** 3))
        assert sp.simplify(closed_form_escape_rate("erf", K, K, "sqrt") - exact) == 0


def _escape_run(K, L, size):
    model = small_lr_model(K, L=L)
    plateau = find_plateau(model, 0.1)
    init = perturbed_overlaps(plateau, size, seed=1)
    alpha = np.linspace(0, 30 / plateau.escape_rate, 1501)
    sol = solve(model, 0.1, init, alpha, SolverConfig(rtol=1e-10, atol=1e-14)).raise_for_status()
    return plateau, init, sol, student_asymmetry(sol.R())


def test_escape_rate_is_the_growth_rate_of_a_small_asymmetry():
    plateau, _, sol, spread = _escape_run(2, 4, 1e-8)
    window = (spread > 1e-6) & (spread < 1e-3)
    slope = np.polyfit(sol.alpha[window], np.log(spread[window]), 1)[0]
    # the asymmetry is dominated by the unstable mode once it has grown 100-fold: 1e-3 relative
    assert slope == pytest.approx(plateau.escape_rate, rel=1e-3)


@pytest.mark.parametrize(("K", "L"), [(2, 4), (3, 4), (2, 16), (4, 8)])
def test_predicted_plateau_length_tracks_the_integrated_one(K, L):
    plateau, init, sol, spread = _escape_run(K, L, 1e-7)
    delta0 = unstable_amplitude(plateau, init)
    delta_end = 0.05
    measured = sol.alpha[np.argmax(spread > delta_end)]
    predicted = plateau.escape_time(delta0, delta_end)
    # linear growth up to 5 % asymmetry: the non-linear correction is below 1 %
    assert measured == pytest.approx(predicted, rel=1e-2)


def test_finite_N_teacher_splits_the_plateau_as_in_sgd():
    from theorykit.committee.simulate.sgd import simulate

    model = CommitteeModel(2, 2, Spectrum.power_law(4, 1.0))
    alpha = np.arange(0.0, 161.0, 10.0)
    result = simulate(model, 0.5, alpha, N=500, seeds=6, sigma_J=1e-3, teacher_seed=3, progress=False)
    predicted = find_plateau(model, 0.5, teacher=result.t[0])
    symmetric = find_plateau(model, 0.5)
    R = np.einsum("k,stkim->stim", model.spectrum.lam, result.r)
    window = (alpha >= 60) & (alpha <= 150)  # well inside the plateau for these sizes
    measured = R[:, window].mean(axis=(0, 1, 2))
    # finite-N plateau fluctuations at N = 500 are ~1e-2 in R
    np.testing.assert_allclose(measured, predicted.teacher_split, atol=1.5e-2)
    split = np.abs(np.diff(predicted.teacher_split))[0]
    assert split > 0.02 and np.abs(np.diff(measured))[0] == pytest.approx(split, rel=0.35)
    assert np.max(np.abs(predicted.teacher_split - symmetric.R)) > 0.015


def test_linear_network_has_no_plateau_to_escape():
    model = CommitteeModel(2, 2, Spectrum.power_law(4, 1.0), activation="linear", small_lr=True)
    plateau = find_plateau(model, 0.1)
    assert plateau.eps_g < 1e-12  # the symmetric fixed point is the solution itself
    with pytest.raises(NumericalFailure, match="no escape"):
        plateau.escape_time(1e-6)


def test_cli_plateau(tmp_path, capsys):
    case = {
        "model": {"K": 3, "M": 3},
        "spectrum": {"kind": "power_law", "L": 1, "beta": 1.0},
        "eta": 0.1,
        "small_lr": True,
    }
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    out = tmp_path / "out.json"
    assert main(["plateau", str(path), "-o", str(out), "--dps", "20"]) == 0
    data = json.loads(out.read_text())
    assert data["closed_form"]["Q"] == "1/5"
    assert data["R"] == pytest.approx(1 / np.sqrt(15), rel=1e-12)
    with mpmath.workdps(40):
        assert data["decimal"]["R"] == mpmath.nstr(1 / mpmath.sqrt(15), 20, strip_zeros=False)
    assert data["escape_rate"] == pytest.approx(0.1 * 2 / (np.pi * np.sqrt(5 * 7**3)), rel=1e-9)
    assert data["stability"].startswith("saddle") and "theorykit_version" in data


def test_cli_plateau_with_a_finite_N_teacher(tmp_path):
    case = {
        "model": {"K": 3, "M": 3},
        "spectrum": {"kind": "power_law", "L": 4, "beta": 1.0},
        "eta": 0.1,
        "small_lr": True,
        "init": {"kind": "random", "N": 1000, "sigma_J": 0.01, "seed": 2},
    }
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    out = tmp_path / "out.json"
    assert main(["plateau", str(path), "-o", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["closed_form"] is None  # the closed form is for the infinite-N (diagonal) teacher
    assert len(set(np.round(data["teacher_split"], 6))) == 3  # three distinct heights
    assert data["escape"]["alpha_esc"] == pytest.approx(np.log(np.sqrt(1000) / 0.01) / data["escape_rate"])
    assert data["seed"] == 2
    assert main(["plateau", str(path), "-o", str(out), "--dps", "20"]) == 2  # no high precision for it


def test_cli_plateau_rejects_bad_input(tmp_path, capsys):
    path = tmp_path / "case.json"
    path.write_text(
        json.dumps({"model": {"K": 2, "M": 2}, "spectrum": {"kind": "power_law", "L": 2, "beta": 1.0}, "eta": -1})
    )
    assert main(["plateau", str(path), "-o", str(tmp_path / "o.json")]) == 2
    assert "eta" in capsys.readouterr().err


def test_closed_form_strings_are_cached_as_data_and_a_damaged_entry_is_derived_again(monkeypatch, tmp_path):
    """The closed forms are derived once per recipe (activation definition, K, M, normalisation)
    and read back as JSON: the same strings as a fresh derivation; an altered file counts as missing."""
    from theorykit.committee import plateau as module
    from theorykit.core import code_cache

    monkeypatch.setenv("THEORYKIT_CACHE_DIR", str(tmp_path))
    model = CommitteeModel(2, 3, Spectrum.power_law(4, 1.0), normalization="sum")
    fresh = module._derive_closed_form(model)
    assert fresh is not None and "R" in fresh
    first = module._closed_form(model)  # derives and stores
    (stored,) = tmp_path.glob("derived_*.json")
    derived = []
    monkeypatch.setattr(module, "_derive_closed_form", lambda m: derived.append(m) or fresh)
    assert module._closed_form(model) == first == fresh and not derived  # read back, not derived
    stored.write_text(stored.read_text().replace('"R"', '"X"', 1))  # body no longer matches its hash
    assert code_cache.derived_lookup(module._closed_form_recipe(model)) == (False, None)
    assert module._closed_form(model) == fresh and len(derived) == 1
    other = CommitteeModel(2, 2, Spectrum.power_law(4, 1.0), normalization="sum")
    assert module._closed_form_recipe(other) != module._closed_form_recipe(model)
