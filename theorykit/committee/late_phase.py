r"""The late (asymptotic) phase after specialisation: rates, power law and learning curve.

Physics (derived in :mod:`theorykit.committee.derive.late_expansion`): near the specialised fixed point
(K = M, every student equal to one teacher, :math:`r_k = q_k = t_k` per mode) the deviations
:math:`\delta r_k = r_k - t_k` relax linearly, per mode with rates
:math:`\eta\lambda_k\times` the eigenvalues of :math:`-G_s`, coupled to one another only through
the aggregated covariance.  The out-of-span second moments
:math:`o_k = q_k - r_k t_k^+ r_k^T` relax at :math:`\eta\lambda_k(\nu_a + \nu_b)` and are fed by
the :math:`\eta^2` noise.  :math:`\varepsilon_g` is *second* order in these deviations, so it is
evaluated exactly on the reconstructed covariance (never linearised), and decays at twice the
slowest rate of :math:`\delta r` -- or at the slowest rate of ``o`` where that is smaller.

Routes to the rates, used to check one another:

* ``decoupled``: closed forms :math:`\eta\lambda_k\nu_{slow}`, :math:`\eta\lambda_k\nu_{fast}`
  (every K, any precision; exact as :math:`\lambda_k f_k \to 0`);
* ``dense``: eigenvalues of the two Jacobian blocks built from the generated tangents,
  float and, for small systems, mpmath at two precisions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.errors import CaseError, NumericalFailure
from ..core.output import labelled_dataset
from ..core.precision import Precise, lift, two_precisions
from ..core.schema import EXPONENT_CONVENTION
from .compiled import compile_model
from .model import CommitteeModel
from .schema import COMMITTEE
from .solve.eigenmode import EigenmodeSystem
from .solve.exponential import phi1, phi2

#: Largest Jacobian block diagonalised densely (float); beyond, only the decoupled rates.
DENSE_LIMIT = 2000
#: A power law "holds" where the local slope d ln eps / d ln alpha is within this of its exponent.
SLOPE_TOLERANCE = 0.05
#: An exponential decay "holds" where the decay rate -d ln eps / d alpha is within this fraction of its rate.
RATE_TOLERANCE = 0.05
#: Largest block diagonalised with mpmath for the two-precision check.
MP_LIMIT = 48
#: Relative deviation of the aggregated student-teacher overlap below which the linearisation
#: starts (the figures' late curves).
LATE_START = 0.1
#: ... and below which a run counts as specialised for its regimes (:func:`specialisation_time`;
#: at 10 % the transient of the specialisation still shows in the local slope).
SPECIALISED = 0.01


def _require_specialisable(model: CommitteeModel) -> None:
    model.require_classic("the late-phase analysis")
    if model.K != model.M:
        raise CaseError(
            "model.K", f"the late phase needs K = M (a student per teacher), got K = {model.K}, M = {model.M}"
        )


def specialised_teacher(model: CommitteeModel) -> np.ndarray:
    """Thermodynamic-limit teacher :math:`t_k = f_k 1` (unit-variance i.i.d. teacher weights)."""
    return model.infinite_teacher()


# -- Jacobian blocks at the fixed point ---------------------------------------------------------
def _blocks(system: EigenmodeSystem, t: np.ndarray):
    """Dense ``J_rr`` (in-span deviations) and ``J_oo`` (out-of-span) at ``r = q = t``."""
    L, K, M = system.L, system.K, system.M
    state = system.pack(t, t)
    zero = state * 0
    iu = np.triu_indices(K)
    n_r, n_o = L * K * M, L * len(iu[0])
    cols_r = []
    for c in range(n_r):
        dr = zero[:n_r].copy().reshape(L, K, M)
        dr.reshape(-1)[c] = dr.reshape(-1)[c] + 1
        dq = dr + dr.transpose(0, 2, 1)  # K = M: in-span first-order change of q
        out = system.jvp(state, system.pack(dr, dq))
        cols_r.append(out[:n_r])
    cols_o = []
    for c in range(n_o):
        do = zero[n_r:].copy()
        do[c] = do[c] + 1
        dr0 = zero[:n_r].reshape(L, K, M)
        _, dq = system.unpack(np.concatenate([zero[:n_r], do]))
        out = system.jvp(state, system.pack(dr0, dq))
        d_r, d_q = system.unpack(out)
        d_o = d_q - d_r - d_r.transpose(0, 2, 1)
        cols_o.append(d_o[:, iu[0], iu[1]].reshape(-1))
    return np.stack(cols_r, axis=1), np.stack(cols_o, axis=1)


def _float_rates(J: np.ndarray) -> np.ndarray:
    ev = np.linalg.eigvals(J)
    if not np.all(np.isfinite(ev)):
        raise NumericalFailure("late-phase Jacobian has non-finite eigenvalues")
    rates = -ev
    return rates[np.argsort(rates.real)]


def _mp_rates(J: np.ndarray):
    import mpmath

    matrix = mpmath.matrix(J.tolist())
    # mpmath's QR allows 4 x dps sweeps; degenerate rate pairs (K - 1 slow directions) can need
    # more, so the eigenvalues are retried with more digits (more sweeps), never returned unconverged
    for extra in (1, 3, 8):
        try:
            with mpmath.workdps(mpmath.mp.dps * extra):
                ev = mpmath.eig(matrix, left=False, right=False)
            break
        except RuntimeError:
            continue
    else:
        raise NumericalFailure("late-phase rates: mpmath's QR eigenvalue iteration did not converge")
    rates = sorted((-v for v in ev), key=lambda v: mpmath.re(v))
    return rates


@dataclass(frozen=True)
class LateAsymptotics:
    """Late-phase rates, power law and window for one model and learning rate.

    Attributes
    ----------
    nu_slow, nu_fast : float
        Per-mode rate constants: :math:`\\delta r` in mode ``k`` relaxes at
        :math:`\\eta\\lambda_k\\nu` (closed form; ``closed_form`` holds the SymPy strings).
    rates : ndarray
        Slowest decay rates of the linearised dynamics per unit alpha (``rate_method``).
    eps_rate : float
        Decay rate of :math:`\\varepsilon_g` for this (finite) spectrum:
        ``min(2 * slowest r-rate, slowest o-rate)``.
    exponent : float or None
        :math:`\\nu` in :math:`\\varepsilon_g \\propto \\alpha^{-\\nu}` in the window
        (positive: :data:`theorykit.core.schema.EXPONENT_CONVENTION`), for a power-law spectrum;
        ``None`` otherwise.
    window : tuple or None
        ``(alpha_min, alpha_max)`` of the power law: where the local slope of the derived
        per-mode sum (:func:`late_regimes`) is within :data:`SLOPE_TOLERANCE` of the exponent;
        ``None`` without a power law or when that holds over less than a decade.
    eta2_shift : float or None
        Relative change of the slowest out-of-span rate from the :math:`O(\\eta^2)` terms
        (dense route only): the small-learning-rate result holds where this is small.
    regimes : list of dict
        Every regime of the derived per-mode sum, ``{kind, exponent, rate, window, mechanism,
        criterion}`` (:func:`late_regimes`), from ``late_start`` on.
    late_start : float or None
        The run's late start the regimes begin at (:func:`specialisation_time`); None: the
        derived sum from alpha = 0, reached by a run only after its students specialise.
    precise : dict
        ``exponent``, ``nu_slow``, ``eps_rate_decoupled`` (and dense ``eps_rate`` for small
        systems) as strings at ``dps`` digits, with ``agreement_digits`` between the two
        working precisions of :func:`theorykit.core.precision.two_precisions`.
    """

    model: CommitteeModel
    eta: float
    nu_slow: float
    nu_fast: float
    rates: np.ndarray
    rate_method: str
    eps_rate: float
    eps_rate_decoupled: float
    exponent: float | None
    window: tuple | None
    eta2_shift: float | None
    precise: dict
    closed_form: dict = field(default_factory=dict)
    regimes: list = field(default_factory=list)
    evaluation: Precise | None = field(default=None, repr=False)  # behind ``precise``
    late_start: float | None = None

    def __repr__(self) -> str:
        exponent = "none" if self.exponent is None else f"{self.exponent:.6g}"
        return (
            f"LateAsymptotics(K={self.model.K}, L={self.model.spectrum.L}, eta={self.eta:g}: exponent {exponent}, "
            f"eps_rate {self.eps_rate:.6g} ({self.rate_method}), {len(self.regimes)} regimes)"
        )

    def to_xarray(self):
        """Scalars ``exponent`` (NaN without a power law), ``eps_rate``, ``eps_rate_decoupled``,
        ``nu_slow``, ``nu_fast``, the slowest ``rates`` over ``rate``; the regimes, window,
        precise strings and closed forms as JSON attributes."""
        import json

        nan = float("nan")
        data = {
            "exponent": ((), nan if self.exponent is None else self.exponent, {"long_name": "eps_g ~ alpha^-exponent"}),
            "eps_rate": ((), self.eps_rate, {"long_name": "decay rate of eps_g", "units": "per unit alpha"}),
            "eps_rate_decoupled": ((), self.eps_rate_decoupled, {"units": "per unit alpha"}),
            "nu_slow": ((), self.nu_slow, {"long_name": "slow per-mode rate constant"}),
            "nu_fast": ((), self.nu_fast, {"long_name": "fast per-mode rate constant"}),
            "rates": (("rate",), np.asarray(self.rates.real, dtype=float), {"units": "per unit alpha"}),
        }
        attrs = {
            "eta": float(self.eta),
            "model": json.dumps(self.model.settings()),
            "rate_method": self.rate_method,
            "exponent_convention": EXPONENT_CONVENTION,
            "window": json.dumps(None if self.window is None else list(self.window)),
            "regimes": json.dumps(self.regimes, default=float),
            "late_start": json.dumps(self.late_start),
            "precise": json.dumps(self.precise, default=str),
            "closed_form": json.dumps(self.closed_form, default=str),
        }
        return labelled_dataset(data, attrs=attrs)

    def as_dict(self) -> dict:
        return {
            "exponent": self.exponent,
            "rates": [float(v) for v in self.rates.real],
            "rate_method": self.rate_method,
            "eps_rate": self.eps_rate,
            "eps_rate_decoupled": self.eps_rate_decoupled,
            "window": None if self.window is None else list(self.window),
            "nu_slow": self.nu_slow,
            "nu_fast": self.nu_fast,
            "eta2_shift": self.eta2_shift,
            "regimes": self.regimes,
            "late_start": self.late_start,
            "precise": self.precise,
            "closed_form": self.closed_form,
        }


def late_asymptotics(
    model: CommitteeModel, eta: float, dps: int = 30, count: int = 6, late_start: float | None = None
) -> LateAsymptotics:
    """Rates, exponent and window of the late phase (see the module docstring).

    Parameters
    ----------
    model : CommitteeModel
        K = M.
    eta : float
    dps : int
        Digits of the high-precision values (:func:`theorykit.core.precision.two_precisions`).
    count : int
        Number of slowest rates reported.
    late_start : float, optional
        Where a run's late phase begins (:func:`specialisation_time`: its students have
        specialised).  The regimes then start there: a window is cut to begin at ``late_start``
        and kept while it still spans a decade, and what lies between the regimes is reported
        as a crossover.  Default: the derived sum from ``alpha = 0`` (every mode still unlearned
        at specialisation), which a run reaches only after its students have specialised.
    """
    import sympy as sp

    from .derive.late_expansion import derive_late_power_law, derive_specialised_rates

    _require_specialisable(model)
    dps = COMMITTEE.check("dps", dps)
    if model.activation_name not in ("erf", "linear"):
        raise CaseError("model.activation", "the late-phase closed forms need 'erf' or 'linear'")
    closed = derive_specialised_rates(model.activation_name)
    spec = model.spectrum
    tau = float(np.dot(spec.lam, spec.f))  # aggregated teacher variance (1 when normalised)
    exact = closed.for_model(model.K, model.normalization, sp.nsimplify(round(tau, 12)))
    nu_slow, nu_fast = float(exact["nu_slow"]), float(exact["nu_fast"])
    if model.K == 1:
        nu_slow = nu_fast
    lam_min = float(spec.lam.min())
    decoupled = 2 * eta * lam_min * nu_slow

    # dense route: the two Jacobian blocks at the fixed point
    rates = np.sort(np.concatenate([eta * lam * np.array([nu_slow, nu_fast]) for lam in spec.lam]))[:count]
    method, eps_rate, shift = "decoupled", decoupled, None
    t = specialised_teacher(model)
    size = spec.L * model.K * model.M
    if size <= DENSE_LIMIT:
        eps_rate, rates, o_rate = _dense_eps_rate(model, eta, t, count)
        method = "dense"
        if not model.small_lr:
            from dataclasses import replace

            _, _, o_small = _dense_eps_rate(replace(model, small_lr=True), eta, t, count)
            shift = abs(o_rate - o_small) / o_small
    evaluation = _precise(model, eta, closed, dps, size)
    precise = {**evaluation.as_dict(), **evaluation.strings()}
    law = derive_late_power_law()
    exponent = window = None
    if spec.kind == "power_law" and spec.beta is not None:
        S = law.symbols
        exponent = float(law.exponent.xreplace({S["beta"]: sp.nsimplify(spec.beta)}))
        values = {
            S["eta"]: eta,
            S["lambda_plus"]: float(spec.lam.max()),
            S["L"]: spec.L,
            S["beta"]: spec.beta,
            S["nu_slow"]: nu_slow,
            S["nu_fast"]: nu_fast,
        }
        asymptotic = (float(law.alpha_min.xreplace(values)), float(law.alpha_max.xreplace(values)))
    directions = [(nu_fast, 1)] + ([(nu_slow, model.K - 1)] if model.K > 1 else [])
    regimes = late_regimes(spec.lam, spec.f, eta, directions, exponent, start=late_start or 0.0)
    laws = [regime for regime in regimes if regime["kind"] == "power_law"]
    if laws:  # the first window (later ones: the same law carried by a slower direction)
        window = tuple(laws[0]["window"])
        laws[0]["asymptotic_window"] = list(asymptotic)
    if not np.isfinite(eps_rate) or eps_rate <= 0:
        raise NumericalFailure(f"late phase is not stable at eta = {eta}: eps_g decay rate {eps_rate:.3g}")
    return LateAsymptotics(
        model,
        eta,
        nu_slow,
        nu_fast,
        rates,
        method,
        float(eps_rate),
        float(decoupled),
        exponent,
        window,
        shift,
        precise,
        {**{k: str(v) for k, v in exact.items()}, "latex": closed.latex(), "law": law.latex()},
        regimes,
        evaluation,
        late_start,
    )


def late_regimes(
    lam: np.ndarray,
    f: np.ndarray,
    eta: float,
    directions: list[tuple[float, int]],
    exponent: float | None,
    start: float = 0.0,
) -> list[dict]:
    r"""The regimes of the derived late-phase sum
    :math:`P(\alpha) = \sum_a m_a\nu_a\sum_k\lambda_k f_k\,e^{-2\eta\nu_a\lambda_k\alpha}`.

    *Derivation.*  After specialisation the modes relax independently,
    :math:`\delta r_k(\alpha) = e^{\eta\lambda_k G_s\alpha}\delta r_k`, along the eigendirections
    of :math:`-G_s` (rates :math:`\nu_a`: ``directions`` lists each with its multiplicity
    :math:`m_a`; for the committee :math:`\nu_{fast}` once, the permutation-symmetric
    direction, and :math:`\nu_{slow}` K - 1 times).  :math:`\varepsilon_g` is, per mode,
    the quadratic form of :math:`-G_s` (``G`` is minus the gradient of :math:`\varepsilon_g`, so
    its symmetric part is minus the Hessian): direction ``a`` weighs :math:`\nu_a`.  The
    modes still unlearned at specialisation (the slow end of the spectrum, which decides the
    late phase) carry :math:`\delta r_k = -t_k = -f_k 1`, shared equally by the directions.
    So :math:`\varepsilon_g \propto P` up to the aggregated terms, which are of order
    :math:`P^2`.  Checked against the full ODE: its local slope and that of ``P`` agree to 0.002
    over three decades (K = M = 2, beta = 2, L = 256; derivations/late_phase.py).

    The local slope :math:`d\ln P/d\ln\alpha` is evaluated exactly on the model's finite
    spectrum, in log-sum-exp form (no underflow), on a grid of 40 points per decade, and each
    window's ends are refined by bisection to 1e-6 relative.  Returns, in order of alpha:

    * ``power_law``: :math:`\alpha^{-\nu}` with the derived exponent, over every interval where
      the local slope is within :data:`SLOPE_TOLERANCE` of it and that spans at least a decade
      (one per direction that dominates long enough);
    * ``exponential``: :math:`e^{-2\eta\nu_{min}\lambda_{min}\alpha}` from where the decay rate
      :math:`-d\ln P/d\alpha` is within :data:`RATE_TOLERANCE` of that rate (from 0 when it
      holds at the start of the grid, as for a single eigenvalue);
    * ``crossover``: every stretch from ``start`` up to the exponential regime that neither law
      covers, with the range of the local slope over it (``slopes``; no exponent).

    A run from a random start follows ``P`` only after its students have specialised (tested
    against the full ODE: tests/committee/test_late_phase.py, derivations/late_phase.py), so a
    run's regimes are those of ``P`` from its late start: with ``start`` > 0 every window is cut
    to begin there and kept while it still spans a decade, the exponential regime begins at
    ``start`` at the earliest, and the crossovers cover the rest from ``start`` on.
    """
    from scipy.optimize import brentq
    from scipy.special import logsumexp

    lam, f = np.asarray(lam, dtype=float), np.asarray(f, dtype=float)
    nus = np.array([nu for nu, _ in directions], dtype=float)
    counts = np.array([m for _, m in directions], dtype=float)
    c = (2.0 * eta * nus[:, None] * lam[None, :]).ravel()  # one term per (direction, mode)
    log_w = (np.log(counts * nus)[:, None] + np.log(lam * f)[None, :]).ravel()
    owner = np.repeat(np.arange(nus.size), lam.size)

    def mean_rate(alpha: float) -> float:  # -d ln P / d alpha
        logits = log_w - c * alpha
        return float(np.exp(logsumexp(logits, b=c) - logsumexp(logits)))

    def slope(alpha: float) -> float:
        return -alpha * mean_rate(alpha)

    def share(alpha: float) -> np.ndarray:  # the share of P each direction carries
        weights = np.exp(log_w - c * alpha - logsumexp(log_w - c * alpha))
        return np.bincount(owner, weights, nus.size)

    def rate_excess(alpha: float) -> float:
        return mean_rate(alpha) / c.min() - 1.0

    # to where the slowest term dominates: beyond 100 / c_min, and beyond 10 / (its gap to the next)
    gaps = np.unique(c)
    end = 100.0 / c.min() if gaps.size == 1 else max(100.0 / c.min(), 10.0 / (gaps[1] - gaps[0]))
    grid = np.geomspace(1e-3 / c.max(), end, max(200, int(40 * np.log10(1e3 * end * c.max()))))

    def crossing(g, i: int, j: int) -> float:
        """The root of ``g`` between grid points ``i`` and ``j`` (``grid[i]`` when none is bracketed)."""
        if i < 0 or j >= grid.size or g(grid[i]) * g(grid[j]) >= 0:
            return float(grid[max(i, 0)])
        return float(brentq(g, grid[i], grid[j], rtol=1e-6))

    regimes: list[dict] = []
    if exponent is not None:
        off = lambda x: abs(slope(x) + exponent) - SLOPE_TOLERANCE  # noqa: E731
        inside = np.flatnonzero(np.array([off(a) for a in grid]) <= 0)
        for run in np.split(inside, np.flatnonzero(np.diff(inside) != 1) + 1) if inside.size else []:
            lo = 0.0 if run[0] == 0 else crossing(off, run[0] - 1, run[0])
            hi = crossing(off, run[-1], run[-1] + 1)
            lo = max(lo, start)  # a run is in its late phase only from its late start
            if hi < 10 * max(lo, grid[0]):
                continue
            carried = share(np.sqrt(max(lo, grid[0]) * hi))
            a = int(np.argmax(carried))
            regimes.append(
                {
                    "kind": "power_law",
                    "exponent": float(exponent),
                    "rate": None,
                    "window": [lo, hi],
                    "mechanism": f"per-mode relaxation of the in-span deviations along the direction with "
                    f"rate nu = {nus[a]:.6g} (it carries {carried[a]:.0%} of the sum at the window's centre): "
                    "the linear network's law with eta -> nu eta",
                    "criterion": f"local slope of the derived sum within {SLOPE_TOLERANCE} of -exponent",
                }
            )
    excess = np.array([rate_excess(a) for a in grid])
    late = np.flatnonzero(excess <= RATE_TOLERANCE)
    exponential_start = None
    if late.size:
        i = late[0]
        exponential_start = 0.0 if i == 0 else crossing(lambda x: rate_excess(x) - RATE_TOLERANCE, i - 1, i)
        exponential_start = max(exponential_start, start)
        regimes.append(
            {
                "kind": "exponential",
                "exponent": None,
                "rate": float(c.min()),
                "window": [exponential_start, None],
                "mechanism": "the slowest direction of the slowest mode (nu_min lambda_min) alone",
                "criterion": f"decay rate -d ln P / d alpha within {RATE_TOLERANCE} (relative) of the rate",
            }
        )
    regimes += _crossovers(regimes, start, exponential_start, grid, slope)
    return sorted(regimes, key=lambda regime: regime["window"][0])


def _crossovers(regimes: list[dict], start: float, end: float | None, grid: np.ndarray, slope) -> list[dict]:
    """The stretches of ``[start, end]`` that no regime covers, with the range of the local slope."""
    covered = sorted((r["window"][0], r["window"][1]) for r in regimes if r["window"][1] is not None)
    stop = float(grid[-1]) if end is None else end
    gaps, cursor = [], start
    for lo, hi in covered:
        if lo > cursor:
            gaps.append((cursor, lo))
        cursor = max(cursor, hi)
    if stop > cursor:
        gaps.append((cursor, stop))
    out = []
    for lo, hi in gaps:
        if hi <= lo * (1 + 1e-9):
            continue
        points = np.concatenate([[max(lo, grid[0])], grid[(grid > lo) & (grid < hi)], [hi]])
        slopes = [slope(a) for a in points]
        out.append(
            {
                "kind": "crossover",
                "exponent": None,
                "rate": None,
                "window": [float(lo), float(hi)],
                "slopes": [float(max(slopes)), float(min(slopes))],
                "mechanism": "no single term dominates: the relaxing modes hand over from one to the next "
                "(power-law directions and the finite spectrum's slowest modes)",
                "criterion": "local slope of the derived sum (its range given in 'slopes')",
            }
        )
    return out


def _dense_eps_rate(model: CommitteeModel, eta: float, t: np.ndarray, count: int):
    system = EigenmodeSystem.build(model, eta, t)
    J_rr, J_oo = _blocks(system, t)
    r_rates, o_rates = _float_rates(J_rr), _float_rates(J_oo)
    eps_rate = min(2 * r_rates[0].real, o_rates[0].real)
    rates = np.sort(np.concatenate([r_rates.real, o_rates.real]))[:count]
    return float(eps_rate), rates, float(o_rates[0].real)


def _precise(model, eta, closed, dps, size) -> Precise:
    """Decoupled rate and exponent (and dense ones if small) at two precisions, from the exact inputs."""
    import mpmath

    nu_of_tau = closed.rate_function("nu_fast" if model.K == 1 else "nu_slow", model.K, model.normalization)
    compiled = compile_model(model, "mpmath") if size <= MP_LIMIT else None

    def compute() -> dict:
        lam_hp, f_hp = model.spectrum.high_precision()
        eta_hp = lift(eta)
        nu = nu_of_tau(mpmath.fsum(a * b for a, b in zip(lam_hp, f_hp)))
        out = {"nu_slow": nu, "eps_rate_decoupled": 2 * eta_hp * min(lam_hp) * nu}
        if model.spectrum.beta is not None:
            b = lift(model.spectrum.beta)
            out["exponent"] = b / (1 + b)
        if compiled is not None:
            obj_t = model.infinite_teacher(high_precision=True)
            system = EigenmodeSystem(model, compiled, eta_hp, obj_t, dtype=object)
            J_rr, J_oo = _blocks(system, obj_t)
            r0, o0 = _mp_rates(J_rr)[0], _mp_rates(J_oo)[0]
            out["eps_rate"] = min(2 * mpmath.re(r0), mpmath.re(o0))
        return out

    return two_precisions(compute, dps)


# -- learning curve from a state near the fixed point -------------------------------------------
def align_students(r: np.ndarray, q: np.ndarray, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reorder students so that student ``i`` is the one closest to teacher ``i``."""
    from scipy.optimize import linear_sum_assignment

    R = np.tensordot(lam, r, axes=1)
    rows, cols = linear_sum_assignment(-R)
    order = rows[np.argsort(cols)]
    return r[:, order, :], q[:, order][:, :, order]


