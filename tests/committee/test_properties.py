"""Property-based tests (hypothesis, bounded examples): invariants of the solved ODEs."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import theorykit as tk
from theorykit.committee.solve.eigenmode import EigenmodeSystem

SETTINGS = settings()  # the loaded profile (tests/conftest.py): "ci" by default, "long" on request


@st.composite
def committee_cases(draw):
    K = draw(st.integers(1, 3))
    M = draw(st.integers(1, 3))
    L = draw(st.integers(1, 4))
    beta = draw(st.floats(0.1, 2.0))
    activation = draw(st.sampled_from(["erf", "linear"]))
    normalization = draw(st.sampled_from(["sqrt", "sum"]))
    small_lr = draw(st.booleans())
    seed = draw(st.integers(0, 10**6))
    model = tk.CommitteeModel(K, M, tk.Spectrum.power_law(L, beta), activation, normalization, 0.0, small_lr)
    return model, tk.random_overlaps(model, 60 * L, draw(st.floats(0.05, 1.0)), seed)


@SETTINGS
@given(committee_cases(), st.floats(0.05, 0.5))
def test_eps_nonnegative_and_covariance_psd_along_trajectory(case, eta):
    model, init = case
    sol = tk.solve(model, eta, init, [0.0, 0.5, 2.0])
    assert sol.success, sol.message  # the solver's own PSD/NaN checks ran on every point
    assert np.all(sol.eps_g >= 0)


@SETTINGS
@given(committee_cases(), st.data())
def test_permuting_hidden_units_permutes_the_right_hand_side(case, data):
    model, init = case
    perm = np.array(data.draw(st.permutations(range(model.K))))
    system = EigenmodeSystem(model, tk.compile_model(model, "numpy"), 0.3, init.t)
    dr, dq = system.unpack(system.rhs(0, system.pack(init.r, init.q)))
    pr, pq = system.unpack(system.rhs(0, system.pack(init.r[:, perm], init.q[:, perm][:, :, perm])))
    assert np.allclose(pr, dr[:, perm], rtol=1e-12, atol=1e-14)
    assert np.allclose(pq, dq[:, perm][:, :, perm], rtol=1e-12, atol=1e-14)


@SETTINGS
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.floats(0.05, 0.6), st.integers(0, 10**6))
def test_linear_network_error_is_independent_of_K_and_M(K, M, L, eta, seed):
    """A linear committee is a linear map: with sum normalisation and the student/teacher
    sums as single vectors, eps_g(alpha) depends only on the summed overlaps."""
    reference = tk.CommitteeModel(1, 1, tk.Spectrum.power_law(L, 1.0), "linear", "sum")
    model = tk.CommitteeModel(K, M, tk.Spectrum.power_law(L, 1.0), "linear", "sum")
    init = tk.random_overlaps(model, 50 * L, 0.4, seed)
    # sum-vectors: S = sum_i J_i, T = sum_n B_n -> overlaps of one effective unit each
    r1 = init.r.sum(axis=(1, 2))[:, None, None]
    q1 = init.q.sum(axis=(1, 2))[:, None, None]
    t1 = init.t.sum(axis=(1, 2))[:, None, None]
    alpha = [0.0, 1.0, 3.0]
    big = tk.solve(model, eta, init, alpha, tk.SolverConfig(rtol=1e-10, atol=1e-12))
    # each of the K students receives the same gradient, so the sum moves K times as fast
    small = tk.solve(reference, eta * K, tk.Overlaps(r1, q1, t1), alpha, tk.SolverConfig(rtol=1e-10, atol=1e-12))
    assert np.allclose(big.eps_g, small.eps_g, rtol=1e-7, atol=1e-12)


@SETTINGS
@given(committee_cases(), st.sampled_from(["numpy", "numba"]), st.integers(0, 2**32))
def test_sgd_is_identical_for_identical_seeds(case, backend, seed):
    model, _ = case
    runs = [
        tk.simulate(model, 0.3, [0.0, 0.2], 40 * model.spectrum.L, seeds=[seed], n_test=50, backend=backend)
        for _ in range(2)
    ]
    assert np.array_equal(runs[0].r, runs[1].r) and np.array_equal(runs[0].eps_g, runs[1].eps_g)
