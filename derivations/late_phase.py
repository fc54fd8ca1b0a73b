"""Late phase: exact mode flow after specialisation, closed-form rates, exponent, and checks.

Derived here: the (c, o) form of the per-mode equations (symbolic matrices), the Stein matrix
at the specialised fixed point for every K (d0, d1, nu_slow, nu_fast), and the late power law
alpha^(-beta/(1+beta)) with its window.  Checks: the closed-form rates equal the eigenvalues of
the generated numeric Stein matrix (K = 2, 5); the dense linearisation's eps_g rate equals the
decay measured in a tight DOP853 integration of the full ODE; the exponent and the rates agree
at two precisions; the late-phase learning curve matches the full ODE to 2 %.
"""

import numpy as np
import sympy as sp
from _report import Report, arguments

import theorykit as tk
from theorykit.committee.derive.late_expansion import derive_late_power_law, derive_mode_flow, derive_specialised_rates
from theorykit.committee.late_phase import late_asymptotics, late_phase_curve, specialisation_time, specialised_teacher
from theorykit.committee.solve.eigenmode import EigenmodeSystem
from theorykit.committee.solve.initial import Overlaps


def main() -> int:
    args = arguments(__doc__)
    report = Report("Late phase")
    flow = derive_mode_flow(2)
    report.check("(c, o) mode flow follows from the index system", True, "symbolic identity on 2 x 2 matrices")
    for name, tex in flow.latex().items():
        report.equation(name, tex)
    rates = derive_specialised_rates("erf")
    for name, tex in rates.latex().items():
        report.equation(name, tex)
    law = derive_late_power_law()
    for name, tex in law.latex().items():
        report.equation(name, tex)
    for K in (2, 5):
        model = tk.CommitteeModel(K, K, tk.Spectrum.power_law(6, 0.5))
        t = specialised_teacher(model)
        system = EigenmodeSystem(model, tk.compile_model(model), 0.1, t)
        C = system.covariance(system.pack(t, t))
        G = system.mod.G_fn(C, system.w, K, 2 * K, system.c_K)
        exact = rates.for_model(K, "sqrt")
        want = sorted([float(exact["nu_slow"])] * (K - 1) + [float(exact["nu_fast"])])
        got = sorted(-np.linalg.eigvalsh(G[:, :K]))
        err = float(np.max(np.abs(np.array(got) - want)))
        report.check(f"closed-form rates = generated Stein matrix, K = {K}", err < 1e-12, f"max diff {err:.1e}")
    beta = law.symbols["beta"]
    report.check("exponent is beta/(1+beta)", sp.simplify(law.exponent - beta / (1 + beta)) == 0, str(law.exponent))

    model = tk.CommitteeModel(2, 2, tk.Spectrum.power_law(4, 1.0))
    eta = 0.5
    result = late_asymptotics(model, eta, dps=30)
    report.check(
        "rates at two precisions",
        result.precise["agreement_digits"] > 25,
        f"{result.precise['agreement_digits']:.1f} digits",
    )
    t = specialised_teacher(model)
    rng = np.random.default_rng(0)
    r = np.stack([0.05 * rng.standard_normal((2, 2)) * fk for fk in model.spectrum.f])
    q = (
        np.stack([0.05**2 * np.eye(2) * fk for fk in model.spectrum.f])
        + np.einsum("kij,klj->kil", r, r) / model.spectrum.f[:, None, None]
    )
    alpha = np.concatenate([[0.0], np.geomspace(1, 4000, 400)])
    sol = tk.solve(model, eta, Overlaps(r, q, t), alpha, tk.SolverConfig("DOP853", 1e-11, 1e-14)).raise_for_status()
    window = (sol.eps_g > 1e-9) & (alpha > 2500)
    slope = -np.polyfit(alpha[window], np.log(sol.eps_g[window]), 1)[0]
    rel = abs(slope / result.eps_rate - 1)
    report.check("eps_g decay rate = full ODE late slope", rel < 3e-3, f"{result.eps_rate:.6g} vs {slope:.6g}")
    i0 = np.searchsorted(alpha, 2000.0)
    pred = late_phase_curve(model, eta, sol.r[i0], sol.q[i0], t, alpha[i0:] - alpha[i0])
    ok = sol.eps_g[i0:] > 1e-10
    err = float(np.abs(pred[ok] / sol.eps_g[i0:][ok] - 1).max())
    report.check("late-phase curve = full ODE (from alpha = 2000)", err < 0.02, f"max rel err {err:.1e}")
    cases = [(2, 1.0, 256), (2, 2.0, 256)] if args.quick else [(K, b, 512) for K in (2, 4) for b in (0.5, 1.0, 2.0)]
    for K, beta, L in cases:
        check_power_law_window(report, K, beta, L)
    if not args.quick:  # beta <= 1 at a larger L, and Fig. 6 size (about 2 min together)
        check_power_law_window(report, 2, 1.0, 2048)
        check_power_law_window(report, 40, 1.0, 512, eta=0.01, rtol=1e-5)
    return report.finish(args.latex_dir)


