"""Plateaus with weight decay and per-unit / trained read-out weights (issue 24, item 4).

Checked from outside the reduced fixed-point problem: against the classic plateau (equal fixed
weights equal to the normalisation are the classic model), against the full ODE integrated by
``solve`` (it settles on the plateau from a symmetric start), and the escape rate against the
growth of an asymmetry in the full ODE.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from theorykit.cli import main
from theorykit.committee.model import CommitteeModel, SecondLayer, Spectrum
from theorykit.committee.plateau import find_plateau, perturbed_overlaps, student_asymmetry
from theorykit.committee.solve.initial import Overlaps
from theorykit.committee.solve.integrate import SolverConfig, solve
from theorykit.core.errors import CaseError

SPECTRUM = Spectrum.power_law(4, 0.3, [0.1, 0.2, 0.3, 0.4])  # unequal fractions, beta = 0.3
TEACHERS = [0.8, 0.5, 1.0]  # unequal teacher weights: M = 3 distinct heights


@pytest.mark.parametrize("small_lr", [False, True])
def test_equal_fixed_weights_at_the_normalisation_give_the_classic_plateau(small_lr):
    spectrum = Spectrum.power_law(4, 1.0)
    classic = find_plateau(CommitteeModel(2, 2, spectrum, small_lr=small_lr), 0.1, closed_form=False)
    weights = SecondLayer([2**-0.5] * 2, [2**-0.5] * 2)
    same = find_plateau(CommitteeModel(2, 2, spectrum, small_lr=small_lr, second_layer=weights), 0.1)
    np.testing.assert_allclose(same.state, classic.state, rtol=0, atol=1e-10)
    assert same.escape_rate == pytest.approx(classic.escape_rate, rel=1e-7)
    np.testing.assert_array_equal(same.readout, [2**-0.5] * 2)
    assert same.closed_form is None and classic.readout is None


def _symmetric_start(model: CommitteeModel) -> Overlaps:
    t = model.infinite_teacher()
    r = np.array([np.full((model.K, model.M), 0.01) @ t[k] for k in range(model.spectrum.L)])
    q = (
        np.array([np.full((model.K, model.K), 5e-4) + 5e-4 * np.eye(model.K) for _ in t])
        * model.spectrum.f[:, None, None]
    )
    return Overlaps(r, q, t)


@pytest.mark.parametrize(
    "K, kappa, second_layer",
    [
        (1, 0.05, None),  # decay alone
        (1, 0.0, SecondLayer([0.6], TEACHERS, 0.5)),  # trained read-out alone
        (1, 0.02, SecondLayer([0.6], TEACHERS, 0.5)),  # both
        (2, 0.05, None),  # two students, decay strong enough to make the plateau stable
    ],
)
def test_the_full_ode_settles_on_a_stable_fixed_point(K, kappa, second_layer):
    """K on M = 3, unequal fractions, eta = 0.3, where the fixed point attracts: the ODE (LSODA,
    rtol 1e-10) from a small start settles where the reduced per-mode problem says, to 1e-8
    (integrated over 25 relaxation times of the slowest mode).  (Where the plateau is a saddle,
    round-off breaks the students' symmetry in the ODE before it settles; there the escape rate
    is checked instead, below.)"""
    model = CommitteeModel(K, 3, SPECTRUM, weight_decay=kappa, second_layer=second_layer)
    plateau = find_plateau(model, 0.3)
    assert plateau.escape_rate < 0  # every direction relaxes
    end = 25 / -plateau.escape_rate
    sol = solve(model, 0.3, _symmetric_start(model), [0.0, end], SolverConfig("LSODA", 1e-10, 1e-13))
    sol.raise_for_status()
    np.testing.assert_allclose(sol.R()[-1], plateau.R_matrix, rtol=0, atol=1e-8)
    np.testing.assert_allclose(sol.Q()[-1], plateau.Q_matrix, rtol=0, atol=1e-8)
    assert sol.eps_g[-1] == pytest.approx(plateau.eps_g, rel=1e-6)
    if second_layer is not None:
        np.testing.assert_allclose(sol.v[-1], plateau.readout, rtol=0, atol=1e-8)
        assert abs(plateau.readout[0] - 0.6) > 0.1  # the read-out did move to get there


def test_escape_rate_with_a_trained_readout_is_the_growth_of_an_asymmetry():
    """Students displaced from the plateau by 1e-7 (read-out at its plateau value): the spread
    of R across students grows at the escape rate once the unstable mode dominates."""
    model = CommitteeModel(2, 3, SPECTRUM, weight_decay=0.01, second_layer=SecondLayer([0.6, 0.6], TEACHERS, 0.5))
    plateau = find_plateau(model, 0.3)
    assert plateau.is_unstable
    started = CommitteeModel(
        2, 3, SPECTRUM, weight_decay=0.01, second_layer=SecondLayer(list(plateau.readout), TEACHERS, 0.5)
    )
    init = perturbed_overlaps(plateau, 1e-7, seed=1, spread=0.0)
    alpha = np.linspace(0, 25 / plateau.escape_rate, 400)
    sol = solve(started, 0.3, init, alpha, SolverConfig("LSODA", 1e-11, 1e-14)).raise_for_status()
    spread = student_asymmetry(sol.R())
    window = (spread > 100 * spread[0]) & (spread < 1e-3)
    slope = np.polyfit(sol.alpha[window], np.log(spread[window]), 1)[0]
    assert slope == pytest.approx(plateau.escape_rate, rel=1e-3)


def test_enough_weight_decay_makes_the_plateau_stable():
    """Decay pulls every student direction in: beyond a kappa the symmetric fixed point is an
    attractor (no escape), and an asymmetry shrinks in the full ODE."""
    model = CommitteeModel(2, 2, Spectrum.power_law(4, 1.0), weight_decay=0.05)
    plateau = find_plateau(model, 0.1)
    assert not plateau.is_unstable and plateau.escape_rate < 0
    init = perturbed_overlaps(plateau, 1e-5, seed=2, spread=0.0)
    sol = solve(model, 0.1, init, [0.0, 2e3], SolverConfig("LSODA", 1e-11, 1e-14)).raise_for_status()
    spread = student_asymmetry(sol.R())
    assert spread[-1] < 0.5 * spread[0]


def test_unequal_fixed_student_weights_and_dps_are_refused():
    unequal = CommitteeModel(2, 2, Spectrum.power_law(2, 1.0), second_layer=SecondLayer([0.5, 0.7], [1.0, 1.0]))
    with pytest.raises(CaseError, match="^model.second_layer.student"):
        find_plateau(unequal, 0.1)
    decayed = CommitteeModel(2, 2, Spectrum.power_law(2, 1.0), weight_decay=0.01)
    with pytest.raises(CaseError, match="^dps"):
        find_plateau(decayed, 0.1, dps=30)


def test_cli_plateau_with_a_trained_readout(tmp_path):
    case = {
        "model": {
            "K": 2,
            "M": 3,
            "weight_decay": 0.01,
            "second_layer": {"student": [0.6, 0.6], "teacher": TEACHERS, "eta": 0.5},
        },
        "eta": 0.3,
        "spectrum": {"kind": "power_law", "L": 4, "beta": 0.3, "fractions": [0.1, 0.2, 0.3, 0.4]},
    }
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    assert main(["--quiet", "plateau", str(path), "-o", str(tmp_path / "out.json")]) == 0
    out = json.loads((tmp_path / "out.json").read_text())
    model = CommitteeModel(2, 3, SPECTRUM, weight_decay=0.01, second_layer=SecondLayer([0.6, 0.6], TEACHERS, 0.5))
    plateau = find_plateau(model, 0.3)
    assert out["readout"] == pytest.approx(list(plateau.readout), rel=1e-12)
    assert out["escape_rate"] == pytest.approx(plateau.escape_rate, rel=1e-12)


@pytest.mark.parametrize("K, M, teacher", [(2, 3, 0.8), (3, 2, 1.0)])
def test_the_o_eta_plateau_with_a_trained_readout_in_closed_form(K, M, teacher):
    """SymPy's closed form (the candidate K v = M v* verified at 50 digits) against the numeric
    plateau, and the numeric plateau against the read-out drift written out here for erf
    (I2 kernel: <g(a)g(b)> = (2/pi) arcsin(C_ab / sqrt((1+C_aa)(1+C_bb))))."""
    import sympy as sp

    model = CommitteeModel(
        K, M, SPECTRUM, small_lr=True, second_layer=SecondLayer([0.3] + [1.2] * (K - 1), [teacher] * M, 0.5)
    )
    plateau = find_plateau(model, 0.3)
    closed = {name: float(sp.sympify(text)) for name, text in plateau.closed_form.items() if name != "latex"}
    assert closed["v"] == pytest.approx(M * teacher / K, rel=1e-15)
    assert plateau.readout == pytest.approx([closed["v"]] * K, rel=1e-12)
    assert (plateau.R, plateau.Q, plateau.C) == pytest.approx((closed["R"], closed["Q"], closed["C"]), rel=1e-12)
    R, Q, C, v = plateau.R, plateau.Q, plateau.C, plateau.readout[0]
    drift = (
        M * teacher * np.arcsin(R / np.sqrt(2 * (1 + Q)))
        - v * np.arcsin(Q / (1 + Q))
        - (K - 1) * v * np.arcsin(C / (1 + Q))
    )
    assert abs(drift) < 1e-13


def test_with_a_finite_n_teacher_the_full_ode_lingers_at_the_plateau():
    """A random (finite-N) teacher splits the M heights; the full ODE from small random students
    (sigma_J = 1e-12) with equal starting read-out weights passes the plateau closely before
    the saddle amplifies their asymmetry: its closest approach lies within 1e-3 of the plateau's
    R, Q and v."""
    from theorykit.committee.solve.initial import random_overlaps

    layer = SecondLayer([0.75, 0.75], TEACHERS, 0.5)
    model = CommitteeModel(2, 3, SPECTRUM, weight_decay=0.01, second_layer=layer)
    init = random_overlaps(model, 300, 1e-12, 1)  # the saddle (mu = 0.024) outruns a slow approach (~0.007)
    plateau = find_plateau(model, 0.3, teacher=init.t)
    assert np.ptp(plateau.teacher_split) > 0.05  # the M heights differ
    alpha = np.geomspace(30, 3000, 60)
    sol = solve(model, 0.3, init, alpha, SolverConfig("LSODA", 1e-10, 1e-13)).raise_for_status()
    distance = [
        max(np.abs(R - plateau.R_matrix).max(), np.abs(Q - plateau.Q_matrix).max(), np.abs(v - plateau.readout).max())
        for R, Q, v in zip(sol.R(), sol.Q(), sol.v)
    ]
    assert min(distance) < 1e-3, min(distance)
