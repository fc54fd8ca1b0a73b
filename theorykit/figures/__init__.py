"""Paper-figure reproductions: numbers computed once, drawn onto any Axes, saved as PNG, PDF, JSON.

:data:`FIGURES` maps a figure's name to its function: ``FIGURES["fig2_left"](full=False)``
computes the numbers and returns a :class:`~theorykit.core.figure_data.FigureData`, whose
``draw(ax=None)`` returns the matplotlib Figure and ``save(dir)`` writes ``NAME.png``, ``.pdf``
and ``.json``.  :func:`load_figure` reads a saved ``NAME.json`` back, to draw it again (restyled,
or into a figure of one's own) without recomputing.

The names and where each function lives are listed here once (its drawing function is
``draw_NAME`` in the same module); a figure's module (and with it the solvers and matplotlib) is
imported only when the figure is looked up, so the CLI can offer the names without loading them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

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
    "readout": "committee.figures.readout_figures",
    "sweep_plateau_length": "committee.figures.sweep_figures",
    "sweep_late_exponent": "committee.figures.sweep_figures",
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


def load_figure(path: str | Path):
    """The figure saved as ``path`` (``NAME.json`` from ``theorykit figure``/``reproduce`` or
    :meth:`FigureData.save <theorykit.core.figure_data.FigureData.save>`), ready to draw.

    Example: ``load_figure("figures/fig1.json").draw(ax)`` puts Fig. 1 into one's own Axes.
    """
    from ..core.errors import CaseError
    from ..core.figure_data import FigureData

    name = Path(path).stem
    if name not in _WHERE:
        raise CaseError("path", f"{str(path)!r} is not a saved figure: its name must be one of {sorted(_WHERE)}")
    module = importlib.import_module(f"theorykit.{_WHERE[name]}")
    return FigureData.from_json(path, getattr(module, f"draw_{name}"))


__all__ = ["FIGURES", "load_figure"]
