r"""The decoupled limit :math:`\Sigma \to P`: every mode relaxes on its own.

:math:`\varepsilon_g(t) = \tfrac12\sum_k \eta_k\,\phi_t(\gamma + P\eta_k)`, with the
per-eigenvalue moments :math:`\phi_t` derived in
:func:`theorykit.rf.derive.derive_equal_time_kernels` (lowered here once with
``lambdify`` into NumPy functions cached per process), and the bias
:math:`\tfrac12\sum_k\eta_kd_k\,h_t(\gamma+P\eta_k)^2`.
"""

from __future__ import annotations

from functools import cache

import numpy as np


@cache
def _moment_functions():
    import sympy as sp

    from . import derive as rf

    moments = rf.derive_equal_time_kernels().moments
    args = (rf.lam, rf.t, rf.gamma, rf.s, rf.T)
    # Expanded into decaying exponentials only (the factored forms multiply e^{+lambda t}
    # by e^{-2 lambda t}, which overflows for fast modes).
    stable = {name: sp.expand(sp.powsimp(sp.expand(expr))) for name, expr in moments.items()}
    return {name: sp.lambdify(args, expr, modules="numpy") for name, expr in stable.items()}


def decoupled_terms(model, t: np.ndarray) -> tuple[dict, np.ndarray]:
    """``(terms, bias)`` of the decoupled theory at times ``t > 0`` (summed-loss model)."""
    eta, d = model.eta, model.teacher_variances
    lam = (model.gamma + model.P * eta)[None, :]
    tt = t[:, None]
    functions = _moment_functions()
    with np.errstate(over="ignore", invalid="ignore"):
        teacher = functions["teacher"](lam, tt, model.gamma, model.noise, model.T)
        terms = {
            "teacher": 0.5 * teacher @ (eta * d),
            "labels": 0.5 * functions["labels"](lam, tt, model.gamma, model.noise, model.T) @ eta,
            "thermal": 0.5 * functions["thermal"](lam, tt, model.gamma, model.noise, model.T) @ eta,
        }
    # In the decoupled limit the data average of w is exact per mode: bias = teacher term.
    return terms, terms["teacher"].copy()
