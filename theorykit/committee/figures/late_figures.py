"""Worschech & Rosenow, Figs. 1 and 6: whole learning curves of the committee machine, and the late phase.

Each curve is the full non-linear ODE from initial overlaps drawn at finite N (the structured
exponential integrator, :mod:`theorykit.committee.solve.exponential`), SGD of the finite model on the
same axes, and two late-phase predictions (:mod:`theorykit.committee.late_phase`):

* the linearisation at the specialised fixed point, started from the ODE state at the first
  output time where the students are within 10 % of their teachers (``late start``);
* the power law :math:`\\alpha^{-\\beta/(1+\\beta)}` in the windows of the run's regimes
  (power-law spectra with ``L > 1``): from where its students are within 1 % of their teachers,
  as ``theorykit asymptotics`` reports them for a case with ``init``
  (:func:`~theorykit.committee.late_phase.late_asymptotics` with ``late_start``), drawn through
  the ODE curve at the window's geometric centre -- the slope and the window are predictions,
  the height is not.

Reduced defaults finish in minutes on 2 cores; ``full=True`` uses the paper's sizes (hours of
SGD on a CPU; the SGD backend takes a GPU when PyTorch sees one).  Each figure function returns a
:class:`~theorykit.core.figure_data.FigureData`; ``draw_figN`` draws its numbers and nothing else.
"""

from __future__ import annotations

import numpy as np

from ...core.figure_data import FigureData, layout
from ..late_phase import SPECIALISED, late_asymptotics, late_phase_curve, late_start_index
from ..model import CommitteeModel, Spectrum
from ..simulate.sgd import simulate
from ..solve.initial import random_overlaps
from ..solve.integrate import SolverConfig, solve


def late_curve(model: CommitteeModel, eta: float, solution, t: np.ndarray) -> dict | None:
    """Linearised late-phase curve from the ODE state at the late start (None if never reached)."""
    start = late_start_index(solution, t, model.spectrum.lam)
    if start is None or start >= solution.alpha.size - 1:
        return None
    alpha = solution.alpha[start:]
    eps = late_phase_curve(model, eta, solution.r[start], solution.q[start], t, alpha - alpha[0])
    return {"alpha": alpha, "eps_g": eps, "start": float(alpha[0])}


def power_law_guide(asymptotics, alpha: np.ndarray, eps: np.ndarray, start: float, window=None) -> dict | None:
    """The predicted power law over its window after ``start``, through the curve at the centre.

    ``start`` is the late start: before it the students have not specialised and the late-phase
    law does not apply even inside its window (for small L the plateau covers the window).
    ``window`` defaults to the asymptotics' first (:func:`power_law_guides` draws every one).
    """
    window = asymptotics.window if window is None else window
    if asymptotics.exponent is None or window is None:
        return None
    lo, hi = window
    lo, hi = max(lo, start, alpha[alpha > 0].min()), min(hi, alpha.max())
    if not lo < hi:
        return None
    centre = np.sqrt(lo * hi)
    pos = (alpha > 0) & np.isfinite(eps)  # eps_g below its round-off resolution is NaN
    height = float(np.exp(np.interp(np.log(centre), np.log(alpha[pos]), np.log(np.maximum(eps[pos], 1e-300)))))
    xs = np.geomspace(lo, hi, 20)
    return {"alpha": xs, "eps_g": height * (xs / centre) ** -asymptotics.exponent, "window": [lo, hi]}


def power_law_guides(asymptotics, alpha: np.ndarray, eps: np.ndarray, start: float) -> list[dict]:
    """:func:`power_law_guide` for every power-law regime of the asymptotics, each in its own window."""
    windows = [r["window"] for r in getattr(asymptotics, "regimes", []) if r["kind"] == "power_law"]
    guides = (power_law_guide(asymptotics, alpha, eps, start, tuple(w)) for w in windows)
    return [guide for guide in guides if guide is not None]


