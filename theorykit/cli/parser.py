"""The argument parser: every accepted name (method, flavour, backend, figure) from a schema or a registry."""

from __future__ import annotations

import argparse

from .._version import __version__
from ..committee.schema import COMMITTEE, FLAVOURS, SGD_BACKENDS, SOLVER_METHODS
from ..core.schema import DEFAULT_PREC, DPS_RULE, PREC_RULE
from ..data import EXAMPLES
from ..figures import FIGURES
from ..rf.schema import RANDOM_FEATURES, RF_METHODS
from ..sweeps import SCHEDULERS


class UsageError(Exception):
    """A command line argparse rejects (an unknown choice, a missing argument)."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line and exit code 2 from :func:`main` (not ``sys.exit`` inside)."""

    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message}")


#: Formats of each command's ``-o``, by extension: the JSON document with provenance; the result's
#: dataset (``to_xarray``) as NetCDF with the rest of the document in its attributes; and, where the
#: result is a curve, a CSV table along its axis (:data:`TABLE_ROWS`, :func:`theorykit.core.output.curve_table`).
OUTPUTS = {
    "solve": (".json", ".nc", ".csv"),
    "simulate": (".json", ".nc", ".csv"),
    "linear": (".json", ".nc", ".csv"),
    "rf": (".json", ".nc", ".csv"),
    "plateau": (".json", ".nc"),
    "asymptotics": (".json", ".nc"),
}
#: The axis along which a command's ``.csv`` table runs (one row per point).
TABLE_ROWS = {"solve": "alpha", "simulate": "alpha", "linear": "alpha", "rf": "time"}
#: Variables a command's table always spreads over columns, however many entries they have per point.
TABLE_COLUMNS = {"solve": ("R", "Q")}
_FORMAT_NAMES = {".json": ".json (with provenance)", ".nc": ".nc (xarray/NetCDF)", ".csv": ".csv (a table)"}


def _formats(formats: tuple) -> str:
    return ", ".join(_FORMAT_NAMES[f] for f in formats)


def _output_help(command: str) -> str:
    return f"output, its format by extension: {_formats(OUTPUTS[command])}"


def add_certify(p: argparse.ArgumentParser, what: str) -> None:
    """``--certify`` (``what`` says which enclosures) and ``--prec`` for one command."""
    p.add_argument("--certify", action="store_true", help=what + ' (needs pip install "theorykit[certify]")')
    p.add_argument(
        "--prec",
        type=int,
        help=f"bits of the ball arithmetic with --certify, {PREC_RULE.describe()} (default {DEFAULT_PREC})",
    )


def _choices(options) -> str:
    return ", ".join(options)


