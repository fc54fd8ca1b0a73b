"""Random-feature DMFT: derive the closure, the error kernels and the power laws, and check.

Derived here (nothing typed in): the single-mode response and mean in the Laplace domain;
the closure mu = kappa (1 - S_1) (the kernel-ridge equation at z = 0); the two-point function
of the effective-noise closure; the Laplace kernels that turn R(z), R(z/2) into eps_g(z);
their stationary limits; the decoupled-limit exponents, early-stopping time and its
P-scaling.  Checks: DMFT vs exact simulation of the finite model (GF, weight decay,
Langevin); Volterra (time grid) vs Laplace (Talbot) routes; 2-D two-point closure vs 1-D
kernels; stationary state vs the published kernel-ridge formula (Canatar et al. 2021);
exponents at two precisions and against the full DMFT.
"""

import numpy as np
import sympy as sp
from _report import Report, arguments

from theorykit.rf import (
    RandomFeatureModel,
    asymptotics,
    local_exponent,
    simulate_rf,
    solve_rf,
    stationary_error,
)
from theorykit.rf import derive as rf
from theorykit.rf.derive_asymptotics import derive_decoupled_asymptotics
from theorykit.rf.kernel_ridge import krr_error


def main() -> int:
    args = arguments(__doc__)
    report = Report("Random-feature DMFT")
    mode = rf.derive_mode_solution()
    report.equation(r"G_k(z)", sp.latex(mode.response))
    report.equation(r"\hat m_k(z)", sp.latex(mode.mean_factor))
    report.equation(r"\mu(\kappa)", sp.latex(mode.mu_of_kappa))
    report.equation(r"R", sp.latex(mode.collective_response))
    report.check(
        "response G = 1/(z + gamma + eta Sigma)",
        sp.simplify(mode.response - 1 / (rf.z + rf.gamma + rf.eta * rf.Sigma)) == 0,
        str(mode.response),
    )
    report.check(
        "closure: mu = kappa (1 - S_1) (kernel-ridge equation at z = 0)",
        sp.simplify(mode.mu_of_kappa - rf.kappa * (1 - rf.S1)) == 0,
        str(mode.mu_of_kappa),
    )
    two = rf.derive_two_point()
    report.equation(r"C(z_1, z_2)", sp.latex(two.expression))
    kern = rf.derive_equal_time_kernels()
    for name, (c1, c2) in kern.kernels.items():
        report.equation(
            rf"\hat\varepsilon_{{\rm {name}}}(z)", sp.latex(c1 * sp.Symbol("R(z)") + c2 * sp.Symbol("R(z/2)"))
        )

    N, P = (200, 100) if args.quick else (800, 400)
    draws = 15 if args.quick else 100
    times = np.array([0.03, 0.3, 3.0, 30.0, 300.0])
    for label, regime in (
        ("gradient flow", {}),
        ("weight decay", {"gamma": 0.05, "noise": 0.3}),
        ("Langevin", {"T": 0.01}),
    ):
        model = RandomFeatureModel(N=N, P=P, a=0.5, **regime)
        theory, sim = solve_rf(model, times), simulate_rf(model, times, draws=draws, seed=11)
        z = np.abs(theory.eps_g - sim.eps_g) / (3 * sim.eps_g_se + theory.eps_g / P)
        report.check(
            f"DMFT = simulation, {label} (N={N}, P={P})", np.all(z <= 1), f"max |diff|/allowed = {z.max():.2f}"
        )

    model = RandomFeatureModel(N=100, P=50, a=0.5, gamma=0.1, T=0.02, noise=0.2)
    grid, contour = solve_rf(model, [0.1, 1.0, 4.0], method="volterra"), solve_rf(model, [0.1, 1.0, 4.0])
    gap = np.max(np.abs(grid.eps_g / contour.eps_g - 1))
    report.check("Volterra route = Laplace route", gap < 1e-6, f"max rel diff {gap:.1e}")

    aniso = RandomFeatureModel(N=300, P=150, a=0.5, teacher_exponent=0.5)
    theory, sim = solve_rf(aniso, times), simulate_rf(aniso, times, draws=draws, seed=12)
    z = np.abs(theory.eps_g - sim.eps_g) / (3 * sim.eps_g_se + theory.eps_g / aniso.P)
    report.check(
        "two-point closure (teacher k^-0.5) = simulation", np.all(z <= 1), f"max |diff|/allowed = {z.max():.2f}"
    )

    bayes = RandomFeatureModel(N=300, P=100, a=0.5, gamma=0.2, T=0.05, noise=0.3)
    state = stationary_error(bayes)
    krr = krr_error(bayes.eta, bayes.teacher_variances, bayes.P, bayes.gamma, bayes.noise**2) / 2
    report.check(
        "posterior mean error = kernel ridge (Canatar et al. 2021)",
        abs(state["teacher"] + state["labels"] - krr) < 1e-12 * krr,
        f"{state['teacher'] + state['labels']:.15f} vs {krr:.15f}",
    )

    laws = derive_decoupled_asymptotics()
    report.equation(r"\varepsilon_{\rm bias} \propto t^{x},\ x", sp.latex(laws.exponents["bias"]))
    report.equation(r"\varepsilon_{\rm variance} \propto t^{x},\ x", sp.latex(laws.exponents["variance"]))
    report.equation(r"\varepsilon_g(t^*) \propto P^{x},\ x", sp.latex(laws.eps_star_exponent_P))
    big = RandomFeatureModel(N=20000, P=20000, a=0.5)
    numbers = asymptotics(big, dps=30)
    report.check(
        "exponents at two precisions agree on 30 digits",
        numbers["agreement_digits"] >= 30,
        f"{numbers['agreement_digits']:.1f} digits",
    )
    t_lo, t_hi = numbers["window"]
    t1 = float(np.sqrt(t_lo * t_hi))
    measured = local_exponent(big, t1, 2 * t1)
    report.check(
        "bias exponent -a/(1+a) in the window (full DMFT)",
        abs(measured + numbers["exponents"]["bias"]) < 0.03,  # exponents are nu in t^-nu
        f"measured slope {measured:.4f}, derived nu {numbers['exponents']['bias']:.4f}",
    )
    return report.finish(args.latex_dir)


if __name__ == "__main__":
    raise SystemExit(main())
