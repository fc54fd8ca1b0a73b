"""Worschech & Rosenow, Figs. 4 and 5: plateau heights and plateau lengths.

Reduced defaults finish in a few minutes on 2 cores; ``full=True`` uses the paper's sizes
(N = 7000 for Fig. 4, L = N = 512 and eta = 0.01 for Fig. 5: hours of SGD on a CPU).  Each
figure function returns a :class:`~theorykit.core.figure_data.FigureData`; ``draw_figN`` draws
its numbers and nothing else.
"""

from __future__ import annotations

import numpy as np

from ...core.figure_data import FigureData, layout
from ..model import CommitteeModel, Spectrum
from ..plateau import find_plateau, initial_asymmetry
from ..simulate.sgd import simulate
from ..solve.initial import random_overlaps
from ..solve.integrate import SolverConfig, solve


def plateau_window(alpha: np.ndarray, eps: np.ndarray, eps_plateau: float, enter: float = 1.3, leave: float = 0.5):
    """First alpha with ``eps < enter * eps_plateau`` and first later alpha with ``eps < leave * eps_plateau``.

    Returns ``(entry, exit)``; ``exit`` is ``nan`` when the run ends on the plateau.
    """
    inside = np.nonzero(eps < enter * eps_plateau)[0]
    if inside.size == 0:
        return np.nan, np.nan
    first = inside[0]
    out = np.nonzero(eps[first:] < leave * eps_plateau)[0]
    return float(alpha[first]), (float(alpha[first + out[0]]) if out.size else np.nan)


def _normalised_orders(r_or_q: np.ndarray, lam: np.ndarray, t_diag: np.ndarray, orders) -> dict:
    """``X^(l) / T^(l)`` averaged over the matrix entries, for each requested order."""
    out = {}
    for order in orders:
        weights = lam**order
        T_l = float(np.dot(weights, t_diag))
        out[order] = np.einsum("k,...k->...", weights, r_or_q) / T_l
    return out


