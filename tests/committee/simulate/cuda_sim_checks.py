"""Checks of the CUDA kernel through numba's CUDA simulator, run as a subprocess by
test_cuda_steps.py (the simulator must be switched on before numba is imported).

Prints one JSON line of measured differences; the test asserts on them.
"""

import json
import os
import sys


def main() -> None:
    assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"

    import numpy as np

    from theorykit.committee.simulate.backends import NumbaSteps, resolve_backend
    from theorykit.committee.simulate.cuda_steps import CudaSteps

    rng = np.random.default_rng(0)
    S, K, M, N, steps = 2, 2, 3, 13, 3  # K != M, odd N (the last Philox pair is half used)
    J = 0.3 * rng.standard_normal((S, K, N))
    B = rng.standard_normal((S, M, N))
    scale = np.sqrt(np.linspace(0.5, 1.5, N))
    mask = np.ones(N)
    mask[-3:] = 0.0  # three untrained directions
    out = {}
    for activation in ("erf", "relu"):
        noise = 0.2
        coefficients = (2**-0.5, 3**-0.5, 0.3, np.sqrt(N), noise, 1.0 - 0.3 * 0.1 / N)  # decay kappa = 0.1
        cuda_steps = CudaSteps(J, B, scale, mask, activation, [7, S, 2], coefficients, threads=8)
        numba_steps = NumbaSteps(J, B, scale, mask, activation, [7, S, 2], coefficients)
        x = np.stack([cuda_steps.inputs(t) for t in range(steps)])
        label_noise = rng.standard_normal((steps, S))
        cuda_steps.advance_with(x, label_noise)
        b = (x.swapaxes(0, 1) @ numba_steps.B.swapaxes(1, 2)).swapaxes(0, 1) / np.sqrt(N)
        numba_steps.update_students(x, coefficients[1] * numba_steps.g(b).sum(-1) + noise * label_noise)
        out[f"{activation}_injected_vs_numba"] = float(np.abs(cuda_steps.student() - numba_steps.J).max())
        out[f"{activation}_moved"] = float(np.abs(numba_steps.J - J).max())
        # the kernel's own draws are the host's Philox stream: without noise, the drawn run equals
        # the injected one
        quiet = (*coefficients[:4], 0.0, coefficients[5])
        drawn = CudaSteps(J, B, scale, mask, activation, [7, S, 2], quiet, threads=8)
        drawn.advance(steps)
        injected = CudaSteps(J, B, scale, mask, activation, [7, S, 2], quiet, threads=8)
        injected.advance_with(np.stack([injected.inputs(t) for t in range(steps)]))
        out[f"{activation}_drawn_vs_injected"] = float(np.abs(drawn.student() - injected.student()).max())
    # a divergence is caught from the kernel's flags (no copy of the weights)
    from theorykit.core.errors import NumericalFailure

    blowing_up = CudaSteps(J, B, scale, mask, "linear", [7, S, 2], (1.0, 1.0, 1e150, np.sqrt(N), 0.0, 1.0), threads=8)
    try:
        blowing_up.advance(5)
        out["divergence_caught"] = False
    except NumericalFailure:
        out["divergence_caught"] = not np.isfinite(blowing_up.student()).all()

    # the whole simulate() path on the backend: tiny, but every piece (keys, launches, observables)
    from theorykit import CommitteeModel, Spectrum, simulate

    model = CommitteeModel(2, 3, Spectrum.power_law(4, 0.3, [0.1, 0.2, 0.3, 0.4]), weight_decay=0.1)
    run = simulate(model, 0.3, [0.0, 0.5], 16, seeds=2, backend="cuda", progress=False)
    out["simulate_eps_g"] = run.eps_g_overlaps.tolist()
    out["simulate_backend"] = run.backend
    out["resolved"] = resolve_backend("cuda", "erf")
    out["auto"] = resolve_backend("auto", "erf")  # the simulator is no GPU: auto never picks it
    json.dump(out, sys.stdout)


if __name__ == "__main__":  # run by test_cuda_steps.py; importing it (pytest collects every module) does nothing
    main()
