"""Random-feature / kernel regression: dynamical mean-field theory and exact simulation.

Public API:

* :class:`RandomFeatureModel` -- the model and its conventions;
* :func:`solve_rf` -> :class:`RFTheory` -- DMFT learning curves (Laplace, Volterra, decoupled);
* :func:`stationary_error` -- the t -> infinity / Bayesian posterior error;
* :func:`simulate_rf` -> :class:`RFSimulation` -- exact finite-model curves over data sets;
* :func:`asymptotics`, :func:`local_exponent`, :func:`early_stopping`, :func:`pareto_frontier`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

#: Public name -> the module (relative to this package) that defines it; imported on first use.
_WHERE = {
    "asymptotics": ".analysis",
    "compute_nPt": ".analysis",
    "early_stopping": ".analysis",
    "local_exponent": ".analysis",
    "pareto_frontier": ".analysis",
    "RFTheory": ".dmft",
    "solve_rf": ".dmft",
    "stationary_error": ".dmft",
    "RandomFeatureModel": ".model",
    "RFSimulation": ".simulate",
    "simulate_rf": ".simulate",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'theorykit.rf' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # the names as static analysers and IDEs should see them
    from .analysis import asymptotics, compute_nPt, early_stopping, local_exponent, pareto_frontier  # noqa: F401
    from .dmft import RFTheory, solve_rf, stationary_error  # noqa: F401
    from .model import RandomFeatureModel  # noqa: F401
    from .simulate import RFSimulation, simulate_rf  # noqa: F401