def _matched_split(r: np.ndarray, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Per-mode overlaps (T, L) of matched and of unmatched student-teacher pairs, ``r`` (T, L, K, M).

    Student ``i`` is matched to the teacher of the assignment that maximises the final aggregated
    :math:`\sum_i R^{(1)}_{i\pi(i)}` (K = M); both averages are over students, at every time.
    """
    from scipy.optimize import linear_sum_assignment

    K = r.shape[2]
    final = np.einsum("k,kim->im", lam, r[-1])
    students, teachers = linear_sum_assignment(-final)
    matched = r[:, :, students, teachers].mean(axis=2)
    other = (r.sum(axis=(2, 3)) - r[:, :, students, teachers].sum(axis=2)) / (K * r.shape[3] - K)
    return matched, other


def fig4(full: bool = False) -> FigureData:
    """Plateau order parameters: K = M = 4, L = 10, sigma_J = 0.01, eta = 0.1, O(eta) ODE vs SGD."""
    K, L, eta, sigma_J, beta = 4, 10, 0.1, 0.01, 1.0
    N = 7000 if full else 500
    seeds = 4 if full else 2
    model_ode = CommitteeModel(K, K, Spectrum.power_law(L, beta), small_lr=True)
    model_sgd = CommitteeModel(K, K, Spectrum.power_law(L, beta))
    init = random_overlaps(model_ode, N, sigma_J, 0)
    plateau = find_plateau(model_ode, eta, teacher=init.t)
    symmetric = find_plateau(model_ode, eta)
    a_max = 2.0 * plateau.escape_time(initial_asymmetry(sigma_J, N))
    alpha = np.concatenate([[0.0], np.linspace(a_max / 400, a_max, 400)])
    ode = solve(model_ode, eta, init, alpha, SolverConfig("DOP853", rtol=1e-9, atol=1e-12)).raise_for_status()
    sim_alpha = np.linspace(0, a_max, 41)
    sim = simulate(model_sgd, eta, sim_alpha, N, seeds=seeds, init=None, sigma_J=sigma_J, teacher_seed=0, n_test=1000)

    # Averaged over all K x M pairs, R hides the specialisation (matched pairs -> 1, the others -> 0
    # average to 1/K): each student is paired with the teacher it ends closest to, and the matched
    # and unmatched overlaps are drawn apart.
    lam = model_ode.spectrum.lam
    t_diag = np.mean(np.diagonal(init.t, axis1=1, axis2=2), axis=1)
    orders = (1, L)
    ode_match, ode_other = _matched_split(ode.r, lam)
    R_ode = _normalised_orders(ode_match, lam, t_diag, orders)
    R_ode_other = _normalised_orders(ode_other, lam, t_diag, orders)
    Q_ode = _normalised_orders(np.einsum("akii->ak", ode.q) / K, lam, t_diag, orders)
    sim_split = [_matched_split(r, lam) for r in sim.r]  # each seed its own pairing
    R_sim = _normalised_orders(np.mean([m for m, _ in sim_split], axis=0), lam, t_diag, orders)
    R_sim_other = _normalised_orders(np.mean([o for _, o in sim_split], axis=0), lam, t_diag, orders)
    T_l = {order: float(np.dot(lam**order, t_diag)) for order in orders}
    numbers = {
        "alpha_ode": ode.alpha,
        "eps_g_ode": ode.eps_g_json(),
        "sim_alpha": sim.alpha,
        "eps_g_sgd_mean": sim.mean("eps_g_overlaps"),
        "eps_g_sgd_std": sim.spread("eps_g_overlaps"),
        "plateau": {
            "R": symmetric.R,
            "Q": symmetric.Q,
            "C": symmetric.C,
            "eps_g": symmetric.eps_g,
            "closed_form": symmetric.closed_form,
        },
        "finite_N_teacher_split": plateau.teacher_split,
        "finite_N_plateau_eps_g": plateau.eps_g,
        "finite_N_heights_R_over_T": [float(plateau.heights_R[o - 1] / T_l[o]) for o in orders],
        "escape_rate": plateau.escape_rate,
        "orders": list(orders),
        "R_matched_over_T_ode": {str(k): v for k, v in R_ode.items()},
        "R_unmatched_over_T_ode": {str(k): v for k, v in R_ode_other.items()},
        "Q_over_T_ode": {str(k): v for k, v in Q_ode.items()},
        "R_matched_over_T_sgd": {str(k): v for k, v in R_sim.items()},
        "R_unmatched_over_T_sgd": {str(k): v for k, v in R_sim_other.items()},
        "seeds": sim.seeds,
    }
    settings = {"K": K, "M": K, "L": L, "beta": beta, "eta": eta, "sigma_J": sigma_J, "N": N, "full": full}
    return FigureData.create("fig4", numbers, settings, draw_fig4)


@layout(panels=2, width=5.0)
def draw_fig4(data: FigureData, axes) -> None:
    """:func:`fig4`'s numbers onto two Axes: eps_g, and the order parameters against their plateau heights."""
    ax_eps, ax_ord = axes
    n, s = data.numbers, data.settings
    ax_eps.plot(n["alpha_ode"], n["eps_g_ode"], "C0", label=r"ODE, $O(\eta)$")
    seeds = len(n["seeds"])
    ax_eps.errorbar(
        n["sim_alpha"],
        n["eps_g_sgd_mean"],
        yerr=n["eps_g_sgd_std"],
        fmt="o",
        ms=3,
        color="C3",
        label=f"SGD, N = {s['N']}, {seeds} seeds",
    )
    eps_plateau = n["finite_N_plateau_eps_g"]
    ax_eps.axhline(eps_plateau, color="k", ls=":", label=rf"plateau $\varepsilon_g$ = {eps_plateau:.4g}")
    title = rf"Fig. 4: $K = M = {s['K']}$, $L = {s['L']}$"
    ax_eps.set(yscale="log", xlabel=r"$\alpha$", ylabel=r"$\varepsilon_g$", title=title)
    ax_eps.legend(frameon=False, fontsize=8)
    for c, (order, height) in enumerate(zip(n["orders"], n["finite_N_heights_R_over_T"])):
        key = str(order)
        ax_ord.axhline(height, color=f"C{c}", ls=":", lw=1.5)
        label = rf"$l = {order}$: matched $R^{{(l)}}/T^{{(l)}}$"
        ax_ord.plot(n["alpha_ode"], n["R_matched_over_T_ode"][key], f"C{c}", label=label)
        ax_ord.plot(n["alpha_ode"], n["R_unmatched_over_T_ode"][key], f"C{c}-.", lw=1)
        ax_ord.plot(n["alpha_ode"], n["Q_over_T_ode"][key], f"C{c}--", lw=1)
        ax_ord.plot(n["sim_alpha"], n["R_matched_over_T_sgd"][key], "o", color=f"C{c}", ms=3)
        ax_ord.plot(n["sim_alpha"], n["R_unmatched_over_T_sgd"][key], "x", color=f"C{c}", ms=3)
    ax_ord.plot([], [], "k-.", lw=1, label="unmatched R (mean)")
    ax_ord.plot([], [], "k--", lw=1, label=r"$Q^{(l)}/T^{(l)}$")
    ax_ord.plot([], [], "k:", lw=1.5, label="predicted plateau height")
    ax_ord.plot([], [], "ko", ms=3, label=f"SGD, N = {s['N']} (x: unmatched)")
    ax_ord.set(xlabel=r"$\alpha$", ylabel="overlap / teacher's", title="order parameters (ODE lines)")
    ax_ord.legend(frameon=False, fontsize=7)


def _lengths(K, spectrum, eta, N, sigma_J, seeds):
    """Predicted escape rate, and plateau lengths measured in the O(eta) ODE and in SGD.

    The plateau is that of the run's own finite-N teacher (with L = N every eigenspace is one
    direction, so the teacher overlaps are far from diagonal); SGD uses the same teacher.
    """
    model_ode = CommitteeModel(K, K, spectrum, small_lr=True)  # the O(eta) ODE, as in the paper
    model_sgd = CommitteeModel(K, K, spectrum)
    init = random_overlaps(model_ode, N, sigma_J, 0)
    symmetric = find_plateau(model_ode, eta, teacher=init.t, closed_form=False)
    predicted = symmetric.escape_time(initial_asymmetry(sigma_J, N))
    a_max = 4.0 * predicted  # room for the approach to the plateau and a slower-than-predicted exit
    alpha = np.linspace(0, a_max, 1001)
    ode = solve(model_ode, eta, init, alpha, SolverConfig("DOP853", rtol=1e-9, atol=1e-13)).raise_for_status()
    entry, exit_ = plateau_window(ode.alpha, ode.eps_g, symmetric.eps_g)
    sim_alpha = np.linspace(0, a_max, 201)
    sim = simulate(
        model_sgd, eta, sim_alpha, N, seeds=seeds, sigma_J=sigma_J, teacher_seed=0, n_test=200, progress=False
    )
    windows = [plateau_window(sim_alpha, e, symmetric.eps_g) for e in sim.eps_g_overlaps]
    sgd = np.array([b - a for a, b in windows])
    return {
        "escape_rate": symmetric.escape_rate,
        "predicted_length": predicted,
        "ode_length": exit_ - entry if np.isfinite(exit_ - entry) else None,
        "sgd_length_mean": float(np.nanmean(sgd)) if np.isfinite(sgd).any() else None,
        "sgd_length_std": float(np.nanstd(sgd)) if np.isfinite(sgd).any() else None,
        "eps_plateau": symmetric.eps_g,
        "ode_window": _finite_or_none([entry, exit_]),
        "sgd_windows": [_finite_or_none(w) for w in windows],
    }


def _finite_or_none(values) -> list:
    """JSON has no NaN: a window that was never left is written as ``null``."""
    return [float(v) if np.isfinite(v) else None for v in values]


def fig5(full: bool = False) -> FigureData:
    """Plateau lengths: left, several K at L = N; right, several L at K = M fixed (beta = 0.25, sigma_J = 1e-6)."""
    beta, sigma_J = 0.25, 1e-6
    if full:
        eta, N_left, Ks, K_right, N_right, Ls, seeds = (
            0.01,
            512,
            (2, 3, 4, 5, 6, 8),
            6,
            500,
            (10, 25, 50, 100, 250, 500),
            4,
        )
    else:
        eta, N_left, Ks, K_right, N_right, Ls, seeds = 0.05, 128, (2, 3, 4, 5), 3, 120, (8, 20, 60, 120), 2
    left = [_lengths(K, Spectrum.power_law(N_left, beta), eta, N_left, sigma_J, seeds) for K in Ks]
    right = [_lengths(K_right, Spectrum.power_law(L, beta), eta, N_right, sigma_J, seeds) for L in Ls]

    numbers = {"K": list(Ks), "left": left, "L": list(Ls), "right": right}
    settings = {
        "beta": beta,
        "sigma_J": sigma_J,
        "eta": eta,
        "N_left": N_left,
        "N_right": N_right,
        "K_right": K_right,
        "seeds": seeds,
        "full": full,
    }
    return FigureData.create("fig5", numbers, settings, draw_fig5)


def _length(value) -> float:
    """A length from the JSON numbers: ``None`` (NaN once read) when the run never left the plateau."""
    return np.nan if value is None else float(value)


@layout(panels=2, width=5.0)
def draw_fig5(data: FigureData, axes) -> None:
    """:func:`fig5`'s numbers onto two Axes: plateau length against K, and against L."""
    from matplotlib.ticker import NullLocator

    ax_k, ax_l = axes
    n, s = data.numbers, data.settings
    for ax, xs, rows, xlabel, paper in (
        (ax_k, np.asarray(n["K"], float), n["left"], "K = M", lambda x: x**2),
        (ax_l, np.asarray(n["L"], float), n["right"], "L", lambda x: 1 / x),
    ):
        ode = np.array([_length(r["ode_length"]) for r in rows])
        inv_mu = np.array([1 / r["escape_rate"] for r in rows])
        sgd = np.array([_length(r["sgd_length_mean"]) for r in rows])
        sgd_err = np.nan_to_num([_length(r["sgd_length_std"]) for r in rows])
        good = np.isfinite(ode)
        # one constant (the log of the amplification) fitted to the ODE lengths; the shape is 1/mu(K, L)
        scale = float(np.exp(np.mean(np.log(ode[good] / inv_mu[good])))) if good.any() else 1.0
        ax.plot(xs, scale * inv_mu, "k-", label=rf"$c/\mu$ (linearisation; c = {scale:.2f} fitted)")
        ax.plot(xs, ode, "s", color="C0", label=r"$O(\eta)$ ODE from random init")
        ax.errorbar(xs, sgd, yerr=sgd_err, fmt="o", color="C3", ms=4, label=f"SGD, {s['seeds']} seeds")
        ref = paper(xs) * (ode[good][0] / paper(xs[good][0]) if good.any() else 1)
        ax.plot(xs, ref, "C7--", lw=1, label=r"paper's $K^2/L$ scaling")
        ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel="plateau length (alpha)")
        # a few values on a log axis: label them, not the decades (K = 2..5 showed no readable tick)
        ax.set_xticks(xs, [f"{x:g}" for x in xs])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.legend(frameon=False, fontsize=7)
    ax_k.set_title(rf"Fig. 5 left: $L = N = {s['N_left']}$, $\eta = {s['eta']:g}$, $\beta = {s['beta']:g}$")
    ax_l.set_title(rf"Fig. 5 right: $K = M = {s['K_right']}$, $N = {s['N_right']}$")