def _positive(alpha: np.ndarray, eps: np.ndarray):
    """Points drawable on log axes: alpha > 0 and eps_g > 0 (``None``/NaN: below round-off)."""
    eps = np.asarray(eps, dtype=float)
    keep = (alpha > 0) & (eps > 0)
    return alpha[keep], eps[keep]


#: Eigenvalue spread above which the ODE is stiff enough to need the exponential integrator.
STIFF_SPREAD = 100.0


def ode_config(spectrum: Spectrum, rtol: float) -> SolverConfig:
    """LSODA at tight tolerance for mildly stiff systems, the exponential integrator otherwise.

    The choice matters in the exponential tail of small L: there eps_g is second order in the
    deviation from the fixed point, so eps_g near 1e-12 needs the state to ~1e-7 absolute,
    which LSODA at ``rtol = 1e-10`` delivers cheaply and the exponential integrator at the
    ``rtol`` that suits the large stiff systems does not.
    """
    if spectrum.lam.max() / spectrum.lam.min() > STIFF_SPREAD:
        return SolverConfig(method="exponential", rtol=rtol, atol=1e-12)
    return SolverConfig(method="LSODA", rtol=1e-10, atol=1e-16)


def _curve(K, L, beta, eta, N, sigma_J, alpha, sim_alpha, seeds, seed=0, rtol=1e-5):
    """ODE, SGD and the two late-phase predictions for one model, as one JSON row."""
    model = CommitteeModel(K, K, Spectrum.power_law(L, beta))
    init = random_overlaps(model, N, sigma_J, seed)
    ode = solve(model, eta, init, alpha, ode_config(model.spectrum, rtol))
    ode.raise_for_status()
    late = late_curve(model, eta, ode, init.t)
    # the regimes of this run: from where its students are within 1 % of their teachers (as
    # `theorykit asymptotics` reports them for a case with init); none when it never gets there
    specialised = late_start_index(ode, init.t, model.spectrum.lam, threshold=SPECIALISED)
    late_start = None if specialised is None else float(ode.alpha[specialised])
    asym = late_asymptotics(model, eta, dps=20, late_start=late_start)
    guides = [] if late_start is None else power_law_guides(asym, ode.alpha, ode.eps_g, late_start)
    sim = None
    if seeds:
        sim = simulate(model, eta, sim_alpha, N, seeds=seeds, sigma_J=sigma_J, teacher_seed=seed, n_test=500)
    row = {
        "L": L,
        "beta": beta,
        "alpha": ode.alpha,
        "eps_g_ode": ode.eps_g_json(),
        "ode_steps": ode.nfev,
        "exponent": asym.exponent,
        "window": None if asym.window is None else list(asym.window),
        "late_start": late_start,
        "eps_rate": asym.eps_rate,
        "late": late,
        "power_law": guides,
        "sgd": None
        if sim is None
        else {
            "alpha": sim.alpha,
            "eps_g_mean": sim.mean("eps_g_overlaps"),
            "eps_g_std": sim.spread("eps_g_overlaps"),
            "seeds": sim.seeds,
            "backend": sim.backend,
        },
    }
    return row


def _draw(ax, row, color, label):
    ax.plot(*_positive(row["alpha"], row["eps_g_ode"]), color=color, label=label)
    if row["late"] is not None:
        ax.plot(*_positive(row["late"]["alpha"], row["late"]["eps_g"]), color="k", ls="--", lw=0.8)
    for guide in row["power_law"]:  # each derived regime only inside its window
        ax.plot(guide["alpha"], guide["eps_g"], color="k", ls=":", lw=1.2)
    if row["sgd"] is not None:
        sgd = row["sgd"]
        keep = sgd["alpha"] > 0
        ax.errorbar(
            sgd["alpha"][keep],
            sgd["eps_g_mean"][keep],
            yerr=sgd["eps_g_std"][keep],
            fmt="o",
            ms=3,
            color=color,
            alpha=0.7,
        )


def _draw_rows(ax, data: FigureData, label) -> None:
    """Every curve of Fig. 1 or 6 in its colour, labelled by ``label(row)``."""
    for c, row in enumerate(data.numbers["curves"]):
        _draw(ax, row, f"C{c}", label(row))


