r"""What the random-feature DMFT predicts: power laws, early stopping, the compute frontier.

* :func:`asymptotics` -- the decoupled-limit exponents :math:`\nu` of :math:`y\propto t^{-\nu}`
  (bias :math:`(a+b)/(1+a)`, variance :math:`-1/(1+a)`: it grows; every exponent reported
  follows :data:`theorykit.core.schema.EXPONENT_CONVENTION`), their prefactors, the window where they hold, the predicted
  :math:`t^*` and :math:`\varepsilon_g(t^*)` with their exponents in :math:`P`; numbers at
  two precisions with their agreement.
* :func:`local_exponent` -- :math:`d\log y/d\log t` of the full DMFT (bias or variance).
* :func:`early_stopping` -- :math:`t^* = \arg\min_t \varepsilon_g(t)` from the full DMFT.
* :func:`pareto_frontier` -- lower envelope of :math:`\varepsilon_g` against compute
  :math:`f` over sample sizes ``P`` (default compute model :math:`f = N P t`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import mpmath
import numpy as np
from scipy.optimize import minimize_scalar

from ..core.errors import CaseError
from ..core.precision import lift, two_precisions
from ..core.schema import DPS_RULE
from .dmft import solve_rf
from .model import RandomFeatureModel


def _substitutions(model: RandomFeatureModel, sym, tolerance: float) -> dict:
    """The symbols' values at the working precision, from the model as written."""
    c = lift(model.eigenvalues[0]) if model.eigenvalues is not None else _mp_c(model)
    return {
        sym.a: lift(model.a),
        sym.b: lift(model.teacher_exponent),
        sym.c: c,
        sym.P: lift(model.P),
        sym.N: lift(model.N),
        sym.T: lift(model.T),
        sym.s: lift(model.noise),
        sym.tol: lift(tolerance),
    }


def _mp_c(model: RandomFeatureModel):
    """:math:`c = \\eta_1` at the working precision (``1/H_N^{(1+a)}`` for the sum normalisation)."""
    if model.normalization == "first":
        return mpmath.mpf(1)
    a = lift(model.a)
    return 1 / mpmath.fsum(mpmath.mpf(k) ** (-(1 + a)) for k in range(1, model.N + 1))


def _evaluate(expr, values: dict):
    """``expr`` at ``values`` at the caller's working precision."""
    import sympy as sp

    return sp.lambdify(tuple(values), expr, modules="mpmath")(*values.values())