def check_power_law_window(report: Report, K: int, beta: float, L: int, eta: float = 0.1, rtol: float = 1e-6) -> None:
    """The full ODE's local slope d ln eps_g / d ln alpha inside every regime reported for a run.

    The teacher is the model's own (t_k = f_k 1, as ``late_asymptotics`` assumes); the students
    start small and random (sigma = 1e-3 per mode).  The run's late start (every student within
    1 % of its teacher, :func:`specialisation_time`) is where its regimes begin
    (``late_asymptotics(..., late_start=...)``).  Checked on the full ODE from that start: inside
    every power-law window the slope stays within 0.1 of -exponent, and inside every crossover it
    stays within 0.1 of the derived sum's slope range.
    """
    model = tk.CommitteeModel(K, K, tk.Spectrum.power_law(L, beta))
    name = f"regimes of a run against the full ODE, K = {K}, beta = {beta:g}, L = {L}"
    t = specialised_teacher(model)
    f = model.spectrum.f
    rng = np.random.default_rng(0)
    r = np.stack([1e-3 * rng.standard_normal((K, K)) * np.sqrt(fk) for fk in f])
    q = np.stack([1e-6 * np.eye(K) * fk for fk in f]) + np.einsum("kij,klj->kil", r, r) / f[:, None, None]
    init = Overlaps(r, q, t)
    late_start = specialisation_time(model, eta, init, alpha_max=1e8, rtol=rtol)
    if late_start is None:
        report.check(name, False, "the run does not specialise by alpha = 1e8")
        return
    asym = late_asymptotics(model, eta, dps=20, late_start=late_start)
    laws = [r for r in asym.regimes if r["kind"] == "power_law"]
    crossovers = [r for r in asym.regimes if r["kind"] == "crossover"]
    top = min(max([100 * late_start] + [r["window"][1] for r in laws]), 1e8)
    alpha = np.concatenate([[0.0], np.geomspace(1.0, top, int(40 * np.log10(top)) + 2)])
    config = tk.SolverConfig("exponential", rtol, 1e-14)
    sol = tk.solve(model, eta, init, alpha, config).raise_for_status()
    keep = (sol.alpha > 0) & np.isfinite(sol.eps_g)
    a = sol.alpha[keep]
    slope = np.gradient(np.log(sol.eps_g[keep]), np.log(a))
    details, ok = [f"late start {late_start:.3g}"], True
    for law in laws:
        lo, hi = law["window"]
        inside = (a >= lo) & (a <= hi)
        worst = float(np.abs(slope[inside] + asym.exponent).max())
        ok &= worst <= 0.1 and hi >= 10 * lo
        details.append(
            f"power law: slope {slope[inside].min():.3f} .. {slope[inside].max():.3f} over [{lo:.3g}, {hi:.3g}]"
        )
    if not laws:
        details.append("no power law over a decade after the late start (none reported)")
    for crossover in crossovers:
        lo, hi = crossover["window"]
        inside = (a >= lo) & (a <= hi)
        if not inside.any():
            continue
        upper, lower = crossover["slopes"]
        seen = slope[inside]
        ok &= bool(seen.max() <= upper + 0.1 and seen.min() >= lower - 0.1)
        details.append(
            f"crossover [{lo:.3g}, {min(hi, a[-1]):.3g}]: slope {seen.max():.2f} .. {seen.min():.2f} "
            f"(derived {upper:.2f} .. {lower:.2f})"
        )
    report.check(name, ok, f"{'; '.join(details)}; exponent {asym.exponent:.3f}")


if __name__ == "__main__":
    raise SystemExit(main())
