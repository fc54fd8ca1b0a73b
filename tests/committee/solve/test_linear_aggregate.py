"""Linear students move together: the K-student system through its aggregated student.

The reconstruction of every overlap from the K = M = 1 network of the students' sum is checked
against the K-student system integrated directly (both by LSODA at rtol 1e-12: agreement to
round-off, 1e-12), on K != M, unequal fractions, label noise, eta = 0.3 and outputs not from 0;
and the exponential integrator through it against the exact linear solution deep in the tail.
"""

from __future__ import annotations

import numpy as np
import pytest

from theorykit.committee.linear_network import linear_learning_curve
from theorykit.committee.model import CommitteeModel, Spectrum
from theorykit.committee.solve.initial import random_overlaps
from theorykit.committee.solve.integrate import SolverConfig, solve
from theorykit.committee.solve.linear_aggregate import aggregable, aggregated, expand


@pytest.mark.parametrize("normalization", ["sqrt", "sum"])
def test_the_overlaps_rebuilt_from_the_aggregated_student_are_the_k_student_systems(normalization):
    spectrum = Spectrum.power_law(4, 0.3, fractions=[0.4, 0.3, 0.2, 0.1])
    model = CommitteeModel(3, 2, spectrum, "linear", normalization=normalization, noise=0.1)
    init = random_overlaps(model, 60, 0.5, 1)
    alpha = np.array([0.7, 3.0, 20.0])
    tight = SolverConfig("LSODA", 1e-12, 1e-14)
    full = solve(model, 0.3, init, alpha, tight).raise_for_status()
    one, eta1, start = aggregated(model, 0.3, init)
    reduced = solve(one, eta1, start, alpha, tight).raise_for_status()
    r, q = expand(model, 0.3, init, alpha, reduced.q)
    np.testing.assert_allclose(r, full.r, rtol=0, atol=1e-12)
    np.testing.assert_allclose(q, full.q, rtol=0, atol=1e-12)
    np.testing.assert_allclose(reduced.eps_g, full.eps_g, rtol=1e-10)  # the same network output


def test_the_exponential_integrator_resolves_the_tail_of_linear_students():
    """K = M = 2, L = 64, beta = 1: within 10 x rtol of the exact solution down to eps_g ~ 1e-22
    (measured 1.6e-6 at rtol 1e-6; before, 4e-3 at alpha = 1e4 and NaN below the overlaps' round-off)."""
    model = CommitteeModel(2, 2, Spectrum.power_law(64, 1.0), "linear")
    init = random_overlaps(model, 64, 1e-3, 0)
    alpha = np.array([1.0, 10, 100, 1e3, 1e4, 2e4])
    exact = linear_learning_curve(model, 0.1, init, alpha).eps_g
    run = solve(model, 0.1, init, alpha, SolverConfig("exponential", 1e-6, 1e-30)).raise_for_status()
    assert exact[-1] < 1e-21 and "aggregated" in run.solver_stats
    np.testing.assert_allclose(run.eps_g, exact, rtol=1e-5)
    assert run.r.shape == (6, 64, 2, 2) and run.model is model


def test_only_linear_committees_with_one_readout_weight_move_together():
    spectrum = Spectrum.power_law(4, 1.0)
    assert aggregable(CommitteeModel(2, 3, spectrum, "linear"))
    assert not aggregable(CommitteeModel(1, 3, spectrum, "linear"))  # one student: nothing to aggregate
    assert not aggregable(CommitteeModel(2, 2, spectrum, "erf"))
    assert not aggregable(CommitteeModel(2, 2, spectrum, "linear", weight_decay=0.1))
