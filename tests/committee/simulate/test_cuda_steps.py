"""The CUDA backend: its Philox generator against published answers, and its kernel through
numba's CUDA simulator against the numba stepper (identical inputs) and the host's stream."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from theorykit.committee.simulate import philox


@pytest.mark.parametrize(
    "counter, key, expected",
    [  # Random123's known-answer vectors for philox4x32-10 (kat_vectors)
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        (
            (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
            (0xA4093822, 0x299F31D0),
            (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
        ),
    ],
)
def test_philox_known_answers(counter, key, expected):
    words = philox.philox4x32(*(np.uint64(c) for c in counter), *(np.uint64(k) for k in key))
    assert tuple(int(w) for w in words) == expected


def test_philox_normals_are_standard_normal():
    """2e5 draws: mean, variance and kurtosis within 5 standard errors; steps and keys differ."""
    z = np.concatenate([philox.normals((12345, 678), step, 20_000) for step in range(10)])
    n = z.size
    assert abs(z.mean()) < 5 / np.sqrt(n)
    assert abs(z.var() - 1) < 5 * np.sqrt(2 / n)
    assert abs((z**4).mean() - 3) < 5 * np.sqrt(96 / n)
    assert not np.array_equal(philox.normals((1, 2), 0, 8), philox.normals((1, 2), 1, 8))
    assert not np.array_equal(philox.normals((1, 2), 0, 8), philox.normals((1, 3), 0, 8))
    assert philox.stream_key([7, 2, 2], 0) != philox.stream_key([7, 2, 2], 1)


def test_the_kernel_in_the_cuda_simulator():
    """erf and relu, K = 2 on M = 3, odd N, decay, label noise, three untrained directions:
    on identical inputs the kernel moves the weights as the numba stepper does, to round-off
    (the two field sums are added in another order); drawing its own inputs it reproduces the
    host's Philox stream exactly (the simulator runs the host's libm)."""
    pytest.importorskip("numba.cuda")
    script = Path(__file__).with_name("cuda_sim_checks.py")
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    for activation in ("erf", "relu"):
        assert out[f"{activation}_moved"] > 1e-3  # the steps did something
        assert out[f"{activation}_injected_vs_numba"] < 1e-14
        assert out[f"{activation}_drawn_vs_injected"] == 0.0
    assert out["resolved"] == "cuda" and out["auto"] != "cuda"
    assert out["divergence_caught"]
    eps = np.array(out["simulate_eps_g"])
    assert out["simulate_backend"] == "cuda" and eps.shape == (2, 2) and np.all(np.isfinite(eps))
    assert np.all(eps[:, -1] != eps[:, 0])  # learning happened


def test_cuda_without_a_gpu_is_refused_in_one_line():
    pytest.importorskip("numba")
    from theorykit.committee.model import SecondLayer
    from theorykit.committee.simulate.backends import gpu_visible, resolve_backend
    from theorykit.committee.simulate.cuda_steps import CudaSteps
    from theorykit.core.errors import CaseError

    if gpu_visible():
        pytest.skip("a GPU is visible here")
    with pytest.raises(CaseError, match="^backend: 'cuda' needs numba's CUDA target and a visible GPU"):
        resolve_backend("cuda", "erf")
    assert resolve_backend("auto", "erf") != "cuda"
    with pytest.raises(CaseError, match="per-unit read-out"):
        CudaSteps(
            np.zeros((1, 2, 4)),
            np.zeros((1, 2, 4)),
            np.ones(4),
            np.ones(4),
            "erf",
            0,
            (1, 1, 1, 2, 0, 1),
            readout=SecondLayer([1, 1], [1, 1]),
        )
