"""The random-feature command: ``theorykit rf`` (and ``theorykit derive`` of an rf case)."""

from __future__ import annotations

from .common import certify_prec, checked_output, write_result
from .parser import OUTPUTS


def cmd_rf(args) -> int:
    from ..committee.case import read_case_file
    from ..rf import asymptotics, simulate_rf, solve_rf
    from ..rf.case import parse_rf_case

    case = parse_rf_case(read_case_file(args.case))
    output = checked_output(args.output, OUTPUTS["rf"])
    method = args.method or case.method
    dps = args.dps if args.dps is not None else case.dps
    draws = args.draws if args.draws is not None else case.draws
    seed = args.seed if args.seed is not None else case.seed
    settings = {"model": case.model.as_dict()}
    if args.simulate:
        sim = simulate_rf(case.model, case.times, draws=draws, seed=seed)
        result = {
            "source": "simulation",
            "times": sim.times,
            "eps_g": sim.eps_g,
            "eps_g_standard_error": sim.eps_g_se,
            "bias": sim.bias,
            "variance": sim.variance,
        }
        settings.update({"draws": draws, "seed": seed})
        computed = sim
    else:
        theory = solve_rf(case.model, case.times, method=method, dps=dps)
        result = {"source": "dmft", **theory.as_dict()}
        settings.update({"method": method, "dps": dps})
        computed = theory
        if case.model.gamma == 0.0:
            power_laws = asymptotics(case.model, dps=dps or 30)
            result["asymptotics"] = {k: v for k, v in power_laws.items() if k not in ("latex",)}
    if args.certify:
        from ..rf.certify import rf_stationary_enclosure

        result.update(rf_stationary_enclosure(case.model, certify_prec(args)))
    write_result("rf", case, output, {"settings": settings, **result}, computed)
    print(f"wrote {output}")
    return 0


def derive_rf(raw: dict, latex: bool) -> int:
    import sympy as sp

    from ..rf.case import parse_rf_case
    from ..rf.derive import dmft_equations
    from ..rf.derive_asymptotics import derive_decoupled_asymptotics

    parse_rf_case(raw)  # validate: the equations hold for any valid case
    equations = dmft_equations()
    laws = derive_decoupled_asymptotics()
    for name, expr in laws.laws.items():
        equations[f"decoupled law ({name}, gamma = 0)"] = (rf"\varepsilon_{{\mathrm{{{name}}}}}(t)", expr)
    for name, (lhs, rhs) in equations.items():
        if latex:
            print(f"% {name}\n\\begin{{equation}}\n{lhs} = {sp.latex(rhs)}\n\\end{{equation}}")
        else:
            print(f"{name}: {lhs} = {rhs}")
    return 0
