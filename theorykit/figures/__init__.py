"""Paper-figure reproductions: each writes PNG, PDF and the JSON numbers behind it.

:data:`FIGURES` maps a figure's name to its function.  The names and where each function lives
are listed here once; a figure's module (and with it the solvers and matplotlib) is imported
only when the figure is looked up, so the CLI can offer the names without loading them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping

#: Figure name -> module (relative to :mod:`theorykit`) holding a function of that name.
_WHERE = {
    "fig1": "committee.figures.late_figures",
    "fig2_left": "committee.figures.linear_figures",
    "fig2_right": "committee.figures.linear_figures",
    "fig3_left": "committee.figures.linear_figures",
    "fig3_right": "committee.figures.linear_figures",
    "fig4": "committee.figures.plateau_figures",
    "fig5": "committee.figures.plateau_figures",
    "fig6": "committee.figures.late_figures",
    "rf_bias_variance": "rf.figures",
    "rf_pareto": "rf.figures",
}


class _Registry(Mapping):
    """Name -> figure function, importing the function's module on first use."""

    def __getitem__(self, name: str) -> Callable:
        module = importlib.import_module(f"theorykit.{_WHERE[name]}")
        return getattr(module, name)

    def __iter__(self) -> Iterator[str]:
        return iter(_WHERE)

    def __len__(self) -> int:
        return len(_WHERE)


FIGURES: Mapping[str, Callable] = _Registry()

__all__ = ["FIGURES"]
