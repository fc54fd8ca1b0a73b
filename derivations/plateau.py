"""Plateaus: reduce to the symmetric subspace, solve the fixed point, linearise, and check.

Derived here (nothing typed in): the symmetric-subspace equations for symbolic K and M; the
relations C = Q and Q = M R^2 / T from the per-mode fixed point; the classic plateau
R = 1/sqrt(K(2K-1)), Q = C = 1/(2K-1) for symbolic K; the isotropic escape rate for
K = 2, 3, 4 in closed form; the scaling of the escape rate with K and L (numerically, from the
full Jacobian).  Checks: closed form = numeric fixed point (30 digits), the fixed point is a
zero of the full generated right-hand side, escape rate = growth rate in a direct integration.
"""

import mpmath
import numpy as np
import sympy as sp
from _report import Report, arguments

import theorykit as tk
from theorykit.committee.derive.expanded import closed_form_escape_rate
from theorykit.committee.derive.symmetric import K, closed_form_plateau, derive_symmetric_system, per_mode_fixed_point
from theorykit.committee.plateau import find_plateau, perturbed_overlaps, student_asymmetry


def main() -> int:
    args = arguments(__doc__)
    report = Report("Plateau")
    system = derive_symmetric_system("erf", True)
    for name in ("G_d", "G_o", "G_t", "eps_g"):
        report.equation(name, sp.latex(getattr(system, name)))
    per_mode = per_mode_fixed_point(system)
    relation = sp.simplify(per_mode[sp.Symbol("c_k", real=True)] / per_mode[sp.Symbol("q_k", real=True)])
    report.check("per-mode fixed point has C = Q (students coincide)", relation == 1, f"c_k/q_k = {relation}")

    found = closed_form_plateau("erf", None, None, "sqrt")
    ok = (
        found is not None
        and sp.simplify(found.Q - 1 / (2 * K - 1)) == 0
        and sp.simplify(found.R**2 - 1 / (K * (2 * K - 1))) == 0
    )
    report.check(
        "classic plateau found for symbolic K", ok, "" if found is None else f"R = {found.R}, Q = C = {found.Q}"
    )
    if found is not None:
        for name, tex in found.latex().items():
            report.equation(name + r"_{\mathrm{plateau}}", tex)

    for Kv in (2, 3, 4):
        mu = closed_form_escape_rate("erf", Kv, Kv, "sqrt")
        pattern = 2 / (sp.pi * sp.sqrt((2 * Kv - 1) * (2 * Kv + 1) ** 3))
        report.check(
            f"isotropic escape rate K = {Kv} in closed form",
            mu is not None and sp.simplify(mu - pattern) == 0,
            f"mu/eta = {mu}",
        )
        if mu is not None:
            report.equation(rf"\mu_{{K={Kv}, L=1}}/\eta", sp.latex(mu))

    model = tk.CommitteeModel(3, 3, tk.Spectrum.power_law(6, 1.0), small_lr=True)
    plateau = find_plateau(model, 0.1, dps=30)
    with mpmath.workdps(45):
        diff = abs(plateau.precise.R - 1 / mpmath.sqrt(15))
    report.check(
        "numeric plateau = closed form (30 digits)",
        diff < mpmath.mpf(10) ** -30,
        f"|dR| = {mpmath.nstr(diff, 3)}, two precisions agree to {plateau.precise.agreement_digits:.1f} digits",
    )
    system_full = tk.EigenmodeSystem(
        model, tk.compile_model(model, "numpy"), 0.1, model.spectrum.f[:, None, None] * np.eye(3)
    )
    residual = np.max(np.abs(system_full.rhs(0.0, plateau.state)))
    report.check("plateau is a zero of the full RHS", residual < 1e-12, f"max |rhs| = {residual:.1e}")

    init = perturbed_overlaps(plateau, 1e-8, seed=1)
    alpha = np.linspace(0, 25 / plateau.escape_rate, 1001)
    sol = tk.solve(model, 0.1, init, alpha, tk.SolverConfig(rtol=1e-10, atol=1e-14)).raise_for_status()
    spread = student_asymmetry(sol.R())
    window = (spread > 1e-6) & (spread < 1e-3)
    slope = np.polyfit(sol.alpha[window], np.log(spread[window]), 1)[0]
    report.check(
        "escape rate = growth rate in the ODE",
        abs(slope / plateau.escape_rate - 1) < 5e-3,
        f"mu = {plateau.escape_rate:.6g}, slope = {slope:.6g}",
    )

    # scaling: mu K^2 / (eta lambda_1) tends to a constant -> plateau length ~ K^2 / lambda_1 ~ K^2 / L
    Ls = (4, 16, 64) if args.quick else (4, 16, 64, 256)
    rows = []
    for Kv in (2, 4, 6):
        for L in Ls:
            m = tk.CommitteeModel(Kv, Kv, tk.Spectrum.power_law(L, 1.0), small_lr=True)
            mu = find_plateau(m, 1.0, closed_form=False).escape_rate
            rows.append((Kv, L, mu * Kv**2 / m.spectrum.lam[0]))
    values = np.array([r[2] for r in rows])
    print("  mu K^2 / (eta lambda_1) for beta = 1:", ", ".join(f"K={a}, L={b}: {c:.4f}" for a, b, c in rows))
    report.check(
        "plateau length ~ K^2/(eta lambda_1) (beta = 1): mu K^2/lambda_1 within 40 % over K, L",
        values.max() / values.min() < 1.4,
        f"range {values.min():.4f} .. {values.max():.4f}",
    )
    return report.finish(args.latex_dir)


if __name__ == "__main__":
    raise SystemExit(main())