def asymptotics(model: RandomFeatureModel, dps: int = 30, tolerance: float = 0.1) -> dict:
    r"""Decoupled-limit power laws and early stopping (``gamma = 0`` theory) at two precisions.

    ``tolerance`` is the relative accuracy that defines the ``window`` (see
    :mod:`theorykit.rf.derive_asymptotics`).

    Returns
    -------
    dict
        ``exponents`` {bias, variance} (:math:`\nu` in :math:`y\propto t^{-\nu}`),
        ``prefactors`` {bias, variance}, ``window`` [t_lo, t_hi], ``t_star``, ``eps_star``,
        ``t_star_exponent_P``, ``eps_star_exponent_P`` (:math:`\nu` in :math:`\propto P^{-\nu}`), ``symbolic`` (SymPy strings and LaTeX), ``dps``,
        ``agreement_digits`` and ``working_dps`` (:func:`theorykit.core.precision.two_precisions`).
        Numbers are floats; ``precise`` holds them as strings at ``dps`` digits.  Raises
        :class:`~theorykit.core.errors.NumericalFailure` when fewer than ``dps`` digits agree.
    """
    import sympy as sp

    from . import derive_asymptotics as sym

    dps = DPS_RULE.check(dps, "dps")
    if not 0 < tolerance < 1:
        raise CaseError("tolerance", f"must be in (0, 1), got {tolerance!r}")
    derived = sym.derive_decoupled_asymptotics()
    t = sp.Symbol("t", positive=True)
    expressions = {
        # nu in y ~ t^-nu (schema.EXPONENT_CONVENTION): the derived laws are t^exponent
        "exponent_bias": -derived.exponents["bias"],
        "exponent_variance": -derived.exponents["variance"],
        "prefactor_bias": derived.laws["bias"].subs(t, 1),
        "prefactor_variance": (derived.laws["labels"] + derived.laws["thermal"]).subs(t, 1),
        "t_lo": derived.window[0],
        "t_hi_spectrum": derived.window[1],
        "t_hi_decoupling": derived.window[2],
        "t_star_exponent_P": -derived.t_star_exponent_P,
        "eps_star_exponent_P": -derived.eps_star_exponent_P,
    }
    noisy = model.T > 0 or model.noise > 0
    if noisy:
        expressions["t_star"] = derived.t_star
        expressions["eps_star"] = derived.eps_star

    def compute() -> dict:
        subs = _substitutions(model, sym, tolerance)
        return {k: _evaluate(e, subs) for k, e in expressions.items()}

    evaluation = two_precisions(compute, dps).require("random-feature power laws")
    v = evaluation.value
    out = {
        "exponents": {"bias": float(v["exponent_bias"]), "variance": float(v["exponent_variance"])},
        "prefactors": {"bias": float(v["prefactor_bias"]), "variance": float(v["prefactor_variance"])},
        "window": [float(v["t_lo"]), float(min(v["t_hi_spectrum"], v["t_hi_decoupling"]))],
        "t_star": float(v["t_star"]) if noisy else None,
        "eps_star": float(v["eps_star"]) if noisy else None,
        "t_star_exponent_P": float(v["t_star_exponent_P"]),
        "eps_star_exponent_P": float(v["eps_star_exponent_P"]),
        "precise": evaluation.strings(),
        "symbolic": {k: str(e) for k, e in expressions.items()},
        "latex": {k: sp.latex(e) for k, e in expressions.items()},
        **evaluation.as_dict(),
        "tolerance": tolerance,
        "valid": "gamma = 0; learned modes k*(t) = (P c t)^(1/(1+a)) between 1 and min(N tol^(1/a), P tol a/(1+a))",
    }
    return out


def local_exponent(
    model: RandomFeatureModel, t1: float, t2: float, quantity: str = "bias", dps: int | None = None
) -> float:
    """Log-slope of ``quantity`` (``bias``, ``variance`` or ``eps_g``) of the DMFT between ``t1`` and ``t2``."""
    if quantity not in ("bias", "variance", "eps_g"):
        raise CaseError("quantity", f"must be 'bias', 'variance' or 'eps_g', got {quantity!r}")
    curve = solve_rf(model, [t1, t2], dps=dps)
    y = getattr(curve, quantity)
    if dps is not None and quantity != "variance":
        with mpmath.workdps(dps + 5):
            y1, y2 = (mpmath.mpf(x) for x in curve.info["precise"][quantity])
            return float(mpmath.log(y2 / y1) / mpmath.log(lift(t2) / lift(t1)))
    return float(np.log(y[1] / y[0]) / np.log(t2 / t1))


def early_stopping(model: RandomFeatureModel, t_min: float = 1e-3, t_max: float = 1e8, points: int = 121) -> dict:
    r"""Optimal stopping time :math:`t^*` and :math:`\varepsilon_g(t^*)` from the full DMFT.

    Scans a log grid, then refines the minimum with a bounded Brent search in :math:`\log t`.
    ``t_star`` is None when the error decreases up to ``t_max`` (no early-stopping optimum).
    """
    times = np.geomspace(t_min, t_max, points)
    curve = solve_rf(model, times)
    i = int(np.argmin(curve.eps_g))
    # A minimum that is not clearly below the final value is round-off on a monotone curve
    # (the inversion is accurate to ~1e-11 relative), not an early-stopping optimum.
    if i == points - 1 or curve.eps_g[i] > curve.eps_g[-1] * (1 - 1e-8):
        return {"t_star": None, "eps_star": float(curve.eps_g[-1]), "eps_final": float(curve.eps_g[-1])}
    lo, hi = np.log(times[max(i - 1, 0)]), np.log(times[min(i + 1, points - 1)])
    result = minimize_scalar(
        lambda u: float(solve_rf(model, [np.exp(u)]).eps_g[0]),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-6},
    )
    t_star = float(np.exp(result.x))
    final = solve_rf(model, [t_max])
    return {
        "t_star": t_star,
        "eps_star": float(result.fun),
        "bias_star": float(solve_rf(model, [t_star]).bias[0]),
        "eps_final": float(final.eps_g[0]),
    }


