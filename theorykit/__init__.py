"""theorykit: derive -> lower -> solve -> check the statistical mechanics of learning.

The public API (see ``docs/``):

* models: :class:`CommitteeModel`, :class:`Spectrum`
* derive: :func:`derive_index_system`, :func:`get_activation`, :class:`NumericActivation`,
  :func:`compare_expressions` (check a hand derivation against the derived one)
* lower/build: :func:`compile_model`
* solve: :func:`solve`, :class:`SolverConfig`, :class:`Solution`, :class:`Overlaps`,
  :func:`random_overlaps`, :func:`log_alpha`, :class:`MomentSystem`
* plateaus: :func:`find_plateau`, :class:`Plateau`, :func:`initial_asymmetry`
* check: :func:`simulate`, :class:`SimulationResult`, :func:`plot_learning_curve`
* random-feature regression: the :mod:`theorykit.rf` subpackage (:class:`~theorykit.rf.RandomFeatureModel`,
  :func:`~theorykit.rf.solve_rf`, :func:`~theorykit.rf.simulate_rf`, ...)
"""

from . import rf
from ._version import __version__
from .compiled import compile_model
from .derive.activations import NumericActivation, get_activation
from .derive.compare import Comparison, compare_expressions
from .derive.odes import derive_index_system
from .errors import CaseError, DerivationError, NumericalFailure, TheorykitError
from .model import CommitteeModel, Spectrum
from .plateau import Plateau, find_plateau, initial_asymmetry
from .plotting import plot_learning_curve
from .simulate import SimulationResult, simulate
from .solve.eigenmode import EigenmodeSystem
from .solve.initial import Overlaps, random_overlaps
from .solve.integrate import Solution, SolverConfig, log_alpha, solve
from .solve.moments import MomentSystem

__all__ = [
    "__version__",
    "CaseError",
    "CommitteeModel",
    "Comparison",
    "DerivationError",
    "EigenmodeSystem",
    "MomentSystem",
    "NumericActivation",
    "NumericalFailure",
    "Overlaps",
    "Plateau",
    "SimulationResult",
    "Solution",
    "SolverConfig",
    "Spectrum",
    "TheorykitError",
    "compare_expressions",
    "compile_model",
    "derive_index_system",
    "find_plateau",
    "get_activation",
    "initial_asymmetry",
    "log_alpha",
    "plot_learning_curve",
    "rf",
    "random_overlaps",
    "simulate",
    "solve",
]
