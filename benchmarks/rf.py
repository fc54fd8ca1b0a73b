"""Random-feature DMFT benchmark: cost against time points and N, speed-up over simulation.

Run:  python benchmarks/rf.py [--json OUT]

* Laplace route (Talbot, double precision): wall time for n time points at N features.
* Volterra route: wall time against the number of grid points (O(N n^2)).
* Equal accuracy: the DMFT error against the exact finite model is its O(1/P) finite-size
  correction (measured ~0.4/P relative); the simulation needs enough data sets for its
  standard error to reach the same level.  We measure the seconds per data set and the
  standard error per data set, extrapolate the number of draws for a standard error of
  0.4/P, and quote time(simulation) / time(DMFT) for one learning curve.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from run import best_time  # benchmarks/ is on sys.path when this runs as a script

from theorykit.rf import RandomFeatureModel, simulate_rf, solve_rf


def wall(fn, repeat: int = 3) -> float:
    """Best of ``repeat`` single calls (these runs take seconds, so one call per repeat)."""
    return best_time(fn, repeat=repeat, number=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args()
    solve_rf(RandomFeatureModel(N=10, P=5), [1.0])  # generate / load the lowered module once
    out: dict = {"laplace": [], "volterra": [], "speedup": []}
    print("Laplace route (Talbot, 20 nodes, double precision)")
    for N, n in ((1000, 10), (1000, 100), (1000, 1000), (10000, 10), (10000, 100), (100000, 10), (100000, 100)):
        model = RandomFeatureModel(N=N, P=N // 2, a=0.5)
        times = np.geomspace(1e-2, 1e4, n)
        seconds = wall(lambda m=model, t=times: solve_rf(m, t), repeat=1 if N * n > 1e6 else 3)
        out["laplace"].append({"N": N, "points": n, "seconds": seconds})
        print(f"  N={N:6d}  points={n:5d}  {seconds:8.3f} s")
    print("Volterra route (uniform grid, Richardson: coarse + fine grid)")
    model = RandomFeatureModel(N=1000, P=500, a=0.5)
    for t_max in (0.5, 1.0, 2.0):
        curve = solve_rf(model, [t_max], method="volterra", max_points=100_000)
        seconds = wall(lambda tm=t_max: solve_rf(model, [tm], method="volterra", max_points=100_000), repeat=1)
        out["volterra"].append({"N": 1000, "grid_points": curve.info["points"], "seconds": seconds})
        print(f"  N=1000  grid points={curve.info['points']:6d}  {seconds:8.3f} s")
    print("DMFT against simulation at equal accuracy (40 time points)")
    for N, P in ((400, 200), (2000, 1000)):
        model = RandomFeatureModel(N=N, P=P, a=0.5, noise=0.3)
        times = np.geomspace(1e-2, 1e4, 40)
        t_dmft = wall(lambda m=model, t=times: solve_rf(m, t))
        draws = 10
        start = time.perf_counter()
        sim = simulate_rf(model, times, draws=draws, seed=0)
        per_draw = (time.perf_counter() - start) / draws
        rel_sd = float(np.max(sim.eps_g_se * np.sqrt(draws) / sim.eps_g))  # relative spread of one data set
        target = 0.4 / P
        needed = int(np.ceil((rel_sd / target) ** 2))
        ratio = needed * per_draw / t_dmft
        out["speedup"].append(
            {"N": N, "P": P, "dmft_s": t_dmft, "sim_s_per_draw": per_draw, "draws_needed": needed, "speedup": ratio}
        )
        print(
            f"  N={N} P={P}: DMFT {t_dmft:.3f} s; simulation {per_draw:.3f} s/draw x {needed} draws "
            f"(relative SE {target:.1e}) = {needed * per_draw:.1f} s  ->  {ratio:.0f}x"
        )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(out, handle, indent=1)


if __name__ == "__main__":
    main()
