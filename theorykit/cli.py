"""Command-line interface: ``theorykit <command>`` (also ``python -m theorykit``).

Exit codes: 0 success, 1 numerical failure, 2 bad input (one line on stderr, no traceback
unless ``--debug``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ._atomic import write_text_atomic
from ._version import __version__
from .errors import CaseError, NumericalFailure, TheorykitError
from .precision import check_dps
from .schema import COMMITTEE, DPS_RULE, EXPONENT_CONVENTION, PREC_RULE, RANDOM_FEATURES


def _write_json(path: str | Path, payload: dict) -> None:
    """Write JSON atomically; refuses NaN/inf (a result with them is a failure, not data)."""
    text = json.dumps(payload, indent=1, allow_nan=False, default=_jsonable)
    write_text_atomic(path, text + "\n")


def _jsonable(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _versions() -> dict:
    """Versions of the core dependencies and of every optional one this process has imported."""
    from importlib.metadata import PackageNotFoundError, version

    names = ["numpy", "scipy", "sympy", "mpmath"]
    names += [name for name in ("numba", "matplotlib", "torch", "threadpoolctl") if name in sys.modules]
    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:  # pragma: no cover - imported but not installed as a distribution
            out[name] = getattr(sys.modules.get(name), "__version__", "unknown")
    return out


def _provenance(command: str, case: dict, extra: dict) -> dict:
    return {
        "theorykit_version": __version__,
        "command": command,
        "versions": _versions(),
        "case": case,
        **extra,
    }


def _load_case(path: str, require_init: bool = True, require_alpha: bool = True):
    from .case import parse_case, read_case_file

    raw = read_case_file(path)
    return parse_case(raw, require_init=require_init, require_alpha=require_alpha)


def cmd_solve(args) -> int:
    from .solve.integrate import solve

    case = _load_case(args.case)
    solver = case.solver
    overrides = {
        k: v
        for k, v in (("method", args.method), ("rtol", args.rtol), ("atol", args.atol), ("flavour", args.flavour))
        if v is not None
    }
    if overrides:
        from dataclasses import replace

        solver = replace(solver, **overrides)  # re-validated by SolverConfig.__post_init__
    solution = solve(case.model, case.eta, case.init, case.alpha, solver)
    solution.raise_for_status()
    payload = _provenance(
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
        },
    )
    _write_json(args.output, payload)
    print(f"wrote {args.output}: {len(solution.alpha)} points, eps_g({solution.alpha[-1]:g}) = {solution.eps_g_text()}")
    return 0


def cmd_simulate(args) -> int:
    from .simulate import simulate

    case = _load_case(args.case, require_init=False)
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
    payload = _provenance(
        "simulate",
        case.raw,
        {
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
        },
    )
    _write_json(args.output, payload)
    print(f"wrote {args.output}: {len(seeds)} seeds, N = {sim_cfg['N']}")
    return 0


def cmd_demo(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .case import default_case, parse_case
    from .plotting import plot_learning_curve
    from .simulate import simulate
    from .solve.integrate import solve

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
    payload = _provenance(
        "demo",
        raw,
        {
            "seeds": result.seeds,
            "alpha": solution.alpha,
            "eps_g_ode": solution.eps_g_json(),
            "eps_g_sgd_mean": result.mean("eps_g"),
            "eps_g_sgd_std": result.spread("eps_g"),
        },
    )
    _write_json(out / "demo.json", payload)
    rel = np.abs(result.mean("eps_g_overlaps")[1:] - solution.eps_g[1:]) / solution.eps_g[1:]
    print(f"  max relative ODE-SGD difference in eps_g: {rel.max():.2%} (finite-N spread)")
    print(f"  wrote {out / 'demo.png'}, {out / 'demo.pdf'}, {out / 'demo.json'}")
    return 0


def cmd_linear(args) -> int:
    from .linear import effective_errors, linear_coefficients, linear_learning_curve, power_law_law, power_law_precise
    from .solve.linear import slowest_rate

    case = _load_case(args.case)
    dps = check_dps(args.dps)
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
        from .certify import linear_curve_enclosures

        extra.update(
            linear_curve_enclosures(case.model, case.eta, case.init, case.alpha, _certify_prec(args)).as_dict()
        )
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
    _write_json(args.output, _provenance("linear", case.raw, extra))
    print(f"wrote {args.output}: {len(curve.alpha)} points" + (f" at {dps} digits" if dps else ""))
    return 0


def cmd_asymptotics(args) -> int:
    from .late_phase import late_asymptotics

    case = _load_case(args.case, require_init=False, require_alpha=False)
    dps = COMMITTEE.default("dps") if args.dps is None else check_dps(args.dps)
    result = late_asymptotics(case.model, case.eta, dps=dps)
    result.evaluation.require("late-phase rates")
    payload = {**result.as_dict(), "exponent_convention": EXPONENT_CONVENTION}
    if args.certify:
        from .certify import late_phase_enclosures

        payload.update(late_phase_enclosures(case.model, case.eta, _certify_prec(args)))
    _write_json(args.output, _provenance("asymptotics", case.raw, payload))
    print(f"wrote {args.output}: eps_g decay rate {result.eps_rate:.6g} ({result.rate_method}); regimes:")
    for regime in result.regimes:
        lo, hi = regime["window"]
        where = f"alpha in [{lo:.3g}, {'inf' if hi is None else f'{hi:.3g}'}]"
        law = (
            f"alpha^-{regime['exponent']:.6g}" if regime["kind"] == "power_law" else f"exp(-{regime['rate']:.3g} alpha)"
        )
        print(f"  {law} for {where} ({regime['criterion']})")
    if result.exponent is not None and result.window is None:
        print(f"  alpha^-{result.exponent:.6g} holds over less than a decade of this finite spectrum: not reported")
    return 0


def cmd_plateau(args) -> int:

    from .plateau import find_plateau, initial_asymmetry

    case = _load_case(args.case, require_init=False, require_alpha=False)
    teacher = case.init.t if case.init is not None else None
    plateau = find_plateau(case.model, case.eta, teacher=teacher, dps=check_dps(args.dps))
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
    if case.init_spec.get("kind") == "random" and case.init_spec.get("sigma_J", 0) > 0 and plateau.is_unstable:
        delta0 = initial_asymmetry(case.init_spec["sigma_J"], case.init_spec["N"])
        extra["escape"] = {
            "delta0": delta0,
            "delta_end": 1.0,
            "alpha_esc": plateau.escape_time(delta0),
            "delta0_rule": "sigma_J / sqrt(N)",
        }
    if args.dps is not None:
        evaluation = plateau.precise.evaluation.require("plateau")
        names = ("R", "Q", "C", "eps_g", "escape_rate")
        strings = dict(zip(names, evaluation.strings()))
        extra["decimal"] = {name: value for name, value in strings.items() if value is not None}
        extra.update(evaluation.as_dict())
    if args.certify:
        from .certify import plateau_enclosures

        if case.init is not None:
            raise CaseError("certify", "certified plateaus are for the infinite-N teacher: drop init")
        extra.update(plateau_enclosures(case.model, case.eta, _certify_prec(args)))
    _write_json(args.output, _provenance("plateau", case.raw, extra))
    print(
        f"wrote {args.output}: R = {plateau.R:.6g}, Q = {plateau.Q:.6g}, eps_g = {plateau.eps_g:.6g}, escape rate = {plateau.escape_rate:.6g}"
    )
    return 0


def cmd_spectrum(args) -> int:
    from .spectrum import check_spectrum, empirical_spectrum, fit_power_law, load_example, load_matrix, trainable_floors

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
    payload = _provenance(
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
    _write_json(args.output, payload)
    spread = f", bootstrap std {fit.beta_bootstrap_std:.3f}" if fit.beta_bootstrap_std is not None else ""
    print(
        f"wrote {args.output}: {L} eigenvalues ({dropped} zero-variance dropped), beta = {fit.beta:.3f} +- {fit.beta_stderr:.3f}{spread}"
    )
    return 0


def cmd_figure(args) -> int:
    from .figures import FIGURES

    paths = FIGURES[args.name](args.output, full=args.full)
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def cmd_reproduce(args) -> int:
    from .figures.reproduce import reproduce

    def line(name: str, entry: dict) -> None:
        print(f"{name:18s} {entry['status']:6s} {entry['seconds']:7.1f} s  {entry['paths'][0].parent}", flush=True)

    reproduce(args.output, only=args.only, full=args.full, force=args.force, on_done=line)
    return 0


def cmd_derive(args) -> int:
    from .case import read_case_file
    from .derive.odes import derive_index_system

    raw = read_case_file(args.case)
    if "model" not in raw and "N" in raw:  # a random-feature case (theorykit rf)
        return _derive_rf(raw, args.latex)
    case = _load_case(args.case, require_init=False)
    system = derive_index_system(case.model.small_lr)
    if args.latex:
        for name, tex in system.latex().items():
            print(f"% {name}\n\\begin{{equation}}\n{name} = {tex}\n\\end{{equation}}")
    else:
        print(f"G_ix = {system.G}\nW_ij = {system.W}\ndOmega/dalpha = {system.drift}\neps_g = {system.eps_g}")
    return 0


def cmd_rf(args) -> int:
    from .case import read_case_file
    from .rf import asymptotics, simulate_rf, solve_rf
    from .rf.case import parse_rf_case

    case = parse_rf_case(read_case_file(args.case))
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
    else:
        theory = solve_rf(case.model, case.times, method=method, dps=dps)
        result = {"source": "dmft", **theory.as_dict()}
        settings.update({"method": method, "dps": dps})
        if case.model.gamma == 0.0:
            power_laws = asymptotics(case.model, dps=dps or 30)
            result["asymptotics"] = {k: v for k, v in power_laws.items() if k not in ("latex",)}
    if args.certify:
        from .certify import rf_stationary_enclosure

        result.update(rf_stationary_enclosure(case.model, _certify_prec(args)))
    _write_json(args.output, _provenance("rf", case.raw, {"settings": settings, **result}))
    print(f"wrote {args.output}")
    return 0


def _derive_rf(raw: dict, latex: bool) -> int:
    import sympy as sp

    from .derive.random_features import dmft_equations
    from .derive.rf_asymptotics import derive_decoupled_asymptotics
    from .rf.case import parse_rf_case

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


def cmd_cache(args) -> int:
    from .build.cache import cache_dir, clear_cache

    if args.action == "clear":
        print(f"removed {clear_cache()} entries from {cache_dir()}")
    else:
        print(cache_dir())
    return 0


class _UsageError(Exception):
    """A command line argparse rejects (an unknown choice, a missing argument)."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line and exit code 2 from :func:`main` (not ``sys.exit`` inside)."""

    def error(self, message: str):
        raise _UsageError(f"{self.prog}: {message}")


