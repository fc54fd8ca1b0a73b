"""The SGD backends: NumPy always, PyTorch (on the CPU here) when it is installed."""

import numpy as np
import pytest

from theorykit import CommitteeModel, Spectrum, random_overlaps, simulate, solve
from theorykit.committee.derive.activations import NumericActivation
from theorykit.committee.simulate.backends import BACKENDS, NumpySteps, resolve_backend, torch_cuda_available
from theorykit.core.errors import CaseError


def test_auto_backend_without_a_gpu_is_compiled_when_it_can_be():
    from theorykit.committee.simulate.backends import gpu_visible
    from theorykit.core.optional import numba_available

    gpu = gpu_visible()
    expected = "cuda" if gpu else "torch" if torch_cuda_available() else ("numba" if numba_available() else "numpy")
    assert resolve_backend("auto") == expected
    assert set(BACKENDS) == {"auto", "numpy", "numba", "torch", "cuda"}
    if not (gpu or torch_cuda_available()):  # a NumPy-only callable cannot be compiled: auto falls back
        assert resolve_backend("auto", NumericActivation("tanh", np.tanh)) == "numpy"
        with pytest.raises(CaseError, match="numba"):
            resolve_backend("numba", NumericActivation("tanh", np.tanh))


@pytest.mark.parametrize("activation, kappa", [("erf", 0.0), ("linear", 0.0), ("relu", 0.0), ("erf", 0.4)])
def test_numba_backend_reproduces_numpy_to_round_off(activation, kappa):
    """Same random inputs, same arithmetic in a compiled loop: agreement to 1e-13 (weight decay too)."""
    pytest.importorskip("numba")
    model = CommitteeModel(3, 2, Spectrum.power_law(3, 1.0), activation, weight_decay=kappa)
    runs = {
        b: simulate(model, 0.2, [0.0, 0.5, 2.0], 90, seeds=2, backend=b, progress=False) for b in ("numpy", "numba")
    }
    assert runs["numba"].backend == "numba"
    assert np.allclose(runs["numba"].r, runs["numpy"].r, rtol=0, atol=1e-13)
    assert np.allclose(runs["numba"].eps_g, runs["numpy"].eps_g, rtol=1e-12, atol=0)


def test_unknown_backend_is_a_clean_error():
    model = CommitteeModel(2, 2, Spectrum.power_law(2, 1.0))
    with pytest.raises(CaseError, match="backend"):
        simulate(model, 0.1, [0.0, 0.1], 50, seeds=1, backend="jax")


@pytest.mark.parametrize("kappa", [0.0, 0.7])
def test_one_numpy_step_is_the_sgd_update_written_out(rng, kappa):
    """A single step against the update rule typed in directly (one seed, erf, K = 3, M = 2),
    with and without weight decay J -> J (1 - eta kappa / N) (delta from the old J)."""
    K, M, N, eta = 3, 2, 40, 0.3
    J = rng.standard_normal((1, K, N))
    B = rng.standard_normal((1, M, N))
    scale = np.sqrt(rng.uniform(0.5, 2.0, N))
    mask = (np.arange(N) < 30).astype(float)
    shrink = 1.0 - eta * kappa / N
    steps = NumpySteps(J, B, scale, mask, "erf", [7], (K**-0.5, M**-0.5, eta, np.sqrt(N), 0.0, shrink))
    x = np.random.default_rng([7]).standard_normal((1, 1, N))[0, 0] * scale
    steps.advance(1)
    from scipy.special import erf

    a, b = J[0] @ x / np.sqrt(N), B[0] @ x / np.sqrt(N)
    err = M**-0.5 * erf(b / np.sqrt(2)).sum() - K**-0.5 * erf(a / np.sqrt(2)).sum()
    delta = K**-0.5 * np.sqrt(2 / np.pi) * np.exp(-(a**2) / 2) * err
    expected = J[0] - eta * kappa / N * J[0] + eta / np.sqrt(N) * np.outer(delta, x * mask)
    assert np.allclose(steps.student()[0], expected, rtol=0, atol=1e-14)


