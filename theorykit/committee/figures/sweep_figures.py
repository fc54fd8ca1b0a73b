"""Two grids run as sweeps (:mod:`theorykit.sweeps`): plateau lengths over (K, L), late exponents over beta.

Each figure builds its :class:`~theorykit.sweeps.Sweep` in code, runs it on the local pool
(every point cached under the theorykit cache directory, so a re-run or a run after a crash
computes only the missing points) and draws from the labelled dataset:

* ``sweep_plateau_length``: the escape time 1/mu of the symmetric plateau (``theorykit plateau``,
  O(eta) erf committee, K = M) over a (K, L) grid, as a map, and against K^2/L -- the paper's
  scaling -- with one fitted constant;
* ``sweep_late_exponent``: for several beta, the derived late-phase law (``theorykit asymptotics``:
  exponent and the window where it holds) against the full ODE (``theorykit solve`` from a random
  start at L = N): the least-squares slope of ln eps_g against ln alpha over the derived window,
  with the quartiles of the local slope -d ln eps_g / d ln alpha there (the finite-N teacher puts
  bumps on the curve), and the curve beta/(1+beta).
"""

from __future__ import annotations

import os

import numpy as np

from ...core.errors import NumericalFailure
from ...core.figure_data import FigureData, layout
from ..model import Spectrum

#: Local slopes are measured on this many output times per decade of alpha.
POINTS_PER_DECADE = 30


def _run(command: str, case: dict, axes: list):
    """The sweep's dataset; every point must have succeeded (a figure has no room for gaps)."""
    from ...sweeps import Sweep, run_sweep

    sweep = Sweep(command, case, axes)
    workers = max(1, min(os.cpu_count() or 1, len(sweep.points())))
    dataset = run_sweep(sweep, workers=workers)
    failed = dataset["status"].values != "ok"
    if failed.any():
        message = dataset["message"].values[failed].ravel()[0]
        raise NumericalFailure(f"{command} sweep: {int(failed.sum())} point(s) failed, first: {message}")
    return dataset


def sweep_plateau_length(full: bool = False) -> FigureData:
    """1/mu of the symmetric plateau over K = M and L (beta = 0.25, eta = 0.05, O(eta) erf)."""
    beta, eta = 0.25, 0.05
    Ks = [2, 3, 4, 5, 6, 8] if full else [2, 3, 4]
    Ls = [4, 8, 16, 32, 64, 128, 256, 512] if full else [4, 16, 64, 256]
    case = {
        "eta": eta,
        "small_lr": True,
        "model": {"K": Ks[0], "M": Ks[0]},
        "spectrum": {"kind": "power_law", "L": Ls[0], "beta": beta},
    }
    dataset = _run("plateau", case, [("model.K|model.M", [(K, K) for K in Ks]), ("spectrum.L", Ls)])
    rate = dataset["escape_rate"].values  # (K, L)
    numbers = {
        "K": Ks,
        "L": Ls,
        "escape_rate": rate,
        "escape_time": 1.0 / rate,
        "eps_g": dataset["eps_g"].values,
        "lambda_top": [float(Spectrum.power_law(L, beta).lam.max()) for L in Ls],
    }
    settings = {"command": "plateau", "case": case, "grid": {"model.K = model.M": Ks, "spectrum.L": Ls}, "full": full}
    return FigureData.create("sweep_plateau_length", numbers, settings, draw_sweep_plateau_length)


