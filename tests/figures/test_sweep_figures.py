"""The two sweep figures: their grids as sweeps, their numbers checked against direct calls."""

import numpy as np
import pytest


def test_window_slopes_of_an_exact_power_law():
    """eps = 3 alpha^-0.4 outside a window that holds alpha^-0.7: the fit and every quartile are
    0.7 (to the finite-difference error at the window's edges, which the quartiles skip)."""
    from theorykit.committee.figures.sweep_figures import window_slopes

    alpha = np.concatenate([[0.0], np.geomspace(0.1, 1e4, 151)])
    eps = np.ones_like(alpha)  # alpha = 0 is skipped: no slope on a log axis there
    eps[1:] = np.where(alpha[1:] < 10, 3 * alpha[1:] ** -0.4, 3 * 10**0.3 * alpha[1:] ** -0.7)
    got = window_slopes(alpha, eps, (20.0, 5e3))
    assert got["fit"] == pytest.approx(0.7, abs=1e-12)
    assert got["q25"] == pytest.approx(0.7, abs=1e-12) and got["q75"] == pytest.approx(0.7, abs=1e-12)
    eps[-10:] = np.nan  # unresolved tail values are skipped, not fitted
    assert window_slopes(alpha, eps, (20.0, 1e4))["fit"] == pytest.approx(0.7, abs=1e-12)
    assert window_slopes(alpha, eps, (11.0, 11.5))["fit"] is None  # no three output times inside


@pytest.mark.slow
def test_plateau_length_map_is_oriented_as_labelled(tmp_path):
    """Each cell of the (K, L) map against find_plateau called directly for that K and L (a
    transposed or shuffled grid would fail: the values differ by up to 60x over the grid)."""
    from theorykit import CommitteeModel, Spectrum
    from theorykit.committee.plateau import find_plateau
    from theorykit.figures import FIGURES

    data = FIGURES["sweep_plateau_length"]()
    eta, beta = data.settings["case"]["eta"], data.settings["case"]["spectrum"]["beta"]
    for i, K in enumerate(data.numbers["K"]):
        for j, L in enumerate(data.numbers["L"]):
            model = CommitteeModel(int(K), int(K), Spectrum.power_law(int(L), beta), small_lr=True)
            direct = find_plateau(model, eta, closed_form=False).escape_rate
            assert data.numbers["escape_time"][i, j] == pytest.approx(1 / direct, rel=1e-9), (K, L)
    assert data.draw().axes  # the map, the law and the colour bar


@pytest.mark.slow
def test_late_exponent_sweep_measures_the_full_ode_in_the_derived_window():
    """The derived exponent is beta/(1+beta) exactly; the full ODE's fitted slope over the derived
    window is within 0.1 of it for beta >= 1 (measured: 0.42, 0.55, 0.65 against 0.5, 0.6, 0.67
    at the quick size -- the finite-N teacher's bumps and the approach to the plateau bend it)."""
    from theorykit.figures import FIGURES

    data = FIGURES["sweep_late_exponent"]()
    for beta, exponent, slope in zip(data.numbers["beta"], data.numbers["exponent"], data.numbers["ode_slope"]):
        assert exponent == pytest.approx(beta / (1 + beta), rel=1e-12)
        if beta >= 1:
            assert slope["points"] >= 30 and abs(slope["fit"] - exponent) < 0.1, (beta, slope)
