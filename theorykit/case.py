"""Case files (JSON or TOML) for the committee machine: one schema, checked before any work.

A case::

    {"model": {"K": 2, "M": 2, "activation": "erf", "normalization": "sqrt", "noise": 0.0},
     "spectrum": {"kind": "power_law", "L": 4, "beta": 1.0}
               | {"kind": "explicit", "eigenvalues": [...], "fractions": [...]},
     "eta": 0.5, "small_lr": false,
     "init": {"r": [L][K][M], "q": [L][K][K], "t": [L][M][M]}
           | {"kind": "random", "N": 1024, "sigma_J": 0.01, "seed": 0},
     "alpha": [0, 1, 10, 100],
     "solver": {"method": "DOP853", "rtol": 1e-8, "atol": 1e-10, "flavour": "auto"},
     "simulation": {"N": 1024, "seeds": 4, "n_test": 2000}}

Every error is a :class:`~theorykit.errors.CaseError` naming the field (``model.K``,
``init.r`` ...) and the accepted range; unknown fields get a "did you mean".
"""

from __future__ import annotations

import difflib
import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import CaseError
from .model import CommitteeModel, Spectrum
from .sgd_backend import BACKENDS
from .solve.initial import Overlaps, check_overlaps, random_overlaps
from .solve.integrate import SolverConfig, check_alpha, check_eta

_MAX_CASE_BYTES = 50_000_000

TOP_FIELDS = {"model", "spectrum", "eta", "small_lr", "init", "alpha", "solver", "simulation"}
MODEL_FIELDS = {"K", "M", "activation", "normalization", "noise"}
SPECTRUM_FIELDS = {"power_law": {"kind", "L", "beta", "fractions"}, "explicit": {"kind", "eigenvalues", "fractions"}}
INIT_FIELDS = {"overlaps": {"r", "q", "t"}, "random": {"kind", "N", "sigma_J", "seed"}}
SOLVER_FIELDS = {"method", "rtol", "atol", "flavour", "max_step"}
SIMULATION_FIELDS = {"N", "seeds", "n_test", "sigma_J", "backend"}


def _reject_unknown(given: dict, allowed: set[str], where: str) -> None:
    for key in given:
        if key not in allowed:
            hint = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else f"; accepted: {sorted(allowed)}"
            raise CaseError(f"{where}{key}", f"unknown field{suggestion}")


def _require(section: dict, key: str, where: str):
    if key not in section:
        raise CaseError(f"{where}{key}", "missing required field")
    return section[key]


def _table(value, name: str) -> dict:
    if not isinstance(value, dict):
        raise CaseError(name, f"must be a table/object, got {type(value).__name__}")
    return value