def build_parser() -> argparse.ArgumentParser:
    """The CLI; every accepted name (method, flavour, backend, figure) comes from the schema or a registry."""

    figures = sorted(FIGURES)
    dps_help = f"decimal digits, {DPS_RULE.describe()}; computed twice from the exact inputs, refused unless they agree"
    parser = _Parser(prog="theorykit", description="Derive, lower, solve and check learning dynamics.")
    parser.add_argument("--version", action="version", version=f"theorykit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--quiet", dest="progress_mode", action="store_const", const="quiet", help="no progress output")
    shown.add_argument(
        "--progress",
        dest="progress_mode",
        action="store_const",
        const="bar",
        help="a progress bar even when stderr is not a terminal (default there: a log line every 10 s)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("solve", help="integrate the order-parameter ODEs of a case")
    p.add_argument("case", help="case file (.json or .toml)")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help=_output_help("solve"),
    )
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
    p.set_defaults(func=".committee:cmd_solve")

    p = sub.add_parser("simulate", help="run SGD of the finite-N model for a case")
    p.add_argument("case", help="case file (.json or .toml); init optional")
    p.add_argument("-o", "--output", required=True, help=_output_help("simulate"))
    p.add_argument("--N", type=int, help=f"overrides simulation.N: {COMMITTEE['simulation.N'].meaning}")
    p.add_argument("--seeds", type=int, help=f"overrides simulation.seeds: {COMMITTEE['simulation.seeds'].meaning}")
    p.add_argument(
        "--backend",
        choices=SGD_BACKENDS,
        help=f"overrides simulation.backend: {COMMITTEE['simulation.backend'].meaning}",
    )
    p.set_defaults(func=".committee:cmd_simulate")

    p = sub.add_parser("demo", help="built-in case: ODE vs SGD plot of eps_g(alpha)")
    p.add_argument("-o", "--output", default="theorykit_demo", help="output folder")
    p.add_argument("--quick", action="store_true", help="smaller simulation")
    p.set_defaults(func=".committee:cmd_demo")

    p = sub.add_parser("linear", help="exact learning curve of a linear network (any precision)")
    p.add_argument("case", help="case file (.json or .toml), activation 'linear'")
    p.add_argument("-o", "--output", required=True, help=_output_help("linear"))
    p.add_argument("--dps", type=int, help=dps_help + "; values written as strings")
    add_certify(p, "also rigorous enclosures [lo, hi] in ball arithmetic")
    p.set_defaults(func=".committee:cmd_linear")

    p = sub.add_parser("plateau", help="symmetric plateau: fixed point, heights, escape rate (closed form where found)")
    p.add_argument("case", help="case file; init optional (a random init gives a finite-N teacher and an escape time)")
    p.add_argument("-o", "--output", required=True, help=_output_help("plateau"))
    p.add_argument("--dps", type=int, help=dps_help)
    add_certify(p, "also rigorous enclosures of R, Q, C, eps_g and the escape rate (infinite-N teacher)")
    p.set_defaults(func=".committee:cmd_plateau")

    p = sub.add_parser("asymptotics", help="late phase after specialisation: rates, power-law exponent, window")
    p.add_argument("case", help="case file (K = M); init and alpha are not needed")
    p.add_argument("-o", "--output", required=True, help=_output_help("asymptotics"))
    p.add_argument("--dps", type=int, help=dps_help + f" (default {COMMITTEE.default('dps')})")
    add_certify(p, "also rigorous enclosures of nu_slow, nu_fast, the decoupled and dense decay rates and the exponent")
    p.set_defaults(func=".committee:cmd_asymptotics")

    p = sub.add_parser("spectrum", help="eigenvalue spectrum of a data matrix, beta fit, trainable-dimension floors")
    p.add_argument("data", nargs="?", help=".npy matrix (rows = samples) or 1-d spectrum")
    p.add_argument("--example", choices=sorted(EXAMPLES), help="use a shipped data set instead")
    p.add_argument("-o", "--output", required=True, help="output JSON")
    p.add_argument("--k-min", type=int, default=2, help="first rank of the power-law fit (default 2)")
    p.add_argument("--k-max", type=int, help="last rank of the fit (default: half the spectrum)")
    p.add_argument("--bootstrap", type=int, default=50, help="row resamples for the spread of beta (default 50)")
    p.add_argument("--seed", type=int, default=0, help="seed of the resamples (default 0)")
    p.set_defaults(func=".committee:cmd_spectrum")

    p = sub.add_parser("figure", help="reproduce a paper figure (PNG, PDF, JSON)")
    p.add_argument("name", choices=figures, metavar="NAME", help=f"one of {_choices(figures)}")
    p.add_argument("-o", "--output", default="figures", help="output folder (default figures)")
    p.add_argument("--full", action="store_true", help="the paper's sizes (long)")
    p.set_defaults(func=".tools:cmd_figure")

    p = sub.add_parser("reproduce", help="every implemented paper figure (PNG, PDF, JSON), cached by content hash")
    p.add_argument("-o", "--output", default="figures", help="output folder (default figures)")
    p.add_argument(
        "--only", nargs="+", choices=figures, metavar="NAME", help=f"just these figures: {_choices(figures)}"
    )
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="reduced sizes (the default)")
    size.add_argument("--full", action="store_true", help="the papers' sizes (long)")
    p.add_argument("--force", action="store_true", help="redo even when the cached key matches")
    p.set_defaults(func=".tools:cmd_reproduce")

    p = sub.add_parser("derive", help="print the derived equations (committee: index form; rf case: the DMFT)")
    p.add_argument("case", help="case file (committee or random features)")
    p.add_argument("--latex", action="store_true", help="print LaTeX equations")
    p.set_defaults(func=".committee:cmd_derive")

    p = sub.add_parser("rf", help="random-feature regression: DMFT (or --simulate) eps_g, bias, variance over time")
    p.add_argument("case", help="case file: N, P, a, gamma, T, noise, times, ...")
    p.add_argument("-o", "--output", required=True, help=_output_help("rf"))
    p.add_argument("--method", choices=RF_METHODS, help=f"overrides method: {RANDOM_FEATURES['method'].meaning}")
    p.add_argument("--dps", type=int, help=dps_help + " (Laplace route)")
    p.add_argument("--simulate", action="store_true", help="exact simulation of the finite model instead of the DMFT")
    p.add_argument(
        "--draws", type=int, help=f"overrides simulation.draws: {RANDOM_FEATURES['simulation.draws'].meaning}"
    )
    p.add_argument("--seed", type=int, help=f"overrides simulation.seed: {RANDOM_FEATURES['simulation.seed'].meaning}")
    add_certify(p, "also a rigorous enclosure of the t -> infinity (ridge) error, gamma > 0 and T = 0")
    p.set_defaults(func=".rf:cmd_rf")

    p = sub.add_parser("sweep", help="one case command over a grid of case fields -> a labelled NetCDF dataset")
    p.add_argument("sweep", help="sweep file (.toml or .json): command, [case] or case = PATH, [grid], [zip]")
    p.add_argument("-o", "--output", required=True, help="output NetCDF (.nc)")
    p.add_argument("--workers", type=int, default=1, help="processes (local pool or Dask LocalCluster; default 1)")
    p.add_argument("--scheduler", choices=SCHEDULERS, default="local", help=f"where points run: {_choices(SCHEDULERS)}")
    p.add_argument("--address", help="a running Dask scheduler to connect to (with --scheduler dask)")
    p.set_defaults(func=".tools:cmd_sweep")

    p = sub.add_parser("cache", help="show or clear the generated-code cache")
    p.add_argument("action", choices=["dir", "clear"], help="dir: print the folder; clear: remove every entry")
    p.set_defaults(func=".tools:cmd_cache")
    return parser
