"""Kramp, Lindner & Helias, Fig. 1: bias-variance over time and the compute Pareto frontier.

Theory lines from the DMFT (Laplace route), points from the exact finite-model simulation.
Reduced defaults take well under a minute on 2 cores; ``full=True`` uses N = 2000 features
and 200 data sets per point.  Each figure function returns a
:class:`~theorykit.core.figure_data.FigureData`; ``draw_<name>`` draws its numbers and nothing else.
"""

from __future__ import annotations

import numpy as np

from ..core.figure_data import FigureData, layout
from . import RandomFeatureModel, pareto_frontier, simulate_rf, solve_rf

#: The weight decays of :func:`rf_bias_variance`, each with its line style and its label.
_DECAYS = ((0.0, "-", r"$\gamma=0$"), (0.05, "--", r"$\gamma=0.05$"))
_QUANTITIES = (("eps_g", "k", r"$\varepsilon_g$"), ("bias", "tab:blue", "bias"), ("variance", "tab:red", "variance"))


def rf_bias_variance(full: bool = False) -> FigureData:
    """eps_g, bias and variance against time, gradient flow with label noise, with and without weight decay."""
    N, P, draws = (2000, 1000, 200) if full else (400, 200, 20)
    base = RandomFeatureModel(N=N, P=P, a=0.5, noise=0.5)
    times = np.geomspace(1e-2, 1e4, 60)
    sim_times = np.geomspace(1e-2, 1e4, 13)
    numbers = {"times": times, "sim_times": sim_times}
    for gamma, _style, label in _DECAYS:
        model = base.with_(gamma=gamma)
        theory = solve_rf(model, times)
        sim = simulate_rf(model, sim_times, draws=draws, seed=1)
        numbers[label] = {
            "theory": {q: getattr(theory, q) for q in ("eps_g", "bias", "variance")},
            "simulation": {"eps_g": sim.eps_g, "eps_g_se": sim.eps_g_se, "bias": sim.bias, "variance": sim.variance},
        }
    settings = {"model": base.as_dict(), "gammas": [gamma for gamma, *_ in _DECAYS], "draws": draws, "seed": 1}
    return FigureData.create("rf_bias_variance", numbers, settings, draw_rf_bias_variance)


@layout(width=6.0)
def draw_rf_bias_variance(data: FigureData, axes) -> None:
    """:func:`rf_bias_variance`'s numbers onto one Axes."""
    (ax,) = axes
    n, model = data.numbers, data.settings["model"]
    for _gamma, style, label in _DECAYS:
        theory, sim = n[label]["theory"], n[label]["simulation"]
        for quantity, colour, name in _QUANTITIES:
            ax.plot(n["times"], theory[quantity], style, color=colour, lw=1.5, label=f"{name} {label}")
            marker = "o" if style == "-" else "s"
            ax.plot(n["sim_times"], sim[quantity], marker, color=colour, ms=3.5, mfc="none")
    ax.set(xscale="log", yscale="log", ylim=(1e-3, 1), xlabel="training time $t$", ylabel="error")
    title = (
        f"N={model['N']}, P={model['P']}, a={model['a']:g}, s={model['noise']:g}: "
        f"DMFT (lines), simulation ({data.settings['draws']} data sets, points)"
    )
    ax.set_title(title, fontsize=9)
    ax.legend(frameon=False, fontsize=7, ncol=2)


def rf_pareto(full: bool = False) -> FigureData:
    """eps_g against compute f = N P t for several P, with the lower envelope (early stopping included)."""
    N, draws = (2000, 100) if full else (500, 10)
    Ps = [25, 50, 100, 200, 400, 800] if full else [25, 50, 100, 200, 400]
    model = RandomFeatureModel(N=N, P=Ps[0], a=0.5, noise=0.3)
    front = pareto_frontier(model, Ps, t_min=1e-3, t_max=1e5, points=150)
    numbers = {
        "P": Ps,
        "frontier": {"f": front["f"], "eps": front["eps"]},
        "exponent": front["exponent"],
        "curves": {str(P): {"f": front["curves"][P]["f"], "eps_g": front["curves"][P]["eps_g"]} for P in Ps},
    }
    for P in Ps:
        sim_t = np.geomspace(1e-2, 1e4, 7)
        sim = simulate_rf(model.with_(P=P), sim_t, draws=draws, seed=2)
        numbers[f"simulation_P{P}"] = {"t": sim_t, "eps_g": sim.eps_g, "eps_g_se": sim.eps_g_se}
    settings = {"model": model.as_dict(), "P": Ps, "draws": draws, "seed": 2}
    return FigureData.create("rf_pareto", numbers, settings, draw_rf_pareto)


@layout(width=6.0)
def draw_rf_pareto(data: FigureData, axes) -> None:
    """:func:`rf_pareto`'s numbers onto one Axes: each P's curve, its simulation's running minimum, the frontier."""
    (ax,) = axes
    n, model = data.numbers, data.settings["model"]
    for c, P in enumerate(data.settings["P"]):
        curve, sim = n["curves"][str(P)], n[f"simulation_P{P}"]
        ax.plot(curve["f"], curve["eps_g"], color=f"C{c}", lw=1.2, label=f"P={P}")
        f_sim = model["N"] * P * sim["t"]
        ax.plot(f_sim, np.minimum.accumulate(sim["eps_g"]), "o", color=f"C{c}", ms=3.5, mfc="none")
    frontier = n["frontier"]
    ax.plot(frontier["f"], frontier["eps"], "k--", lw=1.5, label=f"frontier, slope {-n['exponent']:.3f}")
    ax.set(xscale="log", yscale="log", xlabel="compute $f = N P t$", ylabel=r"$\min_{t' \leq t}\,\varepsilon_g$")
    title = f"N={model['N']}, a={model['a']:g}, s={model['noise']:g}: DMFT (lines), simulation ({data.settings['draws']} data sets, points)"
    ax.set_title(title, fontsize=9)
    ax.legend(frameon=False, fontsize=7)