def _finish(ax, title: str, note: str) -> None:
    ax.set(xscale="log", yscale="log", xlabel=r"$\alpha$", ylabel=r"$\varepsilon_g$", title=title)
    ax.legend(frameon=False, fontsize=7, title=note, title_fontsize=7)


NOTE = (
    "solid: ODE; dots: SGD; dashed: linearised late phase from its start;\n"
    r"dotted: $\alpha^{-\beta/(1+\beta)}$ in its window"
)


def fig1(full: bool = False) -> FigureData:
    """Several L at K = M = 2, eta = 0.1, beta = 1, sigma_J = 0.01 (N = 1024 full, 256 reduced)."""
    K, eta, beta, sigma_J = 2, 0.1, 1.0, 0.01
    if full:
        N, Ls, alpha_max, sim_max, seeds = 1024, (1, 4, 16, 64, 256, 1024), 1e4, 1e4, 4
    else:
        N, Ls, alpha_max, sim_max, seeds = 256, (1, 4, 16, 64, 256), 1e4, 1e3, 2
    alpha = np.concatenate([[0.0], np.geomspace(0.1, alpha_max, 240)])
    sim_alpha = np.concatenate([[0.0], np.geomspace(1.0, sim_max, 16)])
    rows = [_curve(K, L, beta, eta, N, sigma_J, alpha, sim_alpha, seeds) for L in Ls]
    settings = {"K": K, "M": K, "eta": eta, "beta": beta, "sigma_J": sigma_J, "N": N, "L": list(Ls), "full": full}
    return FigureData.create("fig1", {"curves": rows}, settings, draw_fig1)


@layout()
def draw_fig1(data: FigureData, axes) -> None:
    """:func:`fig1`'s numbers onto one Axes."""
    (ax,) = axes
    s = data.settings
    _draw_rows(ax, data, lambda row: f"L = {row['L']}")
    ax.set_ylim(bottom=1e-7)  # the finite-L exponential tails fall to round-off; the phases of interest lie above
    _finish(ax, rf"Fig. 1: $K = M = {s['K']}$, $\eta = {s['eta']:g}$, $\beta = {s['beta']:g}$, $N = {s['N']}$", NOTE)


def fig6(full: bool = False) -> FigureData:
    """Late phase for several beta: K = M = 40, eta = 0.01, sigma_J = 1e-6, L = N = 512 (reduced: K = 4, N = 256)."""
    eta, sigma_J = 0.01, 1e-6
    if full:
        K, N, betas, alpha_max, sim_max, seeds = 40, 512, (0.25, 0.5, 1.0, 2.0), 1e5, 1e5, 10
    else:
        # K = 4 specialises within alpha ~ 3e4 at N = 256, so the late phase shows by 1e6
        K, N, betas, alpha_max, sim_max, seeds = 4, 256, (0.5, 1.0, 2.0), 1e6, 2e3, 2
    alpha = np.concatenate([[0.0], np.geomspace(1.0, alpha_max, 200)])
    sim_alpha = np.concatenate([[0.0], np.geomspace(10.0, sim_max, 14)])
    rows = [_curve(K, N, beta, eta, N, sigma_J, alpha, sim_alpha, seeds) for beta in betas]
    settings = {"K": K, "M": K, "eta": eta, "sigma_J": sigma_J, "N": N, "L": N, "beta": list(betas), "full": full}
    return FigureData.create("fig6", {"curves": rows}, settings, draw_fig6)


@layout()
def draw_fig6(data: FigureData, axes) -> None:
    """:func:`fig6`'s numbers onto one Axes."""
    (ax,) = axes
    s = data.settings
    _draw_rows(ax, data, lambda row: rf"$\beta = {row['beta']:g}$: slope {-row['exponent']:.3f}")
    sigma = f"10^{{{np.log10(s['sigma_J']):.0f}}}"
    _finish(ax, rf"Fig. 6: $K = M = {s['K']}$, $L = N = {s['N']}$, $\eta = {s['eta']:g}$, $\sigma_J = {sigma}$", NOTE)
