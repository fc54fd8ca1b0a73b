"""Plot helpers: each takes a matplotlib ``Axes`` and returns it."""

from __future__ import annotations

import numpy as np


def plot_learning_curve(
    ax, solution=None, simulation=None, label: str = "", color=None, logx: bool = True, logy: bool = True
):
    """Theory line and simulation mean +- one standard deviation over seeds on one Axes.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    solution : theorykit.Solution, optional
    simulation : theorykit.SimulationResult, optional
        Its Monte Carlo ``eps_g`` is drawn as points with a shaded spread.
    label : str
    color : optional matplotlib colour (shared by theory and simulation).

    Returns
    -------
    matplotlib.axes.Axes
    """
    if solution is not None:
        (line,) = ax.plot(solution.alpha, solution.eps_g, color=color, lw=1.8, label=f"{label} ODE".strip())
        color = line.get_color()
    if simulation is not None:
        mean, spread = simulation.mean("eps_g"), simulation.spread("eps_g")
        ax.fill_between(
            simulation.alpha, np.clip(mean - spread, 1e-300, None), mean + spread, color=color, alpha=0.25, lw=0
        )
        ax.plot(
            simulation.alpha,
            mean,
            "o",
            ms=3.5,
            color=color,
            label=f"{label} SGD (N={simulation.N}, {len(simulation.seeds)} seeds)".strip(),
        )
    if logx:
        ax.set_xscale("symlog", linthresh=max(1e-2, _first_positive(solution, simulation)))
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(r"$\alpha$")
    ax.set_ylabel(r"$\varepsilon_g$")
    ax.legend(frameon=False, fontsize=8)
    return ax


def _first_positive(*results) -> float:
    values = [r.alpha[r.alpha > 0].min() for r in results if r is not None and np.any(r.alpha > 0)]
    return min(values) if values else 1e-2
