"""Linear networks: derive the closed error equations and the power law, and check them.

Checks: closure of the per-mode error equations (symbolic); the exact curve against the general
ODE solver; the derived exponent against the measured slope; two precisions.
"""

import numpy as np
import sympy as sp
from _report import Report, arguments

import theorykit as tk
from theorykit.committee.derive.linear_modes import derive_linear_error_system, derive_power_law_asymptotics
from theorykit.committee.linear_network import linear_coefficients, linear_learning_curve
from theorykit.committee.solve.linear_exact import exact_curve


def main() -> int:
    args = arguments(__doc__)
    report = Report("Linear network")
    system = derive_linear_error_system()
    report.check("error equations close (a, b, c) = (-2, 1, 1)", (system.a, system.b, system.c) == (-2, 1, 1))
    report.equation(r"\frac{de_k}{d\alpha}", sp.latex(system.equation.rhs))
    law = derive_power_law_asymptotics()
    beta = law.symbols["beta"]
    report.check("exponent is beta/(1+beta)", sp.simplify(law.exponent - beta / (1 + beta)) == 0)
    for name, tex in law.latex().items():
        report.equation(name, tex)

    model = tk.CommitteeModel(1, 1, tk.Spectrum.power_law(6, 1.0), "linear")
    init = tk.random_overlaps(model, 600, 0.5, 0)
    alpha = [0.0, 2.0, 20.0]
    exact = linear_learning_curve(model, 0.3, init, alpha).eps_g
    ode = tk.solve(model, 0.3, init, alpha, tk.SolverConfig(rtol=1e-11, atol=1e-13)).eps_g
    report.check(
        "exact form = general ODE solver",
        np.allclose(exact, ode, rtol=1e-8),
        f"max rel diff {np.max(np.abs(exact - ode) / ode):.1e}",
    )

    spec = tk.Spectrum.power_law(500 if args.quick else 2000, 1.0)
    lo = 1 / (2 * 0.01 * spec.lam[0])
    curve = exact_curve(spec.lam, spec.f, spec.f, 0.01, [3 * lo, 30 * lo], linear_coefficients())
    slope = -np.log(curve[1] / curve[0]) / np.log(10)
    report.check("measured slope (beta = 1) ~ 1/2", abs(slope - 0.5) < 0.03, f"slope {slope:.4f}")

    hp = linear_learning_curve(model, 0.3, init, alpha, dps=30)
    report.check("dps 40 and 55 agree to >= 30 digits", hp.agreement_digits >= 30, f"{hp.agreement_digits:.1f} digits")
    return report.finish(args.latex_dir)


if __name__ == "__main__":
    raise SystemExit(main())
