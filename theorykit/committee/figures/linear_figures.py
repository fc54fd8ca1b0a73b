"""Worschech & Rosenow, Figs. 2 and 3 (left): linear networks, theory against SGD.

Each ``figN(full=False)`` computes its numbers and returns a
:class:`~theorykit.core.figure_data.FigureData` (``.draw(ax)`` gives the matplotlib Figure,
``.save(dir)`` writes PNG, PDF and JSON); ``draw_figN`` draws those numbers, and nothing else,
so a figure redrawn from its JSON is the same figure.  Reduced defaults finish in about a
minute on 2 cores; ``full=True`` uses the paper's sizes.
"""

from __future__ import annotations

import numpy as np

from ...core.figure_data import FigureData, layout
from ..data_spectrum import empirical_spectrum, fit_power_law, load_example, trainable_floors
from ..linear_network import linear_learning_curve, power_law_law, trainable_floor
from ..model import CommitteeModel, Spectrum
from ..simulate.sgd import simulate
from ..solve.initial import Overlaps, random_overlaps


def _finish_loglog(ax, title: str, legend_title: str | None = None) -> None:
    """log-log eps_g(alpha) axes and legend: the common finish of these figures."""
    ax.set(xscale="log", yscale="log", xlabel=r"$\alpha$", ylabel=r"$\varepsilon_g$", title=title)
    ax.legend(frameon=False, fontsize=8, title=legend_title)


def _sim_points(ax, alpha, numbers: dict, color, label):
    """SGD's mean over seeds with bars from the smallest to the largest seed: on a log axis a
    mean +- standard deviation bar runs to zero (or below) whenever the spread is wide, so the
    range -- always positive -- is what the bars show (``sim_min``, ``sim_max`` in the JSON)."""
    mean, low, high = numbers["sim_mean"], numbers["sim_min"], numbers["sim_max"]
    label = None if label is None else f"{label} (mean; bars: range over seeds)"
    ax.errorbar(alpha, mean, yerr=[mean - low, high - mean], fmt="o", ms=3, color=color, alpha=0.8, label=label)


def _sim_numbers(sim) -> dict:
    """The SGD numbers :func:`_sim_points` draws."""
    return {
        "sim_mean": sim.mean("eps_g"),
        "sim_std": sim.spread("eps_g"),
        "sim_min": sim.eps_g.min(axis=0),
        "sim_max": sim.eps_g.max(axis=0),
    }


def fig2_left(full: bool = False) -> FigureData:
    """Exact curve vs the small-eta form; N = L = 128, K = M = 1, sigma_J^2 = 1, beta = 1, eta = 1."""
    N, seeds = 128, (10 if full else 4)
    model = CommitteeModel(1, 1, Spectrum.power_law(N, 1.0), "linear")
    init = random_overlaps(model, N, 1.0, 0)
    alpha = np.concatenate([[0.0], np.geomspace(0.01, 300, 60)])
    curve = linear_learning_curve(model, 1.0, init, alpha)
    sim_alpha = np.concatenate([[0.0], np.geomspace(0.05, 300, 14)])
    sim = simulate(model, 1.0, sim_alpha, N, seeds=seeds, sigma_J=1.0, teacher_seed=0, n_test=500)
    numbers = {
        "alpha": alpha,
        "eps_g_exact": curve.eps_g,
        "eps_g_small_eta": curve.small_eta,
        "sim_alpha": sim_alpha,
        **_sim_numbers(sim),
        "seeds": sim.seeds,
    }
    settings = {"N": N, "beta": 1.0, "eta": 1.0, "sigma_J2": 1.0, "full": full}
    return FigureData.create("fig2_left", numbers, settings, draw_fig2_left)


@layout()
def draw_fig2_left(data: FigureData, axes) -> None:
    """:func:`fig2_left`'s numbers onto one Axes."""
    (ax,) = axes
    n, N = data.numbers, data.settings["N"]
    ax.plot(n["alpha"][1:], n["eps_g_exact"][1:], "C0", label="exact (derived closed form)")
    ax.plot(n["alpha"][1:], n["eps_g_small_eta"][1:], "C1--", label=r"small-$\eta$ form")
    _sim_points(ax, n["sim_alpha"], n, "C2", f"SGD, N = {N}, {len(n['seeds'])} seeds")
    _finish_loglog(ax, rf"Fig. 2 left: $\eta = 1$, $\beta = 1$, $L = N = {N}$")