@layout(panels=2, width=5.0)
def draw_sweep_plateau_length(data: FigureData, axes) -> None:
    """:func:`sweep_plateau_length`'s numbers: the map of 1/mu over (K, L), and 1/mu against K^2/L."""
    from matplotlib.colors import LogNorm

    ax_map, ax_law = axes
    n, case = data.numbers, data.settings["case"]
    Ks, Ls, time = np.asarray(n["K"], float), np.asarray(n["L"], float), n["escape_time"]
    image = ax_map.imshow(time, norm=LogNorm(), origin="lower", aspect="auto", cmap="viridis")
    for (i, j), value in np.ndenumerate(time):
        ax_map.text(j, i, f"{value:.3g}", ha="center", va="center", fontsize=7, color="w")
    ax_map.set_xticks(range(len(Ls)), [f"{L:g}" for L in Ls])
    ax_map.set_yticks(range(len(Ks)), [f"{K:g}" for K in Ks])
    ax_map.set(xlabel="L", ylabel="K = M", title=r"escape time $1/\mu$ of the symmetric plateau")
    ax_map.figure.colorbar(image, ax=ax_map, label=r"$1/\mu$")
    guide = Ks[:, None] ** 2 / Ls[None, :]
    # one constant: the geometric mean of (1/mu) / (K^2/L) over the grid; the shape is the paper's
    scale = float(np.exp(np.mean(np.log(time / guide))))
    xs = np.geomspace(guide.min(), guide.max(), 20)
    ax_law.plot(xs, scale * xs, "k--", lw=1, label=rf"$c\,K^2/L$, c = {scale:.3g} fitted")
    for c, L in enumerate(Ls):
        ax_law.plot(guide[:, c], time[:, c], "o-", color=f"C{c}", ms=4, lw=0.8, label=f"L = {L:g}")
    ax_law.set(xscale="log", yscale="log", xlabel=r"$K^2/L$", ylabel=r"$1/\mu$")
    title = rf"O($\eta$) erf, $\beta = {case['spectrum']['beta']:g}$, $\eta = {case['eta']:g}$"
    ax_law.set_title(title, fontsize=9)
    ax_law.legend(frameon=False, fontsize=7, ncol=2)


def window_slopes(alpha: np.ndarray, eps: np.ndarray, window) -> dict:
    """The decay of ``eps`` over ``window``: the least-squares ``nu`` of ``eps ~ alpha^-nu`` and the
    quartiles of the local ``-d ln eps / d ln alpha`` at the output times inside it (finite,
    positive eps only); ``None`` for each when fewer than three times lie inside."""
    alpha, eps = np.asarray(alpha, float), np.asarray(eps, float)
    keep = (alpha > 0) & np.isfinite(eps) & (eps > 0)
    x, y = np.log(alpha[keep]), np.log(eps[keep])
    slope = -np.gradient(y, x)
    lo, hi = window
    inside = (alpha[keep] >= lo) & (alpha[keep] <= hi)
    if inside.sum() < 3:
        return {"fit": None, "q25": None, "median": None, "q75": None, "points": int(inside.sum())}
    q25, median, q75 = np.percentile(slope[inside], [25, 50, 75])
    fit = -np.polyfit(x[inside], y[inside], 1)[0]
    return {"fit": fit, "q25": q25, "median": median, "q75": q75, "points": int(inside.sum())}


