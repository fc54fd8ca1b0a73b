"""The committee machine's commands: solve, simulate, demo, linear, asymptotics, plateau, spectrum, derive."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._version import __version__
from ..committee.schema import COMMITTEE
from ..core.errors import CaseError, NumericalFailure
from ..core.output import provenance, write_json
from ..core.schema import EXPONENT_CONVENTION
from .common import case_dps, certify_prec, checked_output, load_case, write_result
from .parser import OUTPUTS


def cmd_solve(args) -> int:
    from ..committee.solve.integrate import solve

    case = load_case(args.case)
    solver = case.solver
    overrides = {
        k: v
        for k, v in (("method", args.method), ("rtol", args.rtol), ("atol", args.atol), ("flavour", args.flavour))
        if v is not None
    }
    if overrides:
        from dataclasses import replace

        solver = replace(solver, **overrides)  # re-validated by SolverConfig.__post_init__
    output = checked_output(args.output, OUTPUTS["solve"])
    solution = solve(case.model, case.eta, case.init, case.alpha, solver)
    solution.raise_for_status()
    if output.suffix == ".json":  # without xarray: its import is most of a small solve's process
        write_json(output, _solve_payload(case, solver, solution))
    else:  # the dataset as NetCDF, or its table
        write_result("solve", case, output, {"seed": case.init_spec.get("seed")}, solution)
    print(f"wrote {output}: {len(solution.alpha)} points, eps_g({solution.alpha[-1]:g}) = {solution.eps_g_text()}")
    return 0


def _solve_payload(case, solver, solution) -> dict:
    """The JSON of ``theorykit solve``: provenance, what ran, eps_g and the covariance trajectories."""
    return provenance(
        "solve",
        case.raw,
        {
            "seed": case.init_spec.get("seed"),
            "solver": {
                "requested": {"method": solver.method, "flavour": solver.flavour},
                "method": solution.method,
                "method_reason": solution.method_reason,
                "flavour": solution.flavour,
                "rtol": solver.rtol,
                "atol": solver.atol,
                "nfev": solution.nfev,
                "stats": solution.solver_stats,
            },
            "status": solution.status,
            "alpha": solution.alpha,
            "eps_g": solution.eps_g_json(),
            "eps_resolution": solution.eps_resolution,
            "final": {"r": solution.r[-1], "q": solution.q[-1], "t": solution.t},
            "trajectory": {
                "R": solution.R(),
                "Q": solution.Q(),
                "T": solution.T(),
                **({} if solution.v is None else {"v": solution.v}),
            },
        },
    )


def cmd_simulate(args) -> int:
    from ..committee.simulate.sgd import simulate

    case = load_case(args.case, require_init=False)
    output = checked_output(args.output, OUTPUTS["simulate"])
    sim_cfg = dict(case.simulation)
    if args.N is not None:
        sim_cfg["N"] = args.N
    if args.seeds is not None:
        sim_cfg["seeds"] = args.seeds
    if args.backend is not None:
        sim_cfg["backend"] = args.backend
    seeds = list(range(sim_cfg["seeds"]))
    teacher_seed = case.init_spec.get("seed", 0)
    sigma_J = case.init_spec.get("sigma_J", sim_cfg["sigma_J"])
    init = case.init if case.init_spec.get("kind") == "overlaps" else None
    result = simulate(
        case.model,
        case.eta,
        case.alpha,
        sim_cfg["N"],
        seeds,
        init=init,
        sigma_J=sigma_J,
        teacher_seed=teacher_seed,
        n_test=sim_cfg["n_test"],
        backend=sim_cfg["backend"],
    )
    extra = {
        "seeds": seeds,
        "teacher_seed": teacher_seed,
        "N": sim_cfg["N"],
        "n_test": sim_cfg["n_test"],
        "backend": result.backend,
        "alpha": result.alpha,
        "eps_g": result.mean("eps_g"),
        "eps_g_std": result.spread("eps_g"),
        "eps_g_per_seed": result.eps_g,
        "eps_g_from_overlaps": result.mean("eps_g_overlaps"),
        "final": {"r": result.r[:, -1].mean(0), "q": result.q[:, -1].mean(0)},
    }
    if result.v is not None:  # per-unit read-out: the students' weights, mean over seeds
        extra["v"] = result.v.mean(axis=0)
    write_result("simulate", case, output, extra, result)
    print(f"wrote {output}: {len(seeds)} seeds, N = {sim_cfg['N']}")
    return 0


def cmd_demo(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..committee.case import default_case, parse_case
    from ..committee.plotting import plot_learning_curve
    from ..committee.simulate.sgd import simulate
    from ..committee.solve.integrate import solve

    raw = default_case()
    if args.quick:
        raw["simulation"]["N"] = 500
        raw["alpha"] = [a for a in raw["alpha"] if a <= 40]
    case = parse_case(raw)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    print(f"theorykit {__version__} demo: K = M = 2 erf, power-law spectrum L = 4, beta = 1, eta = {case.eta}")
    solution = solve(case.model, case.eta, case.init, case.alpha).raise_for_status()
    print(f"  ODE solved ({solution.nfev} right-hand sides); eps_g({solution.alpha[-1]:g}) = {solution.eps_g[-1]:.4g}")
    sim = case.simulation
    result = simulate(
        case.model,
        case.eta,
        case.alpha,
        sim["N"],
        sim["seeds"],
        init=case.init,
        n_test=sim["n_test"],
        backend=sim["backend"],
    )
    print(f"  SGD simulated: N = {sim['N']}, {sim['seeds']} seeds started from the same overlaps")
    fig, ax = plt.subplots(figsize=(5.5, 4))
    plot_learning_curve(ax, solution, result, label="K=M=2 erf, L=4")
    ax.set_title(r"$\varepsilon_g(\alpha)$: theory vs SGD")
    fig.tight_layout()
    fig.savefig(out / "demo.png", dpi=150)
    fig.savefig(out / "demo.pdf")
    plt.close(fig)
    payload = provenance(
        "demo",
        raw,
        {
            "seeds": result.seeds,
            "alpha": solution.alpha,
            "eps_g_ode": solution.eps_g_json(),
            # what the figure draws: eps_g of each network from its overlaps, and the test-set estimate
            "eps_g_sgd_mean": result.mean("eps_g_overlaps"),
            "eps_g_sgd_min": result.eps_g_overlaps.min(axis=0),
            "eps_g_sgd_max": result.eps_g_overlaps.max(axis=0),
            "eps_g_sgd_test_set_mean": result.mean("eps_g"),
            "eps_g_sgd_test_set_std": result.spread("eps_g"),
        },
    )
    write_json(out / "demo.json", payload)
    rel = np.abs(result.mean("eps_g_overlaps")[1:] - solution.eps_g[1:]) / solution.eps_g[1:]
    print(f"  max relative ODE-SGD difference in eps_g: {rel.max():.2%} (finite-N spread)")
    print(f"  wrote {out / 'demo.png'}, {out / 'demo.pdf'}, {out / 'demo.json'}")
    return 0


def cmd_linear(args) -> int:
    from ..committee.linear_network import (
        effective_errors,
        linear_coefficients,
        linear_learning_curve,
        power_law_law,
        power_law_precise,
    )
    from ..committee.solve.linear_exact import slowest_rate

    case = load_case(args.case)
    output = checked_output(args.output, OUTPUTS["linear"])
    dps = case_dps(args, case)
    curve = linear_learning_curve(case.model, case.eta, case.init, case.alpha, dps=dps)
    extra = {"seed": case.init_spec.get("seed"), "alpha": curve.alpha.tolist(), "eta_max": curve.eta_max}
    if dps is None:
        extra["eps_g"] = curve.eps_g
    else:
        precise = curve.precise.require("linear learning curve")
        extra["eps_g"] = precise.strings()
        extra.update(precise.as_dict())
    extra["eps_g_small_eta"] = curve.small_eta
    if args.certify:
        from ..committee.certify import linear_curve_enclosures

        extra.update(linear_curve_enclosures(case.model, case.eta, case.init, case.alpha, certify_prec(args)).as_dict())
    e0, eta_eff = effective_errors(case.model, case.init, case.eta)
    extra["tail_rate"] = slowest_rate(case.model.spectrum.lam, case.model.spectrum.f, eta_eff, linear_coefficients())
    spectrum = case.model.spectrum
    if spectrum.kind == "power_law" and len(set(spectrum.fractions)) != 1:
        extra["power_law"] = "not derived: the power-law asymptotics assume equal fractions f_k = 1/L"
    elif spectrum.kind == "power_law":
        law = power_law_law(case.model, eta_eff, float(np.sum(e0)), dps=27)  # the floats and the closed forms
        if dps is None:
            numbers = {k: float(getattr(law, k)) for k in ("exponent", "prefactor", "alpha_min", "alpha_max")}
        else:
            numbers = power_law_precise(case.model, case.eta, case.init, dps).require("power law").strings()
        extra["exponent"] = numbers["exponent"]
        extra["exponent_convention"] = EXPONENT_CONVENTION
        extra["prefactor"] = numbers["prefactor"]
        extra["window"] = [numbers["alpha_min"], numbers["alpha_max"]]
        extra["closed_form"] = {"exponent": law.exponent_expr, "prefactor": law.prefactor_expr}
    write_result("linear", case, output, extra, curve)
    print(f"wrote {output}: {len(curve.alpha)} points" + (f" at {dps} digits" if dps else ""))
    return 0


def cmd_asymptotics(args) -> int:
    from ..committee.late_phase import late_asymptotics

    case = load_case(args.case, require_init=False, require_alpha=False)
    output = checked_output(args.output, OUTPUTS["asymptotics"])
    dps = case_dps(args, case, COMMITTEE.default("dps"))
    late_start = None
    if case.init is not None:  # a run: its regimes begin where its students have specialised
        from ..committee.late_phase import specialisation_time

        late_start = specialisation_time(case.model, case.eta, case.init)
        if late_start is None:
            raise NumericalFailure(
                "the run from init does not specialise by alpha = 1e9: it has no late phase to report "
                "(drop init for the regimes from an idealised late start)"
            )
    result = late_asymptotics(case.model, case.eta, dps=dps, late_start=late_start)
    result.evaluation.require("late-phase rates")
    payload = {**result.as_dict(), "exponent_convention": EXPONENT_CONVENTION}
    if args.certify:
        from ..committee.certify import late_phase_enclosures

        payload.update(late_phase_enclosures(case.model, case.eta, certify_prec(args)))
    write_result("asymptotics", case, output, payload, result)
    origin = (
        "from an idealised late start (every mode unlearned at alpha = 0; a run gets there once specialised)"
        if late_start is None
        else f"from the run's late start at alpha = {late_start:.3g} (students within 1 % of their teachers)"
    )
    print(f"wrote {output}: eps_g decay rate {result.eps_rate:.6g} ({result.rate_method}); regimes {origin}:")
    for regime in result.regimes:
        lo, hi = regime["window"]
        where = f"alpha in [{lo:.3g}, {'inf' if hi is None else f'{hi:.3g}'}]"
        if regime["kind"] == "power_law":
            law = f"alpha^-{regime['exponent']:.6g}"
        elif regime["kind"] == "exponential":
            law = f"exp(-{regime['rate']:.3g} alpha)"
        else:
            law = f"crossover, local slope {regime['slopes'][0]:.3g} .. {regime['slopes'][1]:.3g}"
        print(f"  {law} for {where} ({regime['criterion']})")
    if result.exponent is not None and result.window is None:
        print(f"  alpha^-{result.exponent:.6g} holds over less than a decade of this finite spectrum: not reported")
    return 0


def cmd_plateau(args) -> int:

    from ..committee.plateau import find_plateau, initial_asymmetry

    case = load_case(args.case, require_init=False, require_alpha=False)
    output = checked_output(args.output, OUTPUTS["plateau"])
    if args.certify:  # refuse before the plateau's work, not after it
        from ..committee.certify import require_certifiable_plateau

        if case.init is not None:
            raise CaseError("certify", "certified plateaus are for the infinite-N teacher: drop init")
        require_certifiable_plateau(case.model, certify_prec(args))
    teacher = case.init.t if case.init is not None else None
    dps = case_dps(args, case)
    plateau = find_plateau(case.model, case.eta, teacher=teacher, dps=dps)
    finite = lambda values: None if values is None else [float(v) if np.isfinite(v) else None for v in values]  # noqa: E731
    extra = {
        "R": plateau.R,
        "Q": plateau.Q,
        "C": plateau.C,
        "eps_g": plateau.eps_g,
        "escape_rate": plateau.escape_rate,
        "stability": "saddle (a plateau: left at rate escape_rate)"
        if plateau.is_unstable
        else "not unstable (no escape from it)",
        "eigenvalues": [[float(e.real), float(e.imag)] for e in plateau.eigenvalues],
        "R_matrix": plateau.R_matrix,
        "Q_matrix": plateau.Q_matrix,
        "teacher_split": plateau.teacher_split,
        "heights": {
            "R_l": finite(plateau.heights_R),
            "Q_l": finite(plateau.heights_Q),
            "C_l": finite(plateau.heights_C),
        },
        "closed_form": plateau.closed_form,
        "seed": case.init_spec.get("seed"),
    }
    if plateau.readout is not None:  # per-unit read-out weights: the students' at the plateau
        extra["readout"] = plateau.readout
    if case.init_spec.get("kind") == "random" and case.init_spec.get("sigma_J", 0) > 0 and plateau.is_unstable:
        delta0 = initial_asymmetry(case.init_spec["sigma_J"], case.init_spec["N"])
        extra["escape"] = {
            "delta0": delta0,
            "delta_end": 1.0,
            "alpha_esc": plateau.escape_time(delta0),
            "delta0_rule": "sigma_J / sqrt(N)",
        }
    if dps is not None:
        evaluation = plateau.precise.evaluation.require("plateau")
        names = ("R", "Q", "C", "eps_g", "escape_rate")
        strings = dict(zip(names, evaluation.strings()))
        extra["decimal"] = {name: value for name, value in strings.items() if value is not None}
        extra.update(evaluation.as_dict())
    if args.certify:
        from ..committee.certify import plateau_enclosures

        start = (plateau.R, plateau.Q, plateau.Q if plateau.C is None else plateau.C)
        extra.update(plateau_enclosures(case.model, case.eta, certify_prec(args), start=start))
    write_result("plateau", case, output, extra, plateau)
    print(
        f"wrote {output}: R = {plateau.R:.6g}, Q = {plateau.Q:.6g}, eps_g = {plateau.eps_g:.6g}, escape rate = {plateau.escape_rate:.6g}"
    )
    return 0


def cmd_spectrum(args) -> int:
    from ..committee.data_spectrum import (
        check_spectrum,
        empirical_spectrum,
        fit_power_law,
        load_example,
        load_matrix,
        trainable_floors,
    )

    if (args.data is None) == (args.example is None):
        raise CaseError("DATA", "give a .npy file or --example NAME (not both)")
    source = args.data if args.data else f"example:{args.example}"
    array = load_example(args.example) if args.example else load_matrix(args.data)
    if np.ndim(array) == 1:  # already a spectrum
        evals, dropped, X = check_spectrum(array), 0, None
    else:
        spec = empirical_spectrum(array)
        evals, dropped, X = spec.eigenvalues, spec.dropped, array
    fit = fit_power_law(evals, args.k_min, args.k_max, X=X, bootstrap=args.bootstrap, seed=args.seed)
    L = len(evals)
    n_values = sorted({int(v) for v in np.unique(np.geomspace(1, max(1, L - 1), 12).astype(int))})
    floors = trainable_floors(evals, n_values)
    payload = provenance(
        "spectrum",
        {"data": source, "k_min": args.k_min, "k_max": args.k_max, "bootstrap": args.bootstrap},
        {
            "seed": args.seed,
            "eigenvalues": evals,
            "dropped_zero_variance": dropped,
            "beta": fit.beta,
            "beta_stderr": fit.beta_stderr,
            "beta_bootstrap_std": fit.beta_bootstrap_std,
            "fit_ranks": [fit.k_min, fit.k_max],
            "trainable": {"N_l": n_values, "eps_g_floor": floors},
        },
    )
    write_json(args.output, payload)
    spread = f", bootstrap std {fit.beta_bootstrap_std:.3f}" if fit.beta_bootstrap_std is not None else ""
    print(
        f"wrote {args.output}: {L} eigenvalues ({dropped} zero-variance dropped), beta = {fit.beta:.3f} +- {fit.beta_stderr:.3f}{spread}"
    )
    return 0


def cmd_derive(args) -> int:
    from ..committee.case import read_case_file
    from ..committee.derive.odes import derive_index_system

    raw = read_case_file(args.case)
    if "model" not in raw and "N" in raw:  # a random-feature case (theorykit rf)
        from .rf import derive_rf

        return derive_rf(raw, args.latex)
    case = load_case(args.case, require_init=False)
    # per-unit read-out weights have their own derivation (v_i = -w_i in place of c_K)
    system = derive_index_system(case.model.small_lr, per_unit_readout=case.model.per_unit_readout)
    if args.latex:
        for name, tex in system.latex().items():
            print(f"% {name}\n\\begin{{equation}}\n{name} = {tex}\n\\end{{equation}}")
    else:
        print(f"G_ix = {system.G}\nW_ij = {system.W}\ndOmega/dalpha = {system.drift}\neps_g = {system.eps_g}")
        if case.model.weight_decay:
            print(f"decay in dOmega/dalpha = {system.decay}")
        if system.readout_drift is not None:
            print(f"dv_i/dalpha = eta_v * ({system.readout_drift}),  v_i = -w_i")
    return 0
