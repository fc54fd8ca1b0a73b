"""Weight decay kappa: J_i <- J_i + (eta/sqrt(N)) delta_i x - (eta kappa/N) J_i.

Derived (a -eta kappa Omega_iy term per student), lowered (``decay_rate_fn``), solved by the SciPy
integrators, simulated on every CPU backend, and refused with one line where a result does not
include it yet.
"""

import numpy as np
import pytest
import sympy as sp

from theorykit import CommitteeModel, SolverConfig, Spectrum, random_overlaps, simulate, solve
from theorykit.cli import main
from theorykit.committee.compiled import compile_model
from theorykit.committee.derive.odes import Om, derive_index_system, eta, i, k, kappa, y
from theorykit.committee.solve.eigenmode import EigenmodeSystem
from theorykit.core.errors import CaseError

SPECTRUM = Spectrum.power_law(4, 0.3, [0.1, 0.2, 0.3, 0.4])  # unequal fractions


def test_derived_decay_term():
    """N steps of J -> (1 - eta kappa / N) J per unit alpha: -eta kappa Omega_iy, exactly."""
    system = derive_index_system(False)
    assert sp.simplify(system.decay + eta * kappa * Om[k, i, y]) == 0
    assert any("weight decay" in name for name in system.latex())


def test_decay_enters_the_right_hand_side_as_derived():
    """rhs(kappa) - rhs(0) at the same state: -eta kappa r and -2 eta kappa q (both students), for
    every flavour's generated rate; the Jacobian-vector product carries the same term."""
    base = CommitteeModel(2, 3, SPECTRUM)
    decayed = CommitteeModel(2, 3, SPECTRUM, weight_decay=0.3)
    init = random_overlaps(base, 500, 0.3, 1)
    for flavour in ("numpy", "numba"):
        with_decay = EigenmodeSystem(decayed, compile_model(decayed, flavour), 0.3, init.t)
        without = EigenmodeSystem(base, compile_model(base, flavour), 0.3, init.t)
        state = with_decay.pack(init.r, init.q)
        difference = with_decay.rhs(0.0, state) - without.rhs(0.0, state)
        r_part, q_part = with_decay.unpack(difference)
        np.testing.assert_allclose(r_part, -0.3 * 0.3 * init.r, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(q_part, -2 * 0.3 * 0.3 * init.q, rtol=1e-12, atol=1e-15)
        direction = np.linspace(-1, 1, state.size)
        tangent = with_decay.jvp(state, direction) - without.jvp(state, direction)
        np.testing.assert_allclose(tangent, with_decay._decay * direction, rtol=1e-12, atol=1e-15)


def _ode_against_sgd(N: int, seeds: int, tolerance_se: float):
    """K = 2 students, M = 3 teachers, unequal fractions of a power law, eta = 0.3, kappa = 0.3:
    the ODE (LSODA, rtol 1e-10) against the mean of SGD's exact errors over the seeds, started from
    the same overlaps; decay changes eps_g(10) by 60 %, the comparison is to a few standard errors
    plus the O(1/N) finite-size bias."""
    model = CommitteeModel(2, 3, SPECTRUM, weight_decay=0.3)
    init = random_overlaps(model, N, 0.3, 0)
    alpha = np.array([0.0, 1.0, 3.0, 10.0])
    ode = solve(model, 0.3, init, alpha, SolverConfig("LSODA", 1e-10, 1e-12)).raise_for_status()
    sim = simulate(model, 0.3, alpha, N, seeds=seeds, init=init, backend="numba", progress=False)
    mean, se = sim.mean("eps_g_overlaps"), sim.spread("eps_g_overlaps") / np.sqrt(seeds)
    bound = tolerance_se * se + 2.0 / N * ode.eps_g
    assert np.all(np.abs(mean - ode.eps_g) <= bound), (mean, ode.eps_g, se)
    plain = solve(CommitteeModel(2, 3, SPECTRUM), 0.3, init, alpha, SolverConfig("LSODA", 1e-10, 1e-12))
    assert abs(plain.eps_g[-1] / ode.eps_g[-1] - 1) > 0.3  # the decay is visible, not a no-op


def test_ode_with_weight_decay_against_sgd():
    pytest.importorskip("numba")
    _ode_against_sgd(N=2000, seeds=8, tolerance_se=4.0)


@pytest.mark.slow
def test_ode_with_weight_decay_against_sgd_at_the_issue_size():
    """The issue's size: N = 4000, 16 seeds."""
    pytest.importorskip("numba")
    _ode_against_sgd(N=4000, seeds=16, tolerance_se=4.0)


def test_results_without_decay_refuse_it_in_one_line(tmp_path, capsys):
    """asymptotics, linear and the exponential integrator do not include decay yet: a
    CaseError naming the field, exit 2 from the CLI; a negative kappa is out of range.  (The
    plateau does: tests/committee/test_plateau_decay_readout.py.)"""
    model = CommitteeModel(2, 2, Spectrum.power_law(4, 1.0), weight_decay=0.1)
    init = random_overlaps(model, 100, 0.1, 0)
    with pytest.raises(CaseError, match="exponential integrator"):
        solve(model, 0.1, init, [0.0, 1.0], SolverConfig("exponential", 1e-6, 1e-10))
    with pytest.raises(CaseError, match="model.weight_decay"):
        CommitteeModel(2, 2, Spectrum.power_law(4, 1.0), weight_decay=-0.1)
    case = tmp_path / "case.toml"
    case.write_text(
        'eta = 0.1\n[model]\nK = 2\nM = 2\nweight_decay = 0.1\n[spectrum]\nkind = "power_law"\nL = 4\nbeta = 1.0\n'
    )
    for command in ("asymptotics",):
        assert main([command, str(case), "-o", str(tmp_path / "out.json")]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "model.weight_decay" in err, err