def compute_nPt(N: int, P: int, t: np.ndarray) -> np.ndarray:
    """Default compute model: one gradient-flow time unit over ``P`` samples of ``N`` features costs ``N P``."""
    return N * P * t


def pareto_frontier(
    model: RandomFeatureModel,
    sample_sizes: Sequence[int],
    compute: Callable[[int, int, np.ndarray], np.ndarray] = compute_nPt,
    t_min: float = 1e-3,
    t_max: float = 1e6,
    points: int = 200,
) -> dict:
    r"""Lower envelope of :math:`\varepsilon_g(f)` over sample sizes and stopping times.

    Returns
    -------
    dict
        ``curves`` {P: (f, eps_g)}, ``f`` and ``eps`` of the frontier, ``P_opt`` per f,
        ``exponent`` (:math:`\nu` in :math:`\varepsilon\propto f^{-\nu}`: minus the least-squares
        slope of :math:`\log\varepsilon` against :math:`\log f` where the frontier lies between three times its floor and a third of its start;
        NaN if that range is under half a decade) and ``fit_range``.
    """
    if len(sample_sizes) < 2:
        raise CaseError("sample_sizes", "need at least two sample sizes for a frontier")
    times = np.geomspace(t_min, t_max, points)
    curves = {}
    for P in sample_sizes:
        m = model.with_(P=int(P))
        eps = solve_rf(m, times).eps_g
        # Running minimum in t: stopping at the best time seen so far (early stopping).
        curves[int(P)] = (compute(m.N, m.P, times), np.minimum.accumulate(eps))
    f_all = np.concatenate([c[0] for c in curves.values()])
    f_grid = np.geomspace(f_all.min(), f_all.max(), 4 * points)
    table = np.full((len(curves), f_grid.size), np.inf)
    for row, (f, eps) in enumerate(curves.values()):
        inside = (f_grid >= f[0]) & (f_grid <= f[-1])
        table[row, inside] = np.exp(np.interp(np.log(f_grid[inside]), np.log(f), np.log(eps)))
    best = np.argmin(table, axis=0)
    frontier = table[best, np.arange(f_grid.size)]
    Ps = np.array(list(curves))
    P_opt = Ps[best]
    # Fit where the frontier is a power law: well below its starting value and well above
    # its floor (the largest P's final error), at least half a decade wide.
    usable = (frontier < frontier[0] / 3) & (frontier > 3 * frontier.min())
    idx = np.nonzero(usable)[0]
    if idx.size > 3 and f_grid[idx[-1]] > 3 * f_grid[idx[0]]:
        lo, hi = idx[0], idx[-1] + 1
        slope = float(np.polyfit(np.log(f_grid[lo:hi]), np.log(frontier[lo:hi]), 1)[0])
    else:
        lo, hi, slope = 0, f_grid.size, float("nan")
    return {
        "curves": {P: {"f": c[0], "eps_g": c[1]} for P, c in curves.items()},
        "f": f_grid,
        "eps": frontier,
        "P_opt": P_opt,
        "exponent": -slope,  # nu in eps ~ f^-nu (schema.EXPONENT_CONVENTION)
        "fit_range": [float(f_grid[lo]), float(f_grid[hi - 1])],
    }
