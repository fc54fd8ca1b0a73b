"""Start-up and whole-process speed of the CLI against a plain-Python reference (one command).

    python benchmarks/startup.py [--repeat 3] [--json OUT.json]

Whole processes, best of ``--repeat``, all measured in this run:

* ``theorykit --version`` and ``python -c "import theorykit"``;
* ``theorykit solve`` of the K = M = 3 committee (erf, sum normalisation, eta = 0.5, isotropic
  inputs, alpha from 0 to 2000, rtol 1e-8), its generated code already cached -- with the
  default flavour (``c`` where a C compiler is found) and, as the baseline of the same run,
  with ``solver.flavour = "numba"``;
* the reference: a script integrating the same case from the same initial overlaps with SciPy's
  DOP853 at rtol 1e-8 on Saad & Solla's published right-hand side evaluated with Python loops
  over the units (:func:`theorykit.committee.saad_solla.isotropic_rhs`), as a hand-written
  reference would be.  Both final overlaps are compared, so the race is between equal answers.
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
from pathlib import Path

import numpy as np

CASE = {
    "model": {"K": 3, "M": 3, "activation": "erf", "normalization": "sum"},
    "eta": 0.5,
    "spectrum": {"kind": "power_law", "L": 1, "beta": 1.0},
    "alpha": [0, 500, 1000, 1500, 2000],
    "init": {"kind": "random", "N": 1000, "sigma_J": 0.01, "seed": 0},
    "solver": {"method": "DOP853", "rtol": 1e-8, "atol": 1e-10},
}

REFERENCE = """
import json, sys
import numpy as np
from scipy.integrate import solve_ivp
from theorykit.committee.saad_solla import isotropic_rhs

start = json.load(open(sys.argv[1]))
R0, Q0, T = (np.array(start[k]) for k in ("R", "Q", "T"))
K, M = R0.shape

def rhs(alpha, y):
    R, Q = y[: K * M].reshape(K, M), y[K * M :].reshape(K, K)
    dR, dQ = isotropic_rhs(Q, R, T, start["eta"], backend="numpy")
    return np.concatenate([dR.ravel(), dQ.ravel()])

out = solve_ivp(rhs, (0.0, 2000.0), np.concatenate([R0.ravel(), Q0.ravel()]), method="DOP853", rtol=1e-8, atol=1e-10)
print(json.dumps({"R": out.y[: K * M, -1].reshape(K, M).tolist(), "Q": out.y[K * M :, -1].reshape(K, K).tolist(), "nfev": out.nfev}))
"""


def best_process(argv: list[str], env: dict, repeat: int) -> tuple[float, str]:
    best, out = math.inf, ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
        best = min(best, time.perf_counter() - t0)
        out = done.stdout
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "THEORYKIT_CACHE_DIR": str(tmp / "cache")}
        case = tmp / "case.json"
        case.write_text(json.dumps(CASE))
        cli = [sys.executable, "-m", "theorykit"]
        version, _ = best_process([*cli, "--version"], env, args.repeat + 2)
        imported, _ = best_process([sys.executable, "-c", "import theorykit"], env, args.repeat + 2)
        solve_argv = [*cli, "solve", str(case), "-o", str(tmp / "out.json")]
        cold, _ = best_process(solve_argv, env, 1)  # derives, lowers and caches the module
        warm, _ = best_process(solve_argv, env, args.repeat)
        ours = json.loads((tmp / "out.json").read_text())
        numba_case = tmp / "case_numba.json"
        numba_case.write_text(json.dumps({**CASE, "solver": {**CASE["solver"], "flavour": "numba"}}))
        numba_argv = [*cli, "solve", str(numba_case), "-o", str(tmp / "out_numba.json")]
        best_process(numba_argv, env, 1)  # compiles numba's cache
        warm_numba, _ = best_process(numba_argv, env, args.repeat)
        r, q = np.array(ours["final"]["r"])[0], np.array(ours["final"]["q"])[0]
        start = _initial_overlaps()
        (tmp / "start.json").write_text(json.dumps(start))
        (tmp / "reference.py").write_text(REFERENCE)
        reference, text = best_process(
            [sys.executable, str(tmp / "reference.py"), str(tmp / "start.json")], env, args.repeat
        )
        ref = json.loads(text)
        difference = max(np.abs(np.array(ref["R"]) - r).max(), np.abs(np.array(ref["Q"]) - q).max())
    result = {
        "version_s": version,
        "import_s": imported,
        "solve_cold_s": cold,
        "solve_warm_s": warm,
        "solve_flavour": ours["solver"]["flavour"],
        "solve_warm_numba_s": warm_numba,
        "reference_s": reference,
        "reference_nfev": ref["nfev"],
        "speed_up": reference / warm,
        "final_overlap_difference": float(difference),
    }
    print(f"theorykit --version         {version:7.3f} s")
    print(f"import theorykit            {imported:7.3f} s")
    print(f"solve, code not cached      {cold:7.3f} s")
    print(f"solve, code cached          {warm:7.3f} s  (flavour {ours['solver']['flavour']})")
    print(f"  the same, numba flavour     {warm_numba:7.3f} s")
    print(f"plain-Python reference      {reference:7.3f} s  ({ref['nfev']} right-hand sides)")
    print(f"speed-up of the cached solve  {reference / warm:5.1f}x  (final overlaps agree to {difference:.1e})")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


def _initial_overlaps() -> dict:
    """The case's initial overlaps (isotropic: one mode), as the reference script reads them."""
    import theorykit as tk

    model = tk.CommitteeModel(3, 3, tk.Spectrum.power_law(1, 1.0), "erf", normalization="sum")
    init = tk.random_overlaps(model, CASE["init"]["N"], CASE["init"]["sigma_J"], CASE["init"]["seed"])
    return {"R": init.r[0].tolist(), "Q": init.q[0].tolist(), "T": init.t[0].tolist(), "eta": CASE["eta"]}


if __name__ == "__main__":
    main()
