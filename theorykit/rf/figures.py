"""Kramp, Lindner & Helias, Fig. 1: bias-variance over time and the compute Pareto frontier.

Theory lines from the DMFT (Laplace route), points from the exact finite-model simulation.
Reduced defaults take well under a minute on 2 cores; ``full=True`` uses N = 2000 features
and 200 data sets per point.
"""

from __future__ import annotations

import numpy as np

from ..core.output import new_figure, save_figure
from . import RandomFeatureModel, pareto_frontier, simulate_rf, solve_rf


def rf_bias_variance(out_dir, full: bool = False):
    """eps_g, bias and variance against time, gradient flow with label noise, with and without weight decay."""
    N, P, draws = (2000, 1000, 200) if full else (400, 200, 20)
    base = RandomFeatureModel(N=N, P=P, a=0.5, noise=0.5)
    times = np.geomspace(1e-2, 1e4, 60)
    sim_times = np.geomspace(1e-2, 1e4, 13)
    fig, ax = new_figure(1, 6.0)
    numbers = {"times": times, "sim_times": sim_times}
    for label, model, style in (("$\\gamma=0$", base, "-"), ("$\\gamma=0.05$", base.with_(gamma=0.05), "--")):
        theory = solve_rf(model, times)
        sim = simulate_rf(model, sim_times, draws=draws, seed=1)
        for quantity, colour in (("eps_g", "k"), ("bias", "tab:blue"), ("variance", "tab:red")):
            name = {"eps_g": r"$\varepsilon_g$", "bias": "bias", "variance": "variance"}[quantity]
            ax.plot(times, getattr(theory, quantity), style, color=colour, lw=1.5, label=f"{name} {label}")
            ax.plot(sim_times, getattr(sim, quantity), "o" if style == "-" else "s", color=colour, ms=3.5, mfc="none")
        numbers[label] = {
            "theory": {q: getattr(theory, q) for q in ("eps_g", "bias", "variance")},
            "simulation": {"eps_g": sim.eps_g, "eps_g_se": sim.eps_g_se, "bias": sim.bias, "variance": sim.variance},
        }
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-3, 1)
    ax.set_xlabel("training time $t$")
    ax.set_ylabel("error")
    ax.set_title(f"N={N}, P={P}, a=0.5, s=0.5: DMFT (lines), simulation ({draws} data sets, points)", fontsize=9)
    ax.legend(frameon=False, fontsize=7, ncol=2)
    fig.tight_layout()
    settings = {"model": base.as_dict(), "gammas": [0.0, 0.05], "draws": draws, "seed": 1}
    return save_figure(fig, out_dir, "rf_bias_variance", numbers, settings)


def rf_pareto(out_dir, full: bool = False):
    """eps_g against compute f = N P t for several P, with the lower envelope (early stopping included)."""
    N, draws = (2000, 100) if full else (500, 10)
    Ps = [25, 50, 100, 200, 400, 800] if full else [25, 50, 100, 200, 400]
    model = RandomFeatureModel(N=N, P=Ps[0], a=0.5, noise=0.3)
    front = pareto_frontier(model, Ps, t_min=1e-3, t_max=1e5, points=150)
    fig, ax = new_figure(1, 6.0)
    colours = iter(["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"])
    numbers = {"P": Ps, "frontier": {"f": front["f"], "eps": front["eps"]}, "exponent": front["exponent"]}
    for P in Ps:
        colour = next(colours)
        curve = front["curves"][P]
        ax.plot(curve["f"], curve["eps_g"], color=colour, lw=1.2, label=f"P={P}")
        sim_t = np.geomspace(1e-2, 1e4, 7)
        sim = simulate_rf(model.with_(P=P), sim_t, draws=draws, seed=2)
        ax.plot(N * P * sim_t, np.minimum.accumulate(sim.eps_g), "o", color=colour, ms=3.5, mfc="none")
        numbers[f"simulation_P{P}"] = {"t": sim_t, "eps_g": sim.eps_g, "eps_g_se": sim.eps_g_se}
    ax.plot(front["f"], front["eps"], "k--", lw=1.5, label=f"frontier, slope {-front['exponent']:.3f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("compute $f = N P t$")
    ax.set_ylabel(r"$\min_{t' \leq t}\,\varepsilon_g$")
    ax.set_title(f"N={N}, a=0.5, s=0.3: DMFT (lines), simulation ({draws} data sets, points)", fontsize=9)
    ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return save_figure(
        fig, out_dir, "rf_pareto", numbers, {"model": model.as_dict(), "P": Ps, "draws": draws, "seed": 2}
    )
