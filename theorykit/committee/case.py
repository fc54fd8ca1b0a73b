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

Every error is a :class:`~theorykit.core.errors.CaseError` naming the field (``model.K``,
``init.r`` ...) and the accepted range; unknown fields get a "did you mean".
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import CaseError
from ..core.schema import reject_unknown, require, table
from .model import CommitteeModel, SecondLayer, Spectrum
from .schema import COMMITTEE
from .solve.initial import Overlaps, check_overlaps, random_overlaps
from .solve.integrate import SolverConfig, check_alpha, check_eta

_MAX_CASE_BYTES = 50_000_000

SPECTRUM_FIELDS = {"power_law": {"kind", "L", "beta", "fractions"}, "explicit": {"kind", "eigenvalues", "fractions"}}
INIT_FIELDS = {"overlaps": {"r", "q", "t"}, "random": {"kind", "N", "sigma_J", "seed"}}


def _field(section: dict, key: str, where: str):
    """``section[key]`` checked against the schema's rule for ``where + key``, or its default."""
    name = f"{where}{key}"
    value = section.get(key, COMMITTEE.default(name))
    return COMMITTEE.check(name, value)


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
    dps: int | None = None  # digits of the high-precision commands, when the file sets them


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
    except CaseError:
        raise
    except ValueError as exc:  # decode errors, and integers beyond Python's 4300-digit conversion limit
        first_line = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise CaseError(
            "CASE", f"{path.name} is not valid {'TOML' if path.suffix.lower() == '.toml' else 'JSON'}: {first_line}"
        ) from None
    except RecursionError:
        raise CaseError("CASE", f"{path.name} is nested too deeply") from None
    if not isinstance(data, dict):
        raise CaseError("CASE", "top level must be an object/table")
    return data


def _reject_constant(name: str):
    raise CaseError("CASE", f"{name} is not a finite number (JSON numbers must be finite)")


def parse_spectrum(section) -> Spectrum:
    section = table(section, "spectrum")
    kind = _field(section, "kind", "spectrum.")
    reject_unknown(section, SPECTRUM_FIELDS[kind], "spectrum.")
    fractions = section.get("fractions")
    if kind == "power_law":
        return Spectrum.power_law(require(section, "L", "spectrum."), require(section, "beta", "spectrum."), fractions)
    return Spectrum.explicit(require(section, "eigenvalues", "spectrum."), fractions)


def parse_model(section, spectrum: Spectrum, small_lr: bool) -> CommitteeModel:
    section = table(section, "model")
    reject_unknown(section, COMMITTEE.section("model"), "model.")
    # checked here too (same rule) so errors come in the file's order: K, M, then the rest
    K = COMMITTEE.check("model.K", require(section, "K", "model."))
    M = COMMITTEE.check("model.M", require(section, "M", "model."))
    activation = _field(section, "activation", "model.")
    normalization = section.get("normalization", COMMITTEE.default("model.normalization"))
    noise = section.get("noise", COMMITTEE.default("model.noise"))
    decay = section.get("weight_decay", COMMITTEE.default("model.weight_decay"))
    second_layer = None
    if "second_layer" in section:
        if "normalization" in section:
            raise CaseError("model.normalization", "give either normalization or second_layer, not both")
        layer = table(section["second_layer"], "model.second_layer")
        reject_unknown(layer, COMMITTEE.section("model.second_layer"), "model.second_layer.")
        second_layer = SecondLayer(
            require(layer, "student", "model.second_layer."),
            require(layer, "teacher", "model.second_layer."),
            layer.get("eta", COMMITTEE.default("model.second_layer.eta")),
        )
    return CommitteeModel(K, M, spectrum, activation, normalization, noise, small_lr, decay, second_layer)


def parse_init(section, model: CommitteeModel) -> tuple[Overlaps, dict]:
    section = table(section, "init")
    if "kind" in section:
        COMMITTEE.check("init.kind", section["kind"])
        reject_unknown(section, INIT_FIELDS["random"], "init.")
        N = COMMITTEE.check("init.N", require(section, "N", "init."))
        sigma_J = _field(section, "sigma_J", "init.")
        seed = _field(section, "seed", "init.")
        spec = {"kind": "random", "N": N, "sigma_J": sigma_J, "seed": seed}
        return check_overlaps(model, random_overlaps(model, N, sigma_J, seed)), spec
    reject_unknown(section, INIT_FIELDS["overlaps"], "init.")
    r, q, t = (COMMITTEE.check(f"init.{x}", require(section, x, "init.")) for x in "rqt")
    return check_overlaps(model, Overlaps(r, q, t)), {"kind": "overlaps"}


def parse_case(data: dict, require_init: bool = True, require_alpha: bool = True) -> CommitteeCase:
    """Validate a case dict (see the module docstring) into a :class:`CommitteeCase`.

    Field rules live in :data:`theorykit.committee.schema.COMMITTEE`; this function maps the file's
    tables onto the model classes, which check their arguments there.
    """
    data = table(data, "CASE")
    reject_unknown(data, COMMITTEE.section(""), "")
    dps = COMMITTEE.check("dps", data["dps"]) if "dps" in data else None
    small_lr = _field(data, "small_lr", "")
    spectrum = parse_spectrum(require(data, "spectrum", ""))
    model = parse_model(require(data, "model", ""), spectrum, small_lr)
    eta = check_eta(require(data, "eta", ""))
    solver_section = table(data.get("solver", {}), "solver")
    reject_unknown(solver_section, COMMITTEE.section("solver"), "solver.")
    solver = SolverConfig(**solver_section)
    sim = table(data.get("simulation", {}), "simulation")
    reject_unknown(sim, COMMITTEE.section("simulation"), "simulation.")
    simulation = {key: _field(sim, key, "simulation.") for key in ("N", "seeds", "n_test", "sigma_J", "backend")}
    if "init" in data:
        init, init_spec = parse_init(data["init"], model)
    elif require_init:
        raise CaseError(
            "init", "missing required field (per-mode overlaps r, q, t, or {kind = 'random', N, sigma_J, seed})"
        )
    else:
        init, init_spec = None, {}
    alpha = check_alpha(require(data, "alpha", "")) if require_alpha or "alpha" in data else None
    return CommitteeCase(model, eta, init, init_spec, alpha, solver, simulation, data, dps)


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
