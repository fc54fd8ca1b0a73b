"""Accuracy of the structured exponential integrator through the tail (one command).

    python benchmarks/exponential_accuracy.py [--K 1 2 8] [--activations linear erf] [--rtol 1e-6 1e-8] [--L 64] [--atol 1e-30] [--json OUT]

For the linear and the erf activation, K = M in ``--K``, L = N (power law beta = 1), eta = 0.1,
a random start with sigma_J = 1e-3 (seed 0): the relative error of eps_g at alpha = 1 .. 1e5
against a reference computed outside the integrator -- the exact linear solution
(:func:`theorykit.committee.linear_network.linear_learning_curve`, matrix exponential of the linear error
equations) for the linear activation, for erf LSODA at rtol 1e-11 (small systems) or DOP853 at
rtol 1e-11 (larger ones, K = 8), each checked against DOP853 at rtol 1e-13: their difference, the
reference's own uncertainty, is reported ("ref. unc."), and an error below it is not measured.
``--atol`` defaults to 1e-30, so that the control stays relative through the tail (the deviation
coordinates hold eps_g down to atol).  Also reports eps_g itself, its resolution (points below it
are NaN, "unresolved"), the steps and the rejections, and whether the target of the late-phase
issue is met: within 10 x rtol wherever eps_g is above 1e-20 of its start (and the reference
resolves it).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import theorykit as tk
from theorykit.committee.linear_network import linear_learning_curve
from theorykit.committee.solve.initial import random_overlaps
from theorykit.committee.solve.integrate import AUTO_DENSE_LIMIT, SolverConfig, solve

ALPHA = np.array([1.0, 10.0, 100.0, 1e3, 1e4, 1e5])


def reference(model, init, eta):
    """The reference eps_g, its name and its own uncertainty (relative, per alpha)."""
    if model.activation_name == "linear":
        return linear_learning_curve(model, eta, init, ALPHA).eps_g, "exact linear solution", np.zeros(ALPHA.size)
    method = "LSODA" if model.n_unknowns <= AUTO_DENSE_LIMIT else "DOP853"
    config = SolverConfig(method, 1e-11, 1e-15, max_rhs=10**9)
    ref = solve(model, eta, init, ALPHA, config).raise_for_status().eps_g
    tighter = solve(model, eta, init, ALPHA, SolverConfig("DOP853", 1e-13, 1e-16, max_rhs=10**9)).eps_g
    return ref, f"{method} rtol 1e-11", np.abs(tighter / ref - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--K", type=int, nargs="+", default=[1, 2, 8])
    parser.add_argument("--activations", nargs="+", default=["linear", "erf"], choices=["linear", "erf"])
    parser.add_argument("--rtol", type=float, nargs="+", default=[1e-6, 1e-8])
    parser.add_argument("--L", type=int, default=64)
    parser.add_argument("--eta", type=float, default=0.1)
    parser.add_argument(
        "--atol", type=float, default=1e-30, help="absolute tolerance (tiny: relative accuracy through the tail)"
    )
    parser.add_argument("--json")
    args = parser.parse_args()
    rows = []
    print(f"relative error of eps_g at alpha = {', '.join(f'{a:g}' for a in ALPHA)}")
    for activation in args.activations:
        for K in args.K:
            model = tk.CommitteeModel(K, K, tk.Spectrum.power_law(args.L, 1.0), activation=activation)
            init = random_overlaps(model, args.L, 1e-3, 0)
            ref, ref_name, uncertainty = reference(model, init, args.eta)
            for rtol in args.rtol:
                t0 = time.perf_counter()
                run = solve(model, args.eta, init, ALPHA, SolverConfig("exponential", rtol, args.atol))
                wall = time.perf_counter() - t0
                error = np.abs(run.eps_g / ref - 1)
                # the target: within 10 rtol wherever eps_g is above 1e-20 of its start and measurable
                judged = (ref > 1e-20 * ref[0]) & np.isfinite(ref) & (uncertainty < 10 * rtol)
                met = bool(np.all(error[judged] <= 10 * rtol))
                row = {
                    "activation": activation,
                    "K": K,
                    "L": args.L,
                    "rtol": rtol,
                    "reference": ref_name,
                    "alpha": ALPHA,
                    "relative_error": error,
                    "eps_g_reference": ref,
                    "reference_uncertainty": uncertainty,
                    "target_met": met,
                    "eps_resolution": run.eps_resolution,
                    "steps": run.solver_stats["steps"],
                    "rejected": run.solver_stats["rejected"],
                    "wall_seconds": wall,
                    "status": run.status,
                }
                rows.append(row)
                errors = " ".join("unresolved" if np.isnan(e) else f"{e:.1e}" for e in error)
                print(
                    f"{activation:6s} K={K} rtol={rtol:g}: {errors}  (eps_g {ref[0]:.1e} .. {ref[-1]:.1e}; "
                    f"{row['steps']} steps, {row['rejected']} rejected, {wall:.1f} s; vs {ref_name}, ref. unc. "
                    f"{np.nanmax(uncertainty):.0e}); within 10 rtol: {'yes' if met else 'NO'}",
                    flush=True,
                )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1, default=lambda a: [None if np.isnan(x) else float(x) for x in a])


if __name__ == "__main__":
    main()