def test_numpy_backend_is_bit_reproducible():
    model = CommitteeModel(2, 2, Spectrum.power_law(3, 1.0))
    runs = [simulate(model, 0.2, [0.0, 0.5, 1.0], 120, seeds=[3, 4], backend="numpy") for _ in range(2)]
    assert np.array_equal(runs[0].r, runs[1].r) and np.array_equal(runs[0].eps_g, runs[1].eps_g)
    assert runs[0].backend == "numpy"


def test_divergence_is_reported_not_returned():
    from theorykit.core.errors import NumericalFailure

    model = CommitteeModel(1, 1, Spectrum.power_law(2, 1.0), "linear")
    with pytest.raises(NumericalFailure, match="diverged"):
        simulate(model, 50.0, [0.0, 40.0], 100, seeds=1, backend="numpy")


@pytest.fixture
def torch():
    """PyTorch is optional: these tests run where it is installed (CPU is enough)."""
    return pytest.importorskip("torch")


@pytest.mark.parametrize("activation", ["erf", "linear", "relu"])
def test_torch_activation_matches_numpy(torch, activation):
    from theorykit.committee.derive.activations import get_activation
    from theorykit.committee.simulate.backends import torch_activation

    x = np.linspace(-3, 3, 41)
    numeric = get_activation(activation).numeric()
    for f_torch, f_np in zip(torch_activation(activation), (numeric.derivative(0), numeric.derivative(1))):
        got = f_torch(torch.as_tensor(x)).numpy()
        assert got.dtype == np.float64
        assert np.allclose(got, f_np(x), rtol=1e-15, atol=1e-15)


def test_torch_and_numpy_steps_agree_for_the_same_inputs(torch, rng):
    """Both backends fed identical inputs (the torch stepper's draws replaced) give the same weights."""
    from theorykit.committee.simulate.backends import TorchSteps

    K, M, N = 3, 3, 64
    J, B = 0.1 * rng.standard_normal((2, K, N)), rng.standard_normal((2, M, N))
    args = (J, B, np.ones(N), np.ones(N), "erf", [1], (K**-0.5, M**-0.5, 0.2, np.sqrt(N), 0.0, 1.0))
    cpu, tch = NumpySteps(*args), TorchSteps(*args, device="cpu")
    inputs = rng.standard_normal((300, 2, N))
    cpu.inputs = lambda size, it=iter([inputs]): next(it)
    tch.inputs = lambda size, it=iter([inputs]): torch.as_tensor(next(it))
    cpu.advance(300, chunk=300)
    tch.advance(300, chunk=300)
    assert np.allclose(tch.student(), cpu.student(), rtol=0, atol=1e-12)


def test_torch_backend_agrees_with_the_ode_in_distribution(torch):
    """Torch SGD (CPU) against the ODE: same tolerance as the NumPy check (4 s.e. + 1.5 % finite-N bias)."""
    model = CommitteeModel(2, 2, Spectrum.power_law(4, 1.0), "erf")
    init = random_overlaps(model, 1000, 0.2, 0)
    alpha = np.linspace(0, 20, 5)
    sim = simulate(model, 0.5, alpha, 1000, seeds=4, init=init, n_test=200, backend="torch")
    assert sim.backend == "torch"
    sol = solve(model, 0.5, init, alpha).raise_for_status()
    mean, sem = sim.mean("eps_g_overlaps"), sim.spread("eps_g_overlaps") / 2
    assert np.all(np.abs(mean - sol.eps_g) <= 4 * sem + 0.015 * sol.eps_g), np.c_[mean, sol.eps_g, sem]
    again = simulate(model, 0.5, alpha, 1000, seeds=4, init=init, n_test=200, backend="torch")
    assert np.array_equal(again.r, sim.r)
