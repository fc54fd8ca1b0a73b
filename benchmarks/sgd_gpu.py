"""SGD steps per second at Fig. 6 size on every available backend (one command).

    python benchmarks/sgd_gpu.py [--seeds 1 10 100 1000 10000] [--backends numba cuda ...] [--json OUT]

Fig. 6 size: K = M = 40, L = N = 512 (power law beta = 1), erf, eta = 0.05.  For each backend and
number of seeds S the steppers run ``steps`` SGD steps (enough for about a second of work after
one warm-up launch that compiles) and the table gives microseconds per step (all seeds) and
seed-steps per second.  Backends that cannot run here (no GPU, PyTorch or numba missing) are
listed as such, not skipped silently.  The issue's targets on an H200: <= 3 us per step for one
seed on ``cuda`` (>= 10x the numba CPU stepper), >= 5e7 seed-steps per second at >= 1000 seeds.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

K = M = 40
N = 512
ETA = 0.05


def stepper(backend: str, seeds: int):
    from theorykit.committee.model import CommitteeModel, Spectrum
    from theorykit.committee.simulate.backends import make_steps

    model = CommitteeModel(K, M, Spectrum.power_law(N, 1.0), "erf")
    rng = np.random.default_rng(0)
    J = 1e-3 * rng.standard_normal((seeds, K, N))
    B = rng.standard_normal((seeds, M, N))
    scale = np.sqrt(model.spectrum.lam)  # L = N: one direction per eigenvalue
    coefficients = (model.c_K, model.c_M, ETA, np.sqrt(N), 0.0, 1.0)
    return make_steps(backend, J, B, scale, np.ones(N), "erf", [0, seeds, 2], coefficients)


def available(backend: str) -> str | None:
    """None when ``backend`` runs here, else why not."""
    from theorykit.committee.simulate.backends import resolve_backend
    from theorykit.core.errors import CaseError

    try:
        resolve_backend(backend, "erf")
    except CaseError as exc:
        return str(exc)
    if backend == "torch":
        import torch

        if not torch.cuda.is_available():
            return "torch runs on the CPU here (no CUDA device)"
    return None


def measure(backend: str, seeds: int, budget: float = 1.0) -> dict:
    steps = stepper(backend, seeds)
    steps.advance(2)  # compiles / warms up
    n = 2
    while True:
        start = time.perf_counter()
        steps.advance(n)
        elapsed = time.perf_counter() - start
        if elapsed >= budget or n >= 2**20:
            break
        n = max(2 * n, int(n * budget / max(elapsed, 1e-6)))
    return {"steps": n, "us_per_step": 1e6 * elapsed / n, "seed_steps_per_s": seeds * n / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 10, 100, 1000, 10000])
    parser.add_argument("--backends", nargs="+", default=["numpy", "numba", "torch", "cuda"])
    parser.add_argument("--json")
    args = parser.parse_args()
    results = {}
    for backend in args.backends:
        reason = available(backend)
        if reason is not None:
            print(f"{backend:6s} not measured: {reason}")
            results[backend] = {"not_measured": reason}
            continue
        results[backend] = {}
        for seeds in args.seeds:
            row = measure(backend, seeds)
            results[backend][seeds] = row
            print(
                f"{backend:6s} {seeds:6d} seeds  {row['us_per_step']:12.1f} us/step  "
                f"{row['seed_steps_per_s']:12.3g} seed-steps/s  ({row['steps']} steps)",
                flush=True,
            )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
