"""Plot helpers: each draws on a matplotlib ``Axes`` (a new one by default) and returns its ``Figure``."""

from __future__ import annotations

import numpy as np

#: What :func:`plot_learning_curve` draws for SGD: eps_g from the measured overlaps (exact for the
#: network's weights: no test-set noise) or the Monte Carlo test-set estimate.
SGD_ESTIMATES = {"overlaps": "eps_g_overlaps", "test_set": "eps_g"}


def plot_learning_curve(
    ax=None,
    solution=None,
    simulation=None,
    label: str = "",
    color=None,
    logx: bool = True,
    logy: bool = True,
    estimate: str = "overlaps",
):
    """Theory line and the SGD mean over seeds, with the seeds' range shaded, on one Axes.

    Parameters
    ----------
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: a new figure).
    solution : theorykit.Solution, optional
    simulation : theorykit.SimulationResult, optional
    label : str
    color : optional matplotlib colour (shared by theory and simulation).
    estimate : {"overlaps", "test_set"}
        SGD's eps_g from the measured overlaps (default: exactly the error of each network, so
        what remains is the seeds' spread) or from the finite test set (adds Monte Carlo noise
        of relative size ~ sqrt(2 / n_test), which at a few hundred test inputs can dwarf the
        difference to the theory).

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding ``ax``.
    """
    if estimate not in SGD_ESTIMATES:
        raise ValueError(f"estimate must be one of {sorted(SGD_ESTIMATES)}, got {estimate!r}")
    if ax is None:
        from ..core.output import new_figure

        _fig, ax = new_figure()
    if solution is not None:
        (line,) = ax.plot(solution.alpha, solution.eps_g, color=color, lw=1.8, label=f"{label} ODE".strip())
        color = line.get_color()
    if simulation is not None:
        values = getattr(simulation, SGD_ESTIMATES[estimate])
        # the range over seeds: positive, so it stays on a log axis (mean - std need not)
        ax.fill_between(simulation.alpha, values.min(axis=0), values.max(axis=0), color=color, alpha=0.25, lw=0)
        ax.plot(
            simulation.alpha,
            values.mean(axis=0),
            "o",
            ms=3.5,
            color=color,
            label=f"{label} SGD (N={simulation.N}, {len(simulation.seeds)} seeds; shaded: their range)".strip(),
        )
    if logx:
        threshold = max(1e-2, _first_positive(solution, simulation))
        ax.set_xscale("symlog", linthresh=threshold)
        # 0, then the decades beyond the linear stretch (a decade tick inside it crowds the 0)
        drawn = [r for r in (solution, simulation) if r is not None]
        top = max(float(np.max(r.alpha)) for r in drawn) if drawn else 1.0
        first = int(np.ceil(np.log10(threshold)))
        ax.set_xticks([0.0] + [10.0**k for k in range(first, int(np.ceil(np.log10(max(top, threshold)))) + 1)])
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(r"$\alpha$")
    ax.set_ylabel(r"$\varepsilon_g$")
    ax.legend(frameon=False, fontsize=8)
    return ax.figure


def _first_positive(*results) -> float:
    values = [r.alpha[r.alpha > 0].min() for r in results if r is not None and np.any(r.alpha > 0)]
    return min(values) if values else 1e-2
