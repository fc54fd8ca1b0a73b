"""Worschech & Rosenow, Figs. 4 and 5: plateau heights and plateau lengths.

Reduced defaults finish in a few minutes on 2 cores; ``full=True`` uses the paper's sizes
(N = 7000 for Fig. 4, L = N = 512 and eta = 0.01 for Fig. 5: hours of SGD on a CPU).
"""

from __future__ import annotations

import numpy as np

from ...core.output import new_figure, save_figure
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


def fig4(out_dir, full: bool = False):
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

    fig, (ax_eps, ax_ord) = new_figure(2, width=5.0)
    ax_eps.plot(ode.alpha, ode.eps_g, "C0", label=r"ODE, $O(\eta)$")
    ax_eps.errorbar(
        sim.alpha,
        sim.mean("eps_g_overlaps"),
        yerr=sim.spread("eps_g_overlaps"),
        fmt="o",
        ms=3,
        color="C3",
        label=f"SGD, N = {N}, {seeds} seeds",
    )
    ax_eps.axhline(plateau.eps_g, color="k", ls=":", label=rf"plateau $\varepsilon_g$ = {plateau.eps_g:.4g}")
    ax_eps.set(yscale="log", xlabel=r"$\alpha$", ylabel=r"$\varepsilon_g$", title=rf"Fig. 4: $K = M = {K}$, $L = {L}$")
    ax_eps.legend(frameon=False, fontsize=8)

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
    for c, order in enumerate(orders):
        ax_ord.axhline(plateau.heights_R[order - 1] / T_l[order], color=f"C{c}", ls=":", lw=1.5)
        ax_ord.plot(ode.alpha, R_ode[order], f"C{c}", label=rf"$l = {order}$: matched $R^{{(l)}}/T^{{(l)}}$")
        ax_ord.plot(ode.alpha, R_ode_other[order], f"C{c}-.", lw=1)
        ax_ord.plot(ode.alpha, Q_ode[order], f"C{c}--", lw=1)
        ax_ord.plot(sim.alpha, R_sim[order], "o", color=f"C{c}", ms=3)
        ax_ord.plot(sim.alpha, R_sim_other[order], "x", color=f"C{c}", ms=3)
    ax_ord.plot([], [], "k-.", lw=1, label="unmatched R (mean)")
    ax_ord.plot([], [], "k--", lw=1, label=r"$Q^{(l)}/T^{(l)}$")
    ax_ord.plot([], [], "k:", lw=1.5, label="predicted plateau height")
    ax_ord.plot([], [], "ko", ms=3, label=f"SGD, N = {N} (x: unmatched)")
    ax_ord.set(xlabel=r"$\alpha$", ylabel="overlap / teacher's", title="order parameters (ODE lines)")
    ax_ord.legend(frameon=False, fontsize=7)
    fig.tight_layout()
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
    paths = save_figure(fig, out_dir, "fig4", numbers, settings)
    return paths


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


def fig5(out_dir, full: bool = False):
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

    fig, (ax_k, ax_l) = new_figure(2, width=5.0)
    from matplotlib.ticker import NullLocator

    for ax, xs, rows, xlabel, paper in (
        (ax_k, np.array(Ks, float), left, "K = M", lambda x: x**2),
        (ax_l, np.array(Ls, float), right, "L", lambda x: 1 / x),
    ):
        ode = np.array([np.nan if r["ode_length"] is None else r["ode_length"] for r in rows])
        inv_mu = np.array([1 / r["escape_rate"] for r in rows])
        sgd = np.array([np.nan if r["sgd_length_mean"] is None else r["sgd_length_mean"] for r in rows])
        sgd_err = np.array([0.0 if r["sgd_length_std"] is None else r["sgd_length_std"] for r in rows])
        good = np.isfinite(ode)
        # one constant (the log of the amplification) fitted to the ODE lengths; the shape is 1/mu(K, L)
        scale = float(np.exp(np.mean(np.log(ode[good] / inv_mu[good])))) if good.any() else 1.0
        ax.plot(xs, scale * inv_mu, "k-", label=rf"$c/\mu$ (linearisation; c = {scale:.2f} fitted)")
        ax.plot(xs, ode, "s", color="C0", label=r"$O(\eta)$ ODE from random init")
        ax.errorbar(xs, sgd, yerr=sgd_err, fmt="o", color="C3", ms=4, label=f"SGD, {seeds} seeds")
        ref = paper(xs) * (ode[good][0] / paper(xs[good][0]) if good.any() else 1)
        ax.plot(xs, ref, "C7--", lw=1, label=r"paper's $K^2/L$ scaling")
        ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel="plateau length (alpha)")
        # a few values on a log axis: label them, not the decades (K = 2..5 showed no readable tick)
        ax.set_xticks(xs, [f"{x:g}" for x in xs])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.legend(frameon=False, fontsize=7)
    ax_k.set_title(rf"Fig. 5 left: $L = N = {N_left}$, $\eta = {eta}$, $\beta = {beta}$")
    ax_l.set_title(rf"Fig. 5 right: $K = M = {K_right}$, $N = {N_right}$")
    fig.tight_layout()
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
    paths = save_figure(fig, out_dir, "fig5", numbers, settings)
    return paths