def fig2_right(full: bool = False) -> FigureData:
    """Integral (power-law) approximation vs SGD; N = L = 1024 (full) or 256, beta = 0.75, eta = 0.01."""
    N = 1024 if full else 256
    seeds = 15 if full else 4
    beta, eta, sigma_J = 0.75, 0.01, 0.01
    model = CommitteeModel(1, 1, Spectrum.power_law(N, beta), "linear")
    # Averaged over initialisations (teacher and student drawn anew each time): eps_g is linear
    # in e(0), so the mean curve is the exact curve with the mean e_k(0) = f_k (1 + sigma_J^2).
    f = model.spectrum.f
    mean_init = Overlaps(np.zeros((N, 1, 1)), (sigma_J**2 * f)[:, None, None], f[:, None, None].copy())
    law = power_law_law(model, eta, 1.0 + sigma_J**2)
    a_max = 2e4 if full else 1e3
    alpha = np.geomspace(0.01, a_max, 80)
    curve = linear_learning_curve(model, eta, mean_init, alpha)
    approx = float(law.prefactor) * alpha ** -float(law.exponent)
    sim_alpha = np.geomspace(0.1, a_max, 12)
    sim = simulate(model, eta, sim_alpha, N, seeds=seeds, sigma_J=sigma_J, teacher_seed=None, n_test=500)
    numbers = {
        "alpha": alpha,
        "eps_g_exact": curve.eps_g,
        "eps_g_power_law": approx,
        "exponent": float(law.exponent),
        "prefactor": float(law.prefactor),
        "window": [float(law.alpha_min), float(law.alpha_max)],
        "sim_alpha": sim_alpha,
        **_sim_numbers(sim),
        "seeds": sim.seeds,
    }
    settings = {"N": N, "beta": beta, "eta": eta, "sigma_J": sigma_J, "full": full}
    return FigureData.create("fig2_right", numbers, settings, draw_fig2_right)


@layout()
def draw_fig2_right(data: FigureData, axes) -> None:
    """:func:`fig2_right`'s numbers onto one Axes."""
    (ax,) = axes
    n, s = data.numbers, data.settings
    alpha, (lo, hi) = n["alpha"], n["window"]
    ax.plot(alpha, n["eps_g_exact"], "C0", label="exact (mean over initialisations)")
    window = (alpha > lo) & (alpha < hi)
    label = rf"integral approx. $\propto\alpha^{{-{n['exponent']:.3f}}}$"
    ax.plot(alpha[window], n["eps_g_power_law"][window], "k--", label=label)
    seeds = len(n["seeds"])
    _sim_points(ax, n["sim_alpha"], n, "C3", f"SGD, N = {s['N']}, {seeds} initialisations (teacher and student)")
    _finish_loglog(ax, rf"Fig. 2 right: $\beta = {s['beta']:g}$, $\eta = {s['eta']:g}$, $L = N = {s['N']}$")


def fig3_left(full: bool = False) -> FigureData:
    """Trainable input dimension N_l: L = N = 256, eta = 0.05, beta = 1, several N_l."""
    N, beta, eta, sigma_J = 256, 1.0, 0.05, 0.01
    seeds = 50 if full else 3
    a_max = 1e4 if full else 1e3
    model = CommitteeModel(1, 1, Spectrum.power_law(N, beta), "linear")
    init = random_overlaps(model, N, sigma_J, 0)
    alpha = np.geomspace(0.01, a_max, 80)
    sim_alpha = np.geomspace(0.1, a_max, 10)
    numbers = {"alpha": alpha, "sim_alpha": sim_alpha, "curves": {}}
    for n_l in (8, 32, 128, 256):
        curve = linear_learning_curve(model, eta, init, alpha, trained_modes=n_l)
        sim = simulate(
            model, eta, sim_alpha, N, seeds=seeds, sigma_J=sigma_J, teacher_seed=0, n_test=300, trained_dims=n_l
        )
        numbers["curves"][str(n_l)] = {
            "eps_g_theory": curve.eps_g,
            **_sim_numbers(sim),
        }
    settings = {"N": N, "beta": beta, "eta": eta, "sigma_J": sigma_J, "seeds": seeds, "full": full}
    return FigureData.create("fig3_left", numbers, settings, draw_fig3_left)


@layout()
def draw_fig3_left(data: FigureData, axes) -> None:
    """:func:`fig3_left`'s numbers onto one Axes."""
    (ax,) = axes
    n, s = data.numbers, data.settings
    for c, (n_l, curve) in enumerate(n["curves"].items()):
        ax.plot(n["alpha"], curve["eps_g_theory"], color=f"C{c}", label=rf"$N_l = {n_l}$")
        _sim_points(ax, n["sim_alpha"], curve, f"C{c}", None)
    title = rf"Fig. 3 left: $L = N = {s['N']}$, $\eta = {s['eta']:g}$, $\beta = {s['beta']:g}$"
    _finish_loglog(ax, title, "lines: theory; points: SGD")


