"""Benchmarks of the committee-machine core, reported in one run (one command).

    python benchmarks/run.py [--json OUT.json]

Reports: right-hand-side time at K = M = 3 and 6 (isotropic, L = 1) and K = M = 40 with L = 512;
cold start (derive + lower + build + first call, empty cache, fresh process) at K = M = 6 and 40
and warm start (cached); the time to integrate K = M = 3, eta = 0.5, isotropic, to alpha = 2000 at
rtol 1e-8; and, as the baseline, a hand-written NumPy right-hand side in the style of the field's
public codes (Saad--Solla integrals as published, loops over units; shared with the tests in
:mod:`theorykit.committee.saad_solla`) at K = M = 3 and 6.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import theorykit as tk
from theorykit.committee.saad_solla import isotropic_rhs
from theorykit.committee.solve.eigenmode import EigenmodeSystem
from theorykit.core.optional import numba_available


def best_time(fn, repeat=5, number=None) -> float:
    if number is None:
        t0 = time.perf_counter()
        fn()
        once = time.perf_counter() - t0
        number = max(1, int(0.2 / max(once, 1e-7)))
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def rhs_time(K, L, flavour="auto"):
    spectrum = tk.Spectrum.explicit([1.0]) if L == 1 else tk.Spectrum.power_law(L, 1.0)
    model = tk.CommitteeModel(K, K, spectrum, "erf")
    init = tk.random_overlaps(model, max(4 * L, 2 * K * L, 1000), 0.1, 0)
    compiled = tk.compile_model(model, flavour)
    system = EigenmodeSystem(model, compiled, 0.5, init.t)
    y = system.pack(init.r, init.q)
    system.rhs(0, y)
    return best_time(lambda: system.rhs(0, y)), compiled.flavour, system.size


def baseline_rhs_time(K):
    """Saad & Solla's isotropic RHS as published, loops over units in NumPy: the 'public code' style."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((2 * K, 2 * K + 3))
    C = A @ A.T / (2 * K + 3)
    Q, R, T = C[:K, :K], C[:K, K:], C[K:, K:]
    return best_time(lambda: isotropic_rhs(Q, R, T, 0.5, backend="numpy"), repeat=3)


def start_time(K, L, cache_dir):
    code = (
        "import time; t0 = time.perf_counter();"
        "import theorykit as tk; from theorykit.committee.solve.eigenmode import EigenmodeSystem;"
        f"m = tk.CommitteeModel({K}, {K}, tk.Spectrum.power_law({L}, 1.0) if {L} > 1 else tk.Spectrum.explicit([1.0]), 'erf');"
        f"init = tk.random_overlaps(m, {max(2 * K * L, 1000)}, 0.1, 0);"
        "t1 = time.perf_counter(); c = tk.compile_model(m); s = EigenmodeSystem(m, c, 0.5, init.t);"
        "s.rhs(0, s.pack(init.r, init.q)); print(time.perf_counter() - t1, c.flavour)"
    )
    env = {**os.environ, "THEORYKIT_CACHE_DIR": cache_dir}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]), out[1]


def integrate_time():
    model = tk.CommitteeModel(3, 3, tk.Spectrum.explicit([1.0]), "erf")
    init = tk.random_overlaps(model, 1000, 0.01, 1)
    cfg = tk.SolverConfig("DOP853", rtol=1e-8, atol=1e-10)
    tk.solve(model, 0.5, init, [0.0, 1.0], cfg)  # compile outside the timing
    t0 = time.perf_counter()
    sol = tk.solve(model, 0.5, init, tk.log_alpha(2000, 50), cfg).raise_for_status()
    return time.perf_counter() - t0, sol.nfev, sol.eps_g[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the numbers here")
    parser.add_argument("--skip-large", action="store_true", help="skip K = M = 40, L = 512")
    args = parser.parse_args()
    results = {}
    print(f"theorykit {tk.__version__} benchmarks (numba: {numba_available()})")
    for K, L in ((3, 1), (6, 1)) + (() if args.skip_large else ((40, 512),)):
        t, flavour, size = rhs_time(K, L)
        results[f"rhs_K{K}_L{L}_s"] = t
        print(f"  RHS K = M = {K:2d}, L = {L:3d} ({size} unknowns, {flavour}): {t * 1e6:10.1f} us")
    for K in (3, 6):
        t = baseline_rhs_time(K)
        results[f"baseline_rhs_K{K}_s"] = t
        print(
            f"  baseline hand-written Saad-Solla RHS K = M = {K}: {t * 1e6:10.1f} us  (ratio {t / results[f'rhs_K{K}_L1_s']:.1f}x)"
        )
    for K, L in ((6, 1),) + (() if args.skip_large else ((40, 512),)):
        with tempfile.TemporaryDirectory() as cache:
            cold, flavour = start_time(K, L, cache)
            warm, _ = start_time(K, L, cache)
        results[f"cold_start_K{K}_s"], results[f"warm_start_K{K}_s"] = cold, warm
        print(f"  start K = M = {K}, L = {L} ({flavour}): cold {cold:6.2f} s, warm (cached) {warm:6.2f} s")
    t, nfev, eps = integrate_time()
    results["integrate_K3_alpha2000_s"] = t
    print(
        f"  integrate K = M = 3, eta = 0.5, isotropic, to alpha = 2000 (DOP853, rtol 1e-8): {t:.3f} s, {nfev} RHS, eps_g = {eps:.3g}"
    )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=1)


if __name__ == "__main__":
    main()
