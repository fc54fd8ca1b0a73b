"""Per-student read-out weights (issue 24's trained read-out, its derive -> lower seam).

The index system with ``-w[i]`` in place of ``c_K`` is derived and lowered by the same printers;
its kernels are checked against the standard module's (a relation that holds for any weights)
and the read-out drift against Monte Carlo.
"""

import numpy as np
import pytest

from theorykit.committee.derive.activations import get_activation
from theorykit.committee.derive.odes import derive_index_system
from theorykit.committee.lower.module import expression_fingerprint, module_source
from theorykit.core.code_cache import load_source

K, M = 3, 2


def _module(per_unit: bool, flavour: str):
    system = derive_index_system(False, per_unit_readout=per_unit)
    activation = get_activation("erf")
    fingerprint = expression_fingerprint(system, activation, flavour, True)
    module, _path, _hit = load_source(fingerprint, lambda: module_source(system, activation, flavour, True), {})
    return module


def _covariance(rng):
    A = rng.standard_normal((K + M, K + M + 2))
    return A @ A.T / (K + M + 2)


@pytest.mark.parametrize("flavour", ["numpy", "numba"])
def test_per_unit_kernels_are_the_standard_ones_scaled_by_each_students_weight(flavour, rng):
    """G_ix = v_i G^(c=1)_ix and W_ij = v_i v_j W^(c=1)_ij for unequal weights v = -w[:K] and
    K != M, with output noise; uniform weights give back the standard module's G and W."""
    if flavour == "numba":
        pytest.importorskip("numba")
    per, std = _module(True, flavour), _module(False, flavour)
    C = _covariance(rng)
    v = np.array([0.7, -0.4, 1.3])
    w = np.concatenate([-v, [0.9, 0.5]])
    n, s2 = K + M, 0.09
    np.testing.assert_allclose(per.G_fn(C, w, K, n, 1.0), v[:, None] * std.G_fn(C, w, K, n, 1.0), rtol=1e-12)
    np.testing.assert_allclose(
        per.W_fn(C, w, K, n, 1.0, s2), np.outer(v, v) * std.W_fn(C, w, K, n, 1.0, s2), rtol=1e-12
    )
    uniform = np.concatenate([np.full(K, -(K**-0.5)), np.full(M, M**-0.5)])
    np.testing.assert_allclose(per.G_fn(C, uniform, K, n, 0.0), std.G_fn(C, uniform, K, n, K**-0.5), rtol=1e-13)


def test_readout_drift_against_monte_carlo(rng):
    """<g(u_i) (zeta - sigma)> with u ~ N(0, C), erf(z / sqrt 2): the generated sum of the <g g>
    kernels against 400 000 samples (5 standard errors)."""
    from scipy.special import erf

    module = _module(True, "numpy")
    C = _covariance(rng)
    v = np.array([0.7, -0.4, 1.3])
    w = np.concatenate([-v, [0.9, 0.5]])
    drift = module.readout_fn(C, w, K, K + M)
    u = rng.multivariate_normal(np.zeros(K + M), C, size=400_000)
    g = erf(u / np.sqrt(2))
    samples = g[:, :K] * (g @ w)[:, None]
    mean, se = samples.mean(axis=0), samples.std(axis=0) / np.sqrt(len(samples))
    assert np.all(np.abs(drift - mean) < 5 * se), (drift, mean, se)