def _near_teachers(r: np.ndarray, q: np.ndarray, t: np.ndarray, lam: np.ndarray, threshold: float) -> bool:
    """Every student within ``threshold`` of its teacher: ``max |R^(1) - T^(1)| / max |T^(1)|``
    with the students matched to the teachers."""
    T1 = np.tensordot(lam, t, axes=1)
    aligned, _ = align_students(r, q, lam)
    return bool(np.abs(np.tensordot(lam, aligned - t, axes=1)).max() / np.abs(T1).max() < threshold)


def late_start_index(solution, t: np.ndarray, lam: np.ndarray, threshold: float = LATE_START) -> int | None:
    """First output index after which every student stays within ``threshold`` of its teacher.

    The deviation is ``max |R^(1) - T^(1)| / max |T^(1)|`` with students matched to teachers.
    Returns ``None`` when the run never gets there.
    """
    close = np.array([_near_teachers(r, q, t, lam, threshold) for r, q in zip(solution.r, solution.q)])
    # the last index at which it was not yet close, plus one
    far = np.nonzero(~close)[0]
    start = 0 if far.size == 0 else far[-1] + 1
    return int(start) if start < close.size else None


def specialisation_time(
    model: CommitteeModel,
    eta: float,
    init,
    alpha_max: float = 1e9,
    threshold: float = SPECIALISED,
    rtol: float = 1e-6,
    per_decade: int = 20,
) -> float | None:
    """Where a run from ``init`` enters its late phase: the first output time (``per_decade``
    a decade from alpha = 1) after which every student stays within ``threshold`` of its
    teacher; None when that does not happen by ``alpha_max``.

    The full ODE is integrated a decade at a time, each decade restarted from the last state,
    so that only one decade of states is held (a Fig. 6-size state is 10 MB).  Systems with more
    than :data:`~theorykit.committee.solve.integrate.AUTO_DENSE_LIMIT` unknowns use the
    structured exponential integrator, the others ``auto``, at ``rtol`` (``atol = 1e-14``; the
    integrators' errors stay within about 10x rtol, far finer than the output grid that places
    the late start).
    """
    from .solve.initial import Overlaps
    from .solve.integrate import AUTO_DENSE_LIMIT, SolverConfig, solve

    _require_specialisable(model)
    method = "exponential" if model.n_unknowns > AUTO_DENSE_LIMIT else "auto"
    config = SolverConfig(method, rtol, 1e-14)
    lam = model.spectrum.lam
    state, origin, first_close = init, 0.0, None
    top = 1.0
    while origin < alpha_max:
        top = min(10 * max(top, 1.0), alpha_max)
        low = max(origin, top / 10)
        grid = np.geomspace(low, top, per_decade + 1)
        grid = grid[grid > origin]
        run = solve(model, eta, state, grid - origin, config).raise_for_status()
        for alpha, r, q in zip(grid, run.r, run.q):
            if _near_teachers(r, q, state.t, lam, threshold):
                first_close = alpha if first_close is None else first_close
            else:
                first_close = None
        if first_close is not None:
            return float(first_close)
        state, origin = Overlaps(run.r[-1], run.q[-1], state.t), float(grid[-1])
    return None


