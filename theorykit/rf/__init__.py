"""Random-feature / kernel regression: dynamical mean-field theory and exact simulation.

Public API:

* :class:`RandomFeatureModel` -- the model and its conventions;
* :func:`solve_rf` -> :class:`RFTheory` -- DMFT learning curves (Laplace, Volterra, decoupled);
* :func:`stationary_error` -- the t -> infinity / Bayesian posterior error;
* :func:`simulate_rf` -> :class:`RFSimulation` -- exact finite-model curves over data sets;
* :func:`asymptotics`, :func:`local_exponent`, :func:`early_stopping`, :func:`pareto_frontier`.
"""

from .analysis import asymptotics, compute_nPt, early_stopping, local_exponent, pareto_frontier
from .dmft import RFTheory, solve_rf, stationary_error
from .model import RandomFeatureModel
from .simulate import RFSimulation, simulate_rf

__all__ = [
    "RFSimulation",
    "RFTheory",
    "RandomFeatureModel",
    "asymptotics",
    "compute_nPt",
    "early_stopping",
    "local_exponent",
    "pareto_frontier",
    "simulate_rf",
    "solve_rf",
    "stationary_error",
]
