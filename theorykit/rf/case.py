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

from ..core.schema import reject_unknown, require, table
from .model import RandomFeatureModel, check_times
from .schema import RANDOM_FEATURES

MODEL_FIELDS = ("N", "P", "a", "gamma", "T", "noise", "teacher_exponent", "normalization", "loss", "eigenvalues")


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
    """Validate a case dict (see the module docstring) into an :class:`RFCase`.

    Field rules live in :data:`theorykit.rf.schema.RANDOM_FEATURES`; the model checks its own.
    """
    data = table(data, "CASE")
    reject_unknown(data, RANDOM_FEATURES.section(""), "")
    for required in ("N", "P", "times"):
        require(data, required, "")
    fields = {name: data[name] for name in MODEL_FIELDS if name in data}
    model = RandomFeatureModel(**fields)
    times = check_times(data["times"])
    method = RANDOM_FEATURES.check("method", data.get("method", RANDOM_FEATURES.default("method")))
    dps = data.get("dps", RANDOM_FEATURES.default("dps"))
    if dps is not None:
        dps = RANDOM_FEATURES.check("dps", dps)
    sim = table(data.get("simulation", {}), "simulation")
    reject_unknown(sim, RANDOM_FEATURES.section("simulation"), "simulation.")
    draws, seed = (
        RANDOM_FEATURES.check(f"simulation.{k}", sim.get(k, RANDOM_FEATURES.default(f"simulation.{k}")))
        for k in ("draws", "seed")
    )
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
