"""Case files for ``theorykit rf``: one schema, checked before any work.

A case (JSON or TOML)::

    {"N": 1000, "P": 500, "a": 0.5, "gamma": 0.0, "T": 0.0, "noise": 0.0,
     "times": [0.1, 1, 10],
     "teacher_exponent": 0.0, "normalization": "sum", "loss": "sum",   # optional
     "eigenvalues": [...],                                              # optional, length N
     "method": "laplace", "dps": 30,                                    # optional
     "simulation": {"draws": 50, "seed": 0}}                            # optional

Errors name the field and the accepted range; unknown fields get a "did you mean".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..case import _int, _reject_unknown, _table
from ..errors import CaseError
from .dmft import METHODS
from .model import RandomFeatureModel, check_times

MODEL_FIELDS = ("N", "P", "a", "gamma", "T", "noise", "teacher_exponent", "normalization", "loss", "eigenvalues")
TOP_FIELDS = set(MODEL_FIELDS) | {"times", "method", "dps", "simulation"}
SIMULATION_FIELDS = {"draws", "seed"}


@dataclass(frozen=True)
class RFCase:
    model: RandomFeatureModel
    times: np.ndarray
    method: str
    dps: int | None
    draws: int
    seed: int
    raw: dict


def parse_rf_case(data: dict) -> RFCase:
    """Validate a case dict (see the module docstring) into an :class:`RFCase`."""
    data = _table(data, "CASE")
    _reject_unknown(data, TOP_FIELDS, "")
    for required in ("N", "P", "times"):
        if required not in data:
            raise CaseError(required, "missing required field")
    fields = {name: data[name] for name in MODEL_FIELDS if name in data}
    if "eigenvalues" in fields:
        values = fields["eigenvalues"]
        if not isinstance(values, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
        ):
            raise CaseError("eigenvalues", "must be a list of positive numbers")
        fields["eigenvalues"] = tuple(values)
    for name in ("normalization", "loss"):
        if name in fields and not isinstance(fields[name], str):
            raise CaseError(name, "must be a string")
    model = RandomFeatureModel(**fields)
    times = check_times(data["times"])
    method = data.get("method", "laplace")
    if method not in METHODS:
        raise CaseError("method", f"must be one of {list(METHODS)}, got {method!r}")
    dps = data.get("dps")
    if dps is not None:
        dps = _int(dps, "dps", 15, 200)
    sim = _table(data.get("simulation", {}), "simulation")
    _reject_unknown(sim, SIMULATION_FIELDS, "simulation.")
    draws = _int(sim.get("draws", 50), "simulation.draws", 2, 10**6)
    seed = _int(sim.get("seed", 0), "simulation.seed", 0, 2**63 - 1)
    return RFCase(model, times, method, dps, draws, seed, data)


def default_rf_case() -> dict:
    """The issue's example: N = 1000, P = 500, a = 0.5, gradient flow."""
    return {
        "N": 1000,
        "P": 500,
        "a": 0.5,
        "gamma": 0.0,
        "T": 0.0,
        "noise": 0.0,
        "times": np.round(np.geomspace(1e-2, 1e3, 31), 8).tolist(),
    }