def late_phase_curve(
    model: CommitteeModel,
    eta: float,
    r0: np.ndarray,
    q0: np.ndarray,
    t: np.ndarray,
    delta_alpha: np.ndarray,
    coupled: bool | None = None,
    system: EigenmodeSystem | None = None,
) -> np.ndarray:
    r"""Predicted :math:`\varepsilon_g` a time ``delta_alpha`` after the state ``(r0, q0)``.

    The in-span deviations :math:`\delta r = r - t` evolve with the linearisation at the fixed
    point -- with the coupling through the covariance (dense, small systems) or without it
    (``coupled=False``: every mode with its own :math:`\eta\lambda_k G_s`; the default beyond
    :data:`DENSE_LIMIT`); the out-of-span part ``o`` relaxes with :math:`G_s` and is fed by
    :math:`\eta^2\lambda_k f_k W` evaluated on the predicted covariance (linear in time over
    each interval);
    :math:`\varepsilon_g` is evaluated exactly on
    :math:`q = o + r t^+ r^T`.  ``delta_alpha`` must start at 0 and increase.  ``system``: the
    float :class:`EigenmodeSystem` of this model, ``eta`` and ``t``, when the caller has one.
    """
    _require_specialisable(model)
    delta_alpha = np.asarray(delta_alpha, dtype=float)
    if delta_alpha[0] != 0 or np.any(np.diff(delta_alpha) <= 0):
        raise CaseError("delta_alpha", "must start at 0 and increase strictly")
    lam, f = model.spectrum.lam, model.spectrum.f
    r0, q0 = align_students(np.asarray(r0, float), np.asarray(q0, float), lam)
    L, K = model.spectrum.L, model.K
    size = L * K * model.M
    coupled = size <= DENSE_LIMIT if coupled is None else coupled
    system = EigenmodeSystem.reuse_or_build(system, model, eta, t)
    tp = np.linalg.pinv(t, hermitian=True)
    o0 = q0 - r0 @ tp @ r0.transpose(0, 2, 1)
    dr0 = r0 - t
    C_fp = system.covariance(system.pack(t, t))
    G0 = system.G(C_fp)
    g, U = np.linalg.eigh(0.5 * (G0[:, :K] + G0[:, :K].T))
    if coupled:
        J_rr, _ = _blocks(system, t)
        mu, V = np.linalg.eig(J_rr)
        coeff = np.linalg.solve(V, dr0.reshape(-1))
    y = U.T @ o0 @ U
    noise_weight = eta**2 * lam * f
    slowest = max(2 * eta * float(lam.min()) * float(np.abs(g).min()), 1e-300)

    dr0_eigen = U.T @ dr0  # decoupled route: deviations in the eigenbasis of G_s, once

    def state(da: float, y_now: np.ndarray):
        if coupled:
            dr = (V @ (np.exp(mu * da) * coeff)).real.reshape(dr0.shape)
        else:
            dr = U @ (np.exp(eta * lam[:, None, None] * g[None, :, None] * da) * dr0_eigen)
        r = t + dr
        q = U @ y_now @ U.T + r @ tp @ r.transpose(0, 2, 1)
        return system.covariance(system.pack(r, q))

    def noise(C: np.ndarray) -> np.ndarray:
        return U.T @ system.W(C) @ U

    C = state(0.0, y)
    Wt = None if model.small_lr else noise(C)
    eps = np.empty(delta_alpha.size)
    eps[0] = float(system.eps_of_covariance(C))
    for col in range(1, delta_alpha.size):
        # o over the interval: exact relaxation, W linear in time (trapezoidal, one correction);
        # substeps keep the slowest relaxation resolved
        start, stop = delta_alpha[col - 1], delta_alpha[col]
        pieces = int(np.ceil((stop - start) * slowest / 0.05))
        edges = np.linspace(start, stop, pieces + 1)
        for a0, a1 in zip(edges[:-1], edges[1:]):
            h = a1 - a0
            z = eta * lam[:, None, None] * (g[:, None] + g[None, :])[None] * h
            decay = np.exp(z) * y
            if model.small_lr:
                y = decay
                continue
            first = noise_weight[:, None, None] * h * phi1(z)
            second = noise_weight[:, None, None] * h * phi2(z)
            guess = decay + first * Wt[None]
            W_end = noise(state(a1, guess))
            y = decay + first * Wt[None] + second * (W_end - Wt)[None]
            Wt = noise(state(a1, y))
        C = state(stop, y)
        eps[col] = float(system.eps_of_covariance(C))
    if not np.all(np.isfinite(eps)):
        raise NumericalFailure("late-phase prediction produced a non-finite error")
    return eps
