"""Sweeps on the local pool and on Dask (one command).

    python benchmarks/sweeps.py [--json OUT.json]

A 16-point plateau grid (eta x L, O(eta) erf, K = M = 2), its generated code already cached,
the sweep cache emptied before each run: on 1 worker (in this process), on a local pool of 2
processes and on a Dask LocalCluster of 2 processes (each started by the run, so their start-up
counts); then the same sweep fully cached, as the overhead per cached point.  All in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

GRID = """
command = "plateau"
[grid]
eta = [0.01, 0.02, 0.05, 0.1]
"spectrum.L" = [2, 8, 32, 128]
[case]
eta = 0.05
small_lr = true
[case.model]
K = 2
M = 2
[case.spectrum]
kind = "power_law"
L = 4
beta = 1.0
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["THEORYKIT_CACHE_DIR"] = str(Path(tmp) / "cache")
        from theorykit.sweeps import read_sweep, run_sweep

        path = Path(tmp) / "grid.toml"
        path.write_text(GRID)
        sweep = read_sweep(path)
        points = len(sweep.points())
        run_sweep(sweep)  # generates and caches the code; the timed runs below start from it
        times, datasets = {}, {}
        for label, options in [
            ("1 worker", {}),
            ("local pool, 2 workers", {"workers": 2}),
            ("dask LocalCluster, 2 workers", {"workers": 2, "scheduler": "dask"}),
        ]:
            shutil.rmtree(Path(tmp) / "cache" / "sweeps", ignore_errors=True)
            start = time.perf_counter()
            datasets[label] = run_sweep(sweep, **options)
            times[label] = time.perf_counter() - start
        start = time.perf_counter()
        run_sweep(sweep)
        cached = (time.perf_counter() - start) / points
    same = all(d.equals(datasets["1 worker"]) for d in datasets.values())
    for label, seconds in times.items():
        print(f"{label:30s} {seconds:7.2f} s")
    pool, dask = times["local pool, 2 workers"], times["dask LocalCluster, 2 workers"]
    print(f"speed-up of 2 workers over 1     {times['1 worker'] / pool:5.2f}x")
    print(f"dask over the local pool         {dask / pool:5.2f}x the time")
    print(f"overhead per cached point        {1000 * cached:5.1f} ms")
    print(f"the three datasets are equal: {same}")
    if args.json:
        Path(args.json).write_text(json.dumps({**times, "cached_point_s": cached, "equal": same}, indent=1))


if __name__ == "__main__":
    main()
