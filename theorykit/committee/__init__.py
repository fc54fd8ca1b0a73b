"""The committee machine (soft committee, two layers, power-law input spectrum): model, derivation,
code generation, solvers, plateaus, the late phase, the linear network and SGD.

The curated API (names load on first use; the integrators are :func:`theorykit.solve` and
:func:`theorykit.simulate`, whose modules are :mod:`theorykit.committee.solve` and
:mod:`theorykit.committee.simulate`):

* model and cases: :class:`CommitteeModel`, :class:`Spectrum`, :func:`parse_case`, :func:`read_case_file`
* build: :func:`compile_model`, :class:`EigenmodeSystem` (the System: built once, kernel blocks by name)
* results: :class:`Solution`, :class:`SolverConfig`, :class:`Overlaps`, :func:`random_overlaps`
* plateaus: :func:`find_plateau`, :class:`Plateau`, :func:`initial_asymmetry`
* late phase: :func:`late_asymptotics`, :class:`LateAsymptotics`, :func:`late_phase_curve`
* linear network: :func:`linear_learning_curve`, :class:`LinearCurve`
* data: :func:`empirical_spectrum`, :func:`fit_power_law`
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.lazy import lazy_exports

_WHERE = {
    "CommitteeModel": ".model",
    "Spectrum": ".model",
    "parse_case": ".case",
    "read_case_file": ".case",
    "compile_model": ".compiled",
    "EigenmodeSystem": ".solve.eigenmode",
    "Solution": ".solve.integrate",
    "SolverConfig": ".solve.integrate",
    "Overlaps": ".solve.initial",
    "random_overlaps": ".solve.initial",
    "Plateau": ".plateau",
    "find_plateau": ".plateau",
    "initial_asymmetry": ".plateau",
    "LateAsymptotics": ".late_phase",
    "late_asymptotics": ".late_phase",
    "late_phase_curve": ".late_phase",
    "LinearCurve": ".linear_network",
    "linear_learning_curve": ".linear_network",
    "empirical_spectrum": ".data_spectrum",
    "fit_power_law": ".data_spectrum",
}

__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, globals(), _WHERE)

if TYPE_CHECKING:  # the names as static analysers and IDEs should see them
    from .case import parse_case, read_case_file  # noqa: F401
    from .compiled import compile_model  # noqa: F401
    from .data_spectrum import empirical_spectrum, fit_power_law  # noqa: F401
    from .late_phase import LateAsymptotics, late_asymptotics, late_phase_curve  # noqa: F401
    from .linear_network import LinearCurve, linear_learning_curve  # noqa: F401
    from .model import CommitteeModel, Spectrum  # noqa: F401
    from .plateau import Plateau, find_plateau, initial_asymmetry  # noqa: F401
    from .solve.eigenmode import EigenmodeSystem  # noqa: F401
    from .solve.initial import Overlaps, random_overlaps  # noqa: F401
    from .solve.integrate import Solution, SolverConfig  # noqa: F401
