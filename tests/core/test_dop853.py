"""theorykit.core.dop853 against SciPy's DOP853: the same steps, so the same numbers, bit for bit.

The oracle is ``scipy.integrate.solve_ivp(..., method="DOP853", t_eval=...)``, an independent
implementation of the same algorithm; equality is exact (array_equal), not a tolerance: the port
performs the same floating-point operations in the same order, and any deviation would mean a
different step sequence.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from theorykit.core.dop853 import dop853

LAM = np.array([1.0, 10.0, 0.3])


def forced_decay(t, y):
    return -LAM * y + np.sin(t)


def duffing(t, y):
    return np.array([y[1], -y[0] - 0.1 * y[1] ** 3])


def blow_up(t, y):
    return y**2  # y = 1 / (1 - t): the step size collapses before t = 1


CASES = [
    (forced_decay, (0.0, 10.0), np.ones(3), [0, 0.5, 3, 7.5, 10], {"rtol": 1e-8, "atol": 1e-10}),
    # outputs not starting at t0, a decimal rtol, a finite max_step
    (
        duffing,
        (0.3, 50.0),
        np.array([1.0, 0.0]),
        np.linspace(2.5, 50, 40),
        {"rtol": 3e-7, "atol": 1e-9, "max_step": 0.7},
    ),
    # loose tolerance: rejected steps and large step-size changes
    (duffing, (0.0, 30.0), np.array([2.0, -1.0]), [7.0, 30.0], {"rtol": 1e-3, "atol": 1e-6}),
    # rtol below 100 eps is raised to it, as SciPy does (SciPy warns)
    (forced_decay, (0.0, 1.0), np.ones(3), [1.0], {"rtol": 1e-16, "atol": 1e-14}),
    (blow_up, (0.0, 2.0), np.array([1.0]), [0.2, 0.5, 0.9, 1.5], {"rtol": 1e-6, "atol": 1e-9}),
]


@pytest.mark.filterwarnings("ignore:At least one element of `rtol` is too small")
@pytest.mark.parametrize("fun, span, y0, t_eval, options", CASES)
def test_the_same_run_as_scipy_bit_for_bit(fun, span, y0, t_eval, options):
    reference = solve_ivp(fun, span, y0, method="DOP853", t_eval=t_eval, **options)
    run = dop853(fun, span, y0, np.asarray(t_eval, dtype=float), **options)
    assert run.success == reference.success
    assert run.message == reference.message
    assert run.nfev == reference.nfev
    assert np.array_equal(run.t, reference.t)
    assert np.array_equal(run.y, reference.y)


def test_a_failed_run_keeps_the_outputs_it_reached():
    run = dop853(blow_up, (0.0, 2.0), np.array([1.0]), np.array([0.2, 0.5, 0.9, 1.5]), rtol=1e-6, atol=1e-9)
    assert not run.success and list(run.t) == [0.2, 0.5, 0.9]
    assert np.allclose(run.y[0], 1 / (1 - run.t), rtol=1e-5)  # the exact solution, outside the code


@pytest.mark.parametrize(
    "span, t_eval, y0, max_step",
    [
        ((1.0, 0.0), [0.5], [1.0], np.inf),
        ((0.0, 1.0), [0.5, 0.2], [1.0], np.inf),
        ((0.0, 1.0), [1.5], [1.0], np.inf),
        ((0.0, 1.0), [0.5], [np.nan], np.inf),
        ((0.0, 1.0), [0.5], [1.0], 0.0),
    ],
)
def test_bad_arguments_are_refused(span, t_eval, y0, max_step):
    with pytest.raises(ValueError):
        dop853(forced_decay, span, np.asarray(y0), np.asarray(t_eval), max_step=max_step)