def fig3_right(full: bool = False) -> FigureData:
    """The floor eps_g(inf) against the trained dimension N_l: power law (L = N = 256, beta = 1) and data.

    Theory: the exact stationary error of the closed linear system with only the top N_l
    directions trained (:func:`~theorykit.committee.linear_network.trainable_floor`), its leading order
    ``1/2 sum_{k > N_l} lambda_k e_k(0)`` and the law ``N_l^-beta``; SGD: the error averaged
    over the last stretch of long runs, for the N_l that converge within the run.  The paper
    uses the empirical spectrum of CIFAR-5m (beta ~ 0.3), which cannot ship with the package;
    the shipped digits data set stands in for it (its beta fitted here, with the same theory).
    """
    N, beta, eta, sigma_J = 256, 1.0, 0.05, 0.01
    seeds = 10 if full else 2
    model = CommitteeModel(1, 1, Spectrum.power_law(N, beta), "linear")
    init = random_overlaps(model, N, sigma_J, 0)
    n_values = np.unique(np.geomspace(1, N - 1, 16).astype(int))
    floors = np.array([trainable_floor(model, eta, init, int(n)) for n in n_values])
    lam = model.spectrum.lam
    e0 = (init.q - 2 * init.r + init.t)[:, 0, 0]
    leading = np.array([0.5 * np.dot(lam[n:], e0[n:]) for n in n_values])
    # SGD: small N_l converge fastest (slowest trained rate 2 eta lambda_{N_l}); 8 e-folds of it
    sim_n = (2, 4, 8, 16) if not full else (2, 4, 8, 16, 32)
    sim_floor, sim_spread = [], []
    for n in sim_n:
        settle = 8.0 / (2 * eta * lam[n - 1])
        sim_alpha = np.linspace(settle, 1.5 * settle, 6)
        sim = simulate(
            model, eta, sim_alpha, N, seeds=seeds, sigma_J=sigma_J, teacher_seed=0, n_test=2000, trained_dims=n
        )
        per_seed = sim.eps_g_overlaps.mean(axis=1)
        sim_floor.append(float(per_seed.mean()))
        sim_spread.append(float(per_seed.std(ddof=1)) if seeds > 1 else 0.0)
    X = load_example("digits")
    evals = empirical_spectrum(X).eigenvalues
    fit = fit_power_law(evals, X=X, bootstrap=20)
    data_n = np.unique(np.geomspace(1, len(evals) - 1, 14).astype(int))
    data_floors = trainable_floors(evals, data_n)

    numbers = {
        "N_l": n_values,
        "floor_exact": floors,
        "floor_leading_order": leading,
        "sgd_N_l": list(sim_n),
        "sgd_floor_mean": sim_floor,
        "sgd_floor_std": sim_spread,
        "sgd_floor_theory": [trainable_floor(model, eta, init, n) for n in sim_n],
        "digits": {
            "N_l": data_n,
            "floor": data_floors,
            "beta_fit": fit.beta,
            "beta_bootstrap_std": fit.beta_bootstrap_std,
        },
    }
    settings = {"N": N, "beta": beta, "eta": eta, "sigma_J": sigma_J, "seeds": seeds, "full": full}
    return FigureData.create("fig3_right", numbers, settings, draw_fig3_right)


@layout(panels=2, width=4.5)
def draw_fig3_right(data: FigureData, axes) -> None:
    """:func:`fig3_right`'s numbers onto two Axes: the power-law spectrum, the shipped data's."""
    ax_pl, ax_data = axes
    n, s = data.numbers, data.settings
    n_values, floors, beta = n["N_l"], n["floor_exact"], s["beta"]
    ax_pl.plot(n_values, floors, "C0-", label="exact stationary error")
    ax_pl.plot(n_values, n["floor_leading_order"], "C1--", label=r"$\frac{1}{2}\sum_{k>N_l}\lambda_k e_k(0)$")
    guide = floors[2] * (n_values / n_values[2]) ** (-beta)
    ax_pl.plot(n_values, guide, "k:", label=rf"$N_l^{{-\beta}}$, $\beta = {beta:g}$")
    ax_pl.errorbar(
        n["sgd_N_l"],
        n["sgd_floor_mean"],
        yerr=n["sgd_floor_std"],
        fmt="o",
        color="C3",
        ms=4,
        label=f"SGD, {s['seeds']} seeds",
    )
    ax_pl.set(xscale="log", yscale="log", xlabel=r"$N_l$", ylabel=r"$\varepsilon_g(\infty)$")
    ax_pl.set_title(rf"Fig. 3 right: $L = N = {s['N']}$, $\eta = {s['eta']:g}$", fontsize=9)
    ax_pl.legend(frameon=False, fontsize=7)
    digits = n["digits"]
    data_n, data_floors = digits["N_l"], digits["floor"]
    ax_data.plot(data_n, data_floors, "C2o-", ms=3, label="digits spectrum (shipped)")
    ref = data_floors[1] * (data_n / data_n[1]) ** (-digits["beta_fit"])
    ax_data.plot(data_n, ref, "k:", label=rf"$N_l^{{-\beta}}$, fitted $\beta = {digits['beta_fit']:.2f}$")
    ax_data.set(xscale="log", yscale="log", xlabel=r"$N_l$", ylabel=r"$\varepsilon_g(\infty)$")
    ax_data.set_title("empirical spectrum (stand-in for CIFAR-5m)", fontsize=9)
    ax_data.legend(frameon=False, fontsize=7)
