"""A fixed against a trained read-out: learning curves, ODE against SGD (issue 24's figure).

The same students and teachers learn once with the classic fixed read-out (c_K = 1/sqrt(K),
c_M = 1/sqrt(M)) and once with the students' read-out trained from small weights
(:class:`~theorykit.committee.model.SecondLayer`, ``eta_v = eta``): K = M = 2 and K = 2 students on
M = 3 teachers, erf, a power-law spectrum.  Lines: the ODE (``solve``); points: SGD of the finite
model from the same overlaps.  ``readout`` returns a :class:`~theorykit.core.figure_data.FigureData`.
"""

from __future__ import annotations

import numpy as np

from ...core.figure_data import FigureData, layout
from ..model import CommitteeModel, SecondLayer, Spectrum
from ..simulate.sgd import simulate
from ..solve.initial import random_overlaps
from ..solve.integrate import SolverConfig, solve

#: The students' read-out weights a trained read-out starts from (small: it must grow).
START = 0.2


def _cases(K: int, M: int, spectrum: Spectrum, eta: float) -> dict:
    teacher = [M**-0.5] * M
    return {
        "fixed": CommitteeModel(K, M, spectrum),
        "trained": CommitteeModel(K, M, spectrum, second_layer=SecondLayer([START] * K, teacher, eta)),
    }


def readout(full: bool = False) -> FigureData:
    """K = M = 2 and K = 2, M = 3; L = 8, beta = 1, eta = 0.5, sigma_J = 0.1 (N = 1000, 4 seeds, alpha to 250;
    full: N = 5000, 16 seeds, alpha to 400)."""
    L, beta, eta, sigma_J = 8, 1.0, 0.5, 0.1
    N, seeds, alpha_max = (5000, 16, 400.0) if full else (1000, 4, 250.0)
    alpha = np.concatenate([[0.0], np.geomspace(0.1, alpha_max, 120)])
    sim_alpha = np.concatenate([[0.0], np.geomspace(1.0, alpha_max, 12)])
    spectrum = Spectrum.power_law(L, beta)
    panels = {}
    for K, M in ((2, 2), (2, 3)):
        rows = {}
        for name, model in _cases(K, M, spectrum, eta).items():
            init = random_overlaps(model, N, sigma_J, 0)
            ode = solve(model, eta, init, alpha, SolverConfig("LSODA", 1e-9, 1e-12)).raise_for_status()
            sim = simulate(model, eta, sim_alpha, N, seeds=seeds, init=init, progress=False)
            rows[name] = {
                "eps_g_ode": ode.eps_g_json(),
                "v_ode": ode.v,
                "eps_g_sgd_mean": sim.mean("eps_g_overlaps"),
                "eps_g_sgd_min": sim.eps_g_overlaps.min(axis=0),
                "eps_g_sgd_max": sim.eps_g_overlaps.max(axis=0),
                "v_sgd_mean": None if sim.v is None or model.second_layer.eta == 0 else sim.v.mean(axis=0),
            }
        panels[f"K{K}_M{M}"] = {"K": K, "M": M, **rows}
    numbers = {"alpha": alpha, "sim_alpha": sim_alpha, "panels": panels}
    settings = {
        "L": L,
        "beta": beta,
        "eta": eta,
        "eta_v": eta,
        "student_readout_start": START,
        "sigma_J": sigma_J,
        "N": N,
        "seeds": seeds,
        "full": full,
    }
    return FigureData.create("readout", numbers, settings, draw_readout)


@layout(panels=3, width=4.3)
def draw_readout(data: FigureData, axes) -> None:
    """eps_g for K = M = 2 and for K = 2, M = 3 (fixed and trained read-out), and the trained v_i(alpha)."""
    n, s = data.numbers, data.settings
    alpha, sim_alpha = n["alpha"], n["sim_alpha"]
    for ax, panel in zip(axes[:2], n["panels"].values()):
        for colour, name in (("C0", "fixed"), ("C3", "trained")):
            row = panel[name]
            keep = alpha > 0
            ax.plot(alpha[keep], row["eps_g_ode"][keep], color=colour, label=f"{name} read-out: ODE")
            mean = row["eps_g_sgd_mean"]
            bars = [mean - row["eps_g_sgd_min"], row["eps_g_sgd_max"] - mean]
            ax.errorbar(sim_alpha[1:], mean[1:], yerr=[b[1:] for b in bars], fmt="o", ms=3, color=colour, alpha=0.8)
        ax.set(xscale="log", yscale="log", xlabel=r"$\alpha$", ylabel=r"$\varepsilon_g$")
        ax.set_title(rf"K = {panel['K']}, M = {panel['M']}: $\eta = \eta_v = {s['eta']:g}$", fontsize=9)
        ax.legend(
            frameon=False,
            fontsize=7,
            title=f"points: SGD, N = {s['N']} (range over {s['seeds']} seeds)",
            title_fontsize=7,
        )
    ax_v = axes[2]
    for c, panel in enumerate(n["panels"].values()):
        row = panel["trained"]
        for i, v in enumerate(np.asarray(row["v_ode"]).T):
            label = rf"K = {panel['K']}, M = {panel['M']}: $v_{i + 1}$"
            ax_v.plot(alpha[1:], v[1:], color=f"C{2 * c + i}", label=label)
            ax_v.plot(sim_alpha[1:], np.asarray(row["v_sgd_mean"])[1:, i], "o", ms=3, color=f"C{2 * c + i}")
    ax_v.axhline(2**-0.5, color="k", ls=":", lw=1, label=r"$1/\sqrt{2}$ (the fixed read-out)")
    ax_v.set(xscale="log", xlabel=r"$\alpha$", ylabel=r"student read-out $v_i$")
    ax_v.set_title(f"trained read-out from v = {s['student_readout_start']:g} (points: SGD mean)", fontsize=9)
    ax_v.legend(frameon=False, fontsize=7)
