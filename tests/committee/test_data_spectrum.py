"""Empirical spectra, the beta fit and the spectrum command."""

import json

import numpy as np
import pytest

from theorykit.cli import main
from theorykit.committee.data_spectrum import empirical_spectrum, fit_power_law, load_example, trainable_floors
from theorykit.core.errors import CaseError


def test_fit_recovers_beta_of_synthetic_power_law_data(rng):
    """Gaussian data with covariance eigenvalues k^-(1+beta): the fit finds beta within the
    bootstrap spread (3 sigma) and within 0.05."""
    beta, d, n = 0.7, 60, 20000
    scale = np.arange(1, d + 1) ** (-(1 + beta) / 2)
    X = rng.standard_normal((n, d)) * scale
    spec = empirical_spectrum(X)
    fit = fit_power_law(spec.eigenvalues, 1, 30, X=X, bootstrap=20)
    assert abs(fit.beta - beta) < max(0.05, 3 * fit.beta_bootstrap_std)


def test_floors_follow_n_to_minus_beta_for_a_long_power_law():
    beta = 0.5
    evals = np.arange(1, 4001) ** (-(1 + beta))
    n = np.array([8, 32])
    floors = trainable_floors(evals, n, eta=1e-5)
    assert abs(-np.log(floors[1] / floors[0]) / np.log(4) - beta) < 0.05


def test_shipped_example_loads_offline():
    X = load_example("digits")
    assert X.shape == (1797, 64)
    spec = empirical_spectrum(X)
    assert spec.dropped >= 1  # constant border pixels
    assert 0.1 < fit_power_law(spec.eigenvalues).beta < 1.0


@pytest.mark.parametrize(
    "array,message",
    [
        (np.ones((1, 5)), "at least 2 samples"),
        (np.ones((5, 1)), "at least 2 samples"),
        (np.array([[1.0, np.nan], [2.0, 3.0]]), "NaN/inf"),
        (np.ones((4, 3)), "no positive eigenvalue"),
        (np.ones((2, 2, 2)), "2-d"),
    ],
)
def test_bad_matrices_are_rejected(array, message):
    with pytest.raises(CaseError, match=message):
        empirical_spectrum(array)


def test_non_positive_spectrum_is_rejected(tmp_path, capsys):
    path = tmp_path / "s.npy"
    np.save(path, np.array([1.0, 0.5, -0.1]))
    assert main(["spectrum", str(path), "-o", str(tmp_path / "o.json")]) == 2
    assert "must be > 0" in capsys.readouterr().err


def test_pickled_files_are_not_loaded(tmp_path, capsys):
    path = tmp_path / "p.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert main(["spectrum", str(path), "-o", str(tmp_path / "o.json")]) == 2
    assert "pickles" in capsys.readouterr().err


def test_spectrum_command_on_the_example(tmp_path):
    out = tmp_path / "o.json"
    assert main(["spectrum", "--example", "digits", "-o", str(out), "--bootstrap", "10"]) == 0
    data = json.loads(out.read_text())
    assert data["beta_bootstrap_std"] > 0 and len(data["eigenvalues"]) == 64 - data["dropped_zero_variance"]
    floors = data["trainable"]["eps_g_floor"]
    assert all(a > b for a, b in zip(floors, floors[1:]))