def _int(value, name: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise CaseError(name, f"must be an integer in [{lo}, {hi}], got {value!r}")
    return value


def _float(value, name: str, lo: float = -math.inf, hi: float = math.inf, lo_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CaseError(name, f"must be a finite number, got {value!r}")
    if value < lo or value > hi or (lo_open and value == lo):
        bracket = "(" if lo_open else "["
        raise CaseError(name, f"must be in {bracket}{lo}, {hi}], got {value!r}")
    return float(value)


def _array(value, name: str) -> np.ndarray:
    try:
        arr = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise CaseError(name, "must be a nested list of numbers with a regular shape") from None
    if not np.all(np.isfinite(arr)):
        raise CaseError(name, "must hold finite numbers only")
    return arr


@dataclass(frozen=True)
class CommitteeCase:
    """A validated case: everything the solver and the simulator need."""

    model: CommitteeModel
    eta: float
    init: Overlaps | None
    init_spec: dict
    alpha: np.ndarray
    solver: SolverConfig
    simulation: dict
    raw: dict


def read_case_file(path: str | Path) -> dict:
    """Read JSON (``.json``) or TOML (``.toml``) into a dict; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise CaseError("CASE", f"no such file: {path}")
    if path.stat().st_size > _MAX_CASE_BYTES:
        raise CaseError("CASE", f"file larger than {_MAX_CASE_BYTES} bytes")
    text = path.read_bytes()
    try:
        if path.suffix.lower() == ".toml":
            data = tomllib.loads(text.decode("utf-8"))
        else:
            data = json.loads(text.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CaseError(
            "CASE",
            f"{path.name} is not valid {'TOML' if path.suffix.lower() == '.toml' else 'JSON'}: {str(exc).splitlines()[0]}",
        ) from None
    except RecursionError:
        raise CaseError("CASE", f"{path.name} is nested too deeply") from None
    if not isinstance(data, dict):
        raise CaseError("CASE", "top level must be an object/table")
    return data


def _reject_constant(name: str):
    raise CaseError("CASE", f"{name} is not a finite number (JSON numbers must be finite)")


def parse_spectrum(section) -> Spectrum:
    section = _table(section, "spectrum")
    kind = section.get("kind", "power_law")
    if kind not in SPECTRUM_FIELDS:
        raise CaseError("spectrum.kind", f"must be one of {sorted(SPECTRUM_FIELDS)}, got {kind!r}")
    _reject_unknown(section, SPECTRUM_FIELDS[kind], "spectrum.")
    fractions = section.get("fractions")
    if kind == "power_law":
        L = _int(_require(section, "L", "spectrum."), "spectrum.L", 1, 10**6)
        beta = _float(_require(section, "beta", "spectrum."), "spectrum.beta", -1.0, 1e3, lo_open=True)
        return Spectrum.power_law(L, beta, fractions)
    return Spectrum.explicit(_require(section, "eigenvalues", "spectrum."), fractions)


def parse_model(section, spectrum: Spectrum, small_lr: bool) -> CommitteeModel:
    section = _table(section, "model")
    _reject_unknown(section, MODEL_FIELDS, "model.")
    K = _int(_require(section, "K", "model."), "model.K", 1, 1000)
    M = _int(_require(section, "M", "model."), "model.M", 1, 1000)
    activation = section.get("activation", "erf")
    if not isinstance(activation, str):
        raise CaseError("model.activation", "must be a name (string)")
    normalization = section.get("normalization", "sqrt")
    noise = _float(section.get("noise", 0.0), "model.noise", 0.0, 1e6)
    return CommitteeModel(K, M, spectrum, activation, normalization, noise, small_lr)


def parse_init(section, model: CommitteeModel) -> tuple[Overlaps, dict]:
    section = _table(section, "init")
    if "kind" in section and section["kind"] != "random":
        raise CaseError("init.kind", f"must be 'random' (or omit it and give r, q, t), got {section['kind']!r}")
    if section.get("kind") == "random":
        _reject_unknown(section, INIT_FIELDS["random"], "init.")
        N = _int(_require(section, "N", "init."), "init.N", 2, 10**8)
        sigma_J = _float(section.get("sigma_J", 0.01), "init.sigma_J", 0.0, 1e3)
        seed = _int(section.get("seed", 0), "init.seed", 0, 2**63 - 1)
        spec = {"kind": "random", "N": N, "sigma_J": sigma_J, "seed": seed}
        return check_overlaps(model, random_overlaps(model, N, sigma_J, seed)), spec
    _reject_unknown(section, INIT_FIELDS["overlaps"], "init.")
    r = _array(_require(section, "r", "init."), "init.r")
    q = _array(_require(section, "q", "init."), "init.q")
    t = _array(_require(section, "t", "init."), "init.t")
    return check_overlaps(model, Overlaps(r, q, t)), {"kind": "overlaps"}


def parse_case(data: dict, require_init: bool = True, require_alpha: bool = True) -> CommitteeCase:
    """Validate a case dict (see the module docstring) into a :class:`CommitteeCase`."""
    data = _table(data, "CASE")
    _reject_unknown(data, TOP_FIELDS, "")
    small_lr = data.get("small_lr", False)
    if not isinstance(small_lr, bool):
        raise CaseError("small_lr", f"must be true or false, got {small_lr!r}")
    spectrum = parse_spectrum(_require(data, "spectrum", ""))
    model = parse_model(_require(data, "model", ""), spectrum, small_lr)
    eta = check_eta(_require(data, "eta", ""))
    solver_section = _table(data.get("solver", {}), "solver")
    _reject_unknown(solver_section, SOLVER_FIELDS, "solver.")
    solver = SolverConfig(**solver_section)
    sim = _table(data.get("simulation", {}), "simulation")
    _reject_unknown(sim, SIMULATION_FIELDS, "simulation.")
    simulation = {
        "N": _int(sim.get("N", 1000), "simulation.N", 2, 10**8),
        "seeds": _int(sim.get("seeds", 4), "simulation.seeds", 1, 10_000),
        "n_test": _int(sim.get("n_test", 2000), "simulation.n_test", 1, 10**7),
        "sigma_J": _float(sim.get("sigma_J", 0.01), "simulation.sigma_J", 0.0, 1e3),
        "backend": sim.get("backend", "auto"),
    }
    if simulation["backend"] not in BACKENDS:
        raise CaseError("simulation.backend", f"must be one of {list(BACKENDS)}, got {simulation['backend']!r}")
    if "init" in data:
        init, init_spec = parse_init(data["init"], model)
    elif require_init:
        raise CaseError(
            "init", "missing required field (per-mode overlaps r, q, t, or {kind = 'random', N, sigma_J, seed})"
        )
    else:
        init, init_spec = None, {}
    alpha = check_alpha(_require(data, "alpha", "")) if require_alpha or "alpha" in data else None
    return CommitteeCase(model, eta, init, init_spec, alpha, solver, simulation, data)


def default_case() -> dict:
    """The built-in demo case: K = M = 2 erf, four-eigenvalue power law, eta = 0.5."""
    return {
        "model": {"K": 2, "M": 2, "activation": "erf", "normalization": "sqrt"},
        "spectrum": {"kind": "power_law", "L": 4, "beta": 1.0},
        "eta": 0.5,
        "small_lr": False,
        "init": {"kind": "random", "N": 1000, "sigma_J": 0.3, "seed": 0},
        "alpha": [0.0] + np.round(np.geomspace(0.05, 100, 40), 6).tolist(),
        "simulation": {"N": 1000, "seeds": 4, "n_test": 2000},
    }