def _add_certify(p: argparse.ArgumentParser, what: str) -> None:
    """``--certify`` (``what`` says which enclosures) and ``--prec`` for one command."""
    from .certify import DEFAULT_PREC

    p.add_argument("--certify", action="store_true", help=what + ' (needs pip install "theorykit[certify]")')
    p.add_argument(
        "--prec",
        type=int,
        help=f"bits of the ball arithmetic with --certify, {PREC_RULE.describe()} (default {DEFAULT_PREC})",
    )


def _certify_prec(args) -> int:
    from .certify import DEFAULT_PREC

    return DEFAULT_PREC if args.prec is None else args.prec


def _choices(options) -> str:
    return ", ".join(options)


def build_parser() -> argparse.ArgumentParser:
    """The CLI; every accepted name (method, flavour, backend, figure) comes from the schema or a registry."""
    from .figures import FIGURES
    from .schema import FLAVOURS, RF_METHODS, SGD_BACKENDS, SOLVER_METHODS
    from .spectrum import EXAMPLES

    figures = sorted(FIGURES)
    dps_help = f"decimal digits, {DPS_RULE.describe()}; computed twice from the exact inputs, refused unless they agree"
    parser = _Parser(prog="theorykit", description="Derive, lower, solve and check learning dynamics.")
    parser.add_argument("--version", action="version", version=f"theorykit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("solve", help="integrate the order-parameter ODEs of a case")
    p.add_argument("case", help="case file (.json or .toml)")
    p.add_argument("-o", "--output", required=True, help="output JSON")
    p.add_argument(
        "--method",
        choices=SOLVER_METHODS,
        help=f"integrator (overrides solver.method): {COMMITTEE['solver.method'].meaning}",
    )
    p.add_argument("--rtol", type=float, help=f"overrides solver.rtol: {COMMITTEE['solver.rtol'].meaning}")
    p.add_argument("--atol", type=float, help=f"overrides solver.atol: {COMMITTEE['solver.atol'].meaning}")
    p.add_argument(
        "--flavour", choices=FLAVOURS, help=f"overrides solver.flavour: {COMMITTEE['solver.flavour'].meaning}"
    )
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser("simulate", help="run SGD of the finite-N model for a case")
    p.add_argument("case", help="case file (.json or .toml); init optional")
    p.add_argument("-o", "--output", required=True, help="output JSON")
    p.add_argument("--N", type=int, help=f"overrides simulation.N: {COMMITTEE['simulation.N'].meaning}")
    p.add_argument("--seeds", type=int, help=f"overrides simulation.seeds: {COMMITTEE['simulation.seeds'].meaning}")
    p.add_argument(
        "--backend",
        choices=SGD_BACKENDS,
        help=f"overrides simulation.backend: {COMMITTEE['simulation.backend'].meaning}",
    )
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("demo", help="built-in case: ODE vs SGD plot of eps_g(alpha)")
    p.add_argument("-o", "--output", default="theorykit_demo", help="output folder")
    p.add_argument("--quick", action="store_true", help="smaller simulation")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("linear", help="exact learning curve of a linear network (any precision)")
    p.add_argument("case", help="case file (.json or .toml), activation 'linear'")
    p.add_argument("-o", "--output", required=True, help="output JSON")
    p.add_argument("--dps", type=int, help=dps_help + "; values written as strings")
    _add_certify(p, "also rigorous enclosures [lo, hi] in ball arithmetic")
    p.set_defaults(func=cmd_linear)

    p = sub.add_parser("plateau", help="symmetric plateau: fixed point, heights, escape rate (closed form where found)")
    p.add_argument("case", help="case file; init optional (a random init gives a finite-N teacher and an escape time)")
    p.add_argument("-o", "--output", required=True, help="output JSON")
    p.add_argument("--dps", type=int, help=dps_help)
    _add_certify(p, "also rigorous enclosures of R, Q, C, eps_g (and the L = 1 escape rate) for the O(eta) erf plateau")
    p.set_defaults(func=cmd_plateau)

    p = sub.add_parser("asymptotics", help="late phase after specialisation: rates, power-law exponent, window")
    p.add_argument("case", help="case file (K = M); init and alpha are not needed")
    p.add_argument("-o", "--output", required=True, help="output JSON")
    p.add_argument("--dps", type=int, help=dps_help + f" (default {COMMITTEE.default('dps')})")
    _add_certify(p, "also rigorous enclosures of nu_slow, nu_fast, the decoupled rate and the exponent")
    p.set_defaults(func=cmd_asymptotics)

    p = sub.add_parser("spectrum", help="eigenvalue spectrum of a data matrix, beta fit, trainable-dimension floors")
    p.add_argument("data", nargs="?", help=".npy matrix (rows = samples) or 1-d spectrum")
    p.add_argument("--example", choices=sorted(EXAMPLES), help="use a shipped data set instead")
    p.add_argument("-o", "--output", required=True, help="output JSON")
    p.add_argument("--k-min", type=int, default=2, help="first rank of the power-law fit (default 2)")
    p.add_argument("--k-max", type=int, help="last rank of the fit (default: half the spectrum)")
    p.add_argument("--bootstrap", type=int, default=50, help="row resamples for the spread of beta (default 50)")
    p.add_argument("--seed", type=int, default=0, help="seed of the resamples (default 0)")
    p.set_defaults(func=cmd_spectrum)

    p = sub.add_parser("figure", help="reproduce a paper figure (PNG, PDF, JSON)")
    p.add_argument("name", choices=figures, metavar="NAME", help=f"one of {_choices(figures)}")
    p.add_argument("-o", "--output", default="figures", help="output folder (default figures)")
    p.add_argument("--full", action="store_true", help="the paper's sizes (long)")
    p.set_defaults(func=cmd_figure)

    p = sub.add_parser("reproduce", help="every implemented paper figure (PNG, PDF, JSON), cached by content hash")
    p.add_argument("-o", "--output", default="figures", help="output folder (default figures)")
    p.add_argument(
        "--only", nargs="+", choices=figures, metavar="NAME", help=f"just these figures: {_choices(figures)}"
    )
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="reduced sizes (the default)")
    size.add_argument("--full", action="store_true", help="the papers' sizes (long)")
    p.add_argument("--force", action="store_true", help="redo even when the cached key matches")
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser("derive", help="print the derived equations (committee: index form; rf case: the DMFT)")
    p.add_argument("case", help="case file (committee or random features)")
    p.add_argument("--latex", action="store_true", help="print LaTeX equations")
    p.set_defaults(func=cmd_derive)

    p = sub.add_parser("rf", help="random-feature regression: DMFT (or --simulate) eps_g, bias, variance over time")
    p.add_argument("case", help="case file: N, P, a, gamma, T, noise, times, ...")
    p.add_argument("-o", "--output", required=True, help="output JSON")
    p.add_argument("--method", choices=RF_METHODS, help=f"overrides method: {RANDOM_FEATURES['method'].meaning}")
    p.add_argument("--dps", type=int, help=dps_help + " (Laplace route)")
    p.add_argument("--simulate", action="store_true", help="exact simulation of the finite model instead of the DMFT")
    p.add_argument(
        "--draws", type=int, help=f"overrides simulation.draws: {RANDOM_FEATURES['simulation.draws'].meaning}"
    )
    p.add_argument("--seed", type=int, help=f"overrides simulation.seed: {RANDOM_FEATURES['simulation.seed'].meaning}")
    _add_certify(p, "also a rigorous enclosure of the t -> infinity (ridge) error, gamma > 0 and T = 0")
    p.set_defaults(func=cmd_rf)

    p = sub.add_parser("cache", help="show or clear the generated-code cache")
    p.add_argument("action", choices=["dir", "clear"], help="dir: print the folder; clear: remove every entry")
    p.set_defaults(func=cmd_cache)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        print(f"theorykit: error: {exc}", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except CaseError as exc:
        if args.debug:
            raise
        print(f"theorykit: error: {exc}", file=sys.stderr)
        return 2
    except NumericalFailure as exc:
        if args.debug:
            raise
        print(f"theorykit: numerical failure: {exc}", file=sys.stderr)
        return 1
    except TheorykitError as exc:
        if args.debug:
            raise
        print(f"theorykit: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
