"""Fig. 6 size (K = M = 40, L = N = 512): the structured integrator against direct SGD (one command).

    python benchmarks/late_phase.py [--alpha-max 2000] [--beta 1.0] [--rtol 1e-4 1e-5]
                                    [--reference-rtol 1e-7] [--json OUT.json]

Reports, in one run: the time of one right-hand side (fused numba) and of one exact propagation
of all modes; the exponential integrator's steps, propagations and wall time from the paper's
initial condition (sigma_J = 1e-6, overlaps drawn at N = 512) to ``--alpha-max`` at each
``--rtol``, with the accuracy of each against a run at ``--reference-rtol``; and the
time per SGD step of one seed at N = 512 on this CPU, measured over a stretch and extrapolated
to the same alpha.  ``--alpha-max 1e5`` is the paper's range (long: see docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from run import best_time  # noqa: E402  (benchmarks/ is the working directory's script folder)
from threadpoolctl import threadpool_limits

import theorykit as tk
from theorykit.committee.simulate.backends import make_steps, numba_activation
from theorykit.committee.solve._mode_frame import TeacherFrame
from theorykit.committee.solve.eigenmode import EigenmodeSystem
from theorykit.committee.solve.exponential import ExponentialConfig, ModePropagator, integrate_exponential
from theorykit.committee.solve.initial import random_overlaps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alpha-max", type=float, default=2000.0)
    parser.add_argument("--beta", type=float, default=1.0)
    parser.add_argument("--rtol", type=float, nargs="+", default=[1e-4, 1e-5], help="tolerances to time")
    parser.add_argument(
        "--reference-rtol", type=float, default=1e-7, help="tight run the accuracy is measured against (0: none)"
    )
    parser.add_argument("--json")
    args = parser.parse_args()
    K, L, N, eta = 40, 512, 512, 0.01
    model = tk.CommitteeModel(K, K, tk.Spectrum.power_law(L, args.beta))
    init = random_overlaps(model, N, 1e-6, 0)
    system = EigenmodeSystem(model, tk.compile_model(model), eta, init.t)
    y0 = system.pack(init.r, init.q)
    system.rhs(0.0, y0)
    prop = ModePropagator(system, TeacherFrame.for_overlaps(init.r, init.t))  # as the integrator does
    C = prop.aggregate(init.r, init.q)
    G, W = prop.coefficients(C), prop.noise(C)
    state = prop.state_of(init.r, init.q)
    overlaps = (np.empty_like(init.r), np.empty_like(init.q))
    prop.propagate(state, G, W, 1.0)
    report = {
        "size": {"K": K, "M": K, "L": L, "unknowns": int(system.size)},
        "rhs_seconds": best_time(lambda: system.rhs(0.0, y0), repeat=3),
    }
    with threadpool_limits(limits=1, user_api="blas"):  # as inside the integrator
        result = (np.empty_like(state.x), np.empty_like(state.y))
        report["propagation_seconds"] = best_time(lambda: prop.propagate(state, G, W, 1.0, out=result), repeat=3)
        moved = prop.propagate(state, G, W, 1.0).state()
        report["to_overlaps_seconds"] = best_time(lambda: prop.overlaps(moved, overlaps), repeat=3)
        report["teacher_frame_rank"] = prop.frame.rho
        report["W_seconds"] = best_time(lambda: prop.noise(C), repeat=3)
    alpha = np.concatenate([[0.0], np.geomspace(1e-2, args.alpha_max, 60)])
    runs = {}
    for rtol in sorted({*args.rtol, *([args.reference_rtol] if args.reference_rtol else [])}, reverse=True):
        t0 = time.perf_counter()
        ys, status, message, stats, *_ = integrate_exponential(system, y0, alpha, ExponentialConfig(rtol=rtol))
        wall = time.perf_counter() - t0
        runs[rtol] = {
            "alpha_max": args.alpha_max,
            "rtol": rtol,
            "status": status,
            "wall_seconds": wall,
            "steps": stats.steps,
            "rejected": stats.rejected,
            "full_propagations": stats.propagations,
            "series_trials": stats.series_evaluations,
            "fast_mode_steps": stats.fast_mode_steps,
            "series_mismatch": stats.series_mismatch,
            "G_evaluations": stats.g_evaluations,
            "W_evaluations": stats.w_evaluations,
            "eps_g": [float(system.eps_g(ys[:, i])) for i in range(ys.shape[1])],
        }
        print(f"rtol {rtol:g}: {wall:.1f} s, {stats.steps} steps", flush=True)
    if args.reference_rtol:
        # accuracy at full size: against the same integrator at a much tighter tolerance
        ref = np.asarray(runs[args.reference_rtol]["eps_g"])
        late = alpha >= 1e4
        for run in runs.values():
            rel = np.abs(np.asarray(run["eps_g"]) / ref - 1)
            run["vs_reference"] = {
                "reference_rtol": args.reference_rtol,
                "max_relative_error": float(rel.max()),
                "alpha_of_max": float(alpha[rel.argmax()]),
                "max_relative_error_alpha_ge_1e4": float(rel[late].max()) if late.any() else None,
                "relative_error_at_alpha_max": float(rel[-1]),
            }
    report["exponential"] = [{k: v for k, v in run.items() if k != "eps_g"} for run in runs.values()]
    # the SGD steps alone (the steppers simulate() drives), after a warm-up stretch; the ratio
    # is taken against the fastest CPU stepper available
    rng = np.random.default_rng(0)
    arrays = (
        1e-6 * rng.standard_normal((1, K, N)),
        rng.standard_normal((1, K, N)),
        np.repeat(np.sqrt(model.spectrum.lam), N // L),
        np.ones(N),
        "erf",
        [0],
        (K**-0.5, K**-0.5, eta, np.sqrt(N), 0.0),
    )
    per_step = {}
    for name in ("numpy", "numba"):
        if name == "numba" and numba_activation("erf") is None:
            continue
        stepper = make_steps(name, *arrays)
        stepper.advance(2_000)
        steps = 20_000
        t0 = time.perf_counter()
        stepper.advance(steps)
        per_step[name] = (time.perf_counter() - t0) / steps
    fastest = min(per_step, key=per_step.get)
    report["sgd_one_seed"] = {
        "seconds_per_step": per_step,
        "fastest": fastest,
        "extrapolated_seconds_to_alpha_max": per_step[fastest] * args.alpha_max * N,
    }
    sgd = report["sgd_one_seed"]["extrapolated_seconds_to_alpha_max"]
    report["speedup_vs_sgd"] = {f"rtol {run['rtol']:g}": sgd / run["wall_seconds"] for run in report["exponential"]}
    print(json.dumps(report, indent=1))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=1)


if __name__ == "__main__":
    main()