def sweep_late_exponent(full: bool = False) -> FigureData:
    """The late-phase exponent against beta: derived law and window, and the full ODE's slope in it.

    K = M = 2, eta = 0.1, L = N = 256 (full: 1024), random start sigma_J = 0.01, the model's own
    teacher for the derivation and a finite-N teacher for the ODE (as in Fig. 1).
    """
    K, eta, sigma_J = 2, 0.1, 0.01
    L = 1024 if full else 256
    betas = [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0] if full else [0.5, 1.0, 1.5, 2.0]
    alpha_max = 1e6 if full else 1e5
    decades = np.log10(alpha_max) + 2
    alpha = [0.0, *(float(f"{a:.6g}") for a in np.geomspace(1e-2, alpha_max, int(POINTS_PER_DECADE * decades) + 1))]
    model = {"K": K, "M": K}
    spectrum = {"kind": "power_law", "L": L, "beta": betas[0]}
    asym_case = {"eta": eta, "model": model, "spectrum": spectrum}
    solve_case = {
        "eta": eta,
        "model": model,
        "spectrum": spectrum,
        "alpha": alpha,
        "init": {"kind": "random", "N": L, "sigma_J": sigma_J, "seed": 0},
        "solver": {"method": "exponential", "rtol": 1e-5, "atol": 1e-14},
    }
    axis = [("spectrum.beta", betas)]
    derived = _run("asymptotics", asym_case, axis)
    ode = _run("solve", solve_case, axis)
    windows = derived["window"].values if "window_index" in derived.dims else np.full((len(betas), 2), np.nan)
    slopes = [window_slopes(ode["alpha"].values, eps, window) for eps, window in zip(ode["eps_g"].values, windows)]
    numbers = {
        "beta": betas,
        "exponent": derived["exponent"].values,
        "window": windows,
        "ode_slope": slopes,
        "alpha": np.asarray(alpha),
        "eps_g_ode": ode["eps_g"].values,
    }
    settings = {
        "commands": ["asymptotics", "solve"],
        "case": solve_case | {"alpha": f"0 and {len(alpha) - 1} points geometric in [1e-2, {alpha_max:g}]"},
        "grid": {"spectrum.beta": betas},
        "full": full,
    }
    return FigureData.create("sweep_late_exponent", numbers, settings, draw_sweep_late_exponent)


@layout(panels=2, width=5.0)
def draw_sweep_late_exponent(data: FigureData, axes) -> None:
    """:func:`sweep_late_exponent`'s numbers: exponents against beta, and the ODE curves with their windows."""
    ax_exp, ax_curves = axes
    n, case = data.numbers, data.settings["case"]
    betas = np.asarray(n["beta"], float)
    fine = np.linspace(0, betas.max() * 1.05, 100)
    ax_exp.plot(fine, fine / (1 + fine), "k-", lw=1, label=r"$\beta/(1+\beta)$")
    has_window = np.isfinite(n["window"]).all(axis=1)
    ax_exp.plot(betas[has_window], n["exponent"][has_window], "s", mfc="none", color="C0", label="derived law")
    measured = [(b, s) for b, s in zip(betas, n["ode_slope"]) if s["fit"] is not None]
    if measured:
        b, s = zip(*measured)
        fit = np.array([x["fit"] for x in s])
        quartiles = np.array([[x["q25"] for x in s], [x["q75"] for x in s]])
        bars = np.clip([fit - quartiles[0], quartiles[1] - fit], 0, None)
        label = "full ODE over the window (fit; bars: local slope's quartiles)"
        ax_exp.errorbar(b, fit, yerr=bars, fmt="o", color="C3", ms=4, label=label)
    ax_exp.set(xlabel=r"$\beta$", ylabel=r"$\nu$ of $\varepsilon_g \propto \alpha^{-\nu}$", ylim=(0, 1))
    title = rf"K = M = {case['model']['K']}, L = N = {case['spectrum']['L']}, $\eta = {case['eta']:g}$"
    ax_exp.set_title(title, fontsize=9)
    ax_exp.legend(frameon=False, fontsize=7)
    alpha = n["alpha"]
    for c, (beta, eps, window) in enumerate(zip(betas, n["eps_g_ode"], n["window"])):
        keep = (alpha > 0) & np.isfinite(eps) & (eps > 0)
        ax_curves.plot(alpha[keep], eps[keep], color=f"C{c}", lw=1, label=rf"$\beta = {beta:g}$")
        if np.isfinite(window).all():
            inside = keep & (alpha >= window[0]) & (alpha <= window[1])
            ax_curves.plot(alpha[inside], eps[inside], color=f"C{c}", lw=3, alpha=0.5)
    ax_curves.set(xscale="log", yscale="log", xlabel=r"$\alpha$", ylabel=r"$\varepsilon_g$ (full ODE)")
    ax_curves.set_title("thick: the derived window of the law", fontsize=9)
    ax_curves.legend(frameon=False, fontsize=7)
