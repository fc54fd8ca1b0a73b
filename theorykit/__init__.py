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

The code is laid out by model over shared machinery: :mod:`theorykit.core` (imports no model),
:mod:`theorykit.committee`, :mod:`theorykit.rf`, and on top :mod:`theorykit.figures` and
:mod:`theorykit.cli` (``docs/architecture.md``).  Names are imported on first use, so
``import theorykit`` loads neither SymPy nor SciPy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._version import __version__
from .core.lazy import lazy_exports

#: Public name -> the module (relative to this package) that defines it.
_WHERE = {
    "CaseError": ".core.errors",
    "DerivationError": ".core.errors",
    "NumericalFailure": ".core.errors",
    "TheorykitError": ".core.errors",
    "CommitteeModel": ".committee.model",
    "Spectrum": ".committee.model",
    "compile_model": ".committee.compiled",
    "NumericActivation": ".committee.derive.activations",
    "get_activation": ".committee.derive.activations",
    "Comparison": ".committee.derive.compare",
    "compare_expressions": ".committee.derive.compare",
    "derive_index_system": ".committee.derive.odes",
    "Plateau": ".committee.plateau",
    "find_plateau": ".committee.plateau",
    "initial_asymmetry": ".committee.plateau",
    "plot_learning_curve": ".committee.plotting",
    "SimulationResult": ".committee.simulate.sgd",
    "simulate": ".committee.simulate.sgd",
    "EigenmodeSystem": ".committee.solve.eigenmode",
    "Overlaps": ".committee.solve.initial",
    "random_overlaps": ".committee.solve.initial",
    "Solution": ".committee.solve.integrate",
    "SolverConfig": ".committee.solve.integrate",
    "log_alpha": ".committee.solve.integrate",
    "solve": ".committee.solve.integrate",
    "MomentSystem": ".committee.solve.moments",
}

__all__ = ["__version__", "rf", *sorted(_WHERE)]

_getattr, __dir__ = lazy_exports(__name__, globals(), _WHERE)


def __getattr__(name: str):
    if name == "rf":  # the random-feature subpackage (its own names load on use too)
        return importlib.import_module(".rf", __name__)
    return _getattr(name)


if TYPE_CHECKING:  # the names as static analysers and IDEs should see them
    from . import rf  # noqa: F401
    from .committee.compiled import compile_model  # noqa: F401
    from .committee.derive.activations import NumericActivation, get_activation  # noqa: F401
    from .committee.derive.compare import Comparison, compare_expressions  # noqa: F401
    from .committee.derive.odes import derive_index_system  # noqa: F401
    from .committee.model import CommitteeModel, Spectrum  # noqa: F401
    from .committee.plateau import Plateau, find_plateau, initial_asymmetry  # noqa: F401
    from .committee.plotting import plot_learning_curve  # noqa: F401
    from .committee.simulate.sgd import SimulationResult, simulate  # noqa: F401
    from .committee.solve.eigenmode import EigenmodeSystem  # noqa: F401
    from .committee.solve.initial import Overlaps, random_overlaps  # noqa: F401
    from .committee.solve.integrate import Solution, SolverConfig, log_alpha, solve  # noqa: F401
    from .committee.solve.moments import MomentSystem  # noqa: F401
    from .core.errors import CaseError, DerivationError, NumericalFailure, TheorykitError  # noqa: F401
