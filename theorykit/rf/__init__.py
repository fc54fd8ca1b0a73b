"""Random-feature / kernel regression: dynamical mean-field theory and exact simulation.

Public API:

* :class:`RandomFeatureModel` -- the model and its conventions;
* :func:`solve_rf` -> :class:`RFTheory` -- DMFT learning curves (Laplace, Volterra, decoupled);
* :func:`stationary_error` -- the t -> infinity / Bayesian posterior error;
* :func:`simulate_rf` -> :class:`RFSimulation` -- exact finite-model curves over data sets;
* :func:`asymptotics`, :func:`local_exponent`, :func:`early_stopping`, :func:`pareto_frontier`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.lazy import lazy_exports

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
__getattr__, __dir__ = lazy_exports(__name__, globals(), _WHERE)


if TYPE_CHECKING:  # the names as static analysers and IDEs should see them
    from .analysis import asymptotics, compute_nPt, early_stopping, local_exponent, pareto_frontier  # noqa: F401
    from .dmft import RFTheory, solve_rf, stationary_error  # noqa: F401
    from .model import RandomFeatureModel  # noqa: F401
    from .simulate import RFSimulation, simulate_rf  # noqa: F401
