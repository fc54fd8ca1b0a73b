"""Derive the committee-machine ODEs in index form and check them.

Checks: L = 1 against Saad & Solla's isotropic equations (40 digits); the moment basis with
the Cayley--Hamilton closure against the eigenmode basis (40 digits); theory against SGD.
"""

import mpmath
import numpy as np
import sympy as sp
from _report import Report, arguments

from theorykit import (
    CommitteeModel,
    EigenmodeSystem,
    MomentSystem,
    Spectrum,
    compile_model,
    derive_index_system,
    random_overlaps,
    simulate,
    solve,
)
from theorykit.committee.saad_solla import isotropic_rhs

mpf = np.vectorize(mpmath.mpf, otypes=[object])


def main() -> int:
    args = arguments(__doc__)
    report = Report("ODE hierarchy")
    system = derive_index_system(False)
    for lhs, rhs in system.latex().items():
        report.equation(lhs, rhs)
    report.check("index system is small", max(sp.count_ops(e) for e in (system.G, system.W, system.drift)) < 40)

    # L = 1, small learning rate: dR/dalpha of Saad & Solla from their published I3
    model = CommitteeModel(2, 2, Spectrum.explicit([1.0]), "erf", normalization="sum", small_lr=True)
    init = random_overlaps(model, 400, 0.5, 0)
    with mpmath.workdps(40):
        eig = EigenmodeSystem(model, compile_model(model, "mpmath"), mpmath.mpf(1), mpf(init.t), dtype=object)
        y = mpf(eig.pack(init.r, init.q))
        dr, _ = eig.unpack(eig.rhs(0, y))
        C = eig.covariance(y)
        ref, _ = isotropic_rhs(C[:2, :2], C[:2, 2:], C[2:, 2:], mpmath.mpf(1), small_lr=True)
        err = max(abs(dr[0, i, n] - ref[i, n]) for i in range(2) for n in range(2))
    report.check("L = 1 equals Saad & Solla dR/dalpha", err < mpmath.mpf(10) ** -35, f"max diff {mpmath.nstr(err, 3)}")

    model = CommitteeModel(2, 2, Spectrum.power_law(6, 1.0), "erf")
    init = random_overlaps(model, 3000, 0.3, 1)
    with mpmath.workdps(40):
        compiled = compile_model(model, "mpmath")
        eig = EigenmodeSystem(model, compiled, mpmath.mpf("0.5"), mpf(init.t), dtype=object)
        mom = MomentSystem(model, compiled, mpmath.mpf("0.5"), mpf(init.t), dtype=object)
        y = mpf(eig.pack(init.r, init.q))
        diff = max(abs(a - b) for a, b in zip(mom.from_eigenmodes(eig.rhs(0, y)), mom.rhs(0, mom.from_eigenmodes(y))))
    report.check(
        "moment basis + closure = eigenmode basis",
        diff < mpmath.mpf(10) ** -30,
        f"max diff {mpmath.nstr(diff, 3)}, cond(V) = {mom.condition_number():.2e}",
    )

    N = 500 if args.quick else 2000
    model = CommitteeModel(2, 2, Spectrum.power_law(4, 1.0), "erf")
    init = random_overlaps(model, N, 0.2, 0)
    alpha = np.linspace(0, 10 if args.quick else 60, 6)
    sim = simulate(model, 0.5, alpha, N, seeds=3, init=init, n_test=500)
    sol = solve(model, 0.5, init, alpha).raise_for_status()
    rel = np.max(np.abs(sim.mean("eps_g_overlaps") - sol.eps_g) / sol.eps_g)
    report.check(f"ODE vs SGD (N = {N}, 3 seeds)", rel < 0.05, f"max relative difference {rel:.2%}")
    return report.finish(args.latex_dir)


if __name__ == "__main__":
    raise SystemExit(main())
