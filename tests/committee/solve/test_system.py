"""The System object: built once, reused by solve, its kernel blocks by name."""

from __future__ import annotations

import numpy as np
import pytest

import theorykit as tk
from theorykit.committee.compiled import compile_model
from theorykit.committee.solve.eigenmode import EigenmodeSystem


@pytest.fixture(scope="module")
def case():
    model = tk.CommitteeModel(2, 3, tk.Spectrum.power_law(4, 0.3), "erf")  # K != M, beta = 0.3
    return model, tk.random_overlaps(model, 500, 0.1, 1)


def test_solve_with_a_prebuilt_system_gives_the_same_numbers(case):
    model, init = case
    system = EigenmodeSystem.build(model, 0.3, init.t)
    reused = tk.solve(model, 0.3, init, [5, 10, 20], system=system)
    again = tk.solve(model, 0.3, init, [5, 10, 20], system=system)
    # (a solve without a system may run another flavour: "auto" takes C for explicit methods)
    fresh = tk.solve(model, 0.3, init, [5, 10, 20], tk.SolverConfig(flavour=system.flavour))
    assert np.array_equal(reused.eps_g, fresh.eps_g) and np.array_equal(again.eps_g, fresh.eps_g)
    assert reused.flavour == system.flavour


def test_a_system_for_another_case_is_refused(case):
    model, init = case
    system = EigenmodeSystem.build(model, 0.3, init.t)
    with pytest.raises(ValueError, match="another model, learning rate or teacher"):
        tk.solve(model, 0.4, init, [5], system=system)


def test_a_linear_committee_on_the_aggregated_route_still_checks_its_system():
    """Linear K > 1 under ``exponential`` integrates its aggregated student (a system of its own):
    a given system for another learning rate is refused, not silently ignored."""
    model = tk.CommitteeModel(2, 2, tk.Spectrum.power_law(4, 1.0), "linear")
    init = tk.random_overlaps(model, 8, 0.1, 0)
    system = EigenmodeSystem.build(model, 0.3, init.t)
    config = tk.SolverConfig("exponential", 1e-6, 1e-12)
    with pytest.raises(ValueError, match="another model, learning rate or teacher"):
        tk.solve(model, 0.4, init, [5], config, system=system)
    assert tk.solve(model, 0.3, init, [5], config, system=system).solver_stats["aggregated"]


def test_the_model_is_compiled_once_per_process(case):
    model, _ = case
    assert compile_model(model, "numpy") is compile_model(model, "numpy")


def test_kernel_blocks_by_name_assemble_the_right_hand_side(case):
    """rhs = drift(G) + eta^2 lambda f W: rebuilt from the named blocks, per mode."""
    model, init = case
    system = EigenmodeSystem.build(model, 0.3, init.t, flavour="numpy")
    state = system.pack(init.r, init.q)
    om = system.overlaps(state)
    C = system.covariance(state)
    G, W = system.G(C), system.W(C)
    K = model.K
    lam, f = model.spectrum.lam, model.spectrum.f
    dr = 0.3 * lam[:, None, None] * (G[None, :, :K] @ init.r + G[None, :, K:] @ init.t)
    Gs_q = G[None, :, :K] @ init.q + G[None, :, K:] @ om[:, K:, :K]
    dq = 0.3 * lam[:, None, None] * (Gs_q + Gs_q.transpose(0, 2, 1)) + 0.09 * (lam * f)[:, None, None] * W
    assert np.allclose(system.rhs(0.0, state), system.pack(dr, dq), rtol=1e-12, atol=1e-15)
    assert float(system.eps_of_covariance(C)) == pytest.approx(float(system.eps_g(state)), rel=1e-15)


def test_plateau_and_late_phase_take_the_system_too(case):
    model = tk.CommitteeModel(2, 2, tk.Spectrum.power_law(3, 0.3), "erf")
    teacher = model.infinite_teacher()
    system = EigenmodeSystem.build(model, 0.3, teacher)
    assert tk.find_plateau(model, 0.3, system=system).eps_g == tk.find_plateau(model, 0.3).eps_g
    with pytest.raises(ValueError, match="another model"):
        tk.find_plateau(model, 0.2, system=system)
    from theorykit.committee.late_phase import late_phase_curve, specialised_teacher

    t = specialised_teacher(model)
    late_system = EigenmodeSystem.build(model, 0.3, t)
    r0, q0 = 0.95 * t, 0.92 * t
    steps = np.array([0.0, 1.0, 10.0])
    given = late_phase_curve(model, 0.3, r0, q0, t, steps, system=late_system)
    assert np.array_equal(given, late_phase_curve(model, 0.3, r0, q0, t, steps))


def test_solution_repr_is_short_and_its_dataset_labelled(case):
    model, init = case
    solution = tk.solve(model, 0.3, init, [5, 10, 20])
    assert len(repr(solution)) < 200 and "status='success'" in repr(solution)
    ds = solution.to_xarray()
    assert ds["r"].dims == ("alpha", "mode", "student", "teacher") and ds.sizes["mode"] == 4
    np.testing.assert_array_equal(ds["eps_g"].values, solution.eps_g)
    lam = model.spectrum.lam
    np.testing.assert_allclose(ds["R"].values[-1], sum(lam[k] * solution.r[-1, k] for k in range(4)), rtol=1e-14)
    assert ds.attrs["status"] == "success" and ds.attrs["method"] == solution.method


def test_solve_dop853_is_scipys_dop853_on_the_same_system(case):
    """solve runs DOP853 through theorykit.core.dop853 (no scipy.integrate import); the numbers
    are those of SciPy's solve_ivp on the same right-hand side, bit for bit (outputs not from 0)."""
    from scipy.integrate import solve_ivp

    model, init = case
    config = tk.SolverConfig(method="DOP853", rtol=3e-7, atol=1e-10)
    system = EigenmodeSystem.build(model, 0.3, init.t)
    ours = tk.solve(model, 0.3, init, [2.5, 7, 30], config, system=system)
    grid = [0.0, 2.5, 7.0, 30.0]
    reference = solve_ivp(
        system.rhs, (0, 30), system.pack(init.r, init.q), method="DOP853", t_eval=grid, rtol=3e-7, atol=1e-10
    )
    r, q = system.unpack(reference.y[:, -1])
    assert np.array_equal(ours.r[-1], r) and np.array_equal(ours.q[-1], q)
    assert ours.nfev == reference.nfev
